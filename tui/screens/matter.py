"""One matter as the person who acts on it must see it first: what was asked, for whom, what was
decided, what it still needs (须办理), and a yes or no (issue 16).

``a``/``s``/``f``/``v`` on the register (F3) do nothing at once: :class:`ConfirmAction` shows the
matter's summary (登记号, the certificate asked for and the listed item, the resident with the ID
number masked, 用途, 索要单位, the decision, the status) and its requirements: what the decision
requires to be done (审批即确认已办理), and the workflow's steps, done (by whom, when), this one,
and those after it. ``y`` or Enter acts, ``n`` or Esc leaves the register as it was. An action the
rules refuse shows the same summary with the reasons instead (``Desk.allowed``), in a
:class:`~sealdesk.tui.screens.dialogs.Message`. Enter on a matter shows the same texts with its
route, citations and every record (:func:`detail_lines`).

Everything here is register data shown as typed: plain ``Content``, never markup.
"""

from __future__ import annotations

from typing import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Static

from sealdesk.core.engine.model import REQUIREMENTS, Outcome
from sealdesk.core.register.store import minutes
from sealdesk.core.register.workflow import serial_text

from .base import ModalScreen

LABELS = {"approve": "审批", "stamp": "用印", "file": "备案", "void": "作废"}
LISTS = {"negative": "负面清单", "retained": "保留清单"}


def item_text(m: dict) -> str:
    """What was asked for, and the listed item it was decided as (when it is named otherwise)."""
    text = m["query"]
    item = m.get("item_name")
    if item:
        # The list it is numbered in, as the decision recorded it (``show`` carries the decision); a
        # summary alone, or a matter recorded before items named their list, by its kind.
        lst = ((m.get("decision") or {}).get("item") or {}).get("list_short") or LISTS.get(m.get("list"), "清单")
        where = f"（{lst}第{m['number']}项）" if m.get("number") else ""
        text += (f" → {item}" if item != m["query"] else "") + where
    return text


def summary_lines(m: dict) -> list[str]:
    """登记号, the certificate, the resident (ID masked), 用途, 索要单位, the decision, the status."""
    lines = [f"登记号 {m['entry']}　状态：{m['status_label']}",
             f"证明：{item_text(m)}",
             f"居民：{m['resident_name']}（{m['resident_id']}）",
             f"用途：{m['purpose'] or '—'}　索要单位：{m['requester'] or '—'}",
             f"决定：{m['outcome_label']}"]
    if m.get("serial"):
        lines.append(f"证明编号：{serial_text(m['year'], m['serial'])}，有效期至 {m['valid_until']}")
    if m.get("void_reason") is not None:
        lines.append(f"已作废：{m['void_reason']}")
    return lines


def _done(m: dict, kind: str) -> str | None:
    """Who did ``kind`` on the matter and when, from its records (``Desk.show``)."""
    for rec in reversed(m.get("records", [])):
        if rec["kind"] == kind:
            return f"已办　{rec['name'] or rec['actor']}（{rec['role_label']}）{minutes(rec['at'])}"
    return None


def needs_lines(m: dict, steps: tuple[str, ...], action: str | None = None) -> list[str]:
    """须办理: the decision's requirements, then each step of the workflow — done, this one
    (``action``), or still to do. A matter not issuing a certificate has no steps to take."""
    lines: list[str] = []
    reqs = [REQUIREMENTS.get(r, r) for r in m.get("requirements") or []]
    if reqs:
        lines.append("须办理：" + "、".join(reqs))
        if action == "approve":
            lines.append("　　　（审批即确认以上各项已经办理）")
        elif m.get("approver"):
            lines.append("　　　（审批时已确认办理）")
    issuing = Outcome(m["outcome"]).issuing  # the outcomes that go on to approval and the seal
    if not reqs and issuing:
        lines.append("须办理：按流程审批、用印")
    if m.get("voided_by") is not None:
        lines.append(f"流程：已由第 {m['voided_by']} 条记录作废，不再办理")
    elif issuing:
        lines.append("流程：")
        for step in steps:
            if step == action:
                state = "本次"
            else:
                state = _done(m, step) or "待办"
            lines.append(f"　{LABELS.get(step, step)}　{state}")
    else:
        lines.append(f"流程：本事项的决定是“{m['outcome_label']}”，不出具证明，无需审批、用印")
    if action == "void":
        lines.append("作废：本次（追加一条作废记录，原记录不变；作废后不能再用印、打印）")
    return lines


def detail_lines(m: dict, steps: tuple[str, ...]) -> list[str]:
    """Enter on a matter: the summary, what it needs, its route and citations, and every record."""
    lines = summary_lines(m) + needs_lines(m, steps)
    if m.get("route"):
        lines.append(f"办事途径：{m['route']}")
    if m.get("citations"):
        lines.append("依据：" + "；".join(m["citations"]))
    lines.append("记录：")
    for rec in m.get("records", []):
        extra = f" {rec['serial_text']}" if rec.get("serial_text") else ""
        why = f" 原因：{rec['reason']}" if rec.get("reason") else ""
        lines.append(f"  {rec['record']:>5} {minutes(rec['at'])} {rec['kind_label']} "
                     f"{rec['name']}（{rec['role_label']}）{extra}{why}")
    return lines


def reason_lines(reasons: list[dict]) -> list[str]:
    """``Desk.allowed``'s reasons (or a Refused's ``to_json``): each rule's text and citation."""
    return [r["text"] + (f"（{r['citation']}）" if r.get("citation") else "") for r in reasons]


class ConfirmAction(ModalScreen[None]):
    """The matter and what it needs; ``y``/Enter runs ``on_confirm`` at once (before any key typed
    after it), ``n``/Esc closes without doing anything."""

    BINDINGS = [Binding("y,enter", "confirm", "确认"), Binding("n,escape", "cancel", "取消")]

    def __init__(self, title: str, lines: list[str], verb: str, on_confirm: Callable[[], None]):
        super().__init__()
        self.title_text, self.lines, self.verb, self.on_confirm = title, lines, verb, on_confirm

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(Content.styled(self.title_text, "bold"))
            with VerticalScroll(classes="body"):
                yield Static(Content("\n").join(Content(line) for line in self.lines))
            yield Static(Content.assemble(Content.styled(f"y/Enter 确认{self.verb}", "bold"), "　n/Esc 取消"),
                         classes="hint")

    def action_confirm(self) -> None:
        if self.app.screen is not self:  # a second Enter in a burst: answered already
            return
        # Not dismiss(): its callback runs later, after keys typed behind this one (widgets/field.py).
        self.app.pop_screen()
        self.on_confirm()

    def action_cancel(self) -> None:
        if self.app.screen is self:
            self.app.pop_screen()
