"""Benchmark: F3 (the register screen) on a register of a million records, beside a bare Textual app.

The register is built as ``bench/register_bench.py`` builds its big ones (``build``: a valid chain
written straight into SQLite, a third matters with real decision bodies and varied residents' names,
a third approvals, a third stamps, every tenth matter left awaiting approval; then ``reindex`` for
the search n-grams). It is kept in the folder given with ``--cache`` and reused by later runs (a
marker file says it was built to the end); without ``--cache``, in a temporary folder removed after.

Figures, each beside its baseline measured in the same run:

* **F3, in process**: a fresh Python process per round runs ``SealdeskApp`` under
  ``App.run_test(size=(80, 24))`` on that register, waits for the counter and its rules (loaded
  after the first frame, as in use), then sends F3 through the driver as a real keypress is
  (``Driver.send_message``, not ``Pilot.press`` with its idle waits) and polls the event loop until
  the register screen's table holds its first page (the state is right; the headless driver paints
  nothing). The first F3 of a process includes importing the screen's module (DataTable…), as a
  clerk's first F3 does. Then F2 and F3 again (the screen resumed and its page read again).
  Baseline: a bare Textual app whose F3 switches to a screen with one DataTable and adds the same
  rows (the same page's cells, already in memory) - the same fresh process and the same key.
* **F3, pty** (the honest figure): the real ``sealdesk`` on an 80×24 pseudo-terminal; F3's bytes are
  written once the counter is drawn and its rules loaded, and the time taken until the first page's
  newest 登记号 appears in the output (composed, written, read). Baseline: the bare app above as its
  own process on the same pty, the same bytes, the same marker.
* **paging on that register, in process**: End (the oldest matter), PgDn over a page boundary,
  PgUp back, g (jump to a 登记号), a search for a surname and a page of its results deep down,
  the 已用印 filter: each from the key until the table shows the new page.

Target: F3 under 300 ms (in the pty).

    .venv/bin/python bench/tui_register_bench.py [--records 1000000] [--cache DIR] [--rounds 5] [--build-only]

(``--records 3000000``: a million matters. Building 1,000,000 records takes about 50 s and 1.6 GB,
3,000,000 about 3 min and 4.9 GB.)
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import fcntl
import json
import os
import re
import select
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

COLS, ROWS = 80, 24
F3, F2 = "\x1bOR", "\x1bOQ"  # xterm's F3 and F2
PAGE_CELLS = "page.json"  # the first page's cells, for the baseline app


# -- the register ---------------------------------------------------------------------------------
def ensure_register(cache: Path, records: int) -> Path:
    """A demo community's home holding a register of ``records`` records: built once into ``cache``
    (about a third of them matters), reused when its marker says it was finished."""
    import register_bench
    from sealdesk.core.register.community import demo_community, save_community
    from sealdesk.core.register.store import Register

    home = cache / f"home-{records}"
    marker = home / "built.ok"
    if marker.exists():
        print(f"reusing the register of {records:,} records in {home}")
        return home
    if home.exists():
        import shutil

        shutil.rmtree(home)  # a build cut short
    save_community(demo_community(home, "national"))
    path = home / "register.sqlite3"
    secs = register_bench.build(path, records, register_bench.matter_body(), vary=True)
    t = time.perf_counter()
    with Register(path) as reg:
        reg.reindex()  # the fixture bypasses append: the search index as a migration builds it
    marker.write_text(str(records))
    print(f"built {records:,} records in {secs:.1f}s, index {time.perf_counter() - t:.1f}s "
          f"({path.stat().st_size / 1e6:.0f} MB) in {home}")
    return home


def first_page_cells(home: Path) -> list[list[str]]:
    """The cells the register screen shows for its first page (its own ``row_cells``), as text."""
    from sealdesk.core.desk.counter import Desk
    from sealdesk.tui.screens.register import PAGE, row_cells

    desk = Desk(home)
    try:
        return [[str(c) for c in row_cells(r)] for r in desk.list(limit=PAGE)]
    finally:
        desk.close()


# -- one round in a fresh process -------------------------------------------------------------------
async def _until(test, timeout: float = 30.0) -> None:
    deadline = time.perf_counter() + timeout
    while not test():
        if time.perf_counter() > deadline:
            raise TimeoutError("the screen did not get there")
        await asyncio.sleep(0)


def _send(app, key: str) -> None:
    """A key as the driver delivers a real keypress (no idle waits, unlike ``Pilot.press``)."""
    from textual import events

    char = "\r" if key == "enter" else key if len(key) == 1 else None
    app._driver.send_message(events.Key(key, char))


async def _round_sealdesk(home: Path) -> dict:
    from textual.widgets import DataTable

    from sealdesk.tui.app import SealdeskApp
    from sealdesk.tui.session import Session

    app = SealdeskApp(Session(home, as_login="clerk"))
    out = {}
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await _until(lambda: app.first_frame_shown and app.session.registry_loaded)
        await pilot.pause()

        def page_shown() -> bool:
            s = app.screen
            if type(s).__name__ != "RegisterScreen":
                return False
            found = s.query("#matters")  # not there until the screen is composed
            return bool(found) and found.first(DataTable).row_count > 0

        t = time.perf_counter()
        _send(app, "f3")
        await _until(page_shown)
        out["f3_first"] = time.perf_counter() - t
        await pilot.pause()
        _send(app, "f2")
        await _until(lambda: type(app.screen).__name__ == "CounterScreen")
        await pilot.pause()
        app._screen_stacks["register"][-1].query_one("#matters", DataTable).clear()  # "shown": read again
        t = time.perf_counter()
        _send(app, "f3")
        await _until(page_shown)
        out["f3_again"] = time.perf_counter() - t
    return out


async def _round_baseline(cells: list[list[str]]) -> dict:
    app = baseline_app(cells)
    out = {}
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await pilot.pause()
        from textual.widgets import DataTable

        def shown() -> bool:
            if app.current_mode != "table":
                return False
            found = app.screen.query(DataTable)
            return bool(found) and found.first().row_count > 0

        t = time.perf_counter()
        _send(app, "f3")
        await _until(shown)
        out["f3_first"] = time.perf_counter() - t
        await pilot.pause()
        _send(app, "f2")
        await _until(lambda: app.current_mode == "start")
        await pilot.pause()
        app._screen_stacks["table"][-1].query_one(DataTable).clear()
        t = time.perf_counter()
        _send(app, "f3")
        await _until(shown)
        out["f3_again"] = time.perf_counter() - t
    return out


def baseline_app(cells: list[list[str]]):
    """The bare app: a start screen with one Static; F3 switches to a screen that mounts a DataTable
    and adds ``cells`` (re-added each time it is shown, as the register reads its page again)."""
    from textual.app import App, ComposeResult
    from textual.binding import Binding
    from textual.screen import Screen
    from textual.widgets import DataTable, Static

    class Start(Screen):
        def compose(self) -> ComposeResult:
            yield Static("baseline ready")

    class Table(Screen):
        def compose(self) -> ComposeResult:
            yield DataTable(cursor_type="row", zebra_stripes=True)

        def on_mount(self) -> None:
            self.query_one(DataTable).add_columns("登记号", "时间", "状态", "证明", "居民")
            self.on_screen_resume()

        def on_screen_resume(self) -> None:
            t = self.query_one(DataTable)
            t.clear()
            for row in cells:
                t.add_row(*row)
            t.focus()

    class Baseline(App):
        MODES = {"start": Start, "table": Table}
        DEFAULT_MODE = "start"
        BINDINGS = [Binding("f2", "switch_mode('start')"), Binding("f3", "switch_mode('table')"),
                    Binding("ctrl+q", "quit")]

    return Baseline()


async def _paging(home: Path) -> list[tuple[str, float, str]]:
    """Time each paging key on the register screen: (what, seconds, what the page line says)."""
    from textual.widgets import DataTable, Static

    from sealdesk.tui.app import SealdeskApp
    from sealdesk.tui.session import Session

    app = SealdeskApp(Session(home, as_login="clerk"))
    out = []
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        await _until(lambda: app.first_frame_shown and app.session.registry_loaded)
        await pilot.press("f3")
        await pilot.pause()
        screen = app.screen
        table = screen.query_one("#matters", DataTable)

        def line() -> str:
            return str(screen.query_one("#detail", Static).border_title or "")

        async def timed(what: str, keys: list[str], done) -> None:
            before = line()
            t = time.perf_counter()
            for k in keys:
                _send(app, k)
            await _until(lambda: done(before))
            out.append((what, time.perf_counter() - t, line()))
            await pilot.pause()

        changed = lambda before: line() != before  # noqa: E731
        await timed("End (the oldest page)", ["end"], changed)
        await timed("Home (the newest page)", ["home"], changed)
        table.move_cursor(row=table.row_count - 1)
        await pilot.pause()
        await timed("PgDn over a page boundary", ["pagedown"], changed)
        await timed("PgUp back over it", ["pageup"], changed)
        entry = screen.rows_on_page()[0]["entry"] // 2
        await pilot.press("g")
        await pilot.pause()
        await timed(f"g {entry} Enter (jump to a 登记号)", [*str(entry), "enter"], changed)
        import register_bench

        surname = register_bench.resident_name(12345)[0]
        await pilot.press("home", "slash")
        await pilot.pause()
        await timed(f"/ {surname} Enter (search, first page)", [surname, "enter"], changed)
        for _ in range(20):  # 20 pages down its results
            table.move_cursor(row=table.row_count - 1)
            await pilot.pause()
            await timed(f"PgDn in the search's results", ["pagedown"], changed)
        deep = out.pop()
        del out[-19:]
        out.append(("PgDn to the 21st page of the search's results", deep[1], deep[2]))
    return out


def _one(kind: str, arg: str) -> None:
    """``--one sealdesk HOME`` or ``--one baseline CELLS.json``: one round, as JSON on stdout."""
    if kind == "sealdesk":
        result = asyncio.run(_round_sealdesk(Path(arg)))
    else:
        result = asyncio.run(_round_baseline(json.loads(Path(arg).read_text(encoding="utf-8"))))
    print(json.dumps(result))


def _baseline_main(cells_file: str) -> None:
    baseline_app(json.loads(Path(cells_file).read_text(encoding="utf-8"))).run()


# -- a pty ----------------------------------------------------------------------------------------
ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])")


def _take_terminal() -> None:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Pty:
    """A child on an 80×24 pty; its output decoded and kept (escape sequences removed on request)."""

    def __init__(self, argv: list[str], env: dict):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, preexec_fn=_take_terminal, close_fds=True)
        os.close(slave)
        os.set_blocking(master, False)
        self.fd = master
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.raw = ""
        self.mark = 0  # where the output after the last write() starts

    def pump(self, timeout: float) -> bool:
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except (BlockingIOError, OSError):
                break
            if not data:
                break
            self.raw += self.decoder.decode(data)
        return True

    def wait_for(self, markers, timeout: float = 60.0, since: int = 0) -> float:
        deadline = time.perf_counter() + timeout
        while True:
            text = ESCAPES.sub("", self.raw[since:])
            if all(m in text for m in markers):
                return time.perf_counter()
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{markers} not seen; last output: {text[-400:]!r}")
            self.pump(0.005)

    def idle(self, seconds: float) -> None:
        """Read what comes for ``seconds`` (the cursor blinks: the output is never quiet for long)."""
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.pump(end - time.perf_counter())

    def write(self, data: str) -> float:
        self.mark = len(self.raw)
        t = time.perf_counter()
        os.write(self.fd, data.encode())
        return t

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        os.close(self.fd)


def pty_f3(argv: list[str], env: dict, ready: tuple[str, ...], marker: str, settle: float) -> float:
    """Seconds from writing F3 until ``marker`` shows in the output after it."""
    p = Pty(argv, env)
    try:
        p.wait_for(ready)
        p.idle(settle)  # the counter's rules are loaded after the first frame
        t = p.write(F3)
        return p.wait_for((marker,), since=p.mark) - t
    finally:
        p.close()


# -- the report -----------------------------------------------------------------------------------
def _fresh(kind: str, arg: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--one", kind, arg], capture_output=True, text=True,
                         check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def _ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs) * 1000:7.1f} ms (min {min(xs) * 1000:6.1f}, max {max(xs) * 1000:6.1f})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--records", type=int, default=1_000_000, help="records in the register (a third matters)")
    p.add_argument("--cache", type=Path, help="keep the built register here and reuse it in later runs")
    p.add_argument("--rounds", type=int, default=5, help="fresh processes per figure")
    p.add_argument("--one", nargs=2, metavar=("KIND", "ARG"), help=argparse.SUPPRESS)
    p.add_argument("--baseline-app", metavar="CELLS", help=argparse.SUPPRESS)
    p.add_argument("--build-only", action="store_true", help="build (or find) the register and stop")
    args = p.parse_args(argv)
    if args.one:
        _one(*args.one)
        return 0
    if args.baseline_app:
        _baseline_main(args.baseline_app)
        return 0
    sys.stdout.reconfigure(line_buffering=True)
    tmp = None
    if args.cache is None:
        tmp = tempfile.TemporaryDirectory(prefix="sealdesk-tui-register-", dir=os.environ.get("BENCH_DIR"))
        cache = Path(tmp.name)
    else:
        cache = args.cache
        cache.mkdir(parents=True, exist_ok=True)
    try:
        home = ensure_register(cache, args.records)
        if args.build_only:
            return 0
        cells = first_page_cells(home)
        cells_file = cache / PAGE_CELLS
        cells_file.write_text(json.dumps(cells, ensure_ascii=False), encoding="utf-8")
        newest = cells[0][0]
        print(f"first page: {len(cells)} rows, newest 登记号 {newest}")

        got = {"sealdesk": [], "baseline": []}
        for r in range(args.rounds):  # alternating, a fresh process each
            for kind in (("sealdesk", "baseline") if r % 2 == 0 else ("baseline", "sealdesk")):
                got[kind].append(_fresh(kind, str(home) if kind == "sealdesk" else str(cells_file)))
        print(f"F3 in process (App.run_test 80×24, {args.rounds} fresh processes each):")
        for key, label in (("f3_first", "first F3 of the process"), ("f3_again", "F2 then F3 again")):
            ours = [g[key] for g in got["sealdesk"]]
            base = [g[key] for g in got["baseline"]]
            print(f"  {label:26} sealdesk {_ms(ours)}")
            print(f"  {'':26} baseline {_ms(base)} -> {statistics.median(ours) / statistics.median(base):.2f}x")

        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cache), "TERM": "xterm-256color",
               "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SEALDESK_HOME": str(home), "SEALDESK_SOCKET": "",
               "XDG_STATE_HOME": str(cache / "state")}
        sealdesk = [sys.executable, "-m", "sealdesk.core.cli.main", "tui", "--home", str(home), "--as", "clerk"]
        base_argv = [sys.executable, __file__, "--baseline-app", str(cells_file)]
        pty = {"sealdesk": [], "baseline": []}
        for r in range(args.rounds):
            for kind in (("sealdesk", "baseline") if r % 2 == 0 else ("baseline", "sealdesk")):
                if kind == "sealdesk":
                    pty[kind].append(pty_f3(sealdesk, env, ("名称或拼音首字母", "决定"), newest, 1.0))
                else:
                    pty[kind].append(pty_f3(base_argv, env, ("baseline ready",), newest, 1.0))
        print(f"F3 in a pty (80×24, xterm-256color; until the newest 登记号 is in the output; {args.rounds} runs each):")
        print(f"  sealdesk {_ms(pty['sealdesk'])}  (target < 300 ms)")
        print(f"  baseline {_ms(pty['baseline'])} -> "
              f"{statistics.median(pty['sealdesk']) / statistics.median(pty['baseline']):.2f}x")

        print("paging on the same register, in process (key -> the new page in the table):")
        for what, secs, line in asyncio.run(_paging(home)):
            print(f"  {what:46} {secs * 1000:7.1f} ms  [{line}]")
    finally:
        if tmp is not None:
            tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
