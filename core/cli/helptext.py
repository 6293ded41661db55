"""``sealdesk decide --help`` lists the facts (情形) ``--fact`` accepts, with their labels.

The list is made when the help is shown, not when the parser is built: every command builds the
``decide`` parser, and only the help needs the plugins' facts (a plugin may declare its own with
``sealdesk_facts``). The help's own text is kept as written (no reflowing), so the list stays a
column.
"""

from __future__ import annotations

import argparse

FACTS_EPILOG = "\0facts\0"  # replaced by the list when the help is formatted


def facts_lines(specs) -> list[str]:
    """The facts, required first, each ``name  label`` (and the jurisdiction that declares a regional one)."""
    width = max((len(f.name) for f in specs), default=0) + 2
    out = ["情形（--fact 名称[=true|false]，可重复；只写名称即为 true；括号内是提出该情形的辖区）："]
    for kind, head in (("required", "必答情形：规则需要时询问，不作推定"),
                       ("assertive", "主张情形：经办人主张才成立，否则视为否")):
        rows = [f for f in specs if f.kind == kind]
        if not rows:
            continue
        out.append(f"  {head}")
        for f in rows:
            where = "" if f.jurisdiction in ("", "national") else f"（{f.jurisdiction}）"
            out.append(f"    {f.name.ljust(width)}{f.label}{where}")
    return out


def _specs():
    try:
        from sealdesk.core.engine.plugins import default_registry

        return list(default_registry().facts.values())
    except Exception:  # the help is still shown when a plugin breaks the registry: the built-in facts
        from sealdesk.core.engine.facts import BUILTIN_FACTS

        return list(BUILTIN_FACTS)


class FactsHelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_text(self, text):
        if text == FACTS_EPILOG:
            text = "\n".join(facts_lines(_specs()))
        super().add_text(text)
