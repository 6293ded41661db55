"""Explanations for teaching (``sealdesk train``): what the trainee reads before and after answering.

* :func:`shown_facts`: the circumstances given with a case. The case's own facts alone would point
  at the answer (已确认：能以书面承诺解决 → 告知承诺), so a few facts that do not apply are shown
  beside them, all as 是/否 in one fixed order. A fact is only added where saying 否 for it
  leaves the engine's decision as it is (checked, not assumed).
* :func:`teaching_lines`: the reasons on the path that decided, in order. A line written before a
  later rule changed the outcome (出具, then a seal rule's 不予出具) says what it would have been
  (「本应出具」), so no two lines seem to argue.
* :func:`why_not`: why the outcome the trainee chose is not the answer. The engine is asked again
  with the case changed (a fact confirmed or denied, the use a listed exception names), and the
  smallest change that gives the chosen outcome is told: what it needs, which rule then decides,
  and what this case has instead. When no change gives it, that is said, with the rule that decided.
* :func:`route_note`: whose route the trainee picked when it is not the right one.

Implements DOMAIN.md's outcomes (section 5) and protocol (sections 6 and 7) for trainers; every
sentence comes from the engine's own explanation lines or the facts' labels, never a fact's id.
"""

from __future__ import annotations

import itertools
import random
import time
from dataclasses import replace

from sealdesk.core.engine.facts import fact_label
from sealdesk.core.engine.model import OUTCOME_LABELS, Facts, Outcome
from sealdesk.core.training.compare import question_label

DISTRACTORS = 2  # facts that do not apply, shown beside the case's own
SEARCH_SECONDS = 1.5  # why_not's search stops here (a trainee waits for it)


def _same(a, b) -> bool:
    return (a.outcome, a.item.id if a.item else None, a.route) == (b.outcome, b.item.id if b.item else None, b.route)


def shown_facts(view, case, decision, seed: str) -> list[tuple[str, str, bool]]:
    """``(name, label, value)`` to show with the case: its facts and up to :data:`DISTRACTORS` more
    that do not apply (否), in the order the facts are defined."""
    from sealdesk.core.engine.protocol import decide

    given = dict(case.facts)
    chain = {*view.chain, "national"}  # the facts of this jurisdiction and those it inherits
    pool = [n for n, spec in view.facts.items()
            if n not in given and not spec.required and n != "not_listed" and spec.jurisdiction in chain]
    rng = random.Random(seed)
    rng.shuffle(pool)
    added: list[str] = []
    for name in pool:
        if len(added) == DISTRACTORS:
            break
        trial = {**given, **{a: False for a in added}, name: False}
        d = decide(view, replace(case.request(), facts=Facts(trial)))
        if _same(d, decision):
            added.append(name)
    values = {**given, **{a: False for a in added}}
    order = list(view.facts)
    ordered = sorted(values, key=lambda n: order.index(n) if n in order else len(order))
    return [(n, fact_label(n, view.facts), bool(values[n])) for n in ordered]


def teaching_lines(decision) -> list[str]:
    """The decision's explanation lines, those superseded by a later rule marked 「本应…」."""
    final = decision.outcome
    stages = decision.stages or (None,) * len(decision.explanation)
    out = []
    for line, stage in zip(decision.explanation, stages):
        if stage is not None and stage is not final and stage is not Outcome.ASK:
            line = f"（本应{OUTCOME_LABELS[stage]}）{line}"
        out.append(line)
    return out


def _deciding_line(decision, outcome: Outcome) -> str:
    """The first line written once ``outcome`` was reached: the rule that decided it."""
    for line, stage in zip(decision.explanation, decision.stages):
        if stage is outcome:
            return line
    return decision.explanation[-1] if decision.explanation else ""


def _changes(view, case, decision):
    """Changes to try, smallest first: ``(description, request)`` with the description as a list of
    (needs, this case has) pairs."""
    req = case.request()
    facts = dict(case.facts)
    names = [n for n in view.facts if n != "not_listed"]
    flips = []
    for n in names:
        v = facts.get(n)
        label = fact_label(n, view.facts)
        has = "本案未确认" if v is None else ("本案为“是”" if v else "本案为“否”")
        if v is not True:
            flips.append((n, True, f"确认“{label}”", has))
        if v is not False and view.facts[n].required:
            flips.append((n, False, f"“{label}”为否", has))
    purposes = []
    item = decision.item
    if item is not None:
        conds = list(item.exceptions) + ([item.limit] if item.limit is not None else [])
        for cond in conds:
            for p in cond.purposes[:1]:  # the first purpose the entry names stands for it
                has = f"本案用途为“{req.purpose}”" if req.purpose.strip() else "本案未说明用途"
                purposes.append((p, f"用途为“{p}”（{cond.text}）" if cond.text else f"用途为“{p}”", has))
    for p, needs, has in purposes:
        yield [(needs, has)], replace(req, purpose=p)
    for size in (1, 2, 3):
        for combo in itertools.combinations(flips, size):
            if len({n for n, *_ in combo}) < size:
                continue
            trial = dict(facts)
            for n, v, *_ in combo:
                trial[n] = v
            yield [(needs, has) for _, _, needs, has in combo], replace(req, facts=Facts(trial))


def counterfactual(view, case, decision, chosen: Outcome):
    """The smallest change of the case that the engine decides ``chosen``: ``(described, request,
    decision)``, ``described`` being (what it needs, what this case has) pairs; None if none is
    found (within SEARCH_SECONDS)."""
    from sealdesk.core.engine.protocol import decide

    deadline = time.monotonic() + SEARCH_SECONDS
    for described, request in _changes(view, case, decision):
        if time.monotonic() > deadline:
            return None
        try:
            d = decide(view, request)
        except Exception:  # a plugin's rule that raises on a changed case: not this search's business
            continue
        if d.outcome is chosen:
            return described, request, d
    return None


def why_not(view, case, decision, chosen: str) -> list[str]:
    """Why ``chosen`` (an outcome value) is not this case's answer: empty when it is."""
    chosen_o = Outcome(chosen)
    right = decision.outcome
    if chosen_o is right:
        return []
    label = OUTCOME_LABELS[chosen_o]
    if right is Outcome.ASK:
        asked = "、".join(question_label(q, view.facts) for q in decision.questions)
        first = f"还不能{label}：{decision.explanation[-1]}" if decision.explanation else f"还不能{label}"
        return [first + (f"（须先问明：{asked}）" if asked else "")]
    if chosen_o is Outcome.ASK:
        return [f"不必再问：名称和情形已足以决定。{_deciding_line(decision, right)}"]
    found = counterfactual(view, case, decision, chosen_o)
    if found is None:
        return [f"本案的名称和情形下，没有哪条规则得出“{label}”。决定本案的是：{_deciding_line(decision, right)}"]
    described, _, d = found
    # "If …, then X": the smallest change found is enough for X, but not always the only way to it.
    return [f"如果{_needs(described)}，就会是“{label}”。", f"那时适用：{_deciding_line(d, chosen_o)}"]


def _needs(described: list[tuple[str, str]]) -> str:
    """确认“甲”、确认“乙”（本案都未确认）, or each with its own state when they differ."""
    states = {has for _, has in described}
    if len(states) == 1:
        (has,) = states
        if len(described) > 1:
            has = has.replace("本案", "本案都", 1)
        return "、".join(n for n, _ in described) + f"（{has}）"
    return "，并且".join(f"{n}（{has}）" for n, has in described)


def route_note(view, chosen: str | None, right: str | None) -> str:
    """Whose route the chosen one is, when it is not the right one."""
    if not chosen or chosen == right:
        return ""
    owners = [it.display for it in view.items if it.route == chosen]
    if owners:
        return f"你选的是{owners[0]}的办事途径"
    return "你选的不是本案事项的办事途径"
