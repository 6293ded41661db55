"""Reports: the inventory table (附件1) from the register, the retained list (附件3) and the
public notice (公示) from the jurisdiction's lists."""

from __future__ import annotations

import datetime as dt
import re

from sealdesk.core.engine.model import Outcome
from sealdesk.core.engine.names import name_key
from sealdesk.core.papers.content import Block, Paper, cn_date, fill, limit_sentence, place_fields
from sealdesk.core.register.store import InventoryGroup, cite_labels

AKA_MAX = 8  # names after 又称 on the notice board; more are summed up with 等
AKA_SEED_MAX = 6  # of which at most this many from the seeds when everyday words follow


def _table(columns, rows, empty: str) -> Block:
    return Block("table", "", extra={"columns": columns, "rows": rows}) if rows else Block("para", empty)


def _head(tpl: dict, ctx: dict) -> list[Block]:
    return [Block("title", fill(tpl["title"], ctx)), Block("subtitle", fill(tpl["subtitle"], ctx))]


def _midnight(d: dt.date) -> dt.datetime:
    return dt.datetime.combine(d, dt.time()).astimezone()


# -- the inventory (附件1) --------------------------------------------------------------------------
NAMES_MAX = 5  # purposes or requesting units named in a cell; more are summed up with 等N项
VERIFIABLE = {True: "是", False: "否", None: "未核实"}


def inventory_groups(matters, start: dt.date, end: dt.date) -> list[InventoryGroup]:
    """The inventory's rows counted from the matters themselves (what the register's index answers
    with SQL, :meth:`Register.inventory`): those registered in [start, end] that stand, by certificate."""
    groups: dict[tuple, InventoryGroup] = {}
    for m in matters:
        day = dt.date.fromisoformat(m.entry.at[:10])
        if not start <= day <= end or m.void is not None:
            continue
        d = m.entry.data["decision"]
        item = d.get("item") or {}
        key = (m.entry.item, item.get("name") or d["query"], m.entry.list)
        g = groups.get(key)
        if g is None:
            g = groups[key] = InventoryGroup(*key)
        seq = m.entry.seq
        g.add("outcome", m.entry.outcome, 1, seq)
        for what in ("purpose", "requester"):
            if d.get(what):
                g.add(what, d[what], 1, seq)
        g.add("verifiable", d.get("facts", {}).get("verifiable"), 1, seq)
        g.add("cites", cite_labels(d.get("citations", [])), 1, seq)
    return sorted(groups.values(), key=lambda g: g.first)


def _most(counted: dict, tpl: dict, ctx: dict) -> str:
    """The values of ``counted`` (value -> (matters, first record)) most frequent first, the first
    asked first among equals; past NAMES_MAX, ``等N项`` (N: how many in all). Empty if none."""
    names = [v for v, _ in sorted(counted.items(), key=lambda kv: (-kv[1][0], kv[1][1]))]
    if len(names) <= NAMES_MAX:
        return "、".join(names)
    return "、".join(names[:NAMES_MAX]) + fill(tpl["more"], {**ctx, "more": len(names)})


def _counts(counts: dict, tpl: dict, ctx: dict) -> str:
    """``出具3件，不予出具9件``: matters by outcome, in the order of the outcomes."""
    return "，".join(fill(tpl["count"], {**ctx, "label": o.label, "n": counts[o.value]})
                    for o in Outcome if counts.get(o.value))


def _statutory(it) -> bool:
    """依据是否为法律法规: a retained item whose basis names a law or regulation by its title
    (《条例》…). A list document cited by its 文号 (民发〔2020〕20号 附件第8项例外规定) is a normative
    paper, not a law: an item resting on it alone is not."""
    return it is not None and it.list == "retained" and any(c.document.startswith("《") for c in it.basis_citations)


def _inventory_basis(g: InventoryGroup, it, tpl: dict, ctx: dict) -> str:
    """依据: a retained item's legal basis (one line each); a negative item's entry on the list that
    says it may not be issued (the first citation of its entry that gives it that number, as
    民发〔2020〕20号 附件第17项, else its first); otherwise the citations of the decisions (an unlisted
    certificate's rules: 民发〔2020〕20号 三 …), each once."""
    if it is not None and it.list == "retained" and it.basis:
        return "\n".join(it.basis)
    number = it.number if it is not None else (g.item or "").rpartition(".")[2]
    cited = list(dict.fromkeys(label for labels, _ in sorted(g.cites.items(), key=lambda kv: kv[1][1])
                               for label in labels))
    if g.list == "negative":
        entry = [c.label for c in it.citations] if it is not None else cited
        placing = [c for c in entry if c.endswith(f"第{number}项")] or entry
        return fill(tpl["negative_basis"], {**ctx, "number": number, "citations": "".join(placing[:1])})
    return "；".join(cited)


def _verified(g: InventoryGroup, tpl: dict, ctx: dict) -> str:
    """是, 否 or 未核实 when the matters agree; else each with its count (是3件，未核实1件)."""
    if len(g.verifiable) == 1:
        return VERIFIABLE[next(iter(g.verifiable))]
    return "，".join(fill(tpl["count"], {**ctx, "label": VERIFIABLE[v], "n": g.verifiable[v]})
                    for v in (True, False, None) if g.verifiable.get(v))


def inventory(groups, community, view, tpl: dict, start: dt.date, end: dt.date, preparer: str,
              on: dt.date, items: dict | None = None) -> Paper:
    """附件1 for [start, end]: one row per certificate (the list item's name, or the words asked for
    an unlisted one) from ``groups`` (:meth:`Register.inventory`, or :func:`inventory_groups`), with
    its matters counted under the name. An item today's lists no longer hold is looked up in
    ``items`` (every item by id)."""
    groups = list(groups)
    counts: dict[str, int] = {}
    for g in groups:
        for o, n in g.outcomes.items():
            counts[o] = counts.get(o, 0) + n
    ctx = {**place_fields(community, on), "period_from": cn_date(start), "period_to": cn_date(end),
           "preparer": preparer}
    ctx.update(total=sum(counts.values()), counts=_counts(counts, tpl, ctx) or "无")
    table = []
    for i, g in enumerate(groups, 1):
        it = view.by_id.get(g.item) or (items or {}).get(g.item) if g.item else None
        retained = it is not None and it.list == "retained"
        registered = fill(tpl["registered"], {**ctx, "registered": g.total, "outcomes": _counts(g.outcomes, tpl, ctx)})
        matters = _most(g.purposes, tpl, ctx) or (it.matters if retained else "")
        requesters = _most(g.requesters, tpl, ctx) or (it.requesting_unit if retained else "")
        table.append([i, f"{g.name}\n{registered}", matters or "—", _inventory_basis(g, it, tpl, ctx) or "—",
                      "是" if _statutory(it) else "否", (it.purpose if retained else "") or "—", requesters or "—",
                      _verified(g, tpl, ctx)])
    blocks = [
        Block("attachment", fill(tpl["attachment"], ctx)),
        *_head(tpl, ctx),
        Block("note", fill(tpl["unit"], ctx)),
        _table(tpl["columns"], table, fill(tpl["empty"], ctx)),
        Block("note", fill(tpl["summary"], ctx)),
        Block("note", fill(tpl["signer"], ctx)),
    ]
    return Paper("inventory", fill(tpl["title"], ctx), blocks, _midnight(on), "landscape",
                 body={"from": start.isoformat(), "to": end.isoformat()})


# -- the retained list (附件3) -------------------------------------------------------------------------
def numbered(items) -> list[tuple[object, str, object]]:
    """(序号, the list's position when 序号 is not it, item) of one kind of a view's items, in view order.

    Each jurisdiction numbers its own list, so a county's 第1项 follows the national 第1项…第20项 in one
    table: where numbers would repeat, 序号 runs down the table and an item whose number is not its
    row names its place (某某县负面清单第1项), which a bare number would not say. Otherwise each item
    keeps its number (or its label, Qinghai's 示例)."""
    items = list(items)
    if len({it.number for it in items}) == len(items):
        return [(it.label or it.number, "", it) for it in items]
    return [(row, "" if row == it.number else it.position, it) for row, it in enumerate(items, 1)]


def _placed(name: str, position: str) -> str:
    return f"{name}\n（{position}）" if position else name


def _retained_rows(view) -> list[list]:
    # 法律法规依据: each basis on a line of its own.
    return [[n, _placed(it.name, where), it.matters or "—", "\n".join(it.basis) or "—", it.purpose or "—",
             it.requesting_unit or "—"] for n, where, it in numbered(it for it in view.items if it.list == "retained")]


def applies(view, tpl: dict, ctx: dict) -> str:
    """适用日期 of the retained list: from the latest effective date of the documents that issue its
    entries (each entry's first citation) to the earliest day one lapses; without a date in the seeds,
    from the day the documents took effect, named by their 文号. "—" for an empty list."""
    numbers = list(dict.fromkeys(it.citations[0].document for it in view.items
                                 if it.list == "retained" and it.citations))
    if not numbers:
        return "—"
    docs = [view.documents[n] for n in numbers if n in view.documents]
    starts = [d.effective_from or d.date for d in docs]
    if not docs or any(s is None for s in starts):
        undated = [n for n in numbers if n not in view.documents or
                   (view.documents[n].effective_from or view.documents[n].date) is None]
        return fill(tpl["applies_undated"], {**ctx, "documents": "、".join(undated)})
    ends = [d.effective_until for d in docs if d.effective_until is not None]
    fields = {**ctx, "effective_from": cn_date(max(starts))}
    if ends:
        return fill(tpl["applies_until"], {**fields, "effective_until": cn_date(min(ends))})
    return fill(tpl["applies_from"], fields)


_NUMBERED = re.compile(r"^(.*第)(\d+)([项条款号])$")


def cited_together(citations) -> list[str]:
    """Citations as a list's foot names them: the entries of one list in one citation, numbers in order
    (``渝府办发〔2018〕56号 附件1第2、6、8、10项``), not one citation per row sorted as text (第10项 before 第2项)."""
    groups: dict[tuple[str, str, str], set[int]] = {}
    plain: dict[str, None] = {}
    for c in citations:
        m = _NUMBERED.match(c.provision)
        if m:
            groups.setdefault((c.document, m.group(1), m.group(3)), set()).add(int(m.group(2)))
        else:
            plain[c.text()] = None
    out = [f"{doc} {head}{'、'.join(map(str, sorted(nums)))}{unit}".strip()
           for (doc, head, unit), nums in groups.items()]
    return sorted(out + [t for t in plain if t not in out])


def retained(community, view, tpl: dict, on: dt.date) -> Paper:
    ctx = {**place_fields(community, on), "jurisdiction_name": view.name}
    ctx["applies"] = applies(view, tpl, ctx)
    rows = _retained_rows(view)
    docs = cited_together([c for it in view.items if it.list == "retained" for c in it.citations])
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


def _named(it, aka, position: str = "") -> str:
    line = aka_text(*aka.get(it.id, ((), ())))
    name = _placed(it.name, position)
    return f"{name}\n{line}" if line else name


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
    negative = [[n, _named(it, aka, where), it.route or "—"]
                for n, where, it in numbered(it for it in view.items if it.list == "negative")]
    kept = [[n, _named(it, aka, where), _use(it), "\n".join(it.basis) or "—", it.requesting_unit or "—",
             it.method or "—"]
            for n, where, it in numbered(it for it in view.items if it.list == "retained")]
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
