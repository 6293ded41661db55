"""Rules: small pure functions with a citation, a slot and an optional override link.

The protocol (``protocol.py``) runs the slots in order; each rule gets the
request's context and the decision built so far (``Step``) and returns it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sealdesk.core.engine.facts import fact_label
from sealdesk.core.engine.model import Citation, Facts, Ground, Outcome, Request

# Exclusive slots: exactly one rule decides, the deepest in force.
EXCLUSIVE = ("retained", "negative", "unlisted", "commitment", "public_interest")
# Additive slots: every rule of the chain in force applies, in depth then id order.
ADDITIVE = ("requirements", "seal", "notice")
SLOTS = EXCLUSIVE + ADDITIVE


@dataclass(frozen=True)
class Rule:
    id: str
    jurisdiction: str
    slot: str
    citation: Citation
    apply: Callable = field(compare=False, repr=False)
    overrides: str | None = None
    params: dict = field(default_factory=dict, compare=False, repr=False)
    plugin: str = ""
    source: str = ""  # file or module it came from, for error messages

    def __hash__(self):
        return hash(self.id)


class Context:
    """What a rule may read. Built once per decision; rules must not mutate it."""

    __slots__ = ("request", "facts", "purpose_key", "item", "view", "rule")

    def __init__(self, request: Request, purpose_key: str, item, view):
        self.request = request
        self.facts: Facts = request.facts
        self.purpose_key = purpose_key
        self.item = item
        self.view = view
        self.rule: Rule | None = None

    @property
    def requester_key(self) -> str:
        """The requesting unit, normalised like the purpose (only retained items read it)."""
        from sealdesk.core.engine.names import purpose_key

        return purpose_key(self.request.requester)

    def asserted(self, name: str) -> bool:
        return self.facts.asserted(name)

    def all_of(self, *names: str) -> bool | None:
        """Kleene AND over required facts: False if any is false, None if any unknown."""
        unknown = False
        for n in names:
            v = self.facts.value(n)
            if v is False:
                return False
            if v is None:
                unknown = True
        return None if unknown else True

    def unknown(self, *names: str) -> list[str]:
        return [n for n in names if self.facts.value(n) is None]

    def known_false(self, name: str) -> bool:
        return self.facts.value(name) is False

    def label(self, name: str) -> str:
        """A fact's label as explanations show it (能够调查核实), never its id."""
        return fact_label(name, self.view.facts)


class Step:
    """The decision under construction. Rules call its methods and return it."""

    __slots__ = (
        "outcome", "item", "route", "requirements", "questions", "citations",
        "explanation", "grounds", "warnings", "notices", "candidates", "_cited", "may_issue", "stages",
    )

    def __init__(self, item=None):
        self.outcome: Outcome | None = None
        self.item = item
        self.route: str | None = None
        self.requirements: list[str] = []
        self.questions: list[str] = []
        self.citations: list[Citation] = []
        self.explanation: list[str] = []
        # The outcome reached when each explanation line was written: a later rule may change it (a
        # seal rule refuses what was to be issued), and teaching shows the earlier lines as such.
        self.stages: list[Outcome | None] = []
        self.grounds: list[Ground] = []
        self.warnings: list[str] = []
        self.notices: list[str] = []
        self.candidates: tuple = ()
        self._cited: set = set()
        # True while asking for facts whose only non-refusal outcome is an issue: a seal rule that
        # holds already settles such a request, so the clerk is not asked for nothing.
        self.may_issue = False

    # -- building ------------------------------------------------------------
    def explain(self, line: str) -> "Step":
        self.explanation.append(line)
        self.stages.append(self.outcome)
        return self

    def cite(self, *citations: Citation) -> "Step":
        for c in citations:
            if c is None:
                continue
            key = (c.document, c.provision)  # Citation equality, without dataclass __eq__ per element
            if key not in self._cited:
                self._cited.add(key)
                self.citations.append(c)
        return self

    def require(self, *codes: str) -> "Step":
        for c in codes:
            if c not in self.requirements:
                self.requirements.append(c)
        return self

    def ground(self, code: str, text: str, citation: Citation | None = None) -> "Step":
        self.grounds.append(Ground(code, text, citation))
        return self

    # -- outcomes ------------------------------------------------------------
    def decide(self, outcome: Outcome, line: str, *citations: Citation) -> "Step":
        self.outcome = outcome
        self.cite(*citations)
        return self.explain(line)

    def ask(self, facts, line: str, may_issue: bool = True) -> "Step":
        self.outcome = Outcome.ASK
        self.may_issue = may_issue
        for f in facts:
            if f not in self.questions:
                self.questions.append(f)
        return self.explain(line)

    @property
    def issuing(self) -> bool:
        return self.outcome is not None and self.outcome.issuing
