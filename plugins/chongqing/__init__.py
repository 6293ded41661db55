"""Chongqing: the 30-item merged negative list with legacy names, and the 7-item retained list.

Data-only: retained entries carve out the negative entries they name (catalog.toml ``carves_out``),
and the core protocol lets a retained entry win over the negative entry it carves out.
"""

from sealdesk.core.api import hookimpl, load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]
