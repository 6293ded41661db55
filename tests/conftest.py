"""Shared fixtures: the default registry and a factory that installs throwaway plugins.

``make_plugin`` writes a real plugin package plus a ``*.dist-info`` with an
``entry_points.txt`` into a temporary directory and puts it on ``sys.path``,
so the plugin manager discovers it through the ``sealdesk.jurisdictions``
entry-point group exactly as it would a pip-installed one.
"""

from __future__ import annotations

import importlib
import os
import sys
import textwrap
from pathlib import Path

import pytest

from sealdesk.core.engine.plugins import Registry, default_registry

# A throwaway PostgreSQL server for the county register (tests/pgserver.py); skips when not installed.
from pgserver import pg_server  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT.parent / "shared" / "seeds"

DISTRICT_TOML = """\
id = "{jid}"
name = "测试区"
parent = "{parent}"
level = "district"

[[documents]]
number = "测试府发〔2024〕1号"
title = "测试区证明事项管理办法"
issuer = "测试区人民政府"
date = 2024-01-01
effective_from = 2024-01-01

[[seal_rules]]
id = "{jid}.seal.flood"
fact = "liability"
text = "测试：承担责任的证明不得盖章。"
citation = {{document = "测试府发〔2024〕1号", provision = "三"}}
"""

CATALOG_TOML = """\
[[negative]]
number = 1
name = "测试专用证明"
aliases = ["测试别名证明"]
route = "向测试区行政服务中心申请"
citations = [{document = "测试府发〔2024〕1号", provision = "附件第1项"}]
"""

INIT_PY = """\
from sealdesk.core.engine.hookspecs import hookimpl
from sealdesk.core.engine.jurisdiction import load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]
"""


@pytest.fixture(scope="session")
def registry() -> Registry:
    reg = default_registry()
    assert not reg.errors, reg.errors
    return reg


@pytest.fixture
def make_plugin(tmp_path, monkeypatch):
    """make_plugin(name, files={...}, ep_name=None) -> site dir; files map relative path -> text."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    made: list[str] = []

    def make(module: str, files: dict[str, str] | None = None, ep_name: str | None = None, jid: str | None = None,
             parent: str = "national") -> Path:
        jid = jid or module.replace("_", "-")
        pkg = site / module
        pkg.mkdir()
        defaults = {
            "__init__.py": INIT_PY,
            "jurisdiction.toml": DISTRICT_TOML.format(jid=jid, parent=parent),
            "catalog.toml": CATALOG_TOML,
        }
        defaults.update(files or {})
        for rel, text in defaults.items():
            if text is None:
                continue
            (pkg / rel).write_text(textwrap.dedent(text), encoding="utf-8")
        dist = site / f"{module}-0.1.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
        (dist / "entry_points.txt").write_text(f"[sealdesk.jurisdictions]\n{ep_name or jid} = {module}\n")
        made.append(module)
        importlib.invalidate_caches()
        return pkg

    yield make
    for module in made:
        for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
            del sys.modules[name]
    importlib.invalidate_caches()


# -- the seal register -------------------------------------------------------------------------
VALID_IDS = ("11010519491231002X", "440524198801010011", "110101199003070011", "510105200001011232")


class Cli:
    """Runs ``sealdesk`` in-process against one home directory; returns (exit code, stdout, stderr)."""

    def __init__(self, home: Path, capsys):
        self.home = home
        self.capsys = capsys
        self.backend = "sqlite"
        self.url = self.owner_url = ""

    def __call__(self, *argv: str):
        from sealdesk.core.cli.main import main

        self.capsys.readouterr()
        code = main([*argv, "--home", str(self.home)] if argv and argv[0] != "register"
                    else [argv[0], *argv[1:], "--home", str(self.home)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *argv: str):
        import json

        code, out, err = self(*argv, "--json")
        assert code == 0, err
        return json.loads(out)


class County:
    """A county's PostgreSQL register on the throwaway server: the schema installed once in a
    template database, each test's database copied from it; the counter connects as the role
    ``sealdesk_app`` (neither owner nor superuser: INSERT and SELECT only, as deployed)."""

    APP = "sealdesk_app"

    def __init__(self, server):
        from sealdesk.core.register.postgres import install

        self.server = server
        self._n = 0
        with server.connect(autocommit=True) as conn:
            conn.execute(f"CREATE ROLE {self.APP} LOGIN")
        server.createdb("sealdesk_template")
        install(server.url("sealdesk_template"), self.APP)

    def new(self) -> tuple[str, str]:
        """A fresh county database: (the app role's URL, the owner's URL)."""
        self._n += 1
        name = f"county_{os.getpid()}_{self._n}"
        self.server.createdb(name, template="sealdesk_template")
        return self.server.url(name, self.APP), self.server.url(name)


@pytest.fixture(scope="session")
def pg_county(pg_server):
    return County(pg_server)


@pytest.fixture
def register_backend():
    """Which register the ``demo`` communities use; contract tests parametrise it over both."""
    return "sqlite"


def use_postgres(home: Path, url: str) -> None:
    """Point the community at ``home`` to a county's PostgreSQL register."""
    from dataclasses import replace

    from sealdesk.core.register.community import load_community, save_community

    save_community(replace(load_community(home), register_url=url), overwrite=True)


@pytest.fixture
def demo(tmp_path, capsys, request, register_backend):
    """``demo("shaanxi")`` initialises a demo community in a fresh home and returns a Cli for it;
    with ``register_backend == "postgresql"`` its register is a fresh county database."""

    def make(jurisdiction: str = "national") -> Cli:
        home = tmp_path / f"home-{jurisdiction}"
        cli = Cli(home, capsys)
        code, _, err = cli("init", "--demo", "--jurisdiction", jurisdiction)
        assert code == 0, err
        cli.backend = register_backend
        if register_backend == "postgresql":
            cli.url, cli.owner_url = request.getfixturevalue("pg_county").new()
            use_postgres(home, cli.url)
        return cli

    return make


def open_register(cli):
    """The register of a ``demo`` community, whichever backend holds it."""
    from sealdesk.core.desk.counter import open_register as _open
    from sealdesk.core.register.community import load_community

    return _open(load_community(cli.home))
