"""National baseline: 民发〔2020〕20号 and its 20-item negative list."""

from sealdesk.core.api import Citation, Rule, hookimpl, load_jurisdiction

from . import rules

DOC = "民发〔2020〕20号"


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]


@hookimpl
def sealdesk_rules():
    return [
        Rule("national.retained", "national", "retained", Citation(DOC, "二"), rules.retained),
        Rule("national.negative", "national", "negative", Citation(DOC, "三"), rules.negative),
        Rule("national.unlisted", "national", "unlisted", Citation(DOC, "三"), rules.unlisted),
        Rule("national.commitment", "national", "commitment", Citation(DOC, "四（四）"), rules.commitment),
        Rule("national.public_interest", "national", "public_interest", Citation(DOC, "二"), rules.public_interest),
    ]
