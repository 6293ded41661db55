"""Qinghai: 青民发〔2021〕103号 (2021-09-03 – 2026-08-03): five refusal conditions, written commitments,
the 附件3 retained example (农民身份证明)."""

from sealdesk.core.api import Citation, Rule, hookimpl, load_jurisdiction

from . import rules


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]


@hookimpl
def sealdesk_rules():
    return [
        Rule("qinghai.unlisted", "qinghai", "unlisted", Citation(rules.DOC, "二（二）"), rules.unlisted,
             overrides="national.unlisted"),
        Rule("qinghai.commitment", "qinghai", "commitment", Citation(rules.DOC, "二（六）"), rules.commitment,
             overrides="national.commitment"),
    ]
