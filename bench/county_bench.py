"""Benchmark: the county register in PostgreSQL (issue 14, part 3), on a throwaway server.

    .venv/bin/python bench/county_bench.py [--communities 300] [--matters 10000] [--rounds 64]
    .venv/bin/python bench/register_bench.py --backend postgresql   (the same)

It starts its own PostgreSQL (tests/pgserver.py, ``fsync = on``: commits are durable, as a county's
server would run), installs the schema, and loads ``communities × matters`` matters (a third of
them approved and stamped, spread over the last two years, varied resident names) with valid
chains: the records are generated in Python and copied in with the triggers off, then the
derived tables are rebuilt set-based by ``reindex_county`` (what ``sealdesk county reindex``
does). Then, each figure beside its baseline measured in the same run:

* **append**: ``PgRegister.append`` of a matter (advisory lock, head, chain hash, the database's
  chain/serial trigger, the index trigger, COMMIT) against a bare ``INSERT`` + ``COMMIT`` of a row
  of the same size into a plain table on the same server; paired rounds, median ratio. Target ≤ 2×.
* **32 concurrent writers** in 32 communities (processes; request, approve and stamp records): no
  gap or duplicate serial, every chain verifies; throughput beside one writer's.
* **county inventory** for a half-year (``county.inventory``), beside a bare ``count(*)`` of the
  same period's matters. Target < 5 s.
* one community's first page of the list, status filter and searches; its verify.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pgserver  # noqa: E402  (tests/pgserver.py: the throwaway server the tests use)

from sealdesk.core.register import county as county_reports  # noqa: E402
from sealdesk.core.register.postgres import PgRegister, install, reindex_county  # noqa: E402
from sealdesk.core.register.store import GENESIS, body_text, record_hash  # noqa: E402

APP = "sealdesk_app"
TZ = dt.timezone(dt.timedelta(hours=8))


def _bodies() -> list[tuple[str, str | None, str | None, str | None, str]]:
    """(outcome, item, list, grounds, body with ``§`` for the resident's name) of a few real decisions."""
    from sealdesk.core import decide

    out = []
    for query, kw in (("居民财产证明", {"facts": {"party_requires": True, "within_duties": True, "verifiable": True}}),
                      ("亲属关系证明", {"purpose": "办理公证"}),
                      ("无犯罪记录证明", {}),
                      ("居住证明", {"purpose": "子女入学"})):
        d = decide("shaanxi", query, **kw)
        j = d.to_json()
        item = d.item
        body = body_text({"decision": j, "resident": {"name": "§", "id": "11010519491231002X"},
                          "clerk_name": "王小红"})
        out.append((d.outcome.value, item.id if item else None, item.list if item else None,
                    " ".join(g.code for g in d.grounds), body))
    return out


def community_rows(name: str, matters: int, bodies, start: dt.datetime, span: dt.timedelta):
    """A valid chain for one community: each matter, and for issuing ones every third approved and stamped."""
    from register_bench import resident_name

    prev, seq = GENESIS, 0
    serials: dict[int, int] = {}
    abody = body_text({"name": "李建国", "requirements_confirmed": [], "note": ""})
    step = span / max(matters, 1)
    for i in range(matters):
        outcome, item, lst, grounds, body = bodies[i % len(bodies)]
        at = (start + step * i).replace(microsecond=0)
        seq += 1
        row = (seq, "matter", None, at.isoformat(), "clerk", "clerk", name, None, None, outcome, item, lst,
               grounds, body.replace("§", resident_name(i * 7919 + len(name))), prev)
        prev = record_hash(row)
        yield (*row, prev)
        mseq = seq
        if outcome != "refuse" and outcome != "commitment" and i % 3 == 0:
            for kind, actor, role in (("approve", "director", "director"), ("stamp", "keeper", "keeper")):
                seq += 1
                year = serial = None
                if kind == "stamp":
                    year = at.year
                    serial = serials[year] = serials.get(year, 0) + 1
                row = (seq, kind, mseq, at.isoformat(), actor, role, name, year, serial, None, None, None, None,
                       abody, prev)
                prev = record_hash(row)
                yield (*row, prev)


def load(server, dbname: str, communities: int, matters: int) -> tuple[str, str, float]:
    server.createdb(dbname)
    with server.connect(autocommit=True) as con:
        con.execute(f"DO $$BEGIN CREATE ROLE {APP} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END$$")
    owner, app = server.url(dbname), server.url(dbname, APP)
    install(owner, APP)
    bodies = _bodies()
    end = dt.datetime.now(TZ)
    span = dt.timedelta(days=730)
    t = time.perf_counter()
    with server.connect(dbname, autocommit=True) as con:
        con.execute("SET search_path = sealdesk; SET session_replication_role = replica")  # bulk: triggers off
        con.execute("ALTER TABLE records DROP CONSTRAINT records_pkey")
        n = 0
        for c in range(communities):
            name = f"县{c // 20:02d}镇第{c:03d}社区"
            with con.cursor().copy("COPY records FROM STDIN") as cp:
                for row in community_rows(name, matters, bodies, end - span, span):
                    cp.write_row(row)
                    n += 1
            if (c + 1) % 50 == 0:
                print(f"  loaded {c + 1} communities, {n:,} records, {time.perf_counter() - t:.0f} s", flush=True)
        con.execute("ALTER TABLE records ADD PRIMARY KEY (community, seq)")
        for c in range(communities):  # townships for the county's reports
            con.execute("INSERT INTO communities VALUES (%s, %s, '示范县', 'shaanxi', %s)",
                        (f"县{c // 20:02d}镇第{c:03d}社区", f"第{c // 20:02d}镇", end.isoformat()))
    r = reindex_county(owner)
    secs = time.perf_counter() - t
    with server.connect(dbname, autocommit=True) as con:
        # What a DBA does after a bulk load, so that the measurements do not run beside the
        # checkpoint the load's WAL has due, and start from cleaned tables.
        con.execute("VACUUM ANALYZE")
        con.execute("CHECKPOINT")
    return app, owner, secs, n, r


# -- append --------------------------------------------------------------------------------------
def paired_appends(server, dbname: str, app: str, rounds: int, per: int) -> tuple[float, float, float, float]:
    from register_bench import matter_body

    body = matter_body()
    payload = body_text(body)
    with server.connect(dbname, autocommit=True) as con:
        con.execute("CREATE TABLE public.bare (id bigserial PRIMARY KEY, body text NOT NULL)")
        con.execute(f"GRANT INSERT, SELECT ON public.bare TO {APP}; GRANT USAGE ON SEQUENCE public.bare_id_seq TO {APP}")
    import psycopg

    bare = psycopg.connect(server.conninfo_for(dbname, APP), autocommit=True)
    reg = PgRegister(app, community="县00镇第000社区")
    ours_t, bare_t = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(per):
            with bare.transaction():
                bare.execute("INSERT INTO public.bare (body) VALUES (%s)", (payload,))
        bare_t.append((time.perf_counter() - t) / per)
        t = time.perf_counter()
        for _ in range(per):
            reg.append("matter", actor="clerk", role="clerk", community="县00镇第000社区", body=body,
                       outcome="issue_transitional", item="national.negative.17", list_="negative",
                       grounds="transitional")
        ours_t.append((time.perf_counter() - t) / per)
    reg.close()
    bare.close()
    ratios = [o / b for o, b in zip(ours_t, bare_t)]
    # The rounds' total too: the append that writes a batch of search n-grams (every 1,024th record
    # of a community) falls in one round, which the median leaves out.
    return statistics.median(ours_t), statistics.median(bare_t), statistics.median(ratios), sum(ours_t) / sum(bare_t)


def _writer(app: str, community: str, n: int, q) -> None:
    try:
        from register_bench import matter_body

        body = matter_body()
        reg = PgRegister(app, community=community)
        t = time.perf_counter()
        for _ in range(n):
            m = reg.append("matter", actor="clerk", role="clerk", community=community, body=body,
                           outcome="issue_transitional", item="national.negative.17", list_="negative")
            reg.append("approve", actor="director", role="director", community=community, body={}, ref=m.seq)
            reg.append("stamp", actor="keeper", role="keeper", community=community, body={}, ref=m.seq, serial=True)
        q.put(("ok", community, time.perf_counter() - t))
        reg.close()
    except Exception as exc:
        q.put(("error", community, repr(exc)))


def concurrent(app: str, writers: int, n: int) -> tuple[float, float, list[str]]:
    ctx = mp.get_context("fork")
    names = [f"县{c // 20:02d}镇第{c:03d}社区" for c in range(1, writers + 1)]

    def run(ns):
        q = ctx.Queue()
        procs = [ctx.Process(target=_writer, args=(app, c, n, q)) for c in ns]
        t = time.perf_counter()
        for p in procs:
            p.start()
        res = [q.get(timeout=1800) for _ in procs]
        wall = time.perf_counter() - t
        for p in procs:
            p.join()
        bad = [r for r in res if r[0] != "ok"]
        if bad:
            raise SystemExit(f"writer failed: {bad[:3]}")
        return len(ns) * n * 3 / wall

    solo = run(names[:1])
    many = run(names)
    problems = []
    for c in names[:1] + names:
        with PgRegister(app, community=c) as reg:
            v = reg.verify(index=True)
            if not v.ok:
                problems.append(f"{c}: {v.problem.message}")
            by_year: dict[int, list[int]] = {}
            for r in reg.records(kinds=("stamp",)):
                by_year.setdefault(r.year, []).append(r.serial)
            for year, s in by_year.items():
                if sorted(s) != list(range(1, len(s) + 1)):
                    problems.append(f"{c} {year}: serials not 1..n")
    return solo, many, problems


def timed(f, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--communities", type=int, default=300)
    ap.add_argument("--matters", type=int, default=10000)
    ap.add_argument("--rounds", type=int, default=64)  # 1,280 appends: at least one batch of n-grams
    ap.add_argument("--per-round", type=int, default=20)
    ap.add_argument("--writers", type=int, default=32)
    ap.add_argument("--writer-matters", type=int, default=20)
    args = ap.parse_args()
    settings = {"fsync": "on", "full_page_writes": "on", "shared_buffers": "1GB", "max_connections": "120",
                "max_wal_size": "8GB", "checkpoint_timeout": "30min"}
    server = pgserver.start(settings)
    try:
        print(f"PostgreSQL {server.bindir.parent.name} in {server.dir} (fsync on); "
              f"{args.communities} communities × {args.matters:,} matters")
        app, owner, secs, n, r = load(server, "county", args.communities, args.matters)
        print(f"load: {n:,} records, {r['matters']:,} matters, {r['grams']:,} n-grams in {secs:.0f} s")

        ours, bare, ratio, total = paired_appends(server, "county", app, args.rounds, args.per_round)
        print(f"append: {ours * 1000:.2f} ms  bare insert+commit: {bare * 1000:.2f} ms  "
              f"ratio (median of {args.rounds} paired rounds): {ratio:.2f}×  (target ≤ 2×); "
              f"all {args.rounds * args.per_round:,} appends, n-gram batches included: {total:.2f}×")

        solo, many, problems = concurrent(app, args.writers, args.writer_matters)
        print(f"{args.writers} concurrent writers in {args.writers} communities: {many:,.0f} records/s "
              f"(one writer: {solo:,.0f}/s); gaps, duplicates or broken chains: "
              + ("none" if not problems else "; ".join(problems[:5])))

        today = dt.date.today()
        start = today - dt.timedelta(days=182)
        inv = {}
        secs = timed(lambda: inv.update(county_reports.inventory(app, start, today)))
        import psycopg

        with psycopg.connect(server.conninfo_for("county", APP)) as con:
            base = timed(lambda: con.execute("SELECT count(*) FROM sealdesk.matters WHERE day BETWEEN %s AND %s",
                                             (start.isoformat(), today.isoformat())).fetchone())
        print(f"county inventory {start}..{today}: {secs:.2f} s for {inv['total']:,} matters in "
              f"{len(inv['rows'])} rows  (bare count of the period: {base:.2f} s; target < 5 s)")

        reg = PgRegister(app, community="县07镇第150社区")
        for label, f in (("list, first page", lambda: reg.find(None, "", 50)),
                         ("status 待审批", lambda: reg.find(("awaiting_approval",), "", 50)),
                         ("search 王", lambda: reg.find(None, "王", 50)),
                         ("search 王伟", lambda: reg.find(None, "王伟", 50)),
                         ("search 财产证明", lambda: reg.find(None, "财产证明", 50))):
            print(f"one community, {label}: {timed(f) * 1000:.1f} ms")
        print(f"one community, verify (chain and index): {timed(lambda: reg.verify(), 1):.2f} s")
        reg.close()
        print("county audit of one community: "
              f"{timed(lambda: county_reports.audit(app, __import__('sealdesk.core.engine.plugins', fromlist=['x']).default_registry(), '县07镇第150社区'), 1):.2f} s")
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
