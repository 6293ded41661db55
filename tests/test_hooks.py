"""Every hook is documented (when, returns, example) and has a test named test_hook_<name>."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
from pathlib import Path

from sealdesk.core import hookspecs
from sealdesk.core.facts import ASSERTIVE, FactSpec
from sealdesk.core.model import Outcome
from sealdesk.core.plugins import Registry

HOOKS = sorted(n for n, f in vars(hookspecs).items() if n.startswith("sealdesk_") and callable(f))


def _test_names() -> set[str]:
    names = set()
    for path in Path(__file__).parent.glob("test_*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names |= {n.name for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)}
    return names


def test_there_are_hooks():
    assert {"sealdesk_jurisdictions", "sealdesk_rules", "sealdesk_facts"} <= set(HOOKS)


def test_every_hook_is_documented():
    for name in HOOKS:
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "Called" in doc, f"{name}: docstring must say when it is called"
        assert "Returns" in doc, f"{name}: docstring must say what it returns"
        assert "Example::" in doc and "@hookimpl" in doc, f"{name}: docstring needs an example with @hookimpl"


def test_every_hook_has_a_test_of_its_own():
    names = _test_names()
    missing = [h for h in HOOKS if f"test_hook_{h}" not in names]
    assert not missing, f"hooks without a test_hook_<name>: {missing}"


# -- the hooks' own tests -------------------------------------------------------------
def test_hook_sealdesk_jurisdictions(registry):
    # the seven built-in jurisdictions, each extending exactly one parent
    assert set(registry.ids()) == {"national", "jilin", "qinghai", "shaanxi", "anhui-luan", "chongqing",
                                   "chongqing-yubei"}
    assert registry.jurisdictions["national"].parent is None
    assert registry.jurisdictions["chongqing-yubei"].parent == "chongqing"
    assert all(registry.jurisdictions[j].parent == "national" for j in
               ("jilin", "qinghai", "shaanxi", "anhui-luan", "chongqing"))


def test_hook_sealdesk_rules(registry):
    assert registry.rules["qinghai.unlisted"].overrides == "national.unlisted"
    assert registry.rules["chongqing-yubei.unlisted"].overrides == "national.unlisted"
    view = registry.view("qinghai", dt.date(2026, 1, 10))
    assert view.rules["unlisted"].id == "qinghai.unlisted"
    lapsed = registry.view("qinghai", dt.date(2026, 8, 4))
    assert lapsed.rules["unlisted"].id == "national.unlisted"


class _FactPlugin:
    @hookspecs.hookimpl
    def sealdesk_facts(self):
        return [FactSpec("flood_zone", ASSERTIVE, "位于蓄洪区", "申请人住所是否位于蓄洪区？", "", "", "national")]


class _DupFactPlugin:
    @hookspecs.hookimpl
    def sealdesk_facts(self):
        return [FactSpec("verifiable", ASSERTIVE, "重复", "？")]


def test_hook_sealdesk_facts():
    import sealdesk.plugins.national as national

    reg = Registry(plugins=[("national", national), ("facts", _FactPlugin()), ("dup", _DupFactPlugin())])
    assert "flood_zone" in reg.facts and not reg.facts["flood_zone"].required
    assert any(e.plugin == "dup" and "verifiable" in e.message for e in reg.errors)
    from sealdesk.core import decide

    d = decide("national", "无犯罪记录证明", facts={"flood_zone": True}, registry=reg)
    assert d.outcome is Outcome.REFUSE
