"""Page layout for papers: boxes stacked down a text block, broken into pages, drawn through one
display list.

:mod:`sealdesk.core.papers.typeset` turns a paper's blocks into :class:`Box` es (a line of text, a
table row, the seal) measured with :class:`Face` (advances from the glyph store, the same numbers
the paper font will carry). :func:`paginate` breaks them into pages with the keep-together rules
of official papers, expressed as ``keep`` (no page break between a box and the next):

* a chain of kept boxes that does not fit on the page goes to the next page whole, unless one of
  its boxes may ``tighten`` the page (the seal, the receipt line, the footer): then the page's line
  pitch is first reduced, every shrinkable box alike, down to its minimum (``Box.shrink``), and the
  space between blocks with it;
* a chain taller than a page is broken where it must (the rules give way, nothing is lost);
* a ``foot`` box (the footer) is set at the foot of its page;
* a box with a ``head`` (a table row) that starts a page brings its table's header row first.

Everything drawn goes through :class:`Canvas`; its :meth:`Canvas.text` is the one way a string
reaches the PDF, and it records every character per font, so the paper fonts are built from what
is actually drawn: page numbers, digits of number cells and dashes included (issue 17: a notice
once crashed because a table's digits never reached the font). :func:`draw` replays the display
list with fpdf2 (:class:`sealdesk.core.papers.pdf.PaperPDF`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from sealdesk.core.papers import fonts as fontchain
from sealdesk.core.papers.glyphs import Glyph

MM = 25.4 / 72  # mm per pt
EPS = 0.01  # mm: what float rounding may add to a measured height or width
GAP_SHRINK = 0.5  # the share of the space between blocks a tightened page gives up, as lines give theirs


class Face:
    """A font as the layout measures and draws it: the chain it comes from, the advances (1/1000 em)
    of the characters met so far, and the PDF font ``key`` it is drawn with. ``stroke`` (em) > 0 is
    a synthesised bold: the outlines of ``key`` filled and stroked (the configured fonts have no
    bold face)."""

    def __init__(self, key: str, chain, store, bold: bool = False, stroke: float = 0.0, glyphs=None):
        self.key = key
        self.chain = chain
        self.bold = bold
        self.stroke = stroke
        self._store = store
        self.glyphs: dict[str, Glyph] = {} if glyphs is None else glyphs
        self.metrics = store.metrics(chain[0])
        # The baseline lies this far (em) below the middle of the em box: text is centred on its line.
        self.mid = (self.metrics.ascent + self.metrics.descent) / 2000
        self._adv: dict[str, int] = {}

    def synthetic_bold(self, stroke: float = 0.03) -> Face:
        """This face drawn bold by stroking its outlines ``stroke`` em wide: same glyphs, same font."""
        face = Face(self.key, self.chain, self._store, bold=True, stroke=stroke, glyphs=self.glyphs)
        face._adv = self._adv
        return face

    def load(self, text: str) -> None:
        """Look up the glyphs of ``text``'s characters not met yet. A character no font has is left
        out (the paper is refused by :func:`check` before anything is printed); spaces and format
        characters that no font draws get an empty glyph, so nothing drawn is missing from a font."""
        need = {ch for ch in text if ch not in self._adv}
        if not need:
            return
        for g in self._store.for_text(need, self.chain):
            ch = chr(g.cp)
            self.glyphs[ch] = g
            self._adv[ch] = g.advance
        for ch in need - self._adv.keys():
            if fontchain._printable(ch):
                self._adv[ch] = 1000  # no font has it: measured as a full-width character until refused
            else:
                space = self.glyphs.get(" ")
                if space is None:
                    self.load(" ")
                    space = self.glyphs.get(" ")
                advance = space.advance if space is not None and ch.isspace() else 0
                self.glyphs[ch] = Glyph(ord(ch), advance, b"", 0, 0)
                self._adv[ch] = advance

    def width(self, s: str, size: float) -> float:
        """Width in mm of ``s`` at ``size`` pt, without character spacing."""
        adv = self._adv
        try:
            units = sum(map(adv.__getitem__, s))
        except KeyError:
            self.load(s)
            units = sum(map(adv.__getitem__, s))
        return units * size * MM / 1000


class Canvas:
    """The display list of a paper, page by page. :meth:`text` is the only way a string is drawn: it
    records each character under the font that draws it, and those are the fonts' characters."""

    def __init__(self):
        self.pages: list[list[tuple]] = []
        self.chars: dict[str, dict[str, None]] = {}  # font key → characters, in the order first drawn
        self.faces: dict[str, Face] = {}

    def page(self) -> None:
        self.pages.append([])

    def text(self, face: Face, size: float, x: float, baseline: float, s: str, spacing: float = 0.0) -> None:
        """``s`` at ``x`` on ``baseline`` (mm), ``spacing`` mm between characters (PDF ``Tc``)."""
        if not s:
            return
        face.load(s)
        self.chars.setdefault(face.key, {}).update(dict.fromkeys(s))
        self.faces.setdefault(face.key, face)
        self.pages[-1].append(("text", face.key, size, x, baseline, s, spacing / MM, face.stroke * size))

    def line(self, x1: float, y1: float, x2: float, y2: float, width: float = 0.2, color=(0, 0, 0)) -> None:
        self.pages[-1].append(("line", x1, y1, x2, y2, width, color))

    def rect(self, x: float, y: float, w: float, h: float, fill=None, width: float = 0.2) -> None:
        """A cell: ``fill`` (RGB) under a black border."""
        self.pages[-1].append(("rect", x, y, w, h, fill, width))

    def circle(self, cx: float, cy: float, r: float, color, width: float, dash: tuple[float, float]) -> None:
        self.pages[-1].append(("circle", cx, cy, r, color, width, dash))


def check(canvas: Canvas) -> None:
    """Raise :class:`fonts.FontError` (Chinese, every character named) when a drawn character is in
    no font of its face's chain."""
    for key, chars in canvas.chars.items():
        fontchain.check("".join(chars), canvas.faces[key].chain)


def draw(canvas: Canvas, pdf) -> None:
    """Build ``pdf``'s fonts from the characters ``canvas`` draws and replay its pages."""
    check(canvas)
    for key, chars in canvas.chars.items():
        face = canvas.faces[key]
        glyphs = sorted((face.glyphs[ch] for ch in chars), key=lambda g: g.cp)
        pdf.add_paper_font(key, glyphs, face.metrics, bold=face.bold and not face.stroke)
    for ops in canvas.pages:
        pdf.add_page()
        for op in ops:
            kind = op[0]
            if kind == "text":
                _, key, size, x, baseline, s, spacing, stroke = op
                pdf.put_text(key, size, x, baseline, s, spacing, stroke)
            elif kind == "line":
                _, x1, y1, x2, y2, width, color = op
                with pdf.local_context(draw_color=color, line_width=width):
                    pdf.line(x1, y1, x2, y2)
            elif kind == "rect":
                _, x, y, w, h, fill, width = op
                with pdf.local_context(fill_color=fill, line_width=width):
                    pdf.rect(x, y, w, h, style="DF" if fill else "D")
            elif kind == "circle":
                _, cx, cy, r, color, width, dash = op
                with pdf.local_context(draw_color=color, line_width=width,
                                       dash_pattern={"dash": dash[0], "gap": dash[1]}):
                    pdf.circle(cx, cy, r, style="D")


# -- boxes and pages ------------------------------------------------------------------------------
@dataclass(eq=False)
class Box:
    """Something stacked down the text block: ``h`` mm tall, drawn by ``paint(canvas, top, height)``
    (``height``: ``h`` less what tightening took)."""

    h: float
    paint: Callable[[Canvas, float, float], None] | None = None
    before: float = 0.0  # space above it, dropped at the top of a page
    shrink: float = 0.0  # what it gives up when its page is tightened (a line: its pitch down to 1.3 em;
    # and the space above it GAP_SHRINK of itself)
    keep: bool = False  # no page break between this box and the next
    tighten: bool = False  # its page may be tightened to keep its chain on it (seal, receipt, footer)
    foot: bool = False  # set at the foot of its page (the footer); nothing follows it there
    head: Box | None = None  # set first on a page this box starts (its table's header row)
    kind: str = ""


class _Page:
    def __init__(self, height: float):
        self.height = height
        self.boxes: list[tuple[Box, float]] = []  # (box, space above it as placed)
        self.natural = 0.0
        self.shrink = 0.0
        self.tight = 0.0  # the share of each box's shrink taken (0: the natural pitch, 1: the minimum)
        self.closed = False

    def _plan(self, chain: list[Box]) -> list[tuple[Box, float]]:
        if not self.boxes and chain[0].head is not None:
            chain = [chain[0].head, *chain]
        plan = []
        for b in chain:
            plan.append((b, b.before if (self.boxes or plan) else 0.0))
        return plan

    def take(self, chain: list[Box], tighten: bool) -> bool:
        """Place the whole chain if it fits (tightening the page if allowed and needed)."""
        if self.closed:
            return False
        plan = self._plan(chain)
        natural = self.natural + sum(b.h + gap for b, gap in plan)
        shrink = self.shrink + sum(b.shrink + GAP_SHRINK * gap for b, gap in plan)
        tight = self.tight
        if natural - tight * shrink > self.height + EPS:
            if not tighten or shrink <= 0:
                return False
            tight = (natural - self.height) / shrink
            if tight > 1:
                return False
        self.boxes += plan
        self.natural, self.shrink, self.tight = natural, shrink, tight
        self.closed = any(b.foot for b in chain)
        return True

    def take_some(self, chain: list[Box]) -> int:
        """As many boxes of a chain too tall for a page as fit, at least one; how many."""
        n = 0
        for b in chain:
            if n and not self.take([b], True):
                break
            if not n:
                plan = self._plan([b])
                self.boxes += plan
                self.natural += sum(x.h + gap for x, gap in plan)
                self.shrink += sum(x.shrink + GAP_SHRINK * gap for x, gap in plan)
            n += 1
        return n

    def placed(self) -> list[tuple[Box, float, float]]:
        """(box, top, height) from the top of the text block, tightened as decided."""
        out, y = [], 0.0
        for b, gap in self.boxes:
            h = b.h - self.tight * b.shrink
            top = y + gap * (1 - self.tight * GAP_SHRINK)
            out.append((b, top, h))
            y = top + h
        # The first foot box, and what is kept with it after it, goes down to the foot of the page.
        foot = next((i for i, (b, _, _) in enumerate(out) if b.foot), None)
        if foot is not None and y < self.height:
            out[foot:] = [(b, top + self.height - y, h) for b, top, h in out[foot:]]
        return out


def paginate(boxes: list[Box], height: float, tighten_all: bool = False) -> list[list[tuple[Box, float, float]]]:
    """The boxes broken into pages of a ``height`` mm text block: (box, top, height) per page.

    ``tighten_all``: any page may be tightened to keep what follows on it (a paper that must fit
    one page a copy); else only for a chain with a ``tighten`` box."""
    pages: list[_Page] = [_Page(height)]
    i, n = 0, len(boxes)
    while i < n:
        j = i
        while j + 1 < n and boxes[j].keep:
            j += 1
        chain = boxes[i:j + 1]
        page = pages[-1]
        if page.take(chain, tighten_all or any(b.tighten for b in chain)):
            i = j + 1
        elif not page.boxes:
            i += page.take_some(chain)
        else:
            pages.append(_Page(height))
            continue
        if page.closed and i < n:
            pages.append(_Page(height))
    return [p.placed() for p in pages]
