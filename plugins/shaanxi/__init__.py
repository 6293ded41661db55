"""Shaanxi: the seal rule on liability and registration of transitional issues (data-only plugin)."""

from sealdesk.core.hookspecs import hookimpl
from sealdesk.core.jurisdiction import load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]
