"""A list of choices whose highlighted one is marked with ``>``, not by colour alone (issue 16).

On a 16-colour console (TERM=linux) or PuTTY's defaults the highlighted row of Textual's
OptionList came out in the same colours as the others, and Enter took a choice the clerk could not
see. Reverse video (app.tcss) helps where the terminal shows it; the ``>`` in a gutter of two cells
shows everywhere, in monochrome too. ASCII, so never drawn wide by "ambiguous = wide" terminals.
"""

from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import OptionList

MARK, BLANK = "> ", "  "


class ChoiceList(OptionList):
    def _get_left_gutter_width(self) -> int:
        return super()._get_left_gutter_width() + len(MARK)

    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        try:
            index, offset = self._lines[self.scroll_offset.y + y]
        except IndexError:
            index, offset = None, None
        mark = MARK if index is not None and index == self.highlighted and offset == 0 else BLANK
        style = next((seg.style for seg in strip), None)
        return Strip.join([Strip([Segment(mark, style)], len(mark)), strip])
