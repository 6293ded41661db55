"""fpdf2 with sealdesk's paper fonts: every character embedded, nothing else, in milliseconds.

:class:`PaperPDF` is an ``FPDF`` whose fonts are built per document from the glyph store
(:mod:`sealdesk.core.papers.glyphs`, :mod:`sealdesk.core.papers.fontfile`) for exactly the text the
document will print, handed over with :meth:`PaperPDF.text_set`. fpdf2 lays text out with
them as with any TrueType font; at output, :class:`PaperOutput` embeds the built font as
it is (it already is the subset) instead of running fontTools' subsetter, which is what
made a certificate take half a second. Everything else (pages, text, lines, metadata,
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
from fpdf.syntax import Name, PDFArray

from sealdesk.core.papers import fontfile, fonts
from sealdesk.core.papers.glyphs import store


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
    """An A4 document with a serif (宋体) face holding exactly ``text``'s characters and a bold
    face holding ``bold_text``'s (titles and headings: rare name characters are not converted twice).

    ``created`` is the paper's fixed creation date (the register entry's time): with it and
    the same text, two renderings are byte-identical, which is what lets the register keep
    a paper's SHA-256 and ``sealdesk paper verify`` recognise it.
    """

    def __init__(self, text: str, bold_text: str = "", *, created: dt.datetime, title: str, official_font: str | None = None,
                 orientation: str = "portrait"):
        super().__init__(orientation=orientation, unit="mm", format="A4")
        chain = fonts.chain(official_font)
        fonts.check(text + bold_text, chain)
        st = store()
        self._add_paper_font("serif", "", chain, set(text) | set(bold_text), st)
        bold_chain = [fonts.BOLD, *chain] if fonts.BOLD.present and not official_font else chain
        self._add_paper_font("serif", "B", bold_chain, set(bold_text) or {" "}, st)
        self.set_creation_date(created if created.tzinfo else created.astimezone())
        self.set_producer("sealdesk")
        self.set_creator("sealdesk")
        self.set_title(title)
        self.set_lang("zh-CN")
        self.set_auto_page_break(True, margin=20)

    def _add_paper_font(self, family: str, style: str, chain, chars, st) -> None:
        glyphs = st.for_text(chars, chain)
        metrics = st.metrics(chain[0])
        data = fontfile.build(glyphs, metrics, "SealdeskSerif", "Bold" if style else "Regular")
        font = PaperFont.__new__(PaperFont)
        TTFFont.__init__(font, self, io.BytesIO(data), f"{family.lower()}{style}", style)
        font.data = data
        self.fonts[font.fontkey] = font

    def output(self, name: str = "", *args, **kwargs):  # noqa: D102 - fpdf2's, with our producer
        return super().output(name, *args, output_producer_class=PaperOutput, **kwargs)
