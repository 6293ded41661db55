"""The plugin kit: ``sealdesk plugin new``, ``sealdesk plugin check``, docs/plugins.md and the example.

The end-to-end test follows docs/plugins.md's tutorial with the very TOML blocks the guide
shows, installs the package with pip into a temporary --target directory (never into the
project's .venv) and drives the real command line with that directory on PYTHONPATH, so the
plugin is found through its entry point exactly as after ``pip install``.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sealdesk.core.cli.main import main
from sealdesk.core.kit.conformance import check
from sealdesk.core.kit.scaffold import module_name, scaffold
from sealdesk.core.engine.plugins import BUILTIN, Registry

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"
EXAMPLE = ROOT / "examples" / "sealdesk-shaanxi-example"
EXAMPLES = 40  # random requests per property in subprocess checks (the default is 100)


def sealdesk(*args: str, site: Path | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if site is not None:
        env["PYTHONPATH"] = str(site)
    return subprocess.run([sys.executable, "-m", "sealdesk.core.cli.main", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def pip_install(package: Path, target: Path) -> None:
    """Install ``package`` into ``target`` (a --target dir), not into the project's environment.

    pip builds in the source tree (build/, *.egg-info): build a copy beside ``target`` so that the
    checkout stays clean.
    """
    import shutil

    copy = target.parent / f"src-{package.name}"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    cmd = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps",
           "--target", str(target), str(copy)]
    if importlib.util.find_spec("wheel") is not None:  # build offline with the venv's setuptools
        cmd.insert(4, "--no-build-isolation")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr


def docs_block(marker: str) -> str:
    """The fenced block that follows ``<!-- kit:MARKER -->`` in docs/plugins.md."""
    text = DOCS.read_text(encoding="utf-8")
    m = re.search(r"<!-- kit:" + re.escape(marker) + r" -->\s*```toml\n(.*?)```", text, re.S)
    assert m, f"docs/plugins.md has no block kit:{marker}"
    return m.group(1)


def follow_tutorial(root: Path, jid: str) -> None:
    """Steps 2-4 and 6 of docs/plugins.md (and section 4's words), applied to a package made by ``plugin new``."""
    pkg = root / module_name(jid)
    jpath, cpath = pkg / "jurisdiction.toml", pkg / "catalog.toml"
    text = jpath.read_text(encoding="utf-8")
    text, n = re.subn(r"\[\[documents\]\]\n(?:.*\n)*?# effective_until.*\n", docs_block("documents"), text)
    assert n == 1, "the scaffold's [[documents]] table is not where docs/plugins.md says"
    text = text.replace('description = "TODO: one line on what this jurisdiction adds"',
                        'description = "演示县：一项不予出具证明事项、一条用印规则"')
    jpath.write_text(text + "\n" + docs_block("seal_rule"), encoding="utf-8")
    cpath.write_text(cpath.read_text(encoding="utf-8") + "\n" + docs_block("negative_item"), encoding="utf-8")
    spath = pkg / "scenarios" / f"{jid}-basics.toml"  # step 6: a lesson (the guide's county id replaced)
    spath.write_text(spath.read_text(encoding="utf-8") + "\n" + docs_block("scenario_case").replace("shaanxi-demo.", f"{jid}."),
                     encoding="utf-8")
    (pkg / "vocabulary.toml").write_text(docs_block("vocabulary"), encoding="utf-8")  # 4. Residents' words


# -- plugin new ----------------------------------------------------------------------------
def test_new_writes_an_installable_package(tmp_path):
    root = scaffold("kit-unit", "chongqing", tmp_path, {"national", "chongqing"}, name="重庆市演示区")
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == ["README.md", "pyproject.toml", "sealdesk_kit_unit/__init__.py", "sealdesk_kit_unit/catalog.toml",
                     "sealdesk_kit_unit/jurisdiction.toml", "sealdesk_kit_unit/scenarios/kit-unit-basics.toml",
                     "tests/test_conformance.py"]
    import tomllib

    py = tomllib.loads((root / "pyproject.toml").read_text())
    assert py["project"]["entry-points"]["sealdesk.jurisdictions"] == {"kit-unit": "sealdesk_kit_unit"}
    assert "*.toml" in py["tool"]["setuptools"]["package-data"]["sealdesk_kit_unit"]
    j = tomllib.loads((root / "sealdesk_kit_unit" / "jurisdiction.toml").read_text())
    assert (j["id"], j["parent"], j["name"]) == ("kit-unit", "chongqing", "重庆市演示区")
    assert tomllib.loads((root / "sealdesk_kit_unit" / "catalog.toml").read_text()) == {}  # examples are comments
    test = (root / "tests" / "test_conformance.py").read_text()
    assert 'check(name="kit-unit", scenarios=False)' in test and 'check_scenarios(name="kit-unit")' in test
    assert "scenarios/*.toml" in py["tool"]["setuptools"]["package-data"]["sealdesk_kit_unit"]
    lesson = tomllib.loads((root / "sealdesk_kit_unit" / "scenarios" / "kit-unit-basics.toml").read_text())
    assert lesson["jurisdiction"] == "kit-unit" and lesson["case"][0]["item"] == "无犯罪记录证明"


@pytest.mark.parametrize("argv, says", [
    (["plugin", "new", "Bad Name", "--parent", "national"], "invalid plugin name"),
    (["plugin", "new", "kit-x", "--parent", "atlantis"], "unknown parent jurisdiction 'atlantis'"),
    (["plugin", "new", "shaanxi", "--parent", "national"], "already installed"),
    (["plugin", "new", "kit-x", "--parent", "national", "--level", "galaxy"], "unknown level"),
    (["plugin", "check", "no-such-plugin"], "no installed plugin or jurisdiction named 'no-such-plugin'"),
    (["plugin"], "plugin needs a subcommand"),
])
def test_bad_input_exits_2_with_one_line(tmp_path, capsys, argv, says):
    code = main([*argv, "--dir", str(tmp_path)] if argv[1:2] == ["new"] else argv)
    err = capsys.readouterr().err
    assert code == 2 and says in err and err.count("\n") == 1, err
    assert not list(tmp_path.iterdir())


def test_new_refuses_to_overwrite(tmp_path, capsys):
    assert main(["plugin", "new", "kit-twice", "--parent", "national", "--dir", str(tmp_path)]) == 0
    marker = tmp_path / "sealdesk-kit-twice" / "README.md"
    marker.write_text("mine")
    assert main(["plugin", "new", "kit-twice", "--parent", "national", "--dir", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err and marker.read_text() == "mine"


def test_fresh_scaffold_loads_but_check_reports_the_placeholder(tmp_path, make_plugin):
    root = scaffold("kit-fresh", "shaanxi", tmp_path, set(BUILTIN))
    pkg = root / "sealdesk_kit_fresh"
    make_plugin("sealdesk_kit_fresh", jid="kit-fresh",
                files={p.name: p.read_text(encoding="utf-8") for p in pkg.iterdir() if p.is_file()})
    reg = Registry()
    assert "kit-fresh" in reg.ids(), reg.errors
    found = check(reg, "kit-fresh", max_examples=20)
    assert [v.check for v in found] == ["data"], found
    assert "TODO 文号" in found[0].message and re.search(r"jurisdiction\.toml:\d+$", found[0].where), found[0]


# -- the tutorial, end to end ----------------------------------------------------------------
def test_tutorial_end_to_end(tmp_path):
    """docs/plugins.md: new → document, seal rule, negative item → pip install → check → decide."""
    r = sealdesk("plugin", "new", "kit-county", "--parent", "shaanxi", "--title", "陕西省演示县", "--level", "county",
                 "--dir", str(tmp_path))
    assert r.returncode == 0, r.stderr
    root = tmp_path / "sealdesk-kit-county"
    follow_tutorial(root, "kit-county")
    site = tmp_path / "site"
    pip_install(root, site)
    assert (site / "sealdesk_kit_county" / "catalog.toml").exists()  # package data installed

    r = sealdesk("jurisdictions", "--json", site=site)
    rows = {j["id"]: j for j in json.loads(r.stdout)["jurisdictions"]}
    assert rows["kit-county"]["parent"] == "shaanxi" and rows["kit-county"]["plugin"] == "kit-county", r.stderr

    r = sealdesk("plugin", "check", "kit-county", "--examples", str(EXAMPLES), site=site)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ok: kit-county" in r.stdout and "scenarios: 2 cases, 2 as expected" in r.stdout
    # the generated tests run the same suite and the scenarios
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=root, env=env,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "2 passed" in r.stdout, r.stdout + r.stderr

    # the new negative item is refused with its route, citing the new document
    r = sealdesk("decide", "学生社会实践证明", "--jurisdiction", "kit-county", "--json", site=site)
    d = json.loads(r.stdout)
    assert d["outcome"] == "refuse" and d["item"]["id"] == "kit-county.negative.1", d
    assert d["route"] == "无法律法规依据，不再由基层群众性自治组织出具此项证明"
    assert {"document": "示例县〔示例〕1号", "provision": "附件第1项"} in d["citations"]
    # inherited lists still decide: Shaanxi's parent national list
    d = json.loads(sealdesk("decide", "无犯罪记录证明", "-j", "kit-county", "--json", site=site).stdout)
    assert d["outcome"] == "refuse" and d["item"]["id"] == "national.negative.5"

    # residents' words as docs/plugins.md says: a word, an ambiguous word, a name near the county's item
    d = json.loads(sealdesk("decide", "社会实践证明", "-j", "kit-county", "--json", site=site).stdout)
    assert d["item"]["id"] == "kit-county.negative.1" and d["match"]["kind"] == "word", d
    d = json.loads(sealdesk("decide", "家里情况证明", "-j", "kit-county", "--json", site=site).stdout)
    assert d["outcome"] == "ask" and {c["id"] for c in d["candidates"]} == {"national.negative.1",
                                                                           "national.negative.17"}, d
    d = json.loads(sealdesk("decide", "学生暑期社会实践证明", "-j", "kit-county", "--json", site=site).stdout)
    assert d["outcome"] == "ask" and [c["id"] for c in d["candidates"]] == ["kit-county.negative.1"], d

    # the seal rule acts: 公证 is item 1's exception (issue in Shaanxi), facts_unclear forbids the seal here
    ask = ["decide", "亲属关系证明", "--purpose", "公证", "--fact", "facts_unclear", "--json"]
    here = json.loads(sealdesk(*ask, "-j", "kit-county", site=site).stdout)
    there = json.loads(sealdesk(*ask, "-j", "shaanxi", site=site).stdout)
    assert there["outcome"] == "issue"
    assert here["outcome"] == "refuse"
    assert any(g["code"] == "seal_rule" and g["citation"]["document"] == "示例县〔示例〕1号" for g in here["grounds"])
    # without the fact the district issues like its parent
    plain = json.loads(sealdesk(*ask[:4], "--json", "-j", "kit-county", site=site).stdout)
    assert plain["outcome"] == "issue"


# -- the shipped example, as CI --------------------------------------------------------------
def test_example_package_installs_and_passes_check(tmp_path):
    site = tmp_path / "site"
    pip_install(EXAMPLE, site)
    r = sealdesk("plugin", "check", "shaanxi-example", "--examples", str(EXAMPLES), site=site)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "scenarios: 2 cases, 2 as expected" in r.stdout  # its lessons ship with it and are checked
    d = json.loads(sealdesk("decide", "学生社会实践证明", "-j", "shaanxi-example", "--json", site=site).stdout)
    assert d["outcome"] == "refuse" and d["route"] == "无法律法规依据，不再由基层群众性自治组织出具此项证明"
    d = json.loads(sealdesk("decide", "亲属关系证明", "--purpose", "公证", "--fact", "facts_unclear",
                            "-j", "shaanxi-example", "--json", site=site).stdout)
    assert d["outcome"] == "refuse" and d["grounds"][-1]["code"] == "seal_rule"


def test_example_restates_the_seeds_verbatim():
    """The example's route and seal-rule quote are passages of seed 004, character for character."""
    import tomllib

    path = ROOT.parent / "shared" / "seeds" / "004_8c137975a14580ff.txt"
    if not path.exists():  # a clone away from the project's shared/ folder
        pytest.skip(f"seed {path} not available")
    seed = path.read_text(encoding="utf-8")
    pkg = EXAMPLE / "sealdesk_shaanxi_example"
    cat = tomllib.loads((pkg / "catalog.toml").read_text(encoding="utf-8"))
    jur = tomllib.loads((pkg / "jurisdiction.toml").read_text(encoding="utf-8"))
    item = cat["negative"][0]
    assert item["name"] in seed and item["route"] in seed
    assert jur["seal_rules"][0]["citation"]["quote"] in seed
    assert "非真实" in jur["name"] and "example, not a real district" in (EXAMPLE / "README.md").read_text()


# -- broken plugins make the check fail, in plain words ---------------------------------------
NO_ROUTE = ('[[negative]]\nnumber = 1\nname = "甲证明"\nroute = "去甲处"\n'
            'citations = [{document = "测试府发〔2024〕1号", provision = "附件第1项"}]\n\n'
            '[[negative]]\nnumber = 2\nname = "乙证明"\ncitations = [{document = "测试府发〔2024〕1号", provision = "附件第2项"}]\n')


def test_missing_route_fails_check_naming_item_and_line(make_plugin):
    site = make_plugin("kit_no_route", files={"catalog.toml": NO_ROUTE}).parent
    r = sealdesk("plugin", "check", "kit-no-route", site=site)
    assert r.returncode == 1, r.stdout + r.stderr
    line = next(ln for ln in r.stdout.splitlines() if "needs its route" in ln)
    assert "kit_no_route/catalog.toml:7:" in line and "乙证明" in line, line
    # other plugins are not affected: checking everything reports only this one
    r = sealdesk("plugin", "check", "--examples", "10", site=site)
    violations = [ln for ln in r.stdout.splitlines() if not ln.startswith("scenarios: ")]  # and the summary line
    assert r.returncode == 1 and all("kit-no-route" in ln for ln in violations), r.stdout


def _check(capsys, name):
    code = main(["plugin", "check", name, "--examples", "30", "--json"])
    out = capsys.readouterr().out
    return code, json.loads(out)["violations"]


def test_duplicate_alias_fails_check_naming_both_items(make_plugin, capsys):
    catalog = ('[[negative]]\nnumber = 1\nname = "甲证明"\naliases = ["同名证明"]\nroute = "去甲处"\n'
               'citations = [{document = "测试府发〔2024〕1号", provision = "附件第1项"}]\n\n'
               '[[negative]]\nnumber = 2\nname = "乙证明"\naliases = ["同名证明"]\nroute = "去乙处"\n'
               'citations = [{document = "测试府发〔2024〕1号", provision = "附件第2项"}]\n')
    make_plugin("kit_dup_alias", files={"catalog.toml": catalog})
    code, found = _check(capsys, "kit-dup-alias")
    assert code == 1 and len(found) == 1, found
    v = found[0]
    assert "同名" in v["message"] and "kit-dup-alias.negative.1" in v["message"], v
    assert v["item"] == "kit-dup-alias.negative.2 乙证明" and v["where"].endswith("kit_dup_alias/catalog.toml:8"), v


def test_item_without_citation_and_unknown_field_and_bad_toml(make_plugin, capsys):
    make_plugin("kit_no_cite", files={"catalog.toml": '[[negative]]\nnumber = 1\nname = "甲证明"\nroute = "去甲处"\n'})
    make_plugin("kit_typo", files={"catalog.toml": NO_ROUTE.replace('route = "去甲处"', 'rout = "去甲处"')})
    make_plugin("kit_toml", files={"jurisdiction.toml": 'id = "kit-toml"\nname = "未闭合\n'})
    for name, where, says in (("kit-no-cite", "kit_no_cite/catalog.toml:1", "needs at least one citation"),
                              ("kit-typo", "kit_typo/catalog.toml:4", "unknown field 'rout'"),
                              ("kit-toml", "kit_toml/jurisdiction.toml:2", "malformed TOML")):
        code, found = _check(capsys, name)
        assert code == 1 and len(found) == 1, (name, found)
        assert found[0]["where"].endswith(where) and says in found[0]["message"], found[0]


FLOOR_BREAKER = """\
from sealdesk.core.engine.hookspecs import hookimpl
from sealdesk.core.engine.jurisdiction import load_jurisdiction
from sealdesk.core.engine.model import Citation, Outcome
from sealdesk.core.engine.rules import Rule


def lenient(ctx, step):
    if step.outcome is Outcome.REFUSE:
        step.decide(Outcome.ISSUE, "测试：一律出具", ctx.rule.citation)
    return step


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]


@hookimpl
def sealdesk_rules():
    return [Rule("kit-lenient.requirements.all", "kit-lenient", "requirements", Citation("测试府发〔2024〕1号", "三"),
                 lenient)]
"""


def test_rule_that_issues_a_national_refusal_breaks_the_floor(make_plugin, capsys):
    make_plugin("kit_lenient", files={"__init__.py": FLOOR_BREAKER})
    code, found = _check(capsys, "kit-lenient")
    assert code == 1
    floor = [v for v in found if v["check"] == "floor"]
    assert floor, found
    assert "national baseline refuses it (national negative item" in floor[0]["message"], floor[0]
    assert floor[0]["item"].startswith("national.negative."), floor[0]
    assert re.search(r"national/catalog\.toml:\d+$", floor[0]["where"]), floor[0]


def test_seal_rule_with_unknown_fact_is_reported(make_plugin, capsys):
    from conftest import DISTRICT_TOML

    make_plugin("kit_typo_fact", files={"jurisdiction.toml": DISTRICT_TOML.format(
        jid="kit-typo-fact", parent="national").replace('fact = "liability"', 'fact = "liabilty"')})
    code, found = _check(capsys, "kit-typo-fact")
    assert code == 1 and [v["check"] for v in found] == ["data"], found
    assert "'liabilty'" in found[0]["message"] and re.search(r"jurisdiction\.toml:\d+$", found[0]["where"])


def test_shipped_plugins_pass_the_suite(registry):
    assert check(registry, max_examples=25) == []


def test_docs_python_rule_example_works(make_plugin):
    """The sealdesk_rules example of docs/plugins.md loads, decides and passes the suite."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("### sealdesk_rules"):text.index("### sealdesk_facts")]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    init = code + "\nfrom sealdesk.core.engine.jurisdiction import load_jurisdiction\n\n\n@hookimpl\n" \
                  "def sealdesk_jurisdictions():\n    return [load_jurisdiction(__name__)]\n"
    jur = 'id = "my-district"\nname = "示例区"\nparent = "national"\n\n[[documents]]\nnumber = "某府发〔2024〕1号"\n' \
          'title = "示例"\n'
    make_plugin("kit_docs_rule", jid="my-district", files={"__init__.py": init, "jurisdiction.toml": jur,
                                                            "catalog.toml": None})
    reg = Registry()
    assert "my-district" in reg.ids(), reg.errors
    import datetime as dt

    from sealdesk.core.engine.model import Facts, Outcome, Request
    from sealdesk.core.engine.protocol import decide

    view = reg.view("my-district", dt.date(2026, 1, 10))
    d = decide(view, Request("某某证明", "", "", Facts({"within_duties": True, "verifiable": True})))
    assert d.outcome is Outcome.ISSUE_TRANSITIONAL and d.requirements == ("verification",)
    assert decide(view, Request("某某证明", "", "", Facts())).questions == ("within_duties", "verifiable")
    assert check(reg, "my-district", max_examples=30) == []


# -- a plugin's own scenarios ----------------------------------------------------------------------
LESSON = ('title = "测试区的课"\njurisdiction = "kit-lesson"\n\n'
          '[[case]]\nquery = "测试专用证明"\nexpect = "refuse"\nitem = "kit-lesson.negative.1"\nroute = "行政服务中心"\n'
          'note = "本区负面清单第1项：按办事途径告诉居民。"\n\n'
          '[[case]]\nquery = "居民养犬证明"\nexpect = "refuse"\nitem = "unlisted"\n'
          'note = "写错的课：其实是全国负面清单第4项，结果同为不予出具。"\n')


def test_plugin_check_runs_the_plugins_scenarios_and_names_the_failing_case(make_plugin, capsys):
    pkg = make_plugin("kit_lesson")
    (pkg / "scenarios").mkdir()
    (pkg / "scenarios" / "kit-lesson.toml").write_text(LESSON, encoding="utf-8")
    code, found = _check(capsys, "kit-lesson")
    assert code == 1 and [v["check"] for v in found] == ["scenarios"], found
    v = found[0]
    assert v["where"].endswith("scenarios/kit-lesson.toml:11"), v  # the outcome agrees; the item does not
    assert v["message"] == "case 2 '居民养犬证明': expected item 'unlisted', got national.negative.4 (居民养犬证明)", v
    assert main(["plugin", "check", "kit-lesson", "--examples", "10"]) == 1
    assert "scenarios: 2 cases, 1 as expected" in capsys.readouterr().out
    from sealdesk.core.kit.conformance import check_scenarios

    result = check_scenarios(Registry(), "kit-lesson")
    assert (result.cases, result.as_expected, len(result.violations)) == (2, 1, 1)
