"""Reports: the inventory table (附件1) from the register, the retained list (附件3) and the
public notice (公示) from the jurisdiction's lists."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from .model import Outcome
from .model import citation_label
from .papers import Block, Paper, cn_date, fill, place_fields


def _table(columns, rows, empty: str) -> Block:
    return Block("table", "", extra={"columns": columns, "rows": rows}) if rows else Block("para", empty)


def _head(tpl: dict, ctx: dict) -> list[Block]:
    return [Block("title", fill(tpl["title"], ctx)), Block("subtitle", fill(tpl["subtitle"], ctx))]


def _midnight(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time()).astimezone()


def inventory(matters, community, view, tpl: dict, start: dt.date, end: dt.date, preparer: str,
              on: dt.date) -> Paper:
    """One row per distinct (证明名称, 涉及办理事项, 索要单位, 依据) among matters registered in [start, end]."""
    rows: dict[tuple, list] = {}
    counts: Counter = Counter()
    for m in matters:
        day = dt.date.fromisoformat(m.entry.at[:10])
        if not start <= day <= end or m.void is not None:
            continue
        d = m.entry.data["decision"]
        counts[Outcome(m.entry.outcome).label] += 1
        item = d.get("item") or {}
        name = item.get("name") or d["query"]
        purpose, requester = d.get("purpose") or "", d.get("requester") or ""
        basis = "；".join(citation_label(c) for c in d.get("citations", []))
        # 依据是否为法律法规: only a retained item's statutory basis is; list documents are normative papers.
        legal = "是" if item.get("list") == "retained" else "否"
        verifiable = d.get("facts", {}).get("verifiable")
        can_verify = {True: "是", False: "否"}.get(verifiable, "未核实")
        key = (name, purpose, requester, basis)
        if key not in rows:
            rows[key] = [name, purpose or "—", basis or "—", legal, purpose or "—", requester or "—", can_verify]
    ctx = {**place_fields(community, on), "period_from": cn_date(start), "period_to": cn_date(end),
           "total": sum(counts.values()), "counts": "，".join(f"{k}{v}件" for k, v in sorted(counts.items())) or "无",
           "preparer": preparer}
    table = [[i, *r] for i, r in enumerate(rows.values(), 1)]
    blocks = [
        *_head(tpl, ctx),
        _table(tpl["columns"], table, fill(tpl["empty"], ctx)),
        Block("note", fill(tpl["summary"], ctx)),
        Block("note", fill(tpl["signer"], ctx) + "　　" + fill(tpl["date"], ctx)),
    ]
    return Paper("inventory", fill(tpl["title"], ctx), blocks, _midnight(on), "landscape",
                 body={"from": start.isoformat(), "to": end.isoformat()})


def _retained_rows(view) -> list[list]:
    return [[it.label or it.number, it.name, it.matters or "—", "；".join(it.basis) or "—", it.purpose or "—",
             it.requesting_unit or "—"] for it in view.items if it.list == "retained"]


def retained(community, view, tpl: dict, on: dt.date) -> Paper:
    ctx = {**place_fields(community, on), "jurisdiction_name": view.name}
    rows = _retained_rows(view)
    docs = sorted({c.text() for it in view.items if it.list == "retained" for c in it.citations})
    blocks = [
        *_head(tpl, ctx),
        _table(tpl["columns"], rows, fill(tpl["empty"], ctx)),
        *([Block("note", tpl["citations_heading"] + "：" + "；".join(docs))] if docs else []),
        Block("note", fill(tpl["date"], ctx)),
    ]
    return Paper("retained", fill(tpl["title"], ctx), blocks, _midnight(on), "landscape")


def notice(community, view, tpl: dict, on: dt.date) -> Paper:
    documents = "、".join(f"《{d.title}》（{d.number}）" if d.title else d.number
                         for d in sorted(view.documents.values(), key=lambda d: d.date or on))
    ctx = {**place_fields(community, on), "jurisdiction_name": view.name, "documents": documents}
    negative = [[it.number, it.name, it.route or "—"]
                for it in view.items if it.list == "negative"]
    kept = [[it.label or it.number, it.name, "；".join(it.basis) or "—", it.requesting_unit or "—", it.method or "—"]
            for it in view.items if it.list == "retained"]
    blocks = [
        Block("title", fill(tpl["title"], ctx)),
        Block("para", fill(tpl["intro"], ctx)),
        Block("heading", tpl["negative_heading"]),
        _table(tpl["negative_columns"], negative, ""),
        Block("heading", tpl["retained_heading"]),
        _table(tpl["retained_columns"], kept, fill(tpl["retained_empty"], ctx)),
        Block("seal", fill(tpl["signer"], ctx), extra={"date": fill(tpl["date"], ctx), "label": ""}),
    ]
    return Paper("notice", fill(tpl["title"], ctx), blocks, _midnight(on), "landscape")


