"""The lists (清单): negative and retained items with their routes, to answer residents' questions.

Each item shows what else it is called (又称): its aliases, legacy names and the residents' words
in force for it (单身证明 for 婚姻状况证明); a word that could mean several items (关系证明) is
listed apart, as one to ask about. The search finds an item by any of them (``Suggester``).
Items are shown under their list's short name (负面清单, 某某县负面清单): each jurisdiction numbers
its own list, so a bare 第1项 could be two items.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from .base import Screen
from textual.widgets import DataTable, Input

from ..widgets.field import Field
from ..widgets.prose import Prose

from ..widgets.keybar import KeyBar
from ..widgets.topbar import TopBar


class ListsScreen(Screen):
    BINDINGS = [Binding("slash", "search", "搜索"), Binding("escape", "clear", "全部", show=False)]

    def compose(self) -> ComposeResult:
        yield TopBar()
        yield Field(placeholder="搜索清单：汉字、拼音首字母或全拼（/）", id="lists_search", max_length=100,
                    on_enter=self._searched)
        yield DataTable(id="items", cursor_type="row")
        with VerticalScroll(id="item_detail"):
            yield Prose(id="item_text")
        yield KeyBar()

    def on_mount(self) -> None:
        t = self.query_one(DataTable)
        t.add_columns("清单", "序号", "证明名称")
        self._fill()
        t.focus()

    def on_screen_resume(self) -> None:
        self.query_one(TopBar).refresh_bar()
        self._fill()

    def _words(self, view) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """Item id -> the resident words for it alone, and -> the words it shares with other items."""
        if getattr(self, "_words_of", (None,))[0] is not view:
            own: dict[str, dict[str, None]] = {}
            shared: dict[str, dict[str, None]] = {}
            for _key, word, items in view.index.words():
                into = shared if len(items) > 1 else own
                for it in items:
                    into.setdefault(it.id, {})[word.name] = None
            self._words_of = (view, {k: list(v) for k, v in own.items()},
                              {k: list(v) for k, v in shared.items()})
        return self._words_of[1], self._words_of[2]

    def _fill(self, query: str = "") -> None:
        from .counter import unusable

        s = self.app.session
        try:
            view = s.view()
        except unusable():  # its plugin failed: no lists to show, and why
            self.items, self.found, self.view = {}, {}, None
            self.query_one(DataTable).clear()
            self.query_one("#item_text", Prose).update(Content.styled(s.unavailable() or "本辖区的规则未能加载", "bold red"))
            return
        self.view = view
        if query:
            found = s.suggester.suggest(query, limit=50)
            items = [x.item for x in found]
        else:
            found = []
            items = list(view.items)  # grouped by list (the national list first), then by number
        self.found = {x.item.id: x for x in found}
        self.items = {it.id: it for it in items}
        t = self.query_one(DataTable)
        t.clear()
        for it in items:
            # The list's short name, not 负面/保留 alone: a county's own 第1项 is not the national 第1项.
            t.add_row(it.list_label, str(it.number), Text(it.name), key=it.id)
        self._show()

    def on_input_changed(self, event: Input.Changed) -> None:
        self._fill(event.value.strip())

    def _searched(self, field) -> None:
        self._fill(field.value.strip())  # the list for what is typed now, not after the last Changed
        self.set_focus(self.query_one(DataTable))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show()

    def _show(self) -> None:
        t = self.query_one(DataTable)
        w = self.query_one("#item_text", Prose)
        if getattr(self, "view", None) is None:  # unavailable: _fill said why
            return
        if not t.row_count:
            w.update(Content("没有符合的清单事项（未列入清单的证明，按“未列入清单”规则决定：在受理中输入即可）"))
            return
        it = self.items[t.coordinate_to_cell_key(t.cursor_coordinate).row_key.value]
        head = Content.styled(it.name, "bold")
        found = self.found.get(it.id)
        if found is not None and found.matched != it.name:  # found by another name: say which
            head += Content.styled(f"　（按“{found.matched}”找到）", "dim")
        lines = [head, Content.styled(f"《{it.title_of_list}》第{it.number}项", "dim")]
        if it.list == "negative":
            lines += [Content.styled("办事途径", "bold"), Content(it.route or "—")]
        else:
            for label, value in (("涉及办理事项", it.matters), ("证明用途", it.purpose),
                                 ("法律法规依据", "；".join(it.basis)), ("证明索要单位", it.requesting_unit),
                                 ("证明方式", it.method)):
                if value:
                    lines.append(Content.styled(f"{label}：", "bold") + Content(value))
        # After the route (what the resident came for): the item's other names can be many.
        own, shared = self._words(self.view)
        names = list(dict.fromkeys([*it.aliases, *it.legacy_names, *own.get(it.id, ())]))
        if names:
            lines.append(Content.styled("又称：", "bold") + Content("、".join(names)))
        if shared.get(it.id):
            lines.append(Content.styled("也可能指本项（须问明）：", "bold") + Content("、".join(shared[it.id])))
        if it.citations:
            lines.append(Content.styled("依据：", "dim") + Content("；".join(c.text() for c in it.citations)))
        w.update(Content("\n").join(lines))

    def action_search(self) -> None:
        self.query_one("#lists_search", Input).focus()

    def action_clear(self) -> None:
        f = self.query_one("#lists_search", Input)
        f.value = ""
        self.query_one(DataTable).focus()
