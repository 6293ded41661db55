"""Text measured in terminal cells (a 汉字 takes two), for aligned columns in the CLI and the TUI."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size


def pad(text: str, width: int) -> str:
    """``text`` followed by spaces up to ``width`` cells (never cut)."""
    return text + " " * max(0, width - cell_len(text))


def shorten(text: str, width: int) -> str:
    """``text`` if it fits in ``width`` cells, else cut to fit with a trailing "…"."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, max(1, width - 1)).rstrip() + "…"

