"""Benchmark: the seal register's durable appends, verify and audit.

Every figure is printed beside a baseline measured in the same run on the same
disk:

* appends: ``Register.append`` (flock, BEGIN IMMEDIATE, serial, chain hash,
  three indexes, head update, COMMIT with WAL + synchronous=FULL) against a bare
  SQLite ``INSERT`` + ``COMMIT`` of a row of the same size with the same
  durability: one writer, then 8 writer processes. Target: at most 1.5× the
  bare cost.
* verify and audit over 1,000,000 records (a third matters with real decision
  bodies, a third approvals, a third stamps), against a bare full scan of the
  same table. Targets: verify under 20 s, audit under 30 s.

    .venv/bin/python bench/register_bench.py [--appends 3000] [--records 1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.desk.counter import Desk
from sealdesk.core.register.store import GENESIS, Register, body_text, record_hash

ID = "11010519491231002X"


def matter_body() -> dict:
    from sealdesk.core import decide

    d = decide("shaanxi", "居民财产证明", facts={"party_requires": True, "within_duties": True, "verifiable": True})
    return {"decision": d.to_json(), "resident": {"name": "张三", "id": ID}, "clerk_name": "王小红"}


# -- appends ------------------------------------------------------------------------------
def _bare_writer(path: str, n: int, payload: str) -> float:
    con = sqlite3.connect(path, isolation_level=None, timeout=60)
    con.execute("PRAGMA busy_timeout = 60000")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    t = time.perf_counter()
    for _ in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO t (body) VALUES (?)", (payload,))
        con.execute("COMMIT")
    dt_ = time.perf_counter() - t
    con.close()
    return dt_


def _register_writer(path: str, n: int, body: dict) -> float:
    reg = Register(path)
    t = time.perf_counter()
    for i in range(n):
        reg.append("matter", actor="clerk", role="clerk", community="幸福社区居民委员会", body=body,
                   outcome="issue_transitional", item="national.negative.17", list_="negative",
                   grounds="transitional")
    dt_ = time.perf_counter() - t
    reg.close()
    return dt_


def _run(args):
    kind, path, n, payload = args
    return _bare_writer(path, n, payload) if kind == "bare" else _register_writer(path, n, payload)


def appends(tmp: Path, n: int, writers: int, body: dict, rounds: int = 4) -> tuple[float, float]:
    """Appends per second, ours and bare. The two alternate in rounds so that drift in the disk's
    fsync latency (large on a shared VM) falls on both alike."""
    payload = body_text(body)
    bare = tmp / f"bare-{writers}.sqlite3"
    con = sqlite3.connect(bare)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)")
    con.close()
    ours = tmp / f"register-{writers}.sqlite3"
    Register(ours, create=True).close()
    per = max(1, n // writers // rounds)
    spent = {"bare": 0.0, "register": 0.0}
    ctx = mp.get_context("fork")
    with ctx.Pool(writers) as pool:
        for _ in range(rounds):
            for kind, path, pl in (("bare", bare, payload), ("register", ours, body)):
                t = time.perf_counter()
                if writers == 1:
                    _run((kind, str(path), per, pl))
                else:
                    pool.map(_run, [(kind, str(path), per, pl)] * writers)
                spent[kind] += time.perf_counter() - t
    total = per * writers * rounds
    with Register(ours) as reg:
        assert reg.verify().ok and reg.count() == total
    return total / spent["register"], total / spent["bare"]


# -- a million records --------------------------------------------------------------------
def build(path: Path, records: int, body: dict) -> float:
    """Write a valid chain fast: one transaction per 50,000 rows (a bench fixture, not the append path)."""
    Register(path, create=True).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    t = time.perf_counter()
    prev = GENESIS
    mbody = body_text(body)
    abody = body_text({"name": "李建国", "requirements_confirmed": ["verification"], "note": ""})
    day0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    rows = []
    serial = 0
    seq = 0
    matter = 0
    con.execute("BEGIN")
    while seq < records:
        seq += 1
        at = (day0 + dt.timedelta(seconds=seq * 20)).isoformat()
        phase = seq % 3
        if phase == 1:
            matter = seq
            row = (seq, "matter", None, at, "clerk", "clerk", "幸福社区居民委员会", None, None, "issue_transitional",
                   "national.negative.17", "negative", "transitional", mbody, prev)
        elif phase == 2:
            row = (seq, "approve", matter, at, "director", "director", "幸福社区居民委员会", None, None, None, None,
                   None, None, abody, prev)
        else:
            serial += 1
            sbody = body_text({"name": "赵敏", "valid_until": "2027-01-01"})
            row = (seq, "stamp", matter, at, "keeper", "keeper", "幸福社区居民委员会", 2026, serial, None, None,
                   None, None, sbody, prev)
        prev = record_hash(row)
        rows.append((*row, prev))
        if len(rows) == 50000:
            con.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            rows.clear()
    if rows:
        con.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.execute("UPDATE meta SET value = ? WHERE key = 'head'", (f"{seq} {prev}",))
    con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    return time.perf_counter() - t


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--appends", type=int, default=4000)
    p.add_argument("--records", type=int, default=1_000_000)
    args = p.parse_args(argv)
    body = matter_body()
    print(f"matter record body: {len(body_text(body).encode())} bytes of JSON")
    with tempfile.TemporaryDirectory(prefix="sealdesk-bench-", dir=os.environ.get("BENCH_DIR")) as d:
        tmp = Path(d)
        for writers in (1, 8):
            ours, bare = appends(tmp, args.appends, writers, body)
            print(f"durable appends, {writers} writer{'s' if writers > 1 else ''}: register {ours:,.0f}/s, "
                  f"bare SQLite insert+commit {bare:,.0f}/s -> cost ratio {bare / ours:.2f}x (target <= 1.5x)")

        home = tmp / "home"
        save_community(demo_community(home, "national"))
        path = home / "register.sqlite3"
        secs = build(path, args.records, body)
        size = path.stat().st_size
        print(f"built {args.records:,} records in {secs:.1f}s ({size / 1e6:.0f} MB)")
        con = sqlite3.connect(path)
        t = time.perf_counter()
        n = sum(1 for _ in con.execute("SELECT * FROM records ORDER BY seq"))
        scan = time.perf_counter() - t
        con.close()
        print(f"baseline: bare full scan of {n:,} rows {scan:.2f}s")
        desk = Desk(home)
        t = time.perf_counter()
        v = desk.verify()
        tv = time.perf_counter() - t
        assert v["ok"] and v["records"] == args.records, v
        print(f"register verify: {tv:.2f}s ({tv / scan:.1f}x the bare scan; target < 20 s)")
        t = time.perf_counter()
        a = desk.audit()
        ta = time.perf_counter() - t
        assert a["ok"] and a["stamped"] == args.records // 3, {k: a[k] for k in ("ok", "violations", "stamped")}
        print(f"audit: {ta:.2f}s ({ta / scan:.1f}x the bare scan; target < 30 s), "
              f"{a['matters']:,} matters, {a['violations']} violations")
        desk.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
