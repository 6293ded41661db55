"""The command palette's commands (Ctrl+P), found by 汉字, by pinyin initials or by full pinyin.

A clerk types ``qhxf`` or ``qiehuan`` for 切换身份 as in the counter's name field; Textual's own
provider matches the letters of the title only. Readings come from the counter's pinyin cache
(core/engine/suggest.py), so the palette costs nothing extra once the counter has loaded.
"""

from __future__ import annotations

from textual.command import Hit, Hits
from textual.system_commands import SystemCommandsProvider

from sealdesk.core.engine.suggest import pinyin_readings


class PinyinCommands(SystemCommandsProvider):
    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        q = "".join(query.lower().split())
        commands = list(self.app.get_system_commands(self.screen))
        readings = pinyin_readings([name for name, *_ in commands]) if q.isascii() and q.isalpha() else {}
        for name, help_text, callback, *_ in commands:
            score = matcher.match(name)
            initials, full = readings.get(name, ("", ""))
            if initials.startswith(q) or full.startswith(q):
                score = max(score, 1.0 if initials == q or full == q else 0.9)
            elif q and (q in initials or q in full):
                score = max(score, 0.6)
            if score > 0:
                yield Hit(score, matcher.highlight(name) if matcher.match(name) > 0 else name, callback, help=help_text)
