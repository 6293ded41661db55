"""sealdesk's clerk TUI: the counter, the register and the lists, keyboard only, 80×24 and up.

Screens live in ``screens/``, widgets in ``widgets/``, styles in ``app.tcss``. Everything the
TUI does goes through :class:`~sealdesk.tui.session.Session` to the same Desk the CLI uses.
"""

from __future__ import annotations

import collections
import itertools
import os

from textual import events
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.command import CommandPalette
from textual.dom import NoScreen

from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import Refused

from .screens.counter import CounterScreen
from .screens.dialogs import Choose, Message, Waiting
from .commands import PinyinCommands
from .session import Session
from .widgets.field import ordered_key


# The register and lists screens (DataTable and their modules) are imported on first visit:
# the counter is what a clerk sees first, and every import delays it (bench/tui_bench.py).
def register_screen():
    from .screens.register import RegisterScreen

    return RegisterScreen()


def lists_screen():
    from .screens.lists import ListsScreen

    return ListsScreen()


class SafePalette(CommandPalette):
    """Textual 8.2's palette dismisses itself twice when Enter is pressed twice in a burst
    (a double tap, or a slow link) and the app dies with ScreenStackError; once is enough."""

    def _select_or_command(self, event=None) -> None:
        if self.app.screen is not self:
            return
        super()._select_or_command(event)

    def dismiss(self, result=None):
        if self.app.screen is not self:
            return None
        return super().dismiss(result)

    def _start_no_matches_countdown(self, search_value: str) -> None:
        # Textual's "No matches found", in the clerk's language (the same steps otherwise).
        from rich.align import Align
        from rich.text import Text
        from textual.command import CommandList
        from textual.widgets.option_list import Option

        self._stop_no_matches_countdown()

        def show() -> None:
            if search_value:
                self.query_one(CommandList).add_option(Option(
                    Align.center(Text("没有匹配的命令（可输入汉字、拼音首字母或全拼）", style="not bold")),
                    disabled=True, id=self._NO_MATCHES))
                self._list_visible = True
            else:
                self._list_visible = False

        self._no_matches_timer = self.set_timer(self._NO_MATCHES_COUNTDOWN, show)


class SealdeskApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "sealdesk 用印台"
    COMMANDS = {PinyinCommands}  # Textual's system commands, found by pinyin too (commands.py)
    MODES = {"counter": CounterScreen, "register": register_screen, "lists": lists_screen}
    DEFAULT_MODE = "counter"
    BINDINGS = [
        Binding("f1", "help", "帮助"),
        Binding("f2", "switch_mode('counter')", "受理"),
        Binding("f3", "switch_mode('register')", "登记簿"),
        Binding("f4", "switch_mode('lists')", "清单"),
        Binding("ctrl+q", "quit", "退出", show=False),  # in the help screen and the palette: the footer is for work keys
        Binding("ctrl+p", "command_palette", "命令", show=False, priority=True),
    ]

    def __init__(self, session: Session, scenario=None):
        super().__init__()
        self.session = session
        self.first_frame_shown = False
        self.scenario = scenario  # sealdesk demo: the cases the counter steps through (F6/F7)
        self.demo_log: list = []  # sealdesk demo: each request decided, for 保存为演示案例
        self.demo_slots: dict = {}  # sealdesk demo: where each request is in demo_log (CounterScreen._log_demo)
        self.demo_requests = itertools.count(1)  # sealdesk demo: numbers the requests begun at the counter
        self.demo_case: int | None = None  # sealdesk demo: the case a rebuilt counter shows first
        # Lines in ASCII (community.toml [tui] ascii_borders, or SEALDESK_ASCII_BORDERS=1 for one terminal).
        self.ascii_borders = (os.environ.get("SEALDESK_ASCII_BORDERS", "").lower() in ("1", "true", "yes")
                              or session.community.ascii_borders)
        if self.ascii_borders:
            self.add_class("-ascii")
        self._register_calls = 0  # writes on the register thread not yet answered
        self._held_keys: collections.deque = collections.deque()

    async def on_event(self, event: events.Event) -> None:
        # Keys are run one at a time, each to its end, in the order typed (widgets/field.py): the
        # same steps as App.on_event's, but a key is handled here rather than queued on a widget.
        # While the register thread writes (register_call), keys typed behind it wait for its answer
        # (held, then run in order), but for the waiting dialog's own Esc.
        if isinstance(event, events.Key) and not event.is_forwarded:
            if (self._register_calls or self._held_keys) and not isinstance(self.screen, Waiting):
                self._held_keys.append(event)
                return
            await self._run_key(event)
            return
        await super().on_event(event)

    async def _replay_keys(self) -> None:
        while self._held_keys and not self._register_calls:
            await self._run_key(self._held_keys.popleft())

    async def _run_key(self, event: events.Key) -> None:
        self.app_focus = True
        if self.screen.maximized is not None and event.key == "escape" and self.escape_to_minimize:
            self.screen.minimize()
            return
        if self.focused:
            try:
                self.screen._clear_tooltip()
            except NoScreen:
                pass
        if await self._check_bindings(event.key, priority=True) or await ordered_key(self, event):
            return
        (self.focused or self.screen)._forward_event(event)

    def _fatal_error(self) -> None:
        # Textual prints the traceback with every local variable (ID numbers among them) to the
        # terminal on exit. Here: the log (masked, no locals) and one Chinese line.
        import sys

        from rich.text import Text

        from sealdesk.core.common.errorlog import log_exception

        error = sys.exc_info()[1] or self._exception
        log = log_exception("sealdesk tui", error)
        self.bell()
        self._exit_renderables.append(Text(
            "sealdesk: 内部错误，受理界面已退出" + (f"；详情已记入 {log}（身份证号已隐去）" if log else "") +
            "。请先在登记簿（F3 或 sealdesk register list）查看最后一件是否已经登记"))
        self._close_messages_no_wait()

    # -- the register, off the screen's thread ----------------------------------------------
    def register_call(self, fn, done, failed=None, busy: str = "登记簿被其他程序占用，等待中……",
                      hold_keys: bool = True) -> None:
        """Run ``fn(desk)`` on the session's register thread and ``done(result)`` here when it is
        back. If it takes longer than a moment, a dialog says so (Esc stops a wait for the register
        file). ``failed(exc)`` may take a refusal or bad input (True: handled); a register error is a
        message box; anything else is logged (masked) and reported in one line."""
        import threading

        # A write holds the keys typed behind it until it is answered (they may depend on it); a
        # long read (verify) does not: the clerk goes on meanwhile.
        if hold_keys:
            self._register_calls += 1
        future = self.session.submit(fn)
        waiting: list = []

        timers: list = []

        def show_wait() -> None:
            # Only while the register is held by someone else: a slow paper (fonts loading) is work,
            # not waiting, and gets no dialog.
            if future.done():
                return
            if self.session.waiting():
                waiting.append(Waiting(busy, self.session.can_stop, self.session.stop_waiting))
                self.push_screen(waiting[0])
            else:
                timers.append(self.set_timer(0.3, show_wait))

        timers.append(self.set_timer(0.3, show_wait))

        def finish(_future=None) -> None:
            for t in timers:
                t.stop()
            if hold_keys:
                self._register_calls -= 1
            if waiting and waiting[0].is_current:
                self.pop_screen()  # at once: the answer below may push its own dialog
            try:
                exc = future.exception()
                if exc is None:
                    done(future.result())
                elif failed is not None and failed(exc):
                    pass
                else:
                    self.register_failed(exc)
            finally:
                self.call_later(self._replay_keys)  # the keys typed meanwhile, in order

        def answered(_future) -> None:
            # Usually on the register thread; on this one when the answer came before the callback
            # was added (call_from_thread refuses the app's own thread).
            if threading.get_ident() == ui_thread:
                self.call_later(finish)
            else:
                try:
                    self.call_from_thread(finish)
                except RuntimeError:  # the app has ended meanwhile: nothing left to show it on
                    pass

        ui_thread = threading.get_ident()
        future.add_done_callback(answered)

    def register_failed(self, exc: BaseException) -> None:
        from sealdesk.core.engine.plugins import BrokenJurisdiction
        from sealdesk.core.register.store import RegisterCancelled, RegisterError

        if isinstance(exc, RegisterCancelled):
            self.push_screen(Message("未写入登记簿", [str(exc)], style="bold yellow"))
        elif isinstance(exc, BrokenJurisdiction):  # its plugin failed: one line, plugin and file:line
            self.push_screen(Message("辖区不可用", [str(exc)]))
            self._refresh_all()
        elif isinstance(exc, (RegisterError, InvalidInput, Refused, OSError)):
            from .screens.register import refusal_lines

            lines = refusal_lines(exc) if isinstance(exc, Refused) else [str(exc)]
            self.push_screen(Message("登记簿不能完成这一操作", lines))
        else:
            from sealdesk.core.common.errorlog import log_exception

            log = log_exception("sealdesk tui: register call", exc)
            self.push_screen(Message("内部错误", ["操作未能完成" + (f"；详情已记入 {log}（身份证号已隐去）" if log else ""),
                                                "请在登记簿（F3）查看是否已经登记，再决定是否重试"]))

    def on_ready(self) -> None:
        # Textual sends Ready once the first frame has been written. Work queued with
        # call_after_refresh during start-up runs inside Textual's start-up batch, before
        # anything is painted, so the rules (plugins, TOML: ~60 ms) wait for this instead.
        self.first_frame_shown = True
        if isinstance(self.screen, CounterScreen):
            self.call_after_refresh(self.screen.load_rules)

    def check_action(self, action: str, parameters):
        # F2/F3/F4 to the screen already shown is no key at all: keep the 80-column footer for the rest.
        if action == "switch_mode" and parameters and parameters[0] == self.current_mode:
            return False
        return True

    def action_command_palette(self) -> None:
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(SafePalette(id="--command-palette", placeholder="搜索命令：汉字、拼音首字母或全拼…"))

    def action_help_quit(self) -> None:
        # Textual's Ctrl+C hint is English ("Do you want to quit?"); the clerk's screen is Chinese.
        self.notify("按 Ctrl+Q 退出 sealdesk（Ctrl+C 在输入框中为复制）", title="要退出吗？")

    def on_unmount(self) -> None:
        self.session.close()

    def action_help(self) -> None:
        from .screens.help import HelpScreen

        self.push_screen(HelpScreen())

    # -- papers ---------------------------------------------------------------------------
    def print_paper(self, paper: str, entry: int | None, content: str | None = None, confirmed: bool = False,
                    shown_by=None) -> None:
        """Make a paper, record it, save it and show where it is. A certificate whose text is not yet
        recorded goes through its wording first (screens/paper.py): the facts asked for (``content``,
        if given, is the clerk's first answer), cleaned, shown in the sentence the paper prints, and
        printed only when the clerk confirms (then ``confirmed``)."""
        from sealdesk.core.desk.service import ServiceError
        from sealdesk.core.engine.plugins import BrokenJurisdiction
        from sealdesk.core.papers import delivery
        from sealdesk.core.papers.fonts import FontError
        from sealdesk.core.register.store import RegisterCancelled, RegisterError

        from .screens.paper import PaperDone, certificate_first
        from .screens.register import refusal_lines

        if paper == "certificate" and entry is not None and not confirmed and certificate_first(self, entry, content):
            return
        s = self.session

        def make(desk):  # on the register thread: printing records the paper
            if entry is None:
                out = desk.report(paper, as_login=s.as_login)
            else:
                out = desk.paper(paper, entry, content=content, as_login=s.as_login)
            return out, delivery.save(out, s.community)

        def failed(exc: BaseException) -> bool:
            if isinstance(exc, Refused):
                self.push_screen(Message("不能打印", refusal_lines(exc)))
            elif isinstance(exc, (InvalidInput, FontError, delivery.DeliveryError, OSError, ServiceError,
                                  BrokenJurisdiction)) or (
                    isinstance(exc, RegisterError) and not isinstance(exc, RegisterCancelled)):
                self.push_screen(Message("不能打印", [str(exc)]))
            else:
                return False
            return True

        def done(made) -> None:
            if shown_by is not None and self.screen is shown_by:  # the counter shows it in its panel
                shown_by.paper_made(*made)
            else:
                self.push_screen(PaperDone(*made))

        self.register_call(make, done, failed)

    # -- command palette ------------------------------------------------------------------
    def get_system_commands(self, screen):
        yield SystemCommand("受理", "新的证明申请（F2）", lambda: self.switch_mode("counter"))
        yield SystemCommand("登记簿", "审批、用印、备案、作废、打印（F3）", lambda: self.switch_mode("register"))
        yield SystemCommand("清单", "负面清单和保留清单及办事途径（F4）", lambda: self.switch_mode("lists"))
        yield SystemCommand("对比各辖区", "同一申请在各辖区如何决定，差异标出（受理界面决定后按 c）",
                            lambda: self.compare_jurisdictions(screen))
        yield SystemCommand("帮助", "按键和流程（F1）", self.action_help)
        yield SystemCommand("统计表", "生成本年度证明事项统计表（附件1）", lambda: self.print_paper("inventory", None))
        yield SystemCommand("清单公示", "生成负面清单和保留清单公示", lambda: self.print_paper("notice", None))
        yield SystemCommand("拟保留清单", "生成拟保留证明事项清单（附件3）", lambda: self.print_paper("retained", None))
        if self.session.community.demo:
            yield SystemCommand("切换身份", "演示：以经办人、负责人、保管人等身份操作", self.choose_person)
            yield SystemCommand("切换辖区", "演示：换到另一辖区的演示社区", self.choose_jurisdiction)
            yield SystemCommand("决定日期", "演示：按某一日期的规定决定（如青海文件失效前）", self.choose_date)
        if self.session.sandbox:
            yield SystemCommand("保存为演示案例", "把本次演示中决定过的申请存为案例文件（TOML）", self.save_scenario)
        yield SystemCommand("退出", "退出 sealdesk（Ctrl+Q）", self.exit)

    def save_scenario(self) -> None:
        """保存为演示案例: the requests decided in this demo (the counter keeps each once, as last
        decided), in the jurisdiction and on the date each was decided, with the scenario's own sample
        residents. Nothing of the residents typed in: the file is a lesson, not a register."""
        import dataclasses
        import datetime as dt
        from pathlib import Path

        from sealdesk.core.training.scenario import Scenario, save_scenario

        from .screens.dialogs import AskText

        if not self.demo_log:
            self.push_screen(Message("没有可保存的内容", ["先在受理界面决定至少一个申请（F5），再保存为演示案例。"]))
            return
        # The file's jurisdiction and date are the first request's; a request decided after 切换辖区
        # or 决定日期 keeps its own (a "today" then becomes the day it was decided).
        first = self.demo_log[0]
        jid = first.jurisdiction or self.session.community.jurisdiction
        on = first.on if first.jurisdiction else self.session.on
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")

        def own(case):
            return dataclasses.replace(case, jurisdiction="" if case.jurisdiction in ("", jid) else case.jurisdiction,
                                       on=None if case.on == on else case.on or dt.date.today())

        def done(text: str | None) -> None:
            if not text:
                return
            reg = self.session.registry
            name = reg.jurisdictions[jid].name if jid in reg.jurisdictions else jid
            title = f"演示记录 {dt.date.today()}（{name}）"
            residents = self.scenario.residents if self.scenario is not None else ()
            sc = Scenario(Path(text).stem, title, jid, tuple(own(c) for c in self.demo_log), on,
                          residents=residents)
            try:
                path = save_scenario(sc, Path(text).expanduser())
            except FileExistsError:
                self.push_screen(Message("未保存", [f"文件已存在：{text}（不会覆盖，请换一个文件名）"]))
                return
            except OSError as exc:
                self.push_screen(Message("未保存", [f"无法写入 {text}：{exc.strerror or exc}"]))
                return
            self.notify(f"已保存 {len(sc.cases)} 个案例：{path}（可用 sealdesk demo {path} 打开）", markup=False)

        self.push_screen(AskText("保存为演示案例", f"文件名（{len(self.demo_log)} 个申请；教学要点可在文件中补写）",
                                 str(Path.cwd() / f"{jid}-demo-{stamp}.toml")), done)

    def compare_jurisdictions(self, screen=None) -> None:
        from .screens.compare import open_compare

        open_compare(self, screen)

    def _refresh_all(self) -> None:
        """Every screen's top bar (the one under a closing dialog too): who acts, where, when."""
        from .widgets.topbar import TopBar

        screens = {id(s): s for stack in self._screen_stacks.values() for s in stack}
        screens.update({id(s): s for s in self.screen_stack})
        for screen in screens.values():
            for bar in screen.query(TopBar):
                bar.refresh_bar()

    def choose_person(self) -> None:
        c = self.session.community
        choices = [(p.login, f"{p.name}（{p.role_labels}）") for p in c.people]

        def done(login: str | None) -> None:
            if login:
                self.session.switch_person(login)
                self._refresh_all()
                self.notify(f"现在以 {self.session.who()} 操作", markup=False)

        self.push_screen(Choose("以谁的身份操作", choices, self.session.login), done)

    def choose_jurisdiction(self) -> None:
        reg = self.session.registry
        choices = [(j, reg.jurisdictions[j].name) for j in reg.ids()]

        def done(jid: str | None) -> None:
            if jid:
                self.session.switch_jurisdiction(jid)
                self._reset_modes()
                self.notify(f"已切换到 {reg.jurisdictions[jid].name} 的演示社区", markup=False)

        self.push_screen(Choose("切换辖区（演示）", choices, self.session.community.jurisdiction), done)

    def choose_date(self) -> None:
        import datetime as dt

        from .screens.dialogs import AskText

        def done(text: str | None) -> None:
            if text is None:  # Esc
                return
            try:
                self.session.on = dt.date.fromisoformat(text) if text else None
            except ValueError:
                self.push_screen(Message("日期格式错误", [f"{text!r} 不是 YYYY-MM-DD 格式的日期"]))
                return
            self._reset_modes()

        self.push_screen(AskText("决定日期（演示）", "YYYY-MM-DD，留空为今天", self.session.on.isoformat()
                                 if self.session.on else ""), done)

    def _reset_modes(self) -> None:
        # Rules, lists and the register changed: rebuild every screen on its next visit.
        current = self.current_mode
        for mode in list(self.MODES):
            if mode != current:
                try:
                    self.remove_mode(mode)
                except Exception:
                    pass
                self.add_mode(mode, self.MODES[mode])
        self.switch_mode("register" if current != "register" else "lists")
        self.remove_mode(current)
        self.add_mode(current, self.MODES[current])
        self.switch_mode(current)


class TrainApp(SealdeskApp):
    """``sealdesk train``: the quiz on one screen; no counter, register or lists."""

    MODES = {}
    DEFAULT_MODE = "_default"
    BINDINGS = [Binding("ctrl+q", "quit", "退出"),
                Binding("ctrl+p", "command_palette", "命令", show=False, priority=True)]

    def __init__(self, session: Session, quiz, trainee: str | None = None, results=None, reshuffle=None):
        """``trainee``: who answers (None: asked on the first screen); ``results``: the folder of
        results files (None: none written); ``reshuffle(seed)``: the quiz again in a new order, for
        Ctrl+R in a shuffled lesson."""
        super().__init__(session)
        self.quiz = quiz
        self.trainee = trainee
        self.results = results
        self.reshuffle = reshuffle

    def check_action(self, action: str, parameters):
        # Textual merges BINDINGS down the class hierarchy: the counter's F1–F4 stay off here.
        if action in ("switch_mode", "help"):
            return False
        return True

    def get_default_screen(self):
        from .screens.train import TrainScreen

        return TrainScreen(self.quiz)

    def get_system_commands(self, screen):
        yield SystemCommand("退出", "退出训练（Ctrl+Q）", self.exit)


def run(home=None, as_login=None, socket=None) -> int:
    session = Session(home, as_login=as_login, socket=socket)
    app = SealdeskApp(session)
    app.run()
    return app.return_code or 0
