"""The counter (受理): from "the school wants a 居住证明" to the answer, the register entry and the paper.

Keys: type the certificate's name (汉字, pinyin initials ``wfzjl`` or full pinyin), ↑↓ pick a
suggestion, Enter moves on; F5 decides at any point. The decision takes the focus: ``y``/``n``
answer the questions the rules need, one at a time with the rule's text; ``o`` asserts
circumstances (情形); ``r`` records; ``p`` prints the paper; ``n`` starts a new request.

An ``ask`` is answered where it can be:

* a name near listed items (个人无犯罪记录证明, 关系证明): the items, numbered; a digit picks one
  (its name goes into 证明名称 and the request is decided again), ``0`` says it is none of them
  (asserts 经核对不属于清单事项, ``not_listed``: decided as an unlisted item);
* a retained item that holds only for its use (政治考核证明: 征兵): what it is limited to, and
  the focus in 用途; Enter or F5 decides again;
* a name that names nothing (证明, 123): the focus back in 证明名称.
"""

from __future__ import annotations

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from .base import Screen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from sealdesk.core.engine.facts import ASSERTIVE, facts_text
from sealdesk.core.papers.content import papers_for
from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import STATUS, Refused

from ..widgets.decision import decision_content, list_label
from ..widgets.field import Field
from ..widgets.keybar import KeyBar
from ..widgets.choices import ChoiceList
from ..widgets.prose import Prose, plain_marks
from ..widgets.rule import Rule
from ..widgets.topbar import TopBar
from .dialogs import AssertFacts, Message



def unusable():
    """The errors of a jurisdiction that cannot decide (its plugin failed, or it is not installed);
    imported when met: the plugin manager loads after the first frame."""
    from sealdesk.core.engine.plugins import BrokenJurisdiction, UnknownJurisdiction

    return BrokenJurisdiction, UnknownJurisdiction


def counter_paper(outcome: str) -> str | None:
    """The paper the counter prints right after recording: any but the certificate, which needs the seal."""
    return next((p for p in papers_for(outcome) if p != "certificate"), None)

FIELDS = ("query", "purpose", "requester", "rname", "rid")


class Answer(VerticalScroll, can_focus=True):
    """The decision panel; focusable so that its one-letter keys work. The line above it says
    when it has them (widgets/rule.py), so a move of the focus repaints that line only."""

    # Textual's Widget repaints a widget whole when it gains or loses the focus; nothing in the
    # panel changes then, so only the rule is redrawn (prevent_default: Widget's handler is skipped).
    def _on_focus(self, event: events.Focus) -> None:
        event.prevent_default()
        self.has_focus = True
        self.screen.query_one(Rule).show_focus(True)
        if self.parent is not None:
            self.parent.post_message(events.DescendantFocus(self))

    def _on_blur(self, event: events.Blur) -> None:
        event.prevent_default()
        self.has_focus = False
        self.screen.query_one(Rule).show_focus(False)
        if self.parent is not None:
            self.parent.post_message(events.DescendantBlur(self))


class CounterScreen(Screen):
    BINDINGS = [
        Binding("f5", "decide_key", "决定"),
        Binding("y", "answer(True)", "是"),
        Binding("n", "answer(False)", "否"),
        # Picking among the items a name may mean; key_display shows 1-9 as one entry, "1-3".
        Binding("1", "pick(1)", "选择"),
        *[Binding(str(n), f"pick({n})", "选择", show=False) for n in range(2, 10)],
        Binding("0", "pick(0)", "都不是"),
        Binding("o", "assert_facts", "情形"),
        Binding("r", "record_key", "登记", priority=True),
        Binding("p", "paper", "打印文书"),
        Binding("c", "compare", "对比"),  # 对比各辖区 (screens/compare.py)
        # A paper printed here is shown in the panel, not in a dialog over the screen: a dialog
        # opening and closing sent the whole screen twice (about 20 KB over SSH).
        Binding("l", "lp", "打印（lp）"),
        Binding("z", "zmodem", "发送（ZMODEM）"),
        Binding("ctrl+n", "new", "新申请"),
        Binding("f6", "case(1)", "下一案例"),  # sealdesk demo only
        Binding("f7", "case(-1)", "上一案例", show=False),
        # Past the last case (F6) or before the first (F7) the key above is dimmed and these say so.
        Binding("f6", "case_edge(1)", "下一案例", show=False),
        Binding("f7", "case_edge(-1)", "上一案例", show=False),
        # Demo only: a fictitious resident's name and ID number; in the footer while the focus is in
        # those fields (where they are asked for), taken anywhere on the counter.
        Binding("f8", "sample_resident(True)", "示例居民"),
        Binding("f8", "sample_resident(False)", "示例居民", show=False),
        Binding("down", "suggest(1)", "下一项", show=False),
        Binding("up", "suggest(-1)", "上一项", show=False),
        Binding("escape", "back", "返回填写", show=False),
        # Every key runs to its end before the next (widgets/field.py): over a slow link keys
        # arrive in bursts ("公证⏎县民政局⏎", "jzzm↓⏎"), and Enter moves the focus before the next
        # field's characters are taken.
        Binding("enter", "enter", "下一项", show=False, priority=True),
        Binding("tab", "move(1)", "下一项", show=False, priority=True),
        Binding("shift+tab", "move(-1)", "上一项", show=False, priority=True),
    ]

    def __init__(self):
        super().__init__()
        self.facts: dict[str, bool] = {}
        self.decision: dict | None = None
        self.entry: int | None = None
        self.status: str | None = None
        self.case_index = -1  # sealdesk demo: the scenario's case on the counter
        self.case = None
        self.matter = 0  # the request on the counter, numbered by app.demo_requests: demo_log keeps one entry each
        self.sample = -1  # sealdesk demo: the sample resident last filled in (F8)
        self.said: str | None = None  # the resident's words, once a candidate replaced them in the field
        self.made = None  # (result, path) of the paper just printed here, while it is shown
        self._recording = False  # a request being written to the register (app.register_call)
        self._after_record: str | None = None

    def compose(self) -> ComposeResult:
        yield TopBar()
        if self.app.scenario is not None:
            yield Static(id="casebar")
        with Vertical(id="form"):
            with Horizontal(classes="row"):
                yield Static("证明名称", classes="lbl")
                yield Field(placeholder="名称或拼音首字母，如 wfzjl", id="query", max_length=100)
            yield ChoiceList(id="suggest", compact=True)
            with Horizontal(classes="row"):
                yield Static("用途", classes="lbl")
                yield Field(placeholder="如 办理低保", id="purpose", max_length=200)
                yield Static("索要单位", classes="lbl")
                yield Field(placeholder="如 县民政局", id="requester", max_length=100)
            with Horizontal(classes="row"):
                yield Static("居民姓名", classes="lbl")
                yield Field(id="rname", max_length=40)
                yield Static("身份证号", classes="lbl")
                yield Field(id="rid", max_length=18)
        yield Rule()
        with Answer(id="answer"):
            # What to do next (keys, 已登记) above the decision: recording changes this alone.
            yield Prose(id="status")
            yield Prose(id="result")
        yield KeyBar()

    def on_mount(self) -> None:
        self.matter = next(self.app.demo_requests)  # the first request of this screen (see action_new)
        suggest = self.query_one("#suggest")
        suggest.can_focus = False  # ↑↓ from the name field drive it; Tab skips it
        self._show_help()
        self.set_focus(self.query_one("#query", Input))
        if self.app.scenario is not None:
            self._show_casebar()
            pending = self.app.demo_case
            if pending is not None:  # F6/F7 to a case of another jurisdiction or date rebuilt this screen
                self.app.demo_case = None
                self.call_after_refresh(self._show_case, pending)
        if self.app.first_frame_shown:  # a later visit (e.g. after 切换辖区)
            self.call_after_refresh(self.load_rules)
        # else SealdeskApp.on_ready calls load_rules once the first frame is on the terminal

    def load_rules(self) -> None:
        # After the first frame: the clerk can start typing while plugins load (keys queue up).
        try:
            self.app.session.suggester
        except unusable():  # its plugin failed: the bar and the panel say so; nothing is decided
            self.query_one(TopBar).refresh_bar()
            self._show_unavailable()
            return
        self.query_one(TopBar).refresh_bar()
        self.load_pinyin()

    @work(thread=True, exclusive=True, group="pinyin")
    def load_pinyin(self) -> None:
        # Cached readings load in milliseconds; without the cache pypinyin's import takes ~0.3 s,
        # so this runs after the first frame, and suggestions catch up when it is done.
        self.app.session.suggester.load_pinyin()
        self.app.call_from_thread(self._refresh_suggestions)
        import sealdesk.core.common.linebreak  # noqa: F401  (the first decision's wrapping, loaded here)

    def _refresh_suggestions(self) -> None:
        q = self.query_one("#query", Input)
        if q.value.strip() and self.focused is q:
            self._fill_suggestions(q.value)

    # -- helpers ---------------------------------------------------------------------------
    def _value(self, wid: str) -> str:
        return self.query_one(f"#{wid}", Input).value.strip()

    def _result(self, content, status: list | None = None) -> None:
        """Show ``content`` in the panel, with ``status`` lines above it. A part that is unchanged
        is not sent to the terminal again (over SSH each redraw of the panel is kilobytes)."""
        head = self.query_one("#status", Prose)
        for widget, new in ((head, Content("\n").join(status) if status else Content("")),
                            (self.query_one("#result", Prose), content)):
            old = widget.content
            if old.plain != new.plain or list(old.spans) != list(new.spans):
                widget.update(new)

    def _show_unavailable(self) -> None:
        """The jurisdiction cannot decide: 辖区 X 不可用 and the one-line reason (plugin, file:line)."""
        why = self.app.session.unavailable() or "本辖区的规则未能加载"
        self._result(Content(""), [Content.styled(why, "bold red"),
                                   Content("此辖区的插件出错，暂不能决定和登记；请联系管理员修复插件（详情已记入错误日志）。"),
                                   Content("F3 登记簿　F1 帮助　Ctrl+P 命令")])

    def _facts_specs(self) -> dict:
        """The facts' wording of this jurisdiction; the plain wording when it cannot decide."""
        s = self.app.session
        try:
            return s.view().facts
        except unusable():
            return s.registry.facts

    def _show_help(self) -> None:
        # In the status lines (three, as many as they always keep): a decision then fills the body
        # below them without moving anything (one layout, one redraw of the panel).
        self._result(Content(""), [Content(
            "输入证明名称（汉字、拼音首字母或全拼），↑↓ 选择建议，Enter 下一项，F5 决定。"),
            Content("决定后：y/n 回答待确认情形，o 主张情形，r 登记，p 打印文书，Ctrl+N 新申请。"),
            Content("F2 受理　F3 登记簿　F4 清单　F1 帮助　Ctrl+P 命令")])

    # -- what an ask needs ------------------------------------------------------------------
    def _candidates(self) -> list[dict]:
        """The items the name may mean, while the clerk is to pick one."""
        d = self.decision
        return list(d.get("candidates") or []) if d and d["outcome"] == "ask" else []

    def _question(self) -> str | None:
        """The first thing the rules ask for: a fact's name or "purpose" (the 用途 field)."""
        d = self.decision
        if d and d["outcome"] == "ask" and not d.get("candidates") and d.get("questions"):
            return d["questions"][0]
        return None

    def key_display(self, binding) -> str | None:
        """The footer's name of a key (KeyBar): the digits as one entry, 1-N for N candidates."""
        if binding.action == "pick(1)":
            n = min(len(self._candidates()), 9)
            return f"1-{n}" if n > 1 else "1"
        return None

    def check_action(self, action: str, parameters) -> bool | None:
        d = self.decision
        if action == "pick":
            n = len(self._candidates())
            return bool(n) and parameters[0] <= n
        if action == "case":
            sc = self.app.scenario
            if sc is None:
                return False
            return 0 <= self.case_index + parameters[0] < len(sc.cases) or None
        if action == "case_edge":
            return self.app.scenario is not None
        if action == "sample_resident":
            if not self._demo():
                return False
            return not parameters[0] or getattr(self.focused, "id", None) in ("rname", "rid")
        if action == "answer":
            q = self._question()
            return q is not None and q != "purpose"
        if action == "assert_facts":
            return bool(d)
        if action == "record_key":
            if not isinstance(self.focused, Answer):
                return False  # an "r" typed into a field is a letter
            return bool(d is None or (d["outcome"] != "ask" and self.entry is None))
        if action == "paper":
            return bool((self.entry is not None or self._recording) and d and counter_paper(d["outcome"]))
        if action == "compare":
            return bool(d)
        if action in ("lp", "zmodem"):
            from sealdesk.core.papers import delivery

            if self.made is None or not isinstance(self.focused, Answer):
                return False  # "l" or "z" typed into a field is a letter
            return bool(delivery.can_print() if action == "lp" else delivery.can_zmodem())
        return True

    # -- suggestions ----------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        # Changed arrives after the keys (a message): a burst has typed on, ↓ or Enter may have
        # moved on already, so only the field's value now counts, and only while it has the focus.
        q = self.query_one("#query", Input)
        if event.input is q and event.value == q.value:
            # "none of these" was said of the name that was there, not of the one typed now
            self.facts.pop("not_listed", None)
            self.said = None
            if self.focused is q:
                self._fill_suggestions(q.value)

    def _hide_suggestions(self) -> None:
        # Emptied, not hidden: the area keeps its height (app.tcss), so nothing below it moves.
        ol = self.query_one("#suggest", OptionList)
        if ol.option_count:
            ol.clear_options()
        self._suggestions = {}
        self._suggested_for = None  # the same letters typed again are suggested for again

    def _fresh_suggestions(self) -> None:
        """The suggestions for the name as it is now (↓ or Enter right after the letters)."""
        q = self.query_one("#query", Input)
        if getattr(self, "_suggested_for", None) != q.value:
            self._fill_suggestions(q.value)

    def _suggest(self, value: str) -> list:
        try:
            sug = self.app.session.suggester
        except unusable():  # nothing to suggest from: deciding says why
            return []
        if not sug.pinyin_ready and any("a" <= ch.lower() <= "z" for ch in value):
            sug.load_pinyin()  # letters typed before the background load finished: load now
        return sug.suggest(value, limit=5) if value.strip() else []

    def _fill_suggestions(self, value: str) -> None:
        ol = self.query_one("#suggest", OptionList)
        found = self._suggest(value)
        self._suggested_for = value
        ol.clear_options()
        if found:
            ascii_ = getattr(self.app, "ascii_borders", False)
            ol.add_options([Option(plain_marks(Content(s.label)) if ascii_ else Content(s.label), id=s.item.id)
                            for s in found])
            ol.highlighted = 0
        self._suggestions = {s.item.id: s for s in found}

    def action_suggest(self, step: int) -> None:
        ol = self.query_one("#suggest", OptionList)
        if self.focused is self.query_one("#query"):
            self._fresh_suggestions()
        if self.focused is self.query_one("#query") and ol.option_count:
            ol.highlighted = ((ol.highlighted or 0) + step) % ol.option_count
        elif step > 0:
            self.focus_next()
        else:
            self.focus_previous()

    def _take_suggestion(self) -> None:
        ol = self.query_one("#suggest", OptionList)
        q = self.query_one("#query", Input)
        chosen = None
        if getattr(self, "_suggested_for", None) == q.value:
            if ol.option_count and ol.highlighted is not None:
                chosen = self._suggestions.get(ol.get_option_at_index(ol.highlighted).id)
        else:  # typed faster than the list was redrawn: take the first for what is there now
            found = self._suggest(q.value)
            chosen = found[0] if found else None
        if chosen is not None:
            with q.prevent(Input.Changed):
                # The name that matched, so an alias or legacy name the resident used is kept.
                q.value = chosen.matched
        self._hide_suggestions()

    def _goto(self, wid: str) -> None:
        self.set_focus(self.query_one(f"#{wid}"))  # synchronous, unlike Widget.focus()

    def action_move(self, step: int) -> None:
        self.focus_next() if step > 0 else self.focus_previous()  # Screen's: synchronous

    def action_enter(self) -> None:
        wid = self.focused.id if self.focused else None
        # The keys typed before this Enter have all been taken (widgets/field.py): values are whole.
        if wid == "query":
            self._fresh_suggestions()
            self._take_suggestion()
            self._goto("purpose")
        elif wid == "purpose":
            if self._question() == "purpose":  # the decision asked for it: decide again at once
                self.action_decide()
            else:
                self._goto("requester")
        elif wid == "requester":
            self._goto("answer")  # keys typed ahead (r, y, n…) go to the decision (or where it asks)
            self.action_decide()
        elif wid == "rname":
            self._goto("rid")
        elif wid == "rid":
            self._record_or_decide()

    def action_record_key(self) -> None:
        # At once (priority): the name and ID number typed next must land in their fields.
        if not self._value("rname") or not self._value("rid"):
            self._ask_resident()
            self._goto("rname" if not self._value("rname") else "rid")
        else:
            self.action_record()

    def _record_or_decide(self) -> None:
        if self.decision and self.decision["outcome"] != "ask" and self.entry is None:
            self.action_record()
        else:
            self.action_decide()

    def action_decide_key(self) -> None:
        if self.focused is self.query_one("#query"):
            self._decide_from_query()
        else:
            self.action_decide()

    def _decide_from_query(self) -> None:
        # F5 straight from the name field: pinyin ("wfzjl") is no certificate's name, so take the
        # suggestion as Enter would; 汉字 are decided as typed (an unlisted name stays unlisted).
        if self._value("query").isascii():
            self._take_suggestion()
        self.action_decide()

    # -- deciding -------------------------------------------------------------------------
    def action_decide(self) -> None:
        self._hide_suggestions()
        query = self._value("query")
        if not query:
            self.app.notify("请先输入证明名称", severity="warning")
            self._goto("query")
            return
        if query.isascii() and query.isalpha():
            # Pinyin that matched no name (a matched one was replaced by the name on Enter or
            # F5): deciding the letters would tell the resident "未列入清单" for a typo.
            self.app.notify(f"没有与“{query}”对应的证明名称：请改正拼音或输入汉字", severity="warning",
                            markup=False)
            self._goto("query")
            return
        if self.entry is not None:  # a new decision after recording starts a new matter
            self.entry = self.status = None
            self.made = None
        s = self.app.session
        try:
            decision = s.preview(query, self._value("purpose"), self._value("requester"), self.facts)
        except InvalidInput as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        except unusable():  # its plugin failed, at load or in a rule just now: no outcome (fail safe)
            self.decision = None
            self.query_one(TopBar).refresh_bar()
            self._show_unavailable()
            self.refresh_bindings()
            return
        self.decision = decision.to_json()
        if self.app.session.sandbox and (self.decision["outcome"] != "ask" or self._teaches_ask()):
            self._log_demo()
        self._show_decision()
        wid = self._focus_after()
        self._goto(wid)
        if wid == "query":  # a name that names nothing: what the clerk types next replaces it
            self.query_one("#query", Input).select_all()
        self.refresh_bindings()

    def _focus_after(self) -> str:
        """Where the clerk continues: the field an ask needs filled, else the decision (its keys)."""
        d = self.decision
        if d and d["outcome"] == "ask" and not d.get("candidates"):
            q = self._question()
            if q == "purpose":
                return "purpose"
            if q is None:  # a query that names nothing
                return "query"
        return "answer"

    def _ask_content(self, d: dict) -> list[Content]:
        """What an ask needs from the clerk, first on the panel."""
        cands = d.get("candidates") or []
        if cands:
            out = [Content.styled("名称与清单事项相近：请问明居民所要的是哪一项，按数字键选择", "bold")]
            out += [Content("  ") + Content.styled(str(i), "bold reverse") + Content(f" {c['name']}（{list_label(c)}）")
                    for i, c in enumerate(cands[:9], 1)]
            out.append(Content("  ") + Content.styled("0", "bold reverse") + Content(" 都不是（按未列入清单事项办理）"))
            return out
        questions = d.get("questions") or []
        if not questions:  # the query names no certificate
            return [Content.styled(f"“{d['query']}”不是证明的名称", "bold"),
                    Content.styled("请问明居民所要证明的具体名称，在“证明名称”栏用汉字输入后按 F5", "bold reverse")]
        q = questions[0]
        if q == "purpose":
            # The explanation's last line: "保留清单第4项“…”只用于：…。请问明本次证明的用途…"
            limit = d["explanation"][-1] if d.get("explanation") else ""
            limit = limit.split("请问明", 1)[0] or limit
            return [Content.styled("问题：本次证明的用途是什么？", "bold"),
                    Content(limit),
                    Content.styled("请在“用途”栏填写用途，按 Enter 或 F5 重新决定", "bold reverse")
                    + Content("（用途不符的，不按保留事项出具）")]
        spec = self._facts_specs().get(q)
        if spec is None:  # not a fact of this view (a plugin's own question): name it as it is
            return [Content.styled(f"问题（{len(questions)} 个待确认）：", "bold") + Content(q),
                    Content.styled("y 是　n 否", "bold reverse")]
        return [Content.styled(f"问题（{len(questions)} 个待确认）：", "bold") + Content(spec.question),
                Content.styled("依据：", "dim") + Content(f"{spec.source}（{spec.citation}）" if spec.source else
                                                          spec.citation),
                Content.styled("y 是　n 否", "bold reverse")]

    def _show_decision(self) -> None:
        d = self.decision
        body = decision_content(d, candidates=False)
        extra: list[Content] = []
        if d["outcome"] == "ask":
            extra = self._ask_content(d)
        elif self.entry is not None:
            extra = [Content.styled(f"已登记：登记号 {self.entry}（{STATUS.get(self.status, self.status)}）", "bold green")]
            paper = counter_paper(d["outcome"])
            if self.made is not None:
                from sealdesk.core.papers import delivery

                result, path = self.made
                keys = [k for k, ok in (("l 用 lp 打印", delivery.can_print()),
                                        ("z 发送到本机（ZMODEM，先说明）", delivery.can_zmodem())) if ok]
                # Three lines, as many as the status keeps (app.tcss): the decision below stays put.
                extra[0] = extra[0] + Content.styled(f"　已生成{result['label']}（{result['bytes'] // 1024 + 1} KB）",
                                                     "bold green")
                try:  # under the community's home: the shorter path, which fits the line
                    shown = path.relative_to(self.app.session.home)
                except ValueError:
                    shown = path
                extra.append(Content(f"保存在：{shown}"))
                extra.append(Content.styled("　".join([*keys, "Esc 关闭"]), "bold"))
            elif paper:
                extra.append(Content("p 打印文书"))
            if d["outcome"] in ("issue", "issue_transitional", "issue_after_consultation"):
                extra.append(Content("下一步：负责人在登记簿（F3）审批，印章保管人用印，然后打印证明"))
        else:
            extra = [Content.styled("r 登记　o 主张情形　Ctrl+N 新申请", "bold")]
        case = self._case_on_counter()
        if case is not None and d["outcome"] != "ask":
            ok = d["outcome"] == case.expect
            extra.insert(0, Content.styled(f"案例预期：{case.expect_label}", "bold")
                         + Content.styled(" ✓ 与决定一致" if ok else " ✗ 与决定不同（规则或日期已变？）",
                                          "green" if ok else "bold red"))
            if case.note:
                extra.insert(1, Content.styled("教学要点：", "bold") + Content(case.note))
        if self.facts:
            extra.insert(0, Content.styled("已确认情形：", "dim")
                         + Content(facts_text(self.facts, self._facts_specs())))
        if self.said and self.said != d["query"]:
            extra.insert(0, Content.styled("居民原说：", "dim") + Content(f"“{self.said}”，经问明按“{d['query']}”办理"))
        self._result(body, extra)

    def action_answer(self, value: bool) -> None:
        q = self._question()
        if q is None or q == "purpose":
            return
        self.facts[q] = value
        self.action_decide()

    def action_pick(self, n: int) -> None:
        """A digit while the items a name may mean are listed: that item, or 0 for none of them."""
        cands = self._candidates()
        if not cands or n > len(cands):
            return
        if n == 0:
            self.facts["not_listed"] = True  # 经核对不属于清单事项: decided as an unlisted item
        else:
            chosen = cands[n - 1]
            self.said = self.said or self._value("query")
            self.facts.pop("not_listed", None)
            q = self.query_one("#query", Input)
            with q.prevent(Input.Changed):
                q.value = chosen["name"]
            q.cursor_position = len(chosen["name"])
        self.action_decide()

    def action_assert_facts(self) -> None:
        specs = [s for s in self._facts_specs().values() if s.kind == ASSERTIVE]

        def done(result: dict | None) -> None:
            if result is not None:
                self.facts = result
                self.action_decide()

        self.app.push_screen(AssertFacts(specs, self.facts), done)

    # -- recording and papers ---------------------------------------------------------------
    def action_record(self) -> None:
        d = self.decision
        if not d or d["outcome"] == "ask" or self.entry is not None:
            return
        name, rid = self._value("rname"), self._value("rid")
        if not name or not rid:
            self._ask_resident()
            self._goto("rname" if not name else "rid")
            return
        if self._recording:
            return  # one matter at a time: the one asked for is being written
        values = (self._value("query"), self._value("purpose"), self._value("requester"), dict(self.facts), name, rid)
        session = self.app.session

        def done(out: dict) -> None:
            self._recording = False
            self.decision = out["decision"]
            self.entry, self.status = out["entry"], out["status"]
            self._show_decision()
            self._goto("answer")
            self.refresh_bindings()
            if self._after_record == "paper":  # p typed while the register was being written
                self._after_record = None
                self.action_paper()

        def failed(exc: BaseException) -> bool:
            self._recording, self._after_record = False, None
            if isinstance(exc, (Refused, *unusable())):  # unusable: its plugin failed since the decision
                self.app.push_screen(Message("不能登记", [str(exc)]))
                self.query_one(TopBar).refresh_bar()
                return True
            if isinstance(exc, InvalidInput):
                self.app.notify(str(exc), severity="error", markup=False)
                self._goto("rid" if "身份证" in str(exc) else "rname")
                return True
            return False  # the app's message box (a register error, or an internal one, logged)

        # Off the screen's thread: a register held by another program makes the clerk wait with
        # a message and Esc, not a frozen screen (app.register_call).
        self._recording = True
        self.app.register_call(lambda desk: session.request(*values, desk=desk), done, failed)

    def paper_made(self, result: dict, path) -> None:
        """A paper printed from the counter: shown in the panel with l, z and Esc (app.print_paper)."""
        self.made = (result, path)
        self._show_decision()
        self._goto("answer")
        self.refresh_bindings()

    def action_lp(self) -> None:
        from .paper import print_with_lp

        if self.made is not None:
            print_with_lp(self.app, self.made[1])

    def action_zmodem(self) -> None:
        from .paper import ask_zmodem

        if self.made is not None:
            ask_zmodem(self.app, self.made[1])

    def action_paper(self) -> None:
        if self._recording:
            self._after_record = "paper"  # printed once the matter is in the register
            return
        if self.entry is None or not self.decision:
            return
        paper = counter_paper(self.decision["outcome"])
        if paper:
            self.app.print_paper(paper, self.entry, shown_by=self)

    # -- sealdesk demo: stepping through a scenario ---------------------------------------------
    def _show_casebar(self) -> None:
        sc = self.app.scenario
        bar = self.query_one("#casebar", Static)
        if self.case is None:
            bar.update(Content.styled(f"演示：{sc.title}", "bold") + Content(f"（{len(sc.cases)} 个案例，F6 开始）"))
            return
        c = self.case
        bits = [f"案例 {self.case_index + 1}/{len(sc.cases)}：{c.query}"]
        if c.purpose:
            bits.append(f"用途：{c.purpose}")
        bar.update(Content.styled("演示 ", "bold") + Content("　".join(bits)))

    def _case_on_counter(self):
        """The scenario's case, while the request on the counter is still that case's (a trainer
        may type another name over it)."""
        c = self.case
        return c if c is not None and c.query == self._value("query") else None

    def action_case(self, step: int) -> None:
        sc = self.app.scenario
        i = self.case_index + step
        if sc is None or not 0 <= i < len(sc.cases):
            return
        case = sc.cases[i]
        s = self.app.session
        jid, on = sc.jurisdiction_of(case), case.on or sc.on
        if jid != s.community.jurisdiction or on != s.on:
            # The case is decided where and when it says (a lesson mixing jurisdictions, a date when
            # a document was in force): that jurisdiction's demo community, its own sandboxed register.
            if jid != s.community.jurisdiction:
                s.switch_jurisdiction(jid)
            s.on = on
            self.app.demo_case = i  # the rebuilt counter shows it (on_mount)
            self.app._reset_modes()
            return
        self._show_case(i)

    def _show_case(self, i: int) -> None:
        sc = self.app.scenario
        self.action_new()
        self.case_index, self.case = i, sc.cases[i]
        for wid, value in (("query", self.case.query), ("purpose", self.case.purpose),
                           ("requester", self.case.requester)):
            q = self.query_one(f"#{wid}", Input)
            with q.prevent(Input.Changed):
                q.value = value
        self.facts = dict(self.case.facts)
        self._show_casebar()
        self.action_decide()

    def action_case_edge(self, step: int) -> None:
        """F6 past the last case, F7 before the first: say where the demo is, and the way back."""
        sc = self.app.scenario
        if sc is None:
            return
        n = len(sc.cases)
        if step > 0:
            self.app.notify(f"已是最后一个案例（共 {n} 个）；F7 上一个", markup=False)
        elif self.case_index < 0:
            self.app.notify(f"演示尚未开始：F6 第一个案例（共 {n} 个）", markup=False)
        else:
            self.app.notify(f"已是第一个案例（共 {n} 个）；F6 下一个", markup=False)

    def _teaches_ask(self) -> bool:
        """The scripted case on the counter expects 待补充: that is what the demo shows, keep it."""
        case = self._case_on_counter()
        return case is not None and case.expect == "ask"

    def _ask_resident(self) -> None:
        demo = "；演示时 F8 填入示例居民（虚构）" if self._demo() else ""
        self.app.notify("登记前请填写居民姓名和身份证号" + demo, severity="warning", markup=False)

    def _log_demo(self) -> None:
        """Keep the request just decided for 保存为演示案例, once: the trainer's lesson is the requests
        shown, each as last decided. Deciding a scenario's case again (F7 back to it, a fact asserted,
        a question answered) replaces its entry where it stands; a request typed at the counter is one
        entry until Ctrl+N or another name; the same request decided twice in a row is kept once."""
        from sealdesk.core.training.scenario import Case

        s = self.app.session
        scripted = self._case_on_counter()
        done = Case(self._value("query"), self.decision["outcome"], self._value("purpose"),
                    self._value("requester"), dict(self.facts), scripted.note if scripted else "",
                    jurisdiction=s.community.jurisdiction, on=s.on)
        key = ("case", self.case_index) if scripted else ("matter", self.matter, done.query)
        log = self.app.demo_log
        # On the app, not this screen: a case of another jurisdiction or date rebuilds the screen
        # (action_case), and its entry must still be found.
        slots = self.app.demo_slots
        at, was = slots.get(key, (None, None))
        if at is not None and at < len(log) and log[at] is was:
            log[at] = done
        elif log and log[-1] == done:
            at, done = len(log) - 1, log[-1]
        else:
            log.append(done)
            at = len(log) - 1
        slots[key] = (at, done)

    # -- sealdesk demo: sample residents (F8) -------------------------------------------------
    def _demo(self) -> bool:
        """A demo (a sandbox or a scenario): never a real community's counter."""
        return self.app.session.sandbox or self.app.scenario is not None

    def action_sample_resident(self, shown: bool = True) -> None:
        """Fill 居民姓名 and 身份证号 with the next fictitious sample resident (the scenario's own
        [[resident]] tables, else the built-in ones), in turn."""
        from sealdesk.core.training.residents import sample_residents

        if not self._demo():
            return
        residents = sample_residents(self.app.scenario)
        self.sample = (self.sample + 1) % len(residents)
        r = residents[self.sample]
        for wid, value in (("rname", r.name), ("rid", r.id)):
            field = self.query_one(f"#{wid}", Input)
            field.value = value
            field.cursor_position = len(value)
        if getattr(self.focused, "id", None) in ("rname", "rid"):
            self._goto("rid")  # Enter records
        self.app.notify(f"示例居民 {self.sample + 1}/{len(residents)}：{r.name}　{r.masked}（虚构，仅供演示）",
                        markup=False)
        self.refresh_bindings()

    def action_compare(self) -> None:
        from .compare import open_compare  # imported on first use, like the other screens

        if self.decision:
            open_compare(self.app, self)

    def action_new(self) -> None:
        # Numbered by the app: a rebuilt counter's requests never take the key of an earlier screen's.
        self.matter = next(self.app.demo_requests)
        for wid in FIELDS:
            q = self.query_one(f"#{wid}", Input)
            with q.prevent(Input.Changed):
                q.value = ""
        self.facts, self.decision, self.entry, self.status = {}, None, None, None
        self.case = None
        self.made = None
        self.said = None
        self._hide_suggestions()
        self._show_help()
        self._goto("query")
        self.refresh_bindings()

    def action_back(self) -> None:
        if self.made is not None:  # Esc closes the paper's lines first
            self.made = None
            self._show_decision()
            self.refresh_bindings()
            return
        self._goto("query")
