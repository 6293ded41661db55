"""Text fields whose keys are taken in the order they were typed, however they arrive (issue 16).

Over a slow SSH link keys arrive in bursts: ``应骋⌫聘⏎`` or ``jzzm↓⏎`` in one read. Textual 8.2
hands a printable key to the focused Input's own queue, but an editing key (Backspace, Ctrl+U,
←) or a screen's key (↓, Enter) goes up through the widgets' queues to the app's bindings, so it
can run before or after the characters around it (Textualize/textual#6605; PR #6631 runs a
widget's own bindings inline). Here the app takes every key itself, one at a time, and finishes
it before the next (:func:`ordered_key`, called from ``SealdeskApp.on_event``):

* in a :class:`Field`, a printable character is inserted, and the field's editing keys run at once;
* any other key runs the bindings of the focused widget and its screen and app at once (↓ in the
  suggestions, Enter to the next field, an OptionList's ↓ and Enter in the quiz);
* a key no binding takes goes to the focused widget as Textual would send it.

Priority bindings (Ctrl+P, F-keys that switch screens) are the app's own and run first, as before.
"""

from __future__ import annotations

from textual import events
from textual.binding import Binding
from textual.widgets import Input, TextArea

# Input's bindings but Enter: in sealdesk a field's Enter belongs to its screen (the next field,
# decide, search); a screen without one gets Input.Submitted as before (:func:`ordered_key`).
_EDITING = [b for b in Input.BINDINGS if not (isinstance(b, Binding) and b.key == "enter")]


class Field(Input, inherit_bindings=False):
    """An Input whose keys are handled in the order typed (see the module doc)."""

    BINDINGS = _EDITING

    def __init__(self, *args, on_enter=None, **kwargs):
        """``on_enter(field)``: what Enter in this field does, at once (a search run, a dialog
        answered), before the keys typed after it; without it Enter is the screen's key."""
        super().__init__(*args, **kwargs)
        self.on_enter = on_enter
        # A blinking cursor is a redraw twice a second: bytes on an idle SSH link (issue 16).
        self.cursor_blink = False
        self._typed = False  # a key was taken since the field was last left (see _on_focus)

    def _on_focus(self, event: events.Focus) -> None:
        # Keys are taken at once, but the Focus event comes through the queue: in "⇥110105…" sent as
        # one burst, the first digit is already in the field when Focus arrives, and Input's
        # select-on-focus would select it and let the next digit replace it (a 17-digit ID number).
        # Text typed before Focus arrived is kept; a field entered with nothing typed yet selects
        # its text as Input does, so typing replaces what was there. (Textual calls each class's
        # handler in turn: Input's runs after this one, so it only needs the flag off meanwhile.)
        if self._typed and self.select_on_focus:
            self.select_on_focus = False
            self.call_later(setattr, self, "select_on_focus", True)

    def _on_blur(self, event: events.Blur) -> None:
        self._typed = False  # Input's own _on_blur runs after this one

    async def take_key(self, event: events.Key) -> bool:
        """Handle ``event`` now if it is the field's own: a character, an editing key, or Enter
        when the field has its own :attr:`on_enter`."""
        if event.key == "enter" and self.on_enter is not None:
            self.on_enter(self)
            return True
        if event.is_printable:
            self._typed = True
            await self._on_key(event)  # Input's: insert the character at the cursor
            return True
        for binding in self._bindings.key_to_bindings.get(event.key, ()):
            if await self.app.run_action(binding.action, self):  # True when it ran
                self._typed = True
                return True
        return False


async def ordered_key(app, event: events.Key) -> bool:
    """Run ``event`` to the end, now, in the app's own task; False if it should go on as Textual
    would send it (to the focused widget's queue)."""
    focused = app.focused
    if isinstance(focused, Field):
        if await focused.take_key(event):
            return True
    elif isinstance(focused, (Input, TextArea)):
        return False  # Textual's own text widgets (the command palette's): their usual path, whole
    if await app._check_bindings(event.key):  # focused widget first, then its containers, screen, app
        return True
    if isinstance(focused, Field) and event.key == "enter":
        await focused.action_submit()
        return True
    return False
