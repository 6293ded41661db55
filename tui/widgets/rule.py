"""The line above the decision panel, which also says whether the panel has the keys.

The panel used to show its focus by its border (─ to ▀): a change of border repaints the whole
panel, about 5 KB over SSH each time the focus came or went. This one-line widget is all that
changes now. With ``[tui] ascii_borders`` the line is ``-``/``=`` rather than ─/━, which
terminals set to draw East-Asian-ambiguous characters two cells wide would wrap.
"""

from __future__ import annotations

from textual.content import Content
from textual.widget import Widget

FOCUSED_LABEL = " 决定（按键作用于此） "


class Rule(Widget):
    DEFAULT_CSS = """
    Rule {
        height: 1;
        color: $primary;
    }
    Rule.-focused {
        color: $accent;
        text-style: bold;
    }
    """

    def __init__(self, label: str = " 决定 ", **kwargs):
        super().__init__(**kwargs)
        self.label = label

    def render(self) -> Content:
        focused = self.has_class("-focused")
        ascii_ = getattr(self.app, "ascii_borders", False)
        line = ("=" if focused else "-") if ascii_ else ("━" if focused else "─")
        label = FOCUSED_LABEL if focused else self.label
        width = self.size.width
        head = line * 2
        rest = max(0, width - len(head) - Content(label).cell_length)
        return Content.assemble(head, (label, "reverse" if focused else ""), line * rest)

    def show_focus(self, focused: bool) -> None:
        self.set_class(focused, "-focused")
        self.refresh()
