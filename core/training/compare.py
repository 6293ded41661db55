"""One request decided in every jurisdiction, side by side (trainers: "how does this fare elsewhere?").

``compare(registry, request, on)`` decides the request in each installed, usable jurisdiction
(national first, then by depth) and says, per jurisdiction, which fields differ from the
reference: for each field the value most jurisdictions share, a tie going to the one listed
first (national). Jurisdictions that are unavailable (a plugin failed to load, or a rule of it
raised while deciding this very request) are listed with the reason; the others are compared.

Fields compared (what a resident would notice): the outcome, the item (list, number and
name: two jurisdictions sharing national's item 5 agree even though their catalogs differ; for a
name near several items, the items to choose from), the route, the requirements and the questions
(facts, or ``purpose``: a retained item that holds only for its use).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

from sealdesk.core.engine.facts import fact_label
from sealdesk.core.engine.model import REQUIREMENTS, Decision, Request
from sealdesk.core.engine.plugins import BrokenJurisdiction, UnknownJurisdiction
from sealdesk.core.engine.protocol import decide

FIELDS = ("outcome", "item", "route", "requirements", "questions")
FIELD_LABELS = {"outcome": "结果", "item": "事项", "route": "办事途径", "requirements": "须办理",
                "questions": "待确认情形"}


def field_value(d: Decision, field: str):
    """The comparable (hashable) value of one field of a decision."""
    if field == "outcome":
        return d.outcome.value
    if field == "item":
        if d.item:
            return (d.item.list, d.item.number, d.item.name)
        if d.candidates:  # asked which of these: differs from "unlisted" and from other choices
            return ("candidates", tuple((c.list, c.number, c.name) for c in d.candidates))
        return None
    if field == "route":
        return d.route or ""
    return tuple(getattr(d, field))


def candidates_label(candidates, short: bool = False) -> str:
    """待选：负面清单第1项、第8项 (``short``: 待选：负面第1/8项): the items a name may mean, grouped
    by the list each is numbered in (某某县负面清单第1项 is not the national 第1项)."""
    groups: dict[str, list[int]] = {}
    for c in candidates:
        groups.setdefault(c.list_label, []).append(c.number)
    if short:
        return "待选：" + "/".join(f"{label.removesuffix('清单')}第{'/'.join(map(str, ns))}项"
                                  for label, ns in groups.items())
    return "待选：" + "；".join(label + "、".join(f"第{n}项" for n in ns) for label, ns in groups.items())


def item_label(d: Decision) -> str:
    """负面清单第2项 居民身份信息证明, 未列入清单, 待选：负面清单第1项、第8项, or 未说明名称."""
    if d.item:
        return f"{d.item.list_label}第{d.item.number}项 {d.item.name}"
    if d.candidates:
        return candidates_label(d.candidates)
    if d.outcome.value == "ask":  # the query names no certificate (证明, 123)
        return "未说明名称"
    return "未列入清单"


def question_label(name: str, specs) -> str:
    """A question of a decision: a fact's label, or 用途 for a retained item limited to its use."""
    if name == "purpose":
        return "用途（保留事项限定用途）"
    return fact_label(name, specs)


def requirements_label(codes) -> str:
    return "、".join(REQUIREMENTS.get(c, c) for c in codes)


@dataclass(frozen=True)
class Comparison:
    request: Request
    date: dt.date
    decisions: tuple[Decision, ...]  # national first, then by depth and id
    broken: tuple[tuple[str, str], ...]  # (jurisdiction id, why it cannot be used)
    reference: dict  # field -> the value most jurisdictions share (tie: the first listed)
    differs: dict  # jurisdiction id -> frozenset of the fields where it departs from the reference

    @property
    def differing_fields(self) -> list[str]:
        """The fields on which not every jurisdiction agrees, in FIELDS order."""
        seen = set().union(*self.differs.values()) if self.differs else set()
        return [f for f in FIELDS if f in seen]

    def groups(self, field: str) -> list[tuple[object, list[str]]]:
        """(value, jurisdiction ids sharing it) for one field, the reference value first."""
        out: dict = {}
        for d in self.decisions:
            out.setdefault(field_value(d, field), []).append(d.jurisdiction)
        ref = self.reference.get(field)
        return sorted(out.items(), key=lambda kv: kv[0] != ref)

    def decision(self, jid: str) -> Decision | None:
        return next((d for d in self.decisions if d.jurisdiction == jid), None)


def _reference(values: list):
    counts = Counter(values)
    best = max(counts.values())
    return next(v for v in values if counts[v] == best)


def compare(registry, request: Request, on: dt.date, jurisdictions: list[str] | None = None) -> Comparison:
    """Decide ``request`` on date ``on`` in every usable jurisdiction (or only in ``jurisdictions``).

    Raises UnknownJurisdiction for an id in ``jurisdictions`` that no plugin defines.
    """
    if jurisdictions is None:
        wanted = registry.ids() + sorted(registry.broken)
    else:
        for jid in jurisdictions:
            if jid not in registry.jurisdictions and jid not in registry.broken:
                raise UnknownJurisdiction(jid)
        order = {jid: i for i, jid in enumerate(registry.ids())}  # national first: it wins ties
        wanted = sorted(dict.fromkeys(jurisdictions), key=lambda j: (order.get(j, len(order)), j))
    decisions, broken = [], []
    for jid in wanted:
        try:
            decisions.append(decide(registry.view(jid, on), request))
        except BrokenJurisdiction as exc:  # at load, or a rule raised now (the protocol recorded it)
            broken.append((jid, exc.reason))
    # A rule that raised deciding a descendant breaks its ancestor too, which may have been decided above.
    late = [d.jurisdiction for d in decisions if d.jurisdiction in registry.broken]
    if late:
        decisions = [d for d in decisions if d.jurisdiction not in late]
        broken = [(jid, registry.reason(jid)) for jid in late] + broken
        order = {jid: i for i, jid in enumerate(wanted)}
        broken.sort(key=lambda b: order.get(b[0], len(order)))
    reference, differs = {}, {d.jurisdiction: set() for d in decisions}
    if decisions:
        for field in FIELDS:
            values = [field_value(d, field) for d in decisions]
            reference[field] = ref = _reference(values)
            for d, v in zip(decisions, values):
                if v != ref:
                    differs[d.jurisdiction].add(field)
    return Comparison(request, on, tuple(decisions), tuple(broken), reference,
                      {jid: frozenset(f) for jid, f in differs.items()})
