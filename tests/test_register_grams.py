"""Search's n-grams written in batches (schema 4; one row per batch and n-gram since schema 5):
``grams`` holds the matters up to record ``meta.grams``; the newer ones are matched from their texts. Search answers as a full scan would on
both sides of that mark, and ``verify`` checks the n-grams and the mark itself."""

from __future__ import annotations

import sqlite3

import pytest

from sealdesk.core.desk.counter import Desk
from sealdesk.core.register import store
from sealdesk.core.register.store import SCHEMA_VERSION, Register

from conftest import VALID_IDS
from test_register import reg_path, sql, verify

PROPERTY = ("居民财产证明", "--fact", "party_requires", "--fact", "within_duties", "--fact", "verifiable")
NAMES = ["张三", "李四", "王小明", "张三丰", "欧阳娜娜", "李", "赵明", "王明明", "孙小红", "周三"]


@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(store, "_GRAMS_EVERY", 4)


def _fill(cli) -> None:
    for i, name in enumerate(NAMES):
        d = cli.json("request", *PROPERTY, "--resident-name", name, "--resident-id", VALID_IDS[i % len(VALID_IDS)],
                     "--purpose", "办理公证" if i % 2 else "应聘", "--requester", "某公司" if i % 3 else "银行",
                     "--as", "clerk")
        if i % 4:
            cli("approve", str(d["entry"]), "--as", "director")


def _indexed(cli) -> tuple[int, int]:
    with Register(reg_path(cli)) as reg:
        return int(reg.meta()["grams"]), reg.head()[0]


def _brute(desk: Desk, status=None, search=""):
    keys = ("query", "item_name", "resident_name", "purpose", "requester")
    rows = [s for s in desk.export()
            if (not status or s["status"] == status) and (not search or any(search in str(s[k] or "") for k in keys))]
    return [s["entry"] for s in reversed(rows)]


def test_search_answers_as_a_full_scan_on_both_sides_of_the_mark(demo, small_batches):
    cli = demo()
    _fill(cli)
    indexed, head = _indexed(cli)
    assert 0 < indexed < head  # some matters are in ``grams``, the newest are not yet
    desk = Desk(cli.home)
    for search in ["张", "三", "张三", "王明", "小", "李", "欧阳娜娜", "三丰", "公证", "某公司", "银行", "应聘",
                   "居民财产", "财产证明", "不存在", "明明", "周"]:
        for status in (None, "awaiting_approval", "awaiting_stamp"):
            want = _brute(desk, status, search)
            assert [r["entry"] for r in desk.list(status=status, limit=0, search=search)] == want, (search, status)
            assert [r["entry"] for r in desk.list(status=status, limit=2, search=search)] == want[:2], (search, status)
    desk.close()
    assert verify(cli)[1]["ok"]


def test_appends_add_the_ngrams_in_batches(tmp_path, small_batches):
    with Register(tmp_path / "r.sqlite3", create=True) as reg:
        for i in range(9):
            reg.append("matter", actor="clerk", role="clerk", community="幸福社区居民委员会",
                       body={"decision": {"query": f"证明{i}"}, "resident": {"name": NAMES[i]}}, outcome="issue")
            grams = {int(seq) for (seqs,) in reg.conn.execute("SELECT seqs FROM grams") for seq in seqs.split()}
            batches = [b for (b,) in reg.conn.execute("SELECT DISTINCT batch FROM grams ORDER BY batch")]
            mark = int(reg.meta()["grams"])
            assert mark == (i + 1) // 4 * 4 and grams == set(range(1, mark + 1)), i
            assert batches == list(range(4, mark + 1, 4)), i  # one batch per four records
        assert reg.verify().ok
        reg.reindex()  # the rebuild indexes every matter
        assert int(reg.meta()["grams"]) == 9 and reg.verify().ok


def test_verify_checks_the_ngrams_and_their_mark(demo, small_batches):
    cli = demo()
    _fill(cli)
    while True:  # a matter after the mark
        indexed, head = _indexed(cli)
        with Register(reg_path(cli)) as reg:
            last_matter = reg.conn.execute("SELECT max(seq) FROM matters").fetchone()[0]
        if last_matter > indexed:
            break
        cli.json("request", *PROPERTY, "--resident-name", "张一", "--resident-id", VALID_IDS[0], "--as", "clerk")
    first = 1  # matter 1, record 1: in ``grams``
    assert first <= indexed < last_matter
    cases = [
        ("DELETE FROM grams WHERE gram = '张' AND batch = (SELECT min(batch) FROM grams)", first),
        (f"UPDATE grams SET seqs = seqs || ' {last_matter}' WHERE gram = '三' AND batch = (SELECT min(batch) FROM grams)",
         last_matter),  # a matter listed in a batch it is not in
        ("UPDATE grams SET seqs = 'x' WHERE gram = '张' AND batch = (SELECT min(batch) FROM grams)", first),
        (f"INSERT INTO grams VALUES ({last_matter}, '张', '{last_matter}')", last_matter),  # a matter after the mark
        (f"UPDATE meta SET value = '{head + 1}' WHERE key = 'grams'", None),
        ("UPDATE meta SET value = 'x' WHERE key = 'grams'", None),
        ("DELETE FROM meta WHERE key = 'grams'", None),
        ("UPDATE meta SET value = '0' WHERE key = 'grams'", first),  # n-grams of matters the mark says are not in
        (f"UPDATE meta SET value = '{head}' WHERE key = 'grams'", None),  # matters the mark says are in, without
    ]
    for statement, bad in cases:
        with Register(reg_path(cli)) as reg:  # back to the appends' state: n-grams up to the mark
            reg.reindex()
            reg.conn.execute("UPDATE meta SET value = ? WHERE key = 'grams'", (str(indexed),))
            reg.conn.execute("DELETE FROM grams WHERE batch > ?", (indexed,))
            assert reg.verify().ok
        sql(cli, statement)
        code, r = verify(cli)
        assert code == 1 and "搜索索引" in r["problem"], (statement, r)
        if bad is not None:
            assert r["first_bad_entry"] == bad, (statement, r)
    with Register(reg_path(cli)) as reg:
        reg.reindex()
        assert reg.verify().ok


def test_a_schema_3_register_is_taken_as_fully_indexed(demo):
    cli = demo()
    _fill(cli)
    path = reg_path(cli)
    with Register(path) as reg:
        reg.reindex()  # what a schema-3 register holds: every matter's n-grams
    db = sqlite3.connect(path)
    db.execute("DELETE FROM meta WHERE key = 'grams'")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    desk = Desk(cli.home)
    assert [r["entry"] for r in desk.list(search="张三")] == _brute(desk, None, "张三") == [4, 1]
    desk.close()
    with Register(path) as reg:
        assert reg.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert int(reg.meta()["grams"]) == reg.head()[0]
        assert reg.verify().ok


def test_a_damaged_mark_stops_search_not_the_register(tmp_path, small_batches):
    with Register(tmp_path / "r.sqlite3", create=True) as reg:
        reg.conn.execute("DELETE FROM meta WHERE key = 'grams'")
        for i in range(6):  # across a batch: the appends record, the n-grams wait for a repair
            reg.append("matter", actor="clerk", role="clerk", community="幸福社区居民委员会",
                       body={"decision": {"query": "居住证明"}, "resident": {"name": NAMES[i]}}, outcome="issue")
        assert reg.count() == 6 and reg.conn.execute("SELECT count(*) FROM grams").fetchone()[0] == 0
        with pytest.raises(store.RegisterError, match="搜索索引已损坏"):
            reg.find(None, "张", None)
        assert [seq for seq, _ in reg.find(None, "", None)] == [6, 5, 4, 3, 2, 1]  # lists need no n-grams
        r = reg.verify()
        assert not r.ok and "grams" in r.problem.message
        reg.reindex()
        assert reg.verify().ok and [seq for seq, _ in reg.find(None, "张", None)] == [4, 1]


def test_a_mark_edited_back_does_not_stop_the_register(tmp_path, small_batches):
    with Register(tmp_path / "r.sqlite3", create=True) as reg:
        for i in range(4):
            reg.append("matter", actor="clerk", role="clerk", community="幸福社区居民委员会",
                       body={"decision": {"query": "居住证明"}, "resident": {"name": NAMES[i]}}, outcome="issue")
        reg.conn.execute("UPDATE meta SET value = '0' WHERE key = 'grams'")  # their n-grams are in already
        for i in range(4):  # the next batch meets them again
            reg.append("matter", actor="clerk", role="clerk", community="幸福社区居民委员会",
                       body={"decision": {"query": "居住证明"}, "resident": {"name": NAMES[4 + i]}}, outcome="issue")
        assert int(reg.meta()["grams"]) == 8 and reg.verify().ok


def test_a_matter_without_searchable_text_needs_no_ngrams(tmp_path, small_batches):
    with Register(tmp_path / "r.sqlite3", create=True) as reg:
        for i in range(6):  # the first batch (records 1-4) holds the named ones only
            body = {"x": i} if i % 2 == 0 else {"decision": {"query": "居住证明"}, "resident": {"name": NAMES[i]}}
            reg.append("matter", actor="clerk", role="clerk", community="幸福社区居民委员会", body=body, outcome="issue")
        assert reg.verify().ok
        reg.reindex()
        assert int(reg.meta()["grams"]) == 6 and reg.verify().ok
        assert [seq for seq, _ in reg.find(None, "居住", None)] == [6, 4, 2]
