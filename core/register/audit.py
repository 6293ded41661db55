"""The inspector's audit: scan a register and report what the rules forbid.

One pass over the records, matter by matter (each matter record followed by the
records acting on it; the denormalised columns only, no JSON parsing), after the
chain itself is verified, then one over the stamps in serial order: the audit
holds one matter at a time, so its memory does not grow with the register. Every finding names the
entry, the rule and, where a jurisdiction's document is behind it, the citation.
``violation`` findings make the audit fail; ``notice`` findings are what an
inspector should look at but no rule of the jurisdiction forbids (for example
one person approving and stamping outside Shaanxi).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sealdesk.core.engine.model import Outcome
from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import (approval_before_stamp, approver_not_keeper, filing_after_stamp, serial_text,
                                             steps_of)

ISSUING = frozenset(o.value for o in Outcome if o.issuing)
VIOLATION, NOTICE = "violation", "notice"
# Grounds under which a negative-listed item may be issued: an exception of the list, or the
# transitional clause (also when public-interest consultation then changed the outcome).
_EXCUSED = frozenset({"exception", "transitional"})


class _M:
    __slots__ = ("outcome", "list", "grounds", "number", "approve", "approver", "stamp", "file", "void")

    def __init__(self, outcome, lst, grounds, number):
        self.outcome, self.list, self.grounds, self.number = outcome, lst, grounds or "", number
        self.approve = self.approver = self.stamp = self.file = self.void = None


class UnknownJurisdiction(InvalidInput):
    """A matter was decided under a jurisdiction this installation does not have: the audit cannot
    judge it by its rules, and says so instead of reporting it as in order."""


def _workflow_on(registry, jid: str | None, day: str, cache: dict):
    key = (jid, day)
    w = cache.get(key)
    if w is None:
        if jid not in registry.ids():
            raise UnknownJurisdiction(f"辖区 {jid!r} 未安装（或其插件未能加载），无法按它的规则审计；"
                                      "请安装该辖区的插件后再审计")
        w = registry.view(jid, dt.date.fromisoformat(day)).workflow
        cache[key] = w
    return w


def _rule_of(workflow, check):
    from sealdesk.core.register.workflow import check_of

    return next((r for r in workflow if check_of(r) is check), None)


def audit(register, registry, community) -> dict:
    chain = register.verify(index=False)  # the audit reads the records; `register verify` checks the index
    findings: list[dict] = []

    def add(seq, rule, severity, text, citation=None, matter=None):
        # ``entry`` is the record the finding is about; ``matter`` the 登记号 of its matter.
        findings.append({"entry": seq, "matter": matter, "rule": rule, "severity": severity, "text": text,
                         "citation": citation.text() if citation else None})

    if not chain.ok:
        add(chain.problem.seq, "audit.chain", VIOLATION, "登记簿链条校验失败：" + chain.problem.message)

    jid = community.jurisdiction  # today's; each matter is judged by the one it was decided under
    cache: dict = {}
    outcomes: Counter = Counter()
    kinds: Counter = Counter()
    numbers: Counter = Counter()  # 登记号 per community, counted as the index numbers them
    matters = 0
    today = _workflow_on(registry, jid, dt.date.today().isoformat(), cache)
    filing = "file" in steps_of(today)
    filing_rule = _rule_of(today, filing_after_stamp) if filing else None
    m: _M | None = None
    m_seq = None
    m_jid = jid
    known = set(registry.ids())

    def close(m, seq):  # what can be said of a matter once all its records are read
        if filing and m is not None and m.stamp is not None and m.file is None and m.void is None:
            add(seq, "audit.not_filed", NOTICE, f"登记号 {m.number}（第 {seq} 条记录）已用印，尚未备案",
                filing_rule.citation if filing_rule else None, matter=m.number)

    # Each matter with the records acting on it, matter by matter (``grouped_rows``): the audit holds
    # one matter at a time, whatever the register's size.
    for seq, kind, ref, at, actor, role, comm, year, serial, outcome, lst, grounds, decided in register.grouped_rows():
        kinds[kind] += 1
        if kind == "matter":
            close(m, m_seq)
            m_jid = decided or jid  # a record without one (a foreign writer's): today's jurisdiction
            if m_jid not in known:
                raise UnknownJurisdiction(f"第 {seq} 条记录的事项按辖区 {m_jid!r} 决定，该辖区未安装（或其插件"
                                          "未能加载），无法按它的规则审计；请安装该辖区的插件后再审计")
            numbers[comm] += 1
            matters += 1
            m, m_seq = _M(outcome, lst, grounds, numbers[comm]), seq
            outcomes[outcome] += 1
            continue
        if kind == "paper" and ref is None:  # a report (inventory, retained list, notice): no matter's
            continue
        if m is None or ref != m_seq or seq < ref:
            add(seq, "audit.orphan", VIOLATION, f"第 {seq} 条{kind}记录指向第 {ref} 条记录，但它不是更早的登记事项")
            continue
        who = f"登记号 {m.number}（第 {ref} 条记录）"
        if m.void is not None and kind in ("approve", "stamp", "file"):
            add(seq, "audit.after_void", VIOLATION, f"{who}已由第 {m.void} 条记录作废，之后仍有{kind}记录", matter=m.number)
        if kind == "approve":
            if role != "director":
                add(seq, "audit.approver_role", VIOLATION, f"{who}由 {actor} 以“{role}”身份审批，审批须由负责人进行", matter=m.number)
            if m.outcome not in ISSUING:
                add(seq, "audit.approve_not_issuing", VIOLATION, f"{who}的决定为 {m.outcome}，不应审批用印", matter=m.number)
            m.approve, m.approver = seq, actor
        elif kind == "stamp":
            workflow = _workflow_on(registry, m_jid, at[:10], cache)
            if role != "keeper":
                add(seq, "audit.keeper_role", VIOLATION, f"{who}由 {actor} 以“{role}”身份用印，用印须由印章保管人进行", matter=m.number)
            if m.outcome not in ISSUING:
                add(seq, "audit.stamp_not_issuing", VIOLATION,
                    f"{who}的决定为 {m.outcome}（不出具证明），却有用印记录", matter=m.number)
            if m.approve is None:
                rule = _rule_of(workflow, approval_before_stamp)
                add(seq, rule.id if rule else "audit.stamp_without_approval", VIOLATION,
                    f"{who}未经审批即用印", rule.citation if rule else None, matter=m.number)
            elif m.approver == actor:
                rule = _rule_of(workflow, approver_not_keeper)
                if rule is not None:
                    add(seq, rule.id, VIOLATION, f"{who}的审批人与用印的保管人同为 {actor}", rule.citation, matter=m.number)
                else:
                    add(seq, "audit.same_person", NOTICE,
                        f"{who}的审批人与用印的保管人同为 {actor}（本辖区规则未禁止，建议分离）", matter=m.number)
            if m.list == "negative" and m.outcome != Outcome.ISSUE_TRANSITIONAL.value \
                    and not _EXCUSED & set(m.grounds.split()):
                add(seq, "audit.negative_issued", VIOLATION,
                    f"{who}是负面清单事项，没有例外情形或过渡期理由却出具了证明", matter=m.number)
            if m.stamp is not None:
                add(seq, "audit.stamped_twice", VIOLATION, f"{who}已由第 {m.stamp} 条记录用印，重复用印", matter=m.number)
            if serial is None:
                add(seq, "audit.no_serial", VIOLATION, f"{who}的用印记录没有证明编号", matter=m.number)
            m.stamp = seq
        elif kind == "file":
            m.file = seq
        elif kind == "void":
            m.void = seq
    close(m, m_seq)

    # Serials: 1..n per community and year, no gap, no reuse (read in serial order: constant memory).
    last_key, expected = None, 1
    prev_serial = None
    for comm, year, serial, seq in register.serial_rows():
        if (comm, year) != last_key:
            last_key, expected, prev_serial = (comm, year), 1, None
        if serial == prev_serial:
            add(seq, "audit.serial_reused", VIOLATION, f"{comm} {serial_text(year, serial)}被重复使用")
            continue
        prev_serial = serial
        if serial != expected:
            missing = f"第{expected}号" if serial == expected + 1 else f"第{expected}至{serial - 1}号"
            add(seq, "audit.serial_gap", VIOLATION, f"{comm} {year}年证明编号缺少{missing}")
        expected = serial + 1

    findings.sort(key=lambda f: (f["severity"] != VIOLATION, f["entry"]))
    violations = sum(1 for f in findings if f["severity"] == VIOLATION)
    return {
        "ok": violations == 0,
        "community": community.name,
        "jurisdiction": jid,
        "records": sum(kinds.values()),
        "matters": matters,
        "stamped": kinds["stamp"],
        "voided": kinds["void"],
        "outcomes": dict(sorted(outcomes.items())),
        "chain": chain.to_json(),
        "violations": violations,
        "notices": len(findings) - violations,
        "findings": findings,
    }
