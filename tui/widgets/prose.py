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

from sealdesk.core.common.linebreak import cells, wrap_offsets


def _as_content(text: str | Content) -> Content:
    content = text if isinstance(text, Content) else Content(str(text))
    return content.expand_tabs(8) if "\t" in content.plain else content


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
            for para in self._content.split("\n", allow_blank=True) if self._content.plain else [self._content]:
                # A paragraph that starts indented (help's "  证明名称：…") keeps the indent on every line.
                lead = len(para.plain) - len(para.plain.lstrip(" "))
                if lead and lead < width // 2:
                    indent, body = para[:lead], para[lead:]
                    pieces = body.divide(wrap_offsets(body.plain, width - lead)) if body.plain else [body]
                    lines += [indent + piece.rstrip(" \r\n") for piece in pieces]
                else:
                    pieces = para.divide(wrap_offsets(para.plain, width)) if para.plain else [para]
                    lines += [piece.rstrip(" \r\n") for piece in pieces]
            if len(lines) > 1 and self._content.plain.endswith("\n") and not lines[-1].plain:
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
