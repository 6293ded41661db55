"""The reference tables of docs/plugins.md, made from the code: facts (``BUILTIN_FACTS``), outcomes
(``Outcome``, ``OUTCOME_LABELS``), requirement codes (``REQUIREMENTS``), papers with their keys and
``{placeholders}`` (``wording.PAPERS``, ``wording.FIELDS``, ``templates/``).

The guide must stand alone, and a table copied by hand drifts from the code it describes. So the
tables sit between ``<!-- reference:NAME -->`` and ``<!-- /reference:NAME -->`` in the guide and
are written by this module; tests/test_docs_plugins.py fails when they differ from what it makes.
Only the English glosses are written here by hand, and the test also fails when a fact, outcome,
requirement or placeholder has none (a new one in the code must be explained before it ships)::

    python -m sealdesk.core.kit.reference docs/plugins.md            # exit 1 when out of date
    python -m sealdesk.core.kit.reference --write docs/plugins.md    # rewrite the tables
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from sealdesk.core.engine.facts import BUILTIN_FACTS
from sealdesk.core.engine.model import OUTCOME_LABELS, REQUIREMENTS, Outcome
from sealdesk.core.engine.wording import FIELDS, FOR_OUTCOMES, PAPERS, base_template

FACT_MEANINGS = {
    "within_duties": "the matter lies within the committee's own duties",
    "verifiable": "the committee can investigate and verify it",
    "basis_provided": "the requesting unit has supplied the legal basis for asking the committee for this certificate",
    "public_interest": "the matter concerns the community's public interest or the immediate interests of most "
                       "of its residents",
    "policy_gap": "the requesting side's policies are not yet aligned (the transitional clause)",
    "party_requires": "a civil or commercial party explicitly requires the certificate (the transitional clause)",
    "legal_risk": "issuing may carry legal risk",
    "own_documents": "the applicant's existing licences and certificates prove it",
    "commitment_ok": "the applicant's written commitment can settle it",
    "replaceable": "other materials cover it, or it can be verified online",
    "liability": "the certificate would make the committee bear legal or joint economic liability",
    "facts_unclear": "the facts are unclear, or need review by state organs or departments",
    "against_law": "stamping would violate the policies of the Party and the state, or laws and regulations",
    "prohibited": "a superior department has prohibited or restricted it",
    "archive_lost": "the marriage registration archive is lost",
    "not_listed": "the clerk has checked with the resident that a name near listed items is none of them",
}

OUTCOME_MEANINGS = {
    Outcome.ISSUE: "the committee certifies: a retained item used as its entry says, a negative item whose "
                   "exception holds, or an unlisted request with its legal basis",
    Outcome.ISSUE_AFTER_CONSULTATION: "a public-interest matter: certified after residents' consultation and "
                                      "the head's signature",
    Outcome.ISSUE_TRANSITIONAL: "certified truthfully under the transitional clause (or a jurisdiction's rule for "
                                "unlisted items), after verification",
    Outcome.COMMITMENT: "not certified: the applicant's written commitment settles the matter",
    Outcome.REFUSE: "not certified: the decision carries its grounds and, for a negative item, its route",
    Outcome.ASK: "not decided yet: `questions` lists what is still needed (facts, or `purpose`), `candidates` "
                 "the items a name may mean",
}

REQUIREMENT_MEANINGS = {
    "verification": "investigate and verify the facts before issuing",
    "consultation": "organise residents' consultation first",
    "head_signature": "the committee's head signs",
    "risk_assessment": "assess the legal risk fully and guard against it beforehand",
    "retention": "register the matter and retain its materials",
    "approval": "the seal's use is approved before stamping",
    "commitment_letter": "the applicant signs a written commitment",
}

PLACEHOLDER_MEANINGS = {
    "county": "the community's county (区/县)",
    "township": "its township or street (街道/乡镇), without 办事处",
    "place": "the community's name without 居民委员会/村民委员会",
    "place_kind": "社区 or 村",
    "committee": "the committee's full name (…居民委员会)",
    "committee_kind": "居民委员会 or 村民委员会",
    "date": "the paper's date, 2026年1月10日",
    "entry": "the matter's number in the register",
    "name": "the resident's name",
    "id_number": "the resident's ID number (in full on the certificate and the commitment, masked elsewhere)",
    "query": "the certificate's name as the resident asked for it",
    "item_name": "the list item's name (empty for an unlisted request)",
    "item_or_query": "the list item's name, else the name asked for",
    "purpose": "the purpose (用途) given",
    "requester": "the requesting unit (索要单位) given",
    "purpose_or_blank": "the purpose, or a blank line to fill in by hand",
    "requester_or_blank": "the requesting unit, or a blank line",
    "request_date": "the date of the request",
    "jurisdiction_name": "the jurisdiction's name, e.g. 重庆市渝北区",
    "serial": "the certificate's number in its year (证明第N号)",
    "year": "the year of that number",
    "basis": "what the certificate is issued on: a retained item's law and article, else the decision's grounds",
    "content": "the fact certified",
    "valid_until": "the date the certificate is valid until",
    "purpose_clause": "（用途：…） when a purpose was given, else empty",
    "item_clause": "the sentence naming the list item the request falls under (or that it is on none)",
    "item_note": "the list item's name in brackets, when it differs from the name asked for",
    "period_from": "the first day of the period counted",
    "period_to": "its last day",
    "total": "the matters registered in the period",
    "counts": "those matters by outcome (出具3件，不予出具2件)",
    "preparer": "who filled in the table",
    "registered": "in `registered`: a row's matters",
    "outcomes": "in `registered`: a row's matters by outcome",
    "label": "in `count`: an outcome's label",
    "n": "in `count`: its number of matters",
    "more": "in `more`: how many more names a cell leaves out",
    "number": "in `negative_basis`: the negative item's number",
    "citations": "in `negative_basis`: the item's citation",
    "applies": "the list's dates of application (from `applies_from`, `applies_until` or `applies_undated`)",
    "effective_from": "in `applies_*`: the day the documents took effect",
    "effective_until": "in `applies_until`: the day the first of them lapses",
    "documents": "the policy documents: on the notice their titles and 文号, on the retained list the 文号 of "
                 "those without a date",
}

_REGION = re.compile(r"(<!-- reference:(\w+) -->\n).*?(<!-- /reference:\2 -->)", re.S)


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def facts_table(specs=BUILTIN_FACTS) -> str:
    rows = []
    for f in specs:
        where = "" if f.jurisdiction in ("", "national") else f" (from {f.jurisdiction})"
        rows.append([f"`{f.name}`", f.kind, f.label, FACT_MEANINGS.get(f.name, "") + where, f.question,
                     f.citation])
    return _table(["fact", "kind", "label", "meaning", "the question the clerk is asked", "from"], rows)


def outcomes_table() -> str:
    papers = {o: [p for p, outs in FOR_OUTCOMES.items() if o in outs] for o in Outcome}
    rows = [[f"`{o.value}`", OUTCOME_LABELS[o], OUTCOME_MEANINGS.get(o, ""),
             ", ".join(f"`{p}`" for p in papers[o]) or "—"] for o in Outcome]
    return _table(["outcome", "label", "meaning", "paper printed"], rows)


def requirements_table() -> str:
    rows = [[f"`{code}`", label, REQUIREMENT_MEANINGS.get(code, "")] for code, label in REQUIREMENTS.items()]
    return _table(["code", "label", "what the clerk must do"], rows)


def papers_table() -> str:
    rows = []
    for paper, name in PAPERS.items():
        keys = ", ".join(f"`{k}`" for k in base_template(paper))
        fields = ", ".join(f"`{{{f}}}`" for f in sorted(FIELDS[paper]))
        rows.append([f"`{paper}`", name, keys, fields])
    return _table(["paper", "name", "keys (of `templates/<paper>.toml`)", "placeholders"], rows)


def placeholders_table() -> str:
    every = sorted({f for fs in FIELDS.values() for f in fs})
    rows = [[f"`{{{f}}}`", PLACEHOLDER_MEANINGS.get(f, ""),
             ", ".join(p for p in PAPERS if f in FIELDS[p])] for f in every]
    return _table(["placeholder", "meaning", "papers"], rows)


TABLES = {
    "facts": facts_table,
    "outcomes": outcomes_table,
    "requirements": requirements_table,
    "papers": papers_table,
    "placeholders": placeholders_table,
}


def missing_meanings() -> list[str]:
    """Facts, outcomes, requirement codes and placeholders of the code that have no gloss here."""
    out = [f"fact {f.name}" for f in BUILTIN_FACTS if f.name not in FACT_MEANINGS]
    out += [f"outcome {o.value}" for o in Outcome if o not in OUTCOME_MEANINGS]
    out += [f"requirement {c}" for c in REQUIREMENTS if c not in REQUIREMENT_MEANINGS]
    out += [f"placeholder {{{f}}}" for f in sorted({f for fs in FIELDS.values() for f in fs})
            if f not in PLACEHOLDER_MEANINGS]
    return out


def update(text: str) -> str:
    """``text`` with every reference region rewritten from the code."""
    def fill(m: re.Match) -> str:
        make = TABLES.get(m.group(2))
        if make is None:
            raise KeyError(f"unknown reference table '{m.group(2)}' (known: {', '.join(TABLES)})")
        return f"{m.group(1)}{make()}\n{m.group(3)}"

    return _REGION.sub(fill, text)


def regions(text: str) -> list[str]:
    return [m.group(2) for m in _REGION.finditer(text)]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    write = "--write" in args
    paths = [Path(a) for a in args if a != "--write"] or [Path("docs/plugins.md")]
    stale = 0
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = update(text)
        if new != text:
            if write:
                path.write_text(new, encoding="utf-8")
                print(f"{path}: tables rewritten")
            else:
                print(f"{path}: tables out of date (run with --write)")
                stale += 1
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
