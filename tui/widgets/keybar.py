"""The footer: the keys that work now, on one line.

Textual's ``Footer`` builds one widget per key and recomposes all of them whenever the
bindings change (focus moves, a decision arrives): on the counter that was about 120 ms
of the start-up (``bench/tui_bench.py``) and a full footer repaint per change. This is one
widget that redraws its line in place. It shows what ``Footer(compact=True)`` shows: every
binding with ``show=True`` that the screen's ``check_action`` does not hide, the first key
of each action, dimmed when the action is disabled, and the command palette's key at the
right. No mouse: the clerks' terminals have none to click with.

A screen may name a key differently while it is on screen (``key_display(binding)`` returning
text, or None for the usual name): the counter shows its digit keys as one entry, ``1-3 选择``.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual.widget import Widget


class KeyBar(Widget):
    COMPONENT_CLASSES = {"keybar--key", "keybar--description"}
    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        background: $footer-background;
        color: $footer-foreground;
    }
    KeyBar > .keybar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .keybar--description {
        color: $footer-description-foreground;
        background: $footer-description-background;
    }
    """

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen) -> None:
        self.refresh()

    def keys(self, active) -> list[tuple[str, str, bool]]:
        """(key as shown, description, enabled) for each action shown, in binding order, from
        the screen's ``active_bindings`` (which runs every ``check_action``: read it once)."""
        app = self.app
        own = getattr(self.screen, "key_display", None)
        seen: set[str] = set()
        out = []
        for _, binding, enabled, _tooltip in active.values():
            if not binding.show or binding.action in seen:
                continue
            seen.add(binding.action)
            shown = own(binding) if own is not None else None
            out.append((shown or app.get_key_display(binding), binding.description, enabled))
        return out

    def palette_key(self, active) -> tuple[str, str] | None:
        app = self.app
        if not app.ENABLE_COMMAND_PALETTE:
            return None
        binding = active.get(app.COMMAND_PALETTE_BINDING)
        return (app.get_key_display(binding.binding), binding.binding.description) if binding else None

    def render(self) -> Text:
        key_style = self.get_component_rich_style("keybar--key")
        desc_style = self.get_component_rich_style("keybar--description")
        dim = Style(dim=True)
        active = self.screen.active_bindings
        line = Text(no_wrap=True, overflow="ellipsis", end="")
        for key, description, enabled in self.keys(active):
            part = Text.assemble(" ", (key, key_style), " ", (description, desc_style))
            if not enabled:
                part.stylize(dim)
            line.append_text(part)
        palette = self.palette_key(active)
        if palette:
            bar = "|" if getattr(self.app, "ascii_borders", False) else "│"  # │ is ambiguous-width
            right = Text.assemble(bar, (palette[0], key_style), " ", (palette[1], desc_style), " ")
            room = self.size.width - cell_len(right.plain)
            used = cell_len(line.plain)
            if used <= room:
                line.append(" " * (room - used))
                line.append_text(right)
        return line
