"""A jurisdiction's catalog and rules as in force on one date (a *view*).

Merging follows DOMAIN.md section 3: a decision applies the jurisdiction's own
rules and those of its ancestors; a more specific item or rule replaces the one
it names in ``overrides``; anything whose document is not in force on the date
does not apply, and the view carries a warning naming the lapsed document.

Each jurisdiction numbers its own lists, so a view holds items of several lists
(the national 第1项 and a county's 第1项): an item carries the identity of the list
it is numbered in, and one that replaces an inherited item takes that item's list
and number, so 负面清单第8项 still means the same entry after a county rewords it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field, replace

from sealdesk.core.engine.model import CertificateItem, PolicyDocument
from sealdesk.core.engine.names import NameIndex, name_key, variants
from sealdesk.core.engine.rules import ADDITIVE, EXCLUSIVE, Rule


@dataclass
class View:
    jurisdiction: str
    name: str
    date: dt.date
    chain: tuple[str, ...]
    documents: dict[str, PolicyDocument]  # number -> document, in force
    lapsed: tuple[PolicyDocument, ...]
    pending: tuple[PolicyDocument, ...]  # not yet in force
    items: tuple[CertificateItem, ...]
    by_id: dict[str, CertificateItem]
    index: NameIndex
    rules: dict[str, Rule | None]
    additive: dict[str, tuple[Rule, ...]]
    adoption: tuple  # of jurisdiction.Adoption, root first
    carve_outs: dict[str, tuple[tuple[CertificateItem, object], ...]]  # negative id -> (retained item, condition)
    warnings: tuple[str, ...]
    facts: dict = field(default_factory=dict)  # fact name -> FactSpec with this chain's wording
    texts: dict = field(default_factory=dict)  # merged [texts] of the chain, deeper wins
    workflow: tuple = ()  # workflow.WorkflowRule in force, deepest jurisdiction first
    adopted: dict = field(default_factory=dict)  # (outcome, list) -> adoption citations, filled as decided


def _merge_items(chain_items: list[list[CertificateItem]], registry=None) -> dict[str, CertificateItem]:
    """Root first; an item with ``overrides`` replaces its target and inherits the target's names, and
    (in the same kind of list) the target's number and list: it is still that entry, reworded.

    ``registry`` gives the list titles of items built without them (a plugin's own JurisdictionData)."""
    merged: dict[str, CertificateItem] = {}
    for items in chain_items:
        for item in items:
            if not item.list_title and registry is not None and item.jurisdiction in registry.jurisdictions:
                from sealdesk.core.engine.jurisdiction import with_list_identity

                item = with_list_identity((item,), registry.jurisdictions[item.jurisdiction])[0]
            if item.overrides and item.overrides in merged:
                target = merged.pop(item.overrides)
                own = set(item.names)
                inherited = tuple(n for n in (*target.aliases, target.name) if n not in own)
                legacy = tuple(n for n in target.legacy_names if n not in own)
                item = replace(item, aliases=(*item.aliases, *inherited), legacy_names=(*item.legacy_names, *legacy))
                if item.list == target.list:
                    item = replace(item, number=target.number, list_jurisdiction=target.list_jurisdiction,
                                   list_title=target.list_title, list_short=target.list_short)
            merged[item.id] = item
    return merged


def list_order(chain):
    """The order of a view's items: negative before retained, then each list root first (the national
    list, then the province's…), then by number: items of one list stay together."""
    depth = {j: i for i, j in enumerate(chain)}
    return lambda it: (it.list != "negative", depth.get(it.list_jurisdiction or it.jurisdiction, len(depth)),
                       it.number, it.id)


def _near_ids(ref: str, ids) -> str:
    """`` (did you mean 'national.negative.8'?)`` for an item id that is not one: the ids closest to
    it as written, so a typo or a wrong number is seen at once."""
    near = difflib.get_close_matches(ref, sorted(ids), n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(repr(n) for n in near)}?)" if near else ""


def _target(item_id: str, merged: dict[str, CertificateItem], replaced: dict[str, str] | None = None):
    """The item in force for an id: itself, or the deeper item that replaced it (through overrides)."""
    if replaced is None:
        replaced = {m.overrides: m.id for m in merged.values() if m.overrides}
    seen = set()
    while item_id not in merged:
        if item_id in seen or item_id not in replaced:
            return None
        seen.add(item_id)
        item_id = replaced[item_id]
    return merged[item_id]


def vocabulary_for(registry, chain, merged: dict[str, CertificateItem]):
    """The chain's residents' words, key words and synonyms, with item ids mapped to the items in force.

    Root first, so a deeper jurisdiction's word for the same name replaces an ancestor's. A word
    whose items are not all in force (a lapsed document's item) is left out rather than narrowed.
    """
    words, keywords, synonyms = [], [], []
    replaced = {m.overrides: m.id for m in merged.values() if m.overrides}
    for j in chain:
        voc = registry.jurisdictions[j].vocabulary
        for w in voc.words:
            its = [_target(i, merged, replaced) for i in w.items]
            if all(its):
                words.append((w, tuple(dict.fromkeys(its))))
        for k in voc.keywords:
            it = _target(k.item, merged, replaced)
            if it is not None:
                keywords.extend((word, it) for word in k.words)
        synonyms.extend(voc.synonyms)
    return words, keywords, synonyms


def _in_force(item_or_rule_docs, docs_in_force: dict[str, PolicyDocument]) -> bool:
    return all(d in docs_in_force for d in item_or_rule_docs)


def _shared_keys(registry, chain) -> frozenset[str]:
    keys = set()
    for j in chain:
        for s in registry.jurisdictions[j].shared_names:
            keys.update(name_key(v) for v in variants(s.name))
    return frozenset(keys)


def check_catalog(registry, jid: str, chain: list[str]):
    """Load-time checks of one jurisdiction's items against its chain, all documents assumed in force.

    Yields (problem, file) pairs.
    """
    data = registry.jurisdictions[jid]
    ancestors = {it.id: it for j in chain[:-1] for it in registry.jurisdictions[j].items}
    own = {it.id: it for it in data.items}
    replaced: dict[str, CertificateItem] = {}  # overridden id -> the first item of the chain replacing it
    for j in chain:
        for it in registry.jurisdictions[j].items:
            if it.overrides and it.overrides in replaced and j == jid:
                first = replaced[it.overrides]
                yield (f"item {it.id} ({it.name}) overrides '{it.overrides}', which {first.id} ({first.name}) "
                       f"already replaces: override '{first.id}' instead"), it.where
            elif it.overrides:
                replaced.setdefault(it.overrides, it)
    for item in data.items:
        if item.overrides and item.overrides not in ancestors:
            yield (f"item {item.id} ({item.name}) overrides '{item.overrides}', which no ancestor defines"
                   f"{_near_ids(item.overrides, ancestors)}"), item.where
        for carve in item.carves_out:
            target = own.get(carve.item) or ancestors.get(carve.item)
            if target is None or target.list != "negative":
                negatives = [i for i, it in {**ancestors, **own}.items() if it.list == "negative"]
                yield (f"item {item.id} carves out '{carve.item}', which is not a negative item of the chain"
                       f"{_near_ids(carve.item, negatives)}"), item.where
    merged = _merge_items([list(registry.jurisdictions[j].items) for j in chain], registry)
    yield from _list_clashes(registry, jid, chain, merged)
    words, keywords, synonyms = vocabulary_for(registry, chain, merged)
    index = NameIndex(merged.values(), _shared_keys(registry, chain), words, keywords, synonyms)
    voc = data.vocabulary
    said: dict[str, list[str]] = {}  # item id -> the resident words in force for it
    for w, its in words:
        for it in its:
            said.setdefault(it.id, []).append(w.name)
    for w in voc.words:
        for ref in w.items:
            if _target(ref, merged) is None:
                yield (f"word '{w.name}' names item '{ref}', which is not an item of {' > '.join(chain)}"
                       f"{_near_ids(ref, merged)}"), w.defined_at
    for k in voc.keywords:
        it = _target(k.item, merged)
        if it is None:
            yield (f"keywords name item '{k.item}', which is not an item of {' > '.join(chain)}"
                   f"{_near_ids(k.item, merged)}"), k.defined_at
            continue
        own = [name_key(n) for n in (*it.names, *said.get(it.id, ()))]
        for word in k.words:
            if not any(name_key(word) in n for n in own):
                yield (f"keyword '{word}' of {it.id} ({it.name}) is not a word of that item's names or "
                       f"residents' words: add the word that uses it first"), k.defined_at
    for key, old, new in index.word_conflicts:
        if new.jurisdiction == jid:
            yield (f"word '{new.name}' names {', '.join(new.items)} but '{old.name}' "
                   f"({old.defined_at}) names {', '.join(old.items)}"), new.defined_at
    for key, items in index.conflicts:
        if any(it.jurisdiction == jid for it in items):
            a, b = items[0], items[1]
            yield (f"name '{key}' resolves to two items without an overrides link: {a.id} {a.name} "
                   f"({a.citations[0].text()}) and {b.id} {b.name} ({b.citations[0].text()})"), b.where


def _list_clashes(registry, jid: str, chain, merged: dict[str, CertificateItem]):
    """Two lists of one view with the same title or short name would make 第1项 ambiguous again:
    a load error of the deeper jurisdiction, naming the other list."""
    shown = {(it.list, it.list_jurisdiction or it.jurisdiction) for it in merged.values()}
    for lst in ("negative", "retained"):
        if (lst, jid) not in shown:
            continue
        mine = registry.jurisdictions[jid].item_list(lst)
        for j in chain[:-1]:
            if (lst, j) not in shown:
                continue
            other = registry.jurisdictions[j].item_list(lst)
            for what, a, b in (("title", mine.title, other.title), ("short name", mine.short, other.short)):
                if a == b:
                    key = lst if what == "title" else f"{lst}_short"
                    yield (f"the {lst} list of {jid} has the {what} '{a}' of the {lst} list of {j}: "
                           f"give it its own in [lists] ({key} = \"…\")"), _lists_line(registry.jurisdictions[jid], key)


def _lists_line(data, key: str) -> str:
    """file:line of ``key`` in the [lists] table of a jurisdiction.toml (else of the table, else the file)."""
    file = next((f for f in data.files if f.endswith("jurisdiction.toml")), "")
    try:
        lines = open(file, encoding="utf-8").read().splitlines() if file else []
    except OSError:
        return file
    start = next((n for n, t in enumerate(lines, 1) if re.match(r"\s*\[\s*lists\s*\]", t)), None)
    if start is None:
        return file
    at = next((n for n, t in enumerate(lines[start:], start + 1) if re.match(rf"\s*{key}\s*=", t)), start)
    return f"{file}:{at}"


def _effective(rules: list[Rule], depth: dict[str, int]) -> Rule | None:
    overridden = {r.overrides for r in rules if r.overrides}
    live = [r for r in rules if r.id not in overridden]
    if not live:
        return None
    return max(live, key=lambda r: (depth[r.jurisdiction], r.id))


def build_view(registry, jid: str, on: dt.date) -> View:
    chain = registry.chain_ids(jid)
    depth = {j: i for i, j in enumerate(chain)}
    docs_all = [d for j in chain for d in registry.jurisdictions[j].documents]
    in_force = {d.number: d for d in docs_all if d.in_force(on)}
    lapsed = tuple(d for d in docs_all if d.effective_until is not None and on > d.effective_until)
    pending = tuple(d for d in docs_all if d.effective_from is not None and on < d.effective_from)
    chain_items = [
        [it for it in registry.jurisdictions[j].items if _in_force((c.document for c in it.citations), in_force)]
        for j in chain
    ]
    merged = _merge_items(chain_items, registry)
    items = tuple(sorted(merged.values(), key=list_order(chain)))
    words, keywords, synonyms = vocabulary_for(registry, chain, merged)
    index = NameIndex(items, _shared_keys(registry, chain), words, keywords, synonyms)
    rules_all = [r for r in registry.rules.values() if r.jurisdiction in depth and r.citation.document in in_force]
    exclusive = {slot: _effective([r for r in rules_all if r.slot == slot], depth) for slot in EXCLUSIVE}
    additive = {
        slot: tuple(sorted((r for r in rules_all if r.slot == slot), key=lambda r: (depth[r.jurisdiction], r.id)))
        for slot in ADDITIVE
    }
    adoption = tuple(a for j in chain for a in registry.jurisdictions[j].adoption if a.citation.document in in_force)
    carve: dict[str, list] = {}
    for it in items:
        for c in it.carves_out:
            # A carve-out naming an item that a deeper one replaced applies to the replacement.
            target = c.item if c.item in merged else next(
                (m.id for m in merged.values() if m.overrides == c.item), c.item)
            carve.setdefault(target, []).append((it, c.condition or it.restriction))
    warnings = []
    for d in lapsed:
        warnings.append(
            f"{d.number}《{d.title}》有效期至{d.effective_until.isoformat()}，已于决定日期（{on.isoformat()}）失效；"
            f"本决定不再适用该文件，依据上级文件作出"
        )
    for d in pending:
        warnings.append(f"{d.number}《{d.title}》自{d.effective_from.isoformat()}起施行，决定日期尚未施行，本决定不适用该文件")
    facts = dict(registry.facts)
    texts: dict = {}
    for j in chain:
        jd = registry.jurisdictions[j]
        if not any(d.number in in_force for d in jd.documents):
            continue
        texts.update(jd.texts)
        for name, wording in jd.fact_wording.items():
            if name in facts:
                facts[name] = replace(facts[name], **{k: v for k, v in wording.items() if k in
                                                      ("question", "source", "citation", "label")})
    workflow = tuple(sorted(
        (r for r in registry.workflow_rules.values()
         if r.jurisdiction in depth and (r.citation is None or r.citation.document in in_force)),
        key=lambda r: (-depth[r.jurisdiction], r.id)))
    return View(
        jurisdiction=jid,
        name=registry.jurisdictions[jid].name,
        date=on,
        chain=tuple(chain),
        documents=in_force,
        lapsed=lapsed,
        pending=pending,
        items=items,
        by_id=merged,
        index=index,
        rules=exclusive,
        additive=additive,
        adoption=adoption,
        carve_outs={k: tuple(v) for k, v in carve.items()},
        warnings=tuple(warnings),
        facts=facts,
        texts=texts,
        workflow=workflow,
    )
