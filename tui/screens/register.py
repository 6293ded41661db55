"""The register (登记簿): matters newest first, search and filter, detail, and the workflow actions.

What each person may do is what the register's rules allow (``Desk.allowed``): an action
that would be refused says why (the rule, its text and citation) instead of failing later.
An action that is allowed is not taken at once either: the matter's summary and what it still
needs are shown first, and only ``y`` or Enter acts (``screens/matter.py``).

However large the register, the table holds one page of :data:`PAGE` matters, read on demand:
↑↓ and PgUp/PgDn go on into the page before or after at a page's edge, Home and End to the newest
and the oldest matter, ``g`` to a 登记号. Pages are found by record number (``Desk.list``'s
``before``; newer pages of the whole register by ``Desk.export``'s ``after``), so each is one
indexed read however deep it lies. The line above the detail says where the page is
(第 x–y 件，共 N 件).
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.widgets import DataTable, Input, Static

from ..widgets.field import Field
from .base import Screen

from sealdesk.core.desk.service import ServiceError
from sealdesk.core.engine.plugins import BrokenJurisdiction
from sealdesk.core.engine.workflow_rules import steps_of
from sealdesk.core.papers.content import papers_for
from sealdesk.core.register.store import RegisterCancelled, RegisterError, minutes
from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import STATUS, Refused, serial_text

from ..widgets.keybar import KeyBar
from ..widgets.topbar import TopBar
from .dialogs import AskText, Choose, Message
from .matter import LABELS, ConfirmAction, detail_lines, needs_lines, reason_lines, summary_lines

PAGE = 50  # matters the table holds at a time (about four screens at 80×24)
# What a read of the register may answer instead: a bad argument, a damaged index, a person the
# community does not know (through the service), the service gone.
# BrokenJurisdiction: the community's plugin failed; the register needs its workflow to read, and says why.
READ_ERRORS = (InvalidInput, RegisterError, Refused, ServiceError, BrokenJurisdiction)


def row_cells(r: dict) -> tuple:
    """A matter's cells in the table. Register data is plain Text: a name like "[b]x" is shown as typed."""
    return (str(r["entry"]), minutes(r["at"])[5:], Text(r["status_label"]), Text(r["item_name"] or r["query"]),
            Text(r["resident_name"]))



def refusal_lines(exc: Refused) -> list[str]:
    return reason_lines(exc.to_json()) or [str(exc)]


class MatterTable(DataTable):
    """The page of matters. Its keys run at once, in the order typed (``widgets/field.py``): Enter
    opens the matter under the cursor (DataTable's own Enter only posts a message, which keys typed
    behind it overtake); ↓/PgDn on the last row and ↑/PgUp on the first go on into the next or the
    previous page; Home/End go to the newest and the oldest matter (here rows have no columns to
    scroll through)."""

    BINDINGS = [
        Binding("enter", "open", "详情", show=False),
        Binding("down", "down", show=False),
        Binding("up", "up", show=False),
        Binding("pagedown", "page_next", show=False),
        Binding("pageup", "page_previous", show=False),
        Binding("home,ctrl+home", "newest", show=False),
        Binding("end,ctrl+end", "oldest", show=False),
    ]

    def _at_last(self) -> bool:
        return self.row_count > 0 and self.cursor_row >= self.row_count - 1

    def action_open(self) -> None:
        self.screen.action_detail()

    def action_down(self) -> None:
        if not (self._at_last() and self.screen.turn_older()):
            self.action_cursor_down()

    def action_up(self) -> None:
        if not (self.cursor_row == 0 and self.screen.turn_newer()):
            self.action_cursor_up()

    def action_page_next(self) -> None:
        if not (self._at_last() and self.screen.turn_older()):
            self.action_page_down()

    def action_page_previous(self) -> None:
        if not (self.cursor_row == 0 and self.screen.turn_newer()):
            self.action_page_up()

    def action_newest(self) -> None:
        self.screen.go_newest()

    def action_oldest(self) -> None:
        self.screen.go_oldest()


class RegisterScreen(Screen):
    BINDINGS = [
        Binding("a", "act('approve')", "审批"),
        Binding("s", "act('stamp')", "用印"),
        Binding("f", "act('file')", "备案"),
        Binding("v", "act('void')", "作废"),
        Binding("p", "paper", "打印"),
        Binding("enter", "detail", "详情", show=False),
        # shown on the screen itself (search box, filter label, page and chain lines), not in the footer
        Binding("slash", "search", "搜索", show=False),
        Binding("t", "filter", "状态", show=False),
        Binding("g", "goto", "登记号", show=False),
        Binding("c", "verify", "校验", show=False),
        Binding("f5", "reload", "刷新", show=False),
    ]

    status_filter: str | None = None
    search: str = ""  # the search last run (Enter in the search box)

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict] = {}  # the page's matters by row key (登记号)
        self.before: int | None = None  # the page: the matters below this record (None: the newest)
        self.more = False  # older matters after this page
        self.above: list[int | None] = []  # a search's or filter's pages above this one (their ``before``)
        self.total: int | None = None  # the whole register's matters (the newest 登记号); None when filtered
        self._stale = False  # the page may be out of date (set while suspended, cleared by each read)

    def compose(self) -> ComposeResult:
        yield TopBar()
        with Horizontal(id="searchbar"):
            yield Field(placeholder="搜索：证明、居民、用途、索要单位（/）", id="search", max_length=100,
                        on_enter=self._searched)
            yield Static(id="filter")
        yield MatterTable(id="matters", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail")
        yield Static(id="chain")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_columns("登记号", "时间", "状态", "证明", "居民")
        self.action_reload()
        t.focus()

    def on_screen_suspend(self) -> None:
        self._stale = True  # another screen or a dialog on top: the register may change meanwhile

    def on_screen_resume(self) -> None:
        # Textual sends two on the first F3 (the mode made, then shown), right after the mount read
        # the page: only a screen that was away reads it again.
        self.query_one(TopBar).refresh_bar()
        if self._stale:
            self.action_reload()

    # -- data ------------------------------------------------------------------------------
    @property
    def filtered(self) -> bool:
        return bool(self.status_filter or self.search)

    def _ask(self, op: str, *args, quiet: bool = False, **kwargs):
        """``desk.op(*args, **kwargs)`` as the person acting; None (said in a notice unless ``quiet``)
        if the register cannot answer."""
        s = self.app.session
        try:
            out = getattr(s.desk, op)(*args, as_login=s.as_login, **kwargs)
            return list(out) if op == "export" else out
        except READ_ERRORS as exc:
            if not quiet:
                self.app.notify(str(exc), severity="error", markup=False)
            return None

    def _read(self, before: int | None) -> list[dict] | None:
        """A page (and one more row, to know if there is more) of the list as it is filtered now."""
        return self._ask("list", status=self.status_filter, limit=PAGE + 1, search=self.search, before=before)

    def _load(self, before: int | None, row: int | str = 0) -> bool:
        """Show the page of matters below record ``before`` (None: the newest), the cursor on ``row``
        (an index, or "last"); False if it could not be read."""
        rows = self._read(before)
        if rows is None:
            return False
        self._stale = False
        self.more = len(rows) > PAGE
        rows = rows[:PAGE]
        self.before = before
        if self.filtered:
            self.total = None
        elif before is None:
            self.total = rows[0]["entry"] if rows else 0
        else:  # a page further down: the newest matter says how many there are
            newest = self._newest()
            self.total = newest if newest is not None else self.total
        t = self.query_one(DataTable)
        t.clear()
        self.rows = {}
        for r in rows:
            key = str(r["entry"])
            self.rows[key] = r
            t.add_row(*row_cells(r), key=key)
        if rows:
            t.move_cursor(row=len(rows) - 1 if row == "last" else min(int(row), len(rows) - 1))
        self.query_one("#filter", Static).update(Content(f"状态：{STATUS.get(self.status_filter, '全部')}（t）"))
        self._show_page()
        self._show_detail()
        self._show_chain(None)
        return True

    def _newest(self) -> int | None:
        top = self._ask("list", limit=1, quiet=True)
        return None if top is None else top[0]["entry"] if top else 0

    def rows_on_page(self) -> list[dict]:
        return list(self.rows.values())

    def _show_page(self) -> None:
        """Where this page is: 第 x–y 件 of the list, 共 N 件 when known, and the keys that page."""
        w = self.query_one("#detail", Static)
        rows = self.rows_on_page()
        if not rows:
            w.border_title = None
            return
        n = len(rows)
        if self.total is not None and 1 <= self.total - rows[0]["entry"] + 1 <= self.total:
            first = self.total - rows[0]["entry"] + 1
            where = f"第 {first:,}–{first + n - 1:,} 件，共 {self.total:,} 件"
        else:
            first = len(self.above) * PAGE + 1
            where = f"第 {first:,}–{first + n - 1:,} 件" + ("，后面还有" if self.more else f"，共 {first + n - 1:,} 件")
        # 80 columns hold this beside "第 999,951–1,000,000 件，共 1,000,000 件" (PgUp and Home: help, F1)
        keys = "　PgDn 更早　End 最早　g 登记号" if (self.more or self.before is not None) else ""
        w.border_title = Content(where + keys)

    def action_reload(self) -> None:
        """Read this page again (an action, F5, back from another screen): the same page and row."""
        t = self.query_one(DataTable)
        keep = t.cursor_row
        if not self._load(self.before, keep):
            return
        if not self.rows and self.before is not None:  # its matters left the filter (approved, voided)
            if self.above:
                self._load(self.above.pop(), "last")
            else:
                self._load(None)

    # -- paging ----------------------------------------------------------------------------------
    def turn_older(self) -> bool:
        """The next page (older matters), the cursor on its first row; False if there is none."""
        rows = self.rows_on_page()
        if not self.more or not rows:
            return False
        # A search's or filter's pages above are kept (first: the page line counts them); the whole
        # register's are found again by record (turn_newer), so nothing grows as the clerk pages on.
        kept = self.filtered
        if kept:
            self.above.append(self.before)
        if not self._load(rows[-1]["record"]) and kept:
            self.above.pop()
        return True

    def turn_newer(self) -> bool:
        """The page before (newer matters), the cursor on its last row; False if there is none."""
        if self.before is None:
            return False
        rows = self.rows_on_page()
        if self.filtered or not rows:
            if self.above:
                self._load(self.above.pop(), "last")
            else:
                self._load(None, "last")
            return True
        # The whole register: the PAGE matters after the page's first, in entry order, bound the page
        # above (also after End or g, when no page above was seen).
        newer = self._ask("export", after=rows[0]["record"], limit=PAGE)
        if newer is None:
            return True
        if not newer:  # the page is the newest already (End on a register of one page)
            return False
        self.above.clear()  # not kept for the whole register: its pages are found by record, as here
        if len(newer) < PAGE:
            self._load(None, len(newer) - 1)
        else:
            self._load(newer[-1]["record"] + 1, "last")
        return True

    def go_newest(self) -> None:
        self.above.clear()
        self._load(None)

    def go_oldest(self) -> None:
        """The oldest page, the cursor on the oldest matter. The whole register only: a search's or a
        filter's last page is found by turning pages (PgDn)."""
        if self.filtered:
            self.app.notify("搜索或筛选时请用 PgDn 逐页往后翻；清除搜索和筛选后，End 直接到最早的事项",
                            markup=False)
            return
        oldest = self._ask("export", after=0, limit=PAGE)
        if oldest:
            self.above.clear()
            self._load(oldest[-1]["record"] + 1, "last")

    def action_goto(self) -> None:
        """``g``: the page that starts at a 登记号 (the search and the filter cleared)."""
        def done(text: str | None) -> None:
            if not text:
                return
            s = self.app.session
            try:
                record = s.desk.show(int(text) if text.isdigit() else text, as_login=s.as_login)["record"]
            except READ_ERRORS as exc:
                self.app.push_screen(Message("找不到该登记号", [str(exc)]))
                return
            self.status_filter, self.search = None, ""
            self.query_one("#search", Input).value = ""
            self.above.clear()
            self._load(record + 1)
            self.set_focus(self.query_one(DataTable))

        hint = f"1–{self.total:,}" if self.total else "登记号"
        self.app.push_screen(AskText("跳到登记号", f"输入登记号（{hint}），Enter 跳到该事项"), done)

    def _current(self) -> dict | None:
        t = self.query_one(DataTable)
        if not t.row_count:
            return None
        key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        return self.rows.get(key)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        # Enter is the table's own binding (MatterTable); a click on the highlighted row comes here.
        self.action_detail()

    def _show_detail(self) -> None:
        r = self._current()
        w = self.query_one("#detail", Static)
        if r is None:
            w.update(Content("登记簿中还没有符合条件的事项。在受理（F2）中登记申请。"))
            return
        parts = [f"登记号 {r['entry']}　{r['outcome_label']}　{r['status_label']}",
                 f"{r['query']}" + (f" → {r['item_name']}" if r["item_name"] and r["item_name"] != r["query"] else ""),
                 f"居民 {r['resident_name']}（{r['resident_id']}）　用途 {r['purpose'] or '—'}　索要单位 {r['requester'] or '—'}"]
        if r.get("serial"):
            parts.append(f"{serial_text(r['year'], r['serial'])}，有效期至 {r['valid_until']}")
        if r.get("void_reason"):
            parts.append(f"作废原因：{r['void_reason']}")
        w.update(Content("\n".join(parts)))

    def _show_chain(self, result: dict | None) -> None:
        w = self.query_one("#chain", Static)
        if result is None:
            w.update(Content("c 校验登记簿哈希链"))
        elif result["ok"]:
            # The file alone cannot show a deleted tail or a rewrite: only checkpoints kept elsewhere can.
            text = Content.styled(f"哈希链校验通过：共 {result['records']} 条记录（未对照检查点）", "green")
            if result.get("warning"):  # a copy taken while the service ran: its newest records may be missing
                text = Content.assemble(text, "\n", Content.styled(f"注意：{result['warning']}", "bold yellow"))
            w.update(text)
        else:
            w.update(Content.styled(f"登记簿校验失败：第 {result['first_bad_entry']} 条记录——{result['problem']}",
                                    "bold red"))

    # -- actions ------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def _searched(self, field=None) -> None:
        """Enter in the search box: the first page of what it finds, the cursor on the first (newest) hit."""
        self.search = self.query_one("#search", Input).value.strip()
        self.above.clear()
        self._load(None)
        self.set_focus(self.query_one(DataTable))  # at once: the keys typed after Enter go to the table

    def action_filter(self) -> None:
        choices = [("", "全部")] + list(STATUS.items())

        def done(value: str | None) -> None:
            if value is not None:
                self.status_filter = value or None
                self.above.clear()
                self._load(None)

        self.app.push_screen(Choose("按状态筛选", choices, self.status_filter or ""), done)

    def action_verify(self) -> None:
        # On the register thread: a million records take seconds, and the screen goes on meanwhile.
        s = self.app.session
        self.query_one("#chain", Static).update(Content("正在校验登记簿哈希链……（可继续操作）"))
        self.app.register_call(lambda desk: desk.verify(as_login=s.as_login), self._show_chain,
                               hold_keys=False)

    def _run(self, fn, done_text) -> None:
        """``fn(desk)`` writes to the register, off the screen's thread (``app.register_call``: a
        register held by another program means a wait with Esc, not a frozen screen)."""

        def done(rec: dict) -> None:
            self.app.notify(done_text + (f"，{rec['serial_text']}" if rec.get("serial_text") else ""), markup=False)
            self.action_reload()

        def failed(exc: BaseException) -> bool:
            if isinstance(exc, Refused):
                self.app.push_screen(Message("不能" + done_text.split("：")[0], refusal_lines(exc)))
            elif isinstance(exc, InvalidInput):
                self.app.push_screen(Message("输入有误", [str(exc)]))
            elif isinstance(exc, (RegisterError, ServiceError)) and not isinstance(exc, RegisterCancelled):
                self.app.push_screen(Message("未能记入登记簿", [str(exc)]))
            else:
                return False  # cancelled, or unexpected: the app says so (and logs the latter)
            return True

        self.app.register_call(fn, done, failed)

    def _steps(self) -> tuple[str, ...]:
        """The jurisdiction's workflow steps (审批, 用印, and 备案 where its rules add it)."""
        from .counter import unusable

        try:
            return steps_of(self.app.session.view().workflow)
        except unusable():  # its plugin failed: the register is still shown; acting says why
            return steps_of(())

    def action_act(self, action: str) -> None:
        """a/s/f/v: the matter and what it still needs, then ``y`` acts (``ConfirmAction``); an action
        the rules refuse shows the same with the reasons instead."""
        r = self._current()
        if r is None:
            return
        s = self.app.session
        entry, label = r["entry"], LABELS[action]
        try:
            show = s.desk.show(entry, as_login=s.as_login)
            reasons = s.desk.allowed(action, entry, as_login=s.as_login)
        except Refused as exc:  # not a person of the community
            self.app.push_screen(Message(f"不能{label}", refusal_lines(exc)))
            return
        except READ_ERRORS as exc:
            self.app.push_screen(Message("无法读取登记簿", [str(exc)]))
            return
        lines = summary_lines(show) + needs_lines(show, self._steps(), None if reasons else action)
        if reasons:
            self.app.push_screen(Message(f"不能{label}：登记号 {entry}",
                                         [f"不能{label}，原因：", *reason_lines(reasons), "", *lines]))
            return

        def act() -> None:
            if action != "void":
                self._run(lambda desk: getattr(desk, action)(entry, as_login=s.as_login),
                          f"{label}：登记号 {entry} 已{label}")
                return

            def done(reason: str | None) -> None:
                if reason:
                    self._run(lambda desk: desk.void(entry, reason, as_login=s.as_login), f"作废：登记号 {entry} 已作废")

            self.app.push_screen(AskText(f"作废登记号 {entry}", "作废会追加一条记录，原记录不变。请填写原因："), done)

        self.app.push_screen(ConfirmAction(f"{label}登记号 {entry}？", lines, label, act))

    def action_paper(self) -> None:
        r = self._current()
        if r is None:
            return
        paper = next(iter(papers_for(r["outcome"])), None)  # the certificate where there is one
        if paper is None:
            return
        if paper == "certificate":
            if not r.get("serial"):
                self.app.push_screen(Message("不能打印证明", [f"登记号 {r['entry']} 尚未用印登记：请先审批（a）、用印（s）"]))
            else:  # the first time, print_paper asks for the facts and shows the wording first
                self.app.print_paper("certificate", r["entry"])
            return
        self.app.print_paper(paper, r["entry"])

    def action_detail(self) -> None:
        """Enter: the matter under the cursor in full — summary, what it needs, route, citations, records."""
        r = self._current()
        if r is None:
            return
        s = self.app.session
        try:
            show = s.desk.show(r["entry"], as_login=s.as_login)
        except READ_ERRORS as exc:
            self.app.push_screen(Message("无法读取登记簿", [str(exc)]))
            return
        self.app.push_screen(Message(f"登记号 {r['entry']}", detail_lines(show, self._steps()), style="bold"))
