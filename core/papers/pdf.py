"""fpdf2 with sealdesk's paper fonts: every character embedded, nothing else, in milliseconds.

:class:`PaperPDF` is an ``FPDF`` whose fonts are built per document from the glyph store
(:mod:`sealdesk.core.papers.glyphs`, :mod:`sealdesk.core.papers.fontfile`) for exactly the characters
the document draws (:meth:`PaperPDF.add_paper_font`: the layout, :mod:`sealdesk.core.papers.layout`,
collects them from the strings it draws, so no drawn character can miss its font). Text is set
where the layout measured it (:meth:`PaperPDF.put_text`); at output, :class:`PaperOutput` embeds
the built font as it is (it already is the subset) instead of running fontTools' subsetter,
which is what made a certificate take half a second. Everything else (pages, lines, metadata,
object layout) is fpdf2's own.

This touches fpdf2's output internals (``OutputProducer._add_fonts`` and the PDF object
classes), so ``pyproject.toml`` pins fpdf2 to the 2.8 series; ``tests/test_papers.py``
reads every paper back with pdftotext and renders it with pdftoppm.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io

from fpdf import FPDF
from fpdf.fonts import TTFFont
from fpdf.output import (CIDSystemInfo, OutputProducer, PDFContentStream, PDFFont, PDFFontStream,
                         _build_cmap_blocks, _tt_font_widths)
from fpdf.enums import PDFResourceType
from fpdf.syntax import Name, PDFArray

from sealdesk.core.papers import fontfile
from sealdesk.core.papers.glyphs import Glyph, Metrics


class PaperFont(TTFFont):
    """A font built for one document; ``data`` is the whole font file, embedded as it is."""

    __slots__ = ("data",)


class PaperOutput(OutputProducer):
    def _add_fonts(self, *args):
        registry = self.fpdf.fonts  # fpdf2's own dict: hide our fonts from its subsetting loop
        saved = dict(registry)
        ours = [f for f in saved.values() if isinstance(f, PaperFont)]
        for key in [k for k, f in saved.items() if isinstance(f, PaperFont)]:
            del registry[key]
        try:
            objs = super()._add_fonts(*args)
        finally:
            registry.clear()
            registry.update(saved)
        for font in sorted(ours, key=lambda f: f.i):
            objs[font.i] = self._embed(font)
        return objs

    def _embed(self, font: PaperFont) -> PDFFont:
        # The same objects fpdf2 writes for a TrueType font (output.py, CIDFontType2), without
        # the subsetting: codes are fpdf2's, glyph ids those of our font.
        if font.missing_glyphs:  # every character was given to the font up front; a miss is our bug
            raise RuntimeError(f"paper font lacks {''.join(map(chr, font.missing_glyphs))!r}: "
                               "text drawn that was not passed to PaperPDF")
        tag = "".join(chr(65 + b % 26) for b in hashlib.sha256(font.data).digest()[:6])
        fontname = f"{tag}+{font.name}"
        code_to_glyph = {code: g.glyph_id for g, code in font.subset.items() if g is not None}

        composite = PDFFont(subtype="Type0", base_font=fontname, encoding="Identity-H")
        self._add_pdf_obj(composite, "fonts")
        cid_font = PDFFont(subtype="CIDFontType2", base_font=fontname, d_w=font.desc.missing_width,
                           w=_tt_font_widths(font))
        self._add_pdf_obj(cid_font, "fonts")
        composite.descendant_fonts = PDFArray([cid_font])

        def utf16(cp: int) -> str:
            if cp > 0xFFFF:  # a surrogate pair: Extension B names must copy out right
                return f"{0xD800 | (cp - 0x10000) >> 10:04X}{0xDC00 | (cp & 0x3FF):04X}"
            return f"{cp:04X}"

        bfchar = [f"<{code:04X}> <{''.join(utf16(u) for u in g.unicode)}>\n"
                  for g, code in font.subset.items()
                  if g is not None and isinstance(g.unicode, tuple) and g.unicode]
        to_unicode = PDFContentStream((
            "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n"
            "/CIDSystemInfo\n<</Registry (Adobe)\n/Ordering (UCS)\n/Supplement 0\n>> def\n"
            "/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n"
            "1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n"
            f"{_build_cmap_blocks(bfchar, 'bfchar')}"
            "endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend").encode("latin-1"))
        self._add_pdf_obj(to_unicode, "fonts")
        composite.to_unicode = to_unicode

        info = CIDSystemInfo()
        self._add_pdf_obj(info, "fonts")
        cid_font.c_i_d_system_info = info

        desc = font.desc
        desc.font_name = Name(fontname)
        self._add_pdf_obj(desc, "fonts")
        cid_font.font_descriptor = desc

        gid_map = bytearray(2 * (max(code_to_glyph, default=0) + 1))
        for code, gid in code_to_glyph.items():
            gid_map[2 * code:2 * code + 2] = gid.to_bytes(2, "big")
        gid_obj = PDFContentStream(contents=bytes(gid_map), compress=True)
        self._add_pdf_obj(gid_obj, "fonts")
        cid_font.c_i_d_to_g_i_d_map = gid_obj

        stream = PDFFontStream(contents=font.data)
        self._add_pdf_obj(stream, "fonts")
        desc.font_file2 = stream
        font.close()
        return composite


class PaperPDF(FPDF):
    """An A4 document whose fonts are added with :meth:`add_paper_font`, each holding the glyphs of
    the characters the document draws in it, and whose text is set with :meth:`put_text`.

    ``created`` is the paper's fixed creation date (the register entry's time): with it and
    the same text, two renderings are byte-identical, which is what lets the register keep
    a paper's SHA-256 and ``sealdesk paper verify`` recognise it.
    """

    def __init__(self, *, created: dt.datetime, title: str, orientation: str = "portrait"):
        super().__init__(orientation=orientation, unit="mm", format="A4")
        self.set_creation_date(created if created.tzinfo else created.astimezone())
        self.set_producer("sealdesk")
        self.set_creator("sealdesk")
        self.set_title(title)
        self.set_lang("zh-CN")
        self.set_auto_page_break(False)  # the layout places every line and breaks the pages itself

    def add_paper_font(self, key: str, glyphs: list[Glyph], metrics: Metrics, bold: bool = False) -> None:
        """A font named ``key`` holding ``glyphs`` (sorted by code point)."""
        data = fontfile.build(glyphs, metrics, "SealdeskTitle" if key == "title" else "SealdeskSerif",
                              "Bold" if bold else "Regular")
        font = PaperFont.__new__(PaperFont)
        TTFFont.__init__(font, self, io.BytesIO(data), key, "B" if bold else "")
        font.data = data
        self.fonts[key] = font

    def put_text(self, key: str, size: float, x: float, baseline: float, text: str, spacing: float = 0.0,
                 stroke: float = 0.0) -> None:
        """``text`` in font ``key`` at ``size`` pt, starting at ``x`` on ``baseline`` (mm), with a
        character spacing (PDF ``Tc``) of ``spacing`` pt; ``stroke`` > 0 also strokes the outlines
        that many pt wide (render mode 2: the bold of a font that has none). Each text object sets
        its whole state, so no setting leaks from one to the next."""
        font = self.fonts[key]
        self._resource_catalog.add(PDFResourceType.FONT, font.i, self.page)
        shown = f"BT /F{font.i} {size:.2f} Tf {spacing:.3f} Tc {x * self.k:.2f} {(self.h - baseline) * self.k:.2f} Td " \
                f"{font.encode_text(text)} ET"
        if stroke:
            shown = f"q 0 G {stroke:.3f} w 2 Tr {shown} Q"
        self._out(shown)

    def output(self, name: str = "", *args, **kwargs):  # noqa: D102 - fpdf2's, with our producer
        return super().output(name, *args, output_producer_class=PaperOutput, **kwargs)
