"""Prose: running Chinese text on the screen, wrapped by the one line breaker the papers use.

Textual wraps CJK text between any two characters, so a 文号 (民发〔2020〕20号), a date, a command
name (``sealdesk``) or a closing mark at a line's start all happen on the clerk's screen. ``Prose``
wraps with ``sealdesk.core.common.linebreak`` (UAX #14 plus GB/T 15834 避头尾 and protected spans,
issue 16) at its own content width, again on every resize, and renders the lines with Textual's
wrapping off. A ``str`` is plain text, never markup; pass a ``textual.content.Content`` for styles.
"""

from __future__ import annotations

from textual.content import Content
from textual.geometry import Size
from textual.widget import Widget

from rich.cells import cell_len

# The line breaker (and uniseg, about 20 ms to import) is loaded when a text first needs wrapping:
# the counter's first frame has none, so it is not in the launch time (bench/tui_bench.py).


def wrap_offsets(text: str, width: int) -> list[int]:
    if cell_len(text) <= width and "\n" not in text:
        return []
    from sealdesk.core.common.linebreak import wrap_offsets as offsets

    return offsets(text, width)


def cells(text: str) -> int:
    return cell_len(text)


def _as_content(text: str | Content) -> Content:
    content = text if isinstance(text, Content) else Content(str(text))
    return content.expand_tabs(8) if "\t" in content.plain else content


# With ``[tui] ascii_borders``: marks that terminals set to "ambiguous = wide" draw two cells wide,
# replaced by wide (「」・) or ASCII ones of the same meaning; the text's own 汉字 are untouched.
AMBIGUOUS_MARKS = str.maketrans({"“": "「", "”": "」", "‘": "『", "’": "』", "·": "・", "□": "[ ]",
                                 "■": "[x]", "→": "->", "←": "<-", "…": "...", "—": "-", "※": "*",
                                 "○": "o", "●": "*", "√": "v", "×": "x", "▶": ">", "─": "-", "│": "|",
                                 "↑": "上", "↓": "下"})


def plain_marks(content: Content) -> Content:
    """``content`` with :data:`AMBIGUOUS_MARKS` replaced (styles kept where the length is kept)."""
    text = content.plain
    if not any(ch in AMBIGUOUS_MARKS for ch in map(ord, text)):
        return content
    if all(len(AMBIGUOUS_MARKS.get(ord(ch), ch)) == 1 for ch in text):
        return Content(text.translate(AMBIGUOUS_MARKS), spans=list(content.spans))
    return Content(text.translate(AMBIGUOUS_MARKS))


class Prose(Widget):
    """Text or styled ``Content``, wrapped at the widget's width by the shared Chinese line breaker."""

    DEFAULT_CSS = """
    Prose {
        height: auto;
        text-wrap: nowrap;
        text-overflow: clip;
    }
    """

    def __init__(
        self,
        text: str | Content = "",
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
        disabled: bool = False,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, disabled=disabled, markup=False)
        self._content = _as_content(text)
        self._wrapped: dict[int, list[Content]] = {}

    @property
    def content(self) -> Content:
        """What is shown, before wrapping."""
        return self._content

    def update(self, text: str | Content = "") -> None:
        """Show other text (plain ``str`` or styled ``Content``)."""
        before = len(self.wrapped(self.content_size.width)) if self.content_size.width else None
        self._content = _as_content(text)
        self._wrapped.clear()
        self.clear_cached_dimensions()
        # As many lines as before: a repaint of this widget; otherwise the layout moves too.
        same = before is not None and len(self.wrapped(self.content_size.width)) == before
        self.refresh(layout=not same)

    def wrapped(self, width: int) -> list[Content]:
        """The lines shown at ``width`` cells (trailing spaces and line feeds left out)."""
        width = max(1, width - 2 * self.styles.line_pad)
        lines = self._wrapped.get(width)
        if lines is None:
            lines = []
            content = plain_marks(self._content) if getattr(self.app, "ascii_borders", False) else self._content
            for para in content.split("\n", allow_blank=True) if content.plain else [content]:
                # A paragraph that starts indented (help's "  证明名称：…") keeps the indent on every line.
                lead = len(para.plain) - len(para.plain.lstrip(" "))
                if lead and lead < width // 2:
                    indent, body = para[:lead], para[lead:]
                    pieces = body.divide(wrap_offsets(body.plain, width - lead)) if body.plain else [body]
                    lines += [indent + piece.rstrip(" \r\n") for piece in pieces]
                else:
                    pieces = para.divide(wrap_offsets(para.plain, width)) if para.plain else [para]
                    lines += [piece.rstrip(" \r\n") for piece in pieces]
            if len(lines) > 1 and content.plain.endswith("\n") and not lines[-1].plain:
                lines.pop()  # a final line feed ends the last line; it starts none
            if len(self._wrapped) > 8:
                self._wrapped.clear()
            self._wrapped[width] = lines
        return lines

    @property
    def lines(self) -> list[str]:
        """The lines as currently shown, as plain text."""
        return [line.plain for line in self.wrapped(self.content_size.width)]

    def render(self) -> Content:
        lines = self.wrapped(self.content_size.width)
        if pad := self.styles.line_pad:  # Textual pads only the lines it wraps itself
            lines = [line.pad(pad, pad) for line in lines]
        return Content("\n").join(lines)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        paragraphs = self._content.plain.split("\n")
        return max(cells(p.rstrip(" ")) for p in paragraphs) + 2 * self.styles.line_pad

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.wrapped(width)) if width else 0
