"""Residents' words: the everyday names people and requesting units use for listed items.

DOMAIN.md section 6, step 1. Residents do not say 婚姻状况证明; they say 单身证明 or
离婚证明. A plugin keeps ``vocabulary.toml`` beside its catalog with three tables:

* ``[[words]]``: one everyday name → one item (``item = 8``, a number of this plugin's
  negative list, or an id such as ``"national.negative.8"``; ``list = "retained"`` for a
  number of the retained list), with ``reason`` (one line, why it is that item) or
  ``source`` (the seed passage that names it, e.g. Chongqing's 备注). ``items = [1, 8]``
  marks a name that could be either: it is answered ``ask`` with both as candidates.
  A word resolves like an alias; the decision says which word matched and why.
* ``[[keywords]]``: the distinctive words of an item's names (``words``); a name that
  does not resolve but contains one is *near* the item and is answered ``ask``, never
  treated as unlisted. Each keyword must occur in one of the item's names or words, so
  nearness stays "shares their key words" and never a guess.
* ``[[synonyms]]``: an everyday word and the word the lists use (户口 → 户籍), with a
  reason; a name with the everyday word is near the items whose names have the listed
  word.

Entries of a jurisdiction apply to its descendants too (a word for
``national.negative.8`` follows Chongqing's item 8, which replaces it). See
docs/plugins.md, "Residents' words".
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sealdesk.core.common.datafile import DataFile, Entry


@dataclass(frozen=True)
class Word:
    """An everyday name for one item (or, with several items, an ambiguous one)."""

    name: str
    items: tuple[str, ...]  # item ids as written; the view maps them through overrides
    reason: str = ""
    source: str = ""
    jurisdiction: str = ""
    defined_at: str = ""

    @property
    def why(self) -> str:
        return self.reason or (f"见{self.source}" if self.source else "")


@dataclass(frozen=True)
class KeyWords:
    item: str
    words: tuple[str, ...]
    jurisdiction: str = ""
    defined_at: str = ""


@dataclass(frozen=True)
class Synonym:
    word: str  # what residents say
    listed: str  # the word the lists use
    reason: str = ""
    jurisdiction: str = ""
    defined_at: str = ""


@dataclass(frozen=True)
class Vocabulary:
    words: tuple[Word, ...] = ()
    keywords: tuple[KeyWords, ...] = ()
    synonyms: tuple[Synonym, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.words or self.keywords or self.synonyms)


_WORD = {"name", "item", "items", "list", "reason", "source", "note"}
_KEYW = {"item", "list", "words", "note"}
_SYN = {"word", "listed", "reason", "note"}
_LISTS = ("negative", "retained")


def _item_ref(f: DataFile, e: Entry, value, jid: str, where: str) -> str:
    lst = e.str("list") or "negative"
    if lst not in _LISTS:
        raise f.error(f"{where}: list must be negative or retained, got {lst!r}", f.key_line("list", e.line))
    if isinstance(value, bool) or not isinstance(value, (int, str)) or (isinstance(value, int) and value < 1):
        raise f.error(f"{where}: item must be a list number or an item id, got {value!r}", f.key_line("item", e.line))
    if isinstance(value, int):
        return f"{jid}.{lst}.{value}"
    if value.count(".") != 2:
        raise f.error(f"{where}: item id {value!r} is not of the form <jurisdiction>.<list>.<number>",
                      f.key_line("item", e.line))
    return value


def parse_vocabulary(path: Path, jid: str) -> Vocabulary:
    """Read a plugin's vocabulary.toml; raises DataError naming file:line."""
    f = DataFile(path)
    top = Entry(f, f.data, "vocabulary", 1, {"words", "keywords", "synonyms"})
    words, keywords, synonyms = [], [], []
    seen: dict[str, int] = {}
    for i, t in enumerate(top.tables("words")):
        line = f.header_line("words", i)
        where = f"words[{i + 1}]"
        e = Entry(f, t, where, line, _WORD)
        name = e.str("name", required=True).strip()
        if "item" in t and "items" in t:
            raise f.error(f"{where} ({name}): give item or items, not both", line)
        if "items" in t:
            raw = t["items"]
            if not isinstance(raw, list) or len(raw) < 2:
                raise f.error(f"{where} ({name}): items must list two or more items", f.key_line("items", line))
            refs = tuple(_item_ref(f, e, v, jid, where) for v in raw)
        elif "item" in t:
            refs = (_item_ref(f, e, t["item"], jid, where),)
        else:
            raise f.error(f"{where} ({name}): missing required field 'item'", line)
        reason, source = e.str("reason").strip(), e.str("source").strip()
        if not reason and not source:
            raise f.error(f"{where} ({name}): a word needs a reason or a source", line)
        if name in seen:
            raise f.error(f"{where}: word {name!r} is listed twice (first at line {seen[name]})", line)
        seen[name] = line or 0
        words.append(Word(name, refs, reason, source, jid, f"{path}:{line}"))
    for i, t in enumerate(top.tables("keywords")):
        line = f.header_line("keywords", i)
        where = f"keywords[{i + 1}]"
        e = Entry(f, t, where, line, _KEYW)
        if "item" not in t:
            raise f.error(f"{where}: missing required field 'item'", line)
        ws = tuple(w.strip() for w in e.strs("words") if w.strip())
        if not ws:
            raise f.error(f"{where}: words must not be empty", line)
        short = [w for w in ws if len(w) < 2]
        if short:
            raise f.error(f"{where}: keyword {short[0]!r} is too short (two characters or more)",
                          f.key_line("words", line))
        keywords.append(KeyWords(_item_ref(f, e, t["item"], jid, where), ws, jid, f"{path}:{line}"))
    for i, t in enumerate(top.tables("synonyms")):
        line = f.header_line("synonyms", i)
        where = f"synonyms[{i + 1}]"
        e = Entry(f, t, where, line, _SYN)
        word, listed = e.str("word", required=True).strip(), e.str("listed", required=True).strip()
        reason = e.str("reason", required=True).strip()
        if word == listed:
            raise f.error(f"{where}: word and listed are the same ({word!r})", line)
        synonyms.append(Synonym(word, listed, reason, jid, f"{path}:{line}"))
    return Vocabulary(tuple(words), tuple(keywords), tuple(synonyms))
