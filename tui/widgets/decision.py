"""The decision as the clerk reads it to the resident: outcome first, then the route verbatim."""

from __future__ import annotations

from textual.content import Content

from sealdesk.core.model import REQUIREMENTS, Outcome, citation_label

OUTCOME_STYLE = {
    "issue": "bold black on green",
    "issue_after_consultation": "bold black on green",
    "issue_transitional": "bold black on yellow",
    "commitment": "bold black on cyan",
    "refuse": "bold white on red",
    "ask": "bold black on white",
}


def decision_content(d: dict, facts_label=None) -> Content:
    """A decision's JSON (``Decision.to_json``) as styled text; every string from data is plain."""
    outcome = d["outcome"]
    label = Outcome(outcome).label
    item = d.get("item")
    parts: list[Content] = [Content.styled(f" {label} ", OUTCOME_STYLE.get(outcome, "bold")),
                            Content(f"  {d['query']}")]
    if item:
        where = "负面清单" if item["list"] == "negative" else "保留清单"
        parts.append(Content.styled(f"  （{where}第{item['number']}项 {item['name']}）", "dim"))
    lines = [Content("").join(parts)]
    if d.get("route"):
        lines += [Content.styled("办事途径", "bold"), Content(d["route"])]
    if d.get("requirements"):
        lines.append(Content.styled("须办理", "bold"))
        lines += [Content(f"  □ {REQUIREMENTS.get(r, r)}") for r in d["requirements"]]
    for n in d.get("notices", []):
        lines.append(Content(f"告知：{n}"))
    for w in d.get("warnings", []):
        lines.append(Content.styled(f"注意：{w}", "bold yellow"))
    if d.get("citations"):
        lines.append(Content.styled("依据：", "bold") + Content("；".join(citation_label(c) for c in d["citations"])))
    if d.get("explanation"):
        lines.append(Content.styled("理由", "bold"))
        lines += [Content(f"·{e}") for e in d["explanation"]]
    return Content("\n").join(lines)
