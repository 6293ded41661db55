"""Jilin: 吉民发〔2020〕45号. National outcomes; data-only plugin (notice and citations in TOML)."""

from sealdesk.core.api import hookimpl, load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]
