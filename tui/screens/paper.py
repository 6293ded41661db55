"""Papers in the TUI: a certificate's wording before it is printed, and after any paper is made,
where it was saved and how to get it onto paper from an SSH session.

A certificate printed for the first time (:func:`certificate_first`, from ``SealdeskApp.print_paper``):
the clerk types the facts only (the template adds "兹证明" and the purpose clause), the text is
cleaned as :meth:`Desk.paper` cleans it, and :class:`CertificatePreview` shows the sentence as it
will print, saying that printing fixes it: the register keeps the first text for good, and a wrong
one is corrected only by voiding the matter and registering it again.
"""

from __future__ import annotations

import datetime as dt
import os

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from sealdesk.core.papers import content as P
from sealdesk.core.papers import delivery
from sealdesk.core.register.resident import InvalidInput, clean_text

from ..widgets.prose import Prose
from .dialogs import AskText, Message


def print_with_lp(app, path) -> None:
    """``l``: the paper to the printer (CUPS ``lp``), said in a notice either way."""
    try:
        line = delivery.print_file(path, app.session.community.printer or None)
    except delivery.DeliveryError as exc:
        app.notify(str(exc), severity="error", markup=False)
        return
    app.notify(f"已送打印机：{line}", markup=False)


def ask_zmodem(app, path) -> None:
    """``z``: only when the clerk has read what will happen (most terminals, PuTTY and tmux, cannot receive)."""
    app.push_screen(ZmodemAsk(path), lambda go: go and send_zmodem(app, path))


def send_zmodem(app, path) -> None:
    """Hand the terminal to sz (delivery.send_zmodem: timeout, Ctrl+C, exit code) and take it back.

    Textual's ``App.suspend()`` resumes the app only when its block ends normally, so nothing may
    escape the block: every failure becomes the Chinese message shown afterwards."""
    from textual.app import SuspendNotSupported

    sent = failure = None
    try:
        with app.suspend():
            try:
                sent = delivery.send_zmodem(path)
            except delivery.DeliveryError as exc:
                failure = str(exc)
            except (Exception, KeyboardInterrupt) as exc:  # never a traceback, the terminal must come back
                failure = f"未发送：{type(exc).__name__}: {exc}。文件仍在服务器上：{path}"
    except SuspendNotSupported:
        failure = f"未发送：此终端环境不能交给 sz 使用（ZMODEM）。文件仍在服务器上：{path}"
    if sent is not None:
        app.notify(sent.message, markup=False)
    else:
        app.push_screen(Message("未发送", [failure or f"未发送。文件仍在服务器上：{path}"]))


def made_lines(result: dict, path) -> tuple[str, str]:
    """What a paper just made says: what and where, and the size and record."""
    where = f"登记号 {result['entry']} 的" if result.get("entry") else ""
    note = "已登记其 SHA-256" if result["new"] else "与已登记的文书相同"
    return (f"已生成{where}{result['label']}",
            f"保存在：{path}\n{result['bytes'] // 1024 + 1} KB，{note}（第 {result['record']} 条记录）")


class PaperDone(ModalScreen[None]):
    BINDINGS = [Binding("l", "lp", "打印（lp）"), Binding("z", "zmodem", "发送到本机（ZMODEM）"),
                Binding("escape,enter", "close", "关闭")]

    def __init__(self, result: dict, path):
        super().__init__()
        self.result, self.path = result, path

    def compose(self) -> ComposeResult:
        head, body = made_lines(self.result, self.path)
        keys = ["l 用 lp 打印" if delivery.can_print() else "（本机没有 lp 打印服务）",
                "z 发送到本机（ZMODEM，先说明）" if delivery.can_zmodem() else "（本机没有 sz，无法用 ZMODEM 发送）",
                "Esc 关闭"]
        with Vertical(classes="dialog wide"):
            yield Static(Content.styled(head, "bold green"))
            yield Static(Content(body))
            yield Static(Content("　".join(keys)), classes="hint")

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "lp":
            return bool(delivery.can_print())
        if action == "zmodem":
            return bool(delivery.can_zmodem())
        return True

    def action_lp(self) -> None:
        print_with_lp(self.app, self.path)

    def action_zmodem(self) -> None:
        ask_zmodem(self.app, self.path)

    def send_zmodem(self) -> None:
        send_zmodem(self.app, self.path)

    def action_close(self) -> None:
        self.dismiss(None)


class ZmodemAsk(ModalScreen[bool]):
    """What ``z`` will do, said before anything is sent: which terminal programs receive ZMODEM."""

    BINDINGS = [Binding("enter", "send", "发送"), Binding("escape", "cancel", "取消")]

    def __init__(self, path):
        super().__init__()
        self.path = path

    def compose(self) -> ComposeResult:
        wait = f"{delivery.ZMODEM_ANSWER:g}"
        lines = [
            "sz 将通过本次 SSH 连接把文书发送给你电脑上的终端软件，由它存到本机的下载目录。",
            f"能接收：{delivery.ZMODEM_RECEIVERS}（Xshell、SecureCRT 自动接收；MobaXterm 须在{wait}秒内"
            "在终端窗口右键，选“Receive file using Z-modem”）。",
            f"不能接收：{delivery.ZMODEM_NON_RECEIVERS}。屏幕上会出现一行 **B0000…，{wait}秒内没有响应即放弃，"
            "并如实告知未发送。",
            "发送中按 Ctrl+C 随时取消。",
        ]
        with Vertical(classes="dialog wide"):
            yield Static(Content.styled("用 ZMODEM 发送到本机？", "bold"))
            for line in lines:
                yield Prose(line)
            if os.environ.get("TMUX"):
                yield Prose(Content.styled("本会话运行在 tmux 中：ZMODEM 无法穿过 tmux，发送会失败。请改用打印或 SFTP。",
                                           "bold red"))
            yield Prose(f"文件：{self.path}", classes="hint")
            yield Static(Content("Enter 发送　Esc 取消"), classes="hint")

    def action_send(self) -> None:
        self.dismiss(True)

    def action_cancel(self) -> None:
        self.dismiss(False)


# -- a certificate's wording, before it is printed ------------------------------------------------
ASK_TITLE = "证明的事实（不必写“兹证明”和“特此证明”）"
FINAL = "打印即登记：证明的文字以此为准，以后不能修改；如有错误，只能作废本事项后重新登记。"
_MARK = "\ue000"  # where the facts go (private use: clean_text removes it from anything typed)
BLANK = "________"


class _Blank(dict):
    def __missing__(self, key):  # a field the template has and this screen does not know: a blank
        return BLANK


def certificate_wording(shown: dict, community, registry, facts: str) -> Content:
    """The certificate's first page as words (number, addressee, body, signer and date), filled from the
    template for the matter's jurisdiction and date the way ``content.certificate`` fills it, from
    ``Desk.show`` (so the service's register too); ``facts`` in bold and underlined. The ID number is
    the masked one ``show`` gives: the screen never shows it in full."""
    d = shown["decision"]
    view = registry.view(d["jurisdiction"], dt.date.fromisoformat(d["date"]))
    tpl = P.template("certificate", view, registry)
    stamped = shown.get("stamped_at") or ""
    item = d.get("item") or {}
    purpose, requester = d.get("purpose") or "", d.get("requester") or ""
    ctx = _Blank(P.place_fields(community, dt.date.fromisoformat(stamped[:10]) if stamped else dt.date.today()))
    ctx.update(
        entry=shown["entry"], name=shown["resident_name"], id_number=shown["resident_id"], query=d["query"],
        item_name=item.get("name") or "", item_or_query=item.get("name") or d["query"],
        purpose=P.certificate_purpose(purpose) or BLANK, requester=requester or BLANK,
        purpose_or_blank=purpose or BLANK, requester_or_blank=requester or BLANK,
        request_date=P.cn_date(shown.get("at")), jurisdiction_name=view.name,
        serial=shown.get("serial") or BLANK, year=shown.get("year") or BLANK, content=_MARK,
        basis="、".join(P.certificate_basis(d, view)) or BLANK, valid_until=P.cn_date(shown.get("valid_until")),
    )
    fill = lambda key, default="": P.fill(tpl.get(key, default), ctx)  # noqa: E731
    lines = [fill("number"), fill("addressee"), *["　　" + p for p in fill("body", [])],
             f"{fill('signer', '{committee}')}　{fill('date')}"]
    out = []
    for line in lines:
        parts = [Content(part) for part in line.split(_MARK)]
        out.append(Content.styled(facts, "bold underline").join(parts))
    return Content("\n").join(out)


class CertificatePreview(ModalScreen[str | None]):
    """The certificate's words as they will print, before the print that fixes them:
    Enter 打印 (``"print"``), e 修改 (``"edit"``), Esc 取消 (None)."""

    BINDINGS = [Binding("enter", "print", "打印"), Binding("e", "edit", "修改"), Binding("escape", "cancel", "取消")]

    def __init__(self, entry, wording: Content, note: str = ""):
        super().__init__()
        self.entry, self.wording, self.note = entry, wording, note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(Content.styled(f"核对证明的文字（登记号 {self.entry}）", "bold"))
            with VerticalScroll(classes="body"):
                yield Prose(self.wording, id="wording")
            hint = "（屏幕上身份证号部分隐去，证明上打印完整号码。）"
            yield Prose(f"{self.note}{hint}", classes="hint")
            yield Prose(Content.styled(FINAL, "bold"), id="final")
            yield Static(Content("Enter 打印　e 修改　Esc 取消"), classes="hint")

    def action_print(self) -> None:
        self.dismiss("print")

    def action_edit(self) -> None:
        self.dismiss("edit")

    def action_cancel(self) -> None:
        self.dismiss(None)


def _printed_certificate(desk, shown: dict, as_login) -> bool:
    """Whether the matter's certificate has been printed (its text is then recorded for good)."""
    return any(desk.find_paper(h, as_login=as_login).get("paper") == "certificate" for h in shown.get("papers") or [])


def certificate_first(app, entry: int, content: str | None = None) -> bool:
    """Take over printing the certificate of ``entry`` if its text is not yet recorded: ask for the
    facts (unless given), clean them, show :class:`CertificatePreview`, and print only on Enter
    (``app.print_paper(..., confirmed=True)``). False when there is nothing to ask: the certificate
    was printed before (the recorded text prints again), or it cannot be printed at all, which
    :meth:`Desk.paper` then says in its own words."""
    s = app.session
    try:
        shown = s.desk.show(entry, as_login=s.as_login)
        if (shown.get("voided_by") or not shown.get("serial")
                or "certificate" not in P.papers_for(shown["outcome"]) or _printed_certificate(s.desk, shown, s.as_login)):
            return False
    except Exception:  # the register or the service said no: Desk.paper will say why, as before
        return False
    flow = _CertificateFlow(app, entry, shown)
    if content:
        flow.check(content)
    else:
        flow.ask()
    return True


class _CertificateFlow:
    """Ask → clean → preview → print, or back to ask (e), or nothing (Esc)."""

    def __init__(self, app, entry: int, shown: dict):
        self.app, self.entry, self.shown = app, entry, shown

    def ask(self, value: str = "") -> None:
        purpose = self.shown["decision"].get("purpose") or ""
        use = f"，用于办理{purpose}事务" if purpose else ""
        hint = (f"打印为“兹证明<事实>{use}。”，只写事实，"
                f"例如：{P.CONTENT_EXAMPLE}")
        self.app.push_screen(AskText(ASK_TITLE, hint, value), self.check)

    def check(self, text: str | None) -> None:
        if text is None:  # Esc: nothing printed, nothing recorded
            return
        try:
            typed = clean_text(text, "证明事项", P.CONTENT_MAX)
            facts = P.certificate_content(typed)  # what Desk.paper will record, exactly
        except InvalidInput as exc:
            self.app.push_screen(Message("请修改证明的事实", [str(exc)]), lambda _: self.ask(text))
            return
        s = self.app.session
        try:
            wording = certificate_wording(self.shown, s.community, s.registry, facts)
        except Exception as exc:  # a template this screen cannot fill: say so, print nothing
            self.app.push_screen(Message("不能预览证明", [f"无法按模板生成证明的文字：{exc}"]))
            return
        note = "已按文书格式去掉“兹证明”“特此证明”等套语和首尾标点。" if facts != typed.strip() else ""
        self.app.push_screen(CertificatePreview(self.entry, wording, note), lambda choice: self.answer(facts, choice))

    def answer(self, facts: str, choice: str | None) -> None:
        if choice == "print":
            self.app.print_paper("certificate", self.entry, facts, confirmed=True)
        elif choice == "edit":
            self.ask(facts)
        else:
            self.app.notify("未打印证明，证明的文字未登记", markup=False)
