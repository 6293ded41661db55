"""Qinghai's rule for unlisted items: the five refusal conditions of 青民发〔2021〕103号 二（二）
and the written-commitment route of 二（六）."""

from __future__ import annotations

from sealdesk.core.api import Citation, Outcome

DOC = "青民发〔2021〕103号"


def _conditions(ctx) -> list[int]:
    """The conditions that hold: 1 always (the item is not on the retained list)."""
    held = [1]
    if ctx.asserted("own_documents"):
        held.append(2)
    if ctx.asserted("commitment_ok"):
        held.append(3)
    if ctx.asserted("replaceable"):
        held.append(4)
    if ctx.known_false("verifiable"):
        held.append(5)
    return held


def _ground_all(ctx, step, held):
    texts = ctx.view.texts
    for n in held:
        step.ground(f"qinghai_condition_{n}", f"第{n}种情形：{texts.get(f'condition_{n}', '')}", ctx.rule.citation)
        step.explain(f"属于不予出具证明的第{n}种情形：{texts.get(f'condition_{n}', '')}（{ctx.rule.citation.text()}）")


def unlisted(ctx, step):
    """Unlisted items are never issued in Qinghai: commitment where it settles the matter, else refusal."""
    rule = ctx.rule
    texts = ctx.view.texts
    commit = Citation(DOC, "二（六）", texts.get("commitment", ""))
    if ctx.asserted("commitment_ok"):
        _ground_all(ctx, step, _conditions(ctx))
        step.decide(Outcome.COMMITMENT, f"不出具证明；已确认“{ctx.label('commitment_ok')}”，按{commit.text()}"
                    "由申请人书面承诺（告知承诺）", rule.citation, commit)
        return step.require("commitment_letter")
    verifiable = ctx.facts.value("verifiable")
    if verifiable is None:
        step.cite(rule.citation)
        return step.ask(["verifiable"], "未列入保留清单的事项不予出具；须确认能否调查核实，以决定告知承诺或不予出具", may_issue=False)
    held = _conditions(ctx)
    _ground_all(ctx, step, held)
    if verifiable is False:
        step.decide(Outcome.COMMITMENT, f"不出具证明；数据信息无法查询核实，按{commit.text()}通过个人书面承诺告知的方式解决（告知承诺）",
                    rule.citation, commit)
        return step.require("commitment_letter")
    return step.decide(Outcome.REFUSE, "具有上述不予出具情形，不予出具", rule.citation)


def commitment(ctx, step):
    """Qinghai keeps its own conditions while 青民发〔2021〕103号 is in force: a negative item keeps its
    refusal and route (the list of 附件2 names where the resident goes); a retained item asked for another
    use is, for that use, an unlisted item, settled by commitment as condition 3 of 二（二） and 二（六） say."""
    if step.item is not None and step.item.list == "negative":
        return step.explain(f"负面清单事项按办事途径办理：{DOC}的书面承诺（二（二）第三种情形、二（六））"
                            "适用于未纳入保留清单的事项，不代替负面清单的办事途径")
    rule = ctx.rule
    texts = ctx.view.texts
    cond = Citation(DOC, "二（二）")
    step.outcome = Outcome.COMMITMENT
    step.require("commitment_letter")
    step.cite(cond, rule.citation)
    step.ground("qinghai_condition_3", f"第3种情形：{texts.get('condition_3', '')}", cond)
    return step.explain(f"但已确认“{ctx.label('commitment_ok')}”：属于第3种情形（{texts.get('condition_3', '')}，"
                        f"{cond.text()}），因此不出具证明，由申请人书面承诺（告知承诺，{rule.citation.text()}）")
