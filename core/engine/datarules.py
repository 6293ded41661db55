"""Rules that are pure data in a plugin's jurisdiction.toml.

* ``[[seal_rules]]``: a fact that, when asserted, forbids the seal on any issuing
  outcome (Shaanxi's liability rule, Yubei's four conditions);
* ``[[extra_requirements]]``: requirement codes added to an outcome (Shaanxi's
  登记留存 for transitional issues);
* ``[[notices]]``: a sentence for the resident on an outcome (Jilin's 清单之外不得索要);
* ``[[workflow_rules]]``: a named check of the seal workflow (``workflow_rules.NAMED_CHECKS``)
  with its citation (Shaanxi's 审批人与保管人不得为同一人, Yubei's 备案).
"""

from __future__ import annotations

from functools import partial

from sealdesk.core.common.datafile import DataFile, Entry
from sealdesk.core.engine.model import REQUIREMENTS, Citation, Outcome
from sealdesk.core.engine.rules import Rule

_SEAL = {"id", "fact", "text", "citation"}
_REQ = {"id", "outcome", "add", "citation", "text"}
_NOTICE = {"id", "outcome", "list", "text", "citation"}
_LIST_CHOICES = ("negative", "retained", "unlisted", "any")
_WORKFLOW = {"id", "check", "text", "citation"}


def apply_seal_rule(fact: str, text: str, ctx, step):
    if (step.issuing or (step.outcome is Outcome.ASK and step.may_issue)) and ctx.asserted(fact):
        rule = ctx.rule
        step.outcome = Outcome.REFUSE
        step.requirements.clear()
        step.questions.clear()
        step.route = step.item.route if step.item is not None and step.item.list == "negative" else None
        step.ground("seal_rule", text, rule.citation)
        step.cite(rule.citation)
        step.explain(f"但已确认“{ctx.label(fact)}”：{text}（{rule.citation.text()}），不得加盖公章，因此不予出具")
    return step


def apply_extra_requirements(outcome: Outcome, add: tuple[str, ...], text: str, ctx, step):
    if step.outcome is outcome:
        step.require(*add)
        step.cite(ctx.rule.citation)
        names = "、".join(REQUIREMENTS.get(a, a) for a in add)
        step.explain(f"本辖区规定（{ctx.rule.citation.text()}）：{outcome.label}还须{names}")
    return step


def apply_notice(outcome: Outcome, lst: str, text: str, ctx, step):
    if step.outcome is not outcome:
        return step
    current = step.item.list if step.item is not None else "unlisted"
    if lst != "any" and lst != current:
        return step
    if text not in step.notices:
        step.notices.append(text)
    step.cite(ctx.rule.citation)
    step.explain(f"告知居民：{text}（{ctx.rule.citation.text()}）")
    return step


def _citation(f: DataFile, e: Entry, where: str) -> Citation:
    t = e.sub("citation")
    if t is None:
        raise f.error(f"{where}: missing required field 'citation'", e.line)
    c = Entry(f, t, f"{where}.citation", e.line, {"document", "provision", "quote"})
    return Citation(c.str("document", required=True), c.str("provision"), c.str("quote"))


def _outcome(f: DataFile, e: Entry, where: str) -> Outcome:
    value = e.str("outcome", required=True)
    try:
        return Outcome(value)
    except ValueError:
        raise f.error(f"{where}: unknown outcome {value!r}", f.key_line("outcome", e.line)) from None


def rules_from_data(f: DataFile, top: Entry, jid: str, plugin: str) -> list[Rule]:
    rules: list[Rule] = []
    for i, t in enumerate(top.tables("seal_rules")):
        where = f"seal_rules[{i + 1}]"
        e = Entry(f, t, where, f.header_line("seal_rules", i), _SEAL)
        fact, text = e.str("fact", required=True), e.str("text", required=True)
        rules.append(Rule(
            e.str("id") or f"{jid}.seal.{fact}", jid, "seal", _citation(f, e, where),
            partial(apply_seal_rule, fact, text), params={"fact": fact, "text": text},
            plugin=plugin, source=f"{f.path}:{e.line}",
        ))
    for i, t in enumerate(top.tables("extra_requirements")):
        where = f"extra_requirements[{i + 1}]"
        e = Entry(f, t, where, f.header_line("extra_requirements", i), _REQ)
        outcome = _outcome(f, e, where)
        add = e.strs("add")
        bad = [a for a in add if a not in REQUIREMENTS]
        if not add or bad:
            raise f.error(f"{where}: add: unknown requirement code {bad[0] if bad else '(none)'!r}; "
                          f"known: {', '.join(REQUIREMENTS)}", f.key_line("add", e.line))
        rules.append(Rule(
            e.str("id") or f"{jid}.requirements.{outcome.value}.{i + 1}", jid, "requirements",
            _citation(f, e, where), partial(apply_extra_requirements, outcome, add, e.str("text")),
            params={"outcome": outcome.value, "add": add}, plugin=plugin, source=f"{f.path}:{e.line}",
        ))
    for i, t in enumerate(top.tables("notices")):
        where = f"notices[{i + 1}]"
        e = Entry(f, t, where, f.header_line("notices", i), _NOTICE)
        outcome = _outcome(f, e, where)
        lst = e.str("list") or "any"
        if lst not in _LIST_CHOICES:
            raise f.error(f"{where}: list must be one of {', '.join(_LIST_CHOICES)}", f.key_line("list", e.line))
        text = e.str("text", required=True)
        rules.append(Rule(
            e.str("id") or f"{jid}.notice.{i + 1}", jid, "notice", _citation(f, e, where),
            partial(apply_notice, outcome, lst, text), params={"outcome": outcome.value, "list": lst, "text": text},
            plugin=plugin, source=f"{f.path}:{e.line}",
        ))
    return rules


def workflow_from_data(f: DataFile, top: Entry, jid: str, plugin: str) -> list:
    from sealdesk.core.engine.workflow_rules import NAMED_CHECKS, WorkflowRule

    rules = []
    for i, t in enumerate(top.tables("workflow_rules")):
        where = f"workflow_rules[{i + 1}]"
        e = Entry(f, t, where, f.header_line("workflow_rules", i), _WORKFLOW)
        name = e.str("check", required=True)
        if name not in NAMED_CHECKS:
            raise f.error(f"{where}: unknown check {name!r}; known: {', '.join(NAMED_CHECKS)}",
                          f.key_line("check", e.line))
        action, adds = NAMED_CHECKS[name]
        rules.append(WorkflowRule(
            e.str("id") or f"{jid}.workflow.{name}", jid, action, name, _citation(f, e, where),
            e.str("text", required=True), adds, plugin, f"{f.path}:{e.line}",
        ))
    return rules
