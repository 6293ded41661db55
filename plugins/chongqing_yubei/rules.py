"""Yubei's rule for unlisted items (渝北区实施方案 二（三）)."""

from __future__ import annotations

from sealdesk.core.api import Citation, Outcome


def unlisted(ctx, step):
    """Within duties and verifiable: issued truthfully after assessment and consultation; otherwise refused."""
    rule = ctx.rule
    verdict = ctx.all_of("within_duties", "verifiable")
    if verdict is None:
        step.cite(rule.citation)
        return step.ask(ctx.unknown("within_duties", "verifiable"),
                        "未列入清单的事项：须确认属于自身职责范围且能够核实")
    if verdict is False:
        missing = "、".join(ctx.view.facts[f].label for f in ("within_duties", "verifiable") if ctx.known_false(f))
        step.decide(Outcome.REFUSE, f"未列入清单的事项，不满足“{missing}”，不予出具", rule.citation)
        return step.ground("cannot_verify" if ctx.known_false("verifiable") else "outside_duties",
                           f"不满足出具条件：{missing}", rule.citation)
    if ctx.asserted("basis_provided"):
        # A legally based request is issued as under the national rule (民发〔2020〕20号 二).
        return step.decide(Outcome.ISSUE, "索要单位已提供法律法规依据，属于自身职责范围且能够核实：依法出具",
                           Citation("民发〔2020〕20号", "二"))
    step.decide(Outcome.ISSUE_TRANSITIONAL,
                f"未列入清单、确属职责范围且能够核实：经评估核实、组织居民群众充分协商，在预先防范法律风险的基础上据实提供（{rule.citation.text()}）",
                rule.citation)
    return step.require("verification", "consultation", "risk_assessment")
