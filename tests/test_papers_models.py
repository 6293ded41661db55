"""Papers follow their models (issue 17, the content half): the certificate of 附件4 (the committee's
name as its title, a number per year, the legal basis it is issued on), the refusal notice (its own
closing paragraph and a receipt line), the consultation record (attendance, the vote, a table the
participants sign), the inventory of 附件1 (one row per certificate, with counts, summed up by the
register's index) and the retained list of 附件3 (涉及办理事项名称 from the seed, one basis a line,
the date the list applies from).

Papers are read back with pdftotext where the printed words are the point; block lists where the
structure is (which block kind a line is, what a table cell holds).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
import time

import pytest

from conftest import SEEDS, VALID_IDS

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")

PROPERTY = {"party_requires": True, "within_duties": True, "verifiable": True}
QINGHAI_DAY = "2026-01-10"  # while 青民发〔2021〕103号 was in force (it lapsed on 2026-08-03)


def text(pdf_path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True).stdout


def flat(s: str) -> str:
    return re.sub(r"\s+", "", s)


def desk_of(cli, registry):
    from sealdesk.core.desk.counter import Desk

    return Desk(cli.home, registry=registry)


def ask(desk, query, purpose="", requester="", facts=None, on=None, rid=VALID_IDS[0]) -> dict:
    return desk.request(query, resident_name="王五", resident_id=rid, purpose=purpose, requester=requester,
                        facts=facts or {}, on=dt.date.fromisoformat(on) if on else None, as_login="clerk")


def stamped(desk, *args, **kw) -> int:
    entry = ask(desk, *args, **kw)["entry"]
    desk.approve(entry, as_login="director")
    desk.stamp(entry, as_login="keeper")
    return entry


def built(desk, paper: str, entry: int, content: str = "属实"):
    """The paper's blocks as the desk builds them (the view of the decision's date)."""
    from sealdesk.core.papers import content as P

    matter = desk.matter(entry)
    d = matter.entry.data["decision"]
    view = desk.registry.view(d["jurisdiction"], dt.date.fromisoformat(d["date"]))
    tpl = P.template(paper, view, desk.registry)
    if paper == "certificate":
        return P.certificate(matter, desk.community, view, tpl, P.certificate_content(content))
    return P.BUILDERS[paper](matter, desk.community, view, tpl)


def blocks(paper, kind: str):
    return [b for b in paper.blocks if b.kind == kind]


# -- the certificate (附件4) ----------------------------------------------------------------------------
def test_certificate_is_titled_numbered_and_based_as_the_model(demo, registry, tmp_path):
    # Qinghai's own example row: 农民身份证明 on its statute, printed as 附件4 asks.
    cli = demo("qinghai")
    desk = desk_of(cli, registry)
    entry = stamped(desk, "农民身份证明", "农民专业合作社设立登记", "县市场监督管理局", PROPERTY, on=QINGHAI_DAY)
    desk.close()
    out = tmp_path / "c.pdf"
    cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", "兹证明该居民系本村农民。特此证明。",
             "--as", "clerk")
    f = flat(text(out))
    stamp = next(r for r in cli.json("register", "show", str(entry))["records"] if r["kind"] == "stamp")
    year, serial = stamp["year"], stamp["serial"]
    # (b) xxxxxx 基层群众性自治组织证明: the committee's name; (c) the number carries the year
    assert f.count("幸福社区居民委员会证明") == 2  # the title of each copy
    assert f.count(f"青海省示范县示范街道幸福社区证明〔{year}〕第{serial}号") == 2
    # (a) the statute and article of the retained item, not the rule text after it nor the list's row
    assert "依据《农民专业合作社登记管理条例》（国务院令第498号）第十五条，经居民委员会调查了解" in f
    assert "成员身份证明为农业人口户口簿" not in f and "附件3示例" not in f
    # (d) the facts only, inside the model's sentence
    assert "兹证明该居民系本村农民，用于办理农民专业合作社设立登记事务。" in f and "。，" not in f
    verified = cli.json("paper", "verify", str(out))
    assert verified["found"] and verified["serial_text"] == f"证明〔{year}〕第{serial}号"


def test_certificate_content_never_ends_in_a_stop_before_the_comma(demo, tmp_path):
    cli = demo("shaanxi")
    entry = cli.json("request", "居民财产证明", "--resident-name", "王五", "--resident-id", VALID_IDS[0], "--purpose",
                     "办理贷款", "--requester", "某银行", "--fact", "party_requires", "--fact", "within_duties",
                     "--fact", "verifiable", "--as", "clerk")["entry"]
    cli.json("approve", str(entry), "--as", "director")
    cli.json("stamp", str(entry), "--as", "keeper")
    out = tmp_path / "c.pdf"
    cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", "该居民在本社区居住满五年。",
             "--as", "clerk")
    f = flat(text(out))
    assert "兹证明该居民在本社区居住满五年，用于办理贷款事务。" in f
    assert "满五年。，用于办理" not in f and "。，" not in f


def test_a_chongqing_retained_basis_drops_the_lists_numbering_and_stops(demo, registry):
    cli = demo("chongqing")
    desk = desk_of(cli, registry)
    entry = stamped(desk, "政治考核证明", "", "县征兵办公室", PROPERTY)  # the requesting unit settles the use
    para = blocks(built(desk, "certificate", entry), "para")[0].text
    desk.close()
    assert "依据《征兵工作条例》第二条、《征兵政治考核工作规定》第二十条，经居民委员会调查了解" in para
    assert "1.《" not in para and "。、" not in para and "渝民发" not in para and "附件1第10项" not in para


def test_basis_reference_keeps_the_statute_and_its_article():
    from sealdesk.core.engine.jurisdiction import basis_reference

    cases = {
        "《农民专业合作社登记管理条例》（国务院令第498号）第十五条农民专业合作社的成员为农民的，成员身份证明为农业人口户口簿。":
            "《农民专业合作社登记管理条例》（国务院令第498号）第十五条",
        "1.《重庆市城乡规划条例》第四十八条、四十九条。": "《重庆市城乡规划条例》第四十八条、四十九条",
        "1.《重庆市法律援助条例》第二十六条、第十七条。": "《重庆市法律援助条例》第二十六条、第十七条",
        "2.《财务部国家税务总局关于土地增值税一些具体问题规定的通知》（财税字〔1995〕48号）。":
            "《财务部国家税务总局关于土地增值税一些具体问题规定的通知》（财税字〔1995〕48号）",
        "4.《关于改进和规范基层群众性自治组织出具证明工作的指导意见》（民发〔2020〕20号）附件第1项例外规定。":
            "《关于改进和规范基层群众性自治组织出具证明工作的指导意见》（民发〔2020〕20号）附件第1项例外规定",
        "2.《重庆市实施〈中华人民共和国农村土地承包法〉办法》第五十条。": "《重庆市实施〈中华人民共和国农村土地承包法〉办法》第五十条",
    }
    for line, want in cases.items():
        assert basis_reference(line) == want


@pytest.mark.parametrize("jid, query, purpose, facts, want, never", [
    # the transitional clause (and Shaanxi's adoption of it), not 附件第17项 that lists the item
    ("shaanxi", "居民财产证明", "办理贷款", PROPERTY, ["民发〔2020〕20号 三", "陕西省民政厅等六部门通知（2021年2月23日） 三"],
     "民发〔2020〕20号 附件第17项"),
    # the entry's exception is the ground: it is cited with the exception, never as the bare entry
    ("national", "居民财产证明", "申请法律援助", PROPERTY, ["民发〔2020〕20号 附件第17项（法律援助情况除外）"],
     "民发〔2020〕20号 附件第17项"),
    # Chongqing's negative item 27 (渝府办发〔2018〕56号's 取消清单) issued in the transition
    ("chongqing", "居住证明", "子女入学", PROPERTY, ["民发〔2020〕20号 三"], "渝民发〔2020〕27号 《重庆市不应由基层群众性自治组织出具证明事项清单（第一批）》第27项"),
    # an unlisted public-interest matter, after consultation
    ("national", "小区公共设施改造同意证明", "", {**PROPERTY, "public_interest": True, "basis_provided": True},
     ["民发〔2020〕20号 二"], "民发〔2020〕20号 三"),
])
def test_certificate_basis_is_its_ground_never_the_negative_list_entry(demo, registry, jid, query, purpose, facts,
                                                                      want, never):
    from sealdesk.core.papers.content import certificate_basis

    cli = demo(jid)
    desk = desk_of(cli, registry)
    entry = stamped(desk, query, purpose, "", facts)
    d = desk.matter(entry).entry.data["decision"]
    basis = certificate_basis(d, registry.view(jid, dt.date.fromisoformat(d["date"])))
    para = blocks(built(desk, "certificate", entry), "para")[0].text
    desk.close()
    assert basis == want, basis
    assert f"依据{'、'.join(want)}，经" in para
    assert never not in basis


# -- the refusal notice -----------------------------------------------------------------------------
def test_refusal_notice_closes_apart_and_has_a_receipt_line(demo, registry, tmp_path):
    cli = demo("national")
    desk = desk_of(cli, registry)
    entry = ask(desk, "居民财产证明", facts={**PROPERTY, "verifiable": False})["entry"]  # two grounds
    paper = built(desk, "refusal", entry)
    desk.close()
    kinds = [b.kind for b in paper.blocks]
    closing, receipt = blocks(paper, "closing"), blocks(paper, "receipt")
    assert [b.text for b in closing] == ["特此告知。"] and "para" not in kinds[kinds.index("closing"):]
    assert kinds.index("closing") == kinds.index("seal") - 1  # its own paragraph, after the citations
    assert kinds[-1] == "receipt" and kinds.index("receipt") > kinds.index("seal")  # at the foot, under the seal
    assert receipt[0].text.startswith("签收人（签字）：") and "签收日期：" in receipt[0].text
    headings = [i for i, k in enumerate(kinds) if k == "heading"]
    grounds = paper.blocks[headings[0] + 1: headings[1]]  # under 不予出具的理由: numbered items, which hang
    assert [(b.kind, b.text[:3]) for b in grounds] == [("item", "1. "), ("item", "2. ")]
    out = tmp_path / "r.pdf"
    cli.json("paper", "refusal", str(entry), "-o", str(out), "--as", "clerk")
    t = flat(text(out))
    assert "特此告知。" in t and "签收人（签字）：" in t and "签收日期：" in t
    assert t.index("核验码") < t.index("签收人（签字）")  # the receipt comes after the seal


# -- the consultation record ------------------------------------------------------------------------
def test_consultation_record_has_attendance_the_vote_and_a_signature_table(demo, registry, tmp_path):
    cli = demo("national")
    desk = desk_of(cli, registry)
    unlisted = ask(desk, "小区公共设施改造同意证明", facts={**PROPERTY, "public_interest": True,
                                                          "basis_provided": True})["entry"]
    worded = ask(desk, "单身证明", facts={**PROPERTY, "public_interest": True})  # a resident's word for item 8
    assert worded["decision"]["outcome"] == "issue_after_consultation"
    paper = built(desk, "consultation", unlisted)
    other = built(desk, "consultation", worded["entry"])
    desk.close()
    rows = {label: value for label, value, _ in blocks(paper, "fields")[0].extra["rows"]}
    assert rows["参加人数"] == "应到____人，实到____人"
    assert rows["表决情况"] == "同意____人，反对____人，弃权____人"
    # the item's name only where it is not the words asked
    assert rows["协商事项"] == "出具“小区公共设施改造同意证明”，用途：________，索要单位：________"
    assert blocks(other, "fields")[0].extra["rows"][0][1].startswith("出具“单身证明”（婚姻状况证明），用途：")
    (table,) = blocks(paper, "table")
    columns = table.extra["columns"]
    assert [c["title"] for c in columns] == ["序号", "姓名", "身份（居民代表、党员、利害关系人等）", "签字"]
    assert sum(c["width"] for c in columns) == 156  # the portrait text width (GB/T 9704)
    assert table.extra["rows"] == [[i, "", "", ""] for i in range(1, 9)]
    out = tmp_path / "c.pdf"
    cli.json("paper", "consultation", str(unlisted), "-o", str(out), "--as", "clerk")
    t = text(out)
    f = flat(t)
    assert "应到____人，实到____人" in f and "同意____人，反对____人，弃权____人" in f
    assert f"参加人员签字表（幸福社区议字第{unlisted}号）" in f and "居民代表" in f
    assert "（小区公共设施改造同意证明）" not in f
    assert t.count("\f") == 2  # the record, then the participants' sheet on its own page


# -- the inventory (附件1) ------------------------------------------------------------------------------
# Chongqing: a negative item asked with many purposes, a retained one asked by its requesting unit
# alone, a resident's word, an unlisted certificate, a voided matter.
def fill_year(desk) -> dict:
    purposes = ["办理贷款"] * 10 + ["应聘"] * 7 + ["申请公租房"] * 5 + ["子女入学"] * 3 + ["办理医保"] * 2 + \
               ["出国探亲", "办理营业执照", "领取养老金"]
    asked = {"居民财产证明": 0, "政治考核证明": 0, "婚姻状况证明": 0, "农民身份证明": 0}
    for i, purpose in enumerate(purposes):  # 30: 20 issued in the transition, 10 refused
        ask(desk, "居民财产证明" if i % 2 else "收入证明", purpose, ["某银行", "县民政局", ""][i % 3],
            PROPERTY if i % 3 else {}, rid=VALID_IDS[i % 4])
        asked["居民财产证明"] += 1
    for i in range(12):  # retained, issued: no purpose typed
        ask(desk, "政治考核证明", "", "县征兵办公室", PROPERTY)
        asked["政治考核证明"] += 1
    for i in range(20):  # 5 issued in the transition (verified), 15 refused (not verified)
        ask(desk, "单身证明", "", "", {} if i % 4 else PROPERTY)
        asked["婚姻状况证明"] += 1
    for i in range(8):
        ask(desk, "农民身份证明", "农民专业合作社设立登记", "县市场监督管理局")
        asked["农民身份证明"] += 1
    voided = ask(desk, "政治考核证明", "", "县征兵办公室", PROPERTY)["entry"]
    desk.void(voided, "录入错误", as_login="director")
    return asked


def inventory_rows(desk, lists_on=None):
    """This year's inventory as the desk builds it, with the lists in force on ``lists_on`` (today)."""
    from sealdesk.core.papers import content as P
    from sealdesk.core.papers import reports as R

    today = dt.date.today()
    view = desk.registry.view(desk.community.jurisdiction, lists_on or today)
    tpl = P.template("inventory", view, desk.registry)
    start = today.replace(month=1, day=1)
    paper = R.inventory(desk._inventory_index(start, today), desk.community, view, tpl, start, today, "王小红", today,
                        desk._items())
    return paper, {r[1].split("\n")[0]: r for r in blocks(paper, "table")[0].extra["rows"]}


@pytest.mark.parametrize("register_backend", ["sqlite", "postgresql"])
def test_inventory_has_one_row_per_certificate_with_its_counts(demo, registry, tmp_path, register_backend):
    from sealdesk.core.papers import reports as R

    cli = demo("chongqing")
    desk = desk_of(cli, registry)
    asked = fill_year(desk)
    today = dt.date.today()
    start = today.replace(month=1, day=1)
    # both backends count what every matter, read one by one, says
    assert desk._inventory_index(start, today) == R.inventory_groups(desk.matters(), start, today)
    paper, rows = inventory_rows(desk)
    desk.close()
    assert list(rows) == list(asked)  # one row each, in the order first asked for
    assert [r[0] for r in rows.values()] == [1, 2, 3, 4]
    cols = [c["title"] for c in blocks(paper, "table")[0].extra["columns"]]
    assert len(cols) == 8 and all(len(r) == 8 for r in rows.values())

    prop = rows["居民财产证明"]  # a negative item: what residents typed, the list entry, counts
    assert prop[1] == "居民财产证明\n登记30件：据实出具20件，不予出具10件"
    assert prop[2] == "办理贷款、应聘、申请公租房、子女入学、办理医保等8项"  # most frequent first
    assert prop[3] == "列入不应出具清单第17项（民发〔2020〕20号 附件第17项）"
    assert (prop[4], prop[5]) == ("否", "—")  # 证明用途 no longer repeats the purposes typed
    assert prop[6] == "某银行、县民政局"
    assert prop[7] == "是20件，未核实10件"

    kept = rows["政治考核证明"]  # a retained item: its list's fields where nothing was typed
    assert kept[1] == "政治考核证明\n登记12件：出具12件"  # the voided matter does not count
    assert kept[2] == "征兵政治考核"  # the entry's matters (plugins/chongqing/catalog.toml)
    assert kept[3] == "1.《征兵工作条例》第二条。\n2.《征兵政治考核工作规定》第二十条。"
    assert (kept[4], kept[5], kept[6], kept[7]) == ("是", "对体格检査合格的应征公民进行政治审查。", "县征兵办公室", "是")

    worded = rows["婚姻状况证明"]  # asked as 单身证明: the row is the item's
    assert worded[1].endswith("登记20件：据实出具5件，不予出具15件") and worded[7] == "是5件，未核实15件"
    unlisted = rows["农民身份证明"]  # not on Chongqing's lists: the decisions' own citations
    assert unlisted[3] == "民发〔2020〕20号 三；民发〔2020〕20号 二" and unlisted[4] == "否"
    assert unlisted[2] == "农民专业合作社设立登记" and unlisted[6] == "县市场监督管理局"

    assert blocks(paper, "attachment")[0].text == "附件1" and paper.blocks[0].kind == "attachment"
    unit = next(b.text for b in blocks(paper, "note") if b.text.startswith("填报单位"))
    assert unit == f"填报单位（盖章）：幸福社区居民委员会　　填表人：王小红　　填表日期：{today.year}年{today.month}月{today.day}日"
    assert any("统计期间登记70件：出具12件，据实出具25件，不予出具33件。" in b.text for b in blocks(paper, "note"))

    out = tmp_path / "i.pdf"
    cli.json("report", "inventory", "-o", str(out), "--as", "inspector")
    t = text(out)
    f = flat(t)
    assert t.count("\f") == 1  # 70 matters, four rows: one page (it was 14 of 5 rows each)
    assert "附件1" in f and "填报单位（盖章）：幸福社区居民委员会" in f and "登记30件" in f


def test_inventory_names_an_item_whose_list_has_lapsed(demo, registry):
    # Qinghai's 农民身份证明 was registered while its document was in force; after 2026-08-03 the
    # lists in force no longer hold it, and the inventory still gives its name, basis and use.
    cli = demo("qinghai")
    desk = desk_of(cli, registry)
    ask(desk, "农民身份证明", "农民专业合作社设立登记", "县市场监督管理局", PROPERTY, on=QINGHAI_DAY)
    lapsed = max(dt.date.today(), dt.date(2026, 8, 4))
    _, rows = inventory_rows(desk, lists_on=lapsed)
    desk.close()
    row = rows["农民身份证明"]
    assert "qinghai.retained.1" not in registry.view("qinghai", lapsed).by_id
    assert row[3].startswith("《农民专业合作社登记管理条例》（国务院令第498号）第十五条") and row[4] == "是"
    assert row[5] == "用于证明成员的农民身份。"


def test_inventory_of_ten_thousand_matters_is_counted_by_the_index_within_two_seconds(demo, registry, tmp_path,
                                                                                       monkeypatch):
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.register.store import Register

    cli = demo("chongqing")
    desk = desk_of(cli, registry)
    queries = ["居民财产证明", "无犯罪记录证明", "居住证明", "亲属关系证明", "单身证明", "政治考核证明", "独生子女证明"]
    purposes = ["办理贷款", "应聘", "办理社会救助", "子女入学", "征兵", "收养登记", "法律援助", "公证", "申请公租房"]
    for i in range(10_000):
        desk.request(queries[i % len(queries)], resident_name="王五", resident_id=VALID_IDS[i % 4],
                     purpose=purposes[(i * 7) % len(purposes)], requester=["某银行", "县民政局", ""][i % 3],
                     facts=PROPERTY if i % 3 else {}, as_login="clerk")
    desk.close()

    def never(*_a, **_k):
        raise AssertionError("the inventory read matters one by one")

    monkeypatch.setattr(Register, "records_at", never)  # what Desk._page reads matters with
    monkeypatch.setattr(Desk, "matters", never)
    out = tmp_path / "i.pdf"
    t0 = time.perf_counter()
    r = cli.json("report", "inventory", "-o", str(out), "--as", "inspector")
    took = time.perf_counter() - t0
    assert took <= 2.0, took
    t = text(out)
    assert "登记10000件" in flat(t) and t.count("\f") <= 3 and r["bytes"] < 200 * 1024


# -- the retained list (附件3) ----------------------------------------------------------------------------
def test_retained_list_has_matters_one_basis_a_line_and_the_date_it_applies_from(demo, registry, tmp_path):
    from sealdesk.core.papers import content as P
    from sealdesk.core.papers import reports as R
    from sealdesk.core.register.community import load_community

    cli = demo("chongqing")
    community = load_community(cli.home)
    today = dt.date.today()
    view = registry.view("chongqing", today)
    paper = R.retained(community, view, P.template("retained", view, registry), today)
    kept = [it for it in view.items if it.list == "retained"]
    rows = blocks(paper, "table")[0].extra["rows"]
    assert [r[2] for r in rows] == [it.matters for it in kept] and "—" not in [r[2] for r in rows]
    assert rows[0][2] == "国内公民收养登记" and rows[4][2] == "不动产登记和公证办理"
    assert rows[4][3] == "\n".join(kept[4].basis) and rows[4][3].count("\n") == 3  # one basis a line
    assert blocks(paper, "subtitle")[0].text == "适用日期：自渝民发〔2020〕27号施行之日起"  # the seeds give no date
    assert blocks(paper, "note")[-1].text == f"制表日期：{today.year}年{today.month}月{today.day}日"

    day = dt.date.fromisoformat(QINGHAI_DAY)
    qinghai = registry.view("qinghai", day)
    paper = R.retained(community, qinghai, P.template("retained", qinghai, registry), day)
    assert blocks(paper, "subtitle")[0].text == "适用日期：2021年9月3日至2026年8月3日"  # 青民发〔2021〕103号
    assert blocks(paper, "table")[0].extra["rows"][0][2] == "农民专业合作社设立登记、成员变更登记"

    out = tmp_path / "k.pdf"
    cli.json("report", "retained", "-o", str(out), "--as", "clerk")
    f = flat(text(out))
    assert "适用日期：自渝民发〔2020〕27号施行之日起" in f and f"制表日期：{today.year}年{today.month}月{today.day}日" in f
    for it in kept:
        assert flat(it.matters) in f


def seed_text(name: str) -> str:
    """A seed document's text; the test is skipped where the seeds are not beside the checkout (as
    tests/test_catalog_sources.py does: a clone elsewhere has no ../shared)."""
    path = SEEDS / name
    if not path.exists():
        pytest.skip(f"seed {path} not available")
    return path.read_text(encoding="utf-8")


def test_chongqing_matters_are_the_seeds_words():
    """涉及办理事项名称 is not a column of Chongqing's table: the words come from each entry's own row."""
    import tomllib

    from conftest import ROOT

    seed = flat(seed_text("004_8c137975a14580ff.txt"))
    catalog = tomllib.loads((ROOT / "plugins" / "chongqing" / "catalog.toml").read_text(encoding="utf-8"))
    for item in catalog["retained"]:
        assert item["matters"] and flat(item["matters"]) in seed
        own = flat(item["name"] + item["purpose"] + "".join(item["basis"]) + item["remark"])
        assert flat(item["matters"]) in own, item["number"]


def test_the_new_wording_traces_to_the_seed_or_is_the_templates_own():
    from sealdesk.core.papers.content import base_template

    seed = flat(seed_text("001_4b646400c9a9b90a.txt"))
    inventory = base_template("inventory")
    assert flat(inventory["attachment"]) in seed  # 附件 1
    assert "基层群众性自治组织证明" in seed and base_template("certificate")["title"] == "{committee}证明"
    # the columns of 附件1, in order, as the seed prints them
    assert flat("".join(c["title"] for c in inventory["columns"])) in seed


# -- the public notice -------------------------------------------------------------------------------
def test_notice_still_gives_the_other_names(registry):
    from sealdesk.core.papers import content as P
    from sealdesk.core.papers import reports as R
    from sealdesk.core.register.community import demo_community

    today = dt.date.today()
    view = registry.view("chongqing", today)
    paper = R.notice(demo_community("/tmp", "chongqing"), view, P.template("notice", view, registry), today)
    names = [r[1] for b in blocks(paper, "table") for r in b.extra["rows"]]
    assert any(n.startswith("婚姻状况证明\n又称：") and "单身证明" in n for n in names)


def test_inventory_groups_are_json_free_values():
    # What the report reads of a group are plain values (counted in SQL, compared across backends).
    from sealdesk.core.register.store import InventoryGroup, cite_labels, fold_inventory

    counts, groups = fold_inventory([
        ("outcome", "x.negative.1", "甲证明", "negative", "refuse", 2, 5),
        ("outcome", "x.negative.1", "甲证明", "negative", "issue_transitional", 1, 3),
        ("purpose", "x.negative.1", "甲证明", "negative", "应聘", 3, 3),
        ("verifiable", "x.negative.1", "甲证明", "negative", None, 2, 5),
        ("verifiable", "x.negative.1", "甲证明", "negative", "true", 1, 3),
        ("cites", "x.negative.1", "甲证明", "negative", json.dumps([{"document": "民发〔2020〕20号", "provision": "三"}]),
         3, 3),
    ])
    assert counts == {"refuse": 2, "issue_transitional": 1}
    (g,) = groups
    assert isinstance(g, InventoryGroup) and (g.first, g.total) == (3, 3)
    assert g.purposes == {"应聘": (3, 3)} and g.verifiable == {None: 2, True: 1}
    assert g.cites == {("民发〔2020〕20号 三",): (3, 3)} and cite_labels(None) == ()
