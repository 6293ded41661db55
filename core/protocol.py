"""The decision protocol (DOMAIN.md sections 6 and 7).

``decide(view, request)`` is a pure function of the jurisdiction's view (its
rules and catalog in force on the decision date) and the request: no I/O, no
globals, the same answer every time.

Order: resolve the name → retained / negative / unlisted rule (one, the
deepest in force) → extra requirements → public-interest consultation → seal
rules (last, on any issuing outcome) → notices → adoption citations.
"""

from __future__ import annotations

from .model import Decision, Outcome, Request, ordered_requirements
from .names import kind_label, purpose_key
from .rules import Context, Step


def _resolve_line(res, item) -> str:
    if res.kind == "name" and res.matched == res.query:
        return f"名称解析：“{res.query}”即{item.display}"
    return f"名称解析：“{res.query}”对应{item.display}（按{kind_label(res.kind)}“{res.matched}”匹配）"


def _run(view, slot: str, ctx: Context, step: Step) -> Step:
    rule = view.rules.get(slot)
    if rule is None:
        return step
    ctx.rule = rule
    return rule.apply(ctx, step)


def _run_all(view, slot: str, ctx: Context, step: Step) -> Step:
    """Apply every rule of an additive slot, root jurisdiction first."""
    for rule in view.additive[slot]:
        ctx.rule = rule
        step = rule.apply(ctx, step)
    return step


def _carved_by(view, item, ctx: Context):
    """The retained entry that carves this negative item out for this request, if any."""
    for retained, condition in view.carve_outs.get(item.id, ()):
        if condition is not None and condition.holds(ctx.purpose_key, ctx.facts):
            return retained, condition
    return None


def decide(view, request: Request) -> Decision:
    ctx = Context(request, purpose_key(request.purpose), None, view)
    step = Step()
    res = view.index.lookup(request.query)

    if res.ambiguous:
        step.candidates = res.items
        names = "、".join(it.display for it in res.items)
        step.ask((), f"名称解析：“{request.query}”同时对应{names}，不能替居民选择；请问明所需证明后按完整名称办理")
        for it in res.items:
            step.cite(*it.citations)
        return _finish(view, request, step)

    item = res.item
    if item is None:
        near = view.index.near(request.query)
        if near:
            step.warnings.append("未找到完全一致的事项名称；相近事项：" + "、".join(it.display for it in near)
                                 + "。如属其中之一，请按该名称重新查询")
        step.explain(f"名称解析：“{request.query}”不在{view.name}的负面清单或保留清单中（未列入清单事项）")
        _run(view, "unlisted", ctx, step)
    else:
        step.item = item
        line = res.line  # cached on the (cached) resolution: the same query explains the same way
        if line is None:
            line = res.line = _resolve_line(res, item)
        step.explain(line)
        if item.list == "negative":
            carved = _carved_by(view, item, ctx)
            if carved:
                retained, condition = carved
                step.explain(f"{retained.display}从该负面清单事项中划出（"
                             + "、".join(condition.matched(ctx.purpose_key, ctx.facts)) + "），保留清单优先")
                step.item = retained
                ctx.item = retained
                _run(view, "retained", ctx, step)
            else:
                ctx.item = item
                _run(view, "negative", ctx, step)
        else:
            ctx.item = item
            _run(view, "retained", ctx, step)
            if step.outcome is None:
                # Restriction not met: a carving entry falls back to the negative item it carves out.
                target = next((view.by_id.get(c.item) for c in item.carves_out if view.by_id.get(c.item)), None)
                if target is None:
                    target = next((view.by_id[nid] for nid, lst in view.carve_outs.items()
                                   if any(r.id == item.id for r, _ in lst) and nid in view.by_id), None)
                if target is not None:
                    step.explain(f"本次申请不符合保留事项的限定用途，按其划出前的{target.display}办理")
                    step.item = target
                    ctx.item = target
                    _run(view, "negative", ctx, step)
                else:
                    step.decide(Outcome.REFUSE, "本次申请不符合保留事项的限定用途，不予出具", *item.citations)
                    step.ground("restriction", item.restriction.text if item.restriction else "", item.citations[0])

    if step.outcome is None:  # no rule in force decided: say so rather than guess
        step.decide(Outcome.REFUSE, "本辖区在决定日期没有适用的规则，不予出具")
        step.ground("no_rule", "决定日期无适用规则")

    if step.outcome is not Outcome.ASK:
        step = _run_all(view, "requirements", ctx, step)
        if step.issuing:
            _run(view, "public_interest", ctx, step)
        step = _run_all(view, "seal", ctx, step)
        step = _run_all(view, "notice", ctx, step)
    elif step.may_issue and not step.candidates:
        step = _run_all(view, "seal", ctx, step)
    return _finish(view, request, step)


def _finish(view, request: Request, step: Step) -> Decision:
    outcome = step.outcome
    for adoption in view.adoption:
        if not adoption.outcomes or outcome.value in adoption.outcomes:
            step.cite(adoption.citation)
    if outcome is Outcome.REFUSE and step.route is None and step.item is not None and step.item.list == "negative":
        step.route = step.item.route
    return Decision(
        jurisdiction=view.jurisdiction,
        date=view.date,
        query=request.query,
        item=step.item,
        outcome=outcome,
        route=step.route if outcome is Outcome.REFUSE else None,
        requirements=ordered_requirements(step.requirements) if outcome is not Outcome.REFUSE else (),
        questions=tuple(step.questions),
        citations=tuple(step.citations),
        warnings=(*view.warnings, *step.warnings),
        explanation=tuple(step.explanation),
        grounds=tuple(step.grounds),
        candidates=tuple(step.candidates),
        purpose=request.purpose,
        requester=request.requester,
        facts=request.facts,
        notices=tuple(step.notices),
    )

