"""Papers break lines with the shared Chinese line breaker (issue 16), read back as printed.

Every paper is printed for real and read back with ``pdftotext -bbox-layout``, whose lines are the
printed lines (of a paragraph or of a table cell): no line starts with a mark GB/T
15834 keeps off the start of a line (，。、）》」…), none ends with an opening one (（《「…), and no
文号 (民发〔2020〕20号), 18-character ID number or date is split between two lines — on every
jurisdiction's refusal notices (their citations carry 文号; the resident's purpose, printed before
them, moves them along the line), its public notice and retained list (long names and routes in
narrow cells) and its inventory (long requesters and purposes). Justified text reaches the right
margin on every line but a paragraph's last, by character spacing, and the first-line indent stays
two characters wide.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import shutil
import subprocess

import pytest

import pdfread
from conftest import VALID_IDS

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")

JURISDICTIONS = ["national", "jilin", "qinghai", "shaanxi", "anhui-luan", "chongqing", "chongqing-yubei"]
# A 文号 with the last two characters of its 发文机关代字 (the breaker keeps up to three with it), an
# ID number, a date: each must be read on one line.
WENHAO = re.compile(r"[\u4e00-\u9fff]{2}〔\d{4}〕\d+号")
ID_NUMBER = re.compile(r"(?<![0-9])[0-9]{17}[0-9X](?![0-9])")
DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")
PAGE_NUMBER = re.compile(r"—\d+—")
LONG_REQUESTER = "重庆市渝北区龙溪街道花卉园东路社区居民委员会不动产登记中心第二分中心（2026年12月5日起对外办公）"
PT = 72 / 25.4


def read_blocks(pdf: bytes, tmp_path) -> list[list[dict]]:
    """The printed lines block by block (a paragraph, a table cell): text without spaces and box in pt."""
    return [pdfread.lines(block) for block in pdfread.parts(pdfread.layout(pdf, tmp_path), "block")]


def check_breaks(pdf: bytes, tmp_path, whole=()) -> list[str]:
    """Assert the paper's lines break as the shared line breaker allows; return the lines."""
    from sealdesk.core.common.linebreak import NO_END, NO_START

    # Every two lines in reading order: pdftotext may make a block of a single line, and no paragraph
    # or cell of a paper starts with a closing mark or ends with an opening one. Page numbers (「— 1 —」
    # under the text block) are no line of the paper's text: left out.
    lines = [ln["text"] for b in read_blocks(pdf, tmp_path) for ln in b if not PAGE_NUMBER.fullmatch(ln["text"])]
    bad = []
    for p, t in zip(lines, lines[1:]):
        # "—" alone is a table's empty cell, not a broken line; a 破折号 —— may start a line.
        if t and t[0] in NO_START and t != "—" and not t.startswith("——"):
            bad.append(f"starts with {t[0]}: {p[-10:]} / {t[:10]}")
        if p and p[-1] in NO_END:
            bad.append(f"ends with {p[-1]}: {p[-10:]} / {t[:10]}")
    text = "".join(lines)
    for rx in (WENHAO, ID_NUMBER, DATE):
        for token in sorted(set(rx.findall(text))):
            if sum(line.count(token) for line in lines) != text.count(token):
                bad.append(f"split: {token}")
    for token in whole:
        if not any(token in line for line in lines):
            bad.append(f"not whole on a line: {token}")
    assert not bad, bad
    return lines


def desk_for(jid, tmp_path, registry):
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.register.community import demo_community, save_community

    home = tmp_path / "home"
    save_community(demo_community(home, jid))
    return Desk(home, registry=registry)


def pdf_of(result: dict) -> bytes:
    return base64.b64decode(result["pdf"])


def pages(pdf: bytes, tmp_path) -> int:
    f = tmp_path / "pages.pdf"
    f.write_bytes(pdf)
    out = subprocess.run(["pdfinfo", str(f)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))


def test_every_jurisdiction_is_covered(registry):
    assert set(JURISDICTIONS) <= set(registry.ids())


@pytest.mark.parametrize("jid", JURISDICTIONS)
def test_refusal_notices_never_split_a_citation_a_date_or_start_a_line_with_a_closing_mark(jid, tmp_path, registry):
    from sealdesk.core.engine.model import citation_label

    desk = desk_for(jid, tmp_path, registry)
    view = registry.view(jid, dt.date.today())
    numbers = [d.number for d in view.documents.values() if WENHAO.search(d.number)]
    assert numbers, jid
    try:
        # The purpose is printed in the first paragraph (and, for a retained item asked for another
        # use, in the ground before its citation): purposes of every length up to a line move what
        # follows them to every place on the line. Some name a 文号 and a date themselves.
        for k in range(0, 34, 3):
            doc = numbers[k % len(numbers)]
            for query, purpose in (("无犯罪记录证明", "应聘" + "子女入学" * (k // 4) + "入学"[:k % 4 // 2]),
                                   ("政治考核证明", f"{'就业' * (k // 2)}按{doc}要求于2026年3月1日前办理政审")):
                entry = desk.request(query, resident_name="李" + "䶮" * (k % 3), resident_id=VALID_IDS[0],
                                     purpose=purpose, requester=LONG_REQUESTER, as_login="clerk")["entry"]
                printed = desk.paper("refusal", entry, as_login="clerk")
                pdf = pdf_of(printed)
                cites = [citation_label(c) for c in desk.matter(entry).entry.data["decision"].get("citations", [])]
                whole = [m.group() for c in cites for m in WENHAO.finditer(c)]
                lines = check_breaks(pdf, tmp_path, whole)
                # A usual purpose, a listed item: the notice is one page (GB/T 9704's 22 lines of 28
                # characters, tightened to keep the seal with the text). A very long purpose, or a retained
                # item asked for another use (its ground is a paragraph), may take two, numbered.
                if k == 0 and query == "无犯罪记录证明":
                    assert pages(pdf, tmp_path) == 1, (jid, k, query, lines)
                numbered = any(ln["text"] == "—1—" for b in read_blocks(pdf, tmp_path) for ln in b)
                assert (pages(pdf, tmp_path) > 1) == numbered, (jid, k, query)
                assert pdf == pdf_of(desk.paper("refusal", entry, as_login="clerk"))  # the same bytes again
    finally:
        desk.close()


@pytest.mark.parametrize("jid", JURISDICTIONS)
def test_reports_break_every_cell_as_the_screen_does(jid, tmp_path, registry):
    desk = desk_for(jid, tmp_path, registry)
    try:
        for report in ("notice", "retained"):
            check_breaks(pdf_of(desk.report(report, as_login="clerk")), tmp_path)
        # The inventory's cells: long requesters and purposes with dates, the basis column's citations
        # (not a 文号 in the purpose: with the three characters the breaker keeps before its 〔 it is
        # wider than that column's 36 mm, and is cut there as any run that fits no line).
        for i, query in enumerate(("居民财产证明", "无犯罪记录证明", "政治考核证明", "居住证明")):
            desk.request(query, resident_name="周䶮", resident_id=VALID_IDS[1],
                         purpose="办理" * i + "于2026年12月5日前办理不动产登记（2026年3月1日起施行）",
                         requester=LONG_REQUESTER[i:], as_login="clerk",
                         facts={"party_requires": True, "within_duties": True, "verifiable": True})
        today = dt.date.today()
        check_breaks(pdf_of(desk.report("inventory", today.replace(month=1, day=1), today, as_login="inspector")),
                     tmp_path)
    finally:
        desk.close()


def paper(*blocks):
    from sealdesk.core.papers.content import Paper

    return Paper("certificate", "证明", list(blocks), dt.datetime(2026, 1, 10, 9, tzinfo=dt.timezone.utc))


def test_an_id_number_and_a_date_are_never_split_wherever_they_fall(tmp_path):
    from sealdesk.core.papers.content import Block
    from sealdesk.core.papers.typeset import render

    for k in range(0, 32):
        text = "甲" * k + f"居民张三（身份证号{VALID_IDS[0]}）自2020年10月12日起在本社区居住，依据民发〔2020〕20号出具。"
        check_breaks(render(paper(Block("title", "证明"), Block("para", text), Block("item", "1. " + text))), tmp_path,
                     whole=[VALID_IDS[0], "2020年10月12日", "民发〔2020〕20号"])


def test_justified_lines_reach_the_margin_and_the_indent_is_two_characters(tmp_path):
    from sealdesk.core.papers.content import Block
    from sealdesk.core.papers.typeset import PITCH, PORTRAIT, render

    text = ("根据《民政部等六部门关于改进和规范基层群众性自治组织出具证明工作的指导意见》（民发〔2020〕20号）的规定，"
            f"居民张三（身份证号{VALID_IDS[0]}）于2026年12月5日申请出具证明，经审查，该证明事项属于清单所列事项，"
            "本居民委员会依法予以出具，特此说明。")
    gap = "甲" * 18 + f"乙{VALID_IDS[1]}丙"  # the ID number (9 em) fits only on the next line, 7 em short
    blocks = [Block("para", text), Block("para", "A" * 80 + "证明"), Block("para", gap)]
    pdf = render(paper(*blocks))
    assert pdf == render(paper(*blocks))  # the same bytes again
    blocks = read_blocks(pdf, tmp_path)
    lines = [ln for b in blocks for ln in b]
    left, right = PORTRAIT.left * PT, (210 - PORTRAIT.right) * PT  # GB/T 9704: a 156 mm text block
    cell = 156 / 28 * PT  # a character of the grid: 28 a line
    para = lines[:next(i for i, ln in enumerate(lines) if "AAAA" in ln["text"])]
    assert len(para) >= 3 and "".join(ln["text"] for ln in para) == text
    assert para[0]["x0"] == pytest.approx(left + 2 * cell, abs=0.5)  # two characters of indent
    for ln in para[1:]:
        assert ln["x0"] == pytest.approx(left, abs=0.5), ln
    for ln in para[:-1]:  # justified: every line but the last ends at the margin
        assert right - 1.5 <= ln["x1"] <= right + 0.5, ln
    last = para[-1]  # not spread: its characters (all full-width) one grid character apart
    assert last["x1"] - last["x0"] == pytest.approx(len(last["text"]) * cell, abs=0.5), last
    # A run too long for the first line still starts on it, at the indent: no line holds the indent alone.
    run = [ln for ln in lines if "AAAA" in ln["text"]]
    assert run[0]["x0"] == pytest.approx(left + 2 * cell, abs=0.5) and run[0]["text"].startswith("A" * 30)
    assert run[0]["y0"] - last["y0"] < 1.5 * PITCH * PT  # the next line after the paragraph, no empty line between
    # A line left 7 characters short by an ID number is set flush left, not letter-spaced.
    first = next(ln for ln in lines if ln["text"].startswith("甲"))
    assert first["text"] == "甲" * 18 + "乙" and first["x1"] - first["x0"] == pytest.approx(19 * cell, abs=0.5)


def test_no_line_starts_with_a_closing_mark_or_ends_with_an_opening_one_wherever_it_falls(tmp_path):
    # The marks moved one character at a time past the end of a line (an indented paragraph at 四号,
    # a note at 五号, a bold heading): where a mark would start a line, the character before it
    # goes down with it.
    from sealdesk.core.papers.content import Block
    from sealdesk.core.papers.typeset import render

    for k in range(24, 40):
        text = "证" * k + "，" + "明" * 10 + "。" + "证" * k + "）" + "明" * 5 + "《" + "书名" + "》。"
        check_breaks(render(paper(Block("para", text), Block("note", text), Block("heading", text))), tmp_path)
