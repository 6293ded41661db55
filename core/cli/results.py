"""``sealdesk results [DIR]``: the trainer's view of a class's results files (issue 19).

Per lesson, each trainee's latest attempt (处理结果 and 办事途径 scored apart, never added up,
finished or 未完成) and each case with how many got it wrong, most-missed first; ``--trainee``
lists one trainee's answers case by case; ``--csv`` writes one row per answer, ``--json`` the
summary. Reading and summarising are ``core.training.summary``; this module prints.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import json
import sys

from rich.cells import cell_len

from sealdesk.core.cli.main import BadInput

WIDTH = 80


def _date(text: str) -> str:
    """``2026-12-05T10:00:00+08:00`` as ``2026-12-05 10:00`` (the time the trainee's machine had)."""
    try:
        return dt.datetime.fromisoformat(text).strftime("%Y-%m-%d %H:%M")
    except (TypeError, ValueError):
        from sealdesk.core.common.cells import shorten
        from sealdesk.core.training.summary import one_line

        return shorten(one_line(text), 16)


@functools.cache
def _names() -> dict[str, str]:
    """Installed jurisdictions' names by id (read once)."""
    try:
        from sealdesk.core.engine.plugins import default_registry

        return {j: d.name for j, d in default_registry().jurisdictions.items()}
    except Exception:  # the summary does not need the plugins: ids are shown instead
        return {}


def _jname(jid: str) -> str:
    """A jurisdiction's name (青海省) for its id in a results file; the id when no installed plugin has it."""
    return _names().get(jid, jid)


def _score(points: int, possible: int) -> str:
    return f"{points}/{possible}" if possible else "—"


def _status(latest: dict) -> str:
    if latest["finished"]:
        return "完成"
    total = latest["cases"]
    return f"未完成 {latest['answered']}/{total}" if total else "未完成"


# Columns of the trainees' table and the cases' table: (heading, width in cells, right-aligned).
_TRAINEE_COLUMNS = (("学员", 14, False), ("次数", 4, True), ("处理结果", 8, False), ("办事途径", 8, False),
                    ("状态", 12, False), ("开始时间", 16, False))
_CASE_COLUMNS = (("案例", 4, True), ("证明名称", 14, False), ("辖区", 15, False), ("作答", 4, True),
                 ("结果错", 6, True), ("途径错", 6, True), ("最常见错答", 0, False))


def _row(columns, cells) -> str:
    from sealdesk.core.common.cells import pad, shorten

    out, used = [], 2
    for (_, width, right), cell in zip(columns, cells):
        if not width:  # the last column takes what is left of the line
            width = WIDTH - used
        text = shorten(cell, width)
        gap = width - cell_len(text)
        out.append(" " * gap + text if right else pad(text, width))
        used += width + 2
    return ("  " + "  ".join(out)).rstrip()


def _print_lesson(lesson: dict, with_answers: bool) -> None:
    from sealdesk.core.common.cells import shorten
    from sealdesk.core.training.summary import one_line

    title = one_line(lesson["title"])
    head = f"课程 {one_line(lesson['lesson'])}" + (f"：{title}" if title else "")
    counts = f"（{len(lesson['trainees'])} 名学员，{lesson['attempts']} 次作答）"
    print(shorten(head, WIDTH - cell_len(counts)) + counts)
    print(_row(_TRAINEE_COLUMNS, [h for h, _, _ in _TRAINEE_COLUMNS]))
    for t in lesson["trainees"]:
        last = t["latest"]
        print(_row(_TRAINEE_COLUMNS, [one_line(t["trainee"]), str(t["attempts"]),
                                      _score(last["outcome_points"], last["outcome_possible"]),
                                      _score(last["route_points"], last["route_possible"]),
                                      _status(last), _date(last["started"])]))
    print("  （最近一次作答的得分：答对题数/题数，处理结果与办事途径分别计分）")
    if with_answers:
        for t in lesson["trainees"]:
            _print_answers(t)
        return
    print()
    print("  案例（答错的人多的在前；每位学员取其最近一次对该案例的回答）")
    print(_row(_CASE_COLUMNS, [h for h, _, _ in _CASE_COLUMNS]))
    for c in lesson["cases"]:
        common = c["most_common_wrong"]
        print(_row(_CASE_COLUMNS, [str(c["case"]), one_line(c["query"]), one_line(_jname(c["jurisdiction"])),
                                   str(c["answered"]), str(c["outcome_wrong"]),
                                   str(c["route_wrong"]) if c["route_asked"] else "—",
                                   f"{common['label']}×{common['count']}" if common else "—"]))
    print("  （作答：回答该案例的学员数；结果错、途径错：其中答错处理结果、办事途径的人数）")


def _print_answers(t: dict) -> None:
    from sealdesk.core.common.cells import shorten
    from sealdesk.core.training.summary import one_line

    print()
    print(shorten(f"  {one_line(t['trainee'])} 最近一次作答（{one_line(t['latest']['file'])}）：", WIDTH))
    if not t["answers"]:
        print("    （还没有回答任何一题）")
    for a in t["answers"]:
        where = "，".join(one_line(x) for x in (_jname(a["jurisdiction"]), a["on"]) if x)
        n = f"第 {a['n']} 题  " if a["n"] is not None else ""
        print(shorten(f"  {n}案例 {a['case']}  {one_line(a['query'])}" + (f"（{where}）" if where else ""), WIDTH))
        mark = "✓" if a["outcome_ok"] else "✗"
        print(shorten(f"      处理结果 {mark}  你的答案：{a['chosen_label']}　正确答案：{a['expected_label']}", WIDTH))
        if a["route_ok"] is True:
            print("      办事途径 ✓")
        elif a["route_ok"] is False:
            chosen = one_line(a["chosen_route"]) if a["chosen_route"] else "（未选）"
            print(shorten(f"      办事途径 ✗  你的答案：{chosen}", WIDTH))
            print(shorten(f"                  正确答案：{one_line(a['expected_route'] or '')}", WIDTH))


def _write_csv(path: str, attempts, bom: bool) -> int:
    from sealdesk.core.common.outfile import BOM, output_file, spreadsheet_safe
    from sealdesk.core.training.summary import CSV_FIELDS, csv_rows

    rows = 0
    # Trainees' names and answers: a file is 0600 from its first byte and renamed into place whole
    # (core.common.outfile); a cell starting like a formula gets a leading ' (Excel, WPS).
    with output_file(path, text=True) as out:
        if bom:
            out.write(BOM)
        w = csv.writer(out)
        w.writerow(CSV_FIELDS)
        for row in csv_rows(attempts):
            w.writerow(spreadsheet_safe(row))
            rows += 1
    return rows


def cmd_results(args) -> int:
    from sealdesk.core.common.outfile import STDOUT
    from sealdesk.core.training.results import results_folder
    from sealdesk.core.training.summary import one_line, read_folder, select, summarise

    if args.json and args.output:
        raise BadInput("--json 与 --csv 不能同时使用")
    if args.bom and not args.output:
        raise BadInput("--bom 只用于 --csv（给 Excel 打开的 CSV 文件）")
    folder = results_folder(args.dir, args.home)
    reading = read_folder(folder)
    for w in reading.warnings:
        print(f"sealdesk: 警告：{w}", file=sys.stderr)
    attempts = select(reading.attempts, args.lesson, args.trainee)
    shown = one_line(folder)
    if not reading.files:
        empty = f"{shown} 中没有成绩文件"
    elif not reading.attempts:
        empty = f"{shown} 中没有可用的成绩（{reading.files} 个文件均有误，见上）"
    else:
        empty = ""
    if args.output:
        rows = _write_csv(args.output, attempts, args.bom)
        where = "" if args.output == STDOUT else f"已写入 {one_line(args.output)}："
        note = empty or f"{where}{rows} 条答题记录（{len(attempts)} 次作答）"
        print(note, file=sys.stderr if args.output == STDOUT else sys.stdout)
        return 0
    lessons = summarise(attempts)
    if args.json:
        print(json.dumps({"folder": str(folder), "files": reading.files, "attempts": len(attempts),
                          "lesson": args.lesson, "trainee": args.trainee,
                          "warnings": [w.to_json() for w in reading.warnings], "lessons": lessons},
                         ensure_ascii=False, separators=(",", ":")))
        return 0
    if empty:
        print(empty)
        return 0
    print(f"成绩目录：{shown}")
    print(f"{reading.files} 个成绩文件，{len(reading.attempts)} 次作答")
    for lesson in lessons:
        print()
        _print_lesson(lesson, args.trainee is not None)
    return 0


def add_parsers(sub) -> None:
    s = sub.add_parser(
        "results", help="培训成绩：每位学员、每个案例的得分，可导出 CSV",
        description="读取成绩目录中学员的成绩文件（sealdesk train 写入），按课程列出每位学员最近一次的得分"
                    "（处理结果、办事途径分别计分）和各案例答错的人数（答错多的在前）")
    s.add_argument("dir", nargs="?", metavar="DIR",
                   help="成绩目录（默认 community.toml 的 [training] results，否则用户数据目录下的 training-results）")
    s.add_argument("--lesson", metavar="ID", help="只看一个课程（课程 ID）")
    s.add_argument("--trainee", metavar="NAME", help="只看一名学员（姓名或登录名），并逐题列出其答案和正确答案")
    s.add_argument("--json", action="store_true", help="以 JSON 输出汇总（供其他程序读取）")
    s.add_argument("--csv", dest="output", metavar="FILE",
                   help="每条答题记录一行写入 CSV 文件（- 为标准输出）：新建为仅本人可读（0600），已有的普通文件被替换")
    s.add_argument("--bom", action="store_true", help="CSV 开头加 UTF-8 BOM，Excel 直接打开时中文不乱码")
    s.set_defaults(func=cmd_results)
