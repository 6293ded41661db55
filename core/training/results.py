"""Training results: one file per attempt at a lesson (``sealdesk train``), read by the trainer's
``sealdesk results`` (``summary.py``).

Where: ``--results DIR``, else ``[training] results`` in the community's ``community.toml``
(relative to its home unless absolute), else ``training-results`` in the user's data directory.
A classroom on one server points every trainee at one folder the trainer's group can read.

The file is JSON lines, written as the trainee answers (a dropped SSH session keeps what was
answered), created exclusively at mode 0640: the trainee writes it, the trainer's group reads
it, nobody else. Its name is ``<lesson>--<trainee>--<YYYYmmdd-HHMMSS>-<pid>.jsonl``. Lines::

    {"kind": "start", "format": 1, "lesson": "…", "title": "…", "path": "…", "trainee": "…",
     "login": "…", "host": "…", "started": "2026-12-05T10:00:00+08:00", "seed": null | int,
     "order": [3, 1, 2, …],          # the cases in the order asked: their 1-based numbers in the file
     "cases": 8}
    {"kind": "answer", "n": 1, "case": 3, "query": "…", "jurisdiction": "qinghai", "on": "2026-09-01",
     "choices": ["issue", …],         # the outcomes as offered, in the order shown
     "chosen": "refuse", "expected": "commitment", "outcome_ok": false,
     "chosen_route": "…" | null, "expected_route": "…" | null, "route_ok": true | false | null,
     "seconds": 12.5, "at": "…"}
    {"kind": "end", "finished": "…", "outcome_points": 6, "outcome_possible": 8,
     "route_points": 3, "route_possible": 4}

``case`` identifies a case across shuffled attempts; ``route_ok`` is null where the case has no
route to choose. An attempt without its ``end`` line was left before the last case.

Layer 3: imports ``common`` and ``register`` (the community's settings).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import time
from pathlib import Path

FORMAT = 1
MODE = 0o640
SUFFIX = ".jsonl"


class ResultsError(OSError):
    """The results folder or file cannot be written; ``str()`` is one line of Chinese."""


def login_name() -> str:
    """The login of the user running sealdesk (the default trainee)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no passwd entry (a container's uid): the number is still someone
        return str(os.getuid())


NAME_MAX = 20  # characters of a trainee's name


def clean_name(text: str) -> str:
    """A trainee's name as typed: control characters dropped, spaces collapsed, at most NAME_MAX."""
    text = "".join(ch for ch in text if ch.isprintable())
    return " ".join(text.split())[:NAME_MAX]


def results_folder(explicit: str | os.PathLike | None = None, home: str | os.PathLike | None = None) -> Path:
    """``--results DIR``; else ``[training] results`` of the configured community; else the default."""
    if explicit:
        return Path(explicit).expanduser()
    from sealdesk.core.register.community import ConfigError, load_community, resolve_home

    try:
        c = load_community(resolve_home(home))
    except ConfigError:  # no community here (a trainer's laptop) or one that does not load
        c = None
    if c is not None and c.training_results:
        p = Path(c.training_results).expanduser()
        return p if p.is_absolute() else Path(c.home) / p
    import platformdirs

    return Path(platformdirs.user_data_dir("sealdesk", appauthor=False)) / "training-results"


def ready_folder(explicit: str | os.PathLike | None = None, home: str | os.PathLike | None = None) -> Path:
    """:func:`results_folder`, made now (0750) and checked writable, so that a folder that cannot be
    written is said before a quiz starts, not after its first answer. Raises ResultsError."""
    folder = results_folder(explicit, home).absolute()
    hint = "（可用 --results 指定目录）"
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"成绩目录 {folder} 不是目录{hint}")
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o750)
    except OSError as exc:
        raise ResultsError(f"无法建立成绩目录 {folder}：{exc.strerror or exc}{hint}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ResultsError(f"成绩目录 {folder} 不可写{hint}")
    return folder


_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\:*?\"<>|\s]+")


def _safe(text: str, room: int = 40) -> str:
    return _UNSAFE.sub("_", text).strip("._")[:room] or "_"


def _now() -> str:
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


class Attempt:
    """One trainee's attempt at one lesson: the file, written a line per answer."""

    def __init__(self, path: Path, fd: int):
        self.path = path
        self._fd = fd
        self._asked = time.monotonic()

    @classmethod
    def start(cls, folder: str | os.PathLike, *, lesson: str, title: str, path: str, trainee: str,
              seed: int | None, order: list[int]) -> "Attempt":
        folder = Path(folder)
        try:
            folder.mkdir(parents=True, exist_ok=True, mode=0o750)
        except OSError as exc:
            raise ResultsError(f"无法建立成绩目录 {folder}：{exc.strerror or exc}") from None
        stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        name = f"{_safe(lesson)}--{_safe(trainee)}--{stamp}-{os.getpid()}"
        for n in range(100):  # two attempts in one second (Ctrl+R at once): a suffix
            target = folder / (name + (f"-{n}" if n else "") + SUFFIX)
            try:
                # O_EXCL|O_NOFOLLOW: never another file, never through a link; 0640 from the first byte.
                fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_APPEND, MODE)
                break
            except FileExistsError:
                continue
            except OSError as exc:
                raise ResultsError(f"无法写入成绩文件 {target}：{exc.strerror or exc}") from None
        else:
            raise ResultsError(f"无法写入成绩文件：{folder} 中同名文件过多")
        os.fchmod(fd, MODE)  # whatever the umask: the trainer's group reads it
        attempt = cls(target, fd)
        attempt._write({"kind": "start", "format": FORMAT, "lesson": lesson, "title": title, "path": path,
                        "trainee": trainee, "login": login_name(), "host": socket.gethostname(),
                        "started": _now(), "seed": seed, "order": list(order), "cases": len(order)})
        return attempt

    def _write(self, record: dict) -> None:
        data = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            os.write(self._fd, data)  # one write per line, O_APPEND: a line is whole or absent
            os.fsync(self._fd)
        except OSError as exc:
            raise ResultsError(f"无法写入成绩文件 {self.path}：{exc.strerror or exc}") from None

    def asked(self) -> None:
        """A question is on the screen now (its answer's ``seconds`` count from here)."""
        self._asked = time.monotonic()

    def answer(self, **fields) -> None:
        seconds = round(time.monotonic() - self._asked, 1)
        self._write({"kind": "answer", **fields, "seconds": seconds, "at": _now()})

    def finish(self, **points) -> None:
        self._write({"kind": "end", "finished": _now(), **points})

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
