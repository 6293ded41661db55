"""The clerk's TUI driven through Textual's Pilot at 80×24, keyboard only, on real registers."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess

import pytest
from textual.widgets import DataTable, Input, OptionList

from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.desk.counter import Desk
from sealdesk.tui.app import SealdeskApp
from sealdesk.tui.screens.dialogs import AskText, AssertFacts, Message
from sealdesk.tui.screens.paper import CertificatePreview, PaperDone
from sealdesk.tui.session import Session

from conftest import VALID_IDS

SIZE = (80, 24)


@pytest.fixture
def session(tmp_path, registry):
    def make(jid: str = "national", as_login: str = "clerk") -> Session:
        home = tmp_path / f"home-{jid}"
        save_community(demo_community(home, jid, registry.jurisdictions[jid].name))
        return Session(home, as_login=as_login, registry=registry)

    return make


def screen_text(app) -> str:
    """What the terminal shows, as text (the exported SVG's text runs, in order)."""
    svg = app.export_screenshot()
    runs = re.findall(r">([^<>]*)</text>", svg)
    import html

    return html.unescape("".join(runs)).replace("\xa0", " ")


async def ask(pilot, keys: str, purpose: str = "", requester: str = ""):
    """Type the certificate's name (any way a clerk would), take the first suggestion, fill and decide."""
    await pilot.press(*keys)
    await pilot.pause()
    await pilot.press("enter")
    await pilot.press(*purpose, "enter", *requester, "enter")
    await pilot.pause()


async def record(pilot, name: str = "张三", id_number: str = VALID_IDS[0]):
    app = pilot.app
    await pilot.press("r")  # asks for the resident first
    await pilot.pause()
    assert app.focused.id == "rname"
    await pilot.press(*name, "tab", *id_number, "enter")
    await pilot.pause()
    await pilot.pause()
    return app.screen.entry


def pdf_text(path) -> str:
    return re.sub(r"\s+", "", subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                                              check=True).stdout)


async def test_refusal_from_pinyin_initials_to_notice(session, registry):
    s = session("national")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"wfzjl")
        await pilot.pause()
        ol = app.screen.query_one("#suggest", OptionList)
        assert ol.display and "无犯罪记录证明" in str(ol.get_option_at_index(0).prompt)
        await pilot.press("enter", *"应聘", "enter", "enter")
        await pilot.pause()
        assert app.screen.decision["outcome"] == "refuse"
        shown = screen_text(app)
        assert "不予出具" in shown and "公安" in shown  # outcome and the route, on screen
        entry = await record(pilot)
        assert entry == 1
        assert "已登记：登记号 1" in screen_text(app)
        await pilot.press("p")
        await pilot.pause()
        # Shown in the panel, not in a dialog over the screen (fewer bytes over SSH); Esc closes it.
        assert app.screen.made is not None and "已生成不予出具证明告知单" in panel(app)
        saved = app.screen.made[1]
        assert f"保存在：{saved.relative_to(s.home)}" in panel(app) and "Esc 关闭" in panel(app)
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen.made is None and "保存在" not in panel(app) and "p 打印文书" in panel(app)
    assert oct(saved.stat().st_mode & 0o777) == "0o600"
    route = registry.view("national", s.today).by_id["national.negative.5"].route
    if shutil.which("pdftotext"):
        assert re.sub(r"\s+", "", route) in pdf_text(saved)
    shown = Desk(s.home, registry=registry).show(1)
    assert shown["outcome"] == "refuse" and shown["purpose"] == "应聘" and shown["papers"]


async def test_issue_through_approval_stamping_and_certificate(session, registry):
    s = session("national")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "qinshu", "公证", "公证处")
        assert app.screen.decision["outcome"] == "issue"
        entry = await record(pilot, "王䶮")
        # The clerk cannot approve: the register says who may, and why.
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, Message) and "负责人" in screen_text(app)
        await pilot.press("escape")
        # Switch to the director through the command palette (demo community only).
        await pilot.press("ctrl+p", *"切换身份", "enter")
        await pilot.pause()
        await pilot.press("down", "enter")  # 李建国（负责人）
        await pilot.pause()
        assert s.login == "director"
        await pilot.press("a", "y")  # the matter and what it needs first, y approves (tests/test_tui_register.py)
        await pilot.pause()
        s.switch_person("keeper")
        await pilot.press("s", "y")
        await pilot.pause()
        assert f"证明〔{dt.date.today().year}〕第1号" in screen_text(app)
        await pilot.press("p")
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        await pilot.press(*"该居民与王某系母子关系", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CertificatePreview)  # the wording first (issue 16; tests/test_tui_paper.py)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PaperDone)
        saved = app.screen.path
    if shutil.which("pdftotext"):
        text = pdf_text(saved)
        assert "王䶮" in text and "该居民与王某系母子关系" in text and re.search(r"证明〔\d{4}〕第1号", text)
    shown = Desk(s.home, registry=registry).show(entry)
    assert (shown["approver"], shown["keeper"]) == ("director", "keeper") and shown["serial"] == 1


async def test_transitional_issue_with_circumstances_and_consultation(session):
    s = session("shaanxi")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "居民财产证明", "办理贷款", "某银行")
        assert app.screen.decision["outcome"] == "refuse"
        await pilot.press("o")  # assert circumstances: party requires it, legal risk
        await pilot.pause()
        assert isinstance(app.screen, AssertFacts)
        ids = [spec.name for spec in app.screen.specs]
        for wanted in ("party_requires", "legal_risk"):
            while ids[app.screen.query_one(OptionList).highlighted] != wanted:
                await pilot.press("down")
            await pilot.press("space")
        assert "[x] " + s.view().facts["party_requires"].label in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        # the wizard asks what the rules need, one question at a time, with the rule's text
        assert app.screen.decision["outcome"] == "ask"
        assert "依据" in screen_text(app)
        while app.screen.decision["outcome"] == "ask":
            await pilot.press("y")
            await pilot.pause()
        d = app.screen.decision
        assert d["outcome"] == "issue_transitional"
        assert "consultation" in d["requirements"] and "retention" in d["requirements"]
        assert "议事协商" in screen_text(app)
        entry = await record(pilot)
    shown = Desk(s.home).show(entry)
    assert shown["outcome"] == "issue_transitional" and shown["status"] == "awaiting_approval"


async def test_qinghai_commitment_on_a_date_before_the_document_lapsed(session):
    s = session("qinghai")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p", *"决定日期", "enter")
        await pilot.pause()
        await pilot.press(*"2026-01-10", "enter")
        await pilot.pause()
        assert s.on is not None and s.on.isoformat() == "2026-01-10"
        await ask(pilot, "居住证明", "办理社会救助", "县民政局")
        assert app.screen.decision["outcome"] == "ask"
        await pilot.press("n")  # cannot be verified
        await pilot.pause()
        assert app.screen.decision["outcome"] == "commitment"
        entry = await record(pilot, "钱堃")
        await pilot.press("p")
        await pilot.pause()
        assert app.screen.made is not None
        saved = app.screen.made[1]
    if shutil.which("pdftotext"):
        assert "全国信用信息共享平台（青海）" in pdf_text(saved)
    assert Desk(s.home).show(entry)["date"] == "2026-01-10"


async def test_lapsed_document_banner_today_in_qinghai(session):
    app = SealdeskApp(session("qinghai"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "青民发〔2021〕103号" in screen_text(app) and "失效" in screen_text(app)


async def test_chongqing_legacy_name_is_understood(session):
    app = SealdeskApp(session("chongqing"))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "户口注销证明")
        d = app.screen.decision
        assert d["outcome"] == "refuse" and d["item"]["number"] == 2


async def test_names_are_shown_as_typed_never_as_markup(session):
    s = session("national")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "无犯罪记录证明", "[b]办理[/b]", "[red]某单位")
        assert "[b]办理[/b]" in screen_text(app) or app.screen.decision["purpose"] == "[b]办理[/b]"
        await record(pilot, "张[i]三")  # brackets are not part of a name: refused, nothing recorded
        assert app.screen.entry is None
        app.screen.query_one("#rname", Input).value = "张三"
        app.screen.query_one("#rid", Input).focus()
        await pilot.press("enter")  # Enter on the ID number records
        await pilot.pause()
        assert app.screen.entry == 1
        await pilot.press("f3")
        await pilot.pause()
        shown = screen_text(app)
        assert "[b]办理[/b]" in shown and "[red]某单位" in shown


async def test_bad_id_number_is_explained_and_nothing_recorded(session):
    s = session("national")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await ask(pilot, "无犯罪记录证明")
        await pilot.press("r")
        await pilot.pause()
        await pilot.press(*"张三", "tab", *"110105194912310021", "enter")
        await pilot.pause()
        assert app.screen.entry is None
        assert "校验" in screen_text(app) or "身份证" in screen_text(app)
    assert Desk(s.home).register.count() == 0


async def test_lists_browser_answers_where_to_go(session, registry):
    s = session("chongqing")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == len(s.view().items)
        await pilot.press("slash", *"wfzjl")
        await pilot.pause()
        assert "无犯罪记录证明" in screen_text(app) and "办事途径" in screen_text(app)


async def test_register_search_filter_and_chain_status(session):
    s = session("national")
    d = Desk(s.home)
    for q in ("无犯罪记录证明", "出生证明"):
        d.request(q, resident_name="张三", resident_id=VALID_IDS[0], as_login="clerk")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f3")
        await pilot.pause()
        assert app.screen.query_one(DataTable).row_count == 2
        await pilot.press("slash", *"出生", "enter")
        await pilot.pause()
        assert app.screen.query_one(DataTable).row_count == 1
        await pilot.press("c")
        await pilot.pause()
        assert "哈希链校验通过" in screen_text(app)


async def test_help_lists_every_key(session):
    app = SealdeskApp(session())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f1")
        await pilot.pause()
        assert "受理（F2）" in screen_text(app)
        await pilot.press("escape")


async def test_footer_shows_the_keys_that_work_now(session):
    """The bottom line follows the state: 是/否 only while a question is open, 登记 once the
    decision has the focus and nothing is recorded, 打印文书 once something is."""
    app = SealdeskApp(session("national"))

    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        line = app.screen.query_one("KeyBar").render().plain
        assert "f5 决定" in line and "f3 登记簿" in line and "^p 命令" in line
        assert "登记 " not in line.replace("登记簿", "") and "打印文书" not in line
        await ask(pilot, "wfzjl", "应聘")
        line = app.screen.query_one("KeyBar").render().plain
        assert "r 登记" in line and "y 是" not in line and "打印文书" not in line
        await record(pilot)
        line = app.screen.query_one("KeyBar").render().plain
        assert "p 打印文书" in line and "r 登记" not in line


async def test_no_community_opens_the_demo_and_says_so(tmp_path, monkeypatch, registry):
    monkeypatch.setenv("SEALDESK_DEMO_HOME", str(tmp_path / "demo"))
    s = Session(tmp_path / "nothing-here", registry=registry)
    assert s.community.demo and "演示社区" in s.notice
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "未配置社区" in screen_text(app)


# -- snapshots at 80×24 ------------------------------------------------------------------------
def _snap_app(tmp_path, jid="national"):
    from sealdesk.core.engine.plugins import default_registry

    reg = default_registry()
    home = tmp_path / "snap"
    save_community(demo_community(home, jid, reg.jurisdictions[jid].name))
    return SealdeskApp(Session(home, as_login="clerk", registry=reg))


def test_snapshot_counter_suggestions(snap_compare, tmp_path):
    assert snap_compare(_snap_app(tmp_path), terminal_size=SIZE, press=[*"wfzjl"])


def test_snapshot_counter_refusal(snap_compare, tmp_path):
    assert snap_compare(_snap_app(tmp_path), terminal_size=SIZE, press=[*"wfzjl", "enter", "enter", "enter"])


def test_snapshot_lists(snap_compare, tmp_path):
    assert snap_compare(_snap_app(tmp_path, "chongqing"), terminal_size=SIZE, press=["f4"])


def test_snapshot_help(snap_compare, tmp_path):
    assert snap_compare(_snap_app(tmp_path), terminal_size=SIZE, press=["f1"])


def test_snapshot_register_empty(snap_compare, tmp_path):
    assert snap_compare(_snap_app(tmp_path), terminal_size=SIZE, press=["f3"])


def test_snapshot_circumstances_dialog(snap_compare, tmp_path):
    assert snap_compare(_snap_app(tmp_path, "shaanxi"), terminal_size=SIZE,
                        press=[*"居民财产证明", "enter", "enter", "enter", "o"])


async def test_f5_from_the_name_field_takes_the_pinyin_suggestion_but_keeps_hanzi(session):
    app = SealdeskApp(session("national"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"wfzjl", "f5")
        await pilot.pause()
        d = app.screen.decision
        assert d["query"] == "无犯罪记录证明" and d["item"]["number"] == 5 and d["outcome"] == "refuse"
        await pilot.press("ctrl+n", *"在读证明", "f5")
        await pilot.pause()
        assert app.screen.decision["query"] == "在读证明" and app.screen.decision["item"] is None


def test_building_the_command_line_loads_no_plugins_before_the_first_frame():
    """`sealdesk` builds its whole parser before opening the TUI; the plugin manager, the rules and
    hypothesis load after the first frame (bench/tui_bench.py measures the launch), so no
    subcommand module may import them at the top."""
    import sys as _sys

    code = ("import sys; from sealdesk.core.cli import main as cli; cli.build_parser(); import sealdesk.tui.app; "
            "print(sorted(m for m in ('sealdesk.core.engine.plugins', 'pluggy', 'hypothesis') "
            "if m in sys.modules))")
    out = subprocess.run([_sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]", out


async def test_pinyin_that_matches_no_name_is_not_decided(session):
    app = SealdeskApp(session("national"))
    async with app.run_test(size=SIZE, notifications=True) as pilot:
        await pilot.press(*"qqqzm", "f5")
        await pilot.pause()
        assert app.screen.decision is None
        assert app.focused.id == "query"
        assert "没有与“qqqzm”对应的证明名称" in screen_text(app)


# -- residents' words: names near listed items, uses, names that name nothing -------------------------
def keybar(app) -> str:
    return app.screen.query_one("KeyBar").render().plain


def panel(app) -> str:
    """The decision panel's text as the clerk reads it (lines as written, before wrapping)."""
    status = app.screen.query_one("#status").content.plain
    body = app.screen.query_one("#result").content.plain
    return f"{status}\n{body}" if status else body


async def test_a_name_near_two_items_lists_them_and_a_digit_picks_one(session, registry):
    s = session("national")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"关系证明", "f5")
        await pilot.pause()
        d = app.screen.decision
        assert d["outcome"] == "ask" and [c["number"] for c in d["candidates"]] == [1, 8]
        shown = panel(app)
        assert "1 亲属关系证明（负面清单第1项）" in shown and "2 婚姻状况证明（负面清单第8项）" in shown
        assert "0 都不是（按未列入清单事项办理）" in shown
        assert "婚姻状况证明（负面清单第8项）" in screen_text(app)  # on the terminal, not scrolled away
        assert app.focused.id == "answer"  # the digits reach the screen, not a field
        line = keybar(app)
        assert "1-2 选择" in line and "0 都不是" in line and "y 是" not in line and "r 登记" not in line
        await pilot.press("y", "3")  # no question to answer, no third item: nothing happens
        await pilot.pause()
        assert app.screen.decision == d and app.screen.facts == {}
        await pilot.press("2")
        await pilot.pause()
        d = app.screen.decision
        assert d["outcome"] == "refuse" and d["item"]["id"] == "national.negative.8"
        assert app.screen.query_one("#query", Input).value == "婚姻状况证明"
        route = registry.view("national", s.today).by_id["national.negative.8"].route
        shown = screen_text(app)
        assert "不予出具" in shown and route[:30] in shown
        assert "居民原说：“关系证明”" in shown  # what the resident said stays on the panel
        line = keybar(app)
        assert "选择" not in line and "都不是" not in line and "r 登记" in line
        entry = await record(pilot)
    assert Desk(s.home, registry=registry).show(entry)["outcome"] == "refuse"


async def test_none_of_the_near_items_decides_the_name_as_unlisted(session):
    s = session("national")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"个人无犯罪记录证明", "f5")
        await pilot.pause()
        d = app.screen.decision
        assert d["outcome"] == "ask" and [c["name"] for c in d["candidates"]] == ["无犯罪记录证明"]
        assert "1 无犯罪记录证明（负面清单第5项）" in panel(app)
        assert "1 选择" in keybar(app)
        await pilot.press("0")
        await pilot.pause()
        d = app.screen.decision
        assert app.screen.facts == {"not_listed": True} and d["facts"] == {"not_listed": True}
        assert d["outcome"] == "refuse" and d["item"] is None and d["query"] == "个人无犯罪记录证明"
        shown = screen_text(app)
        assert "已确认情形：" + s.view().facts["not_listed"].label in shown
        assert "不在全国的负面清单或保留清单中" in shown.replace(" ", "")
        # a name typed afterwards is a new name: "none of these" does not carry over to it
        await pilot.press("escape", *"关系证明", "f5")  # Esc: back to the name, selected
        await pilot.pause()
        d = app.screen.decision
        assert app.screen.facts == {} and d["query"] == "关系证明" and d["outcome"] == "ask" and d["candidates"]


async def test_a_retained_item_for_one_use_asks_for_the_use_in_the_purpose_field(session):
    app = SealdeskApp(session("chongqing"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"政治考核证明", "f5")
        await pilot.pause()
        d = app.screen.decision
        assert d["outcome"] == "ask" and d["questions"] == ["purpose"] and d["item"]["number"] == 4
        shown = screen_text(app)
        assert "本次证明的用途是什么" in shown and "只用于：对体格检" in shown
        assert "在“用途”栏填写用途" in shown
        assert app.focused.id == "purpose"  # the clerk types the use at once
        assert "y 是" not in keybar(app)
        await pilot.press(*"征兵", "f5")
        await pilot.pause()
        d = app.screen.decision
        assert d["outcome"] == "issue" and d["purpose"] == "征兵"
        assert app.focused.id == "answer"
        # another use: Enter in 用途 decides again too, and the item is not issued for it
        await pilot.press("ctrl+n", *"政治考核证明", "f5")
        await pilot.pause()
        assert app.focused.id == "purpose"
        await pilot.press(*"出国旅游", "enter")
        await pilot.pause()
        assert app.screen.decision["outcome"] == "refuse"


async def test_a_name_that_names_nothing_sends_the_clerk_back_to_the_name(session):
    app = SealdeskApp(session("national"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"开个证明", "f5")
        await pilot.pause()
        d = app.screen.decision
        assert d["outcome"] == "ask" and not d["candidates"] and not d["questions"]
        assert "请问明居民所要证明的具体名称" in screen_text(app)
        assert app.focused.id == "query"
        assert "y 是" not in keybar(app) and "选择" not in keybar(app)
        await pilot.press(*"出生证明", "f5")  # the old text was selected: typing replaces it
        await pilot.pause()
        assert app.screen.decision["query"] == "出生证明" and app.screen.decision["item"]["number"] == 9


async def test_a_resident_word_is_suggested_and_shown_in_the_decision(session):
    app = SealdeskApp(session("national"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*"单身")
        await pilot.pause()
        ol = app.screen.query_one("#suggest", OptionList)
        assert ol.display and str(ol.get_option_at_index(0).prompt) == "单身证明 → 婚姻状况证明 · 负面清单第8项"
        assert "单身证明 → 婚姻状况证明" in screen_text(app)
        await pilot.press("enter", "enter", "enter")
        await pilot.pause()
        d = app.screen.decision
        assert d["query"] == "单身证明" and d["item"]["number"] == 8 and d["match"]["kind"] == "word"
        assert "按居民常用说法“单身证明”（单身即" in screen_text(app)


async def test_lists_show_other_names_and_find_an_item_by_a_resident_word(session):
    s = session("national")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f4", "slash", *"单身")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count >= 1 and str(table.get_row_at(0)[2]) == "婚姻状况证明"
        shown = screen_text(app)
        assert "按“单身证明”找到" in shown
        detail = str(app.screen.query_one("#item_text").render())
        assert "又称：" in detail and "单身证明" in detail.split("又称：", 1)[1]
        assert "也可能指本项（须问明）：关系证明" in detail.replace("\n", "")


def test_snapshot_counter_candidates(snap_compare, tmp_path):
    assert snap_compare(_snap_app(tmp_path), terminal_size=SIZE, press=[*"关系证明", "f5"])
