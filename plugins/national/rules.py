"""The national protocol of 民发〔2020〕20号 (DOMAIN.md section 6), as small rule functions.

Each function reads the context and returns the step; texts quoted in
explanations come from ``[texts]`` in jurisdiction.toml so that they stay
verbatim and cited.
"""

from __future__ import annotations

from sealdesk.core.api import Citation, Outcome


def retained(ctx, step):
    """Step 2: a retained item is issued for the use its entry names, citing its entry and basis.

    An entry that names its use (证明用途, 涉及办理事项, 仅用于…) or its condition (档案丢失) holds only
    for it: an unknown use is asked about; another use is left undecided, and the protocol falls
    back to the negative item the entry carves out, or refuses it as unlisted for that use.
    """
    item = ctx.item
    r = item.limit
    if r is not None:
        state = r.state(ctx.purpose_key, ctx.facts, ctx.requester_key)
        if state is False:
            return step
        if state is None:
            step.cite(*item.citations)
            return step.ask(r.unknown(ctx.purpose_key, ctx.facts),
                            f"{item.limit_text}请问明本次证明的用途或情形；用途不符的，不按保留事项出具")
    step.decide(Outcome.ISSUE, f"{item.display}属于依法出具证明事项，予以出具", *item.citations, *item.basis_citations)
    if r is not None:
        step.explain(f"限定用途“{r.text}”已满足（" + "、".join(r.matched(ctx.purpose_key, ctx.facts, ctx.requester_key, ctx.view.facts))
                     + "）")
    if item.basis:
        step.explain("法律法规依据：" + "；".join(item.basis))
    return step


def negative(ctx, step):
    """Step 3: exceptions, then the transitional clause, otherwise refusal with the route."""
    item = ctx.item
    first = item.citations[0]
    step.explain(f"{item.display}属于不应由基层群众性自治组织出具证明事项（{first.text()}）")
    for exc in item.exceptions:
        if exc.holds(ctx.purpose_key, ctx.facts):
            why = "、".join(exc.matched(ctx.purpose_key, ctx.facts, specs=ctx.view.facts))
            step.decide(
                Outcome.ISSUE,
                f"例外情形“{exc.text}”成立（{why}），本次申请不在负面清单之内：经调查核实后出具",
                Citation(first.document, f"{first.provision}（{exc.text}）"), *item.citations[1:],
            )
            step.require("verification")
            # Recorded so an audit can tell an exception from a negative item issued without grounds.
            return step.ground("exception", exc.text, Citation(first.document, first.provision))
    rule = ctx.rule
    triggers = [f for f in ("policy_gap", "party_requires") if ctx.asserted(f)]
    if not triggers:
        step.decide(Outcome.REFUSE, "未主张例外情形，也未主张政策措施衔接不到位或民商事主体明确要求，不予出具；请居民按办事途径办理",
                    *item.citations)
        step.ground("negative_list", f"该事项列入{item.display}", first)
        return step
    labels = "、".join(ctx.view.facts[f].label for f in triggers)
    verdict = ctx.all_of("within_duties", "verifiable")
    if verdict is None:
        step.cite(*item.citations, rule.citation)
        return step.ask(ctx.unknown("within_duties", "verifiable"),
                        f"已主张{labels}：过渡期据实出具须属于自身职责范围且能够核实，请确认")
    if verdict is False:
        missing = "、".join(ctx.view.facts[f].label for f in ("within_duties", "verifiable") if ctx.known_false(f))
        step.decide(Outcome.REFUSE, f"已主张{labels}，但不满足“{missing}”，不适用过渡期条款，不予出具", *item.citations,
                    rule.citation)
        step.ground("negative_list", f"该事项列入{item.display}", first)
        step.ground("transitional_not_met", f"不满足过渡期据实出具的条件：{missing}", rule.citation)
        return step
    step.ground("transitional", f"已主张{labels}，属于自身职责范围且能够核实", rule.citation)
    step.decide(Outcome.ISSUE_TRANSITIONAL,
                f"已主张{labels}，且属于自身职责范围、能够核实：按过渡期条款（{rule.citation.text()}）据实出具",
                *item.citations, rule.citation)
    step.require("verification")
    if ctx.asserted("legal_risk"):
        step.require("consultation", "risk_assessment")
        step.explain(f"可能涉及法律风险：详细调查核实、组织议事协商，充分评估并预先防范后出具（{rule.citation.text()}）")
    return step


def unlisted(ctx, step):
    """Step 4: an unlisted item is issued only on a supplied legal basis, within duties and verifiable."""
    rule = ctx.rule
    texts = ctx.view.texts
    basis = Citation(rule.citation.document, texts.get("basis_provision", "二"))
    if not ctx.asserted("basis_provided"):
        step.decide(Outcome.REFUSE, f"索要单位未提供法律法规依据，未列入清单的事项不予出具（{rule.citation.text()}）",
                    rule.citation, basis)
        step.ground("no_basis", texts.get("unlisted", "没有法律法规依据"), rule.citation)
        # The quoted rule, then what the clerk tells the resident to do with it.
        step.notices.append(texts.get("basis_notice", "") + "请居民告知索要单位提供该依据。")
        return step
    verdict = ctx.all_of("within_duties", "verifiable")
    if verdict is None:
        step.cite(basis)
        return step.ask(ctx.unknown("within_duties", "verifiable"),
                        "索要单位已提供依据：出具前须确认属于自身职责范围且能够核实")
    if verdict is False:
        missing = "、".join(ctx.view.facts[f].label for f in ("within_duties", "verifiable") if ctx.known_false(f))
        step.decide(Outcome.REFUSE, f"虽已提供依据，但不满足“{missing}”，不予出具", rule.citation, basis)
        step.ground("cannot_verify" if ctx.known_false("verifiable") else "outside_duties",
                    f"不满足出具条件：{missing}", rule.citation)
        return step
    return step.decide(Outcome.ISSUE, "索要单位已提供法律法规依据，属于自身职责范围且能够核实：依法出具", basis)


def commitment(ctx, step):
    """告知承诺制 (四（四）): a matter the applicant's written commitment settles is not certified; the
    applicant signs a commitment letter carrying the jurisdiction's credit clause instead of being refused."""
    rule = ctx.rule
    step.outcome = Outcome.COMMITMENT
    step.require("commitment_letter")
    step.cite(rule.citation)
    step.ground("commitment", ctx.view.texts.get("commitment_rule", "推行证明事项告知承诺制"), rule.citation)
    return step.explain(f"但已确认“{ctx.label('commitment_ok')}”：推行证明事项告知承诺制（{rule.citation.text()}），"
                        "因此不出具证明，由申请人签署告知承诺书（告知承诺）")


def public_interest(ctx, step):
    """Step 5: public-interest matters are issued only after consultation and the head's signature."""
    if ctx.asserted("public_interest"):
        step.outcome = Outcome.ISSUE_AFTER_CONSULTATION
        step.require("consultation", "head_signature")
        step.cite(ctx.rule.citation)
        step.explain(f"涉及社区公共利益：经居民群众议事协商同意、负责人签字后方可出具（{ctx.rule.citation.text()}）")
    return step
