"""The one Chinese line breaker, shared by the screen and the papers (issue 16).

Every wrapped text sealdesk shows or prints breaks here, so that a citation such as
《民政部关于……的通知》（民发〔2020〕20号） reads the same way on the clerk's terminal and on the
resident's paper:

* no line starts with a closing mark (。，、；：？！）》」』〕… and the other marks GB/T 15834-2011
  §5.1 keeps off the start of a line: 后引号, 后括号, 后书名号, 连接号, 间隔号, 分隔号) and none ends with
  an opening one (（《「『〔“ …, and 分隔号);
* nothing that must be read whole is split: numbers (3.14, 1,000), a 文号 (民发〔2020〕20号,
  〔2020〕), an ID number (18 characters, the last may be X), a date (2026年12月5日, 2026-12-05),
  the 破折号 —— and the 省略号 ……, and Latin text: a word, a command name (``sealdesk``) or a path
  is never cut, and a run of Latin text breaks at its spaces only.

The break opportunities come from the Unicode Line Breaking Algorithm (UAX #14) as implemented by
uniseg (pure Python, maintained, Unicode 16, Python ≥ 3.9, no compiled parts, so nothing but pip is
needed on a new machine), not from hand-written tables; this module only removes opportunities it
must not use (the protected spans above and GB/T 15834's 避头尾 where UAX #14 allows a break, e.g.
after “ or before ” between 汉字).

uniseg walks its rules over the whole string in Python (about 60 µs a character). Its result for a
character depends only on the character's Line_Break, General_Category, East_Asian_Width and
Extended_Pictographic values (and on two code points it names), and the rules never look across two
adjacent ID characters (two 汉字, which may always be broken between) nor across a letter followed
by a space (never broken between). So the text is cut there into short segments, each character
replaced by one representative of its property values, and uniseg's answer is remembered per
segment: ordinary prose then costs a few dict look-ups a character. ``tests/test_linebreak.py``
checks this against uniseg on the whole string.

``wrap`` measures in terminal cells by default; the papers pass fpdf's ``get_string_width``.
"""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate
from typing import Callable

from uniseg.emoji import extended_pictographic
from uniseg.graphemecluster import grapheme_cluster_boundaries
from uniseg.linebreak import line_break, line_break_breakables
from uniseg.unicodedatawrapper import category, east_asian_width

__all__ = ["NO_END", "NO_START", "cells", "opportunities", "protected_spans", "wrap", "wrap_offsets"]

Measure = Callable[[str], float]

# GB/T 15834-2011 §5.1: marks that never start a line — 句号 逗号 顿号 分号 冒号 问号 叹号 (§5.1.1–2),
# 后引号 后括号 后书名号 (§5.1.7), 省略号 (§5.1.4), 连接号 (§5.1.5), 间隔号 (§5.1.6), 分隔号 (§5.1.8);
# their halfwidth forms, and the iteration mark 々.
NO_START = frozenset(
    "。．，、；：？！‼⁇⁈⁉"
    "”’〞〟»›"
    "）〕］｝》〉」』】〗〙〛｠｣"
    "…‥⋯"
    "—–‐‑～〜"
    "·・‧･"
    "／"
    "％‰℃"
    "々"
)
# …and marks that never end one: 前引号 前括号 前书名号 (§5.1.7), 分隔号 (§5.1.8). ASCII marks are
# left to UAX #14, which already keeps "汉," "汉)" "(x" together and lets "-v", "/usr" or ".bashrc"
# start a line after a space.
NO_END = frozenset("“‘〝«‹（〔［｛《〈「『【〖〘〚｟｢／")

_DIGIT = r"[0-9０-９]"
_CN_DIGIT = "〇零一二三四五六七八九十"
# Spans no line may break inside (ends excluded). Several may overlap; they then hold together.
_PROTECTED = [
    # 文号: up to three characters of 发文机关代字 before 〔年份〕 and the 序号, and 〔2020〕 alone.
    re.compile(rf"[\u3400-\u9fff]{{0,3}}[〔［【\[(（]{_DIGIT}{{4}}[〕］】\])）]第?{_DIGIT}+号"),
    re.compile(rf"[〔［【]{_DIGIT}{{4}}[〕］】]"),
    # Dates: 2026年12月5日, 2026年12月, 2026年, 12月5日, 2026-12-05, 2026/12/5, 2026.12.5, 二〇二六年十二月五日.
    re.compile(rf"{_DIGIT}{{4}}年(?:{_DIGIT}{{1,2}}月(?:{_DIGIT}{{1,2}}[日号])?)?"),
    re.compile(rf"{_DIGIT}{{1,2}}月{_DIGIT}{{1,2}}[日号]"),
    re.compile(rf"{_DIGIT}{{4}}([-/.－／．]){_DIGIT}{{1,2}}\1{_DIGIT}{{1,2}}"),
    re.compile(rf"[〇零一二三四五六七八九]{{4}}年[{_CN_DIGIT}]{{1,2}}月(?:[{_CN_DIGIT}]{{1,3}}日)?"),
    # ID numbers (18 characters, the last may be X) and numbers with decimals or thousands.
    re.compile(rf"(?<![0-9０-９]){_DIGIT}{{17}}[0-9０-９Xx]"),
    re.compile(rf"[+\-−]?{_DIGIT}+(?:[.,．]{_DIGIT}+)*[%％‰]?"),
    # A number with its ordinal 第 and its measure word (第5项, 12件, 3人, 第十五条): read as one, as
    # a clerk reads 「不予出具1件」 out; a line never starts with the 件 of 「1件」.
    re.compile(rf"第?{_DIGIT}+[件个人条项款号页次名户元岁]"),
    re.compile(rf"第{_DIGIT}+|第[{_CN_DIGIT}百]+[条项款章节]"),
    # 破折号 and 省略号.
    re.compile(r"[—―]{2,}|[…⋯]{2,}"),
    # Latin text: words, command names, paths, options, URLs — breaks at spaces only.
    re.compile(r"[!-~\u00c0-\u024f\u0300-\u036f]+"),
]


# --- UAX #14 through uniseg, one segment at a time -------------------------------------------------

_SPECIAL = frozenset("\u2010\u25cc")  # the two code points uniseg's rules name (LB20a, LB28a)


class _Representatives(dict):
    """ord(c) → the representative of c's property values (for ``str.translate``)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_key: dict[object, str] = {}
        for c in "一a 0":  # readable representatives for the common classes
            self[ord(c)]

    def __missing__(self, o: int) -> str:
        c = chr(o)
        if c in _SPECIAL:
            rep = c
        else:
            key = (line_break(c), category(c), east_asian_width(c), extended_pictographic(c))
            rep = self.by_key.setdefault(key, c)
        self[o] = rep
        return rep


class _Kinds(dict):
    """ord(c) → "I" (Line_Break ID), "A" (AL), "S" (SP) or "x", to find the safe cuts."""

    def __missing__(self, o: int) -> str:
        lb = line_break(chr(o)).value if chr(o) not in _SPECIAL else ""
        kind = {"ID": "I", "AL": "A", "SP": "S"}.get(lb, "x")
        self[o] = kind
        return kind


_REPS = _Representatives()
_KINDS = _Kinds()
# A cut between two ID characters is a break, between a letter and a space is none; nothing on either
# side of such a cut changes any decision on the other side.
_CUT = re.compile(r"(?<=I)(?=I)|(?<=A)(?=S)")


@lru_cache(maxsize=8192)
def _segment_breaks(segment: str) -> tuple[int, ...]:
    """Offsets 0 < i < len(segment) where uniseg allows a break (before segment[i])."""
    return tuple(i for i, b in enumerate(line_break_breakables(segment)) if b and i)


def _uax14(text: str) -> list[int]:
    """UAX #14 break opportunities of ``text`` (0 < i < len(text)), as uniseg gives them."""
    canon = text.translate(_REPS)
    kinds = text.translate(_KINDS)
    out: list[int] = []
    start = 0
    for m in _CUT.finditer(kinds):
        cut = m.start()
        out.extend(start + i for i in _segment_breaks(canon[start:cut]))
        if kinds[cut] == "I":
            out.append(cut)
        start = cut
    out.extend(start + i for i in _segment_breaks(canon[start:]))
    return out


# --- the rules UAX #14 leaves out ----------------------------------------------------------------

def protected_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of every span no line may break inside (overlapping ones merged)."""
    spans = sorted((m.start(), m.end()) for rx in _PROTECTED for m in rx.finditer(text) if m.end() - m.start() > 1)
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s < merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def _blocked(text: str) -> bytearray:
    """1 at every offset inside a protected span."""
    blocked = bytearray(len(text) + 1)
    for s, e in protected_spans(text):
        blocked[s + 1:e] = b"\x01" * (e - s - 1)
    return blocked


def _kinsoku_ok(text: str, i: int) -> bool:
    """May a line end before text[i]? (GB/T 15834 避头尾; a 破折号 —— may start a line.)"""
    c = text[i]
    if c in NO_START and not (c in "—―" and text[i + 1:i + 2] == c):
        return False
    j = i - 1
    while j >= 0 and text[j] == " ":
        j -= 1
    if j < 0 or text[j] in _HARD:
        return False  # the line would hold nothing but spaces
    return text[j] not in NO_END


_HARD = frozenset("\n\r\x0b\x0c\x85\u2028\u2029")


# A path after a space or a 汉字/full-width mark (``数据在 /tmp/…``, ``保存在：/home/…``): UAX #14's
# LB13 keeps a solidus off the start of a line even after spaces, so the break fell before the 汉字
# instead, leaving 在 alone on a line. A path may start a line.
_PATH_AFTER_SPACE = re.compile(r"(?<=[\s\u3000-\u9fff\uff00-\uffef])(?=[/~][\w.-])")


@lru_cache(maxsize=256)
def _opportunities(text: str) -> tuple[int, ...]:
    blocked = _blocked(text)
    found = set(_uax14(text))
    if "/" in text or "~" in text:
        found.update(m.start() for m in _PATH_AFTER_SPACE.finditer(text) if m.start() > 0)
    out = []
    for i in sorted(found):
        if text[i - 1] in _HARD:
            out.append(i)  # a mandatory break stays
        elif not blocked[i] and _kinsoku_ok(text, i):
            out.append(i)
    return tuple(out)


def opportunities(text: str) -> list[int]:
    """Offsets ``0 < i < len(text)`` where a line may end before ``text[i]``.

    UAX #14 (uniseg) less the breaks inside protected spans (numbers, 文号, ID numbers, dates,
    ——, ……, Latin runs) and those GB/T 15834 forbids (a line starting with ，。）》」… or ending
    with （《「“…). Breaks after a line feed are always kept."""
    return list(_opportunities(text))


# --- measuring and wrapping ---------------------------------------------------------------------

_ZERO_CATEGORIES = frozenset(("Mn", "Me", "Cf", "Cc"))


class _CellWidths(dict):
    def __missing__(self, c: str) -> int:
        if unicodedata.category(c) in _ZERO_CATEGORIES or unicodedata.combining(c):
            w = 0
        elif unicodedata.east_asian_width(c) in "WF":
            w = 2
        else:
            w = 1  # Narrow, Halfwidth, Neutral and Ambiguous (as terminals and Rich show them)
        self[c] = w
        return w


_CELL = _CellWidths()


def cells(text: str) -> int:
    """Width of ``text`` in terminal cells: East Asian Wide/Fullwidth 2, combining and format 0, else 1."""
    return sum(map(_CELL.__getitem__, text))


def _grapheme_starts(text: str, s: int, e: int) -> list[int]:
    """Grapheme cluster boundaries of text in (s, e] (a cluster is never cut, even when forced)."""
    window = text[s:min(len(text), e + 8)]
    return [s + b for b in grapheme_cluster_boundaries(window) if 0 < b <= e - s]


def wrap_offsets(text: str, width: float, measure: Measure = cells) -> list[int]:
    """Where lines after the first start, as offsets into ``text`` (give them to ``Content.divide``).

    Greedy: each line takes as much as fits in ``width`` (as ``measure`` gives it, trailing spaces
    not counted) and ends at an ``opportunities`` offset; a line feed always ends a line (the next
    starts after it). Only a run with no opportunity that is wider than ``width`` on a line of its
    own is cut between characters, as late as fits, preferring places outside protected spans and
    within 避头尾 — anything that fits is never cut."""
    n = len(text)
    if not n:
        return []
    opps = _opportunities(text)
    if measure is cells:
        prefix = [0, *accumulate(map(_CELL.__getitem__, text))]

        def width_of(s: int, e: int) -> float:
            while e > s and text[e - 1] in " \n":
                e -= 1
            return prefix[e] - prefix[s]
    else:

        def width_of(s: int, e: int) -> float:
            return measure(text[s:e].rstrip(" \n"))

    def fits(s: int, e: int) -> bool:
        return width_of(s, e) <= width

    starts: list[int] = []
    blocked: bytearray | None = None
    para = 0
    while True:
        end = text.find("\n", para)
        end = n if end < 0 else end
        ends = [o for o in opps[bisect_right(opps, para):bisect_right(opps, end)] if o < end]
        ends.append(end)
        s, lo = para, 0
        while not fits(s, end):
            while ends[lo] <= s:
                lo += 1
            if fits(s, ends[lo]):
                a, z = lo, len(ends) - 1  # fits(s, ends[a]) and not fits(s, ends[z])
                while z - a > 1:
                    m = (a + z) // 2
                    if fits(s, ends[m]):
                        a = m
                    else:
                        z = m
                s = ends[a]
            else:
                if blocked is None:
                    blocked = _blocked(text)
                s = _forced(text, s, ends[lo], fits, blocked)
            if s >= end:  # the last piece is wider than the line even alone
                break
            starts.append(s)
        if end == n:
            return starts
        para = end + 1
        starts.append(para)


def _forced(text: str, s: int, e: int, fits: Callable[[int, int], bool], blocked: bytearray) -> int:
    """Where to cut the run text[s:e], too wide for a line of its own: as late as fits."""
    a, z = s, e  # fits(s, a); not fits(s, z)
    while z - a > 1:
        m = (a + z) // 2
        if fits(s, m):
            a = m
        else:
            z = m
    bounds = _grapheme_starts(text, s, a)
    if not bounds:  # not even one character fits: it goes on a line alone
        return next(b for b in _grapheme_starts(text, s, e) if b > s)
    free = [b for b in bounds if not blocked[b]]
    good = [b for b in free if _kinsoku_ok(text, b)]
    return (good or free or bounds)[-1]


def wrap(text: str, width: float, measure: Measure = cells) -> list[str]:
    """``text`` as lines of at most ``width`` (see ``wrap_offsets``), line feeds and trailing spaces left out."""
    cuts = [0, *wrap_offsets(text, width, measure), len(text)]
    return [text[a:b].rstrip("\n").rstrip("\r").rstrip(" ") for a, b in zip(cuts, cuts[1:])]
