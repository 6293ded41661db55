"""Screens that do not redraw the whole terminal when the focus moves (issue 16).

Textual's ``Screen.focused`` is a reactive that repaints the whole screen whenever it changes: every
Enter or Tab from one field to the next sent the full 80×24 screen again (about 6 KB; a second
at 64 kbit/s). The widgets that gain and lose the focus repaint themselves (their ``:focus``
styles), which is all that changes, so here ``focused`` does not repaint. Every sealdesk screen
derives from these.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from textual import screen as _screen
from textual.reactive import Reactive
from textual.widget import Widget

ResultType = TypeVar("ResultType")


class _QuietFocus:
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)


class Screen(_QuietFocus, _screen.Screen[ResultType], Generic[ResultType]):
    pass


class ModalScreen(_QuietFocus, _screen.ModalScreen[ResultType], Generic[ResultType]):
    pass
