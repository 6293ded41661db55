"""Drive the real sealdesk TUI in tmux, keyboard only, and read back what the terminal shows.

Not a test module: ``tests/test_tui_tmux.py`` and ``bench/tui_ssh_walkthrough.py`` import it.

:class:`Tmux` runs one command in a detached tmux session on a private server (``tmux -L``),
so nothing touches the user's own tmux. Keys go in with ``send-keys`` (text with
``send-keys -l``), the screen comes back with ``capture-pane -p``, and every step waits for
something visible (text, or the terminal cursor moving to the next field) instead of sleeping.

Why not just send everything at once: keys that reach the app in one burst (a fast typist over
a slow link does that too) go to whatever has the focus *when they are read*. The counter's
Enter/Tab move the focus at once, but a dialog, the command palette or a freshly mounted screen
takes the focus a moment after it is drawn, and keys read before that are lost (two Enters in one
burst in the command palette even crash Textual 8.2: ScreenStackError). So the driver waits for
the dialog to be drawn and the screen to settle, for the cursor to leave a field, or for typed
text to show up in the right field, before it sends the next keys.

:func:`walk_worked_examples` is the acceptance walk: DOMAIN.md's five worked examples, each
decided, recorded with a resident and (where the outcome has a counter paper) printed.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

RESIDENT = ("张三", "11010519491231002X")
DEFAULT_TIMEOUT = 15.0

# The line above the decision panel says when the panel has the keys (tui/widgets/rule.py).
ANSWER_FOCUSED = "决定（按键作用于此）"


class WaitTimeout(AssertionError):
    """What was awaited never appeared; the message carries the last screen."""


def tmux_available() -> bool:
    return shutil.which("tmux") is not None


class Tmux:
    """One command in a detached tmux session of ``width``×``height`` on a private tmux server."""

    def __init__(self, session_name: str, width: int = 80, height: int = 24, socket: str | None = None):
        self.name = session_name
        self.width, self.height = width, height
        self.socket = socket or f"sealdesk-{session_name}-{os.getpid()}"
        self._conf_dir: str | None = None
        self.started = False

    # -- plumbing -----------------------------------------------------------------------------
    def _tmux(self, *args: str, check: bool = True, timeout: float = 10) -> str:
        cmd = ["tmux", "-L", self.socket]
        if self._conf_dir:
            cmd += ["-f", os.path.join(self._conf_dir, "tmux.conf")]
        proc = subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"})
        if check and proc.returncode != 0:
            raise RuntimeError(f"tmux {' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
        return proc.stdout

    @property
    def target(self) -> str:
        return f"={self.name}:"

    def start(self, command: str | Iterable[str], env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        """Run ``command`` (a shell string or an argv list) with ``env`` added to its environment."""
        if self.started:
            raise RuntimeError("session already started")
        self._conf_dir = tempfile.mkdtemp(prefix="sealdesk-tmux-")
        term = "tmux-256color" if _has_terminfo("tmux-256color") else "screen-256color"
        Path(self._conf_dir, "tmux.conf").write_text(
            "set -g remain-on-exit on\n"     # keep the pane (and its last screen) when the program ends
            f"set -g default-terminal {term}\n"
            "set -g history-limit 5000\n"
            "set -g status off\n"            # all 24 lines belong to the program
            "set -sg escape-time 0\n", encoding="utf-8")
        if not isinstance(command, str):
            command = " ".join(shlex.quote(c) for c in command)
        if env:
            command = "env " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items()) + " " + command
        # tmux 3.3 leaves #{pane_dead_status} empty: keep the exit status in a file of our own.
        command = f"{command}; echo $? > {shlex.quote(os.path.join(self._conf_dir, 'status'))}"
        args = ["new-session", "-d", "-s", self.name, "-x", str(self.width), "-y", str(self.height)]
        if cwd:
            args += ["-c", cwd]
        self._tmux(*args, command)
        self.started = True

    def keys(self, *keys: str) -> None:
        """tmux key names, one per argument: ``Enter``, ``Tab``, ``Escape``, ``C-p``, ``Down``, ``y``."""
        if keys:
            self._tmux("send-keys", "-t", self.target, *keys)

    def type(self, text: str) -> None:
        """Literal text (Chinese included), as if typed or committed by an input method."""
        if text:
            self._tmux("send-keys", "-t", self.target, "-l", text)

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", self.target)

    def lines(self) -> list[str]:
        return self.screen().split("\n")

    def _display(self, fmt: str) -> str:
        return self._tmux("display-message", "-p", "-t", self.target, fmt).strip()

    def cursor(self) -> tuple[int, int]:
        """Where the program put the terminal cursor (Textual puts it in the focused Input)."""
        x, y = self._display("#{cursor_x} #{cursor_y}").split()
        return int(x), int(y)

    def dead(self) -> bool:
        return self._display("#{pane_dead}") == "1"

    def exit_status(self) -> int | None:
        if not self.dead():
            return None
        try:
            return int(Path(self._conf_dir, "status").read_text().strip())
        except (OSError, ValueError, TypeError):
            return None

    # -- waiting ------------------------------------------------------------------------------
    def wait_until(self, pred: Callable[[str], bool], what: str, timeout: float = DEFAULT_TIMEOUT,
                   interval: float = 0.05) -> str:
        """Poll the screen until ``pred(screen)``; on timeout raise with the last screen."""
        deadline = time.monotonic() + timeout
        while True:
            shot = self.screen()
            if pred(shot):
                return shot
            if time.monotonic() >= deadline:
                dead = ""
                try:
                    if self.dead():
                        dead = f" (the program has exited, status {self.exit_status()})"
                except Exception:
                    pass
                raise WaitTimeout(f"timed out after {timeout:.1f}s waiting for {what}{dead}; "
                                  f"last screen:\n{frame(shot)}")
            time.sleep(interval)

    def wait_for(self, text: str | re.Pattern, timeout: float = DEFAULT_TIMEOUT) -> str:
        """Wait until ``text`` (a string, or a compiled regex searched in the screen) is shown."""
        if isinstance(text, re.Pattern):
            return self.wait_until(lambda s: text.search(s) is not None, f"/{text.pattern}/", timeout)
        return self.wait_until(lambda s: text in s, repr(text), timeout)

    def wait_gone(self, text: str, timeout: float = DEFAULT_TIMEOUT) -> str:
        return self.wait_until(lambda s: text not in s, f"{text!r} to go away", timeout)

    def wait_cursor(self, pred: Callable[[int, int], bool], what: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, int]:
        deadline = time.monotonic() + timeout
        while True:
            pos = self.cursor()
            if pred(*pos):
                return pos
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"timed out after {timeout:.1f}s waiting for the cursor {what} (it is at {pos}); "
                                  f"last screen:\n{frame(self.screen())}")
            time.sleep(0.03)

    def wait_settled(self, timeout: float = DEFAULT_TIMEOUT, quiet: float = 0.1) -> str:
        """Wait until neither the screen nor the cursor has changed for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        last = (self.screen(), self.cursor())
        since = time.monotonic()
        while True:
            time.sleep(0.03)
            now = (self.screen(), self.cursor())
            if now != last:
                last, since = now, time.monotonic()
            elif time.monotonic() - since >= quiet:
                return now[0]
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"the screen kept changing for {timeout:.1f}s; last screen:\n{frame(now[0])}")

    def press_and_follow(self, key: str, timeout: float = DEFAULT_TIMEOUT) -> tuple[int, int]:
        """Press a key that moves the focus to another field and wait until the cursor has moved."""
        before = self.cursor()
        self.keys(key)
        return self.wait_cursor(lambda x, y: (x, y) != before, f"to leave {before} after {key}", timeout)

    def wait_exit(self, timeout: float = DEFAULT_TIMEOUT) -> int | None:
        deadline = time.monotonic() + timeout
        while not self.dead():
            if time.monotonic() >= deadline:
                raise WaitTimeout(f"the program did not exit within {timeout:.1f}s; last screen:\n{frame(self.screen())}")
            time.sleep(0.05)
        return self.exit_status()

    def kill(self) -> None:
        """Kill this session's private tmux server (and with it the program) and remove the config."""
        if self.started:
            try:
                sock = self._display("#{socket_path}")
            except Exception:
                sock = ""
            self._tmux("kill-server", check=False)
            if sock and Path(sock).name == self.socket:   # tmux leaves its socket file behind
                try:
                    os.unlink(sock)
                except OSError:
                    pass
            self.started = False
        if self._conf_dir:
            shutil.rmtree(self._conf_dir, ignore_errors=True)
            self._conf_dir = None

    def __enter__(self) -> "Tmux":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()


def _has_terminfo(name: str) -> bool:
    return subprocess.run(["infocmp", name], capture_output=True).returncode == 0 if shutil.which("infocmp") else False


def frame(shot: str) -> str:
    """A screen between rules, for messages and reports."""
    rows = shot.rstrip("\n").split("\n")
    return "\n".join(["┌" + "─" * 40, *("│" + r for r in rows), "└" + "─" * 40])


# -- the counter screen, step by step -------------------------------------------------------
def row_of(shot: str, label: str, within: int = 14) -> int | None:
    """The row of the counter form whose text contains ``label`` (the form is in the top rows)."""
    for i, line in enumerate(shot.split("\n")[:within]):
        if label in line:
            return i
    return None


def field_re(label: str, value: str) -> re.Pattern:
    return re.compile(re.escape(label) + r"\s+" + re.escape(value))


def wait_counter_ready(tm: Tmux, timeout: float = DEFAULT_TIMEOUT) -> str:
    """The counter's empty form is up and has stopped changing (its focus is set while it mounts)."""
    tm.wait_until(lambda s: re.search(r"证明名称\s+名称或拼音首字母", s) is not None and "输入证明名称（汉字" in s,
                  "the counter's empty form", timeout)
    return tm.wait_settled(timeout)


def title_re(jname: str) -> re.Pattern:
    """The top bar of a community of jurisdiction ``jname`` (optionally with a decision date)."""
    return re.compile(r"· " + re.escape(jname) + r"( \d{4}-\d{2}-\d{2})? ·")


def current_title(tm: Tmux) -> str:
    return tm.screen().split("\n", 1)[0]


def palette(tm: Tmux, command: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Ctrl+P, type the command's name, Enter on the first match."""
    tm.keys("C-p")
    tm.wait_for("搜索命令", timeout)
    tm.wait_settled(timeout)
    tm.type(command)
    # The search line shows what was typed and the first match sits under it.
    try:
        tm.wait_until(lambda s: s.count(command) >= 2, f"{command!r} matched in the palette", 2)
    except WaitTimeout:
        if "搜索命令" not in tm.screen():   # typed, but no match: a real failure
            raise
        tm.type(command)                               # lost before the search field had the focus
        tm.wait_until(lambda s: s.count(command) >= 2, f"{command!r} matched in the palette", timeout)
    tm.keys("Enter")


def choose(tm: Tmux, title: str, label: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """In a Choose dialog titled ``title``: Home, ↓ to the option whose whole label is ``label``, Enter."""
    shot = tm.wait_for(title, timeout)
    rows = shot.split("\n")
    top = next(i for i, r in enumerate(rows) if title in r)
    options: list[str] = []
    for r in rows[top + 1:]:
        # A notification may cover the dialog's right half: read up to the first gap.
        m = re.match(r"\s*█ ▊ (?:> |  )?(\S+(?: \S+)*)", r)  # "> " marks the highlighted choice
        if m and not m.group(1).startswith(("▁", "▔")):
            options.append(m.group(1).strip())
        elif options:
            break
    if label not in options:
        raise WaitTimeout(f"{label!r} is not among the choices {options}; screen:\n{frame(shot)}")
    tm.wait_settled(timeout)    # the list takes the focus just after it is drawn; keys before that are lost
    tm.keys("Home", *["Down"] * options.index(label), "Enter")


def set_jurisdiction(tm: Tmux, jname: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    if title_re(jname).search(current_title(tm)):
        return
    palette(tm, "切换辖区", timeout)
    choose(tm, "切换辖区（演示）", jname, timeout)
    tm.wait_until(lambda s: title_re(jname).search(s.split("\n", 1)[0]) is not None, f"the top bar to show {jname}",
                  timeout)
    wait_counter_ready(tm, timeout)


def set_date(tm: Tmux, date: str, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """决定日期: ``date`` is YYYY-MM-DD or "" (today). True if the top bar shows what was asked."""
    palette(tm, "决定日期", timeout)
    tm.wait_for("YYYY-MM-DD，留空为今天", timeout)
    tm.wait_settled(timeout)
    hint = "YYYY-MM-DD，留空为今天"

    def value(shot: str) -> str:
        rows = shot.split("\n")
        i = row_of(shot, hint, within=len(rows))
        return re.sub(r"^\s*█|█\s*$", "", rows[i + 1]).strip() if i is not None else ""

    # The dialog opens with the current date filled in: clear it, type, check, once more if lost.
    for attempt in range(3):
        tm.keys("Home", "C-k")
        tm.type(date)
        try:
            tm.wait_until(lambda s: value(s) == date, f"the date input to hold {date!r}", 2)
            break
        except WaitTimeout:
            if attempt == 2:
                raise
    tm.keys("Enter")
    tm.wait_gone("YYYY-MM-DD，留空为今天", timeout)
    want = (lambda t: f" {date} ·" in t) if date else (lambda t: re.search(r" \d{4}-\d{2}-\d{2} ·", t) is None)
    try:
        tm.wait_until(lambda s: want(s.split("\n", 1)[0]), f"the top bar's date to become {date or '(none)'}",
                      timeout=3 if not date else timeout)
    except WaitTimeout:
        return False
    wait_counter_ready(tm, timeout)
    return True


def new_request(tm: Tmux, timeout: float = DEFAULT_TIMEOUT) -> None:
    tm.keys("C-n")
    shot = wait_counter_ready(tm, timeout)
    row = row_of(shot, "证明名称")
    tm.wait_cursor(lambda x, y: y == row, "in 证明名称", timeout)


def ask(tm: Tmux, typed: str, suggestion: str | None, purpose: str = "", requester: str = "",
        timeout: float = DEFAULT_TIMEOUT, notes: list[str] | None = None) -> str:
    """Fill 证明名称 (taking ``suggestion`` if given), 用途 and 索要单位 and decide; the decision's screen."""
    tm.type(typed)
    try:
        tm.wait_for(field_re("证明名称", typed), timeout=min(timeout, 3))
    except WaitTimeout:
        if not re.search(r"证明名称\s+名称或拼音首字母", tm.screen()):
            raise
        if notes is not None:    # the keys reached the new screen before its focus was set
            notes.append(f"{typed!r} typed into a screen that had no focus yet; retyped")
        tm.type(typed)
    if suggestion:
        try:
            tm.wait_for(suggestion, timeout=min(timeout, 3))
        except WaitTimeout:
            # The pinyin table is built in a thread after the screen mounts; a query typed before it
            # is ready gets no suggestions until the next keystroke. Retype the last character.
            if notes is not None:
                notes.append(f"no suggestion for {typed!r} until it was retyped (pinyin not loaded yet)")
            tm.keys("BSpace")
            tm.type(typed[-1])
            tm.wait_for(suggestion, timeout)
    else:
        tm.wait_for(field_re("证明名称", typed), timeout)
    tm.press_and_follow("Enter", timeout)                    # → 用途
    if purpose:
        tm.type(purpose)
        tm.wait_for(field_re("用途", purpose), timeout)
    tm.press_and_follow("Enter", timeout)                    # → 索要单位
    if requester:
        tm.type(requester)
        tm.wait_for(re.compile(r"索要单位\s+" + re.escape(requester)), timeout)
    tm.keys("Enter")                                         # decide; the decision takes the focus
    return wait_decision(tm, timeout)


def wait_decision(tm: Tmux, timeout: float = DEFAULT_TIMEOUT) -> str:
    """A decision is shown and its panel has the focus (so y/n/o/r/p reach it)."""
    return tm.wait_until(lambda s: ANSWER_FOCUSED in s and re.search(r"r 登记|y 是　n 否|已登记", s) is not None,
                         "a decision with the focus on it", timeout)


def answer(tm: Tmux, key: str, timeout: float = DEFAULT_TIMEOUT) -> str:
    """Answer the question on screen with y or n; wait until the next question or the outcome replaces it."""
    before = tm.screen()
    m = re.search(r"问题（(\d+) 个待确认）：(.*)", before)
    if not m:
        raise WaitTimeout(f"no question to answer; screen:\n{frame(before)}")
    question = m.group(0)
    tm.keys(key)
    return tm.wait_until(lambda s: question not in s and ANSWER_FOCUSED in s, f"an answer to {question!r}", timeout)


def assert_facts(tm: Tmux, labels: list[str], timeout: float = DEFAULT_TIMEOUT) -> str:
    """``o``: tick each circumstance (by its label, e.g. 民商事主体明确要求) with Space and confirm with Enter."""
    tm.keys("o")
    title = "主张情形（"
    tm.wait_for(title, timeout)
    tm.wait_settled(timeout)    # the list takes the focus just after it is drawn
    for label in labels:
        tm.keys("Home")
        shot = tm.wait_settled(timeout)
        options = fact_options(shot)
        names = [o[0] for o in options]
        if label not in names:
            raise WaitTimeout(f"circumstance {label!r} is not among the visible options {names}; "
                              f"screen:\n{frame(shot)}")
        tm.keys(*["Down"] * names.index(label), "Space")
        tm.wait_until(lambda s: dict(fact_options(s)).get(label) is True, f"{label!r} ticked", timeout)
    shot = tm.screen()
    wrong = [n for n, ticked in fact_options(shot) if ticked and n not in labels]
    if wrong:
        raise AssertionError(f"ticked {wrong} by mistake; screen:\n{frame(shot)}")
    tm.keys("Enter")
    tm.wait_gone(title, timeout)
    return wait_decision(tm, timeout)


def fact_options(shot: str) -> list[tuple[str, bool]]:
    """The circumstances dialog's visible options as (label, ticked), top to bottom.

    An option is "[ ] label：question" or "[x] …", wrapped over several rows when long (the mark
    stays with its label); the highlighted one has "> " before it.
    """
    out: list[tuple[str, bool]] = []
    mark: bool | None = None
    for row in shot.split("\n"):
        m = re.match(r"\s*█ ▊ (?:> |  )?(.*?)\s*(?:▃▃|▁▁|▂▂|▅▅|▇▇)?\s*▎ █\s*$", row)
        if not m:
            continue
        text = m.group(1)
        b = re.match(r"\[( |x|X)\]\s*(.*)", text)
        if b:
            mark, text = b.group(1) != " ", b.group(2)
        if mark is not None and "：" in text:
            out.append((text.split("：", 1)[0].strip(), mark))
            mark = None
    return out


def record(tm: Tmux, name: str, id_number: str, timeout: float = DEFAULT_TIMEOUT) -> int:
    """``r`` with the resident's fields empty: the focus goes to 居民姓名; fill both, Enter records."""
    shot = tm.screen()
    name_row = row_of(shot, "居民姓名")
    tm.keys("r")
    tm.wait_for("登记前请填写居民姓名和身份证号", timeout)
    tm.wait_cursor(lambda x, y: y == name_row and x < 40, "in 居民姓名", timeout)
    tm.type(name)
    tm.wait_for(field_re("居民姓名", name), timeout)
    tm.wait_cursor(lambda x, y: y == name_row and x > 12, "after the name", timeout)
    tm.keys("Tab")
    tm.wait_cursor(lambda x, y: y == name_row and x >= 40, "in 身份证号", timeout)
    tm.type(id_number)
    tm.wait_for(field_re("身份证号", id_number), timeout)
    tm.keys("Enter")
    shot = tm.wait_for(re.compile(r"已登记：登记号 (\d+)"), timeout)
    wait_decision(tm, timeout)
    return int(re.search(r"已登记：登记号 (\d+)", shot).group(1))


def print_paper(tm: Tmux, timeout: float = DEFAULT_TIMEOUT) -> str:
    """``p``: the paper is made; return where it was saved (as the decision panel shows it) and close
    the lines with Esc."""
    tm.keys("p")
    shot = tm.wait_for("保存在：", timeout)
    tm.wait_for(re.compile(r"\d+ KB"), timeout)
    shot = tm.screen()
    m = re.search(r"已生成(\S+?)（", shot)
    # The path (relative to the community's home) may wrap until the keys line.
    rows = [r.strip() for r in shot.split("\n")]
    start = next(i for i, r in enumerate(rows) if "保存在：" in r)
    path = rows[start].split("保存在：", 1)[1].strip()
    for r in rows[start + 1:]:
        if "Esc 关闭" in r:
            break
        path += r.strip()
    tm.keys("Escape")
    tm.wait_gone("保存在：", timeout)
    wait_decision(tm, timeout)
    return f"{m.group(1) if m else '?'} → {path}"


# -- the acceptance walk ------------------------------------------------------------------------
@dataclass
class Example:
    number: int
    jurisdiction: str               # the name the TUI shows (全国, 重庆市, …)
    request: str                    # the certificate's name as the resident says it
    typed: str                      # what the clerk types into 证明名称
    suggestion: str | None          # the suggestion the clerk takes (None: no suggestion expected)
    outcome: str                    # the outcome label expected
    phrases: tuple[str, ...]        # key phrases the decision must show
    purpose: str = ""
    requester: str = ""
    date: str = ""                  # 决定日期, "" = today
    facts: tuple[str, ...] = ()     # circumstances asserted with o (labels)
    answers: tuple[str, ...] = ()   # y/n answers to the questions, in order
    paper: bool = False             # the counter prints a paper for this outcome


WORKED_EXAMPLES = (
    Example(1, "全国", "无犯罪记录证明", "wfzjl", "无犯罪记录证明 · 负面清单第5项", "不予出具",
            ("负面清单第5项", "办事途径", "公安"), paper=True),
    Example(2, "全国", "亲属关系证明", "qsgxzm", "亲属关系证明 · 负面清单第1项", "出具",
            ("负面清单第1项", "公证办理情况除外", "调查核实"), purpose="公证"),
    Example(3, "重庆市", "户口注销证明", "户口注销证明", "户口注销证明 → 居民身份信息证明", "不予出具",
            ("负面清单第2项", "居民身份信息证明", "渝民发〔2020〕27号"), paper=True),
    Example(4, "青海省", "居住证明", "居住证明", None, "告知承诺",
            ("告知承诺", "书面承诺书", "青民发〔2021〕103号"), date="2026-01-10", answers=("n",), paper=True),
    Example(5, "陕西省", "居民财产证明", "jmcczm", "居民财产证明 · 负面清单第17项", "据实出具",
            ("负面清单第17项", "登记留存", "充分评估并预先防范法律风险", "民商事主体明确要求"),
            facts=("民商事主体明确要求",), answers=("y", "y")),
)


@dataclass
class Walked:
    example: Example
    outcome: str = ""
    entry: int | None = None
    paper: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    screen: str = ""


def _date_back_to_today(tm: Tmux, was: str, notes: list[str], log, timeout: float) -> None:
    """决定日期 back to empty (= today). Falls back to today's date, with a note, if empty is ignored."""
    t0 = time.monotonic()
    if not set_date(tm, "", timeout):
        note = (f"决定日期: an empty date (留空为今天) is ignored, the top bar still shows {was}; "
                "set today's date instead")
        notes.append(note)
        log("note: " + note)
        if not set_date(tm, dt.date.today().isoformat(), timeout):
            raise WaitTimeout(f"could not set the decision date back to today; screen:\n{frame(tm.screen())}")
    log(f"decision date back to today ({time.monotonic() - t0:.1f} s)")


def outcome_shown(shot: str) -> str | None:
    """The outcome label at the head of the decision (the line under the rule, after any notes)."""
    labels = ("议事协商后出具", "据实出具", "告知承诺", "不予出具", "待补充", "出具")
    for line in shot.split("\n"):
        m = re.match(r"^\s+(\S+)\s{2,}\S", line)   # "  不予出具   无犯罪记录证明  （…）"
        if m and m.group(1) in labels:
            return m.group(1)
    return None


def walk_worked_examples(tm: Tmux, resident: tuple[str, str] = RESIDENT, examples=WORKED_EXAMPLES,
                         timeout: float = DEFAULT_TIMEOUT, log: Callable[[str], None] | None = None) -> list[Walked]:
    """Handle each worked example at the counter as a new clerk would; assert on what the screen shows.

    Starts from the counter screen of any demo community; switches jurisdiction (切换辖区) and the
    decision date (决定日期; back to empty, i.e. today, once the dated example is done) through the
    command palette. Each example is decided, recorded for ``resident`` and, where the outcome has a
    counter paper, printed. Returns what was seen; ``notes`` collect what a clerk would stumble on.
    """
    log = log or (lambda _msg: None)
    wait_counter_ready(tm, timeout)
    done: list[Walked] = []
    date_set = ""
    for k, ex in enumerate(examples):
        w = Walked(ex)
        t0 = time.monotonic()
        set_jurisdiction(tm, ex.jurisdiction, timeout)
        if ex.date and ex.date != date_set:
            if not set_date(tm, ex.date, timeout):
                raise WaitTimeout(f"example {ex.number}: the decision date did not become {ex.date}; screen:\n"
                                  f"{frame(tm.screen())}")
            date_set = ex.date
        if not re.search(r"证明名称\s+名称或拼音首字母", tm.screen()):
            new_request(tm, timeout)
        shot = ask(tm, ex.typed, ex.suggestion, ex.purpose, ex.requester, timeout, w.notes)
        if ex.facts:
            shot = assert_facts(tm, list(ex.facts), timeout)
        for key in ex.answers:
            shot = answer(tm, key, timeout)
        # A notification (toast) can cover the right half of the panel for a few seconds:
        # give the phrases time to show before calling them missing.
        try:
            shot = tm.wait_until(lambda s: outcome_shown(s) == ex.outcome and all(p in s for p in ex.phrases),
                                 f"{ex.outcome} with {list(ex.phrases)}", timeout)
        except WaitTimeout:
            shot = tm.screen()
        w.outcome = outcome_shown(shot) or ""
        missing = [p for p in ex.phrases if p not in shot]
        if w.outcome != ex.outcome or missing or "问题（" in shot:
            raise AssertionError(f"example {ex.number} ({ex.request}, {ex.jurisdiction}): expected {ex.outcome}"
                                 f" with {list(ex.phrases)}, saw {w.outcome or 'no outcome'}"
                                 f"{' missing ' + str(missing) if missing else ''}; screen:\n{frame(shot)}")
        w.screen = shot
        w.entry = record(tm, *resident, timeout=timeout)
        if ex.paper:
            w.paper = print_paper(tm, timeout)
        new_request(tm, timeout)
        following = examples[k + 1].date if k + 1 < len(examples) else ""
        if date_set and not following:
            _date_back_to_today(tm, date_set, w.notes, log, timeout)
            date_set = ""
        w.seconds = time.monotonic() - t0
        done.append(w)
        log(f"example {ex.number}: {ex.jurisdiction} {ex.request} → {w.outcome}, 登记号 {w.entry}"
            f"{', ' + w.paper if w.paper else ''} ({w.seconds:.1f} s)")
    return done
