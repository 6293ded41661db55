"""The rule engine (DOMAIN.md sections 2-7): certificate items and policy documents, residents'
words and name resolution, the plugin registry and its hooks, a jurisdiction's view on a date,
and ``protocol.decide`` — a pure function of the view and the request.

Layer 1: imports only ``sealdesk.core.common``. Plugins use it through ``sealdesk.core.api``.

- ``model``: the concepts (``Citation``, ``CertificateItem``, ``Decision``, ``Outcome``…)
- ``names``, ``vocabulary``, ``suggest``: from what the resident said to a catalog item
- ``jurisdiction``, ``datarules``, ``facts``, ``wording``: what a plugin's TOML declares
- ``hookspecs``, ``plugins``: the pluggy hooks and the registry that isolates broken plugins
- ``catalog``: a jurisdiction's view on a date (documents in force, merged items and rules)
- ``rules``, ``protocol``: rule functions and the decision protocol
"""
