"""What the TUI works on: the community, the register (file or service), the rules, who acts.

No community configured: the TUI opens a demo community under the user's data directory
(one per jurisdiction, so a trainer can switch between the worked examples) and says so.
In a demo community the acting person can be switched (the roles of the workflow) and the
decision date set; elsewhere the person is the server login and the date is today.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from sealdesk.core.register.community import (ConfigError, config_path, demo_community, load_community, resolve_home,
                                     save_community)
from sealdesk.core.desk.counter import Desk, os_login
from sealdesk.core.engine.model import Facts, Request
from sealdesk.core.engine.protocol import decide


def short_path(path: Path, room: int = 48) -> str:
    """``path`` for the banner: ``~`` for the home directory, and only its last parts when long
    (the banner has three lines at 80×24; ``sealdesk info`` shows the full path)."""
    text = str(path)
    home = os.path.expanduser("~")
    if home not in ("", "/") and text.startswith(home + os.sep):
        text = "~" + text[len(home):]
    if len(text) > room:
        parts = Path(text).parts
        tail = ""
        for part in reversed(parts):
            candidate = part if not tail else f"{part}/{tail}"
            if len(candidate) + 2 > room:
                break
            tail = candidate
        text = "…/" + tail
    return text


def demo_root() -> Path:
    import platformdirs

    return Path(os.environ.get("SEALDESK_DEMO_HOME") or Path(platformdirs.user_data_dir("sealdesk", appauthor=False)) / "demo")


class Session:
    def __init__(self, home: str | os.PathLike | None = None, as_login: str | None = None, registry=None,
                 socket: str | None = None):
        self._registry = registry
        self._io = self._io_desk = self._io_home = None  # the register thread (submit) and its desk
        self.socket = socket or os.environ.get("SEALDESK_SOCKET") or None
        self.notice = ""  # one line for the banner: why this community
        # With --home every file is under it, the demo communities of 切换辖区 too.
        self.demo_base = Path(resolve_home(home)) / "demo" if home else None
        home = resolve_home(home)
        if not config_path(home).exists() and not self.socket:
            home = self._demo_home("national")
            self.notice = f"未配置社区，使用演示社区（数据在 {short_path(home)}）"
        self._open(home)
        self.as_login = as_login if (as_login and self.community.demo) else None
        if self.community.demo and not self.as_login:
            self.as_login = "clerk"
        self.on: dt.date | None = None  # demo only: the decision date
        self.sandbox = False  # sealdesk demo/train: a temporary register, deleted on exit
        self.trainee: str | None = None  # sealdesk train: who answers (shown in the top bar)
        self._suggester = None

    @property
    def registry(self):
        # Loaded on first use (plugins, TOML: ~70 ms), after the first frame is on the screen.
        if self._registry is None:
            from sealdesk.core.engine.plugins import default_registry

            self._registry = default_registry()
        return self._registry

    @property
    def registry_loaded(self) -> bool:
        return self._registry is not None

    def _demo_home(self, jid: str) -> Path:
        home = (self.demo_base or demo_root()) / jid
        if not config_path(home).exists():
            save_community(demo_community(home, jid, self.registry.jurisdictions[jid].name))
        return home

    def _open(self, home: Path) -> None:
        self.home = Path(home)
        self.community = load_community(self.home)
        self.desk = self._new_desk()
        self._suggester = None

    def _new_desk(self):
        if self.socket or self.community.socket:
            from sealdesk.core.desk.service import RemoteDesk

            return RemoteDesk(self.socket or self.community.socket)
        return Desk(self.home, registry=self._registry, community=self.community)

    def close(self) -> None:
        if self._io is not None:
            self.stop_waiting()
            self._io.shutdown(wait=True, cancel_futures=True)
            self._io = None
        if self._io_desk is not None:
            self._io_desk.close()
            self._io_desk = None
        self.desk.close()

    # -- who and when -------------------------------------------------------------------
    @property
    def login(self) -> str:
        return self.as_login or os_login()

    @property
    def person(self):
        return self.community.person(self.login)

    def who(self) -> str:
        if self.trainee:
            return f"学员：{self.trainee}"
        p = self.person
        return f"{p.name}（{p.role_labels}）" if p else f"{self.login}（不在人员名单中）"

    def switch_person(self, login: str) -> None:
        if not self.community.demo:
            raise ConfigError("只有演示社区可以切换身份；本社区以服务器登录名识别人员")
        self.as_login = login

    def switch_jurisdiction(self, jid: str) -> None:
        """Demo only: open the demo community of another jurisdiction (its own register)."""
        if not self.community.demo:
            raise ConfigError("只有演示社区可以切换辖区")
        self.desk.close()
        home = self._demo_home(jid)
        self._open(home)
        if not self.sandbox:  # a sandbox keeps its notice: everything is still deleted on exit
            self.notice = f"演示社区（数据在 {short_path(home)}）"

    @property
    def today(self) -> dt.date:
        return self.on or dt.date.today()

    # -- rules -----------------------------------------------------------------------------
    def view(self):
        """The rules in force; raises BrokenJurisdiction when the jurisdiction's plugin failed (at load,
        or a rule of it raised since): the screens then say 不可用 and why instead of deciding."""
        return self.registry.view(self.community.jurisdiction, self.today)

    def unavailable(self) -> str | None:
        """One line, 辖区 X 不可用：<plugin, file:line, why>, when the community's jurisdiction cannot
        decide; None when it can (or the rules are not loaded yet)."""
        if not self.registry_loaded:
            return None
        from sealdesk.core.engine.plugins import BrokenJurisdiction

        reg, jid = self.registry, self.community.jurisdiction
        if jid in reg.broken:
            return str(BrokenJurisdiction(jid, reg.reason(jid)))
        if jid not in reg.jurisdictions:
            return f"辖区 {jid} 未安装（已安装：{'、'.join(reg.ids())}）"
        return None

    @property
    def suggester(self):
        from sealdesk.core.engine.suggest import Suggester

        if self._suggester is None or self._suggester_on != self.today:
            self._suggester = Suggester(self.view())
            self._suggester_on = self.today
        return self._suggester

    def preview(self, query: str, purpose: str, requester: str, facts: dict):
        """The decision without recording it: what the clerk sees before the resident's details."""
        return decide(self.view(), Request(query, purpose, requester, Facts(facts)))

    def register_problem(self) -> str | None:
        """Why recording will fail, found at start without opening the register (the banner says it
        before a clerk has typed a whole request): a register file or directory this user cannot write."""
        if self.socket or self.community.socket or self.community.register_url:
            return None
        path = self.community.register_path
        folder = path.parent
        try:
            exists = path.exists()
        except PermissionError:
            return f"无权访问登记簿 {path}（所在目录不允许本账号进入）：请联系管理员"
        if exists:
            if not os.access(path, os.R_OK):
                return f"无权读取登记簿 {path}：请联系管理员"
            if not os.access(path, os.W_OK):
                return f"登记簿 {path} 只读：只能查看，不能登记"
            if not os.access(folder, os.W_OK):
                return f"登记簿所在目录 {folder} 只读：只能查看，不能登记"
        elif folder.exists() and not os.access(folder, os.W_OK):
            return f"无法在 {folder} 建立登记簿（目录只读）：不能登记"
        return None

    def lapsed(self) -> list[str]:
        view = self.view()
        return [f"{d.number} 已于 {d.effective_until} 失效，按上级文件决定" for d in view.lapsed]

    def request(self, query, purpose, requester, facts, name, id_number, desk=None) -> dict:
        return (desk or self.desk).request(query, purpose=purpose, requester=requester, facts=facts,
                                           resident_name=name, resident_id=id_number, on=self.on,
                                           as_login=self.as_login)

    # -- the register, off the screen's thread -------------------------------------------------
    # Writes (and printing, which records the paper) run on one thread of their own, with a desk
    # (a register connection) of its own: a register another program holds then makes the clerk
    # wait with a message and Esc, instead of freezing the screen (issue 16). One at a time, in
    # the order asked.
    def submit(self, fn):
        """Run ``fn(desk)`` on the register thread; a ``concurrent.futures.Future``."""
        import concurrent.futures

        if self._io is None:
            self._io = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sealdesk-register")
        return self._io.submit(self._on_io_thread, fn)

    def _on_io_thread(self, fn):
        import threading

        if self._io_desk is None or self._io_home != self.home:
            if self._io_desk is not None:
                self._io_desk.close()
            self._io_desk, self._io_home = self._new_desk(), self.home
        reg = self._io_desk.register if isinstance(self._io_desk, Desk) else None
        if reg is not None and hasattr(reg, "stop"):
            reg.cancel = threading.Event()  # a fresh one per call: Esc stops this wait only
        return fn(self._io_desk)

    @property
    def can_stop(self) -> bool:
        """Whether a wait can be stopped (the register file; not a request the service has taken)."""
        return self._io_desk is None or isinstance(self._io_desk, Desk)

    def waiting(self) -> bool:
        """Whether the register thread is waiting for the register (held by another program), as
        opposed to working; through the service, whether an answer is late (we cannot tell why)."""
        desk = self._io_desk
        if desk is None:
            return False
        if not isinstance(desk, Desk):  # the service's client
            return True  # asked only after a moment without an answer
        reg = getattr(desk, "_register", None)
        return bool(getattr(reg, "waiting", False))

    def stop_waiting(self) -> None:
        reg = getattr(self._io_desk, "_register", None)
        if reg is not None and hasattr(reg, "stop"):
            reg.stop()
