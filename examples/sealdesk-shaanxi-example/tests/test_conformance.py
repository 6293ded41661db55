"""The sealdesk conformance suite on this plugin (what `sealdesk plugin check shaanxi-example` runs)."""

from sealdesk.core.api import check, check_scenarios


def test_conformance():
    violations = check(name="shaanxi-example", scenarios=False)
    assert not violations, "\n".join(str(v) for v in violations)


def test_scenarios():
    """Every case of sealdesk_shaanxi_example/scenarios/*.toml is decided as it states: outcome, item, route."""
    result = check_scenarios(name="shaanxi-example")
    assert result.cases, "no scenario cases found in sealdesk_shaanxi_example/scenarios/"
    assert not result.violations, "\n".join(str(v) for v in result.violations)
