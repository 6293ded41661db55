"""The plugin manager: discovery through entry points, isolation of broken plugins, overrides, conflicts."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

from sealdesk.core.engine.model import Facts, Outcome, Request
from sealdesk.core.engine.plugins import BUILTIN, Registry
from sealdesk.core.engine.protocol import decide

ON = dt.date(2026, 1, 10)


def _decide(reg, jid, query, **facts):
    return decide(reg.view(jid, ON), Request(query, facts.pop("purpose", ""), "", Facts(facts)))


def test_third_party_plugin_found_through_entry_point(make_plugin):
    make_plugin("test_district")
    reg = Registry()
    assert "test-district" in reg.ids(), reg.errors
    d = _decide(reg, "test-district", "测试别名证明")
    assert d.outcome is Outcome.REFUSE
    assert d.route == "向测试区行政服务中心申请"
    assert d.item.plugin == "test-district"
    # the national list is inherited
    assert _decide(reg, "test-district", "无犯罪记录证明").item.number == 5
    # and the plugin's seal rule applies on issuing outcomes
    base = dict(purpose="公证", liability=True)
    assert _decide(reg, "test-district", "亲属关系证明", **base).outcome is Outcome.REFUSE
    assert _decide(reg, "national", "亲属关系证明", **base).outcome is Outcome.ISSUE


def test_every_item_records_its_plugin(registry):
    for jid in registry.ids():
        for item in registry.view(jid, ON).items:
            assert item.plugin in BUILTIN, (jid, item.id, item.plugin)
            assert item.plugin == item.id.split(".")[0], item.id


def test_malformed_toml_names_file_and_line_and_others_still_decide(make_plugin):
    make_plugin("broken_toml", files={"catalog.toml": "[[negative]]\nnumber = 1\nname = \"未闭合\n"})
    reg = Registry()
    assert "broken-toml" not in reg.ids()
    msgs = [str(e) for e in reg.errors]
    assert any("broken_toml" in m and "catalog.toml:3" in m and "malformed TOML" in m for m in msgs), msgs
    assert _decide(reg, "national", "无犯罪记录证明").outcome is Outcome.REFUSE
    assert len(reg.ids()) == len(BUILTIN)


def test_schema_errors_name_the_line(make_plugin):
    catalog = '[[negative]]\nnumber = 1\nname = "甲证明"\nroute = "去甲处"\ncitations = [{document = "测试府发〔2024〕1号"}]\n\n' \
              '[[negative]]\nnumber = 2\nname = "乙证明"\ncitations = [{document = "测试府发〔2024〕1号"}]\n'
    make_plugin("no_route", files={"catalog.toml": catalog})
    reg = Registry()
    msgs = [str(e) for e in reg.errors]
    assert any("catalog.toml:7" in m and "needs its route" in m for m in msgs), msgs


def test_unknown_field_is_reported(make_plugin):
    catalog = '[[negative]]\nnumber = 1\nname = "甲证明"\nroute = "去甲处"\nrout = "typo"\n' \
              'citations = [{document = "测试府发〔2024〕1号"}]\n'
    make_plugin("typo_field", files={"catalog.toml": catalog})
    msgs = [str(e) for e in Registry().errors]
    assert any("catalog.toml:5" in m and "unknown field 'rout'" in m for m in msgs), msgs


def test_plugin_that_fails_to_import(make_plugin):
    make_plugin("bad_import", files={"__init__.py": "import does_not_exist_anywhere\n"})
    reg = Registry()
    msgs = [str(e) for e in reg.errors]
    assert any("bad-import" in m and "import failed" in m and "does_not_exist_anywhere" in m for m in msgs), msgs
    assert set(reg.ids()) == set(BUILTIN)


def test_plugin_that_raises_in_a_hook(make_plugin):
    src = "from sealdesk.core.engine.hookspecs import hookimpl\n\n@hookimpl\ndef sealdesk_jurisdictions():\n" \
          "    raise RuntimeError('boom in hook')\n"
    make_plugin("raiser", files={"__init__.py": src})
    reg = Registry()
    err = next(e for e in reg.errors if e.plugin == "raiser")
    assert "boom in hook" in err.message and err.file.endswith("raiser/__init__.py:5"), err
    assert set(reg.ids()) == set(BUILTIN)


def test_hook_name_typo_is_caught_by_check_pending(make_plugin):
    src = "from sealdesk.core.engine.hookspecs import hookimpl\n\n@hookimpl\ndef sealdesk_jurisdiction():\n    return []\n"
    make_plugin("typo_hook", files={"__init__.py": src})
    reg = Registry()
    assert any(e.plugin == "typo-hook" and "sealdesk_jurisdiction" in e.message for e in reg.errors), reg.errors


def test_cli_reports_broken_plugin_and_still_decides(make_plugin, tmp_path):
    site = make_plugin("broken_cli", files={"jurisdiction.toml": "id = \n"}).parent
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"}
    r = subprocess.run([sys.executable, "-m", "sealdesk.core.cli.main", "decide", "无犯罪记录证明", "-j", "national", "--json"],
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert "broken_cli/jurisdiction.toml:1" in r.stderr and "malformed TOML" in r.stderr
    assert '"outcome":"refuse"' in r.stdout
    r = subprocess.run([sys.executable, "-m", "sealdesk.core.cli.main", "decide", "x", "-j", "broken-cli"],
                       capture_output=True, text=True, env=env)
    # installed but broken: unavailable, with the reason, never "unknown"
    last = r.stderr.strip().splitlines()[-1]
    assert r.returncode == 2 and last.startswith("sealdesk: 辖区 broken-cli 不可用：") and "未知辖区" not in r.stderr
    assert "broken_cli/jurisdiction.toml:1" in last and "Traceback" not in r.stderr


OVERRIDE_RULES = """\
from sealdesk.core.engine.hookspecs import hookimpl
from sealdesk.core.engine.jurisdiction import load_jurisdiction
from sealdesk.core.engine.model import Citation, Outcome
from sealdesk.core.engine.rules import Rule


def always_refuse(ctx, step):
    return step.decide(Outcome.REFUSE, "测试：一律不予出具", ctx.rule.citation)


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]


@hookimpl
def sealdesk_rules():
    return [Rule("{jid}.unlisted", "{jid}", "unlisted", Citation("测试府发〔2024〕1号", "二"), always_refuse{link})]
"""


def test_deeper_rule_overrides_with_explicit_link(make_plugin):
    make_plugin("strict_district", files={"__init__.py": OVERRIDE_RULES.format(
        jid="strict-district", link=', overrides="national.unlisted"')})
    reg = Registry()
    facts = dict(basis_provided=True, within_duties=True, verifiable=True)
    assert _decide(reg, "strict-district", "未列证明", **facts).outcome is Outcome.REFUSE
    assert _decide(reg, "national", "未列证明", **facts).outcome is Outcome.ISSUE


def test_override_without_link_is_a_load_error(make_plugin):
    make_plugin("unlinked", files={"__init__.py": OVERRIDE_RULES.format(jid="unlinked", link="")})
    reg = Registry()
    assert "unlinked" not in reg.ids()
    assert any("without naming it in 'overrides'" in e.message and "national.unlisted" in e.message
               for e in reg.errors), reg.errors


def test_two_rules_at_same_depth_conflict_naming_both_citations(make_plugin):
    src = OVERRIDE_RULES.format(jid="twin", link=', overrides="national.unlisted"') + (
        "\n\n@hookimpl(specname='sealdesk_rules')\ndef more_rules():\n"
        "    return [Rule('twin.unlisted2', 'twin', 'unlisted', Citation('测试府发〔2024〕1号', '四'), always_refuse,"
        " overrides='national.unlisted')]\n")
    make_plugin("twin", files={"__init__.py": src})
    reg = Registry()
    assert "twin" not in reg.ids()
    err = next(e for e in reg.errors if "conflict" in e.message)
    assert "测试府发〔2024〕1号 二" in err.message and "测试府发〔2024〕1号 四" in err.message, err


def test_duplicate_name_across_items_without_link_is_a_conflict(make_plugin):
    catalog = '[[negative]]\nnumber = 1\nname = "无犯罪记录证明"\nroute = "去测试处"\n' \
              'citations = [{document = "测试府发〔2024〕1号", provision = "附件第1项"}]\n'
    make_plugin("dup_name", files={"catalog.toml": catalog})
    reg = Registry()
    assert "dup-name" not in reg.ids()
    err = next(e for e in reg.errors if e.jurisdiction == "dup-name")
    assert "民发〔2020〕20号 附件第5项" in err.message and "测试府发〔2024〕1号 附件第1项" in err.message, err


def test_load_error_points_at_the_catalog_line_even_when_the_item_names_its_source(make_plugin):
    # ``source`` says where an item's words come from (a seed passage); the error must still say
    # which file and line define the item.
    catalog = '[[negative]]\nnumber = 1\nname = "无犯罪记录证明"\nroute = "去测试处"\n' \
              'source = "seed 004 附件1 第5项"\n' \
              'citations = [{document = "测试府发〔2024〕1号", provision = "附件第1项"}]\n'
    pkg = make_plugin("dup_src", files={"catalog.toml": catalog})
    reg = Registry()
    err = next(e for e in reg.errors if e.jurisdiction == "dup-src")
    assert err.file == f"{pkg / 'catalog.toml'}:1", err


def test_item_override_replaces_parent_item_and_keeps_its_names(make_plugin):
    catalog = '[[negative]]\nnumber = 5\nname = "无犯罪记录查询证明"\nroute = "向测试区公安分局申请"\n' \
              'overrides = "national.negative.5"\n' \
              'citations = [{document = "测试府发〔2024〕1号", provision = "附件第5项"}]\n'
    make_plugin("over_item", files={"catalog.toml": catalog})
    reg = Registry()
    d = _decide(reg, "over-item", "无犯罪记录证明")
    assert d.route == "向测试区公安分局申请" and d.item.id == "over-item.negative.5"


def test_descendant_of_broken_jurisdiction_is_unavailable(make_plugin):
    make_plugin("parent_bad", files={"catalog.toml": "oops = [\n"})
    make_plugin("child_ok", parent="parent-bad")
    reg = Registry()
    assert "child-ok" not in reg.ids()
    assert "parent jurisdiction 'parent-bad' failed to load" in str(reg.broken["child-ok"][0])
