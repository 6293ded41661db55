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
        if i == 3:  # the first matters into search's n-grams (a rebuild), the later ones after the mark
            with owner_register(cli) as reg:
                reg.reindex()
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
    # A row per batch and n-gram: matter 4 taken out of the list of 乙's.
    sql(cli, "UPDATE grams SET seqs = trim(replace(' ' || seqs || ' ', ' 4 ', ' ')) WHERE gram = '乙'")
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
        assert reg.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        assert reg.verify().ok
        assert reg.conn.execute("SELECT number FROM matters ORDER BY seq").fetchall() == [(1,), (2,), (3,), (4,)]
    assert [r["entry"] for r in Desk(cli.home).list(search="居民乙")] == [2]


@FILE_ONLY
def test_register_of_schema_4_trades_its_day_index_for_runs(demo):
    # Schema 5: the index on matters(day) became the ``runs`` table; reports by period still find
    # every matter, and verify checks the new table.
    cli = demo()
    fill(cli, 2)
    path = reg_path(cli)
    day = cli.json("register", "show", "1")["at"][:10]
    db = sqlite3.connect(path)
    for stmt in ("DROP TABLE runs", "CREATE INDEX matters_day ON matters(day, seq)", "PRAGMA user_version = 4"):
        db.execute(stmt)
    db.commit()
    db.close()
    with Register(path) as reg:
        assert reg.conn.execute("PRAGMA user_version").fetchone()[0] == 5
        assert reg.conn.execute("SELECT seq, day FROM runs").fetchall() == [(1, day)]
        assert not reg.conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'matters_day'").fetchone()
        assert reg.verify().ok
        assert sum(reg.inventory(day, day)[0].values()) == 3
    db = sqlite3.connect(path)
    db.execute("UPDATE runs SET day = '2001-01-01'")
    db.commit()
    db.close()
    code, r = verify(cli)
    assert code == 1 and "runs" in r["problem"] and r["first_bad_entry"] == 1, r


def _append_at(reg: Register, at: str, name: str) -> None:
    """A matter written with its own time, as by a server whose clock was wrong: a valid chain link."""
    from sealdesk.core.register.store import GENESIS, body_text, record_hash

    last = reg.conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone() or (0, GENESIS)
    body = body_text({"decision": {"query": "居住证明", "item": {"name": "居住证明"}}, "resident": {"name": name}})
    row = (last[0] + 1, "matter", None, at, "clerk", "clerk", "幸福社区居民委员会", None, None, "issue", "x",
           "retained", "", body, last[1])
    h = record_hash(row)
    with reg._transaction() as c:
        c.execute("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (*row, h))
        c.execute("UPDATE meta SET value = ? WHERE key = 'head'", (f"{row[0]} {h}",))


def test_a_period_finds_matters_written_after_the_clock_was_put_back(tmp_path):
    # A server whose clock ran a day ahead, then was corrected: the period's matters are in two
    # separate runs of records, and a report of that period must count both.
    reg = Register(tmp_path / "r.sqlite3", create=True)
    days = ["2026-03-01", "2026-03-01", "2026-03-03", "2026-03-02", "2026-03-02", "2026-03-03", "2026-04-01",
            "2026-03-02"]
    for i, day in enumerate(days):
        _append_at(reg, f"{day}T09:00:{i:02d}+08:00", f"居民{i}")
    assert reg.verify().ok
    for start, end in (("2026-03-02", "2026-03-02"), ("2026-03-02", "2026-03-03"), ("2026-03-01", "2026-12-31"),
                       ("2026-03-04", "2026-03-31"), ("2025-01-01", "2026-02-28")):
        want = [i + 1 for i, d in enumerate(days) if start <= d <= end]
        assert sum(reg.inventory(start, end)[0].values()) == len(want), (start, end)
        assert [seq for seq, _ in reg.matter_rows(0, 100, (start, end))] == want, (start, end)
        paged, after = [], 0
        while page := reg.matter_rows(after, 1, (start, end)):
            paged += [seq for seq, _ in page]
            after = page[-1][0]
        assert paged == want, (start, end)
    reg.close()


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
    groups = R.inventory_groups(desk.matters(), start, today)
    assert desk._inventory_index(start, today) == groups  # the index's grouped counts: those of every matter
    full = R.inventory(groups, desk.community, view, tpl, start, today, "王小红", today)
    indexed = R.inventory(desk._inventory_index(start, today), desk.community, view, tpl, start, today, "王小红", today)
    table = next(b for b in full.blocks if b.kind == "table")
    assert indexed == full and len(table.extra["rows"]) == 3  # one row per certificate
    assert sum(g.total for g in groups) == 7
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


def test_matter_numbers_are_found_in_a_register_of_interleaved_communities(tmp_path):
    # Numbers are found by bisecting the record numbers (no index on them): with two communities'
    # matters and their actions interleaved, each number of each community, and no other.
    import random

    rnd = random.Random(7)
    reg = Register(tmp_path / "r.sqlite3", create=True)
    want: dict[str, list[int]] = {"甲社区": [], "乙社区": []}
    for _ in range(300):
        community = rnd.choice(["甲社区", "甲社区", "乙社区"])
        rec = reg.append("matter", actor="clerk", role="clerk", community=community,
                         body={"decision": {"query": "居住证明"}}, outcome="issue")
        want[community].append(rec.seq)
        for _ in range(rnd.randrange(3)):
            reg.append("paper", actor="clerk", role="clerk", community=community, body={"sha256": "0"}, ref=rec.seq)
    for community, seqs in want.items():
        for number, seq in enumerate(seqs, 1):
            assert reg.matter_seq(number, community) == seq, (community, number)
        assert reg.matter_seq(len(seqs) + 1, community) is None
        assert reg.matter_seq(0, community) is None and reg.matter_seq(-3, community) is None
        assert reg.matter_seq(10 ** 30, community) is None
    assert reg.matter_seq(1, "丙社区") is None  # two communities: a third name is none of them
    assert reg.verify().ok
    reg.close()


@FILE_ONLY
def test_a_renamed_community_still_finds_its_matters_by_number(demo):
    # (A county's database keys chains by the community's name: there a rename is a new community.)
    import dataclasses

    from sealdesk.core.register.community import load_community, save_community

    cli = demo()
    fill(cli, 2)
    c = load_community(cli.home)
    save_community(dataclasses.replace(c, name="幸福社区居民委员会（更名）"), overwrite=True)
    assert cli.json("register", "show", "2")["entry"] == 2
