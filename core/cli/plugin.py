"""Commands for plugin developers: ``plugin new NAME --parent ID`` and ``plugin check [NAME]``.

Developer-facing, so the messages are English. Exit codes: 0 done / no violation,
1 ``plugin check`` found violations, 2 bad input (one line on stderr).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

EXIT_VIOLATIONS = 1


def cmd_new(args) -> int:
    from sealdesk.core.cli.main import BadInput
    from sealdesk.core.kit.scaffold import KitError, scaffold
    from sealdesk.core.engine.plugins import Registry

    reg = Registry()
    try:
        root = scaffold(args.name, args.parent, Path(args.dir), set(reg.ids()), name=args.title, level=args.level)
    except KitError as exc:
        raise BadInput(f"plugin new: {exc}") from None
    print(f"created {root}")
    print("next: fill in the TODO values of jurisdiction.toml, add items to catalog.toml (docs/plugins.md), then")
    target = _local_path(root)
    print(f"  pip install {target}  &&  sealdesk plugin check {args.name}")
    print(f"  (pip install -e {target} while you edit it: changes apply without reinstalling)")
    return 0


def _local_path(root: Path) -> str:
    """``root`` as pip reads a local directory: ``./sealdesk-x``, never ``sealdesk-x``, which pip
    would look up on the package index as a package of that name."""
    import shlex

    text = str(root)
    if not (root.is_absolute() or text.startswith(("./", "../"))):
        text = "./" + text
    return shlex.quote(text)


def cmd_check(args) -> int:
    from sealdesk.core.cli.main import BadInput
    from sealdesk.core.engine.plugins import Registry

    try:
        from sealdesk.core.kit.conformance import check, jurisdictions_of
    except ImportError as exc:  # a dependency of sealdesk, but an environment can lack it
        raise BadInput(f"plugin check needs hypothesis ({exc}); install it: pip install 'hypothesis>=6.100'") from None
    reg = Registry()
    plugins, jids = jurisdictions_of(reg, args.name)
    if args.name is not None and not plugins and not jids:
        from sealdesk.core.kit.conformance import plugin_names

        raise BadInput(f"plugin check: no installed plugin or jurisdiction named {args.name!r} "
                       f"(installed: {', '.join(sorted(plugin_names(reg)))})")
    from sealdesk.core.kit.conformance import check_scenarios

    violations = check(reg, args.name, max_examples=args.examples, scenarios=False)
    scenarios = check_scenarios(reg, args.name)  # the plugin's own lessons, counted for the summary
    violations += scenarios.violations
    checked = sorted(j for j in jids if j in reg.ids())
    if args.json:
        print(json.dumps({
            "checked": checked,
            "violations": [{"check": v.check, "message": v.message, "jurisdiction": v.jurisdiction,
                            "item": v.item, "where": v.where} for v in violations],
            "scenarios": {"cases": scenarios.cases, "as_expected": scenarios.as_expected},
        }, ensure_ascii=False))
    else:
        for v in violations:
            print(str(v))
        what = args.name or "all plugins"
        print(f"scenarios: {scenarios.summary()}")
        if violations:
            print(f"{len(violations)} violation(s) in {what}", file=sys.stderr)
        else:
            print(f"ok: {what} ({', '.join(checked)}) pass the conformance suite")
    return EXIT_VIOLATIONS if violations else 0


def _needs_subcommand(args) -> int:
    from sealdesk.core.cli.main import BadInput

    raise BadInput("plugin needs a subcommand: new, check (sealdesk plugin --help)")


def add_parsers(sub) -> None:
    from sealdesk.core.cli.main import _Parser

    p = sub.add_parser("plugin", help="插件开发：生成插件包（new）、一致性检查（check）")
    p.set_defaults(func=_needs_subcommand)
    ps = p.add_subparsers(dest="plugin_command", parser_class=_Parser)

    s = ps.add_parser("new", help="scaffold an installable jurisdiction plugin package")
    s.add_argument("name", help="jurisdiction id of the new plugin, e.g. chongqing-example")
    s.add_argument("--parent", required=True, help="id of the installed parent jurisdiction")
    s.add_argument("--dir", default=".", help="directory to create sealdesk-NAME/ in (default: current)")
    s.add_argument("--title", help="display name of the jurisdiction, e.g. 重庆市示例区 (default: NAME)")
    s.add_argument("--level", default="district", help="national, province, city, district, county or township")
    s.set_defaults(func=cmd_new)

    s = ps.add_parser("check", help="run the conformance suite (hypothesis) and the plugins' own scenarios")
    s.add_argument("name", nargs="?", help="a plugin or jurisdiction id (default: every installed plugin)")
    s.add_argument("--examples", type=int, default=100, help="random requests per property (default 100)")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_check)
