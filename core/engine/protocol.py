"""The decision protocol (DOMAIN.md sections 6 and 7).

``decide(view, request)`` is a pure function of the jurisdiction's view (its
rules and catalog in force on the decision date) and the request: no I/O, no
globals, the same answer every time.

Order: resolve the name (catalog names, then residents' words; a name near
listed items is asked about, never treated as unlisted) → retained / negative /
unlisted rule (one, the deepest in force) → written commitment instead of a
refusal → extra requirements → public-interest consultation → seal rules (last,
on any issuing outcome) → notices → adoption citations.
"""

from __future__ import annotations

from sealdesk.core.engine.model import Decision, Match, Outcome, Request, ordered_requirements
from sealdesk.core.engine.names import kind_label, names_nothing, purpose_key
from sealdesk.core.engine.rules import Context, Step

# The fact a clerk asserts after checking with the resident that a name near listed items is none of them.
NOT_LISTED = "not_listed"


def _resolve_line(res, item) -> str:
    if res.kind == "name" and res.matched == res.query:
        return f"名称解析：“{res.query}”即{item.display}"
    why = f"：{res.reason}" if res.reason else ""
    return f"名称解析：“{res.query}”对应{item.display}（按{kind_label(res.kind)}“{res.matched}”匹配{why}）"


def _run(view, slot: str, ctx: Context, step: Step) -> Step:
    rule = view.rules.get(slot)
    if rule is None:
        return step
    ctx.rule = rule
    try:
        return rule.apply(ctx, step)
    except Exception as exc:
        raise _failed(view, rule, exc) from exc


def _run_all(view, slot: str, ctx: Context, step: Step) -> Step:
    """Apply every rule of an additive slot, root jurisdiction first."""
    for rule in view.additive[slot]:
        ctx.rule = rule
        try:
            out = rule.apply(ctx, step)
        except Exception as exc:
            raise _failed(view, rule, exc) from exc
        if not isinstance(out, Step):  # the next rule and the decision are built on it
            raise _failed(view, rule, TypeError(f"apply returned {type(out).__name__}, expected the Step"))
        step = out
    return step


def _failed(view, rule, exc: Exception):
    """A rule is a plugin's code: whatever it raises makes its jurisdiction unavailable (recorded in
    the registry, so later requests are refused at once) and no outcome is given — a half-run
    decision might read as an issue (fail safe). Returns the BrokenJurisdiction to raise."""
    from sealdesk.core.engine.plugins import rule_failed

    return rule_failed(view, rule, exc)


def _carved_by(view, item, ctx: Context):
    """The retained entry that carves this negative item out for this request, if any."""
    for retained, condition in view.carve_outs.get(item.id, ()):
        if condition is not None and condition.holds(ctx.purpose_key, ctx.facts):
            return retained, condition
    return None


def _other_use(view, ctx: Context, step: Step, item) -> None:
    """A retained item asked for a use its entry does not name: not on the retained list for it."""
    rule = view.rules.get("unlisted")
    cites = (rule.citation,) if rule is not None else ()
    use = f"本次用途“{ctx.request.purpose}”" if ctx.request.purpose.strip() else "本次申请"
    step.decide(Outcome.REFUSE,
                f"{item.limit_text}{use}不在其内；对这一用途，该证明未列入保留清单，"
                f"未列入清单的证明事项不予出具" + (f"（{cites[0].text()}）" if cites else ""),
                *cites, item.citations[0])
    step.ground("other_use", item.limit_text, cites[0] if cites else item.citations[0])


def decide(view, request: Request) -> Decision:
    registry = getattr(view, "registry", None)
    if registry is not None and registry.broken and view.jurisdiction in registry.broken:
        registry.get(view.jurisdiction)  # a rule of its chain raised since this view was built: unavailable
    ctx = Context(request, purpose_key(request.purpose), None, view)
    step = Step()
    query = request.query
    res = view.index.lookup(query)
    match = res.match
    if match is None and res.items:
        match = res.match = Match(res.matched, res.kind, res.reason)  # cached with the resolution

    if res.ambiguous:
        step.candidates = res.items
        names = "、".join(it.display for it in res.items)
        why = f"（{res.reason}）" if res.reason else ""
        step.ask((), f"名称解析：“{query}”同时对应{names}{why}，不能替居民选择；请问明所需证明后按完整名称办理",
                 may_issue=False)
        for it in res.items:
            step.cite(*it.citations)
        return _finish(view, request, step, match)

    item = res.item
    if item is None:
        if res.nothing is None:  # cached with the resolution, like the near items
            res.nothing = names_nothing(query)
        if res.nothing:
            rule = view.rules.get("unlisted")
            step.cite(*((rule.citation,) if rule is not None else ()))
            step.ask((), f"“{query}”不是证明的名称：请问明居民所要证明的具体名称，用汉字输入", may_issue=False)
            return _finish(view, request, step, None)
        near = view.index.near(query)
        names = "、".join(it.display for it in near)
        if near and not ctx.asserted(NOT_LISTED):
            step.candidates = near
            step.ask((), f"名称解析：“{query}”不是清单上的名称，但与{names}相近，不能按未列入清单事项办理；"
                         f"请问明居民所要的是哪一项，按该项办理；核对后确认都不是的，主张情形“经核对不属于清单事项”",
                     may_issue=False)
            for it in near:
                step.cite(it.citations[0])
            return _finish(view, request, step, None)
        if near:
            step.explain(f"名称解析：“{query}”与{names}相近，经办人已与居民核对，确认都不是（已确认“{ctx.label(NOT_LISTED)}”）")
        step.explain(f"名称解析：“{query}”不在{view.name}的负面清单或保留清单中（未列入清单事项）")
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
                             + "、".join(condition.matched(ctx.purpose_key, ctx.facts, specs=getattr(view, "facts", None))) + "），保留清单优先")
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
                    _other_use(view, ctx, step, item)

    if step.outcome is None:  # no rule in force decided: say so rather than guess
        step.decide(Outcome.REFUSE, "本辖区在决定日期没有适用的规则，不予出具")
        step.ground("no_rule", "决定日期无适用规则")

    outcome = step.outcome
    if outcome is Outcome.REFUSE and request.facts.asserted("commitment_ok"):
        _run(view, "commitment", ctx, step)  # 告知承诺制: the applicant's written commitment instead

    additive = view.additive
    if step.outcome is not Outcome.ASK:
        if additive["requirements"]:
            step = _run_all(view, "requirements", ctx, step)
        if step.issuing:
            _run(view, "public_interest", ctx, step)
        if additive["seal"]:
            step = _run_all(view, "seal", ctx, step)
        if additive["notice"]:
            step = _run_all(view, "notice", ctx, step)
    elif step.may_issue and not step.candidates and additive["seal"]:
        step = _run_all(view, "seal", ctx, step)
    return _finish(view, request, step, match)


def _finish(view, request: Request, step: Step, match: Match | None = None) -> Decision:
    outcome = step.outcome
    lst = step.item.list if step.item is not None else ("" if step.candidates else "unlisted")
    key = (outcome, lst)
    adopted = view.adopted.get(key)
    if adopted is None:
        adopted = view.adopted[key] = tuple(a.citation for a in view.adoption if a.applies(outcome.value, lst))
    if adopted:
        step.cite(*adopted)
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
        match=match,  # the wording that resolved the name (before any carve-out)
        stages=tuple(step.stages),
    )

