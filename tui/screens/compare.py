"""对比各辖区: the current request decided in every jurisdiction, side by side.

Reached with ``c`` from the counter once a decision is shown (the same request: name, purpose,
requesting unit, circumstances) or from the command palette (asks for the name when there is no
decision). A table of jurisdictions × (结果, 事项, 办事途径): a cell that differs from what most
jurisdictions decided (a tie goes to national) is marked ``*`` and highlighted; below it the
selected row's whole decision, the route verbatim and the citations. ↑↓ choose, Tab moves
between the table and the decision, Esc returns.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from .base import Screen
from textual.widgets import DataTable, Static

from sealdesk.core.common.cells import shorten
from sealdesk.core.training.compare import FIELD_LABELS, candidates_label, compare
from sealdesk.core.engine.model import Facts, Request

from ..widgets.prose import Prose
from ..widgets.decision import decision_content
from ..widgets.keybar import KeyBar
from ..widgets.topbar import TopBar

MARK = "*"
DIFF_STYLE = "bold reverse"  # reads on a 16-colour console too, and the "*" says it without colour


def _cell(text: str, marked: bool) -> Text:
    # Text(...) never parses markup: names and routes are data.
    return Text(MARK + text, style=DIFF_STYLE) if marked else Text(" " + text)


def _short_item(d) -> str:
    if d.item is None:
        if d.candidates:  # a name near several items: which ones, by number (the detail names them)
            return candidates_label(d.candidates, short=True)
        return "未说明名称" if d.outcome.value == "ask" else "未列入清单"
    return f"{d.item.list_label.removesuffix('清单')}第{d.item.number}项 {d.item.name}"  # 负面, 重庆市负面…


def request_from_decision(d: dict) -> Request:
    """The request behind a decision's JSON (the counter keeps ``Decision.to_json()``)."""
    return Request(d["query"], d.get("purpose") or "", d.get("requester") or "", Facts(d.get("facts") or {}))


class CompareScreen(Screen):
    DEFAULT_CSS = """
    CompareScreen #compare_head {
        height: 2;
        padding: 0 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    CompareScreen #compare_table {
        height: auto;
        max-height: 10;
    }
    CompareScreen #compare_detail {
        height: 1fr;
        border-top: solid $primary;
        padding: 0 1;
    }
    CompareScreen #compare_detail:focus {
        border-top: thick $accent;
    }
    """
    BINDINGS = [
        Binding("escape", "back", "返回"),
        Binding("tab", "switch_pane", "表格/详情", priority=True),
    ]

    def __init__(self, request: Request):
        super().__init__()
        self.request = request
        self.comparison = None

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Static(id="compare_head")
        yield DataTable(id="compare_table", cursor_type="row", zebra_stripes=False)
        with VerticalScroll(id="compare_detail"):
            yield Prose(id="compare_text")
        yield KeyBar()

    def on_mount(self) -> None:
        s = self.app.session
        self.comparison = compare(s.registry, self.request, s.today)
        self._fill()
        table = self.query_one(DataTable)
        home = s.community.jurisdiction
        keys = [d.jurisdiction for d in self.comparison.decisions]
        if home in keys:  # start on the clerk's own jurisdiction
            table.move_cursor(row=keys.index(home))
        self.set_focus(table)
        self._show()

    # -- table ---------------------------------------------------------------------------------
    def jname(self, jid: str) -> str:
        reg = self.app.session.registry
        return reg.jurisdictions[jid].name if jid in reg.jurisdictions else jid

    def _fill(self) -> None:
        cmp, req = self.comparison, self.request
        head = [Content.styled("对比各辖区：", "bold") + Content(req.query)]
        given = [f"用途 {req.purpose}" if req.purpose else "", f"索要单位 {req.requester}" if req.requester else ""]
        if req.facts.as_dict():
            given.append(f"情形 {len(req.facts.as_dict())} 项")
        if any(given):
            head[0] += Content("　" + "　".join(g for g in given if g))
        diff = cmp.differing_fields
        if diff:
            head.append(Content.styled(f"不同之处（{MARK}）：", "bold") + Content("、".join(FIELD_LABELS[f] for f in diff)))
        else:
            head.append(Content("各辖区的决定相同"))
        self.query_one("#compare_head", Static).update(Content("\n").join(head))

        rows = []
        for d in cmp.decisions:
            fs = cmp.differs[d.jurisdiction]
            rows.append((d.jurisdiction, [
                (self.jname(d.jurisdiction), False),
                (d.outcome.label, bool(fs & {"outcome", "requirements", "questions"})),
                (shorten(_short_item(d), 26), "item" in fs),
                (d.route or "—", "route" in fs),
            ]))
        for jid, _error in cmp.broken:
            rows.append((jid, [(self.jname(jid), False), ("不可用", True), ("", False), ("", False)]))
        # The route takes what is left of the line (cells carry one mark and two padding cells each).
        used = sum(max((cell_len(r[1][i][0]) for r in rows), default=0) + 3 for i in range(3)) + 3 + 2
        room = max(10, self.app.size.width - used)
        table = self.query_one(DataTable)
        table.clear(columns=True)
        table.add_columns(" 辖区", " 结果", " 事项", " 办事途径")
        for jid, cells in rows:
            text, marked = cells[3]
            cells[3] = (shorten(text, room), marked)
            table.add_row(*(_cell(t, m) for t, m in cells), key=jid)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show()

    # -- the selected decision -------------------------------------------------------------------
    def _show(self) -> None:
        table = self.query_one(DataTable)
        out = self.query_one("#compare_text", Prose)
        if not table.row_count:
            out.update(Content("没有可用的辖区"))
            return
        jid = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        cmp = self.comparison
        d = cmp.decision(jid)
        title = Content.styled(f"{self.jname(jid)}（{jid}）", "bold")
        if d is None:
            error = dict(cmp.broken).get(jid, "")
            out.update(Content("\n").join([title, Content.styled("不可用：", "bold red") + Content(error)]))
            return
        fs = cmp.differs[jid]
        note = Content("")
        if fs:
            labels = "、".join(FIELD_LABELS[f] for f in cmp.differing_fields if f in fs)
            note = Content.styled("　与多数辖区不同：", "bold") + Content(labels)
        out.update(Content("\n").join([title + note, decision_content(d.to_json())]))
        self.query_one("#compare_detail").scroll_home(animate=False)

    # -- keys ----------------------------------------------------------------------------------
    def action_back(self) -> None:
        self.dismiss()
        if self.app.session.unavailable():  # a rule of the counter's own jurisdiction may have raised here
            self.app._refresh_all()

    def action_switch_pane(self) -> None:
        table, detail = self.query_one(DataTable), self.query_one("#compare_detail")
        self.set_focus(detail if self.focused is table else table)


def open_compare(app, screen=None) -> None:
    """From the palette: compare the counter's current request, or ask for a certificate name."""
    d = getattr(screen, "decision", None)
    if isinstance(d, dict) and d.get("query"):
        app.push_screen(CompareScreen(request_from_decision(d)))
        return
    from .dialogs import AskText

    def done(name: str | None) -> None:
        if name:
            app.push_screen(CompareScreen(Request(name)))

    app.push_screen(AskText("对比各辖区", "证明名称，如 无犯罪记录证明（同一申请在各辖区如何决定）"), done)
