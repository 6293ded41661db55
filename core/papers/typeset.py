"""Lay a paper's blocks out on A4 the way Chinese official papers look (GB/T 9704-2012).

Portrait papers use GB/T 9704's text block: 156 × 225 mm (margins 37 mm top, 35 bottom, 28 left,
26 right), body text 三号 (16 pt) on a grid of 28 characters a line (a small negative base
character spacing makes 28 CJK characters exactly fill the line) and 22 lines a page, titles 二号
(22 pt). Landscape reports keep their margins (15 mm) and the column widths of their templates.

Block kinds: ``attachment`` (附件 mark, bold, flush left above the title), ``title`` (centred),
``number`` (文号 line, centred), ``copy`` (the copy a page is, top right, above the text block),
``addressee`` (flush left), ``heading`` (bold), ``para`` (first line indented two characters),
``closing`` (特此告知。: a para half a line lower), ``item`` (a list line; one that begins with a
list number 1. （1） 1、 一、 hangs: wrapped lines align with the text after the number), ``fields``
(a bordered form, label and value), ``table`` (columns with widths in mm, header repeated on each
page), ``signatures`` (signature lines), ``seal`` (signer and date with a dashed circle where the
seal goes, and flush left in the same rows its ``check`` lines: 登记号, record and 核验码),
``receipt`` (the resident's 签收 line under a rule, after the seal), ``footer`` (small print under a
rule at the foot of the page), ``subtitle``, ``note`` and ``page`` (page break: a new copy).

Pages are broken by :mod:`sealdesk.core.papers.layout` with the rules of official papers: the seal
stays on the page of the last lines of text before it (that page's line pitch is tightened first,
down to 1.3 em; if that is not enough the last two lines go over with it), the receipt line and
the footer stay with the seal, a heading or a title is never last on a page (it takes two lines of
what follows), notes after a table take at least its last row, and a table's header row repeats
on each page. A paper of more than one page (each copy of a certificate counts alone) carries page
numbers 「— 1 —」 7 mm under the text block, odd pages right and even pages left, one character in
(GB/T 9704 7.5); landscape reports centred. A certificate must be one page a copy: if its text
does not fit, the page is tightened, then the body set a size smaller, until it does.

Every wrapped text (paragraphs, headings, titles, notes, form fields and table cells) is broken
into lines by the shared Chinese line breaker :mod:`sealdesk.core.common.linebreak` (issue 16),
measured with the paper font at its size, so the paper breaks as the screen does: no line starts
with ，。）》」… or ends with （《「…, and a 文号 (民发〔2020〕20号), an ID number, a date or a
number is never split (:func:`_lines`). Each line is drawn where it was measured.

Justified text (paragraphs, list items, the addressee) is justified as Chinese papers are, by
spacing the characters: each line but the last of a paragraph is set with a character spacing
(PDF ``Tc``) that takes its right edge to the margin, up to ``JUSTIFY_MAX`` more than the grid's;
a line that would need more is set flush left. The first-line indent (two ideographic spaces) is
a shift of the first line, not text that is spaced out or left alone on a line. Text is never
parsed as markup. The check lines beside the seal stay one unwrapped line each, so a code or
number is never broken.

Fonts (``render(paper, fonts)``): the body in the configured ``[papers] font`` (its face
``font_index`` in a .ttc) or the default chain; titles in ``title_font`` when configured, else in
the body's bold. A configured font has no bold face, so its bold (titles, headings, table headers)
is synthesised: the outlines filled and stroked 0.03 em wide.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import partial

from sealdesk.core.common import linebreak
from sealdesk.core.papers.layout import EPS, MM, Box, Canvas, Face, draw, paginate

BODY = 16  # 三号: GB/T 9704 body text
SMALL = 10.5  # 五号: notes, tables, the footer, the check lines
TITLE = 22  # 二号
FORM = 14  # 四号: the text of form fields
PAGE_NUMBER = 14  # 四号 (GB/T 9704 7.5)
CHARS_PER_LINE = 28  # GB/T 9704: 28 characters a line…
LINES_PER_PAGE = 22  # …and 22 lines a page
MIN_PITCH = 1.3  # em: the tightest a page's lines are set to keep the seal on the page of its text
STROKE = 0.03  # em: the stroke that makes a configured font's bold
RED = (200, 30, 30)
NOTE_LINE = 6  # mm per line of small print (notes, footer)
FORM_LINE = 8.5  # mm per form field line
TABLE_LINE = 5.2  # mm per table cell line
SEAL_R = 21  # mm: the dashed circle where the seal goes (the common 42 mm committee seal)
SEAL_GAP = 4  # mm between the text and the top of the seal: within a line of it (GB/T 9704 7.3.5.1)
SEAL_LINE = 8  # mm per line of signer and date
SEAL_ROOM = 40  # mm the seal leaves on the left for its check lines before it moves right
CHECK_LINE = 6  # mm per check line (登记号, record, 核验码) beside the seal, set in SMALL
CHECK_GAP = 6  # mm between the check lines and the seal
CHECK_MIN = 5  # pt: the smallest the check lines are set when a long signer leaves little room
INDENT = "\u3000\u3000"  # two ideographic spaces: the first-line indent of Chinese paragraphs
# The most a justified line is spread between two characters beyond the grid (em). A line that would
# need more (a 文号 or an ID number, never split, went whole to the next line and left a wide gap) is
# set flush left instead: wider spacing reads as 着重 spacing, and PDF readers' search and copy
# (pdftotext from about 0.4 em) see word gaps inside the text.
JUSTIFY_MAX = 0.25
SIGN_LINE = "_" * 16
SIGN_DATE = "日期：____年__月__日"
# A list number an item begins with: 1. 1． 1、 （1） (1) 一、 ①; the item hangs after it.
LIST_NUMBER = re.compile(r"(?:\d+[.．、](?!\d)|[（(]\d+[）)]|[（(][一二三四五六七八九十]+[）)]|[一二三四五六七八九十]+、"
                         r"|[①-⑳])[ \u3000]*")
ONE_PAGE = {"certificate", "commitment"}  # forms a resident signs or keeps: one sheet a copy
FIT_SIZES = (16, 15, 14, 13, 12, 11, 10.5)  # body sizes tried, in turn, to fit such a paper


@dataclass(frozen=True)
class Geometry:
    """A page: its size and margins (mm) and whether body text is set on GB/T 9704's character grid."""

    width: float
    height: float
    left: float
    top: float
    right: float
    bottom: float
    grid: bool

    @property
    def text_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def text_height(self) -> float:
        return self.height - self.top - self.bottom


PORTRAIT = Geometry(210, 297, 28, 37, 26, 35, True)  # GB/T 9704 版心 156 × 225 mm
LANDSCAPE = Geometry(297, 210, 15, 15, 15, 20, False)  # reports: 267 mm, the width of 附件1's eight columns
PITCH = PORTRAIT.text_height / LINES_PER_PAGE  # mm per body line


def text_of(blocks) -> str:
    return "\n".join(s for b in blocks for s in b.strings())


@dataclass
class Faces:
    regular: Face
    bold: Face
    title: Face


def faces(config=None) -> Faces:
    """The paper's faces from ``config`` (``Community.paper_fonts``, or a body font's path, or None:
    the default chain). Raises :class:`fonts.FontError` (Chinese) for a missing file or a face index
    the file does not have."""
    from sealdesk.core.papers import fonts
    from sealdesk.core.papers.glyphs import store

    body, title = fonts.configured(config)
    st = store()
    chain = fonts.chain(body)
    regular = Face("serif", chain, st)
    if body is None and fonts.BOLD.present:
        bold = Face("bold", [fonts.BOLD, *chain], st, bold=True)
    else:  # a configured font has no bold face: stroke its outlines
        bold = regular.synthetic_bold(STROKE)
    title_face = Face("title", fonts.chain(title, "配置的标题字体"), st) if title else bold
    return Faces(regular, bold, title_face)


def render(paper, fonts=None) -> bytes:
    """The paper as a PDF. ``fonts``: ``Community.paper_fonts`` (or a body font's path, or None)."""
    from sealdesk.core.papers.pdf import PaperPDF

    geo = LANDSCAPE if paper.orientation == "landscape" else PORTRAIT
    fs = faces(fonts)
    fs.regular.load(text_of(paper.blocks))  # one glyph look-up for the text, not one per line
    canvas = Canvas()
    for blocks in _copies(paper.blocks):
        pages = _lay(blocks, geo, fs, paper.paper in ONE_PAGE)
        for n, page in enumerate(pages, 1):
            canvas.page()
            for box, top, h in page:
                if box.paint is not None:
                    box.paint(canvas, geo.top + top, h)
            if len(pages) > 1:
                _page_number(canvas, geo, fs.regular, n)
    pdf = PaperPDF(created=paper.created, title=paper.title, orientation=paper.orientation)
    draw(canvas, pdf)
    return bytes(pdf.output())


def _copies(blocks) -> list[list]:
    """The blocks between ``page`` blocks: each starts a new page and its own page numbers."""
    out: list[list] = [[]]
    for b in blocks:
        if b.kind == "page":
            out.append([])
        else:
            out[-1].append(b)
    return out


def _lay(blocks, geo: Geometry, fs: Faces, one_page: bool):
    pages = paginate(_Layout(geo, fs, BODY).boxes(blocks), geo.text_height)
    if one_page and len(pages) > 1:
        # Tightened, then a size smaller at a time: deterministic, and only for a paper that overflows.
        for size in FIT_SIZES:
            pages = paginate(_Layout(geo, fs, size).boxes(blocks), geo.text_height, tighten_all=True)
            if len(pages) == 1:
                break
    return pages


def _page_number(canvas: Canvas, geo: Geometry, face: Face, n: int) -> None:
    # GB/T 9704 7.5: 四号 digits between 一字线, the dash 7 mm under the text block; odd pages right,
    # even pages left, one character in. Landscape reports: centred.
    s = f"— {n} —"
    em = PAGE_NUMBER * MM
    w = face.width(s, PAGE_NUMBER)
    if not geo.grid:
        x = geo.left + (geo.text_width - w) / 2
    elif n % 2:
        x = geo.width - geo.right - BODY * MM - w
    else:
        x = geo.left + BODY * MM
    face.load("—")
    dash = face.glyphs.get("—")
    top = (dash.bbox[3] / 1000 if dash is not None and dash.bbox else 0.3) * em  # the dash's top over the baseline
    canvas.text(face, PAGE_NUMBER, x, geo.height - geo.bottom + 7 + top, s)


def _lines(text: str, first: float, rest: float, measure) -> list[tuple[str, bool]]:
    """``text`` broken by the shared line breaker into lines of at most ``first`` mm (the first line)
    and ``rest`` mm (the others): ``(line, last)``, ``last`` when the line ends a paragraph (the text's
    end or a line feed), trailing spaces left out as ``linebreak.wrap`` leaves them."""
    offsets = linebreak.wrap_offsets(text, first + EPS, measure)
    if offsets and abs(first - rest) > EPS:  # the first line found, the rest takes its own width
        head = offsets[0]
        offsets = [head, *(head + o for o in linebreak.wrap_offsets(text[head:], rest + EPS, measure))]
    cuts = [0, *offsets, len(text)]
    return [(text[a:b].rstrip("\n").rstrip("\r").rstrip(" "), b == len(text) or text[b - 1] == "\n")
            for a, b in zip(cuts, cuts[1:])]


def _line(face: Face, size: float, line: str, x: float, avail: float, align: str, base: float, justify: bool,
          canvas: Canvas, top: float, h: float) -> None:
    # One line in ``avail`` mm from ``x``, centred on its ``h`` mm. A justified line gets the character
    # spacing that takes its last character's right edge to the margin: the grid's ``base`` spacing
    # and what the line is short of the margin, shared between its characters.
    em = size * MM
    natural = face.width(line, size)
    spacing = base
    n = len(line)
    if justify and n > 1:
        wide = (avail - natural) / (n - 1)
        if wide - base <= JUSTIFY_MAX * em:
            spacing = math.floor(wide / MM * 1000) / 1000 * MM  # as written (3 decimals of pt), never past the margin
    ink = natural + (n - 1) * spacing
    if align == "C":
        x += (avail - ink) / 2
    elif align == "R":
        x += avail - ink
    canvas.text(face, size, x, top + h / 2 + face.mid * em, line, spacing)


class _Layout:
    """Blocks to boxes at one body size (``body``: 16 pt, or smaller for a certificate that must fit)."""

    def __init__(self, geo: Geometry, fs: Faces, body: float):
        self.geo, self.fs, self.body = geo, fs, body
        self.left, self.width = geo.left, geo.text_width
        self.pitch = PITCH * body / BODY
        self.flow: list[Box] = []
        self._gap = 0.0
        self._hold = 0

    def boxes(self, blocks) -> list[Box]:
        for b in blocks:
            _DRAW[b.kind](self, b)
        return self.flow

    # -- the flow ---------------------------------------------------------------------------------
    def add(self, box: Box) -> Box:
        box.before += self._gap
        self._gap = 0.0
        if self._hold and self.flow:
            self.flow[-1].keep = True
            self._hold -= 1
        self.flow.append(box)
        return box

    def gap(self, mm: float) -> None:
        """Space above the next box (dropped at the top of a page)."""
        self._gap += mm

    def hold(self, n: int) -> None:
        """The next ``n`` boxes stay on the page of the last one (a heading takes two lines with it)."""
        self._hold = max(self._hold, n)

    def bind(self, n: int) -> None:
        """The last ``n`` boxes stay on the page of the next one (two lines of text go with the seal)."""
        for b in self.flow[-n:]:
            b.keep = True

    # -- text -------------------------------------------------------------------------------------
    def spacing(self, size: float) -> float:
        """The base character spacing (mm) at ``size``: body text on a portrait page is on the grid, the
        nearest whole number of characters filling the line exactly (28 at 三号: a little closer than
        the em, as GB/T 9704's 156 mm line of 28 三号 characters has it)."""
        if not self.geo.grid or size != self.body:
            return 0.0
        em = size * MM
        return self.width / round(self.width / em) - em

    def cell(self, size: float) -> float:
        """One character of the grid (mm): what two of the first-line indent take."""
        return size * MM + self.spacing(size)

    def text(self, text: str, face: Face, size: float, align: str = "J", *, indent: float = 0.0, hang: float = 0.0,
             pitch: float | None = None, keep: bool = False, tighten: bool = False, kind: str = "line",
             x: float | None = None, width: float | None = None) -> list[Box]:
        """``text`` as line boxes: the first line ``indent`` mm in, the others ``hang`` mm; ``keep``: all
        on one page with what follows."""
        if not text:
            return []
        em = size * MM
        base = self.spacing(size)
        pitch = max(pitch or self.pitch, MIN_PITCH * em)  # a title keeps its room when the body is set smaller

        def measure(s: str) -> float:
            return face.width(s, size) + len(s) * base

        if align in ("J", "L"):
            # The first-line indent (leading ideographic spaces, ours or the text's own) is a shift of the
            # first line, not text: it is never spaced out, nor left alone on a line of its own.
            body = text.lstrip("\u3000")
            indent += measure(text[:len(text) - len(body)])
            text = body
        left = self.left if x is None else x
        width = self.width if width is None else width
        out = []
        for i, (line, last) in enumerate(_lines(text, width - indent, width - hang, measure)):
            shift = indent if i == 0 else hang
            paint = partial(_line, face, size, line, left + shift, width - shift, align, base, align == "J" and not last)
            out.append(self.add(Box(pitch, paint, shrink=max(0.0, pitch - MIN_PITCH * em), keep=keep,
                                    tighten=tighten, kind=kind)))
        return out


# -- the blocks ------------------------------------------------------------------------------------
def _attachment(L: _Layout, b):
    # 附件1: flush left on the first line, above the title (GB/T 9704: 三号黑体; here the bold).
    L.text(b.text, L.fs.bold, L.body, "L", keep=True, kind="attachment")
    L.hold(1)


def _title(L: _Layout, b):
    if L.text(b.text, L.fs.title, TITLE, "C", keep=True, kind="title"):
        L.hold(2)
        L.gap(L.pitch / 2)


def _number(L: _Layout, b):
    L.text(b.text, L.fs.regular, L.body, "C", kind="number")
    L.gap(L.pitch / 2)


def _subtitle(L: _Layout, b):
    L.text(b.text, L.fs.regular, L.body, "C", kind="subtitle")
    L.gap(L.pitch / 4)


def _copy(L: _Layout, b):
    # Top right, above the text block: the copy this page is. No room in the text block.
    face, geo = L.fs.regular, L.geo

    def paint(canvas, top, h):
        em = SMALL * MM
        x = geo.width - geo.right - face.width(b.text, SMALL)
        canvas.text(face, SMALL, x, geo.top - 12 + em * (0.5 + face.mid), b.text)

    if b.text:
        L.add(Box(0.0, paint, keep=True, kind="copy"))


def _addressee(L: _Layout, b):
    L.text(b.text, L.fs.regular, L.body, kind="addressee")


def _para(L: _Layout, b):
    L.text(b.text, L.fs.regular, L.body, indent=2 * L.cell(L.body), kind="para")


def _closing(L: _Layout, b):
    L.gap(L.pitch / 2)
    L.text(b.text, L.fs.regular, L.body, indent=2 * L.cell(L.body), kind="closing")


def _heading(L: _Layout, b):
    if L.text(b.text, L.fs.bold, L.body, "L", keep=True, kind="heading"):
        L.hold(2)


def _item(L: _Layout, b):
    indent = 2 * L.cell(L.body)
    hang = 0.0
    m = LIST_NUMBER.match(b.text)
    if m and m.end() < len(b.text):  # wrapped lines align with the text after the number
        hang = indent + L.fs.regular.width(m.group(), L.body) + len(m.group()) * L.spacing(L.body)
    L.text(b.text, L.fs.regular, L.body, indent=indent, hang=hang, kind="item")


def _note(L: _Layout, b):
    if not b.text:
        return
    L.bind(1)  # never alone: a table's last row (or the line before) comes with it
    L.gap(2)
    lines = L.text(b.text, L.fs.regular, SMALL, "L", pitch=NOTE_LINE, keep=True, kind="note")
    lines[-1].keep = False


def _fields(L: _Layout, b):
    face = L.fs.regular
    label_w = 34
    pad, pad_v = 2, 1.5  # padding left and right, top and bottom (mm)
    value_w = L.width - label_w
    for label, value, tall in b.extra["rows"]:
        cells = [_cell_lines(face, FORM, label, label_w - 2 * pad), _cell_lines(face, FORM, value, value_w - 2 * pad)]
        h = max(FORM_LINE * tall + 3, max(map(len, cells)) * FORM_LINE + 2 * pad_v)

        def paint(canvas, top, height, cells=cells, tall=tall):
            x = L.left
            for i, (lines, w) in enumerate(zip(cells, (label_w, value_w))):
                canvas.rect(x, top, w, height)
                _cell_text(canvas, face, FORM, lines, x + pad, w - 2 * pad, top + pad_v, height - 2 * pad_v,
                           FORM_LINE, "C" if i == 0 else "L", "T" if tall > 1 else "M")
                x += w

        L.add(Box(h, paint, kind="field"))
    L.gap(2)


def _table(L: _Layout, b):
    cols = b.extra["columns"]
    widths = [c["width"] for c in cols]
    x0 = L.left + (L.width - sum(widths)) / 2
    pad, pad_v = 1.2, 1  # padding left and right, top and bottom (mm)
    regular, bold = L.fs.regular, L.fs.bold

    def row(values, face, fill=None, aligns=None):
        cells = [_cell_lines(face, SMALL, v, w - 2 * pad) for v, w in zip(values, widths)]
        aligns = aligns or ["C"] * len(cells)
        return cells, aligns, fill, face

    def boxes(cells, aligns, fill, face, head=None, kind="row"):
        room = L.geo.text_height - (head.h if head is not None else 0) - 2 * pad_v
        per = max(1, int((room + EPS) // TABLE_LINE))  # lines a row may take on one page
        parts = max(1, math.ceil(max(map(len, cells)) / per))
        out = []
        for k in range(parts):  # a row taller than a page goes on over the page, line by line
            part = [c[k * per:(k + 1) * per] for c in cells]
            h = max(map(len, part)) * TABLE_LINE + 2 * pad_v

            def paint(canvas, top, height, part=part):
                x = x0
                for lines, w, align in zip(part, widths, aligns):
                    canvas.rect(x, top, w, height, fill)
                    _cell_text(canvas, face, SMALL, lines, x + pad, w - 2 * pad, top + pad_v, height - 2 * pad_v,
                               TABLE_LINE, align, "M")
                    x += w

            out.append(Box(h, paint, head=head, kind=kind, keep=k < parts - 1))
        return out

    (header,) = boxes(*row([c["title"] for c in cols], bold, (235, 235, 235)), kind="header")
    header.keep = True  # never alone at the foot of a page
    L.add(header)
    for r in b.extra["rows"]:
        values = list(map(str, r))
        for box in boxes(*row(values, regular, aligns=["C" if len(v) <= 8 else "L" for v in values]), head=header):
            L.add(box)
    L.gap(2)


def _cell_lines(face: Face, size: float, text: str, width: float) -> list[str]:
    return [line for line, _ in _lines(text, width, width, lambda s: face.width(s, size))]


def _cell_text(canvas, face: Face, size: float, lines: list[str], x: float, width: float, top: float, height: float,
               pitch: float, align: str, valign: str) -> None:
    if valign == "M":
        top += max(0.0, (height - pitch * len(lines)) / 2)
    for i, line in enumerate(lines):
        _line(face, size, line, x, width, align, 0.0, False, canvas, top + i * pitch, pitch)


def _signatures(L: _Layout, b):
    # "记录人（签字）：________" on the left, "日期：____年__月__日" flush right on the same line.
    face, size = L.fs.regular, L.body
    L.bind(2)  # the signatures (and the seal after them) stay on the page of the last lines of text
    L.gap(6)
    date_w = face.width(SIGN_DATE, size)
    labels = b.extra["lines"]
    blank = face.width("_", size)
    for i, label in enumerate(labels):
        room = L.width - date_w - face.width(label, size) - 4
        below = room < 4 * blank  # a long label: the date goes on a line of its own, flush right
        if below:
            room = L.width - face.width(label, size)
        text = label + SIGN_LINE[:max(4, int(room / blank))]

        def paint(canvas, top, h, text=text, below=below):
            _line(face, size, text, L.left, L.width, "L", 0.0, False, canvas, top, 12)
            _line(face, size, SIGN_DATE, L.left, L.width, "R", 0.0, False, canvas, top + h - 12, 12)

        L.add(Box(12 + (L.pitch if below else 0), paint, keep=i < len(labels) - 1, kind="signature"))


def _seal(L: _Layout, b):
    # Signer and date centred on each other, the date four characters in from the right margin
    # (GB/T 9704 7.3.5.1), a little below the centre of the dashed circle (42 mm, the common
    # committee seal) that marks where the seal goes, its top within a line of the text.
    face, size = L.fs.regular, L.body
    lines = [t for t in (b.text, b.extra.get("date", "")) if t]
    width = max(face.width(t, size) for t in lines) if lines else 50
    if width > L.width - 4:  # a signer longer than the line: set smaller, never broken or past the margin
        size, width = size * (L.width - 4) / width, L.width - 4
    right = L.left + L.width - max(2.0, min(4 * L.cell(L.body), L.width - width - SEAL_ROOM))
    x = right - width
    cx = x + width / 2
    label = b.extra.get("label")
    check = b.extra.get("check")
    label_w = face.width(label, SMALL) if label else 0.0
    label_x = max(L.left, min(cx - label_w / 2, L.left + L.width - label_w))  # centred under, within the margins

    def paint(canvas, top, h):
        cy = top + SEAL_GAP + SEAL_R
        y = cy - 0.6 * SEAL_LINE
        for t in lines:
            _line(face, size, t, x, width, "C", 0.0, False, canvas, y, SEAL_LINE)
            y += SEAL_LINE
        edge = min(x, cx - SEAL_R)  # the seal's leftmost ink: signer and date, the circle, its label
        if label:
            edge = min(edge, label_x)
            _line(face, SMALL, label, label_x, label_w, "L", 0.0, False, canvas, y, CHECK_LINE)
            y += CHECK_LINE
        _check(canvas, face, check, L.left, y, edge - CHECK_GAP - L.left)
        canvas.circle(cx, cy, SEAL_R, RED, 0.4, (2, 1.5))

    L.bind(2)
    L.add(Box(SEAL_GAP + 2 * SEAL_R + 2, paint, tighten=True, kind="seal"))


def _check(canvas, face: Face, lines, left: float, bottom: float, room: float) -> None:
    # The check lines (登记号, the record, 核验码: content.check_lines) flush left in the seal's rows,
    # the last one ending at ``bottom`` (the seal label's line), in space the seal already takes: a
    # paper gets no extra line or page from them. Each line is one piece, never wrapped (a code or a
    # number is read out whole); if the seal leaves too little room (a very long signer), the lines
    # are set smaller rather than broken or run into the seal.
    if not lines:
        return
    widest = max(face.width(t, SMALL) for t in lines)
    size = SMALL if widest <= room else max(CHECK_MIN, SMALL * max(room, 0) / widest)
    y = bottom - CHECK_LINE * len(lines)
    for i, t in enumerate(lines):
        _line(face, size, t, left, max(room, 0), "L", 0.0, False, canvas, y + i * CHECK_LINE, CHECK_LINE)


def _receipt(L: _Layout, b):
    # The resident signs here for receipt: under a thin rule across the text block, on the seal's page.
    if not b.text:
        return
    L.bind(1)
    L.gap(4)

    def rule(canvas, top, h):
        canvas.line(L.left, top + 1, L.left + L.width, top + 1, 0.2, (80, 80, 80))

    L.add(Box(3, rule, keep=True, tighten=True, kind="receipt"))
    face, lines = L.fs.regular, []
    for part in b.text.split("\n"):
        # A form line: set a size smaller (down to 五号) rather than broken between its blanks.
        natural = face.width(part, L.body)
        size = L.body if natural <= L.width else max(SMALL, math.floor(2 * L.body * L.width / natural) / 2)
        lines += L.text(part, face, size, "L", pitch=L.pitch * size / L.body, keep=True, tighten=True, kind="receipt")
    if lines:
        lines[-1].keep = False


def _footer(L: _Layout, b):
    # Small print under a rule at the foot of the page, on the page of the body and the seal.
    if not b.text:
        return
    face = L.fs.regular
    lines = _cell_lines(face, SMALL, b.text, L.width)

    def paint(canvas, top, h):
        canvas.line(L.left, top, L.left + L.width, top, 0.2, (120, 120, 120))
        for i, line in enumerate(lines):
            _line(face, SMALL, line, L.left, L.width, "L", 0.0, False, canvas, top + 2 + i * NOTE_LINE, NOTE_LINE)

    L.bind(2)
    L.gap(6)
    L.add(Box(2 + NOTE_LINE * len(lines), paint, tighten=True, foot=True, kind="footer"))


_DRAW = {
    "attachment": _attachment, "title": _title, "number": _number, "subtitle": _subtitle, "copy": _copy,
    "addressee": _addressee, "heading": _heading, "para": _para, "closing": _closing, "item": _item,
    "note": _note, "fields": _fields, "table": _table, "signatures": _signatures, "seal": _seal,
    "receipt": _receipt, "footer": _footer,
}
