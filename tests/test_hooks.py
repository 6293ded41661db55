"""Every hook is documented (when, returns, example) and has a test named test_hook_<name>."""

from __future__ import annotations

import ast
import datetime as dt
import inspect
from pathlib import Path

import pytest

from sealdesk.core.engine import hookspecs
from sealdesk.core.engine.facts import ASSERTIVE, FactSpec
from sealdesk.core.engine.model import Outcome
from sealdesk.core.engine.plugins import Registry

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


WORKFLOW_INIT = """\
from sealdesk.core.engine.hookspecs import hookimpl
from sealdesk.core.engine.jurisdiction import load_jurisdiction
from sealdesk.core.engine.model import Citation
from sealdesk.core.register.workflow import WorkflowRule


def same_day(matter, person):
    if matter.approve is not None and matter.approve.at[:10] == matter.entry.at[:10]:
        return "登记当日不得用印"
    return None


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]


@hookimpl
def sealdesk_workflow_rules():
    return [WorkflowRule("{jid}.workflow.next_day", "{jid}", "stamp", same_day,
                         Citation("测试府发〔2024〕1号", "五"), "用印须在登记次日以后")]
"""

WORKFLOW_TOML = """
[[workflow_rules]]
id = "{jid}.workflow.separation"
check = "approver_not_keeper"
text = "审批人与保管人不得为同一人。"
citation = {{document = "测试府发〔2024〕1号", provision = "四"}}
"""


def test_hook_sealdesk_workflow_rules(make_plugin, tmp_path):
    from sealdesk.core.register.community import demo_community, save_community
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.register.workflow import Refused

    from conftest import DISTRICT_TOML, VALID_IDS

    jid = "wf-district"
    make_plugin("wf_district", {"__init__.py": WORKFLOW_INIT.replace("{jid}", jid),
                                "jurisdiction.toml": DISTRICT_TOML.format(jid=jid, parent="national")
                                + WORKFLOW_TOML.format(jid=jid)}, jid=jid)
    reg = Registry()
    assert not [e for e in reg.errors if e.plugin == jid], reg.errors
    view = reg.view(jid, dt.date.today())
    assert [r.id for r in view.workflow] == [f"{jid}.workflow.next_day", f"{jid}.workflow.separation"]
    home = tmp_path / "home"
    save_community(demo_community(home, jid))
    desk = Desk(home, registry=reg)
    entry = desk.request("居民财产证明", facts={"party_requires": True, "within_duties": True, "verifiable": True},
                         resident_name="张三", resident_id=VALID_IDS[0], as_login="clerk")["entry"]
    desk.approve(entry, as_login="director")
    with pytest.raises(Refused) as info:
        desk.stamp(entry, as_login="keeper")
    assert f"{jid}.workflow.next_day" in str(info.value) and "登记当日不得用印" in str(info.value)
    assert "测试府发〔2024〕1号 五" in str(info.value)
    assert desk.register.count() == 2  # nothing written by the refused stamp


def test_workflow_rules_with_an_unknown_check_or_a_raising_hook_are_load_errors(make_plugin):
    from conftest import DISTRICT_TOML

    make_plugin("bad_check", {"jurisdiction.toml": DISTRICT_TOML.format(jid="bad-check", parent="national")
                              + WORKFLOW_TOML.format(jid="bad-check").replace("approver_not_keeper", "no_such")},
                jid="bad-check")
    make_plugin("raising_wf", {"__init__.py": INIT_RAISING_WF}, jid="raising-wf")
    reg = Registry()
    bad = [e for e in reg.errors if e.plugin == "bad-check"]
    assert bad and "unknown check 'no_such'" in bad[0].message and "jurisdiction.toml:" in str(bad[0])
    raising = [e for e in reg.errors if e.plugin == "raising-wf"]
    assert raising and "sealdesk_workflow_rules raised" in raising[0].message
    # A plugin is used whole or not at all: without its workflow rules it would stamp unguarded.
    assert "shaanxi" in reg.ids() and "raising-wf" not in reg.ids() and "bad-check" not in reg.ids()
    assert "sealdesk_workflow_rules raised RuntimeError: broken plugin" in reg.reason("raising-wf")


INIT_RAISING_WF = """from sealdesk.core.engine.hookspecs import hookimpl
from sealdesk.core.engine.jurisdiction import load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]


@hookimpl
def sealdesk_workflow_rules():
    raise RuntimeError("broken plugin")
"""
