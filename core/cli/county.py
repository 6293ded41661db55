"""``sealdesk county``: the county bureau's commands over a PostgreSQL register of many communities.

``county setup`` (the database administrator, once, as the database's owner) creates the schema
and grants the counters' role INSERT and SELECT only; ``county reindex`` (the owner, after a
restore or a bulk load) rebuilds the derived tables from the records; ``county communities``, ``county
inventory`` (the 附件1 inventory summed across communities and townships), ``county counts`` and
``county audit`` read every community. Issue 14, part 3; :mod:`sealdesk.core.register.county`.

The database is ``--url``, else ``$SEALDESK_COUNTY_URL``, else ``[register] url`` of the
community at ``--home``. Exit codes: 0 done; 1 the audit found a problem; 2 bad input or an
unreachable database.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys

from sealdesk.core.cli.register import EXIT_PROBLEM, _print_json
from sealdesk.core.common.inputs import BadInput, parse_date
from sealdesk.core.common.outfile import spreadsheet_safe

LABELS = {"issue": "出具", "issue_transitional": "过渡期出具", "commitment": "告知承诺", "refuse": "不予出具"}


def _url(args) -> str:
    url = args.url or os.environ.get("SEALDESK_COUNTY_URL", "")
    if not url:
        from sealdesk.core.register.community import load_community, resolve_home

        url = load_community(resolve_home(getattr(args, "home", None))).register_url
    if not url:
        raise BadInput("未指定县登记簿：请用 --url postgresql://… 或设置 SEALDESK_COUNTY_URL"
                       "（社区配置中也没有 [register] url）")
    if not url.startswith(("postgresql://", "postgres://")):
        raise BadInput("--url 应为 PostgreSQL 连接地址（postgresql://…）")
    return url


def _period(args) -> tuple[dt.date, dt.date]:
    today = dt.date.today()
    start = parse_date(args.start) if args.start else (today.replace(month=1, day=1) if today.month <= 6
                                                        else today.replace(month=7, day=1))
    end = parse_date(args.end) if args.end else today
    if start > end:
        raise BadInput(f"统计期间的开始日期 {start} 晚于结束日期 {end}")
    return start, end


def _outcomes(o: dict) -> str:
    return "，".join(f"{LABELS.get(k, k)} {v}" for k, v in o.items() if v) or "无"


def cmd_setup(args) -> int:
    from sealdesk.core.register.postgres import install, url_label

    url = _url(args)
    state = install(url, args.app_role or "")
    print({"created": "已建立", "upgraded": "已升级（记录不变）", "present": "已存在"}[state]
          + f" sealdesk 登记簿结构：{url_label(url)}"
          + (f"；角色 {args.app_role} 可读取、追加记录，不能修改或删除" if args.app_role else ""))
    return 0


def cmd_reindex(args) -> int:
    from sealdesk.core.register.postgres import reindex_county

    r = reindex_county(_url(args))
    print(f"已从记录重建索引：{r['communities']} 个社区（村），{r['matters']} 件事项，{r['grams']} 条搜索索引")
    return 0


def cmd_communities(args) -> int:
    from sealdesk.core.register.county import communities

    rows = communities(_url(args))
    if args.json:
        _print_json([r.__dict__ for r in rows])
        return 0
    print(f"共 {len(rows)} 个社区（村）")
    for r in rows:
        print(f"  {r.township or '—'}  {r.name}  辖区 {r.jurisdiction or '—'}  {r.records} 条记录")
    return 0


def cmd_inventory(args) -> int:
    from sealdesk.core.register.county import inventory

    start, end = _period(args)
    inv = inventory(_url(args), start, end)
    if args.json:
        _print_json(inv)
        return 0
    if args.format == "csv":
        w = csv.writer(sys.stdout)
        w.writerow(["证明名称", "证明用途", "索要单位", *LABELS.values(), "合计", "涉及乡镇（街道）"])
        for r in inv["rows"]:
            # Names, uses and requesting units are typed by clerks: one that starts like a formula is
            # written as text (a leading '), so a spreadsheet does not run it (core/common/outfile.py).
            w.writerow([*spreadsheet_safe([r["name"] or "", r["purpose"] or "", r["requester"] or ""]),
                        *(r["outcomes"].get(k, 0) for k in LABELS),
                        r["total"], "；".join(f"{t or '—'} {n}" for t, n in sorted(r["townships"].items()))])
        return 0
    print(f"证明事项清单（全县汇总）  {inv['from']} 至 {inv['to']}")
    print(f"社区（村） {inv['communities']} 个，本期有登记的 {inv['reporting']} 个；事项共 {inv['total']} 件：" + _outcomes(inv["outcomes"]))
    for t in inv["townships"]:
        print(f"  {t['township'] or '—'}：{t['total']} 件（{_outcomes(t['outcomes'])}）")
    print()
    shown = inv["rows"][: args.limit] if args.limit else inv["rows"]
    for i, r in enumerate(shown, 1):
        use = "，".join(x for x in (f"用途：{r['purpose']}" if r["purpose"] else "",
                                    f"索要单位：{r['requester']}" if r["requester"] else "") if x)
        print(f"{i:>4}. {r['name']}" + (f"（{use}）" if use else "") + f"  {r['total']} 件：{_outcomes(r['outcomes'])}")
    if len(shown) < len(inv["rows"]):
        print(f"  ……另有 {len(inv['rows']) - len(shown)} 行（--limit 0 显示全部，或 --format csv、--json）")
    return 0


def cmd_counts(args) -> int:
    from sealdesk.core.register.county import counts

    start = parse_date(args.start) if args.start else None
    end = parse_date(args.end) if args.end else None
    rows = counts(_url(args), args.by, start, end)
    if args.json:
        _print_json(rows)
        return 0
    head = {"item": "证明名称", "township": "乡镇（街道）", "community": "社区（村）"}[args.by]
    print(f"{head}　件数（按决定）")
    for r in rows:
        if r[args.by] is None:
            print(f"（另有作废 {r['voided']} 件，未计入）")
        else:
            print(f"{r[args.by] or '—'}　{r['total']}：{_outcomes(r['outcomes'])}")
    return 0


def cmd_audit(args) -> int:
    from sealdesk.core.cli.main import _registry
    from sealdesk.core.register.county import audit

    a = audit(_url(args), _registry(), args.community)
    if args.json:
        _print_json(a)
        return 0 if a["ok"] else EXIT_PROBLEM
    print(f"全县检查：{a['communities']} 个社区（村），" + ("均无违规" if a["ok"] else f"{len(a['failing'])} 个有问题"))
    for r in a["results"]:
        chain = "哈希链完整" if r["chain"]["ok"] else f"哈希链第 {r['chain']['first_bad_entry']} 条记录有问题"
        mark = "　" if r["ok"] else "✗"
        print(f"{mark} {r['township'] or '—'} {r['community']}：{r['records']} 条记录，{chain}，"
              f"违规 {r['violations']} 项，提示 {r['notices']} 项")
        if not r["ok"]:
            for f in [f for f in r["findings"] if f["severity"] == "violation"][:5]:
                where = f"第 {f['entry']} 条：" if f["entry"] else ""
                print(f"      {where}{f['text']}  ［{f['rule']}］")
    return 0 if a["ok"] else EXIT_PROBLEM


def add_parsers(sub) -> None:
    c = sub.add_parser("county", help="县级登记簿（PostgreSQL）：建立、汇总清单、统计、全县检查")
    csub = c.add_subparsers(dest="county_command", parser_class=type(c))

    def common(p, json_flag=True):
        p.add_argument("--url", help="县登记簿的 PostgreSQL 地址（默认 $SEALDESK_COUNTY_URL 或社区配置的 [register] url）")
        p.add_argument("--home", default=None, help="社区配置所在目录（取其中的 [register] url）")
        if json_flag:
            p.add_argument("--json", action="store_true", help="输出 JSON")

    s = csub.add_parser("setup", help="建立登记簿结构并授权（数据库所有者执行一次）")
    common(s, json_flag=False)
    s.add_argument("--app-role", help="社区受理程序使用的数据库角色：只授予读取和追加记录的权限")
    s.set_defaults(func=cmd_setup)

    s = csub.add_parser("reindex", help="从记录重建全县的事项索引和搜索索引（数据库所有者执行，如恢复备份后）")
    common(s, json_flag=False)
    s.set_defaults(func=cmd_reindex)

    s = csub.add_parser("communities", help="县登记簿中的社区（村）")
    common(s)
    s.set_defaults(func=cmd_communities)

    s = csub.add_parser("inventory", help="证明事项清单（附件1）全县汇总：按证明名称、用途、索要单位")
    common(s)
    s.add_argument("--from", dest="start", help="统计开始日期 YYYY-MM-DD（默认本半年的第一天）")
    s.add_argument("--to", dest="end", help="统计结束日期（默认今天）")
    s.add_argument("--format", choices=("text", "csv"), default="text")
    s.add_argument("--limit", type=int, default=50, help="文本输出最多显示的行数（0：全部）")
    s.set_defaults(func=cmd_inventory)

    s = csub.add_parser("counts", help="按事项、乡镇或社区统计件数（按决定）")
    common(s)
    s.add_argument("--by", choices=("item", "township", "community"), default="item")
    s.add_argument("--from", dest="start")
    s.add_argument("--to", dest="end")
    s.set_defaults(func=cmd_counts)

    s = csub.add_parser("audit", help="全县检查：逐个社区校验哈希链并按规则检查")
    common(s)
    s.add_argument("--community", help="只检查这个社区（村）")
    s.set_defaults(func=cmd_audit)
