"""``sealdesk plugin new``: scaffold an installable jurisdiction plugin package.

The package it writes (``sealdesk-<id>/``) installs with pip, registers its module
under the entry-point group ``sealdesk.jurisdictions`` and loads cleanly as it
is, except that ``sealdesk plugin check`` reports the ``TODO`` placeholders of
its policy document until they are replaced. It ships one scenario case (an inherited
national item) so that its tests check scenarios from the first run, the way every lesson
the plugin adds will be checked. docs/plugins.md walks through it.
"""

from __future__ import annotations

import re
from pathlib import Path

from sealdesk.core.engine.jurisdiction import LEVELS

ID = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


class KitError(ValueError):
    """Bad input to the kit; the message is one line."""


def module_name(jid: str) -> str:
    return "sealdesk_" + jid.replace("-", "_")


PYPROJECT = '''\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "sealdesk-{jid}"
version = "0.1.0"
description = "sealdesk jurisdiction plugin: {name}"
requires-python = ">=3.11"
dependencies = ["sealdesk"]

[project.optional-dependencies]
test = ["pytest>=8", "hypothesis>=6.100"]

# sealdesk finds the plugin through this entry point: <jurisdiction id> = "<module>".
[project.entry-points."sealdesk.jurisdictions"]
{jid} = "{module}"

[tool.setuptools]
packages = ["{module}"]

[tool.setuptools.package-data]
"{module}" = ["*.toml", "scenarios/*.toml"]
'''

INIT = '''\
"""{name} ({jid}): a sealdesk jurisdiction plugin. See docs/plugins.md of sealdesk."""

from sealdesk.core.api import hookimpl
from sealdesk.core.api import load_jurisdiction


@hookimpl
def sealdesk_jurisdictions():
    # jurisdiction.toml and catalog.toml beside this module; errors name file and line.
    return [load_jurisdiction(__name__)]


# Rules the TOML data cannot express are Python functions (docs/plugins.md, "sealdesk_rules"):
#
# from sealdesk.core.api import Citation
# from sealdesk.core.api import Rule
#
# @hookimpl
# def sealdesk_rules():
#     return [Rule("{jid}.unlisted", "{jid}", "unlisted", Citation("<文号>", "<provision>"), my_unlisted,
#                  overrides="national.unlisted")]
'''

JURISDICTION = '''\
# {name} ({jid}) — extends '{parent}'. Format: docs/plugins.md of sealdesk.
# Every rule must trace to a passage of a policy document: cite it, quote it.
id = "{jid}"
name = "{name}"
parent = "{parent}"
level = "{level}"
description = "TODO: one line on what this jurisdiction adds"

# The policy document(s) this plugin encodes. Replace the TODO values: `sealdesk plugin check`
# reports them until you do. effective_until may be left out (open-ended).
[[documents]]
number = "TODO 文号"
title = "TODO 文件标题"
issuer = "TODO 发文机关"
date = {today}
effective_from = {today}
# effective_until = 2030-12-31

# The titles of this jurisdiction's own lists, verbatim from the document (papers add the 《》);
# without them: {name}不应由基层群众性自治组织出具证明事项补充清单, short {name}负面清单 (docs/plugins.md).
# Items numbered from 1 here are 「{name}负面清单第1项」, never confused with an inherited 第1项.
# [lists]
# negative = "<the list's title, verbatim>"
# negative_short = "<short name before 第N项>"
# negative_source = "<where the title is written>"

# A seal rule: when the clerk asserts the fact, any issuing outcome becomes a refusal.
# Facts: `sealdesk decide --help` lists them (liability, facts_unclear, against_law, ...);
# docs/plugins.md, "Facts", says what each one means.
# [[seal_rules]]
# id = "{jid}.seal.liability"
# fact = "liability"
# text = "<the sentence of the document, verbatim>"
# citation = {{document = "<文号 above>", provision = "<section>", quote = "<verbatim passage>"}}
'''

CATALOG = '''\
# Certificate items of {name} ({jid}); the lists of '{parent}' and its ancestors are inherited.
# Format: docs/plugins.md of sealdesk. Every item needs a citation; a negative item needs its route
# (办事途径), copied verbatim from the list.
#
# [[negative]]
# number = 1
# name = "<证明名称>"
# aliases = ["<another name residents use>"]
# route = "<办事途径, verbatim>"
# citations = [{{document = "<文号 in jurisdiction.toml>", provision = "附件第1项"}}]
#
# [[negative.exceptions]]          # optional: circumstances carved out of the item
# text = "<the exception, verbatim>"
# purposes = ["公证"]
#
# [[retained]]
# number = 1
# name = "<证明名称>"
# requesting_unit = "<索要单位>"
# purpose = "<用途>"
# basis = ["《<法规>》第<n>条"]
# method = "<证明方式>"
# citations = [{{document = "<文号>", provision = "附件第1项"}}]
'''

SCENARIO = '''\
# Lessons of {name} ({jid}) for trainers (`sealdesk train`). Each case states what the counter must
# decide — the outcome, the list item and a fragment of the route — and `sealdesk plugin check {jid}`
# and tests/test_conformance.py hold the engine to it. Format: docs/plugins.md of sealdesk, "Scenarios".
# Add a case for each item and rule this plugin adds.
title = "{name}：基本案例"
jurisdiction = "{jid}"

[[case]]
query = "无犯罪记录证明"
purpose = "应聘"
expect = "refuse"
item = "无犯罪记录证明"             # the item the name is decided as: its id or a listed name
route = "公安"                       # a fragment of the route the resident is told
note = "继承的负面清单事项“无犯罪记录证明”（民发〔2020〕20号 附件第5项）：不予出具，按办事途径告诉居民到公安机关办理。"
'''

TEST = '''\
"""The sealdesk conformance suite on this plugin (what `sealdesk plugin check {jid}` runs)."""

from sealdesk.core.api import check, check_scenarios


def test_conformance():
    violations = check(name="{jid}", scenarios=False)
    assert not violations, "\\n".join(str(v) for v in violations)


def test_scenarios():
    """Every case of {module}/scenarios/*.toml is decided as it states: outcome, item, route."""
    result = check_scenarios(name="{jid}")
    assert result.cases, "no scenario cases found in {module}/scenarios/"
    assert not result.violations, "\\n".join(str(v) for v in result.violations)
'''

README = '''\
# sealdesk-{jid}

A [sealdesk](https://example.invalid/sealdesk) jurisdiction plugin for {name} (`{jid}`),
extending `{parent}`.

    pip install .                      # or pip install -e . while you edit it
    sealdesk plugin check {jid}        # the cross-plugin properties and the scenarios' cases
    sealdesk decide <证明名称> --jurisdiction {jid} --json
    python -m pytest tests             # the same checks, as tests

Files: `{module}/jurisdiction.toml` (documents, seal rules), `{module}/catalog.toml`
(negative and retained items), `{module}/__init__.py` (hooks), `{module}/scenarios/*.toml`
(trainers' cases, checked by `plugin check`).
'''


def scaffold(jid: str, parent: str, dest: Path, known: set[str], name: str | None = None,
             level: str = "district", today: str | None = None) -> Path:
    """Write the package for jurisdiction ``jid`` into ``dest/sealdesk-<jid>``; return that directory."""
    import datetime as dt

    if not ID.match(jid or ""):
        raise KitError(f"invalid plugin name {jid!r}: use lower-case letters, digits and '-' "
                       "(e.g. chongqing-yubei), starting with a letter")
    if jid in known:
        raise KitError(f"jurisdiction '{jid}' is already installed")
    if parent not in known:
        raise KitError(f"unknown parent jurisdiction {parent!r} (installed: {', '.join(sorted(known))})")
    if name is not None and (not name.strip() or any(c in name for c in '"\\\n')):
        raise KitError(f"invalid display name {name!r}: no quotes, backslashes or line breaks")
    if level not in LEVELS:
        raise KitError(f"unknown level {level!r} (one of {', '.join(LEVELS)})")
    if not dest.is_dir():
        raise KitError(f"directory {dest} does not exist")
    root = dest / f"sealdesk-{jid}"
    if root.exists():
        raise KitError(f"{root} already exists; not overwriting it")
    module = module_name(jid)
    values = dict(jid=jid, parent=parent, module=module, name=name or jid, level=level,
                  today=today or dt.date.today().isoformat())
    files = {
        "pyproject.toml": PYPROJECT,
        "README.md": README,
        f"{module}/__init__.py": INIT,
        f"{module}/jurisdiction.toml": JURISDICTION,
        f"{module}/catalog.toml": CATALOG,
        f"{module}/scenarios/{jid}-basics.toml": SCENARIO,
        "tests/test_conformance.py": TEST,
    }
    for rel, template in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(template.format(**values), encoding="utf-8")
    return root


__all__ = ["KitError", "scaffold", "module_name"]
