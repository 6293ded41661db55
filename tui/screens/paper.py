"""After a paper is made: where it was saved, and how to get it onto paper from an SSH session."""

from __future__ import annotations

import subprocess

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Static

from sealdesk.core.papers import delivery


class PaperDone(ModalScreen[None]):
    BINDINGS = [Binding("l", "lp", "打印（lp）"), Binding("z", "zmodem", "发送到本机（ZMODEM）"),
                Binding("escape,enter", "close", "关闭")]

    def __init__(self, result: dict, path):
        super().__init__()
        self.result, self.path = result, path

    def compose(self) -> ComposeResult:
        r = self.result
        where = f"登记号 {r['entry']} 的" if r.get("entry") else ""
        note = "已登记其 SHA-256" if r["new"] else "与已登记的文书相同"
        keys = ["l 用 lp 打印" if delivery.can_print() else "（本机没有 lp 打印服务）",
                "z 用 ZMODEM 发送到本机" if delivery.can_zmodem() else "（本机没有 sz，无法用 ZMODEM 发送）",
                "Esc 关闭"]
        with Vertical(classes="dialog wide"):
            yield Static(Content.styled(f"已生成{where}{r['label']}", "bold green"))
            yield Static(Content(f"保存在：{self.path}\n{r['bytes'] // 1024 + 1} KB，{note}（第 {r['record']} 条记录）"))
            yield Static(Content("　".join(keys)), classes="hint")

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "lp":
            return bool(delivery.can_print())
        if action == "zmodem":
            return bool(delivery.can_zmodem())
        return True

    def action_lp(self) -> None:
        try:
            line = delivery.print_file(self.path, self.app.session.community.printer or None)
        except delivery.DeliveryError as exc:
            self.app.notify(str(exc), severity="error", markup=False)
            return
        self.app.notify(f"已送打印机：{line}", markup=False)

    def action_zmodem(self) -> None:
        # sz writes the file down the terminal itself: hand the terminal over while it runs.
        with self.app.suspend():
            subprocess.run(delivery.zmodem_command(self.path), check=False)
        self.app.notify("已通过 ZMODEM 发送（请在终端软件的下载目录查看）", markup=False)

    def action_close(self) -> None:
        self.dismiss(None)
