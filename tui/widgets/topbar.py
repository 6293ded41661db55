"""The top line: community, jurisdiction, who acts; and a banner for lapsed documents."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Static

from .prose import Prose


class TopBar(Vertical):
    def compose(self) -> ComposeResult:
        yield Static(id="title")
        yield Prose(id="banner")

    def on_mount(self) -> None:
        self.refresh_bar()

    def refresh_bar(self) -> None:
        s = self.app.session
        c = s.community
        jname = c.jurisdiction
        if s.registry_loaded and c.jurisdiction in s.registry.jurisdictions:
            jname = s.registry.jurisdictions[c.jurisdiction].name
        unavailable = s.unavailable()  # its plugin failed: the counter cannot decide, and says why below
        if unavailable:
            jname += "（不可用）"
        demo = "【训练】" if s.trainee else "【演示】" if c.demo else ""
        date = f" {s.today:%Y-%m-%d}" if s.on else ""
        # Community and person names are data: plain Content, never markup.
        dot = " | " if getattr(self.app, "ascii_borders", False) else " · "  # · is ambiguous-width
        self.query_one("#title", Static).update(Content(f"{demo}{c.name}{dot}{jname}{date}{dot}{s.who()}"))
        # A lapsed document first (it changes decisions), then why this community; wrapped by the
        # line breaker, at most three lines at 80×24 (app.tcss), so nothing is cut off.
        problem = s.register_problem()
        lines = ([unavailable] if unavailable else []) + ([problem] if problem else []) + \
            (s.lapsed() if s.registry_loaded and not unavailable else []) + ([s.notice] if s.notice else [])
        banner = self.query_one("#banner", Prose)
        banner.update(Content("\n").join(Content("注意：" + line) for line in lines) if lines else "")
        banner.display = bool(lines)
