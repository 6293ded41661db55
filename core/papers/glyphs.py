"""Glyph store: outlines of the characters papers use, ready to embed.

fpdf2 subsets a font with fontTools on every ``output()``; for a CJK font that costs
0.3–0.6 s per document however few characters it has (the whole CFF index is parsed and
every used glyph is interpreted in Python). A certificate must take at most 50 ms, so
papers embed a *paper font* built per document (:mod:`sealdesk.core.papers.fontfile`) from glyphs
kept here instead.

Each glyph is converted once, from whichever font of the chain (:mod:`sealdesk.core.papers.fonts`)
has the character, to a TrueType outline scaled to 1000 units per em (CFF cubics become
quadratics with cu2qu, at most 1 unit off). Converted glyphs are cached in memory and in a
small SQLite file in the user cache directory, keyed by font file, face, size and mtime, so
an updated font is converted again. ``bash scripts/setup`` warms the cache with every
character of the templates and plugin texts and GB 2312's 6,763 hanzi; any other character
(a rare one in a name) costs about 2 ms the first time it is printed.

The cache file is private (0600): which rare characters were printed says something about
whose names were printed.
"""

from __future__ import annotations

import os
import sqlite3
import struct
import threading
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Iterable

from sealdesk.core.papers.fonts import FontSpec, _cache_dir, _printable, coverage

UPM = 1000
FORMAT = 1  # bump when the stored glyph format changes
BLANKS = " \u3000"  # spaces print nothing but need their advance width


@dataclass(frozen=True)
class Glyph:
    cp: int
    advance: int  # in 1/1000 em
    data: bytes  # a TrueType 'glyf' entry (simple glyph, no hinting); b"" for a blank glyph
    points: int
    contours: int

    @property
    def bbox(self) -> tuple[int, int, int, int] | None:
        if not self.data:
            return None
        return struct.unpack(">4h", self.data[2:10])


@dataclass(frozen=True)
class Metrics:
    """Vertical metrics of the chain's first font, scaled to 1000 units per em."""

    ascent: int
    descent: int
    cap_height: int
    weight: int


def font_key(font: FontSpec) -> str:
    st = os.stat(font.path)
    return f"{font.path}|{font.index}|{st.st_size}|{int(st.st_mtime)}|{FORMAT}"


class _Source:
    """One font file opened with fontTools lazily: metrics read two small tables, and the cmap
    and outlines (a second or more for a CJK font) are parsed only when a glyph is converted."""

    def __init__(self, font: FontSpec):
        from fontTools.ttLib import TTFont

        self.tt = TTFont(font.path, fontNumber=font.index, lazy=True)
        self.scale = UPM / self.tt["head"].unitsPerEm

    @cached_property
    def cmap(self) -> dict:
        return self.tt.getBestCmap()

    @cached_property
    def glyphs(self):
        return self.tt.getGlyphSet()

    @cached_property
    def hmtx(self) -> dict:
        return self.tt["hmtx"].metrics

    def metrics(self) -> Metrics:
        os2 = self.tt["OS/2"]
        s = self.scale
        # Typo metrics place CJK text on the em box (880/-120 in Noto CJK), which is what
        # official documents' line spacing is measured against.
        cap = getattr(os2, "sCapHeight", 0) or os2.sTypoAscender
        return Metrics(round(os2.sTypoAscender * s), round(os2.sTypoDescender * s), round(cap * s),
                       os2.usWeightClass)

    def convert(self, cp: int) -> Glyph:
        from fontTools.pens.cu2quPen import Cu2QuPen
        from fontTools.pens.recordingPen import DecomposingRecordingPen
        from fontTools.pens.transformPen import TransformPen
        from fontTools.pens.ttGlyphPen import TTGlyphPen

        name = self.cmap[cp]
        advance = round(self.hmtx[name][0] * self.scale)
        rec = DecomposingRecordingPen(self.glyphs)  # components drawn as outlines
        self.glyphs[name].draw(rec)
        pen = TTGlyphPen(None)
        rec.replay(TransformPen(Cu2QuPen(pen, max_err=1.0, reverse_direction=self.tt.has_key("CFF ")),
                                (self.scale, 0, 0, self.scale, 0, 0)))
        glyph = pen.glyph()
        contours = max(glyph.numberOfContours, 0)
        if contours == 0:
            return Glyph(cp, advance, b"", 0, 0)
        glyph.recalcBounds(None)
        return Glyph(cp, advance, glyph.compile(None), len(glyph.coordinates), contours)


class GlyphStore:
    """Converted glyphs by font and code point; thread-safe, shared by a process."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else _cache_dir() / "glyphs.sqlite"
        self._mem: dict[tuple[str, int], Glyph] = {}
        self._sources: dict[str, _Source] = {}
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._db_failed = False

    # -- disk cache -------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection | None:
        if self._db is None and not self._db_failed:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
                os.close(fd)
                db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS glyphs (font TEXT, cp INTEGER, advance INTEGER, "
                           "data BLOB, points INTEGER, contours INTEGER, PRIMARY KEY (font, cp)) WITHOUT ROWID")
                self._db = db
            except (OSError, sqlite3.Error):
                self._db_failed = True  # a read-only or damaged cache only costs time
        return self._db

    def _load(self, key: str, cps: list[int]) -> None:
        db = self._conn()
        if db is None:
            return
        try:
            for i in range(0, len(cps), 500):
                part = cps[i:i + 500]
                q = f"SELECT cp, advance, data, points, contours FROM glyphs WHERE font = ? AND cp IN ({','.join('?' * len(part))})"
                for cp, adv, data, pts, cnt in db.execute(q, (key, *part)):
                    self._mem[(key, cp)] = Glyph(cp, adv, bytes(data), pts, cnt)
        except sqlite3.Error:
            self._db_failed = True

    def _save(self, key: str, glyphs: list[Glyph]) -> None:
        db = self._conn()
        if db is None or not glyphs:
            return
        try:
            with db:
                db.executemany("INSERT OR REPLACE INTO glyphs VALUES (?, ?, ?, ?, ?, ?)",
                               [(key, g.cp, g.advance, g.data, g.points, g.contours) for g in glyphs])
        except sqlite3.Error:
            self._db_failed = True

    def source(self, font: FontSpec) -> _Source:
        key = font_key(font)
        src = self._sources.get(key)
        if src is None:
            src = self._sources[key] = _Source(font)
        return src

    # -- lookups ----------------------------------------------------------------------
    def glyphs(self, font: FontSpec, cps: Iterable[int]) -> dict[int, Glyph]:
        """The glyphs of ``cps`` in ``font`` (each must be in its coverage)."""
        key = font_key(font)
        cps = sorted(set(cps))
        with self._lock:
            want = [cp for cp in cps if (key, cp) not in self._mem]
            if want:
                self._load(key, want)
                want = [cp for cp in want if (key, cp) not in self._mem]
            if want:
                src = self.source(font)
                made = [src.convert(cp) for cp in want]
                for g in made:
                    self._mem[(key, g.cp)] = g
                self._save(key, made)
            return {cp: self._mem[(key, cp)] for cp in cps}

    def metrics(self, font: FontSpec) -> Metrics:
        with self._lock:
            return self.source(font).metrics()

    def for_text(self, chars: Iterable[str], fonts: list[FontSpec]) -> list[Glyph]:
        """One glyph per printable character, each from the first font of the chain that has it.

        Characters no font has are left out; callers check with :func:`fonts.check` first.
        """
        need = {ord(ch) for ch in chars if _printable(ch) or ch in BLANKS}
        out: dict[int, Glyph] = {}
        for f in fonts:
            if not need:
                break
            cov = coverage(f)
            mine = [cp for cp in need if cp in cov]
            if mine:
                out.update(self.glyphs(f, mine))
                need.difference_update(mine)
        return [out[cp] for cp in sorted(out)]


_store: GlyphStore | None = None


def store() -> GlyphStore:
    global _store
    if _store is None:
        _store = GlyphStore()
    return _store


def warm_text() -> str:
    """Characters papers print daily: templates, every plugin's data files, GB 2312's hanzi, ASCII."""
    from importlib import resources

    parts = []
    for pkg in ("sealdesk.templates", "sealdesk.plugins"):
        root = resources.files(pkg)
        stack = [root]
        while stack:
            node = stack.pop()
            for child in node.iterdir():
                if child.is_dir():
                    stack.append(child)
                elif child.name.endswith(".toml"):
                    parts.append(child.read_text(encoding="utf-8"))
    gb2312 = []
    for hi in range(0xB0, 0xF8):  # the hanzi rows 16–87
        for lo in range(0xA1, 0xFF):
            try:
                gb2312.append(bytes((hi, lo)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    return "".join(parts) + "".join(gb2312) + "".join(map(chr, range(0x20, 0x7F)))


def warm(config=None) -> int:
    """Convert the glyphs of :func:`warm_text` now (set-up), so papers never wait for them.

    ``config``: ``Community.paper_fonts`` (or a body font's path, or None): the configured body
    font's chain gets every character, the bold and a configured title font the templates' wording."""
    from sealdesk.core.papers.fonts import BOLD, chain, configured

    body, title = configured(config)
    fonts = chain(body)
    text = warm_text()
    count = len(store().for_text(text, fonts))
    # Bold and titles are template and plugin wording, not every hanzi.
    headings = "".join(ch for ch in text if ord(ch) < 0x4E00 or ch in _template_chars())
    if BOLD.present and not body:
        store().for_text(headings, [BOLD, *fonts])
    if title:
        store().for_text(headings, chain(title, "配置的标题字体"))
    return count


def _template_chars() -> set[str]:
    from importlib import resources

    root = resources.files("sealdesk.templates")
    return {ch for f in root.iterdir() if f.name.endswith(".toml") for ch in f.read_text(encoding="utf-8")}
