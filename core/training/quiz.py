"""Training quiz (``sealdesk train``): for each case of a scenario the trainee picks the outcome
and, where the answer has one, the route (办事途径); each answer is scored against the engine's
decision and explained with its citations.

The right answer is always what the engine decides on the scenario's date, not the file's
``expect`` (which the shipped-scenario tests keep equal to it): a trainee is never taught a
result the counter would not give. Route choices are the right route and up to three other
routes of the same jurisdiction's negative list, in an order fixed by the scenario and the
case number, so that a trainer's class all see the same question.

A case the engine answers ``ask`` (a name near several listed items, a retained item whose use
is not given; a case may say ``expect = "ask"``, and a scenario written before residents' words
were read can have one) is a question too: the quiz then offers 待补充 among the choices, for every case of that quiz so that its
presence gives nothing away, and the explanation names what is to be asked.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from sealdesk.core.engine.model import OUTCOME_LABELS, Outcome
from sealdesk.core.training.scenario import Case, Scenario

CHOICES = [o for o in Outcome if o is not Outcome.ASK]  # in the order the outcomes are defined
ROUTE_CHOICES = 4


@dataclass
class Question:
    number: int  # 1-based
    case: Case
    decision: dict  # Decision.to_json()
    routes: list[str]  # route choices; empty when the right answer has no route

    @property
    def outcome(self) -> str:
        return self.decision["outcome"]

    @property
    def route(self) -> str:
        return self.decision.get("route") or ""


@dataclass
class Mark:
    outcome: str
    route: str | None  # None when no route was asked
    outcome_ok: bool
    route_ok: bool | None

    @property
    def points(self) -> int:
        return int(self.outcome_ok) + int(bool(self.route_ok))


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

    @classmethod
    def build(cls, registry, scenario: Scenario, today: dt.date | None = None) -> "Quiz":
        from sealdesk.core.engine.protocol import decide

        qs = []
        for n, case in enumerate(scenario.cases, 1):
            view = scenario.case_view(registry, case, today)  # a case may name its own jurisdiction and date
            d = decide(view, case.request()).to_json()
            qs.append(Question(n, case, d, route_choices(view, d.get("route") or "", f"{scenario.id}:{n}")))
        return cls(scenario, qs)

    @property
    def choices(self) -> list[Outcome]:
        """The outcomes offered: CHOICES, and 待补充 too when some case of this quiz is answered so."""
        if any(q.outcome == Outcome.ASK.value for q in self.questions):
            return [*CHOICES, Outcome.ASK]
        return list(CHOICES)

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

    # -- the summary ----------------------------------------------------------------------------
    @property
    def points(self) -> int:
        return sum(m.points for m in self.marks)

    @property
    def possible(self) -> int:
        return sum(1 + bool(q.routes) for q in self.questions[: len(self.marks)])

    def summary_lines(self) -> list[str]:
        lines = [f"得分 {self.points}/{self.possible}（{len(self.marks)} 题）"]
        for q, m in zip(self.questions, self.marks):
            right = OUTCOME_LABELS[Outcome(q.outcome)]
            got = OUTCOME_LABELS[Outcome(m.outcome)]
            o = "✓" if m.outcome_ok else "✗"
            r = "" if m.route_ok is None else ("　办事途径 ✓" if m.route_ok else "　办事途径 ✗")
            extra = "" if m.outcome_ok else f"（应为{right}）"
            lines.append(f"第 {q.number} 题 {q.case.query}：{o} {got}{extra}{r}")
        return lines
