"""The training quiz (``sealdesk train``): one case at a time, pick the outcome, then the route;
each answer is scored and explained with the rule's citations; a summary at the end.

Keys: ↑↓ choose, Enter answers (and, once explained, goes to the next case), Ctrl+Q leaves.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from .base import Screen
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from sealdesk.core.common.cells import shorten
from sealdesk.core.engine.facts import fact_label
from sealdesk.core.engine.model import OUTCOME_LABELS, Outcome
from sealdesk.core.training.quiz import Quiz

from ..widgets.decision import decision_content
from ..widgets.choices import ChoiceList
from ..widgets.prose import Prose
from ..widgets.keybar import KeyBar
from ..widgets.topbar import TopBar

CHOICE_MARGIN = 8  # cells around a choice: the list's margin, padding, its ">" gutter and its scrollbar


class TrainScreen(Screen):
    BINDINGS = [
        Binding("enter", "go", "确定", priority=True),
        Binding("ctrl+r", "restart", "重新开始"),
    ]

    def __init__(self, quiz: Quiz):
        super().__init__()
        self.quiz = quiz
        self.phase = "outcome"  # outcome → route (if any) → explained → … → done
        self.chosen_outcome: str | None = None

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Prose(id="case-head")
        yield Prose(id="request")
        yield Prose(id="prompt")
        yield ChoiceList(id="choices", compact=True)
        with VerticalScroll(id="explain"):
            yield Prose(id="explanation")
        yield KeyBar()

    def on_mount(self) -> None:
        self._ask_outcome()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "restart":
            return self.phase == "done"
        return True

    # -- showing ------------------------------------------------------------------------------
    def _set(self, wid: str, content) -> None:
        self.query_one(f"#{wid}", Prose).update(content)

    def _show_case(self) -> None:
        q = self.quiz.current
        sc = self.quiz.scenario
        # The decision date, when the scenario sets one, is in the top bar.
        self._set("case-head", Content.styled(f"第 {q.number}/{len(self.quiz.questions)} 题", "bold")
                  + Content(f" · {sc.title}"))
        c = q.case
        lines = [Content.styled("证明名称：", "bold") + Content(c.query)]
        if c.jurisdiction or c.on:  # a case decided elsewhere or on another day than the top bar says
            lines.append(Content.styled("辖区：", "bold") + Content(q.decision.get("jurisdiction") or "")
                         + Content.styled("　决定日期：", "bold") + Content(q.decision.get("date") or ""))
        if c.purpose or c.requester:
            lines.append(Content.styled("用途：", "bold") + Content(c.purpose or "（未说明）")
                         + Content.styled("　索要单位：", "bold") + Content(c.requester or "（未说明）"))
        if c.facts:
            labels = self.app.session.registry.facts
            lines.append(Content.styled("已确认：", "bold") + Content("；".join(
                f"{fact_label(k, labels)}：{'是' if v else '否'}" for k, v in c.facts.items())))
        self._set("request", Content("\n").join(lines))

    def _choices(self, options: list[tuple[str, str]]) -> None:
        ol = self.query_one("#choices", OptionList)
        ol.clear_options()
        ol.add_options([Option(Content(label), id=value) for value, label in options])
        ol.highlighted = 0
        ol.display = True
        self.set_focus(ol)

    def _ask_outcome(self) -> None:
        self.phase = "outcome"
        self._show_case()
        self._set("prompt", Content.styled("这份申请应当如何处理？", "bold"))
        self._choices([(o.value, OUTCOME_LABELS[o]) for o in self.quiz.choices])
        self._set("explanation", Content("↑↓ 选择，Enter 作答。"))
        self.refresh_bindings()

    def _ask_route(self) -> None:
        self.phase = "route"
        self._set("prompt", Content.styled("应当告诉居民到哪里办理（办事途径）？", "bold"))
        q = self.quiz.current
        # One line per route (the whole route is in the explanation): cut in cells, as a 汉字 takes two.
        room = max(20, self.app.size.width - CHOICE_MARGIN)
        self._choices([(str(i), shorten(r, room)) for i, r in enumerate(q.routes)])
        self.refresh_bindings()

    def _explain(self, route: str | None) -> None:
        q = self.quiz.current
        mark = self.quiz.answer(self.chosen_outcome, route)
        self.phase = "explained"
        self.query_one("#choices").display = False
        right = OUTCOME_LABELS[Outcome(q.outcome)]
        head = [Content.styled(" 回答正确 " if mark.outcome_ok else " 回答错误 ",
                               "bold black on green" if mark.outcome_ok else "bold white on red")
                + Content(f"  你的回答：{OUTCOME_LABELS[Outcome(self.chosen_outcome)]}　正确答案：{right}")]
        if mark.route_ok is not None:
            head.append(Content("办事途径：" + ("选对了" if mark.route_ok else "选错了，正确的办事途径见下")))
        if q.case.note:
            head.append(Content.styled("教学要点：", "bold") + Content(q.case.note))
        last = self.quiz.done
        self._set("prompt", Content.styled("Enter " + ("查看总结" if last else "下一题"), "bold reverse"))
        self._set("explanation", Content("\n").join([*head, decision_content(q.decision)]))
        self.set_focus(self.query_one("#explain"))
        self.refresh_bindings()

    def _summary(self) -> None:
        self.phase = "done"
        self.query_one("#choices").display = False
        self._set("case-head", Content.styled("训练结束", "bold") + Content(f" · {self.quiz.scenario.title}"))
        self._set("request", "")
        self._set("prompt", Content("Ctrl+R 重新开始　Ctrl+Q 退出"))
        self._set("explanation", Content("\n").join(Content(line) for line in self.quiz.summary_lines()))
        self.refresh_bindings()

    # -- keys ---------------------------------------------------------------------------------------
    def action_go(self) -> None:
        ol = self.query_one("#choices", OptionList)
        if self.phase == "outcome":
            if ol.highlighted is None:
                return
            self.chosen_outcome = ol.get_option_at_index(ol.highlighted).id
            if self.quiz.current.routes:
                self._ask_route()
            else:
                self._explain(None)
        elif self.phase == "route":
            if ol.highlighted is None:
                return
            self._explain(self.quiz.current.routes[int(ol.get_option_at_index(ol.highlighted).id)])
        elif self.phase == "explained":
            self._summary() if self.quiz.done else self._ask_outcome()

    def action_restart(self) -> None:
        self.quiz.marks.clear()
        self._ask_outcome()
