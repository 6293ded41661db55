"""The one module plugin authors import from (like ``from datasette import hookimpl``).

Everything a jurisdiction plugin needs — the hook marker, reading its TOML, the concepts it
returns, rule functions' context and step, facts, workflow rules and paper wording — is here,
and stays here when core/ is reorganised. The built-in plugins and examples/ import nothing
else from sealdesk.core (tests/test_architecture.py checks it). docs/plugins.md shows each name
in use.

``check`` (the conformance suite, for a plugin's own tests) and ``check_scenarios`` (the cases of
the plugin's ``scenarios/*.toml``) are loaded only when asked for, so importing this module costs
the engine and nothing more.
"""

from __future__ import annotations

from sealdesk.core.engine.facts import ASSERTIVE, REQUIRED, FactSpec
from sealdesk.core.engine.hookspecs import hookimpl
from sealdesk.core.engine.jurisdiction import load_jurisdiction
from sealdesk.core.engine.model import (
    CertificateItem,
    Citation,
    Condition,
    Decision,
    Facts,
    Outcome,
    PolicyDocument,
    Request,
)
from sealdesk.core.engine.rules import Context, Rule, Step
from sealdesk.core.engine.wording import PaperTemplate
from sealdesk.core.engine.workflow_rules import WorkflowRule

__all__ = [
    "ASSERTIVE", "REQUIRED", "CertificateItem", "Citation", "Condition", "Context", "Decision", "FactSpec", "Facts",
    "Outcome", "PaperTemplate", "PolicyDocument", "Request", "Rule", "Step", "WorkflowRule", "check", "check_scenarios",
    "hookimpl", "load_jurisdiction",
]


def __getattr__(name: str):
    if name in ("check", "check_scenarios"):  # the conformance suite brings hypothesis: only for a plugin's tests
        from sealdesk.core.kit import conformance

        return getattr(conformance, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
