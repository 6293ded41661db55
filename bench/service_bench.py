"""Benchmark: a clerk's request through the register service while someone exports the register.

Issue 14: with one lock for all requests and one giant reply per export, a clerk's ``request``
through ``sealdesk serve`` took 0.13 s alone and 6.8 s during an export. This bench builds a demo
community's register of N matters (register_bench's fast fixture), starts ``sealdesk serve`` on
it in a subprocess, and measures:

* a clerk's ``request`` through :class:`RemoteDesk`, median of ``--runs``, alone: with a new
  connection each time (as the CLI makes: the service opens the register for it) and on one
  connection kept open (as the TUI does);
* the same while another client process exports all N matters through the service in a loop
  (every page decoded, as ``register export`` would); target: at most 2× the time alone;
* for comparison, the same while the export goes through a second ``sealdesk serve`` on the
  same register: what the processors and the disk cost, without the interpreter's lock that a
  service's threads share (on a two-processor machine the export keeps both busy);
* the service's peak RSS growth during the exports (``VmHWM`` reset before them), and the
  exporting client's: both should stay at about one page, whatever N.

    .venv/bin/python bench/service_bench.py [--matters 100000] [--runs 30] [--rounds 3] [--stop-early]

Set ``BENCH_DIR`` to build the register on another disk (1,000,000 matters: about 5 GB, and some
minutes to build).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from register_bench import build, matter_body  # the same fast, valid-chain fixture as the register bench

from sealdesk.core.desk.service import RemoteDesk
from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.register.store import Register

FACTS = {"party_requires": True, "within_duties": True, "verifiable": True}


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in kB."""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def _reset_peak(pid: int) -> bool:
    """Start VmHWM again from the current RSS (Linux 4.0+; needs to own the process)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _ms(times: list[float]) -> str:
    q1, q2, q3 = statistics.quantiles(times, n=4) if len(times) > 1 else times * 3
    return f"{q2 * 1000:.1f} ({q1 * 1000:.1f}–{q3 * 1000:.1f})".ljust(19)


def clerk_request(sock: str, desk: RemoteDesk | None = None) -> float:
    """One request, seconds: on ``desk``'s connection (the TUI's way), or as the CLI makes it:
    connect, request, hang up."""
    t = time.perf_counter()
    d = desk or RemoteDesk(sock)
    r = d.request("居民财产证明", facts=FACTS, resident_name="张三", resident_id="11010519491231002X",
                  as_login="clerk")
    if desk is None:
        d.close()
    assert r["entry"], r
    return time.perf_counter() - t


def _exporter(sock: str, matters: int, whole: bool, started, stop, out) -> None:
    """Export every matter through the service, again and again until told to stop (at once, or at
    the end of the export under way if ``whole``)."""
    runs = rows = 0
    base = _status(os.getpid())["VmRSS"]  # the fork's share of this bench's memory is not the export's
    _reset_peak(os.getpid())
    t = time.perf_counter()
    while not stop.is_set():
        n = 0
        for _row in RemoteDesk(sock).export(as_login="inspector"):
            n += 1
            if n == 1:
                started.set()
            elif n % 500 == 0 and not whole and stop.is_set():
                break
        else:
            assert n >= matters, f"export gave {n} matters, expected {matters} or more"
            runs += 1
        rows += n
    out.put((runs, rows, time.perf_counter() - t, _status(os.getpid())["VmHWM"] - base))


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--matters", type=int, default=100_000)
    p.add_argument("--runs", type=int, default=30, help="requests timed alone and as many during exports")
    p.add_argument("--rounds", type=int, default=3, help="alternate alone and during exports this many times")
    p.add_argument("--stop-early", action="store_true", help="stop each round's export when its requests "
                   "are done (by default it runs to its end: a full export per round, minutes at a million)")
    args = p.parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)
    with tempfile.TemporaryDirectory(prefix="sealdesk-bench-", dir=os.environ.get("BENCH_DIR")) as d:
        tmp = Path(d)
        home = tmp / "home"
        save_community(demo_community(home, "national"))
        path = home / "register.sqlite3"
        t = time.perf_counter()
        secs = build(path, args.matters * 3, matter_body(), vary=True)
        with Register(path) as reg:
            reg.reindex()  # the fixture bypasses append: build the search index as a migration would
        print(f"built {args.matters:,} matters ({args.matters * 3:,} records) in {secs:.1f}s, "
              f"with the index {time.perf_counter() - t:.1f}s, {path.stat().st_size / 1e6:.0f} MB")

        sock, apart = str(tmp / "register.sock"), str(tmp / "apart.sock")
        servers = [subprocess.Popen([sys.executable, "-m", "sealdesk.core.cli.main", "serve", "--home", str(home),
                                     "--listen", s], stderr=subprocess.DEVNULL) for s in (sock, apart)]
        server = servers[0]
        try:
            for _ in range(600):
                if os.path.exists(sock) and os.path.exists(apart):
                    break
                time.sleep(0.05)
            else:
                raise SystemExit("sealdesk serve did not start")
            tui = RemoteDesk(sock)
            for _ in range(3):
                clerk_request(sock)  # warm up: the rules loaded, the file in the page cache
                clerk_request(sock, tui)
            # Rounds of requests alone, then during exports: a drift of the disk's fsync time or of
            # the machine's load falls on both alike. CLI and TUI requests alternate.
            each = max(1, args.runs // args.rounds)
            times: dict[tuple[str, str], list[float]] = {(way, phase): [] for way in ("cli", "tui")
                                                          for phase in ("solo", "busy", "apart")}

            def requests(phase: str) -> None:
                for _ in range(each):
                    times["cli", phase].append(clerk_request(sock))
                    times["tui", phase].append(clerk_request(sock, tui))

            runs = rows = 0
            spent = client_peak = 0.0
            base = _status(server.pid)["VmRSS"]
            peak_reset = _reset_peak(server.pid)
            ctx = mp.get_context("fork")
            for _ in range(args.rounds):
                requests("solo")
                for phase, via in (("busy", sock), ("apart", apart)):
                    started, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
                    exporter = ctx.Process(target=_exporter, args=(via, args.matters, not args.stop_early, started,
                                                                   stop, out))
                    exporter.start()
                    if not started.wait(600):
                        raise SystemExit("the export did not start")
                    requests(phase)
                    stop.set()
                    r, n, secs, peak_kb = out.get(timeout=3600)
                    exporter.join()
                    if phase == "busy":
                        runs, rows, spent = runs + r, rows + n, spent + secs
                        client_peak = max(client_peak, peak_kb)
            tui.close()
            peak = _status(server.pid)["VmHWM"]
            print(f"clerk's request (median and quartiles in ms, {each * args.rounds} each):")
            print(f"  {'':27}{'alone':19}{'during exports':27}{'exports by another service'}")
            for way, label in (("cli", "new connection each (CLI)"), ("tui", "one connection (TUI)")):
                s, b, a = (statistics.median(times[way, phase]) for phase in ("solo", "busy", "apart"))
                print(f"  {label:27}{_ms(times[way, 'solo'])}{_ms(times[way, 'busy'])}{b / s:4.2f}x   "
                      f"{_ms(times[way, 'apart'])}{a / s:4.2f}x")
            print("  (target: during exports <= 2x alone)")
            print(f"exports: {rows:,} matters in {spent:.1f}s, {rows / spent:,.0f} matters/s through the service "
                  f"({runs} complete export(s) of {args.matters:,}+ matters)")
            growth = f"{(peak - base) / 1024:.1f} MB" if peak_reset else "unknown (cannot reset VmHWM)"
            print(f"service RSS {base / 1024:.0f} MB before the exports; peak growth during them {growth}")
            print(f"exporting client's peak RSS growth {client_peak / 1024:.1f} MB")
        finally:
            for srv in servers:
                srv.terminate()
                srv.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
