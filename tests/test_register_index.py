"""The derived index of matters (schema 3): matter numbers as clerks count them, lists, filters and
searches answered by the index and checked against the records by ``verify``."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from sealdesk.core.desk.counter import Desk
from sealdesk.core.register.store import SCHEMA_VERSION, Register
from sealdesk.core.register.workflow import STATUS

from conftest import VALID_IDS
from test_register import fill, reg_path, sql, verify

@pytest.fixture(params=["sqlite", "postgresql"])
def register_backend(request):
    """The index's contract holds in the register file and in a county's PostgreSQL register."""
    return request.param


FILE_ONLY = pytest.mark.parametrize("register_backend", ["sqlite"])  # the file's own schema migration

PROPERTY = ("居民财产证明", "--fact", "party_requires", "--fact", "within_duties", "--fact", "verifiable")


def owner_register(cli):
    """The register opened with its owner's rights (PostgreSQL: the derived tables are the owner's)."""
    if cli.backend == "postgresql":
        from sealdesk.core.register.postgres import PgRegister

        return PgRegister(cli.owner_url, community="幸福社区居民委员会")
    return Register(reg_path(cli))


def request(cli, *argv, name="张三", rid=VALID_IDS[0], extra=()):
    return cli.json("request", *argv, "--resident-name", name, "--resident-id", rid, *extra, "--as", "clerk")


def test_matters_are_numbered_1_2_3_not_by_record(demo):
    cli = demo()
    fill(cli, 3)  # records 1..10: three stamped matters (1, 4, 7) and a refusal (10)
    rows = cli.json("register", "list", "--limit", "0")
    assert [r["entry"] for r in rows] == [4, 3, 2, 1]
    assert [r["record"] for r in rows] == [10, 7, 4, 1]
    show = cli.json("register", "show", "2")
    assert show["entry"] == 2 and show["record"] == 4 and show["resident_name"] == "居民乙"
    assert [(r["entry"], r["record"], r["kind"]) for r in show["records"]] == [(2, 5, "approve"), (2, 6, "stamp")]
    code, out, _ = cli("register", "show", "2")
    assert code == 0 and out.startswith("登记号 2 ")
    d = request(cli, "无犯罪记录证明")
    assert d["entry"] == 5
    # Commands address matters by their number; the void record is named by its record number.
    code, out, _ = cli("void", "2", "--reason", "姓名登记错误", "--as", "director")
    assert code == 0 and "登记号 2，作废记录 12" in out
    assert cli.json("register", "show", "2")["status"] == "voided"


def test_a_refusal_notice_carries_the_matter_number(demo, tmp_path):
    cli = demo()
    fill(cli, 1)  # matter 1 (records 1-3), refusal: matter 2, record 4
    printed = cli.json("paper", "refusal", "2", "-o", str(tmp_path / "r.pdf"), "--as", "clerk")
    assert printed["entry"] == 2 and printed["record"] == 5
    assert cli.json("paper", "verify", str(tmp_path / "r.pdf"))["entry"] == 2
    desk = Desk(cli.home)
    from sealdesk.core.papers import content as P

    matter = desk.matter(2)
    assert matter.number == 2 and matter.entry.seq == 4
    assert P.matter_fields(matter, desk.community, desk.view(), dt.date.today())["entry"] == 2
    desk.close()


def _brute(desk: Desk, status=None, search=""):
    """What the list must answer: every matter read in full, filtered in Python, newest first."""
    keys = ("query", "item_name", "resident_name", "purpose", "requester")
    rows = [s for s in desk.export()
            if (not status or s["status"] == status) and (not search or any(search in str(s[k] or "") for k in keys))]
    return [s["entry"] for s in reversed(rows)]


@pytest.mark.parametrize("jurisdiction", ["national", "chongqing-yubei"])
def test_status_filter_and_search_answer_as_a_full_scan_would(demo, jurisdiction):
    cli = demo(jurisdiction)
    names = ["张三", "李四", "王小明", "张三丰", "欧阳娜娜", "李"]
    for i, name in enumerate(names):
        d = request(cli, *PROPERTY, name=name, rid=VALID_IDS[i % len(VALID_IDS)],
                    extra=("--purpose", "办理公证" if i % 2 else "应聘", "--requester", "某公司"))
        e = str(d["entry"])
        if d["outcome"] == "refuse":
            continue
        if i >= 1:
            cli("approve", e, "--as", "director")
        if i >= 2:
            cli("stamp", e, "--as", "keeper")
        if i == 3 and jurisdiction == "chongqing-yubei":
            cli("file", e, "--as", "director")
        if i == 4:
            cli("void", e, "--reason", "错", "--as", "director")
    request(cli, "无犯罪记录证明", name="张四")
    desk = Desk(cli.home)
    for status in (None, *STATUS):
        for search in ("", "张", "张三", "张三丰", "三丰", "李", "居民", "财产证明", "公证", "某公司", "欧阳娜娜",
                       "无", "犯罪记录", "丰张", "x", "证明居民"):
            want = _brute(desk, status, search)
            got = [r["entry"] for r in desk.list(status=status, limit=None, search=search)]
            assert got == want, (status, search)
            assert [r["entry"] for r in desk.list(status=status, limit=2, search=search)] == want[:2]
    assert [r["entry"] for r in desk.list(search="张")] == [7, 4, 1]
    desk.close()


def test_verify_rebuilds_the_index_and_names_the_first_matter_that_differs(demo):
    cli = demo()
    fill(cli, 3)
    sql(cli, "UPDATE matters SET state = 'voided' WHERE seq = 7")
    code, r = verify(cli)
    assert code == 1 and r["first_bad_entry"] == 7 and "登记号 3" in r["problem"], r
    with owner_register(cli) as reg:
        reg.reindex()
        assert reg.verify().ok
    sql(cli, "DELETE FROM grams WHERE seq = 4 AND gram = '乙'")
    code, r = verify(cli)
    assert code == 1 and r["first_bad_entry"] == 4 and "登记号 2" in r["problem"] and "搜索" in r["problem"], r
    with owner_register(cli) as reg:
        reg.reindex()
    sql(cli, "UPDATE matters SET number = 9 WHERE seq = 10")
    code, r = verify(cli)
    assert code == 1 and r["first_bad_entry"] == 10 and "登记号 4" in r["problem"], r


def test_a_foreign_writer_keeps_the_matters_index(demo):
    # The triggers maintain ``matters`` in the inserting transaction, whoever inserts.
    from test_workflow import forge

    cli = demo()
    fill(cli, 1)
    d = request(cli, *PROPERTY)
    cli("approve", str(d["entry"]), "--as", "director")
    forge(cli, ref=5, serial=2)  # a stamp of matter 3 (record 5), written without sealdesk
    code, r = verify(cli)
    assert code == 0 and r["ok"], r
    assert cli.json("register", "show", "3")["status"] == "stamped"


@FILE_ONLY
def test_register_of_schema_2_gains_the_index_and_numbers(demo):
    cli = demo()
    fill(cli, 3)
    path = reg_path(cli)
    want = cli.json("register", "list", "--limit", "0")
    db = sqlite3.connect(path)
    for stmt in ("DROP TRIGGER matters_add", "DROP TRIGGER matters_act", "DROP TABLE matters", "DROP TABLE grams",
                 "PRAGMA user_version = 2"):
        db.execute(stmt)
    db.commit()
    db.close()
    assert cli.json("register", "list", "--limit", "0") == want
    with Register(path) as reg:
        assert reg.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 4
        assert reg.verify().ok
        assert reg.conn.execute("SELECT number FROM matters ORDER BY seq").fetchall() == [(1,), (2,), (3,), (4,)]
    assert [r["entry"] for r in Desk(cli.home).list(search="居民乙")] == [2]


def test_inventory_reads_only_its_period(demo):
    cli = demo()
    fill(cli, 2)
    desk = Desk(cli.home)
    day = desk.show(1)["at"][:10]
    assert [m.number for m in desk.matters((day, day))] == [1, 2, 3]
    assert list(desk.matters(("2000-01-01", "2000-12-31"))) == []
    assert [m.number for m in desk.matters(chunk=1)] == [1, 2, 3]
    desk.close()


def test_inventory_from_the_index_is_the_inventory_of_every_matter(demo):
    from sealdesk.core.papers import content as P
    from sealdesk.core.papers import reports as R

    cli = demo()
    for i, (purpose, requester) in enumerate([("应聘", "某公司"), ("公证", ""), ("应聘", "某公司"), ("", "银行"),
                                              ("应聘", "某公司"), ("公证", "")]):
        d = request(cli, *PROPERTY, rid=VALID_IDS[i % len(VALID_IDS)], extra=("--purpose", purpose,
                                                                           "--requester", requester))
        if i == 2:
            cli("void", str(d["entry"]), "--reason", "错", "--as", "director")
    request(cli, "无犯罪记录证明", extra=("--purpose", "应聘"))
    request(cli, "亲属关系证明", extra=("--purpose", "公证"))
    desk = Desk(cli.home)
    today = dt.date.today()
    start = today.replace(month=1, day=1)
    view = desk.view()
    tpl = P.template("inventory", view, desk.registry)
    full = R.inventory(desk.matters(), desk.community, view, tpl, start, today, "王小红", today)
    counts, firsts = desk._inventory_index(start, today)
    indexed = R.inventory(firsts, desk.community, view, tpl, start, today, "王小红", today, counts)
    assert indexed == full and len(full.blocks[2].extra["rows"]) >= 4
    assert sum(counts.values()) == 7
    desk.close()


def test_search_and_verify_with_characters_beyond_the_basic_plane(demo):
    cli = demo()
    request(cli, *PROPERTY, name="王𠮷")
    request(cli, *PROPERTY, name="𠮷祥")
    desk = Desk(cli.home)
    assert [r["entry"] for r in desk.list(search="𠮷")] == [2, 1]
    assert [r["entry"] for r in desk.list(search="王𠮷")] == [1]
    assert [r["entry"] for r in desk.list(search="𠮷祥")] == [2]
    assert desk.verify()["ok"]
    desk.close()
