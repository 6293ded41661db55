"""Small modal screens: a line of text, a message, a choice, circumstances to assert."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from .base import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..widgets.field import Field
from ..widgets.choices import ChoiceList
from ..widgets.prose import Prose


class AskText(ModalScreen[str | None]):
    """One line of text (a void reason, a certificate's content); Esc cancels (None), Enter on
    an empty line gives ""."""

    BINDINGS = [Binding("escape", "cancel", "取消")]

    def __init__(self, title: str, hint: str = "", value: str = ""):
        super().__init__()
        self.title_text, self.hint, self.value = title, hint, value

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content.styled(self.title_text, "bold"))
            if self.hint:
                yield Prose(Content(self.hint), classes="hint")
            yield Field(value=self.value, id="text", on_enter=lambda f: self.dismiss(f.value.strip()))
            yield Static(Content("Enter 确定　Esc 取消"), classes="hint")

    def on_mount(self) -> None:
        self.set_focus(self.query_one(Input))  # at once: keys typed right after Enter belong here

    def action_cancel(self) -> None:
        self.dismiss(None)


class Message(ModalScreen[None]):
    """A refusal or an error: the message and each reason with its rule and citation."""

    BINDINGS = [Binding("escape,enter", "close", "关闭")]

    def __init__(self, title: str, lines: list[str], style: str = "bold red"):
        super().__init__()
        self.title_text, self.lines, self.style = title, lines, style

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content.styled(self.title_text, self.style))
            with VerticalScroll(classes="body"):
                yield Prose(Content("\n").join(Content(line) for line in self.lines))
            yield Static(Content("Enter/Esc 关闭"), classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)


class Choose(ModalScreen[str | None]):
    """Pick one of ``(value, label)`` choices."""

    BINDINGS = [Binding("escape", "cancel", "取消")]

    def __init__(self, title: str, choices: list[tuple[str, str]], current: str | None = None):
        super().__init__()
        self.title_text, self.choices, self.current = title, choices, current

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content.styled(self.title_text, "bold"))
            yield ChoiceList(*[Option(Content(label), id=value) for value, label in self.choices], id="choices")
            yield Static(Content("↑↓ 选择　Enter 确定　Esc 取消"), classes="hint")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ids = [v for v, _ in self.choices]
        ol.highlighted = ids.index(self.current) if self.current in ids else 0
        self.set_focus(ol)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)


class AssertFacts(ModalScreen[dict | None]):
    """Circumstances the clerk asserts (情形): each with its question and the rule it comes from.

    An OptionList with "[x]"/"[ ]" marks rather than a SelectionList: its ticks differ only by
    colour, which a 16-colour console (TERM=linux) does not show.
    """

    BINDINGS = [Binding("escape", "cancel", "取消"), Binding("space", "toggle", "勾选"),
                Binding("enter", "done", "确定", priority=True)]

    def __init__(self, specs, chosen: dict):
        super().__init__()
        self.specs = list(specs)
        self.ticked = {s.name for s in self.specs if chosen.get(s.name)}
        self.chosen = chosen

    # The text's width inside the wide dialog: 78 less its border (2) and padding (2), the list's
    # border (2), ">" gutter (2) and scrollbar (2), and 2 to spare: a line never re-wrapped by Textual.
    TEXT_WIDTH = 66

    def _prompt(self, spec) -> Content:
        """The box, the label and the question, wrapped by the one line breaker (OptionList would
        cut between any two characters and left "[ ]" alone above its label): the box is joined to
        the label (a no-break space), and lines after the first are indented under the label."""
        from sealdesk.core.common.linebreak import wrap, wrap_offsets

        mark = "[x]" if spec.name in self.ticked else "[ ]"
        text = f"{mark}\u00a0{spec.label}：{spec.question}"
        cut = (wrap_offsets(text, self.TEXT_WIDTH) or [len(text)])[0]
        rest = text[cut:].lstrip(" ")
        more = wrap(rest, self.TEXT_WIDTH - 4) if rest else []
        return Content("\n".join([text[:cut].rstrip(" ").replace("\u00a0", " "), *("    " + line for line in more)]))

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(Content.styled("主张情形（空格勾选，Enter 确定，Esc 取消）", "bold"))
            yield ChoiceList(*[Option(self._prompt(s), id=s.name) for s in self.specs], id="facts")
            yield Prose(id="source", classes="hint")

    def on_mount(self) -> None:
        ol = self.query_one(OptionList)
        ol.highlighted = 0
        self.set_focus(ol)
        self._show(0)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self._show(event.option_index)

    def _show(self, i: int) -> None:
        if 0 <= i < len(self.specs):
            s = self.specs[i]
            self.query_one("#source", Prose).update(Content(f"依据：{s.source}（{s.citation}）" if s.source else ""))

    def action_toggle(self) -> None:
        ol = self.query_one(OptionList)
        i = ol.highlighted
        if i is None:
            return
        spec = self.specs[i]
        self.ticked ^= {spec.name}
        ol.replace_option_prompt_at_index(i, self._prompt(spec))

    def action_done(self) -> None:
        names = {s.name for s in self.specs}
        out = {k: v for k, v in self.chosen.items() if k not in names}
        out.update({name: True for name in self.ticked})
        self.dismiss(out)

    def action_cancel(self) -> None:
        self.dismiss(None)


class Waiting(ModalScreen[None]):
    """The register is held by another program: the clerk sees that, and Esc stops waiting (the
    write is then not made; one already committing completes and is reported as done)."""

    BINDINGS = [Binding("escape", "stop", "取消")]

    def __init__(self, text: str, can_stop: bool, stop):
        super().__init__()
        self.text, self.can_stop, self.stop = text, can_stop, stop

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Content.styled(self.text, "bold"))
            yield Prose(Content("Esc 取消（本次不写入登记簿）" if self.can_stop else
                                "正在等待登记簿服务回答；服务收到的请求不能从这里取消"), id="hint", classes="hint")

    def action_stop(self) -> None:
        if self.can_stop:
            self.stop()
            self.query_one("#hint", Prose).update(Content("正在取消……"))
