"""The register (登记簿): matters newest first, search and filter, detail, and the workflow actions.

What each person may do is what the register's rules allow (``Desk.allowed``): an action
that would be refused says why (the rule, its text and citation) instead of failing later.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.screen import Screen
from textual.widgets import DataTable, Input, Static

from sealdesk.core.papers.content import papers_for
from sealdesk.core.register.store import minutes
from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import STATUS, Refused

from ..widgets.keybar import KeyBar
from ..widgets.topbar import TopBar
from .dialogs import AskText, Choose, Message



def refusal_lines(exc: Refused) -> list[str]:
    lines = [r["text"] + (f"（{r['citation']}）" if r.get("citation") else "") for r in exc.to_json()]
    return lines or [str(exc)]


class RegisterScreen(Screen):
    BINDINGS = [
        Binding("a", "act('approve')", "审批"),
        Binding("s", "act('stamp')", "用印"),
        Binding("f", "act('file')", "备案"),
        Binding("v", "void", "作废"),
        Binding("p", "paper", "打印"),
        Binding("enter", "detail", "详情", show=False),
        # shown on the screen itself (search box, filter label, chain line), not in the footer
        Binding("slash", "search", "搜索", show=False),
        Binding("t", "filter", "状态", show=False),
        Binding("c", "verify", "校验", show=False),
        Binding("f5", "reload", "刷新", show=False),
    ]

    status_filter: str | None = None

    def compose(self) -> ComposeResult:
        yield TopBar()
        with Horizontal(id="searchbar"):
            yield Input(placeholder="搜索：证明、居民、用途、索要单位（/）", id="search", max_length=100)
            yield Static(id="filter")
        yield DataTable(id="matters", cursor_type="row", zebra_stripes=True)
        yield Static(id="detail")
        yield Static(id="chain")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_columns("登记号", "时间", "状态", "证明", "居民")
        self.action_reload()
        t.focus()

    def on_screen_resume(self) -> None:
        self.query_one(TopBar).refresh_bar()
        self.action_reload()

    # -- data ------------------------------------------------------------------------------
    def action_reload(self) -> None:
        desk = self.app.session.desk
        search = self.query_one("#search", Input).value.strip()
        try:
            rows = desk.list(status=self.status_filter, limit=200, search=search)
        except InvalidInput as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        t = self.query_one(DataTable)
        keep = t.cursor_row
        t.clear()
        self.rows = {str(r["entry"]): r for r in rows}
        for r in rows:
            # Register data is plain Text: a name like "[b]x" is shown as typed.
            t.add_row(str(r["entry"]), minutes(r["at"])[5:], Text(r["status_label"]), Text(r["item_name"] or r["query"]),
                      Text(r["resident_name"]), key=str(r["entry"]))
        if rows:
            t.move_cursor(row=min(keep, len(rows) - 1))
        self.query_one("#filter", Static).update(Content(f"状态：{STATUS.get(self.status_filter, '全部')}（t）"))
        self._show_detail()
        self._show_chain(None)

    def _current(self) -> dict | None:
        t = self.query_one(DataTable)
        if not t.row_count:
            return None
        key = t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value
        return self.rows.get(key)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show_detail()

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
            parts.append(f"{r['year']}年证明第{r['serial']}号，有效期至 {r['valid_until']}")
        if r.get("void_reason"):
            parts.append(f"作废原因：{r['void_reason']}")
        w.update(Content("\n".join(parts)))

    def _show_chain(self, result: dict | None) -> None:
        w = self.query_one("#chain", Static)
        if result is None:
            w.update(Content("c 校验登记簿哈希链"))
        elif result["ok"]:
            # The file alone cannot show a deleted tail or a rewrite: only checkpoints kept elsewhere can.
            w.update(Content.styled(f"哈希链校验通过：共 {result['records']} 条记录（未对照检查点）", "green"))
        else:
            w.update(Content.styled(f"登记簿校验失败：第 {result['first_bad_entry']} 条记录——{result['problem']}",
                                    "bold red"))

    # -- actions ------------------------------------------------------------------------------
    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_reload()
        self.query_one(DataTable).focus()

    def action_filter(self) -> None:
        choices = [("", "全部")] + list(STATUS.items())

        def done(value: str | None) -> None:
            if value is not None:
                self.status_filter = value or None
                self.action_reload()

        self.app.push_screen(Choose("按状态筛选", choices, self.status_filter or ""), done)

    def action_verify(self) -> None:
        self._show_chain(self.app.session.desk.verify())

    def _run(self, fn, done_text) -> None:
        try:
            rec = fn()
        except Refused as exc:
            self.app.push_screen(Message("不能" + done_text.split("：")[0], refusal_lines(exc)))
            return
        except InvalidInput as exc:
            self.app.push_screen(Message("输入有误", [str(exc)]))
            return
        self.app.notify(done_text + (f"，{rec['serial_text']}" if rec.get("serial_text") else ""), markup=False)
        self.action_reload()

    def action_act(self, action: str) -> None:
        r = self._current()
        if r is None:
            return
        s = self.app.session
        labels = {"approve": "审批", "stamp": "用印", "file": "备案"}
        self._run(lambda: getattr(s.desk, action)(r["entry"], as_login=s.as_login),
                  f"{labels[action]}：登记号 {r['entry']} 已{labels[action]}")

    def action_void(self) -> None:
        r = self._current()
        if r is None:
            return
        s = self.app.session

        def done(reason: str | None) -> None:
            if reason:
                self._run(lambda: s.desk.void(r["entry"], reason, as_login=s.as_login),
                          f"作废：登记号 {r['entry']} 已作废")

        self.app.push_screen(AskText(f"作废登记号 {r['entry']}", "作废会追加一条记录，原记录不变。请填写原因："), done)

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
            elif r.get("papers"):  # printed before: the same certificate again, its text as recorded
                self.app.print_paper("certificate", r["entry"])
            else:
                self.app.push_screen(AskText("证明事项（兹证明……）", "例如：该居民自2019年起在本社区居住"),
                                     lambda content: content and self.app.print_paper("certificate", r["entry"], content))
            return
        self.app.print_paper(paper, r["entry"])

    def action_detail(self) -> None:
        r = self._current()
        if r is None:
            return
        show = self.app.session.desk.show(r["entry"])
        lines = [f"{show['query']}（{show['outcome_label']}，{show['status_label']}）",
                 f"居民：{show['resident_name']}（{show['resident_id']}）",
                 f"用途：{show['purpose'] or '—'}　索要单位：{show['requester'] or '—'}"]
        if show.get("route"):
            lines.append(f"办事途径：{show['route']}")
        lines.append("依据：" + "；".join(show["citations"]))
        lines.append("记录：")
        for rec in show["records"]:
            extra = f" {rec['serial_text']}" if rec.get("serial_text") else ""
            lines.append(f"  {rec['record']:>5} {minutes(rec['at'])} {rec['kind_label']} {rec['name']}（{rec['role_label']}）{extra}")
        self.app.push_screen(Message(f"登记号 {r['entry']}", lines, style="bold"))
