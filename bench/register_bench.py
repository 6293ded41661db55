"""Benchmark: the seal register's durable appends, verify and audit.

Every figure is printed beside a baseline measured in the same run on the same
disk:

* appends: ``Register.append`` of matters (flock, BEGIN IMMEDIATE, chain hash, the
  ``matters`` trigger and its indexes, head update, every 1,024th record the batch of
  search n-grams, COMMIT with WAL + synchronous=FULL) against a bare SQLite
  ``INSERT`` + ``COMMIT`` of the same row (the same 16 columns and bytes, but for the
  resident's name, a byte or three) into a table
  of the same columns without index or trigger, with the same durability (WAL,
  synchronous=FULL, one BEGIN IMMEDIATE … COMMIT per row, the default checkpoint):
  one writer, then 8 writer processes, in paired rounds (median of the rounds'
  ratios). Each matter has its own resident name, so the search n-grams are as
  varied as a real register's. Target: at most 1.5× the bare cost.
* the same appends with checkpoints on (``--checkpoint-every N``, default 4096; 0: off):
  the register service's own ``Checkpointer.once()`` (a full ``verify``, sign, write
  and fsync a file) in a thread of this process, as the service runs it — for one
  writer the process that appends, for 8 beside them — woken every N appends
  instead of every hour, each paired round against the bare baseline as above
  (the bare half starts once a checkpoint in progress has finished). Target: at
  most 1.5×. 4,096 appends is already far more often than the service's hourly checkpoint
  at any community's pace; at 256 the checkpointer never rests (docs/register.md has both).
  ``--checkpoint-snapshot``: each verify also inside ``service._snapshot`` (Register.verify
  reads one snapshot by itself since this bench found it did not).
* verify and audit over 1,000,000 records (a third matters with real decision
  bodies, a third approvals, a third stamps), against a bare full scan of the
  same table. Targets: verify under 20 s, audit under 30 s. Then a checkpoint of
  it (``sealdesk register checkpoint -o FILE``) and ``sealdesk register verify
  --checkpoint FILE``, each a fresh process, against the same scan. Target:
  under 20 s.

    .venv/bin/python bench/register_bench.py [--appends 8192] [--rounds 8] [--records 1000000]
        [--checkpoint-every 4096] [--checkpoint-snapshot]

  (``--records 0``: the appends only.)

* with ``--scale N``: only the queries of issue 14 on N matters (list, search, status filter,
  half-year inventory), each with its time and the peak memory of the process that ran it,
  beside a bare SQLite query over the same records measured in the same run; then
  ``sealdesk register export --format csv -o FILE`` against the sqlite3 shell's
  ``sqlite3 -csv`` of the same rows into a file on the same disk (``EXPORT_BASELINE``: one
  line per matter with every column of its matter record and of the records acting on it),
  in alternating rounds. Target: the export at most 2× that, in constant memory.

    .venv/bin/python bench/register_bench.py --scale 100000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import random
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.desk.counter import Desk
from sealdesk.core.register import store
from sealdesk.core.register.store import GENESIS, Register, body_text, record_hash

ID = "11010519491231002X"


def matter_body() -> dict:
    from sealdesk.core import decide

    d = decide("shaanxi", "居民财产证明", facts={"party_requires": True, "within_duties": True, "verifiable": True})
    return {"decision": d.to_json(), "resident": {"name": "张三", "id": ID}, "clerk_name": "王小红"}


# -- appends ------------------------------------------------------------------------------
MATTER = dict(actor="clerk", role="clerk", community="幸福社区居民委员会", outcome="issue_transitional",
              item="national.negative.17", list_="negative", grounds="transitional")
# The bare baseline's table: the columns of ``records`` as declared, without an index or trigger.
BARE_TABLE = ("CREATE TABLE records (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, ref INTEGER, at TEXT NOT NULL, "
              "actor TEXT NOT NULL, role TEXT NOT NULL, community TEXT NOT NULL, year INTEGER, serial INTEGER, "
              "outcome TEXT, item TEXT, list TEXT, grounds TEXT, body TEXT NOT NULL, prev TEXT NOT NULL, "
              "hash TEXT NOT NULL)")


def bare_row(body: dict) -> tuple:
    """The row ``append`` writes for a matter (without ``seq``, which the table numbers): the same
    columns and bytes, a real time, a previous hash and a hash of 64 hex digits each."""
    at = dt.datetime.now().astimezone().replace(microsecond=0).isoformat()
    row = (1, "matter", None, at, MATTER["actor"], MATTER["role"], MATTER["community"], None, None,
           MATTER["outcome"], MATTER["item"], MATTER["list_"], MATTER["grounds"], body_text(body), GENESIS)
    return (*row[1:], record_hash(row))


def _bare_writer(path: str, n: int, row: tuple) -> float:
    # The durability of the register: WAL, synchronous=FULL, one BEGIN IMMEDIATE … COMMIT per row.
    con = sqlite3.connect(path, isolation_level=None, timeout=60)
    con.execute("PRAGMA busy_timeout = 60000")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("PRAGMA synchronous = FULL")
    t = time.perf_counter()
    for _ in range(n):
        con.execute("BEGIN IMMEDIATE")
        con.execute("INSERT INTO records VALUES (NULL,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", row)
        con.execute("COMMIT")
    dt_ = time.perf_counter() - t
    con.close()
    return dt_


def _register_writer(path: str, n: int, body: dict) -> float:
    first = random.Random().randrange(1 << 30)  # each writer and round its own residents (seeded afresh: forks)
    bodies = [{**body, "resident": {"name": resident_name(first + i), "id": ID}} for i in range(n)]
    reg = Register(path)
    t = time.perf_counter()
    for b in bodies:
        reg.append("matter", body=b, **MATTER)
    dt_ = time.perf_counter() - t
    reg.close()
    return dt_


def _run(args):
    kind, path, n, payload = args
    return _bare_writer(path, n, payload) if kind == "bare" else _register_writer(path, n, payload)


class Checkpointing:
    """The register service's checkpoints during the appends: its ``Checkpointer.once()`` (a full
    ``Desk.verify``, then sign and write the checkpoint file with fsync, core/desk/service.py) in a
    thread of this process, as the service runs it in its own, woken every ``every`` appends (the head
    polled every 5 ms) instead of every ``--checkpoint-every`` minutes. Paused (a checkpoint in
    progress finished first) while the bare baseline runs. With ``snapshot`` each verify runs in one
    read transaction, as the service's ``verify`` request does (``service._snapshot``)."""

    def __init__(self, home: Path, every: int, snapshot: bool = False):
        import threading

        from sealdesk.core.desk.service import Checkpointer

        desk = Desk(home)
        registry = desk.registry
        desk.close()
        self.home, self.every, self.snapshot = home, every, snapshot
        self.checkpointer = Checkpointer(home, registry, home / "checkpoints", every=0)
        self.poll = Register(home / "register.sqlite3")
        self.at = 0  # the head when the last checkpoint was tried
        self.tried: list[float] = []  # seconds each once() took
        self.signed = 0
        self.appending = 0.0  # seconds of the register's halves of the rounds
        self.log = []
        self.allowed = threading.Event()
        self.stopped = threading.Event()
        self.busy = threading.Lock()
        self.thread = threading.Thread(target=self._loop, name="bench:checkpoints", daemon=True)

    def _once(self) -> None:
        import contextlib
        import io

        err = io.StringIO()
        t = time.perf_counter()
        with contextlib.redirect_stderr(err):  # once() reports a failure on stderr; counted here
            path = self.checkpointer.once()
        self.tried.append(time.perf_counter() - t)
        self.signed += path is not None
        if err.getvalue():
            self.log.append(err.getvalue().strip())

    def _loop(self) -> None:
        while not self.stopped.is_set():
            if not self.allowed.wait(0.05):
                continue
            with self.busy:
                if self.allowed.is_set():
                    seq = self.poll.head()[0]
                    if seq - self.at >= self.every:
                        self.at = seq
                        self._once()
            time.sleep(0.005)

    def start(self) -> None:
        if self.snapshot:
            from sealdesk.core.desk import service

            verify = self._verify = Desk.verify

            def snapshot_verify(desk, *a, **k):
                with service._snapshot(desk):
                    return verify(desk, *a, **k)
            Desk.verify = snapshot_verify
        self._once()  # the service signs one when it starts
        self.thread.start()

    def resume(self) -> None:
        self.allowed.set()

    def pause(self) -> None:
        self.allowed.clear()
        with self.busy:  # a checkpoint in progress finishes first
            pass

    def stop(self) -> None:
        self.pause()
        self.stopped.set()
        self.thread.join()
        self.poll.close()
        if self.snapshot:
            Desk.verify = self._verify

    def summary(self) -> str:
        failed = len(self.log)  # once() said why it signed nothing (else the register had not grown)
        alarm = (self.home / "register.alarm").exists()
        s = (f"{len(self.tried)} checkpoints tried (one at start), {self.signed} signed, "
             f"{statistics.median(self.tried) * 1000:.0f} ms each (median; longest "
             f"{max(self.tried) * 1000:.0f} ms), {sum(self.tried):.2f}s in all beside "
             f"{self.appending:.2f}s of appends")
        if failed:
            s += (f"; {failed} refused: verify failed while appends went on"
                  f"{', register.alarm raised' if alarm else ''} (first: {self.log[0] if self.log else '?'})")
        return s


def appends(tmp: Path, n: int, writers: int, body: dict, rounds: int = 8, checkpoint_every: int = 0,
            snapshot: bool = False) -> tuple[float, float, float, Checkpointing | None]:
    """(register appends/s, bare inserts/s, cost ratio, the checkpoints or None): medians over paired rounds.

    Each round times the same number of bare inserts and of appends back to back (which goes first
    alternates), so that drift in the disk's fsync latency and in the load of a shared machine falls
    on both alike; the ratio is the median of the rounds' ratios. With ``checkpoint_every`` the
    register is a community's (a home with its community.toml) and :class:`Checkpointing` runs
    during the appends.
    """
    bare = tmp / f"bare-{writers}{'-cp' if checkpoint_every else ''}.sqlite3"
    con = sqlite3.connect(bare)
    con.execute("PRAGMA journal_mode = WAL")
    con.execute(BARE_TABLE)
    con.close()
    checkpoints = None
    if checkpoint_every:
        home = tmp / f"home-cp-{writers}"
        save_community(demo_community(home, "national"))
        ours = home / "register.sqlite3"
    else:
        ours = tmp / f"register-{writers}.sqlite3"
    Register(ours, create=True).close()
    per = max(1, n // writers // rounds)
    payload = {"bare": (bare, bare_row(body)), "register": (ours, body)}
    spent: dict[str, list[float]] = {"bare": [], "register": []}
    ctx = mp.get_context("fork")
    with ctx.Pool(writers) as pool:
        if checkpoint_every:  # after the fork of the pool's workers: the thread stays in this process
            checkpoints = Checkpointing(home, checkpoint_every, snapshot)
            checkpoints.start()
        try:
            for r in range(rounds):
                for kind in (("bare", "register") if r % 2 == 0 else ("register", "bare")):
                    path, pl = payload[kind]
                    if checkpoints is not None and kind == "register":
                        checkpoints.resume()
                    elif checkpoints is not None:
                        checkpoints.pause()
                    t = time.perf_counter()
                    if writers == 1:
                        _run((kind, str(path), per, pl))
                    else:
                        pool.map(_run, [(kind, str(path), per, pl)] * writers)
                    spent[kind].append(time.perf_counter() - t)
        finally:
            if checkpoints is not None:
                checkpoints.stop()
                checkpoints.appending = sum(spent["register"])
    total = per * writers * rounds
    with Register(ours) as reg:
        assert reg.verify().ok and reg.count() == total
    each = per * writers
    ratio = statistics.median(o / b for o, b in zip(spent["register"], spent["bare"]))
    return (each / statistics.median(spent["register"]), each / statistics.median(spent["bare"]), ratio,
            checkpoints)


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


# The export's baseline: the sqlite3 shell writing, as CSV, one line per matter with every column of
# the matter record and of each record acting on it (approve, stamp, file, void; papers' bodies
# joined): the rows ``register export`` reads, without decoding a body or deriving a field.
EXPORT_BASELINE = (
    "SELECT m.*, a.*, s.*, f.*, v.*, (SELECT group_concat(p.body, ' ') FROM records p "
    "WHERE p.ref = m.seq AND p.kind = 'paper') AS papers FROM records m "
    "LEFT JOIN records a ON a.ref = m.seq AND a.kind = 'approve' "
    "LEFT JOIN records s ON s.ref = m.seq AND s.kind = 'stamp' "
    "LEFT JOIN records f ON f.ref = m.seq AND f.kind = 'file' "
    "LEFT JOIN records v ON v.ref = m.seq AND v.kind = 'void' WHERE m.kind = 'matter' ORDER BY m.seq")
# For comparison: the matter records alone (a third of the rows the export reads, no join).
EXPORT_MATTERS_ONLY = "SELECT * FROM records WHERE kind = 'matter' ORDER BY seq"


def _command(argv: list[str], out: Path, env: dict | None = None) -> tuple[float, float, int]:
    """Run a command with its standard output in ``out``: (seconds, its peak RSS in MB or NaN, bytes
    written). The peak RSS is GNU time's (a fork of this bench would count the bench's own pages)."""
    import shutil

    gnu_time = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    rss_file = out.with_suffix(".rss")
    wrapped = [gnu_time, "-f", "%M", "-o", str(rss_file), *argv] if gnu_time else argv
    t = time.perf_counter()
    with open(out, "wb") as f:
        subprocess.run(wrapped, stdout=f, check=True, env={**os.environ, **(env or {})})
    secs = time.perf_counter() - t
    try:
        rss = int(rss_file.read_text().split()[-1]) / 1024
        rss_file.unlink()
    except (OSError, ValueError, IndexError):
        rss = float("nan")
    size = out.stat().st_size
    out.unlink()
    return secs, rss, size


def export_vs_sqlite3(home: Path, tmp: Path, rounds: int = 3) -> None:
    """``register export --format csv`` to a file against ``sqlite3 -csv`` of the same rows to a file
    on the same disk, in alternating rounds; medians of the times, the largest peak RSS."""
    import shutil

    sqlite3_cli = shutil.which("sqlite3")
    db = str(home / "register.sqlite3")
    runs = {"register export --format csv": ([sys.executable, "-m", "sealdesk.core.cli", "register", "export",
                                              "--format", "csv", "-o", str(tmp / "export.csv")],
                                             {"SEALDESK_HOME": str(home)})}
    if sqlite3_cli:
        runs["sqlite3 -csv, the same rows"] = ([sqlite3_cli, "-csv", db, EXPORT_BASELINE], None)
        runs["sqlite3 -csv, matter records only"] = ([sqlite3_cli, "-csv", db, EXPORT_MATTERS_ONLY], None)
    else:
        print("sqlite3 command-line shell not found: the export is measured without its baseline")
    got: dict[str, list[tuple[float, float, int]]] = {k: [] for k in runs}
    for r in range(rounds):
        for label in (list(runs) if r % 2 == 0 else list(runs)[::-1]):
            argv, env = runs[label]
            secs, rss, size = _command(argv, tmp / "out.csv", env)
            if label.startswith("register"):  # it writes its -o file itself (0600)
                size = (tmp / "export.csv").stat().st_size
                (tmp / "export.csv").unlink()
            got[label].append((secs, rss, size))
    ours = statistics.median(x[0] for x in got["register export --format csv"])
    for label, xs in got.items():
        secs = statistics.median(x[0] for x in xs)
        ratio = f" -> export {ours / secs:.2f}x" if not label.startswith("register") else ""
        print(f"{label:36}{secs:8.2f}s {max(x[1] for x in xs):6.0f} MB peak RSS, {xs[0][2] / 1e6:6.0f} MB "
              f"written{ratio}")
    if "sqlite3 -csv, the same rows" in got:
        print("(median of %d alternating rounds; target: export <= 2x sqlite3 -csv of the same rows)" % rounds)


def scale(n: int, tmp: Path, body: dict) -> None:
    """Build ``n`` matters; time list, search, status filter and inventory with their memory, each
    beside a bare SQLite query over the same records (no index of ours, no JSON decoding); then the
    CSV export against the sqlite3 shell's CSV of the same rows."""
    home = tmp / "scale"
    save_community(demo_community(home, "national"))
    path = home / "register.sqlite3"
    secs = build(path, n * 3, body, vary=True)
    t = time.perf_counter()
    with Register(path) as reg:
        reg.reindex()  # the bench fixture bypasses append: build the search index as a migration would
        t_index = time.perf_counter() - t
        # Then appends until the matters not yet in the search n-grams are as many as they get in use
        # (just before the next batch): searches read that tail directly.
        added = 0
        while reg.head()[0] - int(reg.meta()["grams"]) < store._GRAMS_EVERY - 1:
            reg.append("matter", body={**body, "resident": {"name": resident_name(n + added), "id": ID}}, **MATTER)
            added += 1
        tail = reg.head()[0] - int(reg.meta()["grams"])
    print(f"built {n:,} matters ({n * 3:,} records) in {secs:.1f}s, index {t_index:.1f}s, then {added} appended "
          f"matters, the last {tail} not yet in the search n-grams; {path.stat().st_size / 1e6:.0f} MB")
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

    def ours(fn):
        def run():
            desk = Desk(home)
            desk.view()  # the rules are loaded before the clock starts in the CLI's case too
            return fn(desk)
        return run

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
        ("inventory 2026-01-01..06-30", ours(inventory),
         bare(matter + " AND at >= ? AND at < ?", period)),
        ("audit (chain, rules, serials)", ours(lambda d: f"{d.audit()['violations']} violations"),
         bare("SELECT seq, kind, ref, at, actor, role, community, year, serial, outcome, list, grounds "
              "FROM records ORDER BY seq")),
    ]
    idle = _measured(lambda: 0)[1]
    print(f"time and peak RSS of the process that ran each (an idle fork of this bench: {idle:.0f} MB)")
    print(f"{'':34}{'register':>22}{'bare SQLite':>24}")
    for label, fn, base in cases:
        s1, m1, o1 = _measured(fn)
        s2, m2, o2 = _measured(base)
        print(f"{label:34}{s1:8.3f}s {m1:6.0f} MB ({o1}){'':2}{s2:8.3f}s {m2:6.0f} MB ({o2})")
    # The same as the commands a clerk or an inspector types: a fresh process each, its whole peak
    # RSS (the interpreter and sealdesk included; targets: < 0.5 s and < 100 MB, audit < 100 MB).
    cli = [sys.executable, "-m", "sealdesk.core.cli"]
    print("the same as fresh sealdesk commands (time including start-up; whole peak RSS):")
    for label, argv in ((f"register list --search {name}", ["register", "list", "--search", name]),
                        (f"register list --search {surname}", ["register", "list", "--search", surname]),
                        ("register list --status awaiting_approval",
                         ["register", "list", "--status", "awaiting_approval"]),
                        ("audit", ["audit"])):
        secs, rss, size = _command([*cli, *argv], tmp / "out.txt", {"SEALDESK_HOME": str(home)})
        print(f"  sealdesk {label:40}{secs:8.3f}s {rss:6.0f} MB ({size:,} bytes out)")
    export_vs_sqlite3(home, tmp)


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--appends", type=int, default=8192,
                   help="appends per number of writers (in 8 rounds: 1,024 a round, so one batch of n-grams each)")
    p.add_argument("--records", type=int, default=1_000_000, help="records for verify and audit (0: appends only)")
    p.add_argument("--rounds", type=int, default=8, help="paired rounds of the append bench")
    p.add_argument("--checkpoint-every", type=int, default=4096, metavar="N",
                   help="then the appends again with the service's checkpoints every N appends (0: not)")
    p.add_argument("--checkpoint-snapshot", action="store_true",
                   help="each checkpoint's verify in one read transaction (as the service's verify request)")
    p.add_argument("--scale", type=int, metavar="N",
                   help="only the query bench: build N matters and time list, search, status filter, export "
                        "and inventory (time and peak memory) beside bare SQLite queries")
    p.add_argument("--backend", choices=("sqlite", "postgresql"), default="sqlite",
                   help="postgresql: the county register on a throwaway server (bench/county_bench.py; "
                        "the options after -- go to it, e.g. -- --communities 300 --matters 10000)")
    args, rest = p.parse_known_args(argv)
    if args.backend == "postgresql":
        import county_bench

        sys.argv = [sys.argv[0], *[a for a in rest if a != "--"]]
        return county_bench.main()
    if rest:
        p.error(f"unrecognized arguments: {' '.join(rest)}")
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
            ours, bare, ratio, _ = appends(tmp, args.appends, writers, body, args.rounds)
            print(f"durable appends, {writers} writer{'s' if writers > 1 else ''}: register {ours:,.0f}/s, "
                  f"bare SQLite insert+commit of the same row {bare:,.0f}/s -> cost ratio {ratio:.2f}x "
                  f"(median of {args.rounds} paired rounds; target <= 1.5x)")
        for writers in (1, 8) if args.checkpoint_every else ():
            ours, bare, ratio, cps = appends(tmp, args.appends, writers, body, args.rounds, args.checkpoint_every,
                                             args.checkpoint_snapshot)
            print(f"durable appends with checkpoints every {args.checkpoint_every} appends"
                  f"{' (verify in one snapshot)' if args.checkpoint_snapshot else ''}, {writers} "
                  f"writer{'s' if writers > 1 else ''}: register {ours:,.0f}/s, bare SQLite insert+commit of the "
                  f"same row {bare:,.0f}/s -> cost ratio {ratio:.2f}x (median of {args.rounds} paired rounds; "
                  f"target <= 1.5x); {cps.summary()}")
        if not args.records:
            return 0

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
        # A checkpoint of it, then what an inspector runs against it: fresh sealdesk processes (start-up
        # included, whole peak RSS), as a community and an inspector type them.
        from sealdesk.core.register import checkpoint as C

        cli = [sys.executable, "-m", "sealdesk.core.cli"]
        env = {"SEALDESK_HOME": str(home), "SEALDESK_SOCKET": ""}
        cp_file = tmp / "checkpoint.txt"
        ts, ms, _ = _command([*cli, "register", "checkpoint", "-o", str(cp_file)], tmp / "out.txt", env)
        cp = C.parse(cp_file.read_text(encoding="utf-8"), str(cp_file))
        assert cp.records == args.records, cp
        print(f"register checkpoint -o FILE: {ts:.2f}s, {ms:.0f} MB peak RSS ({ts / scan:.1f}x the bare scan; "
              f"verify, sign, write)")
        # exit 0 only if the chain verifies and the register extends the checkpoint (else 1: check=True raises)
        tc, mc, _ = _command([*cli, "register", "verify", "--checkpoint", str(cp_file)], tmp / "out.txt", env)
        print(f"register verify --checkpoint FILE: {tc:.2f}s, {mc:.0f} MB peak RSS ({tc / scan:.1f}x the bare "
              f"scan; target < 20 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
