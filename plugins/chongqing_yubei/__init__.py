"""Chongqing–Yubei: unlisted items, four conditions for refusing to stamp, approval–registration–filing."""

from sealdesk.core.api import Citation, Rule, hookimpl, load_jurisdiction

from . import rules

DOC = "渝北区“社区万能章”治理专项行动实施方案"


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]


@hookimpl
def sealdesk_rules():
    return [
        Rule("chongqing-yubei.unlisted", "chongqing-yubei", "unlisted", Citation(DOC, "二（三）"), rules.unlisted,
             overrides="national.unlisted"),
    ]
