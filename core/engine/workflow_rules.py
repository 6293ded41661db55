"""Workflow rules as a jurisdiction declares them (DOMAIN.md section 8): which action of the seal
workflow a rule guards, its citation, and its check — the name of a check the register knows
(``[[workflow_rules]]`` in jurisdiction.toml) or a Python function (``sealdesk_workflow_rules``).

The checks themselves read a matter of the register, so they live in
``sealdesk.core.register.workflow``; the engine only carries the rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from sealdesk.core.engine.model import Citation

GUARDED = ("approve", "stamp", "file", "void")  # the actions workflow rules can guard

# The named checks a jurisdiction.toml may use: name -> (action it guards, step it adds).
NAMED_CHECKS: dict[str, tuple[str, str | None]] = {
    "approver_not_keeper": ("stamp", None),
    "approval_before_stamp": ("stamp", None),
    "one_registration": ("stamp", None),
    "filing": ("file", "file"),
}


@dataclass(frozen=True)
class WorkflowRule:
    """A jurisdiction's rule on the seal workflow, with its legal reference.

    ``check`` is a name of :data:`NAMED_CHECKS` or ``check(matter, person)`` returning the reason it
    refuses ``action`` or None. ``adds_step = "file"`` makes filing (备案) a step of the workflow.
    """

    id: str
    jurisdiction: str
    action: str
    check: Callable[..., str | None] | str = field(compare=False, repr=False)
    citation: Citation | None = None
    text: str = ""
    adds_step: str | None = None
    plugin: str = ""
    source: str = ""


def steps_of(rules: tuple[WorkflowRule, ...]) -> tuple[str, ...]:
    steps = ["approve", "stamp"]
    for r in rules:
        if r.adds_step and r.adds_step not in steps:
            steps.append(r.adds_step)
    return tuple(steps)
