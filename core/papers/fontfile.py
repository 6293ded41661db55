"""A minimal TrueType font holding exactly one paper's glyphs.

Built per document from the glyph store in well under a millisecond per glyph, and
embedded as it is: it *is* the subset, so no font program outside the paper's own
characters goes into the PDF. Tables: those a PDF reader needs for an embedded
CIDFontType2 (head, hhea, maxp, loca, glyf, hmtx) plus cmap, OS/2, name and post, which
fpdf2 reads to lay out text. No timestamps: the same glyphs give the same bytes.
"""

from __future__ import annotations

import struct

from sealdesk.core.papers.glyphs import UPM, Glyph, Metrics

EPOCH = 3660249600  # 2020-01-01 in the 1904-based seconds of head.created: fixed, so output is reproducible


def _checksum(data: bytes) -> int:
    data += b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(data) // 4}I", data)) & 0xFFFFFFFF


def _name_table(family: str, style: str) -> bytes:
    names = {1: family, 2: style, 3: f"sealdesk:{family}-{style}", 4: f"{family} {style}",
             6: f"{family}-{style}".replace(" ", "")}
    records, strings = [], b""
    for nid, text in names.items():
        raw = text.encode("utf-16-be")
        records.append(struct.pack(">6H", 3, 1, 0x409, nid, len(raw), len(strings)))
        strings += raw
    return struct.pack(">3H", 0, len(records), 6 + 12 * len(records)) + b"".join(records) + strings


def _cmap_table(pairs: list[tuple[int, int]]) -> bytes:
    """Format 12 (all planes: Extension B names need it), platform 3 encoding 10."""
    groups: list[list[int]] = []
    for cp, gid in pairs:
        if groups and cp == groups[-1][1] + 1 and gid == groups[-1][2] + (cp - groups[-1][0]):
            groups[-1][1] = cp
        else:
            groups.append([cp, cp, gid])
    sub = struct.pack(">HHIII", 12, 0, 16 + 12 * len(groups), 0, len(groups))
    sub += b"".join(struct.pack(">3I", *g) for g in groups)
    return struct.pack(">HH", 0, 1) + struct.pack(">HHI", 3, 10, 12) + sub


def build(glyphs: list[Glyph], metrics: Metrics, family: str, style: str = "Regular") -> bytes:
    """The font file for ``glyphs`` (sorted by code point); glyph 0 is an empty .notdef."""
    n = len(glyphs) + 1
    glyf, loca = b"", [0, 0]  # glyph 0 (.notdef) is empty
    for g in glyphs:
        glyf += g.data + b"\0" * (-len(g.data) % 4)
        loca.append(len(glyf))
    boxes = [g.bbox for g in glyphs if g.bbox]
    x0 = min((b[0] for b in boxes), default=0)
    y0 = min((b[1] for b in boxes), default=0)
    x1 = max((b[2] for b in boxes), default=0)
    y1 = max((b[3] for b in boxes), default=0)
    advances = [UPM] + [g.advance for g in glyphs]
    lsbs = [0] + [(g.bbox[0] if g.bbox else 0) for g in glyphs]
    rsbs = [a - ((g.bbox[2] - g.bbox[0]) if g.bbox else 0) - l for a, g, l in zip(advances[1:], glyphs, lsbs[1:])]
    bold = metrics.weight >= 600

    tables = {
        b"head": struct.pack(">IIIIHHqqhhhhHHhhh", 0x00010000, 0x00010000, 0, 0x5F0F3CF5, 0x000B, UPM, EPOCH, EPOCH,
                             x0, y0, x1, y1, 1 if bold else 0, 8, 2, 1, 0),
        b"hhea": struct.pack(">IhhhHhhhhhh4hhH", 0x00010000, metrics.ascent, metrics.descent, 0, max(advances),
                             min(lsbs), min(rsbs, default=0), x1, 1, 0, 0, 0, 0, 0, 0, 0, n),
        b"maxp": struct.pack(">IHHHHHHHHHHHHHH", 0x00010000, n, max((g.points for g in glyphs), default=0),
                             max((g.contours for g in glyphs), default=0), 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0),
        b"hmtx": b"".join(struct.pack(">Hh", a, lsb) for a, lsb in zip(advances, lsbs)),
        b"loca": struct.pack(f">{n + 1}I", *loca),
        b"glyf": glyf or b"\0" * 4,
        b"cmap": _cmap_table([(g.cp, i + 1) for i, g in enumerate(glyphs)]),
        b"OS/2": struct.pack(">HhHHHhhhhhhhhhhh10s4I4sHHHhhhHH2IhhHHH", 4, UPM, metrics.weight, 5, 0,
                             650, 600, 0, 75, 650, 600, 0, 350, 50, 250, 0, b"\0" * 10, 0, 0, 0, 0, b"SEAL",
                             0x20 if bold else 0x40, min((g.cp for g in glyphs), default=0) & 0xFFFF,
                             min(max((g.cp for g in glyphs), default=0), 0xFFFF),
                             metrics.ascent, metrics.descent, 0, max(y1, 0), max(-y0, 0), 0x00040000, 0,
                             metrics.cap_height // 2, metrics.cap_height, 0, 0x20, 1),
        b"name": _name_table(family, style),
        b"post": struct.pack(">IIhhIIIII", 0x00030000, 0, -100, 50, 0, 0, 0, 0, 0),
    }
    tags = sorted(tables)
    count = len(tags)
    power = 1 << (count.bit_length() - 1)
    head = struct.pack(">IHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16)
    offset = 12 + 16 * count
    directory, body, at = b"", b"", 0
    for tag in tags:
        data = tables[tag]
        if tag == b"head":
            at = offset + len(body)
        directory += struct.pack(">4sIII", tag, _checksum(data), offset + len(body), len(data))
        body += data + b"\0" * (-len(data) % 4)
    font = head + directory + body
    # checkSumAdjustment (head offset 8) makes the whole file sum to 0xB1B0AFBA.
    adjust = (0xB1B0AFBA - _checksum(font)) & 0xFFFFFFFF
    return font[:at + 8] + struct.pack(">I", adjust) + font[at + 12:]
