"""Help (F1): the counter's workflow and every key, in Chinese."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from ..widgets.prose import Prose
from .base import ModalScreen


HELP = """sealdesk 用印台 · 帮助

受理（F2）
  证明名称：输入汉字、拼音首字母（wfzjl）或全拼（wufanzui），↑↓ 选择建议，Enter 下一项。
  用途、索要单位：按居民所说填写；Enter 或 F5 作出决定。
  名称与清单事项相近时列出可能的事项：问明居民后按数字键选定（1 起），0 都不是（按未列入清单事项办理）。
  保留事项只用于特定用途的（如政治考核证明用于征兵），先在“用途”栏填写用途，Enter 或 F5 再决定。
  决定后：y 是 / n 否 回答待确认的情形（每个问题附规则原文）；o 主张情形（如民商事主体明确要求）；
  r 登记（须填写居民姓名、身份证号）；p 打印文书（不予出具告知单、告知承诺书、议事协商记录）；
  c 对比：同一申请在各辖区的决定并列比较，不同之处标 *；Ctrl+N 新申请。
登记簿（F3）
  ↑↓ 选择事项，Enter 详情，/ 搜索，t 按状态筛选，c 校验哈希链。
  a 审批（负责人），s 用印（印章保管人），f 备案，v 作废（须填原因），p 打印证明或文书。
  不能进行的操作会说明原因及所依据的规定。
清单（F4）
  负面清单和保留清单的每一项及其办事途径、又称（别称、原名称、居民常用说法）；/ 搜索（也可按居民常用说法，如 单身）。
文书
  保存到文书目录（社区配置 [papers] folder），有 CUPS 时可用 lp 打印，终端支持时可用 ZMODEM 发送到本机。
演示（sealdesk demo）
  临时登记簿，退出即删除。F6 下一案例、F7 上一案例：填入案例并决定，显示预期结果和教学要点；
  F8 在居民姓名、身份证号处填入示例居民（虚构，校验码有效）；
  Ctrl+P“保存为演示案例”把本次决定过的申请存为案例文件。
  训练测验：sealdesk train 案例 --trainee 姓名（成绩记入文件，sealdesk results 查看）；
  浏览器课堂：sealdesk web 案例。
其他
  Ctrl+P 命令面板（切换身份、切换辖区、决定日期：仅演示社区）；Ctrl+Q 退出。
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,f1,q", "close", "关闭")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="dialog wide"):
            yield Prose(Content(HELP))

    def action_close(self) -> None:
        self.dismiss(None)
