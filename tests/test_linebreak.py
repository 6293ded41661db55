"""The one Chinese line breaker (issue 16): UAX #14 through uniseg, GB/T 15834 避头尾, protected spans."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from textual.app import App, ComposeResult
from textual.content import Content
from textual.geometry import Region
from uniseg.linebreak import line_break_boundaries

from sealdesk.core.common.linebreak import (
    _uax14,
    cells,
    opportunities,
    protected_spans,
    wrap,
    wrap_offsets,
)
from sealdesk.tui.widgets.prose import Prose

# The marks, written out here rather than taken from the module.
NOT_AT_START = set("。，、；：？！）》」』〕”’…·")
NOT_AT_END = set("（《「『〔“‘")

CITATION = (
    "根据《民政部关于进一步规范村（居）民委员会证明事项的通知》（民发〔2020〕20号），"
    "社区不得出具无法核实的证明。申请人张三，身份证号11010519491231002X，于2026年12月5日"
    "（2026-12-05）提出申请：“请出具居住证明。”经核实，予以出具……详见「证明事项清单」、"
    "『负面清单』第8项——不属于负面清单。"
)


def soft_breaks(text: str, width: int) -> list[tuple[str, str]]:
    """(line before, line after) at every break wrap made that is not a line feed."""
    cuts = wrap_offsets(text, width)
    lines = wrap(text, width)
    return [(lines[k], lines[k + 1]) for k, cut in enumerate(cuts) if text[cut - 1] != "\n"]


# --- the examples -----------------------------------------------------------------------

def test_a_wen_hao_is_never_split_at_any_width_it_fits():
    token = "民发〔2020〕20号"
    for width in range(cells(token), 90):
        lines = wrap(CITATION, width)
        assert any(token in line for line in lines), (width, lines)
        assert all(cells(line) <= width for line in lines)


def test_no_line_starts_with_a_closing_mark_or_ends_with_an_opening_one():
    # from 22 cells on: "（民发〔2020〕20号），" has no allowed break and is 22 cells wide
    for width in range(22, 90):
        for before, after in soft_breaks(CITATION, width):
            assert after[0] not in NOT_AT_START, (width, before, after)
            assert before[-1] not in NOT_AT_END, (width, before, after)


def test_id_numbers_dates_and_numbers_stay_whole():
    for width in range(20, 70):
        lines = wrap(CITATION, width)
        text = "".join(lines)
        for token in ("11010519491231002X", "2026年12月5日", "2026-12-05"):
            assert any(token in line for line in lines), (width, token, lines)
        assert text.replace(" ", "") == CITATION.replace(" ", "")
    assert wrap("合计12,345.67元整", 10) == ["合计", "12,345.67", "元整"]
    assert wrap("日期：二〇二六年十二月五日", 20) == ["日期：", "二〇二六年十二月五日"]


def test_sealdesk_commands_and_paths_are_never_split():
    help_text = (
        "按 F1 看帮助。在命令行运行 sealdesk register verify --since 2026-01-01 检查登记簿，"
        "数据在 /var/lib/sealdesk/register.sqlite3 里，用 sealdesk papers print 打印证明。"
    )
    words = re.findall(r"[!-~]+", help_text)
    for width in range(max(map(cells, words)), 90):
        lines = wrap(help_text, width)
        assert all(cells(line) <= width for line in lines)
        for word in words:
            assert any(word in line for line in lines), (width, word, lines)


def test_latin_text_breaks_at_spaces_only():
    text = "The quick brown fox jumps over the lazy dog, twice."
    for width in range(7, 40):
        lines = wrap(text, width)
        assert " ".join(lines) == text
        assert all(len(line) <= width for line in lines)


def test_dashes_and_ellipses_stay_in_pairs():
    text = "他说——这是证明……" * 6
    for width in range(6, 40):
        for before, after in soft_breaks(text, width):
            assert not (before.endswith("—") and after.startswith("—"))
            assert not (before.endswith("…") and after.startswith("…"))


def test_opportunities():
    text = "见（民发〔2020〕20号）。他说：“好。”"
    opps = opportunities(text)
    inside = range(text.index("民") + 1, text.index("号") + 1)
    assert not set(opps) & set(inside)
    assert text.index("（") in opps  # before （ is fine
    assert text.index("（") + 1 not in opps  # after it is not
    assert text.index("。") not in opps and text.index("：") not in opps
    assert text.index("“") + 1 not in opps and text.index("”") not in opps
    assert opportunities("甲乙") == [1]
    assert opportunities("") == [] and opportunities("甲") == []


def test_line_feeds_spaces_and_forced_breaks():
    assert wrap("", 10) == [""]
    assert wrap("甲\n\n乙", 10) == ["甲", "", "乙"]
    assert wrap_offsets("甲\n\n乙", 10) == [2, 3]
    assert wrap("aaa   bbb", 3) == ["aaa", "bbb"]  # trailing spaces at a break are dropped
    assert wrap("a" * 25, 10) == ["a" * 10, "a" * 10, "a" * 5]  # too long for any line: cut
    assert wrap("民发〔2020〕20号", 10) == ["民发〔2020", "〕20号"]
    assert wrap("汉字", 1) == ["汉", "字"]  # wider than the line: one on each
    assert wrap("e\u0301" * 4, 2) == ["e\u0301" * 2] * 2  # a combining mark stays with its letter


def test_measure_is_a_parameter():
    text = "根据民发〔2020〕20号通知办理"
    assert wrap(text, 13, measure=len) == ["根据民发〔2020〕20号", "通知办理"]
    assert cells("汉a") == 3 and cells("e\u0301") == 1 and cells("……") == 2


def test_styled_content_divides_at_the_offsets():
    content = Content("甲乙丙丁").stylize("bold", 0, 2)
    pieces = content.divide(wrap_offsets(content.plain, 4))
    assert [p.plain for p in pieces] == ["甲乙", "丙丁"]
    assert pieces[0].spans and not pieces[1].spans


# --- properties ---------------------------------------------------------------------------------

# The fast path (per-segment, per-property-class memo) gives exactly what uniseg gives on the whole.
MIXED = (
    "一汉字。，、；：？！（）《》「」『』〔〕“”‘’…—–-‐/／·・ 　\n\t"
    "abcXYZ019０１２%％$￥#@.,:;!?'\"()[]{}"
    "\u0301\u200d\u200b\u2060\u00a0\u25cc\u0915\u094d\u0e01\u05d0\u1100\u1161\u11a8가"
    "😀👍🏻🇨🇳\u3041\u30fc々"
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=MIXED, max_size=80) | st.text(max_size=40))
def test_the_fast_path_agrees_with_uniseg(text):
    assert _uax14(text) == list(line_break_boundaries(text))[:-1]


HAN = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处理"
PUNCT = [*"。，、；：？！（）《》「」『』〔〕“”·", "……", "——", " ", "\n"]
# Chinese text with punctuation, spaces and line feeds, starting with a 汉字 (so tokens stay apart).
FILLER = st.builds(
    lambda first, rest: first + "".join(rest),
    st.sampled_from(HAN),
    st.lists(st.sampled_from(HAN) | st.sampled_from(HAN) | st.sampled_from(PUNCT), max_size=13),
)
YEAR = st.integers(1990, 2030).map(str)
TOKENS = st.one_of(
    st.builds(lambda a, t, y, n: f"{a}{t}〔{y}〕{n}号", st.sampled_from(["民", "国办", "吉民", "渝民", "皖政"]),
              st.sampled_from("发函办字"), YEAR, st.integers(1, 300)),
    st.builds(lambda y, m, d: f"{y}年{m}月{d}日", YEAR, st.integers(1, 12), st.integers(1, 31)),
    st.builds(lambda y, m, d: f"{y}-{m:02}-{d:02}", YEAR, st.integers(1, 12), st.integers(1, 28)),
    st.from_regex(r"\A[1-6][0-9]{16}[0-9X]\Z"),
    st.from_regex(r"\A[0-9]{1,3}(,[0-9]{3}){0,2}(\.[0-9]{1,2})?\Z"),
    st.sampled_from(["sealdesk", "help", "register", "verify", "--since", "/var/lib/sealdesk", "F1", "Ctrl+Q"]),
)
TEXTS = st.lists(st.tuples(FILLER, TOKENS | st.just("")), min_size=1, max_size=12).map(
    lambda parts: ("".join(f + t for f, t in parts), [t for _, t in parts if t])
)


def _token_positions(text: str, tokens: list[str]) -> list[tuple[int, int]]:
    out, at = [], 0
    for token in tokens:
        at = text.index(token, at)
        out.append((at, at + len(token)))
        at += len(token)
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXTS, st.integers(2, 60))
def test_wrapping_properties(sample, width):
    text, tokens = sample
    cuts = wrap_offsets(text, width)
    lines = wrap(text, width)
    opps = set(opportunities(text))
    bounds = [0, *cuts, len(text)]
    assert len(lines) == len(bounds) - 1

    # every line fits, and the lines are the text with only spaces (and line feeds) dropped at breaks
    for line, a, b in zip(lines, bounds, bounds[1:]):
        assert cells(line) <= width
        assert text[a:b].startswith(line) and not text[a:b][len(line):].strip(" \n")
        assert "\n" not in text[a:b].rstrip("\n")

    # a break is a line feed, an opportunity, or forced by a run with none that does not fit alone
    for k, cut in enumerate(cuts):
        if text[cut - 1] == "\n":
            continue
        if cut in opps:
            assert text[cut] not in NOT_AT_START or text[cut:cut + 2] == "——"
            assert text[:cut].rstrip(" ")[-1] not in NOT_AT_END
        else:
            start = bounds[k]
            nxt = min([o for o in opps if o > start] + [text.find("\n", start) % (len(text) + 1)])
            assert cells(text[start:nxt].rstrip(" ")) > width, (start, cut)

    # each token is protected, and never split when its protected span fits a line
    spans = protected_spans(text)
    for a, b in _token_positions(text, tokens):
        if b - a < 2:
            continue
        span = next((s, e) for s, e in spans if s <= a and b <= e)
        if cells(text[span[0]:span[1]]) <= width:
            assert not any(a < cut < b for cut in cuts), (text[a:b], lines)


# --- the widget ---------------------------------------------------------------------------------

class ProseApp(App):
    def compose(self) -> ComposeResult:
        yield Prose(CITATION * 2 + "[b]不是标记[/b]", id="prose")


async def test_prose_wraps_with_the_breaker_and_rewraps_on_resize():
    app = ProseApp()
    async with app.run_test(size=(80, 24)) as pilot:
        prose = app.query_one(Prose)
        for columns in (80, 50, 33):
            await pilot.resize_terminal(columns, 24)
            await pilot.pause()
            width = prose.content_size.width
            strips = prose.render_lines(Region(0, 0, prose.size.width, prose.size.height))
            shown = ["".join(segment.text for segment in strip).rstrip() for strip in strips]
            assert shown == prose.lines == wrap(CITATION * 2 + "[b]不是标记[/b]", width)
            assert prose.size.height == len(prose.lines)
            assert sum("民发〔2020〕20号" in line for line in shown) == 2
            assert not any(line[:1] in NOT_AT_START for line in shown[1:])
            assert all(cells(line) <= width for line in shown)
            assert shown[-1].endswith("[b]不是标记[/b]")  # plain text, not markup
        prose.update(Content("甲乙").stylize("bold"))
        await pilot.pause()
        assert prose.lines == ["甲乙"]


def test_a_path_after_a_space_may_start_a_line():
    # UAX #14 keeps "/" off a line's start even after a space; the break then fell before the 汉字.
    text = "注意：未配置社区，使用演示社区（数据在 /tmp/tv/demo/national）"
    lines = wrap(text, 40)
    assert lines[0].endswith("数据在") and lines[1].startswith("/tmp/")
    assert "/tmp/tv/demo/national" in lines[1]
