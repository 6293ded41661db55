"""The real ``sealdesk`` TUI in a real terminal: tmux at 80×24, keys in, screen text out.

The Pilot tests (test_tui.py) drive the app in-process; these start the installed command
the way a clerk's login does and read what the terminal shows. The SSH version of the
worked-examples walk is ``bench/tui_ssh_walkthrough.py``.
"""

from __future__ import annotations

import re
import sys
import time
import warnings
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import tui_walk  # noqa: E402
from tui_walk import Tmux, ask, set_date, wait_counter_ready, walk_worked_examples  # noqa: E402

pytestmark = pytest.mark.skipif(not tui_walk.tmux_available(), reason="tmux is not installed")

ROOT = Path(__file__).resolve().parents[1]
SEALDESK = ROOT / ".venv" / "bin" / "sealdesk"
if not SEALDESK.exists():  # installed elsewhere: the one next to this interpreter
    SEALDESK = Path(sys.executable).with_name("sealdesk")


@pytest.fixture
def tui(tmp_path, request):
    """``tui(**env)`` starts the real app in tmux (80×24) on fresh homes and returns the Tmux."""
    sessions: list[Tmux] = []

    def start(**env: str) -> Tmux:
        home, demo = tmp_path / "home", tmp_path / "demo"  # home has no community.toml: demo fallback
        home.mkdir(exist_ok=True)
        demo.mkdir(exist_ok=True)
        name = re.sub(r"\W", "-", request.node.name)[:40] + f"-{len(sessions)}"
        tm = Tmux(name, 80, 24)
        sessions.append(tm)
        tm.start([str(SEALDESK)], env={"SEALDESK_HOME": str(home), "SEALDESK_DEMO_HOME": str(demo),
                                       "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "tmux-256color", **env})
        return tm

    yield start
    for tm in sessions:
        tm.kill()


def _warn(notes: list[str]) -> None:
    for note in notes:
        warnings.warn(f"TUI: {note}", stacklevel=2)


def _refusal_then_quit(tm: Tmux) -> str:
    wait_counter_ready(tm)
    notes: list[str] = []
    shot = ask(tm, "wfzjl", "无犯罪记录证明 · 负面清单第5项", notes=notes)
    _warn(notes)
    assert re.search(r"证明名称\s+无犯罪记录证明", shot), shot
    assert tui_walk.outcome_shown(shot) == "不予出具", shot
    assert "公安" in shot.split("办事途径", 1)[1], shot
    tm.keys("C-q")
    assert tm.wait_exit(10) == 0
    return shot


def test_smoke_wfzjl_refused_and_quit(tui):
    tm = tui()
    shot = wait_counter_ready(tm)
    assert "未配置社区，使用演示社区" in shot  # SEALDESK_HOME has no community: the demo, said so
    _refusal_then_quit(tm)


def test_readable_on_linux_console(tui):
    """TERM=linux: 16 colours, no 256/true colour sequences, and the same words on screen."""
    tm = tui(TERM="linux")
    wait_counter_ready(tm)
    styled = tm._tmux("capture-pane", "-p", "-e", "-t", tm.target)
    assert not re.search(r"\x1b\[[0-9;]*[34]8;[25];", styled), "256-colour or true-colour sequences on TERM=linux"
    shot = _refusal_then_quit(tm)
    assert "�" not in shot


def test_worked_examples_in_tmux(tui):
    """DOMAIN.md's five worked examples at the counter, locally (bench/tui_ssh_walkthrough.py: over SSH)."""
    tm = tui()
    t0 = time.monotonic()
    walked = walk_worked_examples(tm, timeout=20)
    elapsed = time.monotonic() - t0
    assert [w.outcome for w in walked] == ["不予出具", "出具", "不予出具", "告知承诺", "据实出具"]
    assert all(w.entry for w in walked)
    assert [bool(w.paper) for w in walked] == [True, False, True, True, False]
    for w in walked:
        _warn(w.notes)
    assert elapsed < 90, f"the walk took {elapsed:.0f} s"
    tm.keys("C-q")
    assert tm.wait_exit(10) == 0


def test_decision_date_back_to_today(tui):
    tm = tui()
    wait_counter_ready(tm)
    assert set_date(tm, "2026-01-10")
    assert set_date(tm, ""), tm.screen()


def test_demo_and_train_in_tmux(tmp_path, request):
    """A trainer's two commands in a real terminal: the demo steps through a scenario and
    deletes its sandbox on Ctrl+Q; the quiz marks an answer and sums up."""
    env = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "TERM": "tmux-256color", "TMPDIR": str(tmp_path),
           "XDG_DATA_HOME": str(tmp_path / "data")}  # the quiz's results go to the user's data folder
    with Tmux(re.sub(r"\W", "-", request.node.name)[:40] + "-demo", 80, 24) as tm:
        tm.start([str(SEALDESK), "demo", "national-basics"], env=env)
        tm.wait_for("F6 开始")
        assert list(tmp_path.glob("sealdesk-demo-*"))  # the sandbox exists while the demo runs
        tm.wait_settled()
        tm.keys("F6")
        shot = tm.wait_for("案例 1/4")
        tm.wait_for("✓ 与决定一致")
        assert "不予出具" in tm.screen() and "公安" in tm.screen()
        tm.keys("F6")
        tm.wait_for("案例 2/4")
        tm.keys("C-q")
        assert tm.wait_exit() == 0
    assert not list(tmp_path.glob("sealdesk-demo-*")), shot
    with Tmux(re.sub(r"\W", "-", request.node.name)[:40] + "-train", 80, 24) as tm:
        tm.start([str(SEALDESK), "train", "jilin-basics"], env=env)
        tm.wait_for("第 1/3 题")
        tm.wait_settled()
        for _ in range(3):  # 不予出具 (the last choice) every time; then the first route offered
            shot = tm.wait_for("如何处理")
            tm.keys("End", "Enter")
            shot = tm.wait_until(lambda s: "办事途径）？" in s or "回答" in s, "the route question or the mark")
            if "办事途径）？" in shot:
                tm.wait_settled()
                tm.keys("Enter")
            tm.wait_for("正确答案")
            tm.wait_settled()
            tm.keys("Enter")
        shot = tm.wait_for("训练结束")
        assert re.search(r"得分：处理结果 \d+/3 题　办事途径 \d+/\d+ 题", shot) and "出生证明" in shot
        (results,) = (tmp_path / "data" / "sealdesk" / "training-results").glob("jilin-basics--*.jsonl")
        assert "成绩已记录在" in shot and results.name in shot
        tm.keys("C-q")
        assert tm.wait_exit() == 0


def test_near_items_are_listed_and_picked_with_a_digit_in_tmux(tui):
    """关系证明 at 80×24 in a real terminal: both items, numbered, and 0, on screen with their keys;
    2 decides 婚姻状况证明."""
    tm = tui()
    wait_counter_ready(tm)
    tm.type("关系证明")
    tm.wait_for(tui_walk.field_re("证明名称", "关系证明"))
    tm.keys("F5")
    shot = tm.wait_for("0 都不是（按未列入清单事项办理）")
    for line in ("1 亲属关系证明（负面清单第1项）", "2 婚姻状况证明（负面清单第8项）"):
        assert line in shot, shot
    shot = tm.wait_for("1-2 选择 0 都不是")  # the footer (bottom line) names the keys
    footer = [line for line in shot.split("\n") if line.strip()][-1]
    assert "1-2 选择" in footer and "0 都不是" in footer and "y 是" not in footer, footer
    assert tui_walk.outcome_shown(shot) == "待补充", shot
    tm.keys("2")
    shot = tm.wait_for("居民原说：“关系证明”")
    assert re.search(r"证明名称\s+婚姻状况证明", shot) and tui_walk.outcome_shown(shot) == "不予出具", shot
    assert "民政" in shot.split("办事途径", 1)[1], shot
    tm.keys("C-q")
    assert tm.wait_exit(10) == 0
