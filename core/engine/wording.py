"""Paper wording a jurisdiction may change (DOMAIN.md section 9): the papers, the fields each one is
filled with, the base templates (``sealdesk.templates``), and the check of a jurisdiction's
``[papers.<paper>]`` table or ``sealdesk_paper_templates`` hook against them.

It sits in the engine because a bad template is a load error of the plugin that ships it
(``plugins.Registry``); laying papers out is ``sealdesk.core.papers``.
"""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from sealdesk.core.engine.model import Outcome

PAPERS = {
    "certificate": "证明",
    "refusal": "不予出具证明告知单",
    "commitment": "证明事项告知承诺书",
    "consultation": "议事协商记录",
    "inventory": "证明事项统计表",
    "retained": "拟保留证明事项清单",
    "notice": "证明事项清单公示",
}
MATTER_PAPERS = ("certificate", "refusal", "commitment", "consultation")
REPORTS = ("inventory", "retained", "notice")

# Which matters each paper is for.
FOR_OUTCOMES = {
    "certificate": (Outcome.ISSUE, Outcome.ISSUE_AFTER_CONSULTATION, Outcome.ISSUE_TRANSITIONAL),
    "refusal": (Outcome.REFUSE,),
    "commitment": (Outcome.COMMITMENT,),
    "consultation": (Outcome.ISSUE_AFTER_CONSULTATION,),
}



def papers_for(outcome: str) -> tuple[str, ...]:
    """The matter papers a decision's outcome allows, certificate first."""
    return tuple(p for p in MATTER_PAPERS if Outcome(outcome) in FOR_OUTCOMES[p])


_PLACE = {"county", "township", "place", "place_kind", "committee", "committee_kind", "date"}
_MATTER = _PLACE | {"entry", "name", "id_number", "query", "item_name", "item_or_query", "purpose", "requester",
                    "purpose_or_blank", "requester_or_blank", "request_date", "jurisdiction_name"}
FIELDS = {
    "certificate": _MATTER | {"serial", "year", "basis", "content", "valid_until"},
    "refusal": _MATTER | {"purpose_clause", "item_clause"},
    "commitment": _MATTER | {"item_note"},
    "consultation": _MATTER | {"item_note"},
    # a row's fields too (registered … citations): reports.inventory fills them per row
    "inventory": _PLACE | {"period_from", "period_to", "total", "counts", "preparer", "registered", "outcomes",
                           "label", "n", "more", "number", "citations"},
    "retained": _PLACE | {"jurisdiction_name", "applies", "effective_from", "effective_until", "documents"},
    "notice": _PLACE | {"jurisdiction_name", "documents"},
}
class TemplateError(Exception):
    """A paper template (base or a jurisdiction's override) is malformed."""


@dataclass(frozen=True)
class PaperTemplate:
    """A jurisdiction's change to a paper's wording: ``fields`` replace the base template's keys."""

    jurisdiction: str
    paper: str
    fields: dict
    plugin: str = ""
    source: str = ""


def _placeholders(value) -> set[str]:
    out: set[str] = set()
    if isinstance(value, str):
        for _lit, name, _spec, _conv in string.Formatter().parse(value):
            if name is not None:
                out.add(name)
    elif isinstance(value, list):
        for v in value:
            out |= _placeholders(v)
    elif isinstance(value, dict):
        for v in value.values():
            out |= _placeholders(v)
    return out


def check_fields(paper: str, fields: dict, base: dict | None, where: str) -> None:
    """Raise TemplateError if a template uses an unknown key or placeholder (``where`` names it)."""
    if paper not in PAPERS:
        raise TemplateError(f"{where}: unknown paper '{paper}' (known: {', '.join(PAPERS)})")
    if base is not None:
        unknown = sorted(set(fields) - set(base))
        if unknown:
            raise TemplateError(f"{where}: unknown key(s) {', '.join(unknown)} for paper '{paper}'")
    try:
        bad = sorted(_placeholders(fields) - FIELDS[paper])
    except ValueError as exc:  # a lone brace
        raise TemplateError(f"{where}: {exc}") from None
    if bad:
        raise TemplateError(f"{where}: unknown placeholder(s) {', '.join('{' + b + '}' for b in bad)} "
                            f"(fields of '{paper}': {', '.join(sorted(FIELDS[paper]))})")


@lru_cache(maxsize=None)
def base_template(paper: str) -> dict:
    if paper not in PAPERS:
        raise TemplateError(f"unknown paper '{paper}'")
    ref = resources.files("sealdesk.templates") / f"{paper}.toml"
    where = f"templates/{paper}.toml"
    try:
        data = tomllib.loads(ref.read_text(encoding="utf-8"))["paper"]
    except (OSError, KeyError, tomllib.TOMLDecodeError) as exc:
        raise TemplateError(f"{where}: {exc}") from None
    check_fields(paper, data, None, where)
    return data
