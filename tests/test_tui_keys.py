"""Keys in a burst land in the order typed (issue 16): the real ``sealdesk`` on a real pty.

A slow SSH link delivers what a clerk typed in one read: each burst here is one ``write()`` to
the pty's master side, and the screen is read back through a terminal emulator (pyte) fed with
every byte the app wrote. Each burst's result is compared with the same keys typed one at a
time, waiting for the screen between them, so the test knows no item's name: only that the
burst and the slow typing agree. At 80×24, with TERM=xterm-256color and TERM=linux.
"""

from __future__ import annotations

import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

pyte = pytest.importorskip("pyte")

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ptyread import drain  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SEALDESK = ROOT / ".venv" / "bin" / "sealdesk"
if not SEALDESK.exists():
    SEALDESK = Path(sys.executable).with_name("sealdesk")

DOWN, UP, ENTER, BACKSPACE, CTRL_U, CTRL_N, CTRL_Q, TAB = "\x1b[B", "\x1b[A", "\r", "\x7f", "\x15", "\x0e", "\x11", "\t"
ID_OLD, ID_NEW = "11010519491231002X", "440524198801010011"  # both valid (GB 11643)


def _row(line, columns: int) -> str:
    """One screen row as pyte's ``display`` gives it, but a cell left empty (the right half of a wide
    character whose left half a narrow one overwrote, mid-update, between two chunks read from the
    pty) reads as a space, as a terminal shows it, where pyte's own ``display`` raises IndexError."""
    from wcwidth import wcwidth

    out, skip = [], False
    for x in range(columns):
        if skip:
            skip = False
            continue
        ch = line[x].data
        out.append(ch or " ")
        skip = bool(ch) and wcwidth(ch[0]) == 2
    return "".join(out)


class Pty:
    """``argv`` on a new pty of 80×24; what it writes is read into a pyte screen by a thread."""

    def __init__(self, argv: list[str], env: dict[str, str], cols: int = 80, rows: int = 24):
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.screen = pyte.Screen(cols, rows)
        self.stream = pyte.ByteStream(self.screen)
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env,
                                     start_new_session=True, close_fds=True)
        os.close(slave)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        drain(self.master, self._take)

    def _take(self, data: bytes) -> None:
        with self.lock:
            self.stream.feed(data)

    def text(self) -> str:
        with self.lock:
            return "\n".join(_row(self.screen.buffer[y], self.screen.columns).rstrip()
                             for y in range(self.screen.lines))

    def write(self, keys: str) -> None:
        """All of ``keys`` in one write(), as a slow link delivers a burst."""
        data = keys.encode("utf-8")
        assert os.write(self.master, data) == len(data)

    def wait(self, test, what: str, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shot = self.text()
            if test(shot):
                return shot
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}; screen:\n{self.text()}")

    def settled(self, quiet: float = 0.4, timeout: float = 20.0) -> str:
        """The screen once it has not changed for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last, since = self.text(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.05)
            now = self.text()
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now
        return last

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        os.close(self.master)


@pytest.fixture(params=["xterm-256color", "linux"])
def term(request):
    return request.param


@pytest.fixture
def app(tmp_path, term):
    started: list[Pty] = []

    def start(*args: str) -> Pty:
        home = tmp_path / f"home{len(started)}"
        home.mkdir()
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": term,
               "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SEALDESK_HOME": str(home),
               "SEALDESK_DEMO_HOME": str(tmp_path / f"demo{len(started)}"), "TMPDIR": str(tmp_path),
               "XDG_STATE_HOME": str(tmp_path / "state")}
        p = Pty([str(SEALDESK), *args], env)
        started.append(p)
        return p

    yield start
    for p in started:
        p.close()


def counter_ready(p: Pty) -> str:
    p.wait(lambda s: "输入证明名称（汉字" in s, "the counter")
    return p.settled()


def field(shot: str, label: str) -> str:
    """What the screen shows right of ``label`` on its line (up to the next label or the border)."""
    for line in shot.split("\n"):
        if label in line:
            rest = line.split(label, 1)[1]
            return re.split(r"\s{2,}|▕|▎|│|┃", rest.strip(" ▊▌▐▍"), maxsplit=1)[0].strip()
    raise AssertionError(f"no {label} on the screen:\n{shot}")


def test_letters_then_down_and_enter_in_one_burst_take_the_same_item_as_typed_slowly(app):
    p = app()
    counter_ready(p)
    for ch in "jzzm":  # slowly: each letter, then the suggestions for it on the screen
        p.write(ch)
        p.settled(0.3)
    p.write(DOWN)
    p.settled(0.3)
    p.write(ENTER)
    slow = field(p.settled(), "证明名称")
    assert slow and not slow.isascii(), slow  # a name was taken (not the letters)
    p.write(CTRL_N)
    counter_ready(p)
    p.write("jzzm" + DOWN + ENTER)  # one burst
    burst = field(p.settled(), "证明名称")
    assert burst == slow


def test_backspace_inside_a_burst_deletes_the_character_before_it(app):
    p = app()
    counter_ready(p)
    p.write(TAB * 3)  # 证明名称 → 用途 → 索要单位 → 居民姓名
    p.settled(0.3)
    p.write("应骋" + BACKSPACE + "聘")
    shot = p.settled()
    assert field(shot, "居民姓名") == "应聘", shot


def test_ctrl_u_then_a_new_id_number_and_enter_record_the_new_one(app, tmp_path):
    p = app()
    counter_ready(p)
    p.write("wfzjl")
    p.settled(0.3)
    p.write(ENTER + ENTER + ENTER)  # a refusal, ready to record
    p.wait(lambda s: "不予出具" in s, "the decision")
    p.settled()
    p.write("r")  # to 居民姓名
    p.settled(0.3)
    p.write("张三" + TAB + ID_OLD)
    assert field(p.settled(), "身份证号") == ID_OLD
    p.write(CTRL_U + ID_NEW + ENTER)  # one burst: clear, the new number, record
    shot = p.wait(lambda s: "已登记" in s, "the matter recorded")
    from sealdesk.core.desk.counter import Desk

    desk = Desk(tmp_path / "demo0" / "national")
    try:
        recorded = desk.register.get(1).data["resident"]["id"]
    finally:
        desk.close()
    assert recorded == ID_NEW, (recorded, shot)  # the number typed after Ctrl+U, not the old one


def test_quiz_arrows_then_enter_in_one_burst_answer_the_option_reached(app):
    def answer(p: Pty, keys: list[str]) -> str:
        p.wait(lambda s: "如何处理" in s, "the first question")
        p.settled()
        for k in keys:
            p.write(k)
            if len(keys) > 1:  # slowly: each key, then the screen
                p.settled(0.3)
        shot = p.wait(lambda s: "办事途径）？" in s or "正确答案" in s, "the route question or the mark")
        if "办事途径）？" in shot:  # the outcome taken was 不予出具: its route question
            return "route"
        return re.search(r"你的回答：\S+", shot).group(0)  # the outcome the quiz recorded

    slow = answer(app("train", "jilin-basics"), [DOWN, DOWN, DOWN, DOWN, ENTER])
    burst = answer(app("train", "jilin-basics"), [DOWN * 4 + ENTER])
    assert burst == slow


def test_ascii_borders_leave_no_ambiguous_width_character_on_the_screen(tmp_path):
    # Xshell or PuTTY set to draw East-Asian-ambiguous characters two cells wide would wrap an
    # 80-cell line holding one (─ │ “ ” · □ → ▁…█). With ascii_borders there is none to wrap.
    import unicodedata

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": "xterm-256color",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SEALDESK_HOME": str(tmp_path / "h"),
           "SEALDESK_DEMO_HOME": str(tmp_path / "demo"), "SEALDESK_ASCII_BORDERS": "1",
           "XDG_STATE_HOME": str(tmp_path / "state")}
    (tmp_path / "h").mkdir()
    p = Pty([str(SEALDESK)], env)
    try:
        shots = [counter_ready(p)]
        p.write("wfzjl")
        shots.append(p.settled())
        p.write(ENTER + ENTER + ENTER)  # the refusal: 办事途径, 依据, 理由 with “” and ·
        shots.append(p.wait(lambda s: "不予出具" in s, "the decision"))
        shots.append(p.settled())
        for key, marker in (("\x1bOP", "受理（F2）"), ("\x1b", "证明名称"), ("\x1bOS", "搜索清单")):  # F1, Esc, F4
            p.write(key)
            p.wait(lambda s, m=marker: m in s, marker)
            shots.append(p.settled())
        found = [(ch, shot) for shot in shots for ch in shot if unicodedata.east_asian_width(ch) == "A"]
        assert not found, (sorted({ch for ch, _ in found}), found[0][1])
        assert "不予出具" in shots[3]
    finally:
        p.close()


def test_the_choice_enter_takes_is_marked_without_colour(app, term):
    # TERM=linux drew every suggestion in the same colours: the one Enter takes carries a ">".
    p = app()
    counter_ready(p)
    p.write("jzzm")
    shot = p.settled()
    rows = [r for r in shot.split("\n") if "证明" in r and ("负面" in r or "保留" in r)]
    assert len(rows) >= 2 and rows[0].lstrip().startswith(">") and not rows[1].lstrip().startswith(">"), rows
    second = rows[1].lstrip()
    p.write(DOWN)
    shot = p.settled()
    marked = [r.lstrip()[2:].strip() for r in shot.split("\n") if r.lstrip().startswith("> ")]
    assert marked == [second.strip()], (marked, second)
