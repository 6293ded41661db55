"""Getting a paper to the clerk.

Clerks work in the TUI over SSH, so a PDF made by :meth:`Desk.paper` or :meth:`Desk.report`
sits on the server, where nobody can open it. This module gets it out in three ways:

* it is always **saved** in the community's paper folder (``[papers] folder`` in
  ``community.toml``; default ``papers/`` in the home directory), under a readable name,
  mode 0600 in a 0700 folder, because papers name residents;
* it can be **printed** with CUPS's ``lp`` on the township's printer, if the server has one;
* it can be **sent down the SSH session** with ZMODEM (``sz``) to a terminal that receives it
  (Xshell, SecureCRT), which saves it on the clerk's own computer.

Messages (:class:`Delivered`, :class:`DeliveryError`) are Chinese, for the clerk.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import errno
import hashlib
import os
import re
import shutil
import stat
import subprocess
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sealdesk.core.common.outfile import sync_folder as _sync_folder
from sealdesk.core.papers.content import PAPERS

FOLDER_NAME = "papers"
PRINT_TIMEOUT = 30  # seconds for lp to hand the job to CUPS
# Bytes (UTF-8) of each part of a file name: with the date, "_登记", "-999.pdf" well under 255.
LABEL_BYTES = 120
ENTRY_BYTES = 60
SUFFIX_MAX = 999


class DeliveryError(Exception):
    """A paper could not be saved, printed or sent; the message is Chinese."""


@dataclass(frozen=True)
class Delivered:
    path: str  # where the file was saved
    printed: str | None  # lp's job line, if printed
    message: str  # one Chinese sentence for the clerk


# -- names ---------------------------------------------------------------------------------------
# Besides "/" and control characters, also what Windows refuses in a name: the file may travel
# to the clerk's Windows computer by ZMODEM under this very name.
_UNSAFE = set('/\\:*?"<>|')


def _clean(text: object, limit: int = LABEL_BYTES) -> str:
    """``text`` as one harmless piece of a file name (or of a message line)."""
    out = []
    for ch in unicodedata.normalize("NFC", str(text)):
        cat = unicodedata.category(ch)
        if ch.isspace() or cat[0] == "C" or cat in ("Zl", "Zp") or ch in _UNSAFE:
            out.append("_")
        else:
            out.append(ch)
    cleaned = re.sub(r"_+", "_", "".join(out)).strip("._ ")
    return cleaned.encode("utf-8")[:limit].decode("utf-8", "ignore").rstrip("._ ")


def file_name(result: dict, when: dt.date) -> str:
    """``2026-11-23_登记12_不予出具证明告知单.pdf``; a report: ``2026-11-23_证明事项统计表_1a2b3c4d.pdf``.

    Every part is cleaned, so no input can put a ``/``, a control character or ``..`` alone
    into the name; the name always starts with the date.
    """
    label = _clean(result.get("label") or PAPERS.get(result.get("paper"), "")) or "文书"
    entry = result.get("entry")
    day = f"{when:%Y-%m-%d}"
    if entry is None:
        digest = re.sub(r"[^0-9a-f]", "", str(result.get("sha256") or "").lower())[:8]
        if not digest and result.get("pdf"):
            digest = hashlib.sha256(_pdf_bytes(result, check=False)).hexdigest()[:8]
        return f"{day}_{label}_{digest or '00000000'}.pdf"
    number = str(entry) if isinstance(entry, int) else (_clean(entry, ENTRY_BYTES) or "_")
    return f"{day}_登记{number}_{label}.pdf"


def paper_folder(community) -> Path:
    """``[papers] folder`` (absolute, ``~/…``, or relative to the home directory), else ``home/papers``."""
    home = Path(community.home)
    folder = (getattr(community, "paper_folder", "") or "").strip()
    if not folder:
        return home / FOLDER_NAME
    p = Path(folder).expanduser()
    return p if p.is_absolute() else home / p


# -- saving --------------------------------------------------------------------------------------
def _pdf_bytes(result: dict, check: bool = True) -> bytes:
    try:
        data = base64.b64decode(result["pdf"], validate=True)
    except (KeyError, TypeError, ValueError, binascii.Error):
        raise DeliveryError("文书内容缺失或已损坏（不是有效的 base64），未保存") from None
    if check:
        if not data.startswith(b"%PDF-"):
            raise DeliveryError("文书内容不是 PDF 文件，未保存")
        want = result.get("sha256")
        if want and hashlib.sha256(data).hexdigest() != str(want).lower():
            raise DeliveryError("文书内容与登记的 SHA-256 不符，未保存")
    return data


def _ensure_folder(folder: Path) -> None:
    """Create the folder 0700 if missing; an existing folder keeps the mode its owner gave it."""
    try:
        folder.mkdir(mode=0o700, parents=True)
    except FileExistsError:
        if not folder.is_dir():
            raise DeliveryError(f"文书目录 {folder} 已存在但不是目录，请在 community.toml 的 [papers] folder 另选位置") from None
        return
    except OSError as exc:
        raise DeliveryError(f"无法建立文书目录 {folder}：{exc.strerror}") from None
    os.chmod(folder, 0o700)  # mkdir's mode passes through the umask


def _holds(path: Path, data: bytes) -> bool:
    """Whether ``path`` is a regular file (not a symlink) holding exactly ``data``."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return False
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        return f.read(len(data) + 1) == data


def _place(tmp: str, target: Path) -> bool:
    """Give the written temporary file the name ``target`` unless that name is taken."""
    try:
        os.link(tmp, target)  # atomic and never replaces: fails if the name exists
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    # A file system without hard links: check, then replace (only a save of the same name at the same instant can race).
    if os.path.lexists(target):
        return False
    os.replace(tmp, target)
    return True


def save(result: dict, community, when: dt.date | None = None) -> Path:
    """Save the paper of ``result`` (from :meth:`Desk.paper` or :meth:`Desk.report`) and return its path.

    The same paper saved again is the same file; a different paper that happens to get the
    same name is saved as ``…-2.pdf``, ``…-3.pdf`` and so on. A file is never overwritten.
    """
    data = _pdf_bytes(result)
    folder = paper_folder(community)
    _ensure_folder(folder)
    name = file_name(result, when or dt.date.today())
    stem = name[: -len(".pdf")]
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".sealdesk-", suffix=".pdf")  # mkstemp: 0600
    except OSError as exc:
        raise DeliveryError(f"无法在文书目录 {folder} 中写入文件：{exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        for n in range(1, SUFFIX_MAX + 1):
            target = folder / (name if n == 1 else f"{stem}-{n}.pdf")
            if _holds(target, data):
                return target
            if _place(tmp, target):
                _sync_folder(folder)
                return target
        raise DeliveryError(f"文书目录 {folder} 中同名文件过多（{name} 已有 {SUFFIX_MAX} 份），请先整理该目录")
    except OSError as exc:
        raise DeliveryError(f"保存文书到 {folder} 失败：{exc.strerror or exc}") from None
    finally:
        try:
            os.unlink(tmp)  # after os.link the file lives on under its name; after os.replace it is gone
        except OSError:
            pass


# -- printing ------------------------------------------------------------------------------------
def can_print() -> bool:
    return shutil.which("lp") is not None


def _lines(raw: bytes) -> list[str]:
    """lp's output as clean lines: it may be shown in the TUI, so no control characters."""
    text = raw.decode("utf-8", "replace")
    out = []
    for line in text.splitlines():
        line = "".join(ch for ch in line if unicodedata.category(ch)[0] != "C").strip()
        if line:
            out.append(line)
    return out


def print_file(path, printer: str | None = None) -> str:
    """Print with CUPS: ``lp [-d PRINTER] -- PATH``; return lp's line (``request id is …``)."""
    cmd = ["lp"]
    printer = (printer or "").strip()
    if printer:
        cmd += ["-d", printer]
    cmd += ["--", os.fspath(path)]
    try:
        done = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, timeout=PRINT_TIMEOUT)
    except FileNotFoundError:
        raise DeliveryError("服务器上没有打印命令 lp（需安装 CUPS 客户端），无法打印") from None
    except subprocess.TimeoutExpired:
        raise DeliveryError(f"打印命令 lp 在 {PRINT_TIMEOUT} 秒内没有完成（打印服务可能未运行），请稍后重试或联系管理员") from None
    except OSError as exc:
        raise DeliveryError(f"无法运行打印命令 lp：{exc.strerror or exc}") from None
    if done.returncode != 0:
        why = "；".join(_lines(done.stderr) or _lines(done.stdout)) or f"退出码 {done.returncode}"
        raise DeliveryError(f"打印失败：{why}")
    lines = _lines(done.stdout)
    return lines[0] if lines else ""


# -- ZMODEM --------------------------------------------------------------------------------------
def can_zmodem() -> bool:
    return shutil.which("sz") is not None


def zmodem_command(path) -> list[str]:
    """The command that sends ``path`` down the SSH session with ZMODEM (lrzsz's ``sz``).

    The caller runs it with the terminal handed over (Textual's ``App.suspend()``), because sz
    talks to the clerk's terminal program over the session itself. Xshell and SecureCRT
    recognise the transfer and save the file on the clerk's computer; PuTTY (and the Windows
    OpenSSH client) do not, and show the raw transfer as noise until sz gives up: for them,
    print the paper or fetch it with SFTP instead. ``--escape`` escapes control characters so
    the transfer survives SSH; ``--binary`` sends the PDF byte for byte. The path is made
    absolute, so it can never be taken for an option.
    """
    return ["sz", "--escape", "--binary", os.path.abspath(os.fspath(path))]


# -- all together --------------------------------------------------------------------------------
def deliver(result: dict, community, print_it: bool = False, printer: str | None = None,
            when: dt.date | None = None) -> Delivered:
    """Save the paper and, if asked, print it; a failed print still leaves the paper saved."""
    path = save(result, community, when)
    label = _clean(result.get("label") or "文书") or "文书"
    if not print_it:
        return Delivered(str(path), None, f"{label}已保存：{path}")
    try:
        job = print_file(path, printer)
    except DeliveryError as exc:
        raise DeliveryError(f"{label}已保存到 {path}，但{exc}") from None
    return Delivered(str(path), job, f"{label}已保存并送打印（{job or '已提交'}）：{path}")
