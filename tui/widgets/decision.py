"""The decision as the clerk reads it to the resident: outcome first, then the route verbatim."""

from __future__ import annotations

from textual.content import Content

from sealdesk.core.engine.model import REQUIREMENTS, Outcome, citation_label

OUTCOME_STYLE = {
    "issue": "bold black on green",
    "issue_after_consultation": "bold black on green",
    "issue_transitional": "bold black on yellow",
    "commitment": "bold black on cyan",
    "refuse": "bold white on red",
    "ask": "bold black on white",
}


def list_label(ref: dict) -> str:
    """负面清单第8项, 某某县负面清单第1项, from an item reference (``CertificateItem.ref()``; one
    recorded before references named their list is called by its kind)."""
    short = ref.get("list_short") or ("负面清单" if ref["list"] == "negative" else "保留清单")
    return f"{short}第{ref['number']}项"


def match_line(d: dict) -> Content | None:
    """按居民常用说法“单身证明”（单身即…）: the resident word the item was found by, if any."""
    m = d.get("match")
    if not m or m.get("kind") != "word":
        return None
    reason = f"（{m['reason']}）" if m.get("reason") else ""
    # A word for several items (关系证明) found no item: it says why the name is asked about.
    lead = "按居民常用说法" if d.get("item") else "居民常用说法"
    return Content.styled(lead, "bold") + Content(f"“{m['wording']}”{reason}")


def decision_content(d: dict, facts_label=None, candidates: bool = True) -> Content:
    """A decision's JSON (``Decision.to_json``) as styled text; every string from data is plain.

    ``candidates=False`` leaves out the items an ambiguous name may mean (the counter lists them
    itself, numbered, to be picked with a key)."""
    outcome = d["outcome"]
    label = Outcome(outcome).label
    item = d.get("item")
    parts: list[Content] = [Content.styled(f" {label} ", OUTCOME_STYLE.get(outcome, "bold")),
                            Content(f"  {d['query']}")]
    if item:
        parts.append(Content.styled(f"  （{list_label(item)} {item['name']}）", "dim"))
    lines = [Content("").join(parts)]
    word = match_line(d)
    if word is not None:
        lines.append(word)
    if candidates and d.get("candidates"):
        lines.append(Content.styled("可能是以下事项，须问明居民：", "bold"))
        lines += [Content(f"  · {c['name']}（{list_label(c)}）") for c in d["candidates"]]
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
