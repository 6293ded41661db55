"""Fonts for papers: a fallback chain that covers names with rare characters.

A person's name must print with every character (䶮, 𠮷, 㛃, 堃, 喆: CJK Extension A and B
included). The chain, first match wins per character:

1. the township's official font when configured (``[papers] font`` in community.toml:
   a 仿宋 or 宋体 file it is licensed to use, ``font_index`` its face in a .ttc collection;
   titles may have their own, ``title_font`` and ``title_font_index``, e.g. a 小标宋);
2. Noto Serif CJK SC (Debian ``fonts-noto-cjk``): the BMP, much of Extensions A and B;
3. HanaMin A and B (Debian ``fonts-hanazono``): the rest of Extensions A–F.

``missing(text)`` names every character no font of the chain has, so a paper is refused
before printing instead of showing an empty box. Code-point coverage of each font is read
once with fontTools and cached (keyed by path, face, size and mtime) in the user cache directory.
A configured face index is checked against the file's face count (:func:`faces`): a wrong one is
one Chinese line, not a traceback.
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sealdesk.core.common.paths import cache_dir


@dataclass(frozen=True)
class FontSpec:
    name: str
    path: str
    index: int = 0  # font number inside a .ttc collection
    package: str = ""  # the Debian package that installs it

    @property
    def present(self) -> bool:
        return os.path.exists(self.path)


NOTO = "/usr/share/fonts/opentype/noto"
HANAZONO = "/usr/share/fonts/truetype/hanazono"
CHAIN = (
    FontSpec("NotoSerifSC", f"{NOTO}/NotoSerifCJK-Regular.ttc", 2, "fonts-noto-cjk"),
    FontSpec("HanaMinA", f"{HANAZONO}/HanaMinA.ttf", 0, "fonts-hanazono"),
    FontSpec("HanaMinB", f"{HANAZONO}/HanaMinB.ttf", 0, "fonts-hanazono"),
)
BOLD = FontSpec("NotoSerifSCBold", f"{NOTO}/NotoSerifCJK-Bold.ttc", 2, "fonts-noto-cjk")


class FontError(Exception):
    """No usable font, or characters no font can show; the message is Chinese."""


def configured(config=None) -> tuple[FontSpec | None, FontSpec | None]:
    """The body and title fonts ``config`` names: ``Community.paper_fonts`` (``font``, ``font_index``,
    ``title_font``, ``title_font_index``), a body font's path, or None (the default chain for both)."""
    if config is None or isinstance(config, str):
        return (FontSpec("Official", config) if config else None), None
    body = FontSpec("Official", config.font, config.font_index) if config.font else None
    title = FontSpec("OfficialTitle", config.title_font, config.title_font_index) if config.title_font else None
    return body, title


def chain(official: str | FontSpec | None = None, what: str = "配置的公文字体") -> list[FontSpec]:
    """The fallback chain, ``official`` (a path, or a :class:`FontSpec` with its face index) first;
    ``what`` names it in an error (配置的公文字体, 配置的标题字体)."""
    if isinstance(official, str):
        official = FontSpec("Official", official) if official else None
    fonts = [official] if official else []
    fonts += [f for f in CHAIN if f.present]
    if official:
        check_face(official, what)
    if not fonts:
        raise FontError("没有可用的中文字体：请安装 fonts-noto-cjk 和 fonts-hanazono（bash scripts/setup 会安装）")
    return fonts


_SFNT = (b"\x00\x01\x00\x00", b"OTTO", b"true", b"ttcf")
_faces: dict[tuple, int] = {}


def faces(path: str) -> int:
    """How many faces the font file holds (a .ttc collection several, a .ttf or .otf one), read
    from its header with fontTools; 0 when it is no TrueType/OpenType file. Cached by path, size
    and mtime."""
    st = os.stat(path)
    key = (path, st.st_size, int(st.st_mtime))
    n = _faces.get(key)
    if n is None:
        with open(path, "rb") as f:
            tag = f.read(4)
            if tag == b"ttcf":
                from fontTools.ttLib import TTLibError
                from fontTools.ttLib.sfnt import readTTCHeader

                f.seek(0)
                try:
                    n = readTTCHeader(f).numFonts
                except (TTLibError, EOFError, ValueError):
                    n = 0
            else:
                n = 1 if tag in _SFNT else 0
        _faces[key] = n
    return n


def check_face(font: FontSpec, what: str = "配置的公文字体") -> None:
    """Raise FontError (one Chinese line) unless ``font`` is a font file holding face ``font.index``."""
    if not os.path.exists(font.path):
        raise FontError(f"{what} {font.path} 不存在")
    try:
        n = faces(font.path)
    except OSError as exc:
        raise FontError(f"无法读取{what} {font.path}：{exc.strerror}") from None
    if n == 0:
        raise FontError(f"{what} {font.path} 不是 TrueType/OpenType 字体文件（.ttf、.otf 或 .ttc）")
    if not 0 <= font.index < n:
        have = f"只有 {n} 个字体（序号 0 到 {n - 1}）" if n > 1 else "不是字体集合（.ttc），只有一个字体（序号 0）"
        raise FontError(f"{what} {font.path} {have}，配置的序号 {font.index} 不存在")


def _cache_dir() -> Path:
    return cache_dir()


def _ranges(points: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for p in sorted(points):
        if out and p == out[-1][1] + 1:
            out[-1][1] = p
        else:
            out.append([p, p])
    return out


_coverage: dict[tuple, frozenset[int]] = {}


def coverage(font: FontSpec) -> frozenset[int]:
    """The code points ``font`` has a glyph for (its best cmap), cached in memory and on disk."""
    st = os.stat(font.path)
    key = (font.path, font.index, st.st_size, int(st.st_mtime))
    cached = _coverage.get(key)
    if cached is not None:
        return cached
    cache_file = _cache_dir() / "font-coverage.json"
    ident = "|".join(map(str, key))
    try:
        table = json.loads(cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        table = {}
    if ident in table:
        points = frozenset(p for a, b in table[ident] for p in range(a, b + 1))
    else:
        from fontTools.ttLib import TTFont

        with TTFont(font.path, fontNumber=font.index, lazy=True) as f:
            points = frozenset(f.getBestCmap())
        table[ident] = _ranges(list(points))
        try:
            cache_file.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache_file.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(table), encoding="utf-8")
            os.replace(tmp, cache_file)
        except OSError:
            pass  # a read-only cache only costs time
    _coverage[key] = points
    return points


def _printable(ch: str) -> bool:
    # Spaces and line breaks need no glyph; control and format characters never reach a paper.
    return not (ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf"))


def missing(text: str, fonts: list[FontSpec]) -> list[str]:
    """Characters of ``text`` that no font of the chain has, in order of first appearance."""
    need = {ch for ch in text if _printable(ch)}
    for f in fonts:
        if not need:
            break
        cov = coverage(f)
        need = {ch for ch in need if ord(ch) not in cov}
    return [ch for ch in dict.fromkeys(text) if ch in need]


def needed(text: str, fonts: list[FontSpec]) -> list[FontSpec]:
    """The fonts of the chain the text actually uses: the first always, fallbacks only when needed.

    Loading a font into fpdf2 costs time (HanaMin: over a second), so a paper adds a
    fallback only for a character the fonts before it lack.
    """
    out = [fonts[0]]
    need = {ch for ch in text if _printable(ch) and ord(ch) not in coverage(fonts[0])}
    for f in fonts[1:]:
        if not need:
            break
        cov = coverage(f)
        if any(ord(ch) in cov for ch in need):
            out.append(f)
            need = {ch for ch in need if ord(ch) not in cov}
    return out


def describe(chars: list[str]) -> str:
    return "、".join(f"“{ch}”（U+{ord(ch):04X}）" for ch in chars)


def check(text: str, fonts: list[FontSpec]) -> None:
    """Raise FontError naming every character no font can print."""
    lost = missing(text, fonts)
    if lost:
        raise FontError(f"以下字符没有任何已安装字体可以显示，无法打印：{describe(lost)}。"
                        "请安装含这些字符的字体并在社区配置 [papers] font 中指定，或核对录入内容")
