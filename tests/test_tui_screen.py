"""The clerk's screen says everything in Chinese, follows who acts, and keeps to --home (issue 16)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from sealdesk.core.register.community import config_path, demo_community, save_community
from sealdesk.tui.app import SealdeskApp
from sealdesk.tui.session import Session

from test_tui import SIZE, screen_text


@pytest.fixture
def demo_app(tmp_path, registry):
    home = tmp_path / "home"
    save_community(demo_community(home, "national", registry.jurisdictions["national"].name))
    return SealdeskApp(Session(home, as_login="clerk", registry=registry))


async def test_the_header_follows_a_switch_of_identity_found_by_pinyin(demo_app):
    app = demo_app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "经办人" in screen_text(app).split("\n")[0] or "经办" in screen_text(app)[:200]
        await pilot.press("ctrl+p", *"qhsf")  # 切换身份 by its pinyin initials
        await pilot.pause(0.3)
        assert "切换身份" in screen_text(app)
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "enter")  # the next person: the director
        await pilot.pause()
        assert app.session.login == "director"
        top = screen_text(app)[:160]
        assert app.session.person.name in top and "负责人" in top, top


async def test_the_palette_speaks_chinese(demo_app):
    app = demo_app
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("ctrl+p")
        await pilot.pause(0.3)
        shot = screen_text(app)
        assert "搜索命令" in shot and "Search for commands" not in shot


def test_ctrl_c_says_in_chinese_how_to_quit(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_tui_keys import Pty, SEALDESK

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": "xterm-256color",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "SEALDESK_HOME": str(tmp_path / "h"),
           "SEALDESK_DEMO_HOME": str(tmp_path / "demo"), "XDG_STATE_HOME": str(tmp_path / "state")}
    p = Pty([str(SEALDESK)], env)
    try:
        p.wait(lambda s: "输入居民所要的证明名称" in s, "the counter")
        p.settled()
        p.write("\x1bOR")  # F3: the register, no text field focused
        p.wait(lambda s: "校验" in s or "登记号" in s, "the register screen")
        p.write("\x03")
        shot = p.wait(lambda s: "Ctrl+Q" in s and "退出" in s, "the quit hint")
        assert "Do you want" not in shot and "Press" not in shot
    finally:
        p.close()


def test_switching_jurisdiction_keeps_to_home(tmp_path, registry, monkeypatch):
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv("SEALDESK_DEMO_HOME", str(elsewhere))
    home = tmp_path / "given"
    s = Session(home, registry=registry)  # --home with no community: the demo, under --home
    assert s.home == home / "demo" / "national"
    s.switch_jurisdiction("jilin")
    assert s.home == home / "demo" / "jilin" and config_path(s.home).exists()
    s.close()
    assert not elsewhere.exists()


def test_sealdesk_with_only_home_opens_the_screen(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from test_tui_keys import CTRL_Q, SEALDESK, Pty

    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "TERM": "xterm-256color",
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "XDG_STATE_HOME": str(tmp_path / "state")}
    p = Pty([str(SEALDESK), "--home", str(tmp_path / "h")], env)
    try:
        p.wait(lambda s: "输入居民所要的证明名称" in s, "the counter, not the help")
        assert (tmp_path / "h" / "demo" / "national" / "community.toml").exists()
        p.write(CTRL_Q)
        assert p.proc.wait(timeout=20) == 0
    finally:
        p.close()
