"""The baseline for bench/tui_bench.py: the smallest Textual app a clerk could type into.

One Input (with a placeholder the benchmark looks for) and a Footer, nothing else:
what any Textual app pays for the interpreter, Textual's imports and its first frame.

    .venv/bin/python bench/minimal_app.py
"""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.widgets import Footer, Input

PLACEHOLDER = "minimal app ready"  # the "input is drawn" marker
FOOTER = "Quit"  # the "footer is drawn" marker


class MinimalApp(App):
    BINDINGS = [Binding("ctrl+q", "quit", FOOTER)]

    def compose(self) -> ComposeResult:
        yield Input(placeholder=PLACEHOLDER, id="query")
        yield Footer()


if __name__ == "__main__":
    MinimalApp().run()
