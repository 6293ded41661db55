"""Shaanxi: the seal rule on liability and registration of transitional issues (data-only plugin)."""

from sealdesk.core.api import hookimpl, load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]
