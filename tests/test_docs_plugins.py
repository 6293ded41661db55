"""docs/plugins.md stands alone and every code block in it runs.

Each fenced block of the guide is run here, according to its language and the marker comment
above it:

* ``sh``: run in order, in one scratch directory, as the tutorial's reader would, with a
  throwaway virtual environment first on PATH. Its ``pip`` installs into that environment
  (offline: no index, no build isolation; sealdesk and its dependencies are the project's,
  seen through a ``.pth`` file), its ``sealdesk`` is this checkout's, so ``pip install -e
  ./sealdesk-shaanxi-demo`` and ``python -m pytest`` work as written and the project's .venv
  is never touched. Every command must succeed.
* ``toml`` marked ``<!-- kit:NAME -->``: the tutorial's edits of the scaffolded plugin, made in
  that directory between the shell blocks (the same markers tests/test_kit.py follows).
  ``<!-- docs:file PATH -->``: written to PATH there (a trainer's scenario file).
  ``<!-- docs:tutorial PATH -->``: its tables must be in that file of the tutorial's plugin.
  ``<!-- docs:my-district FILE -->`` (and ``python`` so marked): appended to FILE of the made-up
  ``my-district`` plugin, which must then load, decide and pass the conformance suite.
  ``<!-- docs:shipped PATH -->``: each table must be an entry of that shipped plugin file.
* ``text``: output or a file tree, not run (``<!-- docs:tree -->``: the tree is compared with
  what ``plugin new`` wrote).

A block in another language, or a TOML or Python block without a marker, fails the test: the
guide has no code that is not run. The reference tables (facts, outcomes, requirement codes,
papers, placeholders) are compared with the code that defines them.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "plugins.md"
TUTORIAL = "sealdesk-shaanxi-demo"
PKG = "sealdesk_shaanxi_demo"
LANGS = ("sh", "toml", "python", "text")


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # of the opening fence
    marker: str = ""  # "kit:documents", "docs:my-district jurisdiction.toml", …

    @property
    def kind(self) -> str:
        return self.marker.split()[0] if self.marker else ""

    @property
    def arg(self) -> str:
        parts = self.marker.split(maxsplit=1)
        return parts[1] if len(parts) > 1 else ""

    def __str__(self) -> str:
        return f"docs/plugins.md:{self.line} ({self.lang}{', ' + self.marker if self.marker else ''})"


def blocks(text: str | None = None) -> list[Block]:
    text = DOCS.read_text(encoding="utf-8") if text is None else text
    lines = text.split("\n")
    out, i = [], 0
    while i < len(lines):
        m = re.match(r"^```(\S*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start = i
        j = i + 1
        while j < len(lines) and lines[j] != "```":
            j += 1
        assert j < len(lines), f"docs/plugins.md:{start + 1}: unclosed code block"
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        mk = re.match(r"^<!-- ((?:kit|docs):.*?) -->$", lines[k]) if k >= 0 else None
        marker = mk.group(1).replace("kit:", "kit:", 1) if mk else ""
        out.append(Block(m.group(1), "\n".join(lines[start + 1:j]) + "\n", start + 1, marker))
        i = j + 1
    return out


BLOCKS = blocks()
SESSION_KINDS = ("kit:documents", "kit:seal_rule", "kit:negative_item", "kit:vocabulary", "kit:scenario_case",
                 "docs:file", "docs:tutorial", "docs:tree")


# -- every block is run (or marked as output) ----------------------------------------------------
def test_every_block_is_run_or_marked_as_output():
    problems = []
    for b in BLOCKS:
        if b.lang not in LANGS:
            problems.append(f"{b}: language '{b.lang}' — use sh, toml, python, or text for output that is not run")
        elif b.lang == "toml" and b.kind not in (*SESSION_KINDS, "docs:my-district", "docs:shipped"):
            problems.append(f"{b}: a TOML block needs a marker saying which file it belongs to")
        elif b.lang == "python" and b.marker != "docs:my-district __init__.py":
            problems.append(f"{b}: a Python block must be marked as part of my-district's __init__.py")
        elif b.lang == "sh" and b.marker:
            problems.append(f"{b}: shell blocks run in the tutorial's directory and take no marker")
    assert not problems, "\n".join(problems)
    langs = {b.lang for b in BLOCKS}
    assert {"sh", "toml", "python", "text"} <= langs
    # Output examples are the only blocks not run; say so, so a reader of this test knows.
    not_run = [str(b) for b in BLOCKS if b.lang == "text" and b.kind != "docs:tree"]
    assert not_run, "the guide shows output examples as ```text blocks (not run)"


# -- the shell session: the tutorial and every shell block, in order --------------------------------
def _throwaway_env(tmp: Path) -> dict:
    """A virtual environment that sees the project's packages but installs into itself."""
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    bindir = venv / "bin"
    py = bindir / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ours = sysconfig.get_paths()["purelib"]  # the project's environment (sealdesk, pip, setuptools, pytest)
    # addsitedir also runs that directory's .pth files (the editable sealdesk install among them).
    Path(purelib, "_sealdesk_project.pth").write_text(f"import site; site.addsitedir({ours!r})\n")
    for name, module in (("sealdesk", "sealdesk.core.cli.main"), ("pip", "pip")):
        script = bindir / name
        script.write_text(f'#!/bin/sh\nexec "{py}" -m {module} "$@"\n')
        script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PIP_", "VIRTUAL_ENV"))}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(venv),
               PIP_NO_INDEX="1",  # never ask a package index: everything needed is installed already
               PIP_NO_BUILD_ISOLATION="0",  # (sic) build with the environment's setuptools, offline
               PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    return env


def _run_sh(block: Block, cwd: Path, env: dict) -> str:
    r = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", block.code], cwd=cwd, env=env,
                       capture_output=True, text=True, timeout=1200)
    assert r.returncode == 0, f"{block} failed with exit {r.returncode}:\n{block.code}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def _tree_paths(block: Block) -> list[str]:
    lines = [ln.split("#")[0].strip() for ln in block.code.splitlines() if ln.strip()]
    root = lines[0].rstrip("/")
    return [f"{root}/{p}" for p in lines[1:]]


def _subset(shown: dict, actual: dict, where: str) -> None:
    """Every key and value of ``shown`` is in ``actual``; arrays of tables: each shown entry is one of them."""
    for key, value in shown.items():
        assert key in actual, f"{where}: no '{key}'"
        if isinstance(value, dict):
            _subset(value, actual[key], f"{where}.{key}")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for n, entry in enumerate(value, 1):
                assert any(all(k in a and a[k] == v for k, v in entry.items()) for a in actual[key]), \
                    f"{where}: {key}[{n}] {entry} is not an entry of the file"
        else:
            assert actual[key] == value, f"{where}.{key}: {value!r} in the guide, {actual[key]!r} in the file"


def _apply_kit(block: Block, work: Path) -> None:
    """The tutorial's steps 2-4 and 6, and section 4's vocabulary, as the guide says to make them."""
    pkg = work / TUTORIAL / PKG
    jpath, cpath = pkg / "jurisdiction.toml", pkg / "catalog.toml"
    if block.kind == "kit:documents":  # replace [[documents]] … # effective_until, and the description's TODO
        text, n = re.subn(r"\[\[documents\]\]\n(?:.*\n)*?# effective_until.*\n", block.code,
                          jpath.read_text(encoding="utf-8"))
        assert n == 1, "the scaffold's [[documents]] table is not where the guide says"
        text, n = re.subn(r'description = "TODO[^"\n]*"', 'description = "演示县：一项不予出具证明事项、一条用印规则"', text)
        assert n == 1, "the scaffold's description has no TODO to replace"
        jpath.write_text(text, encoding="utf-8")
    elif block.kind == "kit:seal_rule":
        jpath.write_text(jpath.read_text(encoding="utf-8") + "\n" + block.code, encoding="utf-8")
    elif block.kind == "kit:negative_item":
        cpath.write_text(cpath.read_text(encoding="utf-8") + "\n" + block.code, encoding="utf-8")
    elif block.kind == "kit:vocabulary":
        assert block.code.startswith(f"# {PKG}/vocabulary.toml"), "the block names the file it is"
        (pkg / "vocabulary.toml").write_text(block.code, encoding="utf-8")
    elif block.kind == "kit:scenario_case":
        spath = pkg / "scenarios" / "shaanxi-demo-basics.toml"
        spath.write_text(spath.read_text(encoding="utf-8") + "\n" + block.code, encoding="utf-8")
    else:
        raise AssertionError(f"{block}: unknown marker")


def test_the_guide_runs_from_start_to_end(tmp_path):
    """Every shell block, in order, with the tutorial's edits between them; each command succeeds."""
    work = tmp_path / "work"
    work.mkdir()
    env = _throwaway_env(tmp_path)
    ran = []
    for b in BLOCKS:
        if b.lang == "sh":
            ran.append((b, _run_sh(b, work, env)))
        elif b.kind.startswith("kit:"):
            _apply_kit(b, work)
        elif b.kind == "docs:tree":
            missing = [p for p in _tree_paths(b) if not (work / p).exists()]
            assert not missing, f"{b}: plugin new did not write {missing}"
            written = sorted(str(p.relative_to(work)) for p in (work / TUTORIAL).rglob("*") if p.is_file())
            assert written == sorted(_tree_paths(b)), f"{b}: plugin new wrote {written}"
        elif b.kind == "docs:file":
            (work / b.arg).write_text(b.code, encoding="utf-8")
        elif b.kind == "docs:tutorial":
            actual = tomllib.loads((work / b.arg).read_text(encoding="utf-8"))
            _subset(tomllib.loads(b.code), actual, f"{b} vs {b.arg}")
    assert len(ran) == sum(b.lang == "sh" for b in BLOCKS) >= 6

    # What the prose around the blocks says of their output.
    out = {b.line: o for b, o in ran}
    def after(marker: str) -> str:
        return next(o for b, o in ran if marker in b.code)
    assert "pip install ./sealdesk-shaanxi-demo" in after("plugin new")  # the hint with ./ (not the index)
    decided = [json.loads(line) for line in after("学生社会实践证明 --jurisdiction").splitlines() if line.startswith("{")]
    assert decided[0]["outcome"] == "refuse" and decided[0]["item"]["id"] == "shaanxi-demo.negative.1"
    assert decided[1]["outcome"] == "refuse" and decided[1]["grounds"][-1]["code"] == "seal_rule"
    check = after("plugin check shaanxi-demo --examples")
    assert "2 个案例，2 个符合预期" in after("scenarios --check sealdesk-shaanxi-demo")
    assert "scenarios: 2 cases, 2 as expected" in check and "ok: shaanxi-demo" in check
    words = [json.loads(line) for line in after("低保证明").splitlines() if line.startswith("{")]
    assert words[0]["match"]["kind"] == "word" and words[0]["item"]["name"] == "居民财产证明"
    assert words[1]["outcome"] == "ask" and len(words[1]["candidates"]) == 2
    assert words[2]["outcome"] == "ask" and [c["id"] for c in words[2]["candidates"]] == ["shaanxi-demo.negative.1"]
    assert "5 个案例，5 个符合预期" in after("lessons.toml")
    assert "2 passed" in after("python -m pytest")
    assert re.search(r"^\s+shaanxi-demo\s", after("sealdesk jurisdictions"), re.M)
    carve = [json.loads(line) for line in after("-j chongqing --purpose 公证").splitlines() if line.startswith("{")]
    assert carve[0]["item"]["id"] == "chongqing.retained.5" and carve[1]["item"]["id"] == "chongqing.negative.1"
    assert out  # every block's output was kept


# -- my-district: the sections' TOML fragments and the hooks, as one plugin -----------------------------
def my_district_files() -> dict[str, str]:
    files: dict[str, str] = {}
    for b in BLOCKS:
        if b.kind == "docs:my-district":
            files[b.arg] = files.get(b.arg, "") + ("\n" if b.arg in files else "") + b.code
    return files


def test_my_district_loads_decides_and_passes_the_suite(make_plugin):
    from sealdesk.core.engine.model import Facts, Outcome, Request
    from sealdesk.core.engine.plugins import Registry
    from sealdesk.core.engine.protocol import decide
    from sealdesk.core.kit.conformance import check

    files = my_district_files()
    assert set(files) == {"jurisdiction.toml", "__init__.py"}, set(files)
    assert files["__init__.py"].count("@hookimpl") == 5  # every hook of section 7
    make_plugin("my_district", jid="my-district", files={**files, "catalog.toml": None})
    reg = Registry()
    assert "my-district" in reg.ids(), [str(e) for e in reg.errors]
    assert not [e for e in reg.errors if e.plugin == "my-district"], [str(e) for e in reg.errors]
    # what the blocks declare
    assert reg.facts["flood_zone"].label == "位于蓄洪区"
    assert {("my-district", "refusal"), ("my-district", "commitment")} <= set(reg.paper_templates)
    assert "my-district.unlisted" in reg.rules
    view = reg.view("my-district", dt.date(2026, 1, 10))
    d = decide(view, Request("某某证明", "", "", Facts({"within_duties": True, "verifiable": True})))
    assert d.outcome is Outcome.ISSUE_TRANSITIONAL and d.requirements == ("verification",)
    # the adoption limited by list: cited on a negative item and on an unlisted one, not on a retained one
    cites = lambda q, p="": {c.text() for c in decide(view, Request(q, p, "", Facts())).citations}  # noqa: E731
    assert "某府发〔2024〕1号 二" in cites("无犯罪记录证明")
    assert check(reg, "my-district", max_examples=20) == []


# -- what the guide quotes of shipped plugins is in them ------------------------------------------------------
@pytest.mark.parametrize("block", [b for b in BLOCKS if b.kind == "docs:shipped"], ids=lambda b: f"line{b.line}")
def test_quoted_shipped_entries_are_in_the_shipped_files(block):
    path = ROOT / block.arg
    assert path.exists(), block
    shown = tomllib.loads(block.code)
    assert shown, block
    _subset(shown, tomllib.loads(path.read_text(encoding="utf-8")), f"{block} vs {block.arg}")
    for line in block.code.splitlines():  # a table's comment naming its file names this one
        m = re.search(r"#\s*(plugins/\S+\.toml)", line)
        assert m is None or m.group(1) == block.arg, f"{block}: '{line.strip()}'"


def test_the_scenario_example_is_checked_as_every_lesson_is(registry, tmp_path):
    """The format example uses every key, loads, and every case is decided as it states."""
    from sealdesk.core.training.scenario import CASE_KEYS, TOP_KEYS, check_scenario, load_scenario

    (block,) = [b for b in BLOCKS if b.kind == "docs:file" and "[[case]]" in b.code]
    path = tmp_path / block.arg
    path.write_text(block.code, encoding="utf-8")
    sc = load_scenario(path, registry)
    results = check_scenario(registry, sc)
    assert all(r.ok for r in results), [r.text() for r in results if not r.ok]
    data = tomllib.loads(block.code)
    assert set(data) == TOP_KEYS
    assert set().union(*data["case"]) == CASE_KEYS  # every key of a case is shown
    # the guide's tables list every key, and no other
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## 9. Scenarios"):text.index("## 10. Publishing")]
    file_table = section[section.index("### The file"):section.index("### A case")]
    case_table = section[section.index("### A case"):section.index("### Example")]
    assert set(re.findall(r"^\| `(\w+)` \|", file_table, re.M)) == TOP_KEYS - {"case"}
    assert set(re.findall(r"^\| `(\w+)` \|", case_table, re.M)) == CASE_KEYS


# -- the guide stands alone: its tables are the code's -----------------------------------------------------
def test_reference_tables_are_the_codes():
    from sealdesk.core.kit.reference import TABLES, missing_meanings, regions, update

    text = DOCS.read_text(encoding="utf-8")
    assert sorted(regions(text)) == sorted(TABLES)
    assert not missing_meanings(), "explain these in core/kit/reference.py: " + ", ".join(missing_meanings())
    assert update(text) == text, "docs/plugins.md's tables differ from the code: run " \
                                 "python -m sealdesk.core.kit.reference --write docs/plugins.md"


def test_reference_tables_list_what_the_code_defines():
    """Not only the same text as the generator: every fact, outcome, code and placeholder is there."""
    from sealdesk.core.engine.facts import BUILTIN_FACTS
    from sealdesk.core.engine.model import OUTCOME_LABELS, REQUIREMENTS
    from sealdesk.core.engine.wording import FIELDS, PAPERS

    text = DOCS.read_text(encoding="utf-8")
    for f in BUILTIN_FACTS:
        assert re.search(rf"^\| `{f.name}` \| {f.kind} \| {re.escape(f.label)} \|", text, re.M), f.name
    for o, label in OUTCOME_LABELS.items():
        assert f"| `{o.value}` | {label} |" in text, o
    for code, label in REQUIREMENTS.items():
        assert f"| `{code}` | {label} |" in text, code
    papers = text[text.index("<!-- reference:papers -->"):text.index("<!-- /reference:papers -->")]
    for paper, fields in FIELDS.items():
        row = next(ln for ln in papers.splitlines() if ln.startswith(f"| `{paper}` | {PAPERS[paper]} |"))
        assert set(re.findall(r"`\{(\w+)\}`", row)) == fields, paper


def test_hand_written_lists_match_the_code():
    from sealdesk.core.engine.jurisdiction import LEVELS
    from sealdesk.core.engine.workflow_rules import NAMED_CHECKS

    text = DOCS.read_text(encoding="utf-8")
    level = next(ln for ln in text.splitlines() if ln.startswith("| `level` |"))
    assert set(re.findall(r"`(\w+)`", level)) - {"level"} == set(LEVELS)
    workflow = next(ln for ln in text.splitlines() if ln.startswith("| `[[workflow_rules]]` |"))
    assert set(NAMED_CHECKS) <= set(re.findall(r"`(\w+)`", workflow))


def test_item_ids_in_the_guide_exist(registry):
    """Every item id the guide names (outside output examples) is one sealdesk or the tutorial defines."""
    text = DOCS.read_text(encoding="utf-8")
    for b in BLOCKS:
        if b.lang == "text":
            text = text.replace(b.code, "")
    known = {it.id for j in registry.ids() for it in registry.jurisdictions[j].items} | {"shaanxi-demo.negative.1"}
    named = set(re.findall(r"\b[a-z][a-z0-9-]*\.(?:negative|retained)\.\d+\b", text))
    assert named and named <= known, sorted(named - known)


def test_the_guide_sends_the_reader_nowhere_else():
    text = DOCS.read_text(encoding="utf-8")
    for elsewhere in ("DOMAIN.md", "core/scenario.py", "core/training/scenario.py", "see core/"):
        assert elsewhere not in text, elsewhere


# -- decide --help lists the facts ---------------------------------------------------------------------------
def test_decide_help_lists_every_fact_with_its_label(make_plugin):
    from sealdesk.core.engine.facts import BUILTIN_FACTS

    init = ('from sealdesk.core.api import ASSERTIVE, FactSpec, hookimpl, load_jurisdiction\n\n\n@hookimpl\n'
            'def sealdesk_jurisdictions():\n    return [load_jurisdiction(__name__)]\n\n\n@hookimpl\n'
            'def sealdesk_facts():\n    return [FactSpec("flood_zone", ASSERTIVE, "位于蓄洪区", "是否位于蓄洪区？", "", '
            '"测试府发〔2024〕1号 二", "kit-help")]\n')
    site = make_plugin("kit_help", files={"__init__.py": init}).parent
    env = {**os.environ, "PYTHONPATH": str(site)}
    r = subprocess.run([sys.executable, "-m", "sealdesk.core.cli.main", "decide", "--help"], capture_output=True,
                       text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    for f in BUILTIN_FACTS:
        assert re.search(rf"^\s+{f.name}\s+{re.escape(f.label)}", r.stdout, re.M), f.name
    assert re.search(r"^\s+flood_zone\s+位于蓄洪区（kit-help）", r.stdout, re.M), r.stdout  # a plugin's fact too
    assert r.stdout.index("within_duties") < r.stdout.index("basis_provided")  # required facts first


def test_plugin_new_hint_installs_the_directory_not_a_package_of_that_name(tmp_path, capsys):
    from sealdesk.core.cli.main import main

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert main(["plugin", "new", "kit-hint", "--parent", "national"]) == 0
    finally:
        os.chdir(cwd)
    out = capsys.readouterr().out
    assert "pip install ./sealdesk-kit-hint  &&" in out and "pip install -e ./sealdesk-kit-hint" in out
    assert main(["plugin", "new", "kit-hint2", "--parent", "national", "--dir", str(tmp_path)]) == 0
    assert f"pip install {tmp_path}/sealdesk-kit-hint2" in capsys.readouterr().out
