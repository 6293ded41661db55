"""sealdesk core: certificate items, policy documents, the decision protocol, plugins."""

from __future__ import annotations

import datetime as dt

from sealdesk.core.engine.model import Decision, Facts, Outcome, Request

__version__ = "0.1.0"


def decide(jurisdiction: str, query: str, *, purpose: str = "", requester: str = "",
           facts: dict[str, bool] | None = None, on: dt.date | None = None, registry=None) -> Decision:
    """Decide one request in ``jurisdiction`` on date ``on`` (default: today).

    >>> decide("national", "无犯罪记录证明").outcome.value
    'refuse'
    """
    from sealdesk.core.engine.plugins import default_registry
    from sealdesk.core.engine.protocol import decide as _decide

    reg = registry or default_registry()
    view = reg.view(jurisdiction, on or dt.date.today())
    return _decide(view, Request(query, purpose, requester, Facts(facts or {})))


__all__ = ["decide", "Decision", "Facts", "Outcome", "Request", "__version__"]
