"""Name resolution: from what the resident said to a catalog entry.

Tolerant on purpose (DOMAIN.md section 6, step 1): full/half width, whitespace
(the seeds' tables break names with stray spaces), punctuation, 的, and a
missing 证明 suffix are ignored, and a form like 结(离)婚证 stands for both
结婚证 and 离婚证.  It is *not* fuzzy: a name either matches a key exactly or
the request is unlisted (with near names offered as a hint), because a wrong
guess would send the resident to the wrong office.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .model import CertificateItem

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
    matched: str = ""  # the catalog name that matched
    kind: str = ""  # name | alias | legacy | source
    line: str | None = None  # the explanation line, filled in once by the protocol

    @property
    def item(self) -> CertificateItem | None:
        return self.items[0] if len(self.items) == 1 else None

    @property
    def ambiguous(self) -> bool:
        return len(self.items) > 1


_KIND_LABEL = {"name": "名称", "alias": "别称", "legacy": "原名称", "source": "清单原文名称"}


def kind_label(kind: str) -> str:
    return _KIND_LABEL.get(kind, kind)


class NameIndex:
    """Exact lookup of name keys in one jurisdiction's catalog.

    ``shared`` lists keys the source itself puts under several items (they
    resolve to all of them, reported as ambiguous); any other key claimed by two
    items raises ``DuplicateName`` when the index is built.
    """

    def __init__(self, items, shared: frozenset[str] = frozenset()):
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
        self._cache: dict[str, Resolution] = {}
        self._near: dict[str, list[CertificateItem]] = {}
        self.conflicts = [
            (key, tuple(it for it, _, _ in bucket))
            for key, bucket in self._index.items()
            if len(bucket) > 1 and key not in shared
        ]

    def keys(self):
        return self._index.keys()

    def lookup(self, query: str) -> Resolution:
        res = self._cache.get(query)
        if res is None:
            if len(self._cache) > 50_000:  # bounded: queries are free text
                self._cache.clear()
            res = self._cache[query] = self._lookup(query)
        return res

    def _lookup(self, query: str) -> Resolution:
        hits: dict[str, tuple[CertificateItem, str, str]] = {}
        for v in variants(query):
            for item, name, kind in self._index.get(name_key(v), ()):
                hits.setdefault(item.id, (item, name, kind))
        if not hits:
            return Resolution(query, ())
        ordered = sorted(hits.values(), key=lambda h: (h[0].list != "retained", h[0].number, h[0].id))
        first = ordered[0]
        return Resolution(query, tuple(h[0] for h in ordered), first[1], first[2])

    def near(self, query: str, limit: int = 3) -> list[CertificateItem]:
        """Items whose keys share a substring with the query: hints, never a decision."""
        got = self._near.get(query)
        if got is None:
            if len(self._near) > 50_000:
                self._near.clear()
            got = self._near[query] = self._near_uncached(query, limit)
        return got

    def _near_uncached(self, query: str, limit: int) -> list[CertificateItem]:
        key = name_key(query)
        if len(key) < 2:
            return []
        found: dict[str, CertificateItem] = {}
        for k, bucket in self._index.items():
            if key in k or (len(k) >= 2 and k in key):
                for item, _, _ in bucket:
                    found.setdefault(item.id, item)
        return sorted(found.values(), key=lambda it: (it.list, it.number))[:limit]
