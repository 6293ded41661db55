"""Jilin: 吉民发〔2020〕45号. National outcomes; data-only plugin (notice and citations in TOML)."""

from sealdesk.core.hookspecs import hookimpl
from sealdesk.core.jurisdiction import load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]
