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

* with ``--scale N``: only the queries of issue 14 on N matters (list, search, status filter,
  export, half-year inventory), each with its time and the peak memory of the process that ran
  it, beside a bare SQLite query over the same records measured in the same run.

    .venv/bin/python bench/register_bench.py --scale 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import resource
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
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国红梅玉兰志文春燕海燕小红俊峰丹丹鹏飞淑珍宇航子涵"


def resident_name(i: int) -> str:
    """A varied name of two or three characters (a search for one must not match every matter)."""
    s, g = SURNAMES[i % len(SURNAMES)], GIVEN[(i // len(SURNAMES)) % len(GIVEN)]
    extra = GIVEN[(i // 7) % len(GIVEN)] if i % 3 else ""
    return s + g + extra


def build(path: Path, records: int, body: dict, vary: bool = False) -> float:
    """Write a valid chain fast: one transaction per 50,000 rows (a bench fixture, not the append path).

    With ``vary`` each matter has its own resident name and every tenth is left awaiting approval
    (the director's daily filter finds something).
    """
    Register(path, create=True).close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    t = time.perf_counter()
    prev = GENESIS
    mbody = body_text(body)
    pending = False
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
            if vary:
                n = seq // 3
                mbody = body_text({**body, "resident": {"name": resident_name(n), "id": ID}})
                pending = n % 10 == 0
            row = (seq, "matter", None, at, "clerk", "clerk", "幸福社区居民委员会", None, None, "issue_transitional",
                   "national.negative.17", "negative", "transitional", mbody, prev)
        elif pending:  # left awaiting approval: a paper record of the matter instead
            row = (seq, "paper", matter, at, "clerk", "clerk", "幸福社区居民委员会", None, None, None, None,
                   None, None, body_text({"paper": "none", "sha256": f"{seq:064x}", "name": "王小红"}), prev)
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


# -- queries at scale ---------------------------------------------------------------------
def _measured(fn) -> tuple[float, float, object]:
    """Run ``fn`` in a forked child: (seconds, the child's peak RSS in MB, a short result)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            t = time.perf_counter()
            out = fn()
            secs = time.perf_counter() - t
            rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            os.write(w, json.dumps([secs, rss, out], ensure_ascii=False, default=str).encode())
        except BaseException as exc:  # noqa: BLE001 - reported by the parent
            os.write(w, json.dumps([0, 0, f"error: {exc!r}"]).encode())
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    secs, rss, out = json.loads(data)
    return secs, rss, out


def scale(n: int, tmp: Path, body: dict) -> None:
    """Build ``n`` matters; time list, search, status filter, export and inventory with their memory,
    each beside a bare SQLite query over the same records (no index of ours, no JSON decoding)."""
    import csv

    from sealdesk.core.cli.register import EXPORT_FIELDS

    home = tmp / "scale"
    save_community(demo_community(home, "national"))
    path = home / "register.sqlite3"
    secs = build(path, n * 3, body, vary=True)
    t = time.perf_counter()
    with Register(path) as reg:
        reg.reindex()  # the bench fixture bypasses append: build the search index as a migration would
    print(f"built {n:,} matters ({n * 3:,} records) in {secs:.1f}s, index {time.perf_counter() - t:.1f}s, "
          f"{path.stat().st_size / 1e6:.0f} MB")
    name = resident_name(12345)
    surname = name[0]
    start, end = dt.date(2026, 1, 1), dt.date(2026, 6, 30)
    period = (start.isoformat(), (end + dt.timedelta(days=1)).isoformat())

    def bare(sql, params=()):
        def run():
            con = sqlite3.connect(path)
            rows = con.execute(sql, params).fetchall()
            return len(rows)
        return run

    def bare_export():
        con = sqlite3.connect(path)
        out = open(os.devnull, "w", newline="")
        w = csv.writer(out)
        k = 0
        for row in con.execute("SELECT * FROM records WHERE kind = 'matter' ORDER BY seq"):
            w.writerow(row)
            k += 1
        return k

    def ours(fn):
        def run():
            desk = Desk(home)
            desk.view()  # the rules are loaded before the clock starts in the CLI's case too
            return fn(desk)
        return run

    def export(desk):
        out = open(os.devnull, "w", newline="")
        w = csv.writer(out)
        k = 0
        for rec in desk.export():
            w.writerow(["；".join(rec[f]) if f == "citations" else rec[f] for f in EXPORT_FIELDS])
            k += 1
        return k

    def inventory(desk):
        r = desk.report("inventory", start, end, as_login="clerk")
        return f"{r['bytes']:,} bytes of PDF"

    matter = "SELECT * FROM records WHERE kind = 'matter'"
    cases = [
        ("list, first page", ours(lambda d: len(d.list())), bare(matter + " ORDER BY seq DESC LIMIT 50")),
        (f"search {name} (a name)", ours(lambda d: len(d.list(search=name))),
         bare(matter + " AND body LIKE ? ORDER BY seq DESC LIMIT 50", (f"%{name}%",))),
        (f"search {surname} (one character)", ours(lambda d: len(d.list(search=surname))),
         bare(matter + " AND body LIKE ? ORDER BY seq DESC LIMIT 50", (f"%{surname}%",))),
        ("status awaiting_approval", ours(lambda d: len(d.list(status="awaiting_approval"))),
         bare(matter + " AND NOT EXISTS (SELECT 1 FROM records a WHERE a.ref = records.seq AND a.kind = 'approve')"
              " ORDER BY seq DESC LIMIT 50")),
        ("export --format csv", ours(export), bare_export),
        ("inventory 2026-01-01..06-30", ours(inventory),
         bare(matter + " AND at >= ? AND at < ?", period)),
    ]
    idle = _measured(lambda: 0)[1]
    print(f"time and peak RSS of the process that ran each (an idle fork of this bench: {idle:.0f} MB)")
    print(f"{'':34}{'register':>22}{'bare SQLite':>24}")
    for label, fn, base in cases:
        s1, m1, o1 = _measured(fn)
        s2, m2, o2 = _measured(base)
        print(f"{label:34}{s1:8.3f}s {m1:6.0f} MB ({o1}){'':2}{s2:8.3f}s {m2:6.0f} MB ({o2})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--appends", type=int, default=4000)
    p.add_argument("--records", type=int, default=1_000_000)
    p.add_argument("--scale", type=int, metavar="N",
                   help="only the query bench: build N matters and time list, search, status filter, export "
                        "and inventory (time and peak memory) beside bare SQLite queries")
    args = p.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # figures appear as they are measured, also in a log file
    if args.scale:
        with tempfile.TemporaryDirectory(prefix="sealdesk-bench-", dir=os.environ.get("BENCH_DIR")) as d:
            scale(args.scale, Path(d), matter_body())
        return 0
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
        t = time.perf_counter()
        with Register(path) as reg:
            reg.reindex()  # the fixture bypasses append: build the search index as a migration would
        size = path.stat().st_size
        print(f"built {args.records:,} records in {secs:.1f}s, index {time.perf_counter() - t:.1f}s "
              f"({size / 1e6:.0f} MB)")
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
