"""``sealdesk compare NAME``: one request decided in every jurisdiction, side by side.

``--json`` prints a JSON array with one ``decide --json`` object per jurisdiction (DOMAIN.md
section 11; each carries its "jurisdiction"). The text form is a table aligned by display
width (汉字 take two cells) with the cells that differ from most jurisdictions marked ``*``,
then the full routes (and requirements, questions) grouped: identical texts shown once,
with the jurisdictions that share them.
"""

from __future__ import annotations

import sys

from rich.cells import cell_len

from sealdesk.core.common.cells import pad, shorten
from sealdesk.core.cli.main import BadInput, _registry, add_request_args, request_from_args
from sealdesk.core.engine.facts import facts_text
# core.compare (and through it the plugin manager) is imported when the command runs: the
# parser is built on every start, ``sealdesk tui`` included, and its launch time is measured.

MARK = "*"
ROUTE_WIDTH = 30  # cells of the route shown in the table; the full text follows it


def _names(reg, jids) -> str:
    return "、".join(reg.jurisdictions[j].name if j in reg.jurisdictions else j for j in jids)


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(cell_len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(pad(c, w) for c, w in zip(r, widths)).rstrip() for r in rows]


def print_comparison(reg, cmp) -> None:
    from sealdesk.core.training.compare import FIELD_LABELS, item_label, question_label, requirements_label

    req = cmp.request
    print(f"对比：{req.query}（决定日期 {cmp.date.isoformat()}，{len(cmp.decisions)} 个辖区）")
    given = [f"用途：{req.purpose}" if req.purpose else "", f"索要单位：{req.requester}" if req.requester else ""]
    facts = req.facts.as_dict()
    if facts:
        given.append("情形：" + facts_text(facts, reg.facts))
    if any(given):
        print("　".join(g for g in given if g))
    diff = cmp.differing_fields
    if diff:
        print(f"不同之处（{MARK} 标出与多数辖区不同的格）：" + "；".join(
            f"{FIELD_LABELS[f]}（{_names(reg, [j for j, fs in cmp.differs.items() if f in fs])}）" for f in diff))
    elif cmp.decisions:
        print("各辖区的决定相同")
    print()

    def cell(text: str, marked: bool) -> str:
        return (MARK if marked else " ") + text

    rows = [[" 辖区", " 结果", " 事项", " 办事途径"]]
    for d in cmp.decisions:
        fs = cmp.differs[d.jurisdiction]
        rows.append([
            cell(reg.jurisdictions[d.jurisdiction].name, bool(fs)),
            cell(d.outcome.label, bool(fs & {"outcome", "requirements", "questions"})),
            cell(item_label(d), "item" in fs),
            cell(shorten(d.route, ROUTE_WIDTH) if d.route else "—", "route" in fs),
        ])
    for line in _table(rows):
        print(line)
    for jid, error in cmp.broken:
        print(f" {_names(reg, [jid])}：不可用（{error}）")
    warned = [d for d in cmp.decisions if d.warnings]
    if warned:
        print()
        print("注意：")
        for d in warned:
            for w in d.warnings:
                print(f"  {_names(reg, [d.jurisdiction])}：{w}")

    chosen: dict[str, list[str]] = {}  # the items a name near several may mean, named in full
    for d in cmp.decisions:
        if d.item is None and d.candidates:
            text = "、".join(f"{c.list_label}第{c.number}项 {c.name}" for c in d.candidates)
            chosen.setdefault(text, []).append(d.jurisdiction)
    if chosen:
        print()
        print("待选事项（名称与清单事项相近：须问明居民所要的是哪一项）：")
        for text, jids in chosen.items():
            print(f"  {_names(reg, jids)}：")
            print(f"    {text}")

    sections = (("route", "办事途径", lambda v: v),
                ("requirements", "须办理", requirements_label),
                ("questions", "待确认情形", lambda v: "、".join(question_label(q, reg.facts) for q in v)))
    for field, title, text in sections:
        groups = cmp.groups(field)
        if not any(value for value, _ in groups):
            continue
        print()
        print(f"{title}：")
        for value, jids in groups:
            marked = value != cmp.reference[field]
            print(f"{MARK if marked else ' '} {_names(reg, jids)}：")
            print(f"    {text(value) if value else '（无）'}")


def cmd_compare(args) -> int:
    from sealdesk.core.training.compare import compare
    from sealdesk.core.engine.plugins import UnknownJurisdiction

    reg = _registry()
    if not args.name or not args.name.strip():
        raise BadInput("缺少证明名称，例如：sealdesk compare 无犯罪记录证明")
    request, on = request_from_args(args.name.strip(), args, reg.facts)
    try:
        subset = [j.strip() for arg in args.jurisdiction or () for j in arg.split(",") if j.strip()]
        cmp = compare(reg, request, on, subset or None)
    except UnknownJurisdiction as exc:
        raise BadInput(f"未知辖区：{exc.args[0]!r}（可选：{', '.join(reg.ids())}）") from None
    if args.json:
        for jid, error in cmp.broken:
            print(f"sealdesk: 警告：辖区 {jid} 不可用：{error}", file=sys.stderr)
        print("[" + ",".join(d.to_json_text() for d in cmp.decisions) + "]")
    else:
        print_comparison(reg, cmp)
    return 0


def add_parsers(sub) -> None:
    s = sub.add_parser("compare", help="同一申请在各辖区的决定并列对比")
    s.add_argument("name", nargs="?", help="居民所要的证明名称")
    add_request_args(s)
    s.add_argument("--jurisdiction", "-j", action="extend", nargs="+", metavar="ID",
                   help="只对比这些辖区（默认全部；可写多个，或以逗号分隔）")
    s.add_argument("--json", action="store_true", help="每个辖区一个 decide --json 对象组成的数组")
    s.set_defaults(func=cmd_compare)
