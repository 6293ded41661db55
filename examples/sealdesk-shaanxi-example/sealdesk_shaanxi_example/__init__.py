"""陕西省示例县 (shaanxi-example): an ILLUSTRATIVE sealdesk plugin, not a real district's rules.

Everything it adds restates passages of the seed documents (see README.md): one negative item
and one seal rule, both data in the TOML files beside this module.
"""

from sealdesk.core.api import hookimpl, load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    # jurisdiction.toml and catalog.toml beside this module; errors name file and line.
    return [load_jurisdiction(__name__)]
