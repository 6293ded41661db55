"""Files the user names with ``-o``: exports and papers, which name residents (issue 15).

Every command that writes a user-named output file goes through :func:`output_file` (or its
shorthand :func:`write_bytes`):

* the data goes to a temporary file in the target's directory, created with
  ``O_CREAT|O_EXCL|O_NOFOLLOW`` at mode 0600 (:func:`tempfile.mkstemp`), so no other user can
  open it at any moment, whatever the umask; it is synced and then renamed onto the target, so
  the target holds either its old content or the whole new file, never a part;
* an existing regular file of that name is replaced (what ``-o`` has always done); the new file
  is 0600 and owned by the user who ran the command, and other hard links to the old file keep
  the old content;
* a target that is a symlink, a directory, a device (``/dev/null``, ``/dev/full``), a named pipe
  or a socket is refused before anything is written, and so is a directory that does not exist;
* a failure while writing (disk full, I/O error) removes the temporary file and leaves the target
  as it was;
* ``-`` is standard output.

Refusals and failures raise :class:`OutputError`, a :class:`BadInput`: the command line prints
its one-line Chinese message and exits 2.

CSV cells that a spreadsheet would read as a formula are neutralised here too
(:func:`spreadsheet_safe`): CSV files are opened in Excel or WPS by the clerks.

Layer 0: imports nothing else from sealdesk but ``core.common``.
"""

from __future__ import annotations

import errno
import os
import re
import stat
import sys
import tempfile
from contextlib import contextmanager
from typing import IO, Iterator

from sealdesk.core.common.inputs import BadInput, printable

STDOUT = "-"
BOM = "\ufeff"  # UTF-8 BOM: Excel reads a CSV without it in the system's code page (GBK), garbling Chinese


class OutputError(BadInput):
    """An output file that must not or could not be written; the message is one line of Chinese."""


_REASONS = {
    errno.ENOSPC: "磁盘空间不足",
    errno.EDQUOT: "超出磁盘配额",
    errno.EIO: "输入输出错误",
    errno.EFBIG: "文件过大",
    errno.EROFS: "文件系统只读",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.ENAMETOOLONG: "文件名过长",
}


def _shown(path: str) -> str:
    """``path`` for a one-line message: no terminal controls, no line break."""
    return printable(path).replace("\n", " ")


def _reason(exc: OSError) -> str:
    return _REASONS.get(exc.errno) or exc.strerror or str(exc)


def check_target(path: str) -> str:
    """The absolute path ``path`` names, if an output file may be written there; else raise
    :class:`OutputError`. Commands call it before doing work whose result the file would hold (a
    paper is recorded in the register when it is made), :func:`output_file` calls it again."""
    shown = _shown(path)
    if not path:
        raise OutputError("输出文件名为空")
    # Not os.path.abspath: it would resolve "link/.." by the text, the kernel resolves it by the link.
    target = os.path.join(os.getcwd(), path)
    if path.endswith(os.sep) or os.path.isdir(target) and not os.path.islink(target):
        raise OutputError(f"{shown} 是目录，不能作为输出文件，请给出文件名")
    try:
        st = os.lstat(target)  # lstat: a symlink is seen as itself, not as what it points to
    except FileNotFoundError:
        st = None
    except OSError as exc:  # a part of the path that is a file (ENOTDIR), a name too long…
        raise OutputError(f"无法写入 {shown}：{_reason(exc)}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        if stat.S_ISLNK(st.st_mode):
            raise OutputError(f"{shown} 是符号链接，不能作为输出文件（不会写到它指向的文件），请给出普通文件名")
        what = ("设备文件" if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode)
                else "命名管道" if stat.S_ISFIFO(st.st_mode)
                else "套接字" if stat.S_ISSOCK(st.st_mode)
                else "特殊文件")
        raise OutputError(f"{shown} 是{what}，不能作为输出文件")
    folder = os.path.dirname(target)
    try:
        fst = os.stat(folder)
    except FileNotFoundError:
        raise OutputError(f"输出目录 {_shown(folder)} 不存在") from None
    except OSError as exc:
        raise OutputError(f"无法写入 {shown}：{_reason(exc)}") from None
    if not stat.S_ISDIR(fst.st_mode):
        raise OutputError(f"{_shown(folder)} 不是目录，无法在其中写入 {shown}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"没有权限在目录 {_shown(folder)} 中写入文件")
    return target


class _Guarded:
    """The temporary file as the caller sees it: a failed write is an :class:`OutputError`
    (told apart from an OSError of the caller's own work, such as reading the register)."""

    def __init__(self, f: IO, shown: str):
        self._f = f
        self._shown = shown

    def write(self, data):
        try:
            return self._f.write(data)
        except OSError as exc:
            raise _failed(self._shown, exc) from None

    def __getattr__(self, name):
        return getattr(self._f, name)


def _failed(shown: str, exc: OSError) -> OutputError:
    return OutputError(f"写入 {shown} 失败：{_reason(exc)}；未写入该文件（原有文件保持不变）")


@contextmanager
def output_file(path: str, *, text: bool = False, encoding: str = "utf-8") -> Iterator[IO]:
    """A file object writing ``path`` (``-``: standard output), binary or with ``text`` text
    (no newline translation: the writer chooses its line ends, CSV's are CRLF).

    The target gets the data only when the ``with`` block ends without an exception: then the
    temporary file is synced and renamed onto it. Any exception removes the temporary file and
    leaves the target untouched; a failure of the file itself is an :class:`OutputError`.
    """
    if path == STDOUT:
        out = sys.stdout if text else sys.stdout.buffer
        yield out
        out.flush()
        return
    target = check_target(path)
    shown = _shown(path)
    folder = os.path.dirname(target)
    try:
        # mkstemp: O_CREAT|O_EXCL|O_NOFOLLOW, mode 0600 (a umask only narrows it), a random name.
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sealdesk-", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"无法在目录 {_shown(folder)} 中写入 {shown}：{_reason(exc)}") from None
    try:
        f = os.fdopen(fd, "w", encoding=encoding, newline="") if text else os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    try:
        yield _Guarded(f, shown)
        try:
            f.flush()
            os.fsync(f.fileno())  # on disk before the name points at it
            f.close()
        except OSError as exc:
            raise _failed(shown, exc) from None
        try:
            os.replace(tmp, target)  # rename: replaces a name, never follows a symlink put there since the check
        except IsADirectoryError:
            raise OutputError(f"{shown} 是目录，不能作为输出文件，请给出文件名") from None
        except OSError as exc:
            raise _failed(shown, exc) from None
    except BaseException:
        try:
            f.close()  # the file is given up: its last buffer may not fit on a full disk either
        except OSError:
            pass
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    sync_folder(folder)


def sync_folder(folder: str | os.PathLike) -> None:
    """Make the rename durable; a file system that cannot sync a directory has done what it can."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` (``-``: standard output) as :func:`output_file` does."""
    with output_file(path) as f:
        f.write(data)


# -- CSV cells a spreadsheet would run --------------------------------------------------------
# A cell starting with one of these is read by Excel, WPS and LibreOffice as a formula (=HYPERLINK,
# DDE); tab and carriage return as well (OWASP, CSV injection). A leading apostrophe makes the
# spreadsheet show the cell as text.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_AFTER_COMMA = re.compile(r",[=+\-@\t\r]").search  # "(?:^|,)…" takes 7 times as long


def might_run(line: str) -> bool:
    """Whether a row joined by commas may hold a cell :func:`spreadsheet_safe` changes: one
    search per row instead of a test per cell (it may say yes for a comma inside a cell)."""
    return line.startswith(FORMULA_START) or _AFTER_COMMA(line) is not None


def spreadsheet_safe(cells: list[str]) -> list[str]:
    """``cells`` with a leading ``'`` on each that starts with a formula character."""
    return ["'" + c if c.startswith(FORMULA_START) else c for c in cells]
