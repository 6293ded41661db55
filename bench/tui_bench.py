"""Benchmark: the clerk's TUI (``sealdesk tui``) against a minimal Textual app, same run, real pty.

Figures:

* **launch**: a new process each run under a pseudo-terminal (80×24, ``TERM=xterm-256color``,
  no ``COLORTERM``), timed from spawn until the output stream shows that the screen is drawn
  and usable: for sealdesk the placeholder of the 证明名称 input (``名称或拼音首字母``) *and*
  the footer (``决定``); for the baseline (``bench/minimal_app.py``: one Input, one Footer)
  its placeholder and its footer. The pty master is read continuously and decoded as UTF-8
  incrementally; markers are searched in that text with the escape sequences removed (the
  cursor's reverse video splits the placeholder's first character from the rest in the raw
  stream; each marker lies within one screen line, so it is contiguous once the sequences
  are gone). The child is killed as soon as both markers are seen. Also shown: when the
  first byte arrives (interpreter, imports and app set-up done; Textual takes the terminal).
  One unmeasured warm-up run of each first; runs alternate. Target: sealdesk ≤ 1.5× the
  baseline's median. The baseline keeps Textual's stock Footer, as the smallest app would;
  sealdesk draws its footer with its own one-widget KeyBar (tui/widgets/keybar.py), which
  saved about 120 ms of its start-up.
* **keystroke → suggestion**, after the pinyin worker has finished, for every prefix of
  ``wfzjl``, ``wufanzui`` and of several names typed in 汉字, repeated ``--rounds`` times:

  - *in process*: ``SealdeskApp.run_test(size=(80, 24))``; the key is posted through the
    driver as a real keypress is (``Driver.send_message``, not ``Pilot.press``, whose own idle
    waits take ≥ 40 ms) and the event loop is polled (``asyncio.sleep(0)``) until ``#suggest``
    holds a *new* first option with the expected label. The state is right, not painted:
    the headless driver draws nothing.
  - *pty* (the honest figure): the real ``sealdesk tui``; the key's bytes are written to the
    master and the time taken until the expected label appears in the output that follows
    them (so a frame has been composed, written and read). Between keys the output is let
    settle. Also shown: the first output after the key (usually the echo in the input).
  - ``Suggester.suggest`` alone, for scale.

  Also shown: how long after launch pinyin initials first brought a suggestion in the pty
  ("w" typed and cleared again every 0.25 s until it does, so to within that).

  Target: < 50 ms (median and p95 are shown).
* **bytes** written to the terminal for the whole refusal flow, in the pty, launch to exit:
  ``wfzjl`` Enter Enter Enter (不予出具), ``r`` name Tab ID Enter (已登记), ``p`` (已生成),
  Esc, Ctrl+Q: 34 keys, typed like a clerk watching the screen: each key once the output
  has been quiet for 0.1 s after the previous one, and where the screen shows that a key was
  handled (the suggestion, 不予出具, the 登记前请填写 notice, 已登记, 已生成) not before
  that. Keys sent in one burst would go wrong (see the report), and waiting keeps the count
  free of Textual coalescing frames. Baseline: the minimal app, launch, 30 characters typed
  the same way, Ctrl+Q. Both idle the same second after launch (the pinyin worker's time),
  so both include about a second of cursor blinking; the idle cost of the blinking cursor is
  measured separately (bytes per second on a settled screen). Also shown: the bytes of each
  step. In KB and as the seconds it takes over 64 kbit/s. The terminal answers none of
  Textual's queries (so no synchronized-output brackets, no Kitty keyboard protocol).

  Targets (issue 16): the whole flow at most 40 KB, each key of 证明名称 at most 1 KB ("per key
  in 证明名称 (max)"), idle at most 10 B/s.

    .venv/bin/python bench/tui_bench.py [--runs 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import fcntl
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

from sealdesk.core.register.community import demo_community, save_community

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import minimal_app  # noqa: E402

COLS, ROWS = 80, 24
LINK = 64_000  # bit/s
ID = "11010519491231002X"
NAME = "张三"
SEALDESK_READY = ("名称或拼音首字母", "决定")  # the query input's placeholder, the footer
MINIMAL_READY = (minimal_app.PLACEHOLDER, minimal_app.FOOTER)
PINYIN_QUERIES = ("wfzjl", "wufanzui")
HANZI_QUERIES = ("无犯罪记录", "居民财产", "出生证明", "亲属关系", "婚姻状况", "市场主体住所")
SETTLE = 0.05  # s of silence that counts as "the output has settled" (between timed keys)
FLOW_PACE = 0.1  # the same in the flows: at most about ten keys a second, a fast clerk

# CSI (incl. private and intermediate bytes, e.g. ESC[?2026$p), OSC, and two-byte escapes.
ESCAPES = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[ -/]*[0-~])")


def visible(text: str) -> str:
    return ESCAPES.sub("", text)


def percentile(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, round(p / 100 * len(xs)) - 1))]


# -- a program in a pseudo-terminal ----------------------------------------------------------------
def _take_terminal() -> None:  # in the child, after setsid(): the pty becomes its controlling tty
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Term:
    """A child on an 80×24 pty; everything it writes is counted, decoded and kept."""

    def __init__(self, cmd: list[str], env: dict, cwd: str):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=cwd,
                                     start_new_session=True, preexec_fn=_take_terminal, close_fds=True)
        os.close(slave)  # else no EOF when the child exits
        os.set_blocking(master, False)
        self.fd = master
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.nbytes = 0
        self.text = ""
        self.first_byte: float | None = None
        self.last_output = self.last_key = self.t0
        self.first_after: float | None = None  # the first output after the last key() was written
        self.eof = False

    def pump(self, timeout: float) -> bool:
        """Read what is there (waiting at most ``timeout``); True if anything came."""
        if self.eof:
            time.sleep(max(0.0, timeout))
            return False
        r, _, _ = select.select([self.fd], [], [], max(0.0, timeout))
        if not r:
            return False
        got = False
        while True:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            except OSError:  # EIO: the child has gone and the slave is closed
                data = b""
            if not data:
                self.eof = True
                break
            now = time.perf_counter()
            if self.first_byte is None:
                self.first_byte = now
            self.last_output = now
            if self.first_after is None:
                self.first_after = now
            self.nbytes += len(data)
            self.text += self.decoder.decode(data)
            got = True
        return got

    def mark(self) -> int:
        return len(self.text)

    def wait_for(self, markers, since: int = 0, timeout: float = 30.0, what: str = "") -> float:
        """Pump until every marker is in the visible text after ``since``; the time it was seen."""
        end = time.perf_counter() + timeout
        while True:
            shown = visible(self.text[since:])
            if all(m in shown for m in markers):
                return self.last_output
            if self.eof or time.perf_counter() > end:
                tail = visible(self.text[-2000:])[-600:]
                raise RuntimeError(f"{what or markers} not seen ({'exited' if self.eof else 'timeout'}); "
                                   f"last output: {tail!r}")
            self.pump(min(0.05, end - time.perf_counter()))

    def settle(self, quiet: float = SETTLE, cap: float = 3.0) -> None:
        """Pump until nothing has come for ``quiet`` seconds since the last output or key (at most ``cap``)."""
        end = time.perf_counter() + cap
        while time.perf_counter() < end:
            left = max(self.last_output, self.last_key) + quiet - time.perf_counter()
            if left <= 0:
                if not self.pump(0):
                    return
                continue
            self.pump(min(left, end - time.perf_counter()))

    def idle(self, seconds: float) -> None:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            self.pump(end - time.perf_counter())

    def key(self, data: str | bytes) -> float:
        self.first_after = None
        t = self.last_key = time.perf_counter()
        os.write(self.fd, data.encode() if isinstance(data, str) else data)
        return t

    def type(self, text: str, quiet: float = SETTLE) -> None:
        """One key at a time, each once the output has settled after the previous one."""
        for ch in text:
            self.key(ch)
            self.settle(quiet)

    def wait_exit(self, timeout: float = 10.0) -> int:
        end = time.perf_counter() + timeout
        while not self.eof and time.perf_counter() < end:
            self.pump(end - time.perf_counter())
        try:
            return self.proc.wait(timeout=max(0.1, end - time.perf_counter()))
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        try:
            os.close(self.fd)
        except OSError:
            pass


# -- the programs ------------------------------------------------------------------------------------
class Setup:
    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.n = 0
        self.demo = tmp / "demo"
        exe = Path(sys.executable).with_name("sealdesk")
        self.sealdesk = [str(exe)] if exe.exists() else [sys.executable, "-m", "sealdesk.core.cli.main"]
        self.minimal = [sys.executable, str(HERE / "minimal_app.py")]

    def home(self) -> Path:
        self.n += 1
        home = self.tmp / f"home{self.n}"
        save_community(demo_community(home, "national", "全国"))
        return home

    def env(self, home: Path) -> dict:
        env = {k: v for k, v in os.environ.items()
               if k not in ("COLUMNS", "LINES", "COLORTERM", "TEXTUAL", "NO_COLOR", "TERM_PROGRAM")}
        env.update(TERM="xterm-256color", SEALDESK_HOME=str(home), SEALDESK_DEMO_HOME=str(self.demo))
        env.setdefault("LANG", "C.UTF-8")
        return env

    def run_sealdesk(self, home: Path) -> Term:
        return Term([*self.sealdesk, "tui", "--home", str(home), "--as", "clerk"], self.env(home), str(self.tmp))

    def run_minimal(self, home: Path) -> Term:
        return Term(self.minimal, self.env(home), str(self.tmp))


# -- 1. launch -----------------------------------------------------------------------------------------
def launch_once(start, ready) -> tuple[float, float]:
    term = start()
    try:
        usable = term.wait_for(ready, timeout=30, what="first usable screen")
        return term.first_byte - term.t0, usable - term.t0
    finally:
        term.close()


def launch(setup: Setup, runs: int) -> dict:
    home = setup.home()
    apps = {"sealdesk": (lambda: setup.run_sealdesk(home), SEALDESK_READY),
            "minimal": (lambda: setup.run_minimal(home), MINIMAL_READY)}
    for start, ready in apps.values():  # warm-up: page cache, bytecode
        launch_once(start, ready)
    got: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
    for _ in range(runs):
        for name, (start, ready) in apps.items():
            got[name].append(launch_once(start, ready))
    return {name: (statistics.median(f for f, _ in xs), statistics.median(u for _, u in xs),
                   min(u for _, u in xs)) for name, xs in got.items()}


# -- 2. keystroke → suggestion ------------------------------------------------------------------------
def expectations(suggester) -> list[tuple[str, list[tuple[str, str]]]]:
    """Each query with, per keystroke, (key, the first suggestion's label as shown); keys with
    no suggestion are typed but not timed (label "")."""
    out = []
    for q in (*PINYIN_QUERIES, *HANZI_QUERIES):
        steps = []
        for i, ch in enumerate(q):
            found = suggester.suggest(q[:i + 1], limit=5)
            steps.append((ch, found[0].label if found else ""))
        out.append((q, steps))
    return out


async def _inprocess(home: Path, rounds: int) -> tuple[list[float], list[tuple]]:
    from textual import events
    from textual.widgets import Input, OptionList

    from sealdesk.tui.app import SealdeskApp
    from sealdesk.tui.session import Session

    app = SealdeskApp(Session(home, as_login="clerk"))
    samples: list[float] = []
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        end = time.perf_counter() + 30
        while not app.session.suggester.pinyin_ready:
            if time.perf_counter() > end:
                raise RuntimeError("the pinyin worker did not finish in 30 s")
            await asyncio.sleep(0.01)
        await pilot.pause()
        plan = expectations(app.session.suggester)
        screen = app.screen
        ol = screen.query_one("#suggest", OptionList)
        inp = screen.query_one("#query", Input)
        for _ in range(rounds):
            for _q, steps in plan:
                inp.value = ""
                await pilot.pause()
                for ch, label in steps:
                    before = ol.get_option_at_index(0) if ol.option_count else None
                    t = time.perf_counter()
                    app._driver.send_message(events.Key(ch, ch))
                    if label:
                        while True:
                            if ol.display and ol.option_count:
                                first = ol.get_option_at_index(0)
                                if first is not before and str(first.prompt) == label:
                                    break
                            if time.perf_counter() - t > 5:
                                raise RuntimeError(f"in process: {label!r} not suggested after {ch!r}")
                            await asyncio.sleep(0)
                        samples.append(time.perf_counter() - t)
                    await pilot.pause()
        await pilot.press("ctrl+q")
    return samples, plan


def suggest_alone(plan, suggester, rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        for q, steps in plan:
            for i in range(len(steps)):
                t = time.perf_counter()
                suggester.suggest(q[:i + 1], limit=5)
                times.append(time.perf_counter() - t)
    return times


def in_pty(setup: Setup, plan, rounds: int) -> tuple[list[float], list[float], float]:
    home = setup.home()
    term = setup.run_sealdesk(home)
    try:
        term.wait_for(SEALDESK_READY, what="first usable screen")
        # Pinyin initials work once the worker has finished; until then "w" suggests nothing.
        probe = next(label for _, steps in plan for ch, label in steps if ch == "w" and label)
        while True:
            term.settle()
            at = term.mark()
            term.key("w")
            try:
                term.wait_for([probe[:16]], since=at, timeout=0.25)
                ready = term.last_output - term.t0
                break
            except RuntimeError:
                if term.eof or time.perf_counter() - term.t0 > 30:
                    raise
                term.key("\x15")  # Ctrl+U: clear the input
        term.key("\x15")
        term.settle(0.2)
        to_label, to_first = [], []
        for _ in range(rounds):
            for _q, steps in plan:
                for ch, label in steps:
                    term.settle()
                    at = term.mark()
                    t = term.key(ch)
                    if label:
                        seen = term.wait_for([label[:16]], since=at, timeout=5, what=f"{label!r} after {ch!r}")
                        to_label.append(seen - t)
                        to_first.append(term.first_after - t)
                term.settle()
                term.key("\x15")
                term.settle(0.2)
        term.key("\x11")
        term.wait_exit()
    finally:
        term.close()
    return to_label, to_first, ready


# -- 3. bytes for the refusal flow -----------------------------------------------------------------------
def refusal_flow(setup: Setup) -> tuple[int, float, list[tuple[str, int]]]:
    home = setup.home()
    term = setup.run_sealdesk(home)
    steps: list[tuple[str, int]] = []
    per_key: list[int] = []
    last = 0

    def step(name: str) -> None:
        nonlocal last
        steps.append((name, term.nbytes - last))
        last = term.nbytes

    def typed(keys: str, marker: str | None = None, timeout: float = 30.0) -> None:
        """Type like a clerk watching the screen: each key once the last one's output has settled,
        and, where the screen says a key was handled (``marker``), not before that."""
        at = term.mark()
        term.type(keys, FLOW_PACE)
        if marker:
            term.wait_for([marker], since=at, timeout=timeout, what=f"{marker!r} after {keys!r}")
            term.settle(FLOW_PACE)

    try:
        term.wait_for(SEALDESK_READY, what="first usable screen")
        term.settle()
        step("launch")
        term.idle(1.0)  # the pinyin worker's time; the cursor blinks meanwhile
        step("wait 1 s")
        for ch in "wfzj":  # one key at a time: what each costs (target: at most 1 KB a key)
            before = term.nbytes
            typed(ch)
            per_key.append(term.nbytes - before)
        before = term.nbytes
        typed("l", "无犯罪记录证明")  # fails if pinyin has not loaded yet
        per_key.append(term.nbytes - before)
        step("wfzjl")
        typed("\r")
        typed("\r")
        typed("\r", "不予出具")
        step("⏎⏎⏎ → decision")
        typed("r", "登记前请填写")  # the fields are empty: the focus goes to 居民姓名
        typed(NAME + "\t" + ID)
        typed("\r", "已登记")
        step("r name ⇥ ID ⏎ → recorded")
        typed("p", "已生成", timeout=60)
        step("p → notice")
        typed("\x1b")
        term.settle(0.3)  # a lone Esc is told from a sequence by a pause
        step("Esc")
        term.key("\x11")
        rc = term.wait_exit()
        step("Ctrl+Q → exit")
        if rc != 0:
            raise RuntimeError(f"sealdesk exited with {rc}: {visible(term.text[-2000:])[-600:]!r}")
        steps.append(("per key in 证明名称 (max)", max(per_key)))
        return term.nbytes, time.perf_counter() - term.t0, steps
    finally:
        term.close()


def minimal_flow(setup: Setup) -> tuple[int, float]:
    home = setup.home()
    term = setup.run_minimal(home)
    try:
        term.wait_for(MINIMAL_READY, what="first usable screen")
        term.settle()
        term.idle(1.0)
        term.type("abcdefghijklmnopqrstuvwxyz0123", FLOW_PACE)
        term.key("\x11")
        term.wait_exit()
        return term.nbytes, time.perf_counter() - term.t0
    finally:
        term.close()


def idle_rate(start, ready, seconds: float = 4.0) -> float:
    term = start()
    try:
        term.wait_for(ready, what="first usable screen")
        term.idle(2.0)  # past the start-up work (and the pinyin worker)
        before, t = term.nbytes, time.perf_counter()
        term.idle(seconds)
        return (term.nbytes - before) / (time.perf_counter() - t)
    finally:
        term.close()


# -- report ------------------------------------------------------------------------------------------------
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="launches of each app (and up to 3 flows each)")
    ap.add_argument("--rounds", type=int, default=3, help="times each query is typed for the latency")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tui-bench-") as tmp:
        setup = Setup(Path(tmp))

        lau = launch(setup, args.runs)

        samples, plan = asyncio.run(_inprocess(setup.home(), args.rounds))
        from sealdesk.tui.session import Session

        sg = Session(setup.home(), as_login="clerk").suggester
        sg.load_pinyin()
        alone = suggest_alone(plan, sg, args.rounds)
        pty_label, pty_first, pinyin_ready = in_pty(setup, plan, args.rounds)

        flows = max(1, min(args.runs, 3))
        sflows = [refusal_flow(setup) for _ in range(flows)]
        mflows = [minimal_flow(setup) for _ in range(flows)]
        home = setup.home()
        idle_s = idle_rate(lambda: setup.run_sealdesk(home), SEALDESK_READY)
        idle_m = idle_rate(lambda: setup.run_minimal(home), MINIMAL_READY)

    ms = lambda s: f"{s * 1000:7.1f} ms"  # noqa: E731
    ms2 = lambda s: f"{s * 1000:7.2f} ms"  # noqa: E731
    (sf, su, smin), (mf, mu, mmin) = lau["sealdesk"], lau["minimal"]
    print(f"launch → first usable screen, fresh process in an {COLS}×{ROWS} pty, median of {args.runs}:")
    print(f"  sealdesk tui:  first byte {ms(sf)}   usable {ms(su)}   (best {ms(smin)})")
    print(f"  minimal app:   first byte {ms(mf)}   usable {ms(mu)}   (best {ms(mmin)})")
    print(f"  ratio {su / mu:.2f}×   target ≤ 1.5×")
    print()
    print(f"keystroke → suggestion ({len(samples) // args.rounds} timed keys × {args.rounds} rounds; "
          f"pinyin initials worked {pinyin_ready:.2f} s after launch):")
    for label, xs in (("in process (state, run_test)", samples), ("pty, to the suggestion drawn", pty_label),
                      ("pty, to the first output byte", pty_first), ("Suggester.suggest alone", alone)):
        print(f"  {label:31} median {ms2(statistics.median(xs))}   p95 {ms2(percentile(xs, 95))}   "
              f"max {ms2(max(xs))}")
    print("  target < 50 ms")
    print()
    sb = statistics.median(b for b, _, _ in sflows)
    st = statistics.median(t for _, t, _ in sflows)
    mb = statistics.median(b for b, _ in mflows)
    mt = statistics.median(t for _, t in mflows)
    secs = lambda b: b * 8 / LINK  # noqa: E731
    print(f"bytes written to the terminal, launch to exit (median of {flows}):")
    print(f"  sealdesk refusal flow: {sb / 1024:7.1f} KB  in {st:4.1f} s  "
          f"= {secs(sb):5.1f} s at 64 kbit/s   (target ≤ 40 KB)")
    print(f"  minimal app, 30 keys:  {mb / 1024:7.1f} KB  in {mt:4.1f} s  "
          f"= {secs(mb):5.1f} s at 64 kbit/s   (ratio {sb / mb:.1f}×)")
    steps = min(sflows, key=lambda f: abs(f[0] - sb))[2]
    print("  sealdesk by step: " + ", ".join(f"{name} {b / 1024:.1f} KB" for name, b in steps))
    print(f"  idle (cursor blink): sealdesk {idle_s:.0f} B/s, minimal app {idle_m:.0f} B/s")


if __name__ == "__main__":
    main()
