"""core/ shows its architecture (issue 13): one subpackage per subsystem, lower layers never
import higher ones, plugins import only the public API, and the CLI loads a command's modules
only when that command runs."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "core"
# Layer of each subpackage of sealdesk.core (and of the TUI): a module may import its own package and lower
# layers. The command line is the program's entry point, so it may start the TUI; the TUI never imports it.
# The kit sits above training: ``plugin check`` runs a plugin's scenarios with the trainers' reader.
LAYERS = {"common": 0, "engine": 1, "register": 2, "papers": 3, "training": 3, "api": 3, "kit": 4, "desk": 4,
          "tui": 5, "cli": 6}
TUI = ROOT / "tui"


def _package(path: Path) -> str:
    if path.is_relative_to(TUI):
        return "tui"
    rel = path.relative_to(CORE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _core_imports(path: Path):
    """(line, imported sealdesk.core subpackage) for every import in a file, function-level ones included."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    base = TUI if path.is_relative_to(TUI) else CORE
    pkg_parts = ["sealdesk", base.name, *path.relative_to(base).with_suffix("").parts]
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg_parts[: len(pkg_parts) - node.level]
                mod = ".".join(base + ([node.module] if node.module else []))
                names = [mod] if node.module else [f"{mod}.{a.name}" for a in node.names]
            else:
                names = [node.module or ""]
                if node.module == "sealdesk.core":
                    names = [f"sealdesk.core.{a.name}" for a in node.names]
        for n in names:
            parts = n.split(".")
            if parts[:2] == ["sealdesk", "core"] and len(parts) > 2:
                yield node.lineno, parts[2]
            elif parts[:1] == ["sealdesk"] and len(parts) > 1 and parts[1] == "tui":
                yield node.lineno, "tui"


def test_core_is_one_package_per_subsystem():
    loose = sorted(p.name for p in CORE.glob("*.py") if p.name not in ("__init__.py", "api.py"))
    assert not loose, f"modules outside a subsystem package: {loose}"
    packages = sorted(p.name for p in CORE.iterdir() if p.is_dir() and (p / "__init__.py").exists())
    assert packages == sorted(k for k in LAYERS if k not in ("api", "tui")), packages
    for name in packages:
        doc = ast.get_docstring(ast.parse((CORE / name / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "Layer" in doc, f"core/{name}/__init__.py must say what it is for and what it may import"


def test_no_layer_imports_a_higher_one():
    problems = []
    for path in sorted([*CORE.rglob("*.py"), *TUI.rglob("*.py")]):
        own = _package(path)
        if own == "__init__":
            continue
        for line, target in _core_imports(path):
            if target not in LAYERS or target == own:
                continue
            if own == "api" and target == "kit":
                continue  # api.check: loaded on demand for a plugin's tests
            if LAYERS[target] > LAYERS[own] or (LAYERS[target] == LAYERS[own]):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {own} (layer {LAYERS[own]}) imports "
                                f"{target} (layer {LAYERS[target]})")
    assert not problems, "\n".join(problems)


def _plugin_files():
    for base in (ROOT / "plugins", ROOT / "examples"):
        yield from sorted(base.rglob("*.py"))


def test_plugins_and_examples_import_only_the_public_api():
    bad = []
    for path in _plugin_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            mods = []
            if isinstance(node, ast.ImportFrom) and not node.level:
                mods = [node.module or ""]
            elif isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            for m in mods:
                if m.startswith("sealdesk.core") and m != "sealdesk.core.api":
                    bad.append(f"{path.relative_to(ROOT)}:{node.lineno}: {m}")
    assert not bad, "plugins must import from sealdesk.core.api only:\n" + "\n".join(bad)


def test_docs_for_plugin_authors_import_only_the_public_api():
    text = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    bad = [line.strip() for line in text.splitlines()
           if ("from sealdesk.core" in line or "import sealdesk.core" in line) and "sealdesk.core.api" not in line]
    assert not bad, bad


def _modules_after(code: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys; print('\\n'.join(sys.modules))"],
                         capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def test_importing_the_engine_loads_no_higher_layer():
    loaded = _modules_after("import sealdesk.core.engine, sealdesk.core.engine.protocol, sealdesk.core.api")
    higher = sorted(m for m in loaded if m.startswith(("sealdesk.core.register", "sealdesk.core.papers",
                                                       "sealdesk.core.desk", "sealdesk.core.cli", "sealdesk.core.kit",
                                                       "sealdesk.core.training", "sealdesk.tui")))
    assert not higher, higher
    assert "hypothesis" not in loaded and "textual" not in loaded


@pytest.mark.parametrize("argv,unwanted", [
    (["decide", "无犯罪记录证明", "-j", "national"], ("register", "papers", "desk", "training", "kit", "cli.register",
                                                    "cli.papers", "cli.plugin", "cli.scenario", "cli.compare")),
    (["jurisdictions"], ("register", "papers", "desk", "training", "kit")),
])
def test_a_command_loads_only_its_own_modules(argv, unwanted):
    code = ("import sys; from sealdesk.core.cli.main import main\n"
            f"rc = main({argv!r})\n"
            "assert rc == 0, rc")
    loaded = _modules_after(code)
    hit = sorted(m for m in loaded for u in unwanted if m == f"sealdesk.core.{u}" or m.startswith(f"sealdesk.core.{u}."))
    assert not hit, f"sealdesk {' '.join(argv)} imported {hit}"


def test_the_command_table_names_every_command_of_every_group():
    import argparse
    import importlib

    from sealdesk.core.cli.main import GROUPS

    found = {}
    for group in set(GROUPS.values()):
        p = argparse.ArgumentParser()
        sub = p.add_subparsers()
        importlib.import_module(f"sealdesk.core.cli.{group}").add_parsers(sub)
        found.update(dict.fromkeys(sub.choices, group))
    assert found == GROUPS
