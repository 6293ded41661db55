"""What a class did, for the trainer (``sealdesk results``): the results files of a folder
(``results.py``, one per attempt at a lesson) read into attempts, and summarised per lesson, per
trainee and per case.

Reading never stops at a bad file. A file that cannot be read, is not a regular file, is too
large, is not UTF-8, has a line that is not a valid record or has no start line gives one warning
(:class:`FileWarning`, one line of Chinese naming the file and the first bad line); its valid lines
are still used (a bad line in the middle loses only itself), and a file without a start line is
left out, since nothing says whose attempt it is. An attempt without its ``end`` line counts the
answers it has and is unfinished.

The summaries keep the two scores apart, always: 处理结果 (outcome) points and 办事途径 (route)
points are never added up. A trainee's line shows the latest attempt (by its start time); a case
counts, for each trainee, the latest answer given to it (a newer attempt left before the case
does not hide the older answer), and the cases come most-missed first.

Layer 3: imports ``common`` and ``engine`` (the outcome labels).
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import re
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from sealdesk.core.common.inputs import BadInput, printable
from sealdesk.core.engine.model import OUTCOME_LABELS, Outcome
from sealdesk.core.training.results import FORMAT, SUFFIX  # the format this reader knows: the writer's

MAX_FILE = 8 << 20  # bytes: a lesson's attempt is a few kilobytes; a bigger file is not a results file


class FolderError(BadInput):
    """The results folder itself cannot be read; the message is one line of Chinese."""


def one_line(text) -> str:
    """User data (a trainee's name, a file name) for one line of a terminal: no controls, no breaks."""
    return " ".join(printable(str(text)).split()) if text is not None else ""


def outcome_label(value) -> str:
    """The Chinese label of an outcome value (``refuse`` → 不予出具); an unknown value as written."""
    try:
        return OUTCOME_LABELS[Outcome(value)]
    except ValueError:
        return one_line(value)


@dataclass
class Answer:
    n: int | None  # position in the attempt (1-based); the case's number is ``case``
    case: int
    query: str
    jurisdiction: str
    on: str
    chosen: str
    expected: str
    outcome_ok: bool
    chosen_route: str | None
    expected_route: str | None
    route_ok: bool | None  # None: the case had no route to choose
    seconds: float | None
    at: str

    def to_json(self) -> dict:
        return {"n": self.n, "case": self.case, "query": self.query, "jurisdiction": self.jurisdiction,
                "on": self.on, "chosen": self.chosen, "chosen_label": outcome_label(self.chosen),
                "expected": self.expected, "expected_label": outcome_label(self.expected),
                "outcome_ok": self.outcome_ok, "chosen_route": self.chosen_route,
                "expected_route": self.expected_route, "route_ok": self.route_ok, "seconds": self.seconds,
                "at": self.at}


@dataclass
class Points:
    outcome_points: int
    outcome_possible: int
    route_points: int
    route_possible: int


@dataclass
class Attempt:
    """One results file as read."""

    file: str  # the file's name in the folder
    lesson: str
    title: str
    path: str
    trainee: str
    login: str
    host: str
    started: str
    seed: int | None
    order: list
    cases: int | None
    answers: list[Answer] = field(default_factory=list)
    end: dict | None = None

    @property
    def finished(self) -> bool:
        return self.end is not None

    @property
    def points(self) -> Points:
        """The scores: the ``end`` line's as written when it has them, else counted from the answers."""
        keys = ("outcome_points", "outcome_possible", "route_points", "route_possible")
        if self.end is not None and all(_is_int(self.end.get(k)) for k in keys):
            return Points(*(self.end[k] for k in keys))
        a = self.answers
        return Points(sum(x.outcome_ok for x in a), len(a), sum(x.route_ok is True for x in a),
                      sum(x.route_ok is not None for x in a))

    def sort_key(self) -> tuple:
        """Oldest first: by the start time, then (two attempts in one second) the file's ``-N`` suffix."""
        m = re.search(r"-(\d+)-(\d+)\.jsonl$", self.file)
        return (_timestamp(self.started), int(m.group(2)) if m else 0, self.file)

    def to_json(self) -> dict:
        p = self.points
        return {"file": self.file, "started": self.started, "finished": self.finished,
                "finished_at": (self.end or {}).get("finished"), "seed": self.seed, "cases": self.cases,
                "answered": len(self.answers), "outcome_points": p.outcome_points,
                "outcome_possible": p.outcome_possible, "route_points": p.route_points,
                "route_possible": p.route_possible}


@dataclass
class FileWarning:
    """A results file's problem: one line of Chinese naming the file (and its first bad line)."""

    file: str
    line: int | None
    message: str
    more: int = 0  # further bad lines in the same file

    def __str__(self) -> str:
        where = one_line(self.file) + (f" 第 {self.line} 行" if self.line else "")
        extra = f"（另有 {self.more} 行有误，均已跳过）" if self.more else ""
        return f"{where}：{self.message}{extra}"

    def to_json(self) -> dict:
        return {"file": self.file, "line": self.line, "message": self.message, "more": self.more}


@dataclass
class Reading:
    folder: Path
    files: int  # results files found
    attempts: list[Attempt]
    warnings: list[FileWarning]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _timestamp(text: str) -> float:
    try:
        t = dt.datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return float("-inf")
    if t.tzinfo is None:
        t = t.astimezone()
    return t.timestamp()


# -- reading ------------------------------------------------------------------------------------
_REASONS = {errno.EACCES: "没有权限读取", errno.EPERM: "没有权限读取", errno.ELOOP: "是符号链接，不予读取",
            errno.ENOENT: "已不存在", errno.EIO: "输入输出错误"}


def result_files(folder: str | os.PathLike) -> list[Path]:
    """The ``*.jsonl`` files of ``folder`` (not its subfolders), by name; :class:`FolderError` if the
    folder is missing, not a folder or cannot be listed."""
    folder = Path(folder)
    shown = one_line(folder)
    try:
        with os.scandir(folder) as it:
            names = sorted(e.name for e in it if e.name.endswith(SUFFIX) and not e.name.startswith("."))
    except FileNotFoundError:
        raise FolderError(f"成绩目录 {shown} 不存在（可用 sealdesk results DIR 指定目录）") from None
    except NotADirectoryError:
        raise FolderError(f"{shown} 不是目录") from None
    except PermissionError:
        raise FolderError(f"没有权限读取成绩目录 {shown}（学员的成绩文件应属培训员所在的组，见 docs/training.md）") from None
    except OSError as exc:
        raise FolderError(f"无法读取成绩目录 {shown}：{exc.strerror or exc}") from None
    return [folder / n for n in names]


def _read_bytes(path: Path) -> bytes:
    """The file's bytes; a symlink, a FIFO or a device is not opened as one (a trainee can write the folder)."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Skip("不是普通文件，已跳过")
        if st.st_size > MAX_FILE:
            raise _Skip(f"文件过大（{st.st_size // (1 << 20)} MB），不像成绩文件，已跳过")
        chunks, size = [], 0
        while True:
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_FILE:
                raise _Skip("文件过大，不像成绩文件，已跳过")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


class _Skip(Exception):
    pass


class _Bad(Exception):
    pass


def _str(obj: dict, key: str, required: bool = True) -> str:
    v = obj.get(key)
    if v is None and not required:
        return ""
    if not isinstance(v, str):
        raise _Bad(f"缺少 {key} 或其值不是文字")
    return v


def _opt_str(obj: dict, key: str) -> str | None:
    v = obj.get(key)
    if v is not None and not isinstance(v, str):
        raise _Bad(f"{key} 的值不是文字")
    return v


def _start(obj: dict, name: str) -> Attempt:
    fmt = obj.get("format")
    if fmt != FORMAT:
        if not _is_int(fmt):
            raise _Bad("开始行缺少格式版本 format")
        raise _Skip(f"成绩文件格式 {fmt} 不是本版本能读的格式 {FORMAT}，已跳过（请升级 sealdesk）")
    seed = obj.get("seed")
    cases = obj.get("cases")
    order = obj.get("order")
    return Attempt(file=name, lesson=_str(obj, "lesson"), title=_str(obj, "title", False), path=_str(obj, "path", False),
                   trainee=_str(obj, "trainee"), login=_str(obj, "login", False), host=_str(obj, "host", False),
                   started=_str(obj, "started", False), seed=seed if _is_int(seed) else None,
                   order=order if isinstance(order, list) else [], cases=cases if _is_int(cases) else None)


def _answer(obj: dict) -> Answer:
    case, n = obj.get("case"), obj.get("n")
    if not _is_int(case):
        raise _Bad("缺少案例编号 case")
    if not isinstance(obj.get("outcome_ok"), bool):
        raise _Bad("缺少 outcome_ok（处理结果是否正确）")
    route_ok = obj.get("route_ok")
    if route_ok is not None and not isinstance(route_ok, bool):
        raise _Bad("route_ok 的值应为 true、false 或 null")
    seconds = obj.get("seconds")
    return Answer(n=n if _is_int(n) else None, case=case, query=_str(obj, "query", False),
                  jurisdiction=_str(obj, "jurisdiction", False), on=_str(obj, "on", False),
                  chosen=_str(obj, "chosen"), expected=_str(obj, "expected"), outcome_ok=obj["outcome_ok"],
                  chosen_route=_opt_str(obj, "chosen_route"), expected_route=_opt_str(obj, "expected_route"),
                  route_ok=route_ok,
                  seconds=float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None,
                  at=_str(obj, "at", False))


def read_file(path: Path) -> tuple[Attempt | None, FileWarning | None]:
    """One results file: its attempt (None if it has no start line or cannot be read) and at most one warning."""
    name = path.name
    try:
        data = _read_bytes(path)
    except _Skip as exc:
        return None, FileWarning(name, None, str(exc))
    except OSError as exc:
        return None, FileWarning(name, None, _REASONS.get(exc.errno) or f"无法读取：{exc.strerror or exc}")
    attempt: Attempt | None = None
    problems: list[tuple[int, str]] = []
    for number, raw in enumerate(data.split(b"\n"), 1):
        if not raw.strip():
            continue
        try:
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _Bad("不是 UTF-8 编码") from None
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError):
                raise _Bad("不是有效的 JSON（可能是写到一半的行）") from None
            if not isinstance(obj, dict):
                raise _Bad("不是 JSON 对象")
            kind = obj.get("kind")
            if kind == "start":
                if attempt is not None:
                    raise _Bad("重复的开始行")
                attempt = _start(obj, name)
            elif attempt is None:
                raise _Bad("在开始行之前")
            elif kind == "answer":
                attempt.answers.append(_answer(obj))
            elif kind == "end":
                if attempt.end is not None:
                    raise _Bad("重复的结束行")
                attempt.end = obj
            else:
                raise _Bad(f"未知的行类型 {one_line(kind)!s}")
        except _Bad as exc:
            problems.append((number, str(exc)))
        except _Skip as exc:
            return None, FileWarning(name, number, str(exc))
    if attempt is None:
        if problems:
            line, why = problems[0]
            return None, FileWarning(name, line, f"{why}；文件没有可用的开始行，未计入", len(problems) - 1)
        return None, FileWarning(name, None, "没有开始行（空文件或不是成绩文件），未计入")
    if problems:
        line, why = problems[0]
        return attempt, FileWarning(name, line, f"{why}，已跳过该行", len(problems) - 1)
    return attempt, None


def read_folder(folder: str | os.PathLike) -> Reading:
    files = result_files(folder)
    attempts, warnings = [], []
    for path in files:
        attempt, warning = read_file(path)
        if attempt is not None:
            attempts.append(attempt)
        if warning is not None:
            warnings.append(warning)
    return Reading(Path(folder), len(files), attempts, warnings)


# -- summaries ----------------------------------------------------------------------------------
def matches_trainee(attempt: Attempt, name: str) -> bool:
    return name in (attempt.trainee, attempt.login)


def select(attempts: list[Attempt], lesson: str | None = None, trainee: str | None = None) -> list[Attempt]:
    """The attempts of one lesson and/or one trainee (a name or a login), oldest first.
    :class:`BadInput` naming what there is when a filter matches nothing."""
    out = sorted(attempts, key=Attempt.sort_key)
    if lesson is not None:
        chosen = [a for a in out if a.lesson == lesson]
        if not chosen and out:
            known = "、".join(sorted({one_line(a.lesson) for a in out}))
            raise BadInput(f"没有课程 {one_line(lesson)} 的成绩（有成绩的课程：{known}）")
        out = chosen
    if trainee is not None:
        chosen = [a for a in out if matches_trainee(a, trainee)]
        if not chosen and out:
            names = sorted({one_line(a.trainee) for a in out})
            known = "、".join(names[:20]) + ("等" if len(names) > 20 else "")
            where = f"课程 {one_line(lesson)} 中" if lesson is not None else ""
            raise BadInput(f"{where}没有学员 {one_line(trainee)} 的成绩（有成绩的学员：{known}）")
        out = chosen
    return out


def _case_rows(by_trainee: dict[str, list[Attempt]]) -> list[dict]:
    latest: dict[int, dict[str, Answer]] = {}  # case -> trainee -> the trainee's latest answer to it
    for trainee, attempts in by_trainee.items():
        for a in attempts:  # oldest first: a later answer replaces an earlier one
            for ans in a.answers:
                latest.setdefault(ans.case, {})[trainee] = ans
    order = {o.value: i for i, o in enumerate(Outcome)}  # ties among wrong answers: the outcomes' order
    rows = []
    for case, answers in latest.items():
        newest = max(answers.values(), key=lambda x: x.at)
        wrong = Counter(x.chosen for x in answers.values() if not x.outcome_ok)
        wrong_list = [{"outcome": o, "label": outcome_label(o), "count": c}
                      for o, c in sorted(wrong.items(), key=lambda oc: (-oc[1], order.get(oc[0], 99), oc[0]))]
        rows.append({
            "case": case, "query": newest.query, "jurisdiction": newest.jurisdiction, "on": newest.on,
            "expected": newest.expected, "expected_label": outcome_label(newest.expected),
            "answered": len(answers),
            "outcome_wrong": sum(not x.outcome_ok for x in answers.values()),
            "route_wrong": sum(x.route_ok is False for x in answers.values()),
            "route_asked": sum(x.route_ok is not None for x in answers.values()),
            "missed": sum(not x.outcome_ok or x.route_ok is False for x in answers.values()),
            "wrong_answers": wrong_list,
            "most_common_wrong": wrong_list[0] if wrong_list else None,
        })
    rows.sort(key=lambda r: (-r["missed"], -r["outcome_wrong"], -r["route_wrong"], r["case"]))
    return rows


def summarise(attempts: list[Attempt]) -> list[dict]:
    """Per lesson (by id): its trainees (attempts, the latest attempt's scores and answers) and its
    cases (most-missed first). Plain data: the JSON output and the text table are made from it."""
    lessons: dict[str, list[Attempt]] = {}
    for a in sorted(attempts, key=Attempt.sort_key):
        lessons.setdefault(a.lesson, []).append(a)
    out = []
    for lesson in sorted(lessons):
        group = lessons[lesson]
        by_trainee: dict[str, list[Attempt]] = {}
        for a in group:
            by_trainee.setdefault(a.trainee, []).append(a)
        trainees = []
        for name in sorted(by_trainee):
            mine = by_trainee[name]
            last = mine[-1]
            trainees.append({"trainee": name, "login": last.login,
                             "logins": sorted({a.login for a in mine}), "attempts": len(mine),
                             "latest": last.to_json(),
                             "answers": [x.to_json() for x in sorted(last.answers, key=lambda x: (x.n or 0))]})
        out.append({"lesson": lesson, "title": group[-1].title, "attempts": len(group),
                    "trainees": trainees, "cases": _case_rows(by_trainee)})
    return out


CSV_FIELDS = ("trainee", "login", "lesson", "file", "started", "seed", "n", "case", "query", "jurisdiction", "on",
              "chosen", "expected", "outcome_ok", "chosen_route", "expected_route", "route_ok", "seconds")


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def csv_rows(attempts: list[Attempt]):
    """One row of CSV_FIELDS (as text) per answer of every attempt: by lesson, trainee, attempt, order asked.
    ``chosen`` and ``expected`` are the outcomes' Chinese labels."""
    for a in sorted(attempts, key=lambda a: (a.lesson, a.trainee, a.sort_key())):
        for x in sorted(a.answers, key=lambda x: (x.n or 0)):
            yield [_cell(v) for v in (a.trainee, a.login, a.lesson, a.file, a.started, a.seed, x.n, x.case, x.query,
                                      x.jurisdiction, x.on, outcome_label(x.chosen), outcome_label(x.expected),
                                      x.outcome_ok, x.chosen_route, x.expected_route, x.route_ok, x.seconds)]
