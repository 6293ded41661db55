"""Anhui (Lu'an): 皖民基字〔2021〕11号 and 六民办〔2021〕40号. National outcomes; data-only plugin."""

from sealdesk.core.api import hookimpl, load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]
