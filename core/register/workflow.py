"""The seal workflow: clerk records → director approves → seal keeper stamps (→ filing).

Who may do what is decided here, in three layers, and a refusal names every
rule that refused:

1. roles (``ROLE_FOR``): only a director approves, only a keeper stamps;
2. the jurisdiction's workflow rules, deepest first, each with its citation
   (Shaanxi: the approver is not the keeper, approval before registration,
   one registration per matter; Yubei: approval, registration and filing);
3. the matter's state: not voided, an issuing outcome, not done twice.

Jurisdiction rules are data (``[[workflow_rules]]`` in a plugin's
jurisdiction.toml naming a check of ``CHECKS``) or Python (the
``sealdesk_workflow_rules`` hook). A check is ``check(matter, person)``
returning the reason it refuses, or None.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sealdesk.core.register.community import ROLES, Person


def serial_text(year: int, serial: int) -> str:
    """A stamp's certificate number as the certificate prints it (``证明〔2026〕第1号``; the register
    numbers stamps per year): the one form every screen, message and paper uses."""
    return f"证明〔{year}〕第{serial}号"
from sealdesk.core.engine.model import Outcome
from sealdesk.core.engine.workflow_rules import GUARDED, WorkflowRule, steps_of  # noqa: F401  (used here and re-exported)
from sealdesk.core.register.store import Record, minutes

ACTIONS = {"request": "登记申请", "approve": "审批", "stamp": "用印", "file": "备案", "void": "作废",
           "paper": "打印文书", "report": "生成报表"}
ROLE_FOR = {
    "request": ("clerk", "director"),
    "approve": ("director",),
    "stamp": ("keeper",),
    "file": ("director", "keeper"),
    "void": ("director",),
    "paper": ("clerk", "director", "keeper"),
    "report": ("clerk", "director", "keeper", "inspector"),
}

STATUS = {
    "voided": "已作废",
    "refused": "已告知不予出具",
    "commitment": "告知承诺",
    "awaiting_approval": "待审批",
    "awaiting_stamp": "待用印",
    "awaiting_filing": "已用印待备案",
    "stamped": "已用印",
    "filed": "已用印已备案",
}


class Refused(Exception):
    """An action the workflow does not allow; ``reasons`` are (rule id, text, citation) triples.

    Through the register service the reasons arrive as JSON objects and ``message`` as sent.
    """

    def __init__(self, action: str, reasons: list, message: str | None = None):
        self.action = action
        self.reasons = reasons
        if message is None:
            parts = []
            for rule_id, text, citation in reasons:
                where = f"（{citation.text()}）" if citation else ""
                parts.append(f"{text}{where}［规则 {rule_id}］")
            message = f"不能{ACTIONS.get(action, '操作')}：" + "；".join(parts)
        super().__init__(message)

    def to_json(self) -> list[dict]:
        return [r if isinstance(r, dict) else {"rule": r[0], "text": r[1], "citation": r[2].text() if r[2] else None}
                for r in self.reasons]


@dataclass
class Matter:
    """A matter (one request and decision) with the records that acted on it, in chain order."""

    entry: Record
    approve: Record | None = None
    stamp: Record | None = None
    file: Record | None = None
    void: Record | None = None
    papers: list[Record] = field(default_factory=list)
    records: list[Record] = field(default_factory=list)  # every record that acted on it, in chain order
    number: int | None = None  # 登记号: the matter's number in its community (the record is ``entry.seq``)

    @classmethod
    def build(cls, entry: Record, related: list[Record], number: int | None = None) -> "Matter":
        m = cls(entry, records=list(related), number=number)
        for r in related:
            if r.kind == "paper":
                m.papers.append(r)
            elif r.kind in ("approve", "stamp", "file", "void"):
                setattr(m, r.kind, r)
        return m

    @property
    def outcome(self) -> Outcome:
        return Outcome(self.entry.outcome)

    @property
    def issuing(self) -> bool:
        return self.outcome.issuing

    def status(self, steps: tuple[str, ...] = ("approve", "stamp")) -> str:
        return matter_status(self.outcome, self.approve is not None, self.stamp is not None, self.file is not None,
                             self.void is not None, "file" in steps)


def matter_status(outcome: Outcome, approved: bool, stamped: bool, filed: bool, voided: bool, filing: bool) -> str:
    """A matter's status (a key of STATUS) from its outcome and which actions it has; ``filing``: the
    jurisdiction's workflow has the filing step. The export reads it from raw rows, Matter from records."""
    if voided:
        return "voided"
    if outcome is Outcome.REFUSE:
        return "refused"
    if outcome is Outcome.COMMITMENT:
        return "commitment"
    if not approved:
        return "awaiting_approval"
    if not stamped:
        return "awaiting_stamp"
    if filing:
        return "filed" if filed else "awaiting_filing"
    return "stamped"


# -- named checks jurisdiction.toml can use ----------------------------------------------------
def approver_not_keeper(matter: Matter, person: Person) -> str | None:
    a = matter.approve
    if a is not None and a.actor == person.login:
        return f"本事项由 {person.name}（{person.login}）本人审批，审批人与印章保管人不得为同一人，请由另一位保管人用印"
    return None


def approval_before_stamp(matter: Matter, person: Person) -> str | None:
    if matter.approve is None:
        return "本事项尚未经负责人签字批准，不得登记用印"
    return None


def one_registration(matter: Matter, person: Person) -> str | None:
    s = matter.stamp
    if s is not None:
        return f"本事项已于 {minutes(s.at)} 登记用印（{serial_text(s.year, s.serial)}），一事一登记，不得重复"
    return None


def filing_after_stamp(matter: Matter, person: Person) -> str | None:
    if matter.stamp is None:
        return "本事项尚未用印登记，须先审批、登记，再备案"
    return None


CHECKS: dict[str, tuple[str, Callable, str | None]] = {
    # name: (action it guards, check, step it adds)
    "approver_not_keeper": ("stamp", approver_not_keeper, None),
    "approval_before_stamp": ("stamp", approval_before_stamp, None),
    "one_registration": ("stamp", one_registration, None),
    "filing": ("file", filing_after_stamp, "file"),
}


def check_of(rule: WorkflowRule) -> Callable:
    """The function a rule's check names (``[[workflow_rules]]``), or the rule's own function."""
    return CHECKS[rule.check][1] if isinstance(rule.check, str) else rule.check


# -- the product's own checks (no legal claim: the separation of duties sealdesk enforces) --------
CORE = "sealdesk.workflow"


def _who(person: Person) -> str:
    return f"{person.name}（{person.login}）"


def role_reasons(action: str, person: Person) -> list[tuple[str, str, None]]:
    needed = ROLE_FOR[action]
    if any(person.has(r) for r in needed):
        return []
    want = "或".join(ROLES[r] for r in needed)
    have = person.role_labels or "无角色"
    return [(f"{CORE}.role", f"{_who(person)}的角色是{have}，{ACTIONS[action]}须由{want}进行", None)]


def state_reasons(action: str, matter: Matter, steps: tuple[str, ...]) -> list[tuple[str, str, None]]:
    out: list[tuple[str, str, None]] = []
    v = matter.void
    if v is not None:
        out.append((f"{CORE}.voided", f"本事项已由第 {v.seq} 条记录作废", None))
        return out
    if action == "void":
        return out
    if not matter.issuing:
        out.append((f"{CORE}.not_issuing",
                    f"本事项的决定是“{matter.outcome.label}”，不出具证明，无需{ACTIONS[action]}", None))
        return out
    if action == "approve" and matter.approve is not None:
        a = matter.approve
        out.append((f"{CORE}.approved", f"本事项已由 {a.actor} 于 {minutes(a.at)} 审批", None))
    elif action == "stamp":
        if matter.approve is None:
            out.append((f"{CORE}.approval", "本事项尚未经负责人审批，不能用印", None))
        if matter.stamp is not None:
            out.append((f"{CORE}.stamped", f"本事项已用印（{serial_text(matter.stamp.year, matter.stamp.serial)}）", None))
    elif action == "file":
        if "file" not in steps:
            out.append((f"{CORE}.no_filing", "本辖区的用印流程没有备案环节", None))
        elif matter.stamp is None:
            out.append((f"{CORE}.not_stamped", "本事项尚未用印，不能备案", None))
        elif matter.file is not None:
            out.append((f"{CORE}.filed", f"本事项已于 {minutes(matter.file.at)} 备案", None))
    return out


def reasons_against(action: str, matter: Matter | None, person: Person, rules: tuple[WorkflowRule, ...]) -> list:
    """Every reason ``person`` may not do ``action`` on ``matter`` (empty: allowed)."""
    out: list = list(role_reasons(action, person))
    if matter is None:
        return out
    cited: list = []
    for rule in rules:  # deepest jurisdiction first
        if rule.action != action:
            continue
        why = check_of(rule)(matter, person)
        if why:
            quote = f"。依据：“{rule.text.rstrip('。')}。”" if rule.text else ""
            cited.append((rule.id, why + quote, rule.citation))
    state = state_reasons(action, matter, steps_of(rules))
    # A jurisdiction's cited rule says the same thing as the product's state check, with the law behind it.
    if cited:
        state = [s for s in state if s[0] not in (f"{CORE}.approval", f"{CORE}.stamped")]
    return out + cited + state
