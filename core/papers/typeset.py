"""Lay a paper's blocks out on A4 with fpdf2, the way Chinese official papers look.

Block kinds: ``title`` (二号 bold, centred), ``number`` (文号 line, centred), ``copy`` (the copy
a page is, top right), ``addressee`` (flush left), ``heading`` (bold), ``para`` (first line
indented two characters), ``item`` (hanging list line), ``fields`` (a bordered form, label and
value), ``table`` (columns with widths in mm, header repeated on each page), ``signatures``
(signature lines), ``seal`` (signer and date flush right, with a dashed circle where the seal
goes, and flush left in the same rows its ``check`` lines: 登记号, record and 核验码),
``footer`` (small print under a rule), ``subtitle``, ``note`` and ``page`` (page break).

Every wrapped text (paragraphs, headings, titles, notes, form fields and table cells) is broken
into lines by the shared Chinese line breaker :mod:`sealdesk.core.common.linebreak` (issue 16),
measured with the paper font at its size, so the paper breaks as the screen does: no line starts
with ，。）》」… or ends with （《「…, and a 文号 (民发〔2020〕20号), an ID number, a date or a
number is never split (:func:`_lines`). fpdf2 only prints the lines: body text one ``cell`` a
line, a form field or a table cell one ``multi_cell`` of the lines joined with line feeds, each
narrower than the cell, so fpdf2's own wrapping never breaks them again (``WrapMode.CHAR`` stays
on the tables only as the fallback for a line that would not fit, which the breaker never gives).

Justified text (``Align.J``: paragraphs, list items, the addressee) is justified as Chinese
papers are, by spacing the characters: fpdf2 justifies only by widening ASCII spaces, which
Chinese has none of, so each line but the last of a paragraph is set with a character spacing
(PDF ``Tc``) that takes its right edge to the margin (:func:`_line`), up to ``JUSTIFY_MAX``;
a line that would need more is set flush left. The first-line indent (two ideographic spaces)
is kept exactly two characters wide: it is a shift of the first line, not text that is spaced
out or left alone on a line. Text is never parsed as markup. The check lines beside the seal
stay one unwrapped cell each, so a code or number is never broken.
"""

from __future__ import annotations

import math

from fpdf.enums import Align, WrapMode, XPos, YPos

from sealdesk.core.common import linebreak

BODY = 14  # 四号 (14 pt): official body text is 三号 (16 pt) for 公文; 四号 fits 附件4's model on one page
SMALL = 10.5  # 五号
TITLE = 22  # 二号
LINE = 8.5  # mm per body line (about 1.7 lines)
RED = (200, 30, 30)
CHECK_LINE = 6  # mm per check line (登记号, record, 核验码) beside the seal, set in SMALL
CHECK_GAP = 6  # mm between the check lines and the seal
CHECK_MIN = 5  # pt: the smallest the check lines are set when a long signer leaves little room
INDENT = "\u3000\u3000"  # two ideographic spaces: the first-line indent of Chinese paragraphs
# The most a justified line is spread between two characters (em). A line that would need more (a
# 文号 or an ID number, never split, went whole to the next line and left a wide gap) is set flush
# left instead: wider spacing reads as 着重 spacing, and PDF readers' search and copy (pdftotext
# from about 0.4 em) see word gaps inside the text.
JUSTIFY_MAX = 0.25
SIGN_LINE = "_" * 16
SIGN_DATE = "日期：____年__月__日"
OWN_TEXT = INDENT + SIGN_LINE + SIGN_DATE  # text typeset adds itself; the paper font must have its glyphs


def text_of(blocks) -> str:
    return "\n".join(s for b in blocks for s in b.strings())


def bold_text_of(blocks) -> str:
    """What is set in bold: titles, headings and table headers (the bold font holds only these)."""
    parts = [b.text for b in blocks if b.kind in ("title", "heading")]
    parts += [c["title"] for b in blocks if b.kind == "table" for c in b.extra["columns"]]
    return "".join(parts)


def render(paper, official_font: str | None = None) -> bytes:
    from sealdesk.core.papers.pdf import PaperPDF

    pdf = PaperPDF(text_of(paper.blocks) + paper.title + OWN_TEXT, bold_text_of(paper.blocks), created=paper.created, title=paper.title,
                   official_font=official_font, orientation=paper.orientation)
    if paper.orientation == "landscape":  # tables: the width of 附件1's eight columns
        pdf.set_margins(15, 15, 15)
    else:
        pdf.set_margins(25, 22, 25)
    pdf.add_page()
    for block in paper.blocks:
        _DRAW[block.kind](pdf, block)
    return bytes(pdf.output())


def _measure(pdf):
    """The width in mm of a string in the current font and size, as fpdf2 measures it (without
    character spacing): ``Fragment.get_width`` less its spacing, without fpdf2's per-call bidi pass."""
    font, size, k = pdf.current_font, pdf.font_size_pt, pdf.k

    def measure(s: str) -> float:
        return font.get_text_width(s, size, None)[1] / k

    return measure


def _lines(text: str, width: float, measure, indent: float = 0.0) -> list[tuple[str, bool]]:
    """``text`` broken by the shared line breaker into lines of at most ``width`` mm, the first
    ``indent`` mm narrower: ``(line, last)``, ``last`` when the line ends a paragraph (the text's end
    or a line feed), trailing spaces left out as ``linebreak.wrap`` leaves them."""
    offsets = linebreak.wrap_offsets(text, width - indent, measure)
    if indent and offsets:  # the first line found, the rest takes the whole width
        first = offsets[0]
        offsets = [first, *(first + o for o in linebreak.wrap_offsets(text[first:], width, measure))]
    cuts = [0, *offsets, len(text)]
    return [(text[a:b].rstrip("\n").rstrip("\r").rstrip(" "), b == len(text) or text[b - 1] == "\n")
            for a, b in zip(cuts, cuts[1:])]


def _broken(pdf, text: str, width: float) -> str:
    """``text`` as the shared line breaker breaks it for a cell ``width`` mm wide (current font), lines
    joined with line feeds: fpdf2 then only prints them. A hair narrower than the cell, so that
    float rounding in fpdf2's own measuring never makes it break a line again."""
    return "\n".join(line for line, _ in _lines(text, width - 0.01, _measure(pdf)))


def _text(pdf, text: str, size: float = BODY, style: str = "", align=Align.J, h: float = LINE, indent: bool = False):
    if not text:
        return
    pdf.set_font("serif", style, size)
    pdf.set_char_spacing(0)
    measure = _measure(pdf)
    width = pdf.epw - 2 * pdf.c_margin  # what multi_cell(0, …) left for the text
    text = (INDENT if indent else "") + text
    shift = 0.0
    if align in (Align.J, Align.L):
        # The first-line indent (leading ideographic spaces, ours or the text's own) is a shift of the
        # first line, not text: it is never spaced out, nor left alone on a line of its own.
        body = text.lstrip("\u3000")
        shift, text = measure(text[:len(text) - len(body)]), body
    for i, (line, last) in enumerate(_lines(text, width, measure, shift)):
        _line(pdf, line, h, align, shift if i == 0 else 0.0, measure, justify=align == Align.J and not last)
    pdf.set_char_spacing(0)


def _line(pdf, line: str, h: float, align, shift: float, measure, justify: bool) -> None:
    # One line, ``shift`` mm in from the left margin. A justified line gets the character spacing (pt)
    # that takes its last character's right edge to the right margin (less the cell margin, as
    # multi_cell had it): fpdf2's Align.J only widens ASCII spaces, and Chinese has none.
    width = pdf.epw - 2 * pdf.c_margin - shift
    spacing = 0.0
    if justify and len(line) > 1:
        spacing = max(0.0, width - measure(line)) * pdf.k / (len(line) - 1)
        if spacing > JUSTIFY_MAX * pdf.font_size_pt:
            spacing = 0.0  # flush left rather than letter-spaced
    pdf.set_char_spacing(math.floor(spacing * 100) / 100)  # as fpdf2 writes it (2 decimals), never past the margin
    pdf.set_x(pdf.l_margin + shift)
    pdf.cell(pdf.epw - shift, h, line, align=Align.L if align == Align.J else align,
             new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _title(pdf, b):
    pdf.ln(6)
    _text(pdf, b.text, TITLE, "B", Align.C, 14)
    pdf.ln(2)


def _number(pdf, b):
    _text(pdf, b.text, BODY, "", Align.C)
    pdf.ln(4)


def _subtitle(pdf, b):
    _text(pdf, b.text, BODY, "", Align.C)
    pdf.ln(2)


def _copy(pdf, b):
    pdf.set_y(12)
    _text(pdf, b.text, SMALL, "", Align.R, 6)


def _addressee(pdf, b):
    _text(pdf, b.text)


def _heading(pdf, b):
    pdf.ln(1.5)
    _text(pdf, b.text, BODY, "B", Align.L)


def _para(pdf, b):
    _text(pdf, b.text, indent=True)


def _item(pdf, b):
    _text(pdf, INDENT + b.text)


def _note(pdf, b):
    pdf.ln(2)
    _text(pdf, b.text, SMALL, "", Align.L, 6)


def _fields(pdf, b):
    pdf.set_font("serif", "", BODY)
    label_w = 34
    pad = 2  # left and right padding (mm): the text is the column less twice this
    with pdf.table(col_widths=(label_w, pdf.epw - label_w), first_row_as_headings=False, line_height=LINE,
                   text_align=(Align.C, Align.L), wrapmode=WrapMode.CHAR, padding=(1.5, pad)) as table:
        for label, value, lines in b.extra["rows"]:
            row = table.row(min_height=LINE * lines + 3, v_align="TOP" if lines > 1 else None)
            row.cell(_broken(pdf, label, label_w - 2 * pad))
            row.cell(_broken(pdf, value, pdf.epw - label_w - 2 * pad))
    pdf.ln(2)


def _table(pdf, b):
    cols = b.extra["columns"]
    rows = b.extra["rows"]
    widths = [c["width"] for c in cols]
    pad = 1.2  # left and right padding (mm)
    pdf.set_font("serif", "B", SMALL)  # the headings' face (_heading_style)
    titles = [_broken(pdf, c["title"], w - 2 * pad) for c, w in zip(cols, widths)]
    pdf.set_font("serif", "", SMALL)
    with pdf.table(col_widths=widths, width=sum(widths), line_height=5.2, text_align="CENTER",
                   wrapmode=WrapMode.CHAR, padding=(1, pad), repeat_headings=1,
                   headings_style=_heading_style()) as table:
        head = table.row()
        for title in titles:
            head.cell(title)
        for r in rows:
            row = table.row()
            for i, value in enumerate(map(str, r)):
                row.cell(_broken(pdf, value, widths[i] - 2 * pad), align=Align.C if len(value) <= 8 else Align.L)
    pdf.ln(2)


def _heading_style():
    from fpdf.fonts import FontFace

    return FontFace(emphasis="BOLD", fill_color=(235, 235, 235))


def _signatures(pdf, b):
    # "记录人（签字）：________" on the left, "日期：____年__月__日" flush right on the same line.
    pdf.ln(6)
    pdf.set_font("serif", "", BODY)
    date_w = pdf.get_string_width(SIGN_DATE) + 2
    for label in b.extra["lines"]:
        room = pdf.epw - date_w - pdf.get_string_width(label) - 4
        line = SIGN_LINE[:max(4, int(room / pdf.get_string_width("_")))]
        pdf.cell(pdf.epw - date_w, 12, label + line)
        pdf.cell(date_w, 12, SIGN_DATE, align=Align.R, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _seal(pdf, b):
    # Signer and date sit flush right with room above for the seal; the dashed circle (42 mm,
    # the common committee seal) marks where it goes, overlapping signer and date as a seal does.
    pdf.ln(10)
    if pdf.will_page_break(40):
        pdf.add_page()
    y = pdf.get_y()
    right = pdf.w - pdf.r_margin
    pdf.set_font("serif", "", BODY)
    lines = [t for t in (b.text, b.extra.get("date", "")) if t]
    width = max(pdf.get_string_width(t) for t in lines) if lines else 50
    x = right - width - 8
    for t in lines:
        pdf.set_x(x)
        pdf.cell(width, LINE, t, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    label = b.extra.get("label")
    cx, cy, r = x + width / 2, y + LINE, 21
    edge = min(x, cx - r)  # the seal's leftmost ink: signer and date, the circle, its label
    if label:
        pdf.set_font("serif", "", SMALL)
        pdf.set_x(x - 10)
        edge = min(edge, cx - pdf.get_string_width(label) / 2)
        pdf.cell(width + 20, 6, label, align=Align.C, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    _check(pdf, b.extra.get("check"), pdf.get_y(), edge - CHECK_GAP)
    with pdf.local_context():
        pdf.set_draw_color(*RED)
        pdf.set_line_width(0.4)
        pdf.set_dash_pattern(dash=2, gap=1.5)
        pdf.circle(cx, cy, r, style="D")
    pdf.set_y(max(pdf.get_y(), cy + r) + 4)


def _check(pdf, lines, bottom: float, edge: float):
    # The check lines (登记号, the record, 核验码: content.check_lines) flush left in the seal's rows,
    # the last one ending at ``bottom`` (the seal label's line), in space the seal already takes: a
    # paper gets no extra line or page from them. Each line is one cell, never wrapped (a code or a
    # number is read out whole); if the seal leaves too little room (a very long signer), the lines
    # are set smaller rather than broken or run into the seal.
    if not lines:
        return
    room = edge - pdf.l_margin
    pdf.set_font("serif", "", SMALL)
    widest = max(pdf.get_string_width(t) for t in lines)
    if widest > room:
        pdf.set_font("serif", "", max(CHECK_MIN, SMALL * room / widest))
    y = bottom - CHECK_LINE * len(lines)
    for i, t in enumerate(lines):
        pdf.set_xy(pdf.l_margin, y + i * CHECK_LINE)
        pdf.cell(max(room, 0), CHECK_LINE, t, align=Align.L)
    pdf.set_xy(pdf.l_margin, bottom)


def _footer(pdf, b):
    if not b.text:
        return
    y = max(pdf.get_y() + 6, pdf.h - pdf.b_margin - 14)
    if y > pdf.h - pdf.b_margin - 8:
        pdf.add_page()
        y = pdf.get_y()
    pdf.set_y(y)
    pdf.set_draw_color(120, 120, 120)
    pdf.line(pdf.l_margin, y, pdf.w - pdf.r_margin, y)
    pdf.ln(2)
    _text(pdf, b.text, SMALL, "", Align.L, 6)


def _page(pdf, b):
    pdf.add_page()


_DRAW = {
    "title": _title, "number": _number, "subtitle": _subtitle, "copy": _copy, "addressee": _addressee,
    "heading": _heading, "para": _para, "item": _item, "note": _note, "fields": _fields, "table": _table,
    "signatures": _signatures, "seal": _seal, "footer": _footer, "page": _page,
}
