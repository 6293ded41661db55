"""``sealdesk web`` (issue 19): the real server, driven by a real browser (Debian's Chromium through
playwright), a trainee answering the quiz with the keyboard; each tab its own process and sandbox; and
the command's one-line refusals (bad lesson, port in use) and its warning for a non-loopback --host."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SEALDESK = [sys.executable, "-m", "sealdesk.core.cli"]
CHROMIUM = "/usr/bin/chromium"
# The closed network refuses Chromium's background connections; without these it waits on them.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
QUESTION = "这份申请应当如何处理？"
ROUTE_QUESTION = "办事途径）？"

# Reading the page: textual-serve's textual.js draws with xterm.js's WebGL (or canvas) renderer, so the
# DOM holds no text, and it keeps its Terminal in a closure. The test serves textual.js with one change,
# the Terminal also kept as window.__term, and reads xterm's own buffer: the cells the page shows.
EXPOSE = ("this.terminal.open(e)", "this.terminal.open(e),window.__term=this.terminal")
SCREEN_JS = """() => {
  const t = window.__term;
  if (!t) return "";
  const b = t.buffer.active, rows = [];
  for (let i = 0; i < t.rows; i++) { const l = b.getLine(b.viewportY + i); rows.push(l ? l.translateToString(true) : ""); }
  return rows.join("\\n");
}"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    (tmp_path / "home").mkdir(exist_ok=True)
    env["SEALDESK_HOME"] = str(tmp_path / "home")  # never the machine's community
    env["SEALDESK_SOCKET"] = str(tmp_path / "service.sock")  # must not reach the tabs
    return env


def _group(pgid: int) -> list[tuple[int, int, str]]:
    """(pid, parent pid, command line) of every live process in the process group."""
    out = subprocess.run(["ps", "-ww", "-o", "pid=,ppid=,stat=,args=", "-g", str(pgid)], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        pid, ppid, stat, args = line.split(None, 3)
        if not stat.startswith("Z"):
            rows.append((int(pid), int(ppid), args))
    return rows


class Server:
    """``sealdesk web …`` in a process group of its own, stopped (the whole group) by :meth:`stop`."""

    def __init__(self, tmp_path: Path, *args: str):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.proc = subprocess.Popen([*SEALDESK, "web", *args, "--port", str(self.port)], env=_env(tmp_path),
                                     cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"sealdesk web ended: {self.proc.communicate()}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise AssertionError("sealdesk web did not listen within 30 s")

    def stop(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            out = self.proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            out = self.proc.communicate()
        deadline = time.monotonic() + 10  # the tabs' processes end after the server (their sandboxes removed)
        while _group(self.proc.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)  # nothing stays behind, whatever the test found
        return out


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright 未安装（pip install -e '.[test]'）")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} 不存在（apt-get install chromium）")
    with playwright.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Exception as exc:  # playwright's own Error: the browser could not start here
            pytest.skip(f"Chromium 无法启动：{str(exc).splitlines()[0]}")
        yield b
        b.close()


class Tab:
    def __init__(self, browser, url: str):
        self.page = browser.new_page(viewport={"width": 1000, "height": 640})

        def expose(route):
            response = route.fetch()
            body = response.text()
            assert EXPOSE[0] in body, "textual-serve's textual.js no longer creates its terminal as expected"
            route.fulfill(response=response, body=body.replace(*EXPOSE, 1))

        self.page.route("**/static/js/textual.js", expose)
        self.page.goto(url)

    def screen(self) -> str:
        return self.page.evaluate(SCREEN_JS)

    def wait_for(self, *texts: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            for t in texts:
                if t in screen:
                    return t
            time.sleep(0.1)
        raise AssertionError(f"none of {texts} on the page after {timeout} s:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self.page.focus(".xterm-helper-textarea")  # where xterm.js takes the keyboard; a click would be a mouse event
        for k in keys:
            self.page.keyboard.press(k)

    def start(self, name: str) -> None:
        """Past the name screen (typed in Chinese, as a trainee would), to the first question."""
        if self.wait_for("请输入姓名", QUESTION) == "请输入姓名":
            # No click or focus first: the page gives the terminal the keyboard, as a trainee expects.
            self.page.keyboard.type(name)
            self.wait_for(name)
            self.keys("Enter")
        self.wait_for(QUESTION)

    def answer_first(self, *moves: str) -> str:
        """Answers the outcome (after ``moves``) and, where asked, the route; returns the feedback screen."""
        self.keys(*moves, "Enter")
        if self.wait_for("正确答案", ROUTE_QUESTION) == ROUTE_QUESTION and "正确答案" not in self.screen():
            self.keys("Enter")
            self.wait_for("正确答案")
        return self.screen()


def _results(folder: Path) -> list[dict]:
    """The start line of every results file in ``folder``, with the answers that followed it."""
    out = []
    for f in sorted(folder.glob("*.jsonl")):
        lines = [json.loads(x) for x in f.read_text(encoding="utf-8").splitlines() if x.strip()]
        out.append({**lines[0], "answers": [x for x in lines if x["kind"] == "answer"]})
    return out


def test_a_trainee_answers_the_quiz_in_the_browser(browser, tmp_path):
    results = tmp_path / "results"
    server = Server(tmp_path, "jilin-basics", "--results", str(results))
    try:
        tab = Tab(browser, server.url)
        tab.start("网页学员")
        assert "第 1/3 题" in tab.screen()
        feedback = tab.answer_first("ArrowDown", "ArrowDown", "ArrowDown", "ArrowDown")  # 不予出具, the 5th
        assert "正确答案" in feedback and "你的" in feedback, feedback
        assert "不予出具" in feedback
        tab.page.screenshot(path=str(tmp_path / "feedback.png"))  # for a person looking into a failure
        [attempt] = _results(results)
        assert attempt["trainee"] == "网页学员" and attempt["lesson"] == "jilin-basics"
        assert [a["chosen"] for a in attempt["answers"]] == ["refuse"]
    finally:
        out, err = server.stop()
    assert out.splitlines()[:2] == [f"训练网页已启动：http://127.0.0.1:{server.port} （Ctrl+C 停止）",
                                    f"成绩保存在：{results}（查看：sealdesk results {results}）"], out
    assert "Traceback" not in out + err and not err.strip(), err


def test_two_tabs_are_two_trainees_each_with_a_process_and_sandbox(browser, tmp_path):
    results = tmp_path / "results"
    server = Server(tmp_path, "jilin-basics", "--results", str(results))
    try:
        tabs = {name: Tab(browser, server.url) for name in ("学员甲", "学员乙")}
        for name, tab in tabs.items():
            tab.start(name)
        tabs["学员甲"].answer_first()  # 出具: wrong
        tabs["学员乙"].answer_first("ArrowDown")  # 议事协商后出具: each tab its own answer
        attempts = {a["trainee"]: a for a in _results(results)}
        assert set(attempts) == {"学员甲", "学员乙"}
        assert all(len(a["answers"]) == 1 for a in attempts.values())

        # One quiz process per tab, each started by the server.
        procs = _group(server.proc.pid)
        quizzes = [pid for pid, ppid, args in procs if args.endswith("train jilin-basics --ask-trainee "
                                                                     f"--results {results}")]
        assert len(quizzes) == 2 and quizzes[0] != quizzes[1], procs
        # What each tab's process was given: an empty home of the server's own, no register service, UTF-8.
        homes = set()
        for pid in quizzes:
            env = dict(v.split("=", 1) for v in
                       Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0") if "=" in v)
            assert "SEALDESK_SOCKET" not in env and env["SEALDESK_HOME"] != str(tmp_path / "home")
            assert re.search(r"utf-?8", env.get("LC_ALL") or env.get("LC_CTYPE") or env.get("LANG", ""), re.I)
            assert env.get("TERM")
            homes.add(env["SEALDESK_HOME"])
        [home] = homes
        assert Path(home).is_dir() and not any(Path(home).iterdir())
    finally:
        out, err = server.stop()
    assert not Path(home).parent.exists(), "the server's temporary directory outlived it"
    assert not _group(server.proc.pid)
    assert "Traceback" not in out + err


def test_the_demo_in_the_browser(browser, tmp_path):
    server = Server(tmp_path, "--demo", "jilin-basics")
    try:
        tab = Tab(browser, server.url)
        tab.wait_for("演示沙盒")
        assert "吉林" in tab.screen()
        assert tab.page.title() == "sealdesk 演示：吉林：清单之外不得索要证明"
    finally:
        out, err = server.stop()
    assert out.startswith("演示网页已启动："), out


def _run(tmp_path, *args, timeout=60):
    return subprocess.run([*SEALDESK, "web", *args], env=_env(tmp_path), cwd=tmp_path, capture_output=True,
                          text=True, timeout=timeout)


def _one_chinese_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1 and re.search(r"[\u4e00-\u9fff]", lines[0]) and "Traceback" not in text, text
    return lines[0]


def test_a_bad_lesson_is_one_line_and_exit_2(tmp_path):
    r = _run(tmp_path, "jilin-basic", "--port", str(_free_port()))
    assert r.returncode == 2 and r.stdout == ""
    assert "jilin-basics" in _one_chinese_line(r.stderr)  # the nearest shipped lesson is suggested
    r = _run(tmp_path, "--port", str(_free_port()))  # a quiz needs its lesson
    assert r.returncode == 2 and "sealdesk scenarios" in _one_chinese_line(r.stderr)
    r = _run(tmp_path, "jilin-basics", "--trainee", " ", "--port", str(_free_port()))  # not every tab failing
    assert r.returncode == 2 and "--trainee" in _one_chinese_line(r.stderr)


def test_a_port_in_use_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        r = _run(tmp_path, "jilin-basics", "--port", str(s.getsockname()[1]))
    assert r.returncode == 2 and r.stdout == ""
    assert "已被占用" in _one_chinese_line(r.stderr)


def test_a_host_beyond_this_machine_is_warned_about(tmp_path):
    port = _free_port()
    proc = subprocess.Popen([*SEALDESK, "web", "jilin-basics", "--host", "0.0.0.0", "--port", str(port)],
                            env=_env(tmp_path), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        warning = proc.stderr.readline()
        started = proc.stdout.readline()
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl+C: stops quietly
        out, err = proc.communicate(timeout=30)
    assert "警告" in warning and "任何人" in warning and "登记簿" in warning, warning
    assert started.startswith("训练网页已启动：http://") and str(port) in started
    assert proc.returncode == 0 and "Traceback" not in out + err and not err.strip(), err
