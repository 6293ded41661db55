"""Training quiz (``sealdesk train``): for each case of a lesson the trainee picks the outcome
and, where the answer has one, the route (办事途径); each answer is scored against the engine's
decision and explained (``explain.py``): the trainee's answer beside the right one, why the chosen
one is not it, and the reasons on the path that decided.

The right answer is always what the engine decides on the case's date, not the file's ``expect``
(which the shipped-scenario tests keep equal to it): a trainee is never taught a result the
counter would not give. Route choices are the right route and up to three other routes of the
same jurisdiction's lists, fixed by the lesson, the case and the seed, so that a class sees the
same question.

Without a seed the cases come in the file's order and the outcomes in their defined order; with
``seed`` (``--shuffle``) both are shuffled by it, and the seed is recorded with the results so an
attempt can be replayed. Outcome points and route points are counted apart: a route is only asked
where the answer is a refusal, and a score that summed them would hide which was missed.

A case the engine answers ``ask`` (a name near several listed items, a retained item whose use
is not given; a case may say ``expect = "ask"``) is a question too: the quiz then offers 待补充
among the choices, for every case of that quiz so that its presence gives nothing away, and the
explanation names what is to be asked.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from functools import cached_property

from sealdesk.core.engine.model import OUTCOME_LABELS, Decision, Outcome
from sealdesk.core.training.explain import route_note, shown_facts, teaching_lines, why_not
from sealdesk.core.training.scenario import Case, Scenario

CHOICES = [o for o in Outcome if o is not Outcome.ASK]  # in the order the outcomes are defined
ROUTE_CHOICES = 4


@dataclass
class Question:
    number: int  # 1-based, in the order asked
    case: Case
    made: Decision
    view: object  # the view it was decided in (why_not asks the engine again)
    routes: list[str]  # route choices; empty when the right answer has no route
    case_number: int  # 1-based, in the lesson file (the same case across shuffled attempts)
    choices: list[Outcome]  # the outcomes offered, in the order shown
    facts: list[tuple[str, str, bool]]  # (name, label, value) shown up front

    @cached_property
    def decision(self) -> dict:
        """``made`` as the counter shows it (Decision.to_json)."""
        return self.made.to_json()

    @property
    def outcome(self) -> str:
        return self.decision["outcome"]

    @property
    def route(self) -> str:
        return self.decision.get("route") or ""

    @property
    def jurisdiction_name(self) -> str:
        return self.view.name

    def reasons(self) -> list[str]:
        """The reasons on the path that decided (explain.teaching_lines)."""
        return teaching_lines(self.made)

    def why_not(self, chosen: str) -> list[str]:
        return why_not(self.view, self.case, self.made, chosen)

    def route_note(self, chosen: str | None) -> str:
        return route_note(self.view, chosen, self.route)


@dataclass
class Mark:
    outcome: str
    route: str | None  # None when no route was asked
    outcome_ok: bool
    route_ok: bool | None

    @property
    def points(self) -> int:
        return int(self.outcome_ok) + int(bool(self.route_ok))


def offered_choices(outcomes) -> list[Outcome]:
    """CHOICES, and 待补充 too when some case of the quiz (its outcome values) is answered so."""
    return [*CHOICES, Outcome.ASK] if Outcome.ASK.value in set(outcomes) else list(CHOICES)


def route_choices(view, right: str, seed: str) -> list[str]:
    if not right:
        return []
    others = sorted({i.route for i in view.items if i.route and i.route != right})
    rng = random.Random(seed)
    picked = rng.sample(others, min(ROUTE_CHOICES - 1, len(others))) + [right]
    rng.shuffle(picked)
    return picked


@dataclass
class Quiz:
    scenario: Scenario
    questions: list[Question]
    marks: list[Mark] = field(default_factory=list)
    seed: int | None = None  # None: the file's order

    @classmethod
    def build(cls, registry, scenario: Scenario, today: dt.date | None = None, seed: int | None = None) -> "Quiz":
        from sealdesk.core.engine.protocol import decide

        made = []
        for n, case in enumerate(scenario.cases, 1):
            view = scenario.case_view(registry, case, today)  # a case may name its own jurisdiction and date
            made.append((n, case, view, decide(view, case.request())))
        offered = offered_choices(d.outcome.value for *_, d in made)
        rng = random.Random(seed)
        if seed is not None:
            rng.shuffle(made)
        qs = []
        for asked, (n, case, view, d) in enumerate(made, 1):
            key = f"{scenario.id}:{n}" + (f":{seed}" if seed is not None else "")
            choices = list(offered)
            if seed is not None:
                rng.shuffle(choices)
            qs.append(Question(asked, case, d, view, route_choices(view, d.route or "", key), n, choices,
                               shown_facts(view, case, d, key)))
        return cls(scenario, qs, seed=seed)

    @property
    def choices(self) -> list[Outcome]:
        """The outcomes offered, in their defined order (offered_choices)."""
        return offered_choices(q.outcome for q in self.questions)

    @property
    def order(self) -> list[int]:
        """The lesson's case numbers in the order asked."""
        return [q.case_number for q in self.questions]

    # -- progress ---------------------------------------------------------------------------
    @property
    def current(self) -> Question | None:
        return self.questions[len(self.marks)] if len(self.marks) < len(self.questions) else None

    @property
    def done(self) -> bool:
        return self.current is None

    def answer(self, outcome: str, route: str | None = None) -> Mark:
        q = self.current
        if q is None:
            raise IndexError("quiz finished")
        route_ok = (route == q.route) if q.routes else None
        mark = Mark(outcome, route if q.routes else None, outcome == q.outcome, route_ok)
        self.marks.append(mark)
        return mark

    # -- the score ------------------------------------------------------------------------------
    @property
    def outcome_points(self) -> int:
        return sum(m.outcome_ok for m in self.marks)

    @property
    def outcome_possible(self) -> int:
        return len(self.marks)

    @property
    def route_points(self) -> int:
        return sum(bool(m.route_ok) for m in self.marks)

    @property
    def route_possible(self) -> int:
        return sum(bool(q.routes) for q in self.questions[: len(self.marks)])

    def score_text(self) -> str:
        """「处理结果 7/8 题　办事途径 3/4 题」: the two kinds of points apart."""
        text = f"处理结果 {self.outcome_points}/{self.outcome_possible} 题"
        if self.route_possible:
            text += f"　办事途径 {self.route_points}/{self.route_possible} 题"
        return text

    def points_record(self) -> dict:
        return {"outcome_points": self.outcome_points, "outcome_possible": self.outcome_possible,
                "route_points": self.route_points, "route_possible": self.route_possible}

    def summary_lines(self) -> list[str]:
        lines = ["得分：" + self.score_text()]
        for q, m in zip(self.questions, self.marks):
            right = OUTCOME_LABELS[Outcome(q.outcome)]
            got = OUTCOME_LABELS[Outcome(m.outcome)]
            o = "✓" if m.outcome_ok else "✗"
            r = "" if m.route_ok is None else ("　办事途径 ✓" if m.route_ok else "　办事途径 ✗")
            extra = "" if m.outcome_ok else f"（应为{right}）"
            lines.append(f"第 {q.number} 题 {q.case.query}：{o} {got}{extra}{r}")
        return lines
