"""Reports: the inventory table (附件1) from the register, the retained list (附件3) and the
public notice (公示) from the jurisdiction's lists."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sealdesk.core.engine.model import Outcome
from sealdesk.core.engine.model import citation_label
from sealdesk.core.engine.names import name_key
from sealdesk.core.papers.content import Block, Paper, cn_date, fill, limit_sentence, place_fields

AKA_MAX = 8  # names after 又称 on the notice board; more are summed up with 等
AKA_SEED_MAX = 6  # of which at most this many from the seeds when everyday words follow


def _table(columns, rows, empty: str) -> Block:
    return Block("table", "", extra={"columns": columns, "rows": rows}) if rows else Block("para", empty)


def _head(tpl: dict, ctx: dict) -> list[Block]:
    return [Block("title", fill(tpl["title"], ctx)), Block("subtitle", fill(tpl["subtitle"], ctx))]


def _midnight(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time()).astimezone()


def inventory(matters, community, view, tpl: dict, start: dt.date, end: dt.date, preparer: str,
              on: dt.date, counts: dict[str, int] | None = None) -> Paper:
    """One row per distinct (证明名称, 涉及办理事项, 索要单位, 依据) among matters registered in [start, end].

    With ``counts`` (matters by outcome label, from the register's index) ``matters`` need only hold
    the first matter of each row, in entry order; without, every matter is read and counted.
    """
    rows: dict[tuple, list] = {}
    tally = counts is None
    counts = Counter(counts or {})
    for m in matters:
        day = dt.date.fromisoformat(m.entry.at[:10])
        if not start <= day <= end or m.void is not None:
            continue
        d = m.entry.data["decision"]
        if tally:
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


def also_known_as(view) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """The names residents know each item of ``view`` by: ``{item id: (seed names, everyday words)}``.

    Seed names first: the item's aliases and legacy names (the lists' own), then residents' words
    whose ``source`` is a seed passage (Chongqing's 备注 names); everyday words (those with a
    ``reason``) follow in their file's order. Only words in force in the view and naming this item
    alone count (a word for two items is asked about, not a name of either); a name equal to
    another once normalised (``name_key``) is given once.
    """
    words: dict[str, tuple[list[str], list[str]]] = {}
    for _key, word, items in view.index.words():
        if len(items) == 1:
            seed, everyday = words.setdefault(items[0].id, ([], []))
            (seed if word.source else everyday).append(word.name)
    out = {}
    for it in view.items:
        seen = {name_key(it.name)}
        seed, everyday = words.get(it.id, ((), ()))
        groups = []
        for names in ((*it.aliases, *it.legacy_names, *seed), everyday):
            kept = []
            for n in names:
                k = name_key(n)
                if k and k not in seen:
                    seen.add(k)
                    kept.append(n)
            groups.append(tuple(kept))
        out[it.id] = (groups[0], groups[1])
    return out


def aka_text(seed, everyday, limit: int = AKA_MAX, seed_limit: int = AKA_SEED_MAX) -> str:
    """``又称：甲、乙、丙等`` (empty when there is none): seed names first, capped, then everyday words."""
    names = [*seed[: seed_limit if everyday else limit], *everyday][:limit]
    if not names:
        return ""
    more = len(seed) + len(everyday) > len(names)
    return "又称：" + "、".join(names) + ("等" if more else "")


def _named(it, aka) -> str:
    line = aka_text(*aka.get(it.id, ((), ())))
    return f"{it.name}\n{line}" if line else it.name


def _use(it) -> str:
    """The 证明用途 cell of a retained item: what it is limited to, else its entry's purpose."""
    if it.restriction is not None and it.restriction.text.strip():
        return limit_sentence(it.restriction.text)
    return it.purpose or (it.use.text if it.use is not None else "") or "—"


def notice(community, view, tpl: dict, on: dt.date) -> Paper:
    documents = "、".join(f"《{d.title}》（{d.number}）" if d.title else d.number
                         for d in sorted(view.documents.values(), key=lambda d: d.date or on))
    ctx = {**place_fields(community, on), "jurisdiction_name": view.name, "documents": documents}
    aka = also_known_as(view)
    negative = [[it.number, _named(it, aka), it.route or "—"]
                for it in view.items if it.list == "negative"]
    kept = [[it.label or it.number, _named(it, aka), _use(it), "；".join(it.basis) or "—", it.requesting_unit or "—",
             it.method or "—"]
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
