"""Comparison across jurisdictions: ``sealdesk compare`` and the 对比各辖区 screen.

Expectations come from the catalogs the engine uses (``registry.view(...).index``) and from
``sealdesk decide --json`` itself, not from copies of the lists.
"""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from textual.widgets import DataTable

from sealdesk.core.cli.main import main
from sealdesk.core.training.compare import compare
from sealdesk.core.engine.model import Facts, Request
from sealdesk.core.engine.plugins import Registry
from sealdesk.tui.app import SealdeskApp
from sealdesk.tui.screens.compare import CompareScreen
from sealdesk.tui.screens.counter import CounterScreen
from sealdesk.tui.screens.dialogs import AskText

from test_tui import SIZE, _snap_app, ask, screen_text, session  # noqa: F401  (fixture)

TODAY = dt.date.today()
FACTS = ("party_requires", "within_duties", "verifiable")


def run(capsys, *argv):
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def compare_json(capsys, *argv) -> list[dict]:
    code, out, err = run(capsys, "compare", *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def table_rows(out: str, registry) -> dict[str, str]:
    """The text table's line for each jurisdiction, by id (lines start with the mark column)."""
    names = {registry.jurisdictions[j].name: j for j in registry.ids()}
    rows = {}
    for line in out.splitlines():
        first = line[1:].split(" ")[0] if line[:1] in " *" else ""
        if first in names and line.lstrip(" *").startswith(first + " "):
            rows[names[first]] = line
    return rows


# -- the command line ------------------------------------------------------------------------
def test_json_is_one_decide_object_per_jurisdiction(capsys, registry):
    got = compare_json(capsys, "无犯罪记录证明")
    assert [d["jurisdiction"] for d in got] == registry.ids()
    for d in got:
        # exactly what `decide --json` prints for that jurisdiction
        code, out, err = run(capsys, "decide", "无犯罪记录证明", "--jurisdiction", d["jurisdiction"], "--json")
        assert code == 0, err
        assert d == json.loads(out)
        item = registry.view(d["jurisdiction"], TODAY).index.lookup("无犯罪记录证明").item
        assert d["outcome"] == "refuse" and d["route"] == item.route and "公安" in d["route"]


def test_name_found_only_in_chongqing_is_flagged(capsys, registry):
    # 暂住证明 is another name of Chongqing's own item 27 (居住证明); no other list has it
    name = "暂住证明"
    got = {d["jurisdiction"]: d for d in compare_json(capsys, name)}
    known = {j for j in registry.ids() if registry.view(j, TODAY).index.lookup(name).item}
    assert known == {"chongqing", "chongqing-yubei"}
    for jid in known:
        assert got[jid]["item"]["number"] == 27 and got[jid]["item"]["name"] == "居住证明"
    assert got["national"]["item"] is None and got["national"]["outcome"] == "refuse"

    cmp = compare(registry, Request(name), TODAY)
    assert {j for j, fs in cmp.differs.items() if fs} == known
    assert {"item", "route"} <= cmp.differs["chongqing"] and not cmp.differs["national"]

    code, out, err = run(capsys, "compare", name)
    assert code == 0, err
    assert "不同之处" in out and "事项" in out.splitlines()[1]
    rows = table_rows(out, registry)
    assert set(rows) == set(registry.ids())
    for jid, line in rows.items():
        assert line.startswith("*") == (jid in known), line
        assert ("*重庆市负面清单第27项 居住证明" in line) == (jid in known), line  # Chongqing's own list
    # the full route, once, under the jurisdictions that share it
    route = registry.view("chongqing", TODAY).index.lookup(name).item.route
    assert out.count(route) == 1
    assert re.search(r"\* 重庆市、重庆市渝北区：\n +" + re.escape(route), out)


def test_chongqing_legacy_name_is_a_resident_word_everywhere(capsys, registry):
    # 户口注销证明: a 渝府办发〔2018〕56号 name that Chongqing's item 2 absorbed (its 备注); the national
    # vocabulary carries it, so every jurisdiction finds item 2, and only Chongqing's item name differs
    got = {d["jurisdiction"]: d for d in compare_json(capsys, "户口注销证明")}
    assert {d["item"]["number"] for d in got.values()} == {2}
    assert {d["outcome"] for d in got.values()} == {"refuse"}
    assert got["national"]["match"]["kind"] == "word" and got["chongqing"]["match"]["kind"] == "legacy"
    cmp = compare(registry, Request("户口注销证明"), TODAY)
    assert cmp.differing_fields == ["item"]
    assert {j for j, fs in cmp.differs.items() if fs} == {"chongqing", "chongqing-yubei"}


def test_a_name_near_several_items_is_asked_about_everywhere(capsys, registry):
    got = compare_json(capsys, "关系证明")
    assert {d["outcome"] for d in got} == {"ask"}
    assert all([c["number"] for c in d["candidates"]] == [1, 8] and d["questions"] == [] for d in got)
    code, out, err = run(capsys, "compare", "关系证明")
    assert code == 0, err
    rows = table_rows(out, registry)
    assert all("待选：负面清单第1项、第8项" in line for line in rows.values()), rows
    assert "亲属关系证明" in out.split("待选事项", 1)[1] and "婚姻状况证明" in out.split("待选事项", 1)[1]
    # and a query that names nothing
    code, out, err = run(capsys, "compare", "开个证明")
    assert code == 0 and all("未说明名称" in line for line in table_rows(out, registry).values()), out


def test_a_retained_item_asks_for_its_use_only_where_it_is_listed(capsys, registry):
    got = {d["jurisdiction"]: d for d in compare_json(capsys, "政治考核证明")}
    asking = {j for j, d in got.items() if d["outcome"] == "ask"}
    assert asking == {"chongqing", "chongqing-yubei"}
    assert all(got[j]["questions"] == ["purpose"] for j in asking)
    code, out, err = run(capsys, "compare", "政治考核证明")
    assert "用途（保留事项限定用途）" in out.split("待确认情形：", 1)[1] and "purpose" not in out
    got = {d["jurisdiction"]: d for d in compare_json(capsys, "政治考核证明", "--purpose", "征兵")}
    assert {got[j]["outcome"] for j in asking} == {"issue"}


def test_transitional_issue_with_retention_only_in_shaanxi(capsys, registry):
    facts = [a for f in FACTS for a in ("--fact", f)]
    got = {d["jurisdiction"]: d for d in compare_json(capsys, "居民财产证明", *facts)}
    assert {d["outcome"] for d in got.values()} == {"issue_transitional"}
    assert [j for j, d in got.items() if "retention" in d["requirements"]] == ["shaanxi"]
    assert all(d["facts"] == dict.fromkeys(FACTS, True) for d in got.values())

    cmp = compare(registry, Request("居民财产证明", facts=Facts(dict.fromkeys(FACTS, True))), TODAY)
    assert cmp.differing_fields == ["requirements"]
    assert {j for j, fs in cmp.differs.items() if fs} == {"shaanxi"}

    code, out, err = run(capsys, "compare", "居民财产证明", *facts)
    rows = table_rows(out, registry)
    assert rows["shaanxi"].startswith("*陕西省") and "*据实出具" in rows["shaanxi"]
    assert not any("*" in line for jid, line in rows.items() if jid != "shaanxi")
    assert "情形：民商事主体明确要求" in out
    assert re.search(r"\* 陕西省：\n +调查核实.*登记留存", out)


def test_outcomes_differ_on_a_date_when_qinghai_is_in_force(capsys, registry):
    # 居住证明 that cannot be verified: Qinghai's fifth condition (青民发〔2021〕103号 二（二）) settles it by
    # written commitment (二（六）) while the document is in force; elsewhere, and after it lapsed, refused
    args = ("居住证明", "--fact", "verifiable=false")
    got = {d["jurisdiction"]: d for d in compare_json(capsys, *args, "--on", "2026-01-10")}
    assert got["qinghai"]["outcome"] == "commitment"  # DOMAIN.md section 10
    assert {d["outcome"] for j, d in got.items() if j != "qinghai"} == {"refuse"}
    assert all(d["date"] == "2026-01-10" for d in got.values())
    code, out, _ = run(capsys, "compare", *args, "--on", "2026-01-10")
    assert "*告知承诺" in table_rows(out, registry)["qinghai"]
    lapsed = {d["jurisdiction"]: d for d in compare_json(capsys, *args, "--on", "2026-09-01")}
    assert lapsed["qinghai"]["outcome"] == "refuse"


def test_written_commitment_applies_everywhere_when_asserted(capsys, registry):
    # 民发〔2020〕20号 四（四）: commitment_ok is no longer Qinghai's alone; before and after 青民发〔2021〕103号
    # lapsed, every jurisdiction settles 居住证明 by written commitment, none differs in the outcome
    for on in ("2026-01-10", "2026-09-01"):
        got = compare_json(capsys, "居住证明", "--fact", "commitment_ok", "--on", on)
        assert {d["outcome"] for d in got} == {"commitment"}, on
        assert all(d["requirements"] == ["commitment_letter"] for d in got), on
        cmp = compare(registry, Request("居住证明", facts=Facts({"commitment_ok": True})), dt.date.fromisoformat(on))
        assert "outcome" not in cmp.differing_fields


def test_subset_of_jurisdictions(capsys):
    got = compare_json(capsys, "无犯罪记录证明", "--jurisdiction", "chongqing", "national")
    assert [d["jurisdiction"] for d in got] == ["national", "chongqing"]  # national first: it wins ties
    got = compare_json(capsys, "无犯罪记录证明", "-j", "shaanxi,jilin")
    assert [d["jurisdiction"] for d in got] == ["jilin", "shaanxi"]


@pytest.mark.parametrize("argv, says", [
    (["compare", "无犯罪记录证明", "--fact", "no_such_fact"], "未知情形"),
    (["compare", "无犯罪记录证明", "--fact", "verifiable=maybe"], "取值"),
    (["compare", "无犯罪记录证明", "--on", "2026-13-01"], "日期"),
    (["compare", "无犯罪记录证明", "-j", "atlantis"], "未知辖区"),
    (["compare"], "缺少证明名称"),
    (["compare", "无犯罪记录证明", "--bogus"], "参数错误"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and says in err, err


def test_broken_jurisdiction_is_listed_not_fatal(make_plugin, capsys):
    catalog = ('[[negative]]\nnumber = 1\nname = "测试专用证明"\nroute = "去测试处"\n'
               'citations = [{document = "不存在〔2024〕9号", provision = "一"}]\n')
    make_plugin("cmp_broken", files={"catalog.toml": catalog})
    reg = Registry()
    assert "cmp-broken" in reg.broken
    cmp = compare(reg, Request("无犯罪记录证明"), TODAY)
    assert [d.jurisdiction for d in cmp.decisions] == reg.ids()
    (jid, error), = cmp.broken
    assert jid == "cmp-broken" and "不存在〔2024〕9号" in error


# -- the TUI -----------------------------------------------------------------------------------
def cell_texts(table: DataTable, row: int) -> list[str]:
    return [str(c) for c in table.get_row_at(row)]


async def test_compare_from_the_counter_after_a_decision(session, registry):
    s = session("national")
    app = SealdeskApp(s)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "c 对比" not in app.screen.query_one("KeyBar").render().plain  # nothing decided yet
        await ask(pilot, "户口注销证明", "[b]办理[/b]", "派出所")
        assert app.screen.decision["outcome"] == "refuse"
        assert "c 对比" in app.screen.query_one("KeyBar").render().plain
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert screen.request == Request("户口注销证明", "[b]办理[/b]", "派出所", Facts({}))
        table = screen.query_one(DataTable)
        ids = [d.jurisdiction for d in screen.comparison.decisions]
        assert ids == registry.ids() and table.row_count == len(ids)
        shown = screen_text(app)
        assert "不同之处" in shown and "[b]办理[/b]" in shown  # the purpose as typed, not as markup
        # differing cells are marked; the national row is not
        cq = ids.index("chongqing")
        assert cell_texts(table, cq)[2].startswith("*负面第2项")
        assert not any(c.startswith("*") for c in cell_texts(table, ids.index("national")))
        # ↓ to Chongqing: its whole decision, the route verbatim
        while table.cursor_row != cq:
            await pilot.press("down")
        await pilot.pause()
        route = registry.view("chongqing", s.today).index.lookup("户口注销证明").item.route
        detail = str(screen.query_one("#compare_text").render())
        assert route in detail.replace("\n", "") and "与多数辖区不同" in detail
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CounterScreen) and app.screen.decision["outcome"] == "refuse"


async def test_compare_from_the_palette_asks_for_the_name(session, registry):
    app = SealdeskApp(session("chongqing"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p", *"对比各辖区", "enter")
        await pilot.pause()
        assert isinstance(app.screen, AskText)
        await pilot.press(*"[red]无犯罪记录证明", "enter")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen) and screen.request.query == "[red]无犯罪记录证明"
        assert "[red]无犯罪记录证明" in screen_text(app)
        # the cursor starts on the community's own jurisdiction
        assert screen.query_one(DataTable).cursor_row == registry.ids().index("chongqing")
        await pilot.press("tab")  # the decision below, to scroll it with ↑↓
        assert screen.focused.id == "compare_detail"
        await pilot.press("tab")
        assert isinstance(screen.focused, DataTable)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, CounterScreen)


async def test_palette_compares_the_current_request(session):
    app = SealdeskApp(session("shaanxi"))
    async with app.run_test(size=SIZE) as pilot:
        await ask(pilot, "无犯罪记录证明", "应聘")
        await pilot.press("ctrl+p", *"对比各辖区", "enter")
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        assert app.screen.request.purpose == "应聘"


async def test_compare_an_ask_from_the_counter(session, registry):
    app = SealdeskApp(session("chongqing"))
    async with app.run_test(size=SIZE) as pilot:
        # a name near two items: asked everywhere, the table says which items, the detail names them
        await pilot.press(*"关系证明", "f5")
        await pilot.pause()
        assert app.screen.decision["candidates"]
        await pilot.press("c")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        table = screen.query_one(DataTable)
        for row in range(table.row_count):
            assert cell_texts(table, row)[1:3] == [" 待补充", " 待选：负面第1/8项"]
        detail = str(screen.query_one("#compare_text").render())
        assert "亲属关系证明（负面清单第1项）" in detail and "婚姻状况证明（负面清单第8项）" in detail
        await pilot.press("escape")
        await pilot.pause()
        # a retained item asked for its use: only where it is listed
        await pilot.press("ctrl+n", *"政治考核证明", "f5")
        await pilot.pause()
        assert app.screen.decision["questions"] == ["purpose"]
        await pilot.press("ctrl+p", *"对比各辖区", "enter")  # the focus is in 用途, where c is a letter
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        ids = [d.jurisdiction for d in screen.comparison.decisions]
        table = screen.query_one(DataTable)
        cq = cell_texts(table, ids.index("chongqing"))
        assert cq[1] == "*待补充" and cq[2].startswith("*重庆市保留第4项")
        assert cell_texts(table, ids.index("national"))[1:3] == [" 不予出具", " 未列入清单"]


def test_snapshot_compare(snap_compare, tmp_path):
    assert snap_compare(_snap_app(tmp_path, "chongqing"), terminal_size=SIZE,
                        press=[*"户口注销证明", "enter", "enter", "enter", "c"])


async def test_broken_jurisdiction_row_says_why(make_plugin, tmp_path):
    from sealdesk.core.register.community import demo_community, save_community
    from sealdesk.tui.session import Session

    catalog = ('[[negative]]\nnumber = 1\nname = "测试专用证明"\nroute = "去测试处"\n'
               'citations = [{document = "不存在〔2024〕9号", provision = "一"}]\n')
    make_plugin("cmp_broken_tui", files={"catalog.toml": catalog})
    reg = Registry()
    home = tmp_path / "home"
    save_community(demo_community(home, "national", reg.jurisdictions["national"].name))
    app = SealdeskApp(Session(home, as_login="clerk", registry=reg))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p", *"对比各辖区", "enter")
        await pilot.pause()
        await pilot.press(*"无犯罪记录证明", "enter")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        assert table.row_count == len(reg.ids()) + 1
        assert "不可用" in cell_texts(table, table.row_count - 1)[1]
        while table.cursor_row != table.row_count - 1:
            await pilot.press("down")
        await pilot.pause()
        assert "不存在〔2024〕9号" in str(app.screen.query_one("#compare_text").render())
