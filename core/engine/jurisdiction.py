"""Jurisdiction data: what a plugin's TOML files declare.

A plugin keeps two files beside its module:

* ``jurisdiction.toml``: id, parent, name, documents with validity dates,
  adoption citations (cited on every decision while in force), fact wording,
  the titles of its own lists (``[lists]``),
  data-driven rules (``[[seal_rules]]``, ``[[extra_requirements]]``,
  ``[[notices]]``) and ``[texts]`` the plugin's Python rules quote;
* ``catalog.toml``: ``[[negative]]`` and ``[[retained]]`` items,
  ``[[shared_names]]``;
* ``vocabulary.toml`` (optional): residents' words for listed items, key words
  and synonyms (``vocabulary.py``).

See docs/plugins.md for the format.
"""

from __future__ import annotations

import importlib.resources
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from sealdesk.core.common.datafile import DataError, DataFile, Entry
from sealdesk.core.engine.datarules import rules_from_data, workflow_from_data
from sealdesk.core.engine.model import (CarveOut, CertificateItem, Citation, Condition, ItemList, Outcome,
                                        PolicyDocument)
from sealdesk.core.engine.rules import Rule
from sealdesk.core.engine.vocabulary import Vocabulary, parse_vocabulary

LISTS = ("negative", "retained")
LEVELS = ("national", "province", "city", "district", "county", "township")


@dataclass(frozen=True)
class Adoption:
    """A citation added to every decision of the jurisdiction while its document is in force.

    ``outcomes`` limits it to some outcomes (e.g. Qinghai's 二（五） on transitional issues);
    ``lists`` to decisions on items of some lists (negative, retained, unlisted), so a
    passage about the negative list is not cited on a retained issue.
    """

    citation: Citation
    outcomes: frozenset[str] = frozenset()
    lists: frozenset[str] = frozenset()

    def applies(self, outcome: str, lst: str) -> bool:
        return (not self.outcomes or outcome in self.outcomes) and (not self.lists or lst in self.lists)


@dataclass(frozen=True)
class SharedName:
    name: str
    items: tuple[str, ...]  # item ids
    note: str = ""


@dataclass
class JurisdictionData:
    id: str
    name: str
    parent: str | None
    level: str = ""
    documents: tuple[PolicyDocument, ...] = ()
    items: tuple[CertificateItem, ...] = ()
    adoption: tuple["Adoption", ...] = ()
    rules: tuple[Rule, ...] = ()
    shared_names: tuple[SharedName, ...] = ()
    fact_wording: dict = field(default_factory=dict)  # fact -> {"question":…, "source":…, "citation":…}
    texts: dict = field(default_factory=dict)
    workflow_rules: tuple = ()  # of workflow.WorkflowRule
    papers: dict = field(default_factory=dict)  # [papers.<paper>]: wording that replaces the base template's
    vocabulary: Vocabulary = field(default_factory=Vocabulary)  # residents' words (vocabulary.toml)
    description: str = ""
    plugin: str = ""
    files: tuple[str, ...] = ()
    lists: dict = field(default_factory=dict)  # "negative"/"retained" -> ItemList given in [lists]

    def item_list(self, lst: str) -> ItemList:
        """Its own negative or retained list: as ``[lists]`` names it, else the default title."""
        return self.lists.get(lst) or ItemList.default(self.id, lst, self.name)


def with_list_identity(items, data: "JurisdictionData") -> tuple[CertificateItem, ...]:
    """Items numbered in ``data``'s own lists, carrying those lists' titles (an item that already
    carries one, or an item of another jurisdiction, is kept as it is)."""
    out = []
    for it in items:
        if not it.list_title and it.jurisdiction == data.id and it.list in LISTS:
            own = data.item_list(it.list)
            it = replace(it, list_jurisdiction=own.jurisdiction, list_title=own.title, list_short=own.short)
        out.append(it)
    return tuple(out)


_JUR_FIELDS = {
    "id", "name", "parent", "level", "description", "documents", "adoption", "seal_rules",
    "extra_requirements", "notices", "facts", "texts", "workflow_rules", "papers", "lists",
}
_LIST_FIELDS = {f"{lst}{suffix}" for lst in LISTS for suffix in ("", "_short", "_source")}
_DOC_FIELDS = {"id", "number", "title", "issuer", "date", "effective_from", "effective_until", "source", "note"}
_CIT_FIELDS = {"document", "provision", "quote"}
_ADOPT_FIELDS = _CIT_FIELDS | {"outcomes", "lists"}
_ADOPT_LISTS = ("negative", "retained", "unlisted")
_ITEM_FIELDS = {
    "number", "name", "aliases", "legacy_names", "source_name", "route", "exceptions", "citations",
    "overrides", "remark", "label", "requesting_unit", "purpose", "basis", "method", "matters",
    "restriction", "use", "carves_out", "source", "note",
}
_COND_FIELDS = {"text", "purposes", "facts", "requesters"}
_CARVE_FIELDS = {"item", "purposes", "facts", "text"}


def _citation(file: DataFile, table: dict, where: str, line: int | None) -> Citation:
    e = Entry(file, table, where, line, _CIT_FIELDS)
    return Citation(e.str("document", required=True), e.str("provision"), e.str("quote"))


_LAW = re.compile(r"《([^》]+)》(?:（([^）]*)）)?\s*([^。；]*)")
_ARTICLE = re.compile(r"^(第[^。；《]*?条(?:[、，和及]\s*第?[^。；《]*?条)*)")
_NUMBER = re.compile(r"^[^\s（）]+〔\d{4}〕\s*\d+\s*号$")


def basis_citations(basis: tuple[str, ...]) -> tuple[Citation, ...]:
    """The law at the head of each basis line: 《条例》第十五条 → Citation("《条例》", "第十五条").

    A document cited with its 文号 in brackets (《…指导意见》（民发〔2020〕20号）附件第1项例外规定)
    is cited by that 文号, so it matches the policy document of the chain.
    """
    out = []
    for line in basis:
        m = _LAW.search(line)
        if not m:
            continue
        title, number, tail = m.group(1).strip(), (m.group(2) or "").strip(), m.group(3).strip()
        if number and _NUMBER.match(number):
            c = Citation(number.replace(" ", ""), tail)
        else:
            art = _ARTICLE.match(tail)
            c = Citation(f"《{title}》", art.group(1) if art else "")
        if c not in out:
            out.append(c)
    return tuple(out)


_NUMBERING = re.compile(r"^\d+\s*[.．、]\s*")
_HEAD = re.compile(r"^(《[^》]+》(?:（[^）]*）)?)\s*(.*)$", re.S)


def basis_reference(line: str) -> str:
    """A basis line as a short reference to the statute and article, as a certificate's 依据 cites it:
    without a list's own numbering (Chongqing's ``1.``), the end mark, and the rule text a line quotes
    after its article (Qinghai's ``…第十五条农民专业合作社的成员为农民的，…``)::

        《农民专业合作社登记管理条例》（国务院令第498号）第十五条

    A line that names no article (``…（财税字〔1995〕48号）``, ``…（民发〔2020〕20号）附件第1项例外规定``)
    keeps what follows the title whole."""
    s = _NUMBERING.sub("", line.strip()).rstrip("。；;. ")
    m = _HEAD.match(s)
    if not m:
        return s
    head, tail = m.group(1), m.group(2).strip()
    art = _ARTICLE.match(tail)
    return head + (art.group(1) if art else tail)


def _condition(file: DataFile, table: dict, where: str, line: int | None) -> Condition:
    e = Entry(file, table, where, line, _COND_FIELDS)
    cond = Condition(e.str("text"), e.strs("purposes"), e.strs("facts"), e.strs("requesters"))
    if not cond.purposes and not cond.facts:
        raise file.error(f"{where}: a condition needs purposes or facts", line)
    return cond


def parse_jurisdiction(path: Path, plugin: str = "") -> JurisdictionData:
    f = DataFile(path)
    top = Entry(f, f.data, "jurisdiction", 1, _JUR_FIELDS)
    jid = top.str("id", required=True)
    parent = top.str("parent") or None
    level = top.str("level")
    if level and level not in LEVELS:
        raise f.error(f"level: expected one of {', '.join(LEVELS)}, got {level!r}", f.key_line("level"))
    if jid != "national" and parent is None:
        raise f.error("a jurisdiction other than 'national' must name its parent", f.key_line("id"))
    docs = []
    for i, t in enumerate(top.tables("documents")):
        line = f.header_line("documents", i)
        e = Entry(f, t, f"documents[{i + 1}]", line, _DOC_FIELDS)
        number = e.str("number", required=True)
        doc = PolicyDocument(
            id=e.str("id") or number,
            number=number,
            title=e.str("title", required=True),
            issuer=e.str("issuer"),
            date=e.date("date"),
            effective_from=e.date("effective_from"),
            effective_until=e.date("effective_until"),
            jurisdiction=jid,
            source=e.str("source"),
            note=e.str("note"),
        )
        if doc.effective_from and doc.effective_until and doc.effective_until < doc.effective_from:
            raise f.error(f"documents[{i + 1}]: effective_until is before effective_from", line)
        docs.append(doc)
    if not docs:
        raise f.error("a jurisdiction needs at least one [[documents]] entry", 1)
    adoption = []
    for i, t in enumerate(top.tables("adoption")):
        line = f.header_line("adoption", i)
        e = Entry(f, t, f"adoption[{i + 1}]", line, _ADOPT_FIELDS)
        outcomes = e.strs("outcomes")
        bad = [o for o in outcomes if o not in {x.value for x in Outcome}]
        if bad:
            raise f.error(f"adoption[{i + 1}]: unknown outcome {bad[0]!r}", f.key_line("outcomes", line))
        lists = e.strs("lists")
        if any(x not in _ADOPT_LISTS for x in lists):
            bad = next(x for x in lists if x not in _ADOPT_LISTS)
            raise f.error(f"adoption[{i + 1}]: unknown list {bad!r} (negative, retained, unlisted)",
                          f.key_line("lists", line))
        cit = Citation(e.str("document", required=True), e.str("provision"), e.str("quote"))
        adoption.append(Adoption(cit, frozenset(outcomes), frozenset(lists)))
    adoption = tuple(adoption)
    facts = top.sub("facts") or {}
    for name, wording in facts.items():
        if not isinstance(wording, dict) or set(wording) - {"question", "source", "citation", "label"}:
            raise f.error(f"facts.{name}: expected a table with question/source/citation/label", f.key_line(name))
    data = JurisdictionData(
        id=jid,
        name=top.str("name", required=True),
        parent=parent,
        level=level,
        documents=tuple(docs),
        adoption=adoption,
        fact_wording=facts,
        texts=top.sub("texts") or {},
        papers=top.sub("papers") or {},
        description=top.str("description"),
        plugin=plugin,
        files=(str(path),),
    )
    data.lists = _lists(f, top.sub("lists"), jid, data.name)
    data.rules = tuple(rules_from_data(f, top, jid, plugin))
    data.workflow_rules = tuple(workflow_from_data(f, top, jid, plugin))
    return data


def _lists(f: DataFile, table: dict | None, jid: str, name: str) -> dict[str, ItemList]:
    """``[lists]``: the titles of the jurisdiction's own lists (``negative``, ``retained``), their short
    names (``negative_short``…) and where each title is written (``negative_source``…). A list it does
    not name keeps the default title (``ItemList.default``)."""
    if table is None:
        return {}
    line = next((n for n, text in enumerate(f.lines, 1) if re.match(r"\s*\[\s*lists\s*\]", text)), None)
    e = Entry(f, table, "lists", line, _LIST_FIELDS)
    out = {}
    for lst in LISTS:
        title, short, source = e.str(lst).strip(), e.str(f"{lst}_short").strip(), e.str(f"{lst}_source").strip()
        if not (title or short or source):
            continue
        if not title:
            raise f.error(f"lists: {lst}_short and {lst}_source need the title '{lst}'",
                          f.key_line(f"{lst}_short" if short else f"{lst}_source", line))
        if any(ch in title + short for ch in "《》"):
            raise f.error(f"lists.{lst}: give the title without 《》 (papers add them)", f.key_line(lst, line))
        default = ItemList.default(jid, lst, name)
        out[lst] = ItemList(jid, lst, title, short or default.short, source)
    return out


def parse_catalog(path: Path, jid: str, plugin: str = "") -> tuple[tuple[CertificateItem, ...], tuple[SharedName, ...]]:
    f = DataFile(path)
    top = Entry(f, f.data, "catalog", 1, {*LISTS, "shared_names"})
    items: list[CertificateItem] = []
    for lst in LISTS:
        seen: dict[int, int] = {}
        for i, t in enumerate(top.tables(lst)):
            line = f.header_line(lst, i)
            where = f"{lst}[{i + 1}]"
            e = Entry(f, t, where, line, _ITEM_FIELDS)
            number = e.int("number")
            if number in seen:
                raise f.error(f"{where}: number {number} is used twice in the {lst} list", line)
            seen[number] = i
            item_id = f"{jid}.{lst}.{number}"
            route = e.str("route")
            cites = tuple(
                _citation(f, c, f"{where}.citations[{k + 1}]", line) for k, c in enumerate(e.tables("citations"))
            )
            if not cites:
                raise f.error(f"{where} ({e.str('name')}): an item needs at least one citation", line)
            if lst == "negative" and not route.strip():
                raise f.error(f"{where} ({e.str('name')}): a negative item needs its route (办事途径)", line)
            exceptions = tuple(
                _condition(f, c, f"{where}.exceptions[{k + 1}]", line) for k, c in enumerate(e.tables("exceptions"))
            )
            restriction = e.sub("restriction")
            carves = []
            for k, c in enumerate(e.tables("carves_out")):
                ce = Entry(f, c, f"{where}.carves_out[{k + 1}]", line, _CARVE_FIELDS)
                cond = None
                if ce.strs("purposes") or ce.strs("facts"):
                    cond = Condition(ce.str("text"), ce.strs("purposes"), ce.strs("facts"))
                carves.append(CarveOut(ce.str("item", required=True), cond))
            if carves and restriction is None and any(c.condition is None for c in carves):
                raise f.error(f"{where}: carves_out without a condition needs the item's restriction", line)
            items.append(
                CertificateItem(
                    id=item_id,
                    jurisdiction=jid,
                    list=lst,
                    number=number,
                    name=e.str("name", required=True).strip(),
                    aliases=e.strs("aliases"),
                    legacy_names=e.strs("legacy_names"),
                    source_name=e.str("source_name"),
                    route=route,
                    exceptions=exceptions,
                    citations=cites,
                    overrides=e.str("overrides") or None,
                    remark=e.str("remark"),
                    label=e.str("label"),
                    requesting_unit=e.str("requesting_unit"),
                    purpose=e.str("purpose"),
                    basis=e.strs("basis"),
                    basis_citations=basis_citations(e.strs("basis")),
                    method=e.str("method"),
                    matters=e.str("matters"),
                    restriction=_condition(f, restriction, f"{where}.restriction", line) if restriction else None,
                    use=_condition(f, e.sub("use"), f"{where}.use", line) if e.sub("use") else None,
                    carves_out=tuple(carves),
                    plugin=plugin,
                    source=e.str("source") or f"{path.name}:{line}",
                    note=e.str("note"),
                    defined_at=f"{path}:{line}",
                )
            )
    shared = []
    numbers = {(it.list, it.number) for it in items}
    for i, t in enumerate(top.tables("shared_names")):
        line = f.header_line("shared_names", i)
        e = Entry(f, t, f"shared_names[{i + 1}]", line, {"name", "items", "note", "list"})
        lst = e.str("list") or "negative"
        nums = t.get("items", [])
        if not isinstance(nums, list) or len(nums) < 2 or any((lst, n) not in numbers for n in nums):
            raise f.error(f"shared_names[{i + 1}]: items must list two or more {lst} item numbers of this catalog", line)
        shared.append(SharedName(e.str("name", required=True), tuple(f"{jid}.{lst}.{n}" for n in nums), e.str("note")))
    return tuple(items), tuple(shared)


def load_jurisdiction(module: str, jurisdiction_file: str = "jurisdiction.toml", catalog_file: str = "catalog.toml",
                      vocabulary_file: str = "vocabulary.toml"):
    """Read the TOML files that sit beside ``module`` (a package name).

    Raises :class:`DataError` naming the file and line of the first problem.
    """
    base = Path(str(importlib.resources.files(module)))
    jpath = base / jurisdiction_file
    data = parse_jurisdiction(jpath, plugin=module)
    cpath = base / catalog_file
    if cpath.exists():
        data.items, data.shared_names = parse_catalog(cpath, data.id, plugin=module)
        data.items = with_list_identity(data.items, data)
        data.files = (*data.files, str(cpath))
    vpath = base / vocabulary_file
    if vpath.exists():
        data.vocabulary = parse_vocabulary(vpath, data.id)
        data.files = (*data.files, str(vpath))
    return data


__all__ = ["JurisdictionData", "SharedName", "load_jurisdiction", "parse_jurisdiction", "parse_catalog",
           "with_list_identity", "DataError"]
