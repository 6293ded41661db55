"""Name resolution: from what the resident said to a catalog entry.

Tolerant on purpose (DOMAIN.md section 6, step 1): full/half width, whitespace
(the seeds' tables break names with stray spaces), punctuation, 的, and a
missing 证明 suffix are ignored, and a form like 结(离)婚证 stands for both
结婚证 and 离婚证.  Exact matches come from the catalog's names, aliases and legacy names, then from
the residents' vocabulary (``vocabulary.py``: 单身证明 → 婚姻状况证明). Nothing is
guessed: a name that matches no key but is *near* listed items (``NameIndex.near``)
is answered ``ask`` with those items as candidates, because the universal seal is
exactly a certificate issued under a name nobody checked.

The nearness rule (DOMAIN.md section 6, step 1), on keys normalised as above:

1. containment: a listed name (canonical, alias or legacy; two characters or
   more) is part of the query, or the query is part of one;
2. key words: the query contains a key word of an item (``[[keywords]]`` in
   vocabulary.toml, each one a word of that item's own names or words);
3. modifiers: the query and a listed name or word are the same once modifiers
   are taken off both ends (居民、个人、本人、开具、一份、无、没有… / 证明书、情况…);
4. one character: the query differs from a listed name by one character
   (substituted, added or dropped), 证明 included;
5. synonyms: 1–4 again with residents' words replaced by the lists' (户口 → 户籍).

A query with no Chinese character, or only modifiers (证明, 开个证明), names
nothing: it is answered ``ask`` too, asking for the name.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from sealdesk.core.engine.model import CertificateItem

# one character, an alternative in brackets: 结(离)婚证 → 结婚证 / 离婚证
_ALTERNATION = re.compile(r"(\w)[(（](\w)[)）]")


# \W covers whitespace (also U+3000), punctuation and symbols; CJK characters are \w.
_DROP = re.compile(r"[\W_的]+")


@lru_cache(maxsize=65536)
def name_key(text: str) -> str:
    """The comparison key of a name: NFKC, no spaces or punctuation, no 的, no 证明 suffix."""
    key = _DROP.sub("", unicodedata.normalize("NFKC", text)).lower()
    if key.endswith("证明") and len(key) > 2:
        key = key[:-2]
    return key


@lru_cache(maxsize=65536)
def purpose_key(text: str) -> str:
    """Purposes are matched by keyword containment on the same normalisation (no suffix strip)."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text))


MAX_ALTERNATIONS = 3  # list names have one or two; more is typing, and 2**n variants would hang


def variants(name: str) -> tuple[str, ...]:
    """Expand 结(离)婚证-style alternations; a name without one is returned as is."""
    if len(_ALTERNATION.findall(name)) > MAX_ALTERNATIONS:
        return (name,)
    m = _ALTERNATION.search(name)
    if not m:
        return (name,)
    a = name[: m.start()] + m.group(1) + name[m.end():]
    b = name[: m.start()] + m.group(2) + name[m.end():]
    return tuple(dict.fromkeys((*variants(a), *variants(b))))




@dataclass
class Resolution:
    """The result of resolving a query: zero, one or several items."""

    query: str
    items: tuple[CertificateItem, ...]
    matched: str = ""  # the catalog name or resident word that matched
    kind: str = ""  # name | alias | legacy | source | word
    line: str | None = None  # the explanation line, filled in once by the protocol
    reason: str = ""  # for a resident word: why it is that item
    match: object = None  # model.Match, built once by the protocol
    nothing: bool | None = None  # names_nothing(query), computed once by the protocol

    @property
    def item(self) -> CertificateItem | None:
        return self.items[0] if len(self.items) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.items) > 1


_KIND_LABEL = {"name": "名称", "alias": "别称", "legacy": "原名称", "source": "清单原文名称", "word": "居民常用说法"}


def kind_label(kind: str) -> str:
    return _KIND_LABEL.get(kind, kind)


# Modifiers taken off both ends before comparing (rule 3). Residents add them; they never change
# which certificate is meant. Longest first, so 证明书 goes before 证明.
_PREFIXES = ("开一份", "居民", "村民", "个人", "本人", "开具", "出具", "办理", "申请", "一份", "开个", "开", "办", "要",
             "没有", "有无", "无", "未")
_SUFFIXES = ("证明材料", "证明书", "证明信", "证明", "材料", "一份", "证", "信息", "情况", "状况")
_HAN = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]")


@lru_cache(maxsize=65536)
def full_key(text: str) -> str:
    """``name_key`` without the 证明-suffix strip (for the one-character rule)."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text)).lower()


@lru_cache(maxsize=65536)
def core(key: str) -> str:
    """A key without its modifiers at either end (may be empty: 开个证明 names nothing)."""
    changed = True
    while changed and key:
        changed = False
        for p in _PREFIXES:
            if key.startswith(p):
                key, changed = key[len(p):], True
                break
        for s in _SUFFIXES:
            if key.endswith(s):
                key, changed = key[: -len(s)], True
                break
    return key


def names_nothing(query: str) -> bool:
    """True for a query that is no certificate's name: no Chinese character, or modifiers only."""
    return not _HAN.search(query) or not core(full_key(query))


def one_edit(a: str, b: str) -> bool:
    """True when ``a`` and ``b`` differ by exactly one substituted, added or dropped character."""
    la, lb = len(a), len(b)
    if a == b or abs(la - lb) > 1:
        return False
    if la == lb:
        return sum(x != y for x, y in zip(a, b)) == 1
    if la > lb:
        a, b, la, lb = b, a, lb, la
    i = 0
    while i < la and a[i] == b[i]:
        i += 1
    return a[i:] == b[i + 1:]


class NameIndex:
    """Exact lookup of name keys in one jurisdiction's catalog, and the near-match pass.

    ``shared`` lists keys the source itself puts under several items (they resolve to
    all of them, reported as ambiguous); any other key claimed by two items is listed in
    ``conflicts`` (a load error). ``words`` are ``(Word, items)`` pairs, root jurisdiction
    first (a deeper word replaces an ancestor's); a listed name always wins over a word.
    ``keywords`` are ``(keyword, item)`` pairs; ``synonyms`` are ``vocabulary.Synonym``.
    """

    def __init__(self, items, shared: frozenset[str] = frozenset(), words=(), keywords=(), synonyms=()):
        self._index: dict[str, list[tuple[CertificateItem, str, str]]] = {}
        self.shared = shared
        for item in items:
            for kind, names in (
                ("name", (item.name,)),
                ("alias", item.aliases),
                ("legacy", item.legacy_names),
                ("source", (item.source_name,) if item.source_name else ()),
            ):
                for name in names:
                    for v in variants(name):
                        key = name_key(v)
                        if not key:
                            continue
                        bucket = self._index.setdefault(key, [])
                        if any(it.id == item.id for it, _, _ in bucket):
                            continue
                        bucket.append((item, name, kind))
        self.conflicts = [
            (key, tuple(it for it, _, _ in bucket))
            for key, bucket in self._index.items()
            if len(bucket) > 1 and key not in shared
        ]
        # Resident words: key -> (word, items); a deeper jurisdiction's word replaces an ancestor's.
        self._words: dict[str, tuple[object, tuple[CertificateItem, ...]]] = {}
        self.word_conflicts: list[tuple[str, object, object]] = []
        for word, its in words:
            if not its:
                continue
            for v in variants(word.name):
                key = name_key(v)
                if not key or key in self._index:
                    continue  # a listed name always wins
                old = self._words.get(key)
                if old is not None and old[0].jurisdiction == word.jurisdiction and \
                        {i.id for i in old[1]} != {i.id for i in its}:
                    self.word_conflicts.append((key, old[0], word))
                self._words[key] = (word, tuple(its))
        self._items = tuple(items)
        self._keywords_in = tuple(keywords)
        self._synonyms_in = tuple(synonyms)
        self._tables = None  # near-match tables, built on the first near() (load-time checks never need them)
        self._cache: dict[str, Resolution] = {}
        self._near: dict[str, tuple[CertificateItem, ...]] = {}


    def _build_near_tables(self) -> None:
        """The tables of the near-match pass (see the module docstring)."""
        self._contain: list[tuple[str, tuple[CertificateItem, ...]]] = []
        self._full: list[tuple[str, tuple[CertificateItem, ...]]] = []
        self._cores: dict[str, dict[str, CertificateItem]] = {}
        for key, bucket in self._index.items():
            listed = tuple(dict.fromkeys(it for it, _, kind in bucket if kind != "source"))
            if not listed:
                continue
            if len(key) >= 2:
                self._contain.append((key, listed))
            c = core(key)
            if c:
                self._cores.setdefault(c, {}).update((it.id, it) for it in listed)
        seen_full = set()
        for item in self._items:
            for name in item.names:
                for v in variants(name):
                    fk = full_key(v)
                    if fk and (fk, item.id) not in seen_full:
                        seen_full.add((fk, item.id))
                        self._full.append((fk, (item,)))
        for key, (_word, its) in self._words.items():
            c = core(key)
            if c:
                self._cores.setdefault(c, {}).update((it.id, it) for it in its)
        kw: dict[str, dict[str, CertificateItem]] = {}
        for word, item in self._keywords_in:
            kw.setdefault(name_key(word) or word, {})[item.id] = item
        self._keywords = tuple((k, tuple(v.values())) for k, v in sorted(kw.items(), key=lambda x: -len(x[0])))
        self._synonyms = tuple((name_key(s.word) or s.word, name_key(s.listed) or s.listed) for s in self._synonyms_in)
        self._tables = True

    def keys(self):
        return self._index.keys()

    def words(self):
        """(key, word, items) of every resident word in force."""
        return [(k, w, its) for k, (w, its) in self._words.items()]

    def lookup(self, query: str) -> Resolution:
        res = self._cache.get(query)
        if res is None:
            if len(self._cache) > 50_000:  # bounded: queries are free text
                self._cache.clear()
            res = self._cache[query] = self._lookup(query)
        return res

    def _lookup(self, query: str) -> Resolution:
        hits: dict[str, tuple[CertificateItem, str, str]] = {}
        forms = variants(query)
        for v in forms:
            for item, name, kind in self._index.get(name_key(v), ()):
                hits.setdefault(item.id, (item, name, kind))
        if hits:
            ordered = sorted(hits.values(), key=lambda h: (h[0].list != "retained", h[0].number, h[0].id))
            first = ordered[0]
            return Resolution(query, tuple(h[0] for h in ordered), first[1], first[2])
        for v in forms:
            got = self._words.get(name_key(v))
            if got is not None:
                word, its = got
                return Resolution(query, its, word.name, "word", reason=word.why)
        return Resolution(query, ())

    def near(self, query: str, limit: int = 6) -> tuple[CertificateItem, ...]:
        """Listed items the query is near (rules 1–5 above), best first; empty when it is near none."""
        got = self._near.get(query)
        if got is None:
            if len(self._near) > 50_000:
                self._near.clear()
            got = self._near[query] = self._near_uncached(query, limit)
        return got

    def _near_uncached(self, query: str, limit: int) -> tuple[CertificateItem, ...]:
        if self._tables is None:
            self._build_near_tables()
        if query.count("(") + query.count("（") > MAX_ALTERNATIONS:
            query = query.replace("(", "").replace("（", "")
        score: dict[str, tuple[int, CertificateItem]] = {}

        def hit(items, s: int) -> None:
            for it in items:
                if s > score.get(it.id, (0, None))[0]:
                    score[it.id] = (s, it)

        def scan(key: str, full: str) -> None:
            if not key:
                return
            if len(key) >= 2:
                for k, its in self._contain:
                    if k in key or key in k:
                        hit(its, 3)
            for kw, its in self._keywords:
                if kw in key:
                    hit(its, 2)
            c = core(key)
            if c and c in self._cores:
                hit(self._cores[c].values(), 3)
            for k, its in self._full:
                if one_edit(full, k):
                    hit(its, 1)
            got = self._words.get(key)
            if got is not None:
                hit(got[1], 3)

        for v in variants(query):
            key, full = name_key(v), full_key(v)
            scan(key, full)
            for word, listed in self._synonyms:
                if word in key:
                    scan(key.replace(word, listed), full.replace(word, listed))
        ranked = sorted(score.values(), key=lambda s: (-s[0], s[1].list != "negative", s[1].number, s[1].id))
        return tuple(it for _, it in ranked[:limit])
