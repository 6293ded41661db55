"""Live suggestions of certificate names while the clerk types a request.

Besides Chinese text, a query may be pinyin initials (``wfzjl`` → 无犯罪记录证明)
or full pinyin (``wufanzui``).  Clerks often work on a terminal over SSH, or on a
machine whose input method they cannot or would rather not switch; initials
type on any keyboard, and Chinese users already abbreviate names this way in
phone contacts and IME shortcuts.

Residents' words (``vocabulary.toml``: 单身证明 → 婚姻状况证明) are suggested too, kind
``"word"``, after the item's own names and aliases at the same tier; a word for several items
(关系证明) is offered under each of them, and deciding it asks which one.

Suggestions are hints to pick from, never a decision: the request still goes
through ``NameIndex.lookup`` (exact), so a loose match here cannot send a
resident to the wrong office.

pypinyin takes about 0.35 s to import, so the pinyin table is built by
``load_pinyin()`` (the TUI calls it in a background thread); until then only
Chinese text is matched.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from sealdesk.core.engine.catalog import list_order
from sealdesk.core.engine.model import CertificateItem
from sealdesk.core.engine.names import name_key, variants

KINDS = ("name", "alias", "legacy", "word")  # also the rank at equal tier
HOWS = ("汉字", "拼音首字母", "全拼")
_HANZI, _INITIALS, _FULL = range(3)

# Same tolerance as names.name_key (whitespace incl. U+3000, punctuation, symbols,
# 的), but without the 证明-suffix strip: the clerk types through the suffix and
# suggestions must not vanish at 证 and come back at 证明.
_DROP = re.compile(r"[\W_的]+")
_NOT_LETTER = re.compile(r"[^a-z]+")
_PINYIN_QUERY = re.compile(r"[a-z]+")

# Tiers of a match, best first.
_EXACT, _PREFIX, _INSIDE, _NONE = range(4)
_WORD = KINDS.index("word")


def _text_key(text: str) -> str:
    return _DROP.sub("", unicodedata.normalize("NFKC", text)).lower()


def _tier(key: str, q: str) -> int:
    if key.startswith(q):
        return _EXACT if len(key) == len(q) else _PREFIX
    return _INSIDE if q in key else _NONE


@dataclass(frozen=True)
class Suggestion:
    item: CertificateItem
    matched: str  # the name that matched: canonical, alias, legacy name or resident word
    kind: str  # "name" | "alias" | "legacy" | "word"
    how: str  # "汉字" | "拼音首字母" | "全拼"

    @property
    def label(self) -> str:
        """无犯罪记录证明 · 负面清单第5项, 户口注销证明 → 居民身份信息证明 · 负面清单第2项, or
        单身证明 → 婚姻状况证明 · 负面清单第8项 (a resident word)."""
        item = self.item
        head = item.name if self.matched == item.name else f"{self.matched} → {item.name}"
        return f"{head} · {item.list_label}第{item.number}项"


class Suggester:
    """Suggestions over one view's items; everything is precomputed, a query is a linear scan.

    A view has at most a few hundred names, so a scan with ``str.startswith`` and
    ``in`` costs tens of microseconds: no trie is needed.
    """

    def __init__(self, view):
        self._view = view
        # List order (negative before retained, each list root first, then number) is the last tie-break;
        # an item's position in this order identifies it in the tables.
        self._items: tuple[CertificateItem, ...] = tuple(sorted(view.items, key=list_order(view.chain)))
        self._pos = {it.id: i for i, it in enumerate(self._items)}
        # (name, kind_rank, item position, alternation forms) for every name of every item, then
        # every resident word in force (view.index.words(): one row per key, so a word with a
        # 结(离)婚-style alternation comes once per form; dict.fromkeys keeps one).
        word = KINDS.index("word")
        words = dict.fromkeys(
            (w.name, word, self._pos[it.id])
            for _key, w, its in view.index.words() for it in its if it.id in self._pos)
        self._names: tuple[tuple[str, int, int, tuple[str, ...]], ...] = tuple(
            (name, kind_rank, pos, variants(name))
            for pos, item in enumerate(self._items)
            for kind_rank, names in enumerate((
                (item.name,), item.aliases, item.legacy_names))
            for name in dict.fromkeys(names)
        ) + tuple((name, kind_rank, pos, variants(name)) for name, kind_rank, pos in words)
        hanzi = []  # (text key, name_key, name, kind_rank, pos)
        longest = 0
        for name, kind_rank, pos, forms in self._names:
            # the name as displayed and each form of a 结(离)婚证-style alternation
            for form in dict.fromkeys((name, *forms)):
                key = _text_key(form)
                if key:
                    hanzi.append((key, name_key(form), name, kind_rank, pos))
                    longest = max(longest, len(key))
        self._hanzi = tuple(dict.fromkeys(hanzi))
        # A syllable has at most 6 letters (zhuang), so no key, Chinese or pinyin, is
        # longer than this: longer queries cannot match and are dropped before any work.
        self._cap = 6 * longest + 8
        self._pinyin: tuple | None = None

    @property
    def pinyin_ready(self) -> bool:
        return self._pinyin is not None

    def load_pinyin(self) -> None:
        """Build the pinyin table; safe to call from another thread while ``suggest`` runs.

        Readings come from a small cache file (user cache directory) when it has them, so the
        TUI does not import pypinyin (a quarter of a second, holding the GIL while the first
        screen is drawn); ``scripts/setup`` fills it for every jurisdiction's names.
        """
        if self._pinyin is not None:
            return
        forms = [f for _name, _k, _p, fs in self._names for f in dict.fromkeys((_name, *fs))]
        readings = pinyin_readings(forms)
        table = []  # (initials, full pinyin, name, kind_rank, pos)
        for name, kind_rank, pos, fs in self._names:
            for form in dict.fromkeys((name, *fs)):
                initials, full = readings[form]
                if full:
                    table.append((initials, full, name, kind_rank, pos))
        # One assignment publishes the finished table to suggest() in other threads.
        self._pinyin = tuple(dict.fromkeys(table))

    def suggest(self, query: str, limit: int = 6) -> list[Suggestion]:
        if not isinstance(query, str) or limit <= 0:
            return []
        if len(query) > 4 * self._cap:  # cheap guard before normalising pasted junk
            return []
        nfkc = unicodedata.normalize("NFKC", query)
        q = _DROP.sub("", nfkc).lower()
        if not q or len(q) > self._cap:
            return []
        # item position -> (tier, kind_rank, len(name), how, pos), name
        best: dict[int, tuple[tuple[int, int, int, int, int], str]] = {}

        # item position -> its best match by a name, alias or legacy name (not a word)
        named: dict[int, tuple[tuple[int, int, int, int, int], str]] = {}

        def offer(tier: int, kind_rank: int, name: str, how: int, pos: int) -> None:
            rank = (tier, kind_rank, len(name), how, pos)
            got = best.get(pos)
            if got is None or rank < got[0]:
                best[pos] = (rank, name)
            if kind_rank < _WORD:
                got = named.get(pos)
                if got is None or rank < got[0]:
                    named[pos] = (rank, name)

        nq = name_key(q)  # exact also when the 证明 suffix is left off, as in lookup
        for key, nkey, name, kind_rank, pos in self._hanzi:
            tier = _EXACT if nkey == nq else _tier(key, q)
            if tier != _NONE:
                offer(tier, kind_rank, name, _HANZI, pos)

        # What the decision will resolve to comes first.  variants() is exponential in
        # the number of (x) alternations, so hostile input with many brackets skips it.
        if nfkc.count("(") <= 2:
            res = self._view.index.lookup(query.strip())
            for i, item in enumerate(res.items):
                pos = self._pos.get(item.id)
                if pos is None or (pos in best and best[pos][0][0] == _EXACT):
                    continue
                # A resident word stands for each of its items (关系证明: 亲属关系 and 婚姻状况);
                # matched via the source's verbatim name or a query variant: show the item's name.
                if res.kind == "word" or (i == 0 and res.kind in KINDS):
                    offer(_EXACT, KINDS.index(res.kind), res.matched, _HANZI, pos)
                else:
                    offer(_EXACT, 0, item.name, _HANZI, pos)

        table = self._pinyin  # read once: load_pinyin may publish it meanwhile
        if table is not None and _PINYIN_QUERY.fullmatch(q):
            for initials, full, name, kind_rank, pos in table:
                ti = _tier(initials, q)
                tf = _tier(full, q)
                if ti <= tf and ti != _NONE:
                    offer(ti, kind_rank, name, _INITIALS, pos)
                elif tf != _NONE:
                    offer(tf, kind_rank, name, _FULL, pos)

        ranked = sorted(best.values())[:limit]
        items = self._items
        out = []
        for rank, name in ranked:
            # 无犯罪 is 无犯罪证明 (a resident word) without its suffix, and the start of 无犯罪记录证明:
            # the item is placed by the word (what the decision resolves to), but unless the word was
            # typed in full the clerk is shown, and given, the item's own name that begins the same.
            if rank[1] == _WORD and rank[0] == _EXACT and rank[3] == _HANZI:
                alt = named.get(rank[4])
                if alt is not None and alt[0][0] <= _PREFIX and \
                        q not in {_text_key(f) for f in (name, *variants(name))}:
                    name, rank = alt[1], (rank[0], *alt[0][1:])
            out.append(Suggestion(items[rank[4]], name, KINDS[rank[1]], HOWS[rank[3]]))
        return out


def _reading(form: str) -> tuple[str, str]:
    from pypinyin import Style, lazy_pinyin  # slow import: only for names not in the cache

    # Default readings only: pypinyin's phrase dictionary gets 银行, 长 etc. right in context.
    # Punctuation comes back as-is and is dropped here.
    syllables = [s for s in (_NOT_LETTER.sub("", p.lower()) for p in lazy_pinyin(
        unicodedata.normalize("NFKC", form), style=Style.NORMAL)) if s]
    return "".join(s[0] for s in syllables), "".join(syllables)


def _cache_file():
    from sealdesk.core.common.paths import cache_dir

    return cache_dir() / "pinyin.json"


def pinyin_readings(forms) -> dict[str, tuple[str, str]]:
    """(initials, full pinyin) of each name, from the cache file, computing and saving what is missing."""
    import json
    import os

    path = _cache_file()
    try:
        cached = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(cached, dict):
            cached = {}
    except (OSError, ValueError):
        cached = {}
    out, missing = {}, []
    for f in forms:
        got = cached.get(f)
        if isinstance(got, list) and len(got) == 2 and all(isinstance(x, str) for x in got):
            out[f] = (got[0], got[1])
        else:
            missing.append(f)
    if missing:
        for f in missing:
            out[f] = cached[f] = _reading(f)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(cached, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # a read-only cache only costs time
    return out


def warm_pinyin(registry) -> int:
    """Fill the pinyin cache with every name and resident word of every jurisdiction (set-up)."""
    forms = set()
    for j in registry.jurisdictions.values():  # every item, those of lapsed documents too
        for it in j.items:
            forms.update((it.name, *it.aliases, *it.legacy_names))
        forms.update(w.name for w in j.vocabulary.words)
    for form in list(forms):
        forms.update(variants(form))
    return len(pinyin_readings(sorted(forms)))
