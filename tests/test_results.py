"""``sealdesk results`` (issue 19): what a trainer sees of a class's results files.

The files are written by the real writer (``core.training.results.Attempt``), with a clock the
test sets so that which attempt is the latest is known; the command runs as a real process.
"""

from __future__ import annotations

import csv
import json
import os
import re
import stat
import subprocess
from pathlib import Path

import pytest
from rich.cells import cell_len

from sealdesk.core.training import results
from sealdesk.core.training.results import Attempt

ROOT = Path(__file__).resolve().parent.parent
SEALDESK = ROOT / ".venv" / "bin" / "sealdesk"
LABEL = {"issue": "出具", "commitment": "告知承诺", "refuse": "不予出具", "issue_after_consultation": "议事协商后出具"}

# lesson -> case number -> (query, jurisdiction, expected outcome, expected route or None)
ROUTE_A = "向户籍所在地公安派出所申请开具"
ROUTE_B = "由民政部门婚姻登记机关查询出具"
LESSONS = {
    "qh-commitment": ("青海：居住证明与告知承诺", {
        1: ("无犯罪记录证明", "national", "refuse", ROUTE_A),
        2: ("居住证明", "qinghai", "commitment", None),
        3: ("亲属关系证明", "national", "issue", None),
    }),
    "routes": ("办事途径入门", {
        1: ("婚姻状况证明", "national", "refuse", ROUTE_B),
        2: ("无业证明", "chongqing", "refuse", ROUTE_A),
    }),
}


class Clock:
    """``results._now`` for the test: each attempt starts a minute after the previous one."""

    def __init__(self):
        self.minute = 0

    def __call__(self) -> str:
        return f"2026-12-05T10:{self.minute:02d}:00+08:00"


def write_attempt(folder: Path, clock: Clock, lesson: str, trainee: str, answers, *, order=None, seed=None,
                  finish=True, bad_line_after: int | None = None) -> Path:
    """One attempt through the real writer. ``answers``: (case, chosen, route chosen or None) in the
    order asked. Returns the file."""
    title, cases = LESSONS[lesson]
    clock.minute += 1
    order = order or [c for c, _, _ in answers]
    a = Attempt.start(folder, lesson=lesson, title=title, path=f"scenarios/{lesson}.toml", trainee=trainee,
                      seed=seed, order=order)
    op = rp = rpos = 0
    for n, (case, chosen, route) in enumerate(answers, 1):
        query, jid, expected, right_route = cases[case]
        route_ok = None if right_route is None else route == right_route
        a.answer(n=n, case=case, query=query, jurisdiction=jid, on="2026-09-01",
                 choices=["issue", "commitment", "refuse"], chosen=chosen, expected=expected,
                 outcome_ok=chosen == expected, chosen_route=route if right_route else None,
                 expected_route=right_route, route_ok=route_ok)
        op += chosen == expected
        rp += route_ok is True
        rpos += route_ok is not None
        if bad_line_after == n:  # a line that is not JSON in the middle (an editor, a disk error)
            with open(a.path, "ab") as f:
                f.write(b'{"kind": "answer", "case": \n')
    if finish:
        a.finish(outcome_points=op, outcome_possible=len(answers), route_points=rp, route_possible=rpos)
    a.close()
    return a.path


@pytest.fixture
def klass(tmp_path, monkeypatch):
    """A class's results folder: three trainees and more on two lessons, a shuffled attempt, an
    unfinished one, a file with a bad line, a corrupt file. Returns (folder, files)."""
    clock = Clock()
    monkeypatch.setattr(results, "_now", clock)
    folder = tmp_path / "results"
    files = {}
    # 张三 tries lesson 1 twice; the second (latest) attempt is the one shown: outcome 2/3, route 0/1.
    files["张三-1"] = write_attempt(folder, clock, "qh-commitment", "张三",
                                   [(1, "issue", None), (2, "issue", None), (3, "refuse", None)])
    files["张三-2"] = write_attempt(folder, clock, "qh-commitment", "张三",
                                   [(1, "refuse", ROUTE_B), (2, "refuse", None), (3, "issue", None)])
    # 李四: shuffled (seed 7), asked 3, 1, 2: outcome 2/3, route 1/1.
    files["李四"] = write_attempt(folder, clock, "qh-commitment", "李四",
                                 [(3, "issue", None), (1, "refuse", ROUTE_A), (2, "refuse", None)],
                                 order=[3, 1, 2], seed=7)
    # 王五 left after the first question: 未完成, 1/1 answered.
    files["王五"] = write_attempt(folder, clock, "qh-commitment", "王五", [(2, "commitment", None)], finish=False)
    # 孙七: a bad line after the first answer; the two answers after it still count.
    files["孙七"] = write_attempt(folder, clock, "qh-commitment", "孙七",
                                 [(1, "refuse", ROUTE_A), (2, "issue", None), (3, "issue", None)],
                                 bad_line_after=1, finish=False)
    # The second lesson: 张三 and 李四.
    files["routes-张三"] = write_attempt(folder, clock, "routes", "张三", [(1, "refuse", ROUTE_B), (2, "refuse", ROUTE_B)])
    files["routes-李四"] = write_attempt(folder, clock, "routes", "李四", [(1, "issue", ROUTE_B), (2, "refuse", ROUTE_A)])
    broken = folder / "qh-commitment--赵六--20261205-100000-1.jsonl"
    broken.write_bytes("{\"kind\": \"start\", \"trainee\": \"赵六\"".encode("gbk") + b"\xd5\xd4\xc1\xf9\n")
    files["broken"] = broken
    return folder, files


def sealdesk(*argv, cwd=None):
    done = subprocess.run([str(SEALDESK), *map(str, argv)], capture_output=True, text=True, timeout=120, cwd=cwd,
                          env={**os.environ, "LANG": "C.UTF-8", "SEALDESK_HOME": str(Path(cwd or "/nonexistent"))})
    return done.returncode, done.stdout, done.stderr


def section(out: str, lesson: str) -> str:
    """The text of one lesson's part of the report."""
    parts = re.split(r"\n(?=课程 )", out)
    return next(p for p in parts if p.startswith(f"课程 {lesson}："))


def trainee_row(text: str, name: str) -> list[str]:
    """The cells of a trainee's row: name, attempts, outcome score, route score, status…, date, time."""
    line = next(ln for ln in text.splitlines() if ln.startswith(f"  {name} "))
    return line.split()


def test_each_trainee_latest_attempt_scores_outcome_and_route_apart(klass):
    folder, _ = klass
    code, out, err = sealdesk("results", folder)
    assert code == 0, err
    lesson = section(out, "qh-commitment")
    assert lesson.startswith("课程 qh-commitment：青海：居住证明与告知承诺（4 名学员，5 次作答）")
    # 张三: two attempts, the latest shown (2/3 outcome, 0/1 route), not the first (0/3).
    assert trainee_row(lesson, "张三")[:5] == ["张三", "2", "2/3", "0/1", "完成"]
    assert trainee_row(lesson, "李四")[:5] == ["李四", "1", "2/3", "1/1", "完成"]
    # Unfinished: what was answered counts, marked 未完成 with how far the trainee got.
    assert trainee_row(lesson, "王五")[:6] == ["王五", "1", "1/1", "—", "未完成", "1/1"]
    # 孙七: a bad line after the first answer; the two after it count (refuse ✓, issue ✗, issue ✓).
    assert trainee_row(lesson, "孙七")[:6] == ["孙七", "1", "2/3", "1/1", "未完成", "3/3"]
    assert trainee_row(lesson, "张三")[-2:] == ["2026-12-05", "10:02"]
    routes = section(out, "routes")
    assert trainee_row(routes, "张三")[:5] == ["张三", "1", "2/2", "1/2", "完成"]
    assert trainee_row(routes, "李四")[:5] == ["李四", "1", "1/2", "2/2", "完成"]
    assert "王五" not in routes


def test_the_most_missed_case_comes_first_with_the_commonest_wrong_answer(klass):
    folder, _ = klass
    code, out, err = sealdesk("results", folder, "--lesson", "qh-commitment")
    assert code == 0, err
    assert "课程 routes" not in out
    rows = [ln.split() for ln in out.splitlines() if re.match(r"\s+\d+\s+\S+证明", ln)]
    # Case 2 (居住证明): 张三 refuse, 李四 refuse, 王五 right, 孙七 issue — three wrong of four.
    assert rows[0] == ["2", "居住证明", "青海省", "4", "3", "—", "不予出具×2"]  # the jurisdiction by its name
    # Case 1: 张三's route wrong only; case 3: 孙七 right, all right.
    assert rows[1] == ["1", "无犯罪记录证明", "全国", "3", "0", "1", "—"]
    assert rows[2] == ["3", "亲属关系证明", "全国", "3", "0", "—", "—"]
    assert len(rows) == 3


def test_a_shuffled_attempt_is_counted_by_case_not_by_position(klass):
    folder, _ = klass
    code, out, err = sealdesk("results", folder, "--json", "--lesson", "qh-commitment", "--trainee", "李四")
    assert code == 0, err
    data = json.loads(out)
    (lesson,) = data["lessons"]
    (t,) = lesson["trainees"]
    assert t["latest"]["seed"] == 7
    assert [(a["n"], a["case"], a["query"]) for a in t["answers"]] == [
        (1, 3, "亲属关系证明"), (2, 1, "无犯罪记录证明"), (3, 2, "居住证明")]
    by_case = {c["case"]: c for c in lesson["cases"]}
    assert by_case[2]["outcome_wrong"] == 1 and by_case[2]["most_common_wrong"]["label"] == "不予出具"
    assert by_case[3]["outcome_wrong"] == 0 and by_case[1]["route_wrong"] == 0


def test_one_trainee_answers_case_by_case(klass):
    folder, _ = klass
    code, out, err = sealdesk("results", folder, "--trainee", "张三", "--lesson", "qh-commitment")
    assert code == 0, err
    assert "李四" not in out and "王五" not in out
    text = out.split("张三 最近一次作答", 1)[1]
    assert "第 1 题  案例 1  无犯罪记录证明（全国，2026-09-01）" in text
    assert "处理结果 ✓  你的答案：不予出具　正确答案：不予出具" in text
    assert f"办事途径 ✗  你的答案：{ROUTE_B}" in text and f"正确答案：{ROUTE_A}" in text
    assert "处理结果 ✗  你的答案：不予出具　正确答案：告知承诺" in text  # case 2
    # Unknown names: one line, exit 2, naming who has results.
    code, out, err = sealdesk("results", folder, "--trainee", "钱八")
    last = err.splitlines()[-1]  # after the two files' warnings
    assert code == 2 and "没有学员 钱八" in last and "张三" in last and "Traceback" not in err, err
    code, out, err = sealdesk("results", folder, "--lesson", "nope")
    last = err.splitlines()[-1]
    assert code == 2 and "没有课程 nope" in last and "qh-commitment" in last and "Traceback" not in err, err


def test_bad_files_give_one_warning_each_and_the_rest_is_summarised(klass):
    folder, files = klass
    code, out, err = sealdesk("results", folder)
    assert code == 0 and "Traceback" not in err
    warnings = err.splitlines()
    assert len(warnings) == 2, err
    bad_line = next(w for w in warnings if files["孙七"].name in w)
    assert "第 3 行" in bad_line and "JSON" in bad_line  # start, answer, then the bad line
    corrupt = next(w for w in warnings if files["broken"].name in w)
    assert "UTF-8" in corrupt
    assert "赵六" not in out  # nothing of it is counted
    assert trainee_row(section(out, "qh-commitment"), "孙七")[2] == "2/3"  # the answers after the bad line count
    # A file that cannot be read (not the trainer's group), an empty one, a symlink: warned, skipped.
    (folder / "empty.jsonl").write_bytes(b"")
    (folder / "link.jsonl").symlink_to(files["张三-1"])
    code, out2, err = sealdesk("results", folder)
    assert code == 0 and len(err.splitlines()) == 4 and "Traceback" not in err, err
    assert "empty.jsonl" in err and "link.jsonl" in err and "符号链接" in err
    assert section(out2, "qh-commitment") == section(out, "qh-commitment")


def test_csv_has_every_answer_of_every_attempt(klass, tmp_path):
    folder, files = klass
    modes = {p: (stat.S_IMODE(p.stat().st_mode), p.read_bytes()) for p in folder.iterdir()}
    target = tmp_path / "班级成绩.csv"
    code, out, err = sealdesk("results", folder, "--csv", target, "--bom")
    assert code == 0, err
    assert "17 条答题记录" in out
    raw = target.read_bytes()
    assert raw.startswith("\ufeff".encode())  # Excel reads it as UTF-8
    with open(target, encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 17  # 3+3+3+1+3+2+2 answers; the corrupt file has none
    assert list(rows[0]) == ["trainee", "login", "lesson", "file", "started", "seed", "n", "case", "query",
                             "jurisdiction", "on", "chosen", "expected", "outcome_ok", "chosen_route",
                             "expected_route", "route_ok", "seconds"]
    li = [r for r in rows if r["trainee"] == "李四" and r["lesson"] == "qh-commitment"]
    assert [(r["n"], r["case"], r["query"], r["chosen"], r["expected"], r["outcome_ok"]) for r in li] == [
        ("1", "3", "亲属关系证明", "出具", "出具", "true"),
        ("2", "1", "无犯罪记录证明", "不予出具", "不予出具", "true"),
        ("3", "2", "居住证明", "不予出具", "告知承诺", "false")]
    assert all(r["seed"] == "7" and r["file"] == files["李四"].name for r in li)
    assert (li[1]["chosen_route"], li[1]["expected_route"], li[1]["route_ok"]) == (ROUTE_A, ROUTE_A, "true")
    assert (li[0]["chosen_route"], li[0]["route_ok"]) == ("", "")  # no route to choose
    zhang = [r for r in rows if r["trainee"] == "张三" and r["lesson"] == "qh-commitment"]
    assert len(zhang) == 6 and len({r["file"] for r in zhang}) == 2  # both attempts, not only the latest
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    # Reading changed nothing of the trainees' files.
    assert {p: (stat.S_IMODE(p.stat().st_mode), p.read_bytes()) for p in folder.iterdir()} == modes
    # Filtered, to standard output.
    code, out, err = sealdesk("results", folder, "--csv", "-", "--trainee", "王五")
    rows = list(csv.DictReader(out.splitlines()))
    assert code == 0 and [(r["trainee"], r["case"], r["chosen"]) for r in rows] == [("王五", "2", "告知承诺")]


def test_names_are_data_not_terminal_commands_or_formulas(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(results, "_now", clock)
    folder = tmp_path / "r"
    evil = "\x1b[2J\x07赵\u202e六"
    write_attempt(folder, clock, "routes", evil, [(1, "refuse", ROUTE_B)])
    write_attempt(folder, clock, "routes", "=HYPERLINK(\"http://x\")", [(1, "issue", ROUTE_A)])
    code, out, err = sealdesk("results", folder)
    assert code == 0, err
    assert "赵六" in out and "\x1b" not in out and "\x07" not in out and "\u202e" not in out
    code, out, err = sealdesk("results", folder, "--trainee", evil)
    assert code == 0 and "赵六 最近一次作答" in out and "\x1b" not in out
    code, out, err = sealdesk("results", folder, "--csv", tmp_path / "x.csv")
    with open(tmp_path / "x.csv", encoding="utf-8", newline="") as f:
        names = [r["trainee"] for r in csv.DictReader(f)]
    assert "'=HYPERLINK(\"http://x\")" in names  # Excel shows it as text, does not run it


def test_columns_align_in_80_columns(tmp_path, monkeypatch):
    clock = Clock()
    monkeypatch.setattr(results, "_now", clock)
    folder = tmp_path / "r"
    for name in ("欧阳娜娜", "li", "司马相如长名字超过栏宽的学员", "Zhang San"):
        write_attempt(folder, clock, "qh-commitment", name, [(1, "refuse", ROUTE_A), (2, "refuse", None)])
    code, out, err = sealdesk("results", folder)
    assert code == 0, err
    assert out.startswith(f"成绩目录：{folder}\n")  # a path is shown whole, on a line of its own
    assert all(cell_len(ln) <= 80 for ln in out.splitlines()[1:]), out
    rows = [ln for ln in out.splitlines() if "2026-12-05" in ln]
    assert len(rows) == 4
    # The score and the date start at the same column on every row, whatever the name's width.
    assert len({cell_len(ln[: ln.index("1/2")]) for ln in rows}) == 1, rows
    assert len({cell_len(ln[: ln.index("2026")]) for ln in rows}) == 1, rows
    assert "司马相如长名字超过栏宽的学员" not in out and "司马相如" in out  # shortened, with …


def test_missing_and_empty_folders(tmp_path):
    code, out, err = sealdesk("results", tmp_path / "没有")
    assert code == 2 and len(err.splitlines()) == 1 and "不存在" in err and "Traceback" not in err
    (tmp_path / "空").mkdir()
    code, out, err = sealdesk("results", tmp_path / "空")
    assert code == 0 and out.strip() == f"{tmp_path / '空'} 中没有成绩文件" and not err
    code, out, err = sealdesk("results", tmp_path / "空", "--json")
    assert code == 0 and json.loads(out)["lessons"] == []


def test_the_folder_defaults_to_the_communitys_training_results(tmp_path, monkeypatch):
    home = tmp_path / "home"
    code, _, err = sealdesk("--home", home, "init", "--demo", "--jurisdiction", "national")
    assert code == 0, err
    with open(home / "community.toml", "a", encoding="utf-8") as f:
        f.write('\n[training]\nresults = "成绩"\n')
    clock = Clock()
    monkeypatch.setattr(results, "_now", clock)
    write_attempt(home / "成绩", clock, "routes", "张三", [(1, "refuse", ROUTE_B)])
    code, out, err = sealdesk("--home", home, "results")
    assert code == 0, err
    assert out.startswith(f"成绩目录：{home / '成绩'}\n1 个成绩文件，1 次作答")
    assert trainee_row(section(out, "routes"), "张三")[:4] == ["张三", "1", "1/1", "1/1"]


@pytest.mark.parametrize("umask", [0o077, 0o000])
def test_the_writer_makes_files_the_trainers_group_can_read_and_nobody_else(tmp_path, umask):
    old = os.umask(umask)
    try:
        a = Attempt.start(tmp_path / "r", lesson="routes", title="t", path="p", trainee="张三", seed=None, order=[1])
        a.close()
    finally:
        os.umask(old)
    assert stat.S_IMODE(a.path.stat().st_mode) == 0o640
