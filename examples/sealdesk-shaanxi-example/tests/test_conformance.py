"""The sealdesk conformance suite on this plugin (what `sealdesk plugin check shaanxi-example` runs)."""

from sealdesk.core.api import check


def test_conformance():
    violations = check(name="shaanxi-example")
    assert not violations, "\n".join(str(v) for v in violations)
