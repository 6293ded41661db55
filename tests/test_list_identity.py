"""Issue 18, part 2: items carry their own list's identity.

A county under Shaanxi numbers its own negative items from 1, as docs/plugins.md says, beside the
national list it inherits. Its 第1项 and the national 第1项 are two items: every place that gives
an item's position says which list (explanations, ``decide --json``, ``sealdesk items``, the
refusal notice read back with pdftotext, the lists screen). An item that overrides an inherited
one is that entry reworded: it keeps the number and list of the item it replaces.
"""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import subprocess

import pytest

from conftest import CATALOG_TOML, VALID_IDS

JID = "county-lists"
ON = dt.date(2026, 1, 10)
NATIONAL_TITLE = "不应由基层群众性自治组织出具证明事项清单（第一批）"
COUNTY_TITLE = "某某县不应由基层群众性自治组织出具证明事项清单"

COUNTY_TOML = """\
id = "{jid}"
name = "陕西省某某县"
parent = "shaanxi"
level = "county"

[[documents]]
number = "某县发〔2024〕1号"
title = "某某县证明事项清单"
issuer = "某某县人民政府"
date = 2024-01-01
effective_from = 2024-01-01

[lists]
negative = "{title}"
negative_short = "{short}"
"""

# Its own item 1, and item 2 rewording the national item 8 (婚姻状况证明).
COUNTY_CATALOG = """\
[[negative]]
number = 1
name = "学生社会实践证明"
route = "无法律法规依据，不再由基层群众性自治组织出具此项证明"
citations = [{document = "某县发〔2024〕1号", provision = "附件第1项"}]

[[negative]]
number = 2
name = "婚姻状况证明"
overrides = "national.negative.8"
route = "由居民据实提供结婚证、离婚证等予以证明（某某县）"
citations = [{document = "某县发〔2024〕1号", provision = "附件第2项"}]
"""


def county(make_plugin, jid=JID, catalog=COUNTY_CATALOG, title=COUNTY_TITLE, short="某某县负面清单", extra=""):
    make_plugin(jid.replace("-", "_"), {"jurisdiction.toml": COUNTY_TOML.format(jid=jid, title=title, short=short)
                                        + extra, "catalog.toml": catalog}, jid=jid)
    from sealdesk.core.engine.plugins import Registry

    return Registry()


@pytest.fixture(autouse=True)
def _keep_the_default_registry(monkeypatch):
    """A process-wide registry built while a county of this module is installed would hold it for
    the tests that follow: whatever these tests build is dropped afterwards."""
    from sealdesk.core.engine import plugins

    monkeypatch.setattr(plugins, "_default", plugins._default)


@pytest.fixture
def reg(make_plugin):
    r = county(make_plugin)
    assert not [e for e in r.errors if JID in str(e)], r.errors
    return r


def decide(reg, query, purpose=""):
    from sealdesk.core.engine.model import Request
    from sealdesk.core.engine.protocol import decide as run

    return run(reg.view(JID, ON), Request(query, purpose))


# -- explanations and the decision's item ---------------------------------------------------------
def test_explanations_name_the_list_of_each_item(reg):
    own = decide(reg, "学生社会实践证明")
    assert own.outcome.value == "refuse"
    assert "名称解析：“学生社会实践证明”即某某县负面清单第1项“学生社会实践证明”" in own.explanation
    national = decide(reg, "亲属关系证明")
    assert "名称解析：“亲属关系证明”即负面清单第1项“亲属关系证明”" in national.explanation
    assert not any("某某县" in line for line in national.explanation)
    # never a bare 负面清单第1项 for the county's item
    assert not any("负面清单第1项“学生社会实践证明”" in line.replace("某某县负面清单", "")
                   for line in own.explanation)


def test_the_decision_json_item_says_whose_list_and_keeps_its_keys(reg):
    import json

    own, national = decide(reg, "学生社会实践证明"), decide(reg, "无犯罪记录证明")
    assert own.to_json()["item"] == {
        "id": f"{JID}.negative.1", "name": "学生社会实践证明", "list": "negative", "number": 1,
        "list_jurisdiction": JID, "list_title": COUNTY_TITLE, "list_short": "某某县负面清单"}
    item = national.to_json()["item"]
    assert (item["list"], item["number"], item["list_jurisdiction"], item["list_title"], item["list_short"]) == (
        "negative", 5, "national", NATIONAL_TITLE, "负面清单")
    for d in (own, national):  # the batch serializer says the same
        assert json.loads(d.to_json_text()) == d.to_json()


def test_an_overriding_item_keeps_the_number_and_list_of_the_item_it_replaces(reg):
    view = reg.view(JID, ON)
    it = view.by_id[f"{JID}.negative.2"]
    assert "national.negative.8" not in view.by_id
    assert (it.number, it.list_jurisdiction, it.list_title, it.list_short) == (8, "national", NATIONAL_TITLE, "负面清单")
    d = decide(reg, "婚姻状况证明")
    assert d.item.id == f"{JID}.negative.2" and d.route == "由居民据实提供结婚证、离婚证等予以证明（某某县）"
    assert d.to_json()["item"]["number"] == 8 and d.to_json()["item"]["list_jurisdiction"] == "national"
    assert "名称解析：“婚姻状况证明”即负面清单第8项“婚姻状况证明”" in d.explanation
    # its inherited names follow it (分居证明 is an alias of the national item 8)
    assert decide(reg, "分居证明").item.id == f"{JID}.negative.2"
    # and the county's own list holds only its own item: no 第2项 appears anywhere
    own = [x for x in view.items if x.list_jurisdiction == JID]
    assert [(x.number, x.name) for x in own] == [(1, "学生社会实践证明")]


def test_view_order_groups_items_by_list_national_first(reg):
    view = reg.view(JID, ON)
    negative = [(x.list_short, x.number) for x in view.items if x.list == "negative"]
    assert negative == [("负面清单", n) for n in range(1, 21)] + [("某某县负面清单", 1)]


# -- sealdesk items -------------------------------------------------------------------------------
def test_items_output_groups_by_list(reg, capsys, monkeypatch):
    import json

    from sealdesk.core.cli.main import main
    from sealdesk.core.engine import plugins

    monkeypatch.setattr(plugins, "_default", reg)
    capsys.readouterr()
    assert main(["items", "-j", JID, "--on", ON.isoformat()]) == 0
    out = capsys.readouterr().out.splitlines()
    heads = [i for i, line in enumerate(out) if "《" in line and "共" in line]
    assert [out[i] for i in heads] == [f"负面清单：《{NATIONAL_TITLE}》，共20项", f"某某县负面清单：《{COUNTY_TITLE}》，共1项"]
    national, own = out[heads[0]:heads[1]], out[heads[1]:]
    assert any(line.strip().startswith("1. 亲属关系证明") for line in national)
    assert any(line.strip().startswith("8. 婚姻状况证明") for line in national)  # the override, in place of 8
    assert [line.strip() for line in own[1:] if line.strip()[:1].isdigit()] == ["1. 学生社会实践证明"]

    assert main(["items", "-j", JID, "--on", ON.isoformat(), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {(r["list_jurisdiction"], r["number"]): r for r in doc["negative"]}
    assert rows[(JID, 1)]["name"] == "学生社会实践证明" and rows[(JID, 1)]["list_title"] == COUNTY_TITLE
    assert rows[("national", 8)]["id"] == f"{JID}.negative.2" and rows[("national", 8)]["overrides"] == "national.negative.8"
    assert rows[("national", 1)]["name"] == "亲属关系证明"


# -- the refusal notice ---------------------------------------------------------------------------
@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")
def test_refusal_notice_names_the_county_list_by_its_title(reg, tmp_path):
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.register.community import demo_community, save_community

    home = tmp_path / "home"
    save_community(demo_community(home, JID))
    desk = Desk(home, registry=reg)

    def refusal(query):
        entry = desk.request(query, resident_name="张三", resident_id=VALID_IDS[0], as_login="clerk")["entry"]
        out = tmp_path / f"{entry}.pdf"
        out.write_bytes(base64.b64decode(desk.paper("refusal", entry, as_login="clerk")["pdf"]))
        text = subprocess.run(["pdftotext", "-enc", "UTF-8", str(out), "-"], capture_output=True, text=True,
                              check=True).stdout
        return "".join(text.split())

    own = refusal("学生社会实践证明")
    assert f"该证明属于《{COUNTY_TITLE}》第1项“学生社会实践证明”" in own
    assert NATIONAL_TITLE not in own and "《不应由基层群众性自治组织出具证明事项清单》" not in own
    national = refusal("无犯罪记录证明")
    assert f"该证明属于《{NATIONAL_TITLE}》第5项“无犯罪记录证明”" in national
    overriding = refusal("婚姻状况证明")
    assert f"该证明属于《{NATIONAL_TITLE}》第8项“婚姻状况证明”" in overriding


def test_refusal_of_a_decision_recorded_without_list_names_the_list_from_the_view(reg):
    """A decision registered before items carried their list: its item is looked up in the view."""
    from sealdesk.core.papers.content import list_of

    view = reg.view(JID, ON)
    old = {"id": f"{JID}.negative.1", "name": "学生社会实践证明", "list": "negative", "number": 1}
    assert list_of(view, old) == (COUNTY_TITLE, "某某县负面清单")
    gone = {"id": "nowhere.negative.1", "name": "某证明", "list": "negative", "number": 1}
    assert list_of(view, gone)[0] == "不应由基层群众性自治组织出具证明事项清单"


# -- the public notice ----------------------------------------------------------------------------
def test_notice_rows_do_not_repeat_a_number(reg):
    from sealdesk.core.papers.reports import numbered

    rows = numbered(x for x in reg.view(JID, ON).items if x.list == "negative")
    assert [n for n, _, _ in rows] == list(range(1, 22))
    assert rows[-1][1] == "某某县负面清单第1项" and rows[-1][2].name == "学生社会实践证明"
    assert all(where == "" for _, where, _ in rows[:20])
    # a view whose lists do not clash keeps the list numbers (Chongqing: 1-20 national, 21-30 its own);
    # this registry, not the process-wide one, which must not be built while the county is installed
    cq = numbered(x for x in reg.view("chongqing", ON).items if x.list == "negative")
    assert [n for n, _, _ in cq] == list(range(1, 31)) and not any(w for _, w, _ in cq)


# -- the lists screen -----------------------------------------------------------------------------
async def test_lists_screen_shows_each_items_list(reg, tmp_path):
    from textual.widgets import DataTable

    from sealdesk.core.register.community import demo_community, save_community
    from sealdesk.tui.app import SealdeskApp
    from sealdesk.tui.session import Session

    home = tmp_path / "tui"
    save_community(demo_community(home, JID, reg.jurisdictions[JID].name))
    app = SealdeskApp(Session(home, as_login="clerk", registry=reg))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        rows = [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]
        assert ["负面清单", "1", "亲属关系证明"] in rows and ["某某县负面清单", "1", "学生社会实践证明"] in rows
        assert ["负面清单", "8", "婚姻状况证明"] in rows
        assert not any(r[0] in ("负面", "保留") for r in rows)


# -- defaults and load errors ---------------------------------------------------------------------
def test_default_titles_name_the_jurisdiction(make_plugin):
    from sealdesk.core.engine.plugins import Registry

    make_plugin("plain_district", {"catalog.toml": CATALOG_TOML}, jid="plain-district")
    it = Registry().view("plain-district", ON).by_id["plain-district.negative.1"]
    assert it.list_title == "测试区不应由基层群众性自治组织出具证明事项补充清单"
    assert it.display == "测试区负面清单第1项“测试专用证明”"


def test_a_list_named_like_an_inherited_one_is_a_load_error(make_plugin):
    r = county(make_plugin, jid="county-clash", short="负面清单")
    errs = [str(e) for e in r.errors if "county-clash" in str(e)]
    assert errs and "short name '负面清单'" in errs[0] and "national" in errs[0]
    assert "county-clash" not in r.ids()


def test_lists_fields_are_checked(make_plugin):
    r = county(make_plugin, jid="county-typo", extra='retained_shrt = "某某县保留清单"\n')
    errs = [str(e) for e in r.errors if "county-typo" in str(e)]
    assert errs and "unknown field 'retained_shrt'" in errs[0]


def test_an_override_of_an_unknown_id_quotes_it_and_suggests_near_ids(make_plugin):
    r = county(make_plugin, jid="county-bad-ref", catalog=COUNTY_CATALOG.replace("national.negative.8", "national.negativ.8"))
    errs = [str(e) for e in r.errors if "county-bad-ref" in str(e)]
    assert errs, r.errors
    msg = next(e for e in errs if "overrides" in e)
    assert "'national.negativ.8'" in msg and "did you mean 'national.negative.8'" in msg


def test_a_carve_out_of_an_unknown_id_quotes_it_and_suggests_near_ids(make_plugin):
    catalog = COUNTY_CATALOG + """
[[retained]]
number = 1
name = "学生实习证明"
restriction = {text = "仅用于学校实习", purposes = ["实习"]}
carves_out = [{item = "county-carve.negative.11"}]
citations = [{document = "某县发〔2024〕1号", provision = "附件二第1项"}]
"""
    r = county(make_plugin, jid="county-carve", catalog=catalog)
    msg = next(str(e) for e in r.errors if "carves out" in str(e))
    assert "'county-carve.negative.11'" in msg and "did you mean 'county-carve.negative.1'" in msg


def test_two_overrides_of_one_item_are_a_load_error(make_plugin):
    catalog = COUNTY_CATALOG + """
[[negative]]
number = 3
name = "单身证明"
overrides = "national.negative.8"
route = "由居民据实提供"
citations = [{document = "某县发〔2024〕1号", provision = "附件第3项"}]
"""
    r = county(make_plugin, jid="county-twice", catalog=catalog)
    msg = next(str(e) for e in r.errors if "already replaces" in str(e))
    assert "county-twice.negative.3" in msg and "county-twice.negative.2" in msg
