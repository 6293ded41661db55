"""Papers (文书): what each paper says, from its template and the register.

Templates are data (``templates/<paper>.toml``); a jurisdiction changes wording with
``[papers.<paper>]`` in its jurisdiction.toml or with the ``sealdesk_paper_templates``
hook. Both are merged over the base template from national down to the jurisdiction,
deeper winning, key by key. A template's ``{placeholders}`` are checked when it is
loaded: each paper has a fixed set of fields (:data:`FIELDS`) filled from the register.
Values are inserted as plain text, never parsed, so a name like ``{x}`` or ``[b]`` prints
as typed.

This module builds a paper as a list of blocks (:mod:`sealdesk.core.papers.typeset` lays them
out). ID numbers print in full only where the paper's model has the field and it identifies
the person to a third party (certificate: 附件4 "身份证号"; commitment: the promisor);
refusal notices, consultation records and reports mask them.

A paper that leaves the committee (certificate, refusal notice, commitment) carries, beside its
seal, the short code of the register record behind it (:func:`check_lines`): a receiving unit
reads it out and the community finds it with ``register show``. The wording is sealdesk's, not
a template's: it is the register's, the same in every jurisdiction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from sealdesk.core.engine.jurisdiction import basis_reference
from sealdesk.core.engine.model import citation_label
from sealdesk.core.register.resident import mask_id
from sealdesk.core.register.store import KINDS

from sealdesk.core.engine.wording import (  # noqa: F401  (the papers' names and fields, re-exported)
    FIELDS,
    FOR_OUTCOMES,
    MATTER_PAPERS,
    PAPERS,
    REPORTS,
    PaperTemplate,
    TemplateError,
    base_template,
    check_fields,
    papers_for,
)

CONTENT_MAX = 300


@dataclass
class Block:
    kind: str
    text: str = ""
    extra: dict = field(default_factory=dict)

    def strings(self):
        yield self.text
        for v in self.extra.values():
            yield from _strings(v)


def _strings(v):
    if isinstance(v, str):
        yield v
    elif isinstance(v, (int, float)) and not isinstance(v, bool):  # table cells (序号) are printed with str()
        yield str(v)
    elif isinstance(v, (list, tuple)):
        for x in v:
            yield from _strings(x)
    elif isinstance(v, dict):
        for x in v.values():
            yield from _strings(x)


def template(paper: str, view, registry) -> dict:
    """The paper's template for ``view``'s jurisdiction: base, then overrides root first."""
    out = dict(base_template(paper))
    for jid in view.chain:
        override = registry.paper_templates.get((jid, paper))
        if override is not None:
            out.update(override.fields)
    return out


def fill(value, ctx: dict):
    if isinstance(value, str):
        return value.format_map(ctx)
    if isinstance(value, list):
        return [fill(v, ctx) for v in value]
    return value


# -- places and people ------------------------------------------------------------------
def place_fields(community, date: dt.date) -> dict:
    name = community.name
    village = "村民委员会" in name or (name.endswith("村") and "社区" not in name)
    committee_kind = "村民委员会" if village else "居民委员会"
    place = name.removesuffix(committee_kind)
    committee = name if name.endswith(committee_kind) else name + committee_kind
    return {
        # 附件4 names the place, not the office: "____街道（镇）", so 示范街道办事处 prints as 示范街道.
        "county": community.county, "township": community.township.removesuffix("办事处"), "place": place,
        "place_kind": "村" if village else "社区", "committee": committee, "committee_kind": committee_kind,
        "date": cn_date(date),
    }


def cn_date(d: dt.date | str | None) -> str:
    if d is None or d == "":
        return "____年__月__日"
    if isinstance(d, str):
        d = dt.date.fromisoformat(d[:10])
    return f"{d.year}年{d.month}月{d.day}日"


# -- matter papers ------------------------------------------------------------------------
@dataclass
class Paper:
    """A paper ready to typeset: its blocks, title, fixed creation time and register body."""

    paper: str
    title: str
    blocks: list[Block]
    created: dt.datetime
    orientation: str = "portrait"
    body: dict = field(default_factory=dict)  # extra register fields (certificate content, report period)


def matter_fields(matter, community, view, date: dt.date) -> dict:
    d = matter.entry.data["decision"]
    res = matter.entry.data["resident"]
    item = d.get("item") or {}
    purpose, requester = d.get("purpose") or "", d.get("requester") or ""
    return {
        **place_fields(community, date),
        "entry": matter.number if matter.number is not None else matter.entry.seq, "name": res["name"], "id_number": mask_id(res["id"]), "query": d["query"],
        "item_name": item.get("name") or "", "item_or_query": item.get("name") or d["query"],
        "purpose": purpose, "requester": requester,
        "purpose_or_blank": purpose or "________", "requester_or_blank": requester or "________",
        "request_date": cn_date(matter.entry.at), "jurisdiction_name": view.name,
    }


# -- the check code (核验码) ------------------------------------------------------------------
CHECK_CHARS = 16  # hex characters of the record's hash (64 bits)

# The record whose hash a paper carries: the one that authorised it. A certificate is printed on
# the strength of its stamp record (用印); a refusal notice and a commitment on the decision itself,
# the matter's own record (登记). A consultation record stays with the committee: no code.
CHECKED = {"certificate": "stamp", "refusal": "matter", "commitment": "matter"}


def check_code(record_hash: str) -> str:
    """The short form of a record's hash that papers print and a receiving unit reads out over the
    phone: its first 16 hex characters in groups of four, ``1a2b 3c4d 5e6f 7a8b`` (the start of the
    ``哈希`` that ``register show`` prints)."""
    h = record_hash[:CHECK_CHARS].lower()
    return " ".join(h[i:i + 4] for i in range(0, len(h), 4))


def check_label(kind: str) -> str:
    """``用印记录``, ``登记记录``: what the paper calls the record whose code it carries."""
    return KINDS.get(kind, kind) + "记录"


def check_kinds(outcome) -> set[str]:
    """The kinds of record whose codes a matter of ``outcome`` prints on its papers."""
    return {CHECKED[p] for p in papers_for(outcome) if p in CHECKED}


def check_record(paper: str, matter):
    """The record whose code ``paper`` of ``matter`` carries (its stamp or its own record), or None."""
    kind = CHECKED.get(paper)
    return matter.stamp if kind == "stamp" else matter.entry if kind == "matter" else None


def check_lines(paper: str, matter) -> list[str]:
    """The lines a paper prints beside its seal so a receiving unit can quote the record behind it:
    ``登记号：N``, ``用印记录：第 S 条``, ``核验码：1a2b 3c4d 5e6f 7a8b`` (none for a paper without one)."""
    rec = check_record(paper, matter)
    if rec is None:
        return []
    number = matter.number if matter.number is not None else matter.entry.seq
    return [f"登记号：{number}", f"{check_label(rec.kind)}：第 {rec.seq} 条", f"核验码：{check_code(rec.hash)}"]


def _seal(t: dict, ctx: dict, check: list[str] | None = None) -> Block:
    # ``check``: the check lines (:func:`check_lines`), set in the empty space left of signer and date.
    return Block("seal", fill(t.get("signer", "{committee}"), ctx), extra={"date": fill(t["date"], ctx),
                                                                          "label": t.get("seal", ""),
                                                                          "check": check or []})


def certificate_purpose(purpose: str) -> str:
    """The purpose as the certificate's "用于办理{purpose}事务" takes it: without a leading 用于/办理
    and a trailing 事务/事宜/使用/之用 the sentence already says, nor end punctuation."""
    p = purpose.strip().rstrip("。，、；;,. ")
    for head in ("用于", "办理"):
        if p.startswith(head) and len(p) > len(head):
            p = p[len(head):]
    for tail in ("事务", "事宜", "之用", "使用"):
        if p.endswith(tail) and len(p) > len(tail):
            p = p[: -len(tail)]
    return p


def _placing(view, item: dict) -> set[str]:
    """The citations that place a negative item on its list (民发〔2020〕20号 附件第17项): what a
    certificate issued despite the list never gives as its basis."""
    if not item or item.get("list") != "negative":
        return set()
    it = view.by_id.get(item.get("id"))
    if it is not None:
        return {c.label for c in it.citations}
    return set()


def certificate_basis(decision: dict, view) -> list[str]:
    """What a certificate prints after 依据 (附件4: "依据___（法律法规）"), one reference each.

    A retained item: its statutory basis from the list in force on the decision date, each line as
    a short reference (《条例》（国务院令第498号）第十五条: :func:`basis_reference`). Otherwise the
    grounds it is issued on: the decision's citations (the transitional clause 民发〔2020〕20号 三, the
    public-interest rule 二, a list entry's exception 附件第17项（法律援助情况除外）, the province's
    adoption of them) without the citations that put the item on a negative list, which say it
    may not be issued."""
    item = decision.get("item") or {}
    if item.get("list") == "retained":
        it = view.by_id.get(item.get("id"))
        refs = list(dict.fromkeys(basis_reference(b) for b in (it.basis if it is not None else ()) if b.strip()))
        if refs:
            return refs
    placing = _placing(view, item)
    number = item.get("number")
    out: list[str] = []
    for c in decision.get("citations", []):
        label = citation_label(c)
        if label in placing or label in out:
            continue
        if not placing and item.get("list") == "negative" and (c.get("provision") or "").endswith(f"第{number}项"):
            continue  # the item is no longer in this view: its list entry by its number
        out.append(label)
    return out


def certificate(matter, community, view, tpl: dict, content: str) -> Paper:
    stamp = matter.stamp
    date = dt.date.fromisoformat(stamp.at[:10])
    d = matter.entry.data["decision"]
    ctx = matter_fields(matter, community, view, date)
    ctx.update(
        id_number=matter.entry.data["resident"]["id"],  # 附件4 has the field: the certificate identifies the person
        serial=stamp.serial, year=stamp.year, content=content,
        basis="、".join(certificate_basis(d, view)) or "________",
        valid_until=cn_date(stamp.data.get("valid_until")),
        requester=d.get("requester") or "",
    )
    # The template reads "用于办理{purpose}事务": a purpose said as 办理贷款 or 用于公证事务 would
    # print 用于办理办理贷款事务; the words the sentence already has are not repeated.
    ctx["purpose"] = certificate_purpose(ctx["purpose"]) or "________"
    if not ctx["requester"]:
        ctx["requester"] = "________"
    pages: list[Block] = []
    copies = tpl.get("copies") or [""]
    for i, copy in enumerate(copies):
        if i:
            pages.append(Block("page"))
        if copy:
            pages.append(Block("copy", f"第{'一二三四'[i] if i < 4 else i + 1}联　{copy}"))
        pages += [
            Block("title", fill(tpl["title"], ctx)),
            Block("number", fill(tpl["number"], ctx)),
            Block("addressee", fill(tpl["addressee"], ctx)),
            *[Block("para", p) for p in fill(tpl["body"], ctx)],
            _seal(tpl, ctx, check_lines("certificate", matter)),
            Block("footer", fill(tpl.get("footer", ""), ctx)),
        ]
    return Paper("certificate", fill(tpl["title"], ctx), pages, _at(stamp.at), body={"content": content})


# -- the certificate's content (证明事项) ------------------------------------------------------------
# The template wraps it: "……兹证明{content}，用于办理{purpose}事务。" The clerk types the facts only; what
# a clerk who writes the whole sentence adds is dropped (issue 16), so the paper never reads
# "兹证明兹证明……" or "……特此证明。，用于……".
CONTENT_OPENINGS = ("兹证明", "兹有", "特此证明")  # the formula repeated at the start
CONTENT_CLOSINGS = ("特此证明",)  # …and at the end
# Sentence marks and dashes at either end; brackets and quotes stay (a closing "）" is the fact's own).
CONTENT_EDGE = frozenset("，,、；;：:。．.！!？?…‥～~—–-｡､")
CONTENT_EXAMPLE = "该居民自2019年起在本社区居住"


def _edge(ch: str) -> bool:
    return ch.isspace() or ch in CONTENT_EDGE


def certificate_content(text) -> str:
    """The facts a certificate certifies, as the clerk typed them but for the wrapping the template
    already prints: a leading ``兹证明``/``兹有``/``特此证明`` (repeated or not), a trailing ``特此证明``,
    and whitespace and sentence punctuation at either end. Punctuation inside is kept.

    Raises :class:`InvalidInput` (Chinese) when nothing is left: the clerk typed only the formula.
    """
    from sealdesk.core.register.resident import InvalidInput

    if not isinstance(text, str):
        raise InvalidInput("证明事项应为文字")
    s, before = text, None
    while s != before:
        before = s
        start, end = 0, len(s)
        while start < end and _edge(s[start]):
            start += 1
        while end > start and _edge(s[end - 1]):
            end -= 1
        s = s[start:end]
        for opening in CONTENT_OPENINGS:
            s = s.removeprefix(opening)
        for closing in CONTENT_CLOSINGS:
            s = s.removesuffix(closing)
    if not s:
        raise InvalidInput("请填写证明的事实（不必写“兹证明”和“特此证明”，打印时会自动加上），"
                           f"例如：{CONTENT_EXAMPLE}")
    return s


def limit_sentence(text: str) -> str:
    """A retained item's limit as a sentence: ``仅用于…。`` as written, else ``只用于…。``
    (the use its entry names, a leading 用于 dropped: ``用于农村土地…`` → ``只用于农村土地…``)."""
    t = text.strip()
    if not t:
        return ""
    if t[-1] not in "。；;.！":
        t += "。"
    if t.startswith(("仅用于", "只用于")):
        return t
    return "只用于" + t.removeprefix("用于")


LISTS = {"negative": "不应由基层群众性自治组织出具证明事项清单", "retained": "基层群众性自治组织依法出具证明事项清单"}


def list_of(view, item: dict) -> tuple[str, str]:
    """(title, short name) of the list a decided item is numbered in: as the decision recorded it
    (``list_title``, ``list_short``), else as the view holds the item (a decision recorded before
    items carried their list), else the national list's. A county's own 第1项 is never called the
    national list's."""
    title, short = item.get("list_title"), item.get("list_short")
    if not title:
        it = view.by_id.get(item.get("id")) if view is not None else None
        if it is not None:
            title, short = it.title_of_list, it.list_label
    return (title or LISTS.get(item.get("list"), "证明事项清单"),
            short or ("负面清单" if item.get("list") == "negative" else "保留清单"))


def _limit_of(view, item: dict, grounds: list[dict]) -> str:
    """What a retained item asked for another use is limited to: from the list in force on the
    decision date, else from the decision's ground (``该事项仅用于：…``)."""
    it = view.by_id.get(item["id"]) if item else None
    limit = it.limit if it is not None else None
    if limit is not None and limit.text.strip():
        return limit_sentence(limit.text)
    text = next((g["text"] for g in grounds if g.get("code") == "other_use"), "")
    return limit_sentence(text.removeprefix("该事项").removeprefix("仅用于：").removeprefix("只用于："))


def refusal(matter, community, view, tpl: dict) -> Paper:
    d = matter.entry.data["decision"]
    date = dt.date.fromisoformat(matter.entry.at[:10])
    ctx = matter_fields(matter, community, view, date)
    item = d.get("item")
    purpose = d.get("purpose") or ""
    ctx["purpose_clause"] = f"（用途：{purpose}）" if purpose else ""
    raw_grounds = d.get("grounds", [])
    other_use = item is not None and any(g.get("code") == "other_use" for g in raw_grounds)
    grounds = [g["text"] for g in raw_grounds] or d.get("explanation", [])
    if other_use:
        # A retained item asked for a use its entry does not name: on the list, but not for this use.
        limit = _limit_of(view, item, raw_grounds)
        use = f"本次用途“{purpose}”" if purpose else "本次申请"
        title, short = list_of(view, item)
        ctx["item_clause"] = (f"该证明虽列入《{title}》第{item['number']}项“{item['name']}”，"
                              f"但{'你申请的用途' if purpose else '本次申请'}不是该项所列的用途，")
        grounds = []
        for g in raw_grounds:
            if g.get("code") != "other_use":
                grounds.append(g["text"])
                continue
            cite = f"（{citation_label(g['citation'])}）" if g.get("citation") else ""
            grounds.append(f"{short}第{item['number']}项“{item['name']}”{limit}{use}不在其内；对这一用途，"
                           f"该证明属于未列入清单的证明事项，不予出具{cite}。")
    elif item:
        ctx["item_clause"] = f"该证明属于《{list_of(view, item)[0]}》第{item['number']}项“{item['name']}”，"
    else:
        ctx["item_clause"] = "该证明不在本辖区依法出具的证明事项清单内，"
    route = d.get("route") or (fill(tpl["route_other_use"], ctx) if other_use else tpl["route_missing"])
    blocks = [
        Block("title", fill(tpl["title"], ctx)),
        Block("number", fill(tpl["number"], ctx)),
        Block("addressee", fill(tpl["addressee"], ctx)),
        *[Block("para", p) for p in fill(tpl["body"], ctx)],
        Block("heading", tpl["grounds_heading"]),
        *[Block("item", f"{i}. {g}") for i, g in enumerate(grounds, 1)],
        Block("heading", tpl["route_heading"]),
        Block("para", route),
        Block("heading", tpl["citations_heading"]),
        *[Block("item", citation_label(c)) for c in d.get("citations", [])],
        # 特此告知。 closes the notice as its own paragraph, set off from the citations above it.
        Block("closing", fill(tpl["closing"], ctx)),
        _seal(tpl, ctx, check_lines("refusal", matter)),
        # The resident signs for the notice: the committee's copy shows it was handed over.
        *([Block("receipt", fill(tpl["receipt"], ctx))] if tpl.get("receipt") else []),
    ]
    return Paper("refusal", fill(tpl["title"], ctx), blocks, _at(matter.entry.at))


def commitment(matter, community, view, tpl: dict) -> Paper:
    d = matter.entry.data["decision"]
    date = dt.date.fromisoformat(matter.entry.at[:10])
    ctx = matter_fields(matter, community, view, date)
    ctx["id_number"] = matter.entry.data["resident"]["id"]  # the promisor must be identified
    ctx["item_note"] = item_note(d, "（清单事项：{item}）")
    clause = view.texts.get("credit_clause", "")
    cite = view.texts.get("credit_clause_citation", "")
    blocks = [
        Block("title", fill(tpl["title"], ctx)),
        Block("number", fill(tpl["number"], ctx)),
        Block("heading", tpl["matter_heading"]),
        *[Block("para", p) for p in fill(tpl["matter"], ctx)],
        Block("heading", tpl["notice_heading"]),
        *[Block("para", p) for p in fill(tpl["notice"], ctx)],
        Block("heading", tpl["commitment_heading"]),
        *[Block("para", p) for p in fill(tpl["commitment"], ctx)],
        Block("heading", tpl["consequence_heading"]),
        Block("para", clause + (f"（{cite}）" if cite else "")),
        Block("signatures", "", extra={"lines": fill(tpl["signatures"], ctx)}),
        _seal(tpl, ctx, check_lines("commitment", matter)),
        Block("footer", fill(tpl.get("footer", ""), ctx)),
    ]
    return Paper("commitment", fill(tpl["title"], ctx), blocks, _at(matter.entry.at))


def item_note(decision: dict, fmt: str) -> str:
    """The list item a request was matched to, in ``fmt`` (``（{item}）``), only when its name is not
    the words the resident asked for: ``出具“单身证明”（婚姻状况证明）``, but ``出具“居住证明”`` alone."""
    name = (decision.get("item") or {}).get("name") or ""
    return fmt.format(item=name) if name and name != decision["query"] else ""


def consultation(matter, community, view, tpl: dict) -> Paper:
    date = dt.date.fromisoformat(matter.entry.at[:10])
    ctx = matter_fields(matter, community, view, date)
    ctx["item_note"] = item_note(matter.entry.data["decision"], "（{item}）")
    tall = tpl.get("tall", {})
    rows = [(label, fill(value, ctx), int(tall.get(label, 1))) for label, value in tpl["fields"]]
    rule = view.texts.get("public_interest", "")
    # The participants sign the record themselves: a numbered table of blank rows to fill by hand, on
    # a page of its own after the record (with the fields it would split across two pages).
    people = [[i, "", "", ""] for i in range(1, int(tpl.get("participants_rows", 0)) + 1)]
    signed = [Block("page"), Block("heading", fill(tpl["participants_heading"], ctx)),
              Block("table", "", extra={"columns": tpl["participants_columns"], "rows": people})] if people else []
    blocks = [
        Block("title", fill(tpl["title"], ctx)),
        Block("number", fill(tpl["number"], ctx)),
        Block("fields", "", extra={"rows": rows}),
        Block("note", f"{tpl['rule_heading']}：{rule}（民发〔2020〕20号 二）" if rule else ""),
        Block("signatures", "", extra={"lines": fill(tpl["signatures"], ctx)}),
        *signed,
    ]
    return Paper("consultation", fill(tpl["title"], ctx), blocks, _at(matter.entry.at))


BUILDERS = {"certificate": certificate, "refusal": refusal, "commitment": commitment, "consultation": consultation}


def _at(ts: str) -> dt.datetime:
    return dt.datetime.fromisoformat(ts)
