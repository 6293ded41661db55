"""The training quiz (``sealdesk train``): one case at a time, pick the outcome, then the route;
each answer is marked beside the right one, told why a wrong one is wrong, and explained by the
reasons that decided (core/training/explain.py); a summary at the end. Each answer is written to
the trainee's results file as it is given (core/training/results.py).

Keys: ↑↓ choose, Enter answers (and, once explained, goes to the next case), Ctrl+R starts
again at the end, Ctrl+Q leaves. Keys typed in one burst over a slow link are taken in order
(widgets/field.py, ``SealdeskApp.on_event``): ``↓↓↓⏎`` answers the option the arrows reached.
"""

from __future__ import annotations

import secrets

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from sealdesk.core.common.cells import shorten
from sealdesk.core.common.errorlog import log_exception
from sealdesk.core.engine.model import OUTCOME_LABELS, Outcome
from sealdesk.core.training.quiz import Quiz
from sealdesk.core.training.results import Attempt, ResultsError, clean_name

from ..widgets.choices import ChoiceList
from ..widgets.decision import decision_content
from ..widgets.keybar import KeyBar
from ..widgets.prose import Prose
from ..widgets.topbar import TopBar
from .base import Screen

CHOICE_MARGIN = 8  # cells around a choice: the list's margin, padding, its ">" gutter and its scrollbar


class TrainScreen(Screen):
    BINDINGS = [
        Binding("enter", "go", "确定", priority=True),
        Binding("ctrl+r", "restart", "重新开始"),
    ]

    def __init__(self, quiz: Quiz):
        super().__init__()
        self.quiz = quiz
        self.phase = "outcome"  # name → outcome → route (if any) → explained → … → done
        self.chosen_outcome: str | None = None
        self.attempt: Attempt | None = None

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
        if self.app.trainee:
            self._begin()
        else:
            self._ask_name()

    def on_unmount(self) -> None:
        self._close_attempt()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "restart":
            return self.phase == "done"
        if action == "go":
            return self.phase != "name"
        return True

    # -- the trainee and the results file ---------------------------------------------------------
    def _ask_name(self) -> None:
        from .dialogs import AskText

        self.phase = "name"
        self._set("case-head", Content.styled("训练", "bold") + Content(f" · {self.quiz.scenario.title}"))
        self.query_one("#choices").display = False

        def done(text: str | None) -> None:
            if text is None:  # Esc: leave, nothing written
                self.app.exit()
                return
            name = clean_name(text)
            if not name:
                self.app.notify("请输入姓名（用于记录成绩）", severity="warning", markup=False)
                self._ask_name()
                return
            self.app.trainee = name
            self._begin()

        self.app.push_screen(AskText("请输入姓名", "成绩按姓名记录，交给培训老师", ""), done)

    def _begin(self) -> None:
        self.app.session.trainee = self.app.trainee
        self.query_one(TopBar).refresh_bar()
        self._open_attempt()
        self._ask_outcome()

    def _open_attempt(self) -> None:
        self._close_attempt()
        folder = self.app.results
        if folder is None:
            return
        sc = self.quiz.scenario
        try:
            self.attempt = Attempt.start(folder, lesson=sc.id, title=sc.title, path=str(sc.path or ""),
                                         trainee=self.app.trainee, seed=self.quiz.seed, order=self.quiz.order)
        except ResultsError as exc:
            self._results_failed(exc)

    def _close_attempt(self) -> None:
        if self.attempt is not None:
            self.attempt.close()
            self.attempt = None

    def _record(self, method: str, **fields) -> None:
        if self.attempt is None:
            return
        try:
            getattr(self.attempt, method)(**fields)
        except ResultsError as exc:
            self._close_attempt()
            self._results_failed(exc)

    def _results_failed(self, exc: Exception) -> None:
        # The quiz goes on (the trainee is mid-lesson); the trainer is told the results are not kept.
        log_exception("train: results file", exc)
        self.app.session.notice = f"成绩未能记录：{exc}"
        self.query_one(TopBar).refresh_bar()

    # -- showing ------------------------------------------------------------------------------
    def _set(self, wid: str, content) -> None:
        self.query_one(f"#{wid}", Prose).update(content)

    def _show_case(self) -> None:
        q = self.quiz.current
        sc = self.quiz.scenario
        self._set("case-head", Content.styled(f"第 {q.number}/{len(self.quiz.questions)} 题", "bold")
                  + Content(f" · {sc.title}"))
        c = q.case
        lines = [Content.styled("证明名称：", "bold") + Content(c.query)]
        if c.jurisdiction or c.on:  # a case decided elsewhere or on another day than the top bar says
            lines.append(Content.styled("辖区：", "bold") + Content(q.jurisdiction_name)
                         + Content.styled("　决定日期：", "bold") + Content(q.decision.get("date") or ""))
        if c.purpose or c.requester:
            lines.append(Content.styled("用途：", "bold") + Content(c.purpose or "（未说明）")
                         + Content.styled("　索要单位：", "bold") + Content(c.requester or "（未说明）"))
        if q.facts:
            # The case's facts among others that do not apply, all alike (explain.shown_facts).
            lines.append(Content.styled("情形：", "bold") + Content("；".join(
                f"{label} {'是' if v else '否'}" for _, label, v in q.facts)))
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
        self._choices([(o.value, OUTCOME_LABELS[o]) for o in self.quiz.current.choices])
        self._set("explanation", Content("↑↓ 选择，Enter 作答。"))
        if self.attempt is not None:
            self.attempt.asked()
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
        self._record("answer", n=q.number, case=q.case_number, query=q.case.query,
                     jurisdiction=q.decision.get("jurisdiction"), on=q.decision.get("date"),
                     choices=[o.value for o in q.choices], chosen=mark.outcome, expected=q.outcome,
                     outcome_ok=mark.outcome_ok, chosen_route=mark.route, expected_route=q.route or None,
                     route_ok=mark.route_ok)
        self.phase = "explained"
        self.query_one("#choices").display = False
        self._set("explanation", self._feedback(q, mark))
        last = self.quiz.done
        if last:
            self._record("finish", **self.quiz.points_record())
        self._set("prompt", Content.styled("Enter " + ("查看总结" if last else "下一题"), "bold reverse"))
        self.set_focus(self.query_one("#explain"))
        self.refresh_bindings()

    def _feedback(self, q, mark) -> Content:
        right = OUTCOME_LABELS[Outcome(q.outcome)]
        mine = OUTCOME_LABELS[Outcome(mark.outcome)]
        ok = mark.outcome_ok
        lines = [Content.styled(" 回答正确 " if ok else " 回答错误 ", "bold black on green" if ok else "bold white on red")
                 + Content(f"  你的答案：{mine}　正确答案：{right}")]
        if not ok:
            lines.append(Content.styled(f"为什么不是“{mine}”：", "bold"))
            lines += [Content(line) for line in q.why_not(mark.outcome)]
        if mark.route_ok is not None:
            lines.append(Content.styled("办事途径：", "bold") + Content(
                "选对了" if mark.route_ok else "选错了" if mark.route else "未作答（不予出具时才告知居民办事途径）"))
            if not mark.route_ok and mark.route:
                lines.append(Content("你的答案：" + (mark.route or "")))
                note = q.route_note(mark.route)
                if note:
                    lines.append(Content(f"（{note}）"))
                lines.append(Content("正确答案：见下方“办事途径”"))
        if q.case.note:
            lines.append(Content.styled("教学要点：", "bold") + Content(q.case.note))
        # The decision as the counter shows it, its reasons those on the path that decided.
        shown = dict(q.decision, explanation=q.reasons())
        lines.append(decision_content(shown))
        return Content("\n").join(lines)

    def _summary(self) -> None:
        self.phase = "done"
        self.query_one("#choices").display = False
        self._set("case-head", Content.styled("训练结束", "bold") + Content(f" · {self.quiz.scenario.title}"))
        self._set("request", "")
        self._set("prompt", Content("Ctrl+R 重新开始　Ctrl+Q 退出"))
        lines = self.quiz.summary_lines()
        if self.quiz.seed is not None:
            lines.append(f"（题目顺序已打乱，种子 {self.quiz.seed}）")
        if self.attempt is not None:  # the folder and the file apart: a long path wraps at its own line
            lines += [f"成绩已记录在 {self.attempt.path.parent}", f"（{self.attempt.path.name}）"]
        self._set("explanation", Content("\n").join(Content(line) for line in lines))
        self.refresh_bindings()

    # -- keys ---------------------------------------------------------------------------------------
    def action_go(self) -> None:
        if self.app.screen is not self:  # the name dialog is on top: Enter is its own
            return
        ol = self.query_one("#choices", OptionList)
        if self.phase == "outcome":
            if ol.highlighted is None:
                return
            self.chosen_outcome = ol.get_option_at_index(ol.highlighted).id
            # The route is asked with a refusal, as the clerk gives it; a trainee who did not refuse
            # where the rules refuse has missed the route too (its point is lost, and said so).
            if self.quiz.current.routes and self.chosen_outcome == Outcome.REFUSE.value:
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
        if self.quiz.seed is not None and self.app.reshuffle is not None:
            # A shuffled lesson is shuffled again: a new order, its seed recorded with the attempt.
            self.quiz = self.app.quiz = self.app.reshuffle(secrets.randbelow(1_000_000))
        else:
            self.quiz.marks.clear()
        self._open_attempt()
        self._ask_outcome()
