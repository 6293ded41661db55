"""Facts (情形) that rules need: DOMAIN.md section 4.

A fact is *required* when the engine must ask for it on the current path and
never guesses it, or *assertive* when it is false unless the clerk asserts it.
Each fact carries the question the TUI asks and the passage it comes from, so
the clerk sees why the question is asked.
"""

from __future__ import annotations

from dataclasses import dataclass

REQUIRED = "required"
ASSERTIVE = "assertive"


@dataclass(frozen=True)
class FactSpec:
    name: str
    kind: str  # REQUIRED | ASSERTIVE
    label: str  # short Chinese label
    question: str  # the yes/no question put to the clerk
    source: str = ""  # the rule text the question comes from, verbatim
    citation: str = ""  # where that text is
    jurisdiction: str = "national"

    @property
    def required(self) -> bool:
        return self.kind == REQUIRED


def fact_label(name: str, specs) -> str:
    """A fact's short label from ``specs`` (name -> FactSpec), or its name if none has it."""
    return specs[name].label if name in specs else name


def facts_text(facts: dict, specs) -> str:
    """Established facts as the clerk reads them: ``属于自身职责范围、能够核实（否）``."""
    return "、".join(fact_label(k, specs) + ("" if v else "（否）") for k, v in facts.items())


_MF = "民发〔2020〕20号"

BUILTIN_FACTS: tuple[FactSpec, ...] = (
    FactSpec(
        "within_duties", REQUIRED, "属于自身职责范围",
        "该事项是否属于本居（村）民委员会自身职责范围？",
        "对于属于自身职责范围内、且能够核实的，据实为居民群众出具相关证明。", f"{_MF} 三",
    ),
    FactSpec(
        "verifiable", REQUIRED, "能够调查核实",
        "本居（村）民委员会能否调查核实该事项？",
        "对于属于自身职责范围内、且能够核实的，据实为居民群众出具相关证明。", f"{_MF} 三",
    ),
    FactSpec(
        "basis_provided", ASSERTIVE, "索要单位已提供依据",
        "索要证明的单位是否提供了要求居（村）民委员会出具此证明的法律法规依据？",
        "凡是相关部门要求基层群众性自治组织出具证明事项的，应当同时提供基层群众性自治组织出具此证明事项的有关依据。",
        f"{_MF} 二",
    ),
    FactSpec(
        "public_interest", ASSERTIVE, "涉及公共利益",
        "是否涉及城乡社区公共利益或本辖区多数居民群众切身利益？",
        "凡是涉及城乡社区公共利益或者本辖区多数居民群众切身利益的事项需出具证明时，基层群众性自治组织应当通过组织居民群众议事协商等方式，经居民群众讨论同意并经基层群众性自治组织负责人签字后方可出具。",
        f"{_MF} 二",
    ),
    FactSpec(
        "policy_gap", ASSERTIVE, "政策措施衔接不到位",
        "索要方的政策措施是否尚未衔接到位？",
        "现阶段如因政策措施衔接不到位或各类民商事主体明确要求，居民群众仍需办理的",
        f"{_MF} 三",
    ),
    FactSpec(
        "party_requires", ASSERTIVE, "民商事主体明确要求",
        "是否有民商事主体明确要求居民提供该证明？",
        "现阶段如因政策措施衔接不到位或各类民商事主体明确要求，居民群众仍需办理的",
        f"{_MF} 三",
    ),
    FactSpec(
        "legal_risk", ASSERTIVE, "可能涉及法律风险",
        "出具该证明是否可能涉及法律风险？",
        "对于出具相关证明可能涉及法律风险的，基层群众性自治组织可在详细调查核实情况、采取灵活多样方式组织居民群众议事协商的基础上，予以充分评估并预先防范后出具。",
        f"{_MF} 三",
    ),
    FactSpec(
        "own_documents", ASSERTIVE, "能通过个人现有证照证明",
        "能否通过申请人现有证照证明？",
        "二是能通过个人现有证照来证明的", "青民发〔2021〕103号 二（二）", "qinghai",
    ),
    FactSpec(
        "commitment_ok", ASSERTIVE, "能以书面承诺解决",
        "能否采取申请人书面承诺方式解决？",
        "推行证明事项告知承诺制，强化对承诺事项的事后核查", f"{_MF} 四（四）",
    ),
    FactSpec(
        "replaceable", ASSERTIVE, "能被其他材料替代或网络核验",
        "能否被其他材料涵盖替代或通过网络核验？",
        "四是能被其他材料涵盖替代或能通过网络核验的", "青民发〔2021〕103号 二（二）", "qinghai",
    ),
    FactSpec(
        "liability", ASSERTIVE, "承担法律责任或经济连带责任",
        "该证明是否使居委会承担法律责任或经济连带责任？",
        "社区居民委员会印章不能使用于任何承担法律责任及经济连带责任的证明。",
        "陕西省民政厅等六部门通知（2021年2月23日） 二（一）", "shaanxi",
    ),
    FactSpec(
        "facts_unclear", ASSERTIVE, "事实不清或需国家机关审查",
        "事实是否不清，或需要国家机关或有关部门审查核实？",
        "事实不清或需要国家机关或有关部门审查核实的", "渝北区“社区万能章”治理专项行动实施方案 二（四）", "chongqing-yubei",
    ),
    FactSpec(
        "against_law", ASSERTIVE, "违反方针政策或法律法规",
        "盖章是否违反党和国家方针政策、法律法规？",
        "违反党和国家方针政策、法律法规的", "渝北区“社区万能章”治理专项行动实施方案 二（四）", "chongqing-yubei",
    ),
    FactSpec(
        "prohibited", ASSERTIVE, "上级明令禁止或限制",
        "是否属于上级有关部门明令禁止或限制从事的行为？",
        "上级有关部门明令禁止或限制从事的行为", "渝北区“社区万能章”治理专项行动实施方案 二（四）", "chongqing-yubei",
    ),
    FactSpec(
        "archive_lost", ASSERTIVE, "婚姻登记档案丢失",
        "婚姻登记档案是否已经丢失？",
        "婚姻登记档案丢失、收养情况除外", f"{_MF} 附件第8项",
    ),
    FactSpec(
        "not_listed", ASSERTIVE, "经核对不属于清单事项",
        "所要证明的名称与清单事项相近：经与居民核对，是否确认都不是这些事项？",
        "凡是没有法律法规依据或未经国务院批准列入保留证明事项清单的证明事项，基层群众性自治组织不予出具。",
        f"{_MF} 三",
    ),
)
