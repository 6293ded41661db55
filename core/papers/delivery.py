"""Getting a paper to the clerk.

Clerks work in the TUI over SSH, so a PDF made by :meth:`Desk.paper` or :meth:`Desk.report`
sits on the server, where nobody can open it. This module gets it out in three ways:

* it is always **saved** in the community's paper folder (``[papers] folder`` in
  ``community.toml``; default ``papers/`` in the home directory), under a readable name,
  mode 0600 in a 0700 folder, because papers name residents;
* it can be **printed** with CUPS's ``lp`` on the township's printer, if the server has one;
* it can be **sent down the SSH session** with ZMODEM (``sz``) to a terminal that receives it
  (Xshell, SecureCRT, MobaXterm), which saves it on the clerk's own computer; :func:`send_zmodem`
  gives up when the terminal does not answer (PuTTY, tmux), stops on Ctrl+C, and reports
  success only when sz exits 0.

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
import select
import shutil
import stat
import subprocess
import tempfile
import time
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

    :func:`send_zmodem` runs it, with the terminal handed over (Textual's ``App.suspend()``),
    because sz talks to the clerk's terminal program over the session itself. Xshell and
    SecureCRT recognise the transfer and save the file on the clerk's computer (MobaXterm when
    told to receive); PuTTY, tmux and the Windows OpenSSH client do not, and show the offer as
    noise (``**B00000000000000``): for them, print the paper or fetch it with SFTP instead. ``--escape`` escapes control characters so
    the transfer survives SSH; ``--binary`` sends the PDF byte for byte. The path is made
    absolute, so it can never be taken for an option.
    """
    return ["sz", "--escape", "--binary", os.path.abspath(os.fspath(path))]


# Which terminal programs receive a file sz sends (for the clerk, before anything is sent).
ZMODEM_RECEIVERS = "Xshell、SecureCRT、MobaXterm"
ZMODEM_NON_RECEIVERS = "PuTTY、tmux、Windows 自带的 ssh"
ZMODEM_ANSWER = 20.0  # seconds the terminal has to answer sz's offer (MobaXterm: right-click, "Z-modem 接收")
ZMODEM_STALL = 30.0  # seconds without a byte either way, once the terminal has answered
# Cancel (CAN ×8, then backspaces over them): a terminal in the middle of a ZMODEM receive leaves it.
ZMODEM_CANCEL = b"\x18" * 8 + b"\b" * 8
_CTRL_C = b"\x03"
_ZPAD_ZDLE = b"*\x18"  # how every ZMODEM header starts: the terminal's first one is its answer


@dataclass(frozen=True)
class Sent:
    path: str
    seconds: float
    message: str  # one Chinese sentence for the clerk


def send_zmodem(path, tty=None, *, answer: float = ZMODEM_ANSWER, stall: float = ZMODEM_STALL) -> Sent:
    """Send ``path`` to the clerk's terminal with ZMODEM (``sz``); :class:`DeliveryError` unless sz said so.

    The caller hands the terminal over first (Textual's ``App.suspend()``). ``tty`` is the terminal:
    None for the session's own (``/dev/tty``), a file descriptor, or ``(read_fd, write_fd)``.

    sz does not talk to the terminal itself: it runs on a pseudo-terminal of its own, and this
    function passes the bytes between the two, with the clerk's terminal in raw mode. So it can

    * give up when the terminal does not answer sz's offer within ``answer`` seconds (PuTTY, tmux
      and the Windows ssh show ``**B00000000000000`` and never answer), or when the transfer
      makes no progress for ``stall`` seconds;
    * cancel at once when the clerk presses Ctrl+C (a ``0x03`` byte: a receiving terminal answers in
      hex headers, printable ASCII, so the byte is the clerk's);
    * in both cases end sz and send the terminal ZMODEM's cancel sequence (:data:`ZMODEM_CANCEL`),
      so a terminal that had started receiving leaves ZMODEM mode.

    Success is sz's exit code 0 and nothing else. The terminal's modes are restored in every case.
    """
    path = os.path.abspath(os.fspath(path))
    keep = f"文件仍在服务器上：{path}（可改用打印，或用 SFTP 取回）"
    if not os.path.isfile(path):
        raise DeliveryError(f"未发送：找不到文件 {path}")
    if not can_zmodem():
        raise DeliveryError(f"未发送：服务器上没有 sz（需安装 lrzsz）。{keep}")
    own = None
    if tty is None:
        try:
            own = os.open("/dev/tty", os.O_RDWR | os.O_NOCTTY)
        except OSError as exc:
            raise DeliveryError(f"未发送：没有可用的终端（{exc.strerror or exc}）。{keep}") from None
        fd_in = fd_out = own
    elif isinstance(tty, int):
        fd_in = fd_out = tty
    else:
        fd_in, fd_out = tty
    try:
        return _zmodem(path, fd_in, fd_out, answer, stall, keep)
    finally:
        if own is not None:
            os.close(own)


def _raw(fd: int):
    """Put ``fd`` in raw mode if it is a terminal; return its modes before, or None."""
    import termios
    import tty as _tty

    try:
        before = termios.tcgetattr(fd)
        _tty.setraw(fd, termios.TCSANOW)
    except (termios.error, OSError):
        return None
    return before


def _restore(fd: int, modes) -> None:
    import termios

    if modes is None:
        return
    try:
        termios.tcflush(fd, termios.TCIFLUSH)  # what the terminal sent after sz ended is not a key for the app
        termios.tcsetattr(fd, termios.TCSADRAIN, modes)
    except (termios.error, OSError):
        pass


def _nonblocking(fd: int, on: bool) -> bool:
    """Set O_NONBLOCK on ``fd``; return whether it was set before."""
    import fcntl

    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags | os.O_NONBLOCK if on else flags & ~os.O_NONBLOCK)
    return bool(flags & os.O_NONBLOCK)


def _put(fd: int, data: bytes, until: float) -> bool:
    """Write all of ``data`` to the non-blocking ``fd`` by ``until`` (monotonic); False if it could not."""
    view = memoryview(data)
    while view:
        try:
            n = os.write(fd, view)
        except (BlockingIOError, InterruptedError):
            n = 0
        except OSError:
            return False
        view = view[n:]
        if view:
            left = until - time.monotonic()
            if left <= 0:
                return False
            _wait(fd, select.POLLOUT, min(left, 0.1))
    return True


def _wait(fd: int, events: int, seconds: float) -> None:
    # poll, not select: select fails on a descriptor numbered 1024 or more (a busy process has them).
    poller = select.poll()
    poller.register(fd, events)
    try:
        poller.poll(seconds * 1000)
    except InterruptedError:
        pass


def _zmodem(path: str, fd_in: int, fd_out: int, answer: float, stall: float, keep: str) -> Sent:
    name = os.path.basename(path)
    modes = _raw(fd_in)
    out_was = None
    master = slave = -1
    proc = None
    why = None  # "cancelled", "no_answer", "stalled", "gone", "error": sz was stopped
    failure = None
    err = bytearray()
    start = time.monotonic()
    try:
        out_was = _nonblocking(fd_out, True)
        _put(fd_out, (f"\r\n正在用 ZMODEM 发送 {_clean(name)}……终端 {answer:g} 秒内不响应即放弃，"
                      "按 Ctrl+C 可取消。\r\n").encode("utf-8"), start + 5)
        master, slave = os.openpty()
        _raw(slave)  # sz sets its own modes too; nothing is translated even before it does
        try:
            proc = subprocess.Popen(zmodem_command(path), stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                    close_fds=True, start_new_session=True)
        except OSError as exc:
            raise DeliveryError(f"未发送：无法运行 sz：{exc.strerror or exc}。{keep}") from None
        # The slave stays open here too: when sz ends, its last bytes (the "OO" after ZFIN) are still
        # read from the master, rather than lost to the EIO a closed pseudo-terminal can give first.
        _nonblocking(master, True)
        errfd = proc.stderr.fileno()
        watch = [master, fd_in, errfd]
        poller = select.poll()  # not select: it fails on descriptors numbered 1024 or more
        for fd in watch:
            poller.register(fd, select.POLLIN)
        answered, tail, last = False, b"", time.monotonic()
        while True:
            now = time.monotonic()
            if not answered and now - start > answer:
                why = "no_answer"
            elif answered and now - last > stall:
                why = "stalled"
            if why:
                break
            if proc.poll() is not None:  # sz has ended: what it wrote last, then its last words
                _drain(master, lambda data: _put(fd_out, data, time.monotonic() + stall))
                _drain(errfd, err.extend)
                break
            try:
                ready = [fd for fd, _ in poller.poll(100)]
            except InterruptedError:
                continue
            for fd in ready:
                try:
                    data = os.read(fd, 65536)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError:  # EIO: the clerk's terminal hung up
                    data = b""
                if fd == errfd:
                    if not data:
                        watch.remove(errfd)
                        poller.unregister(errfd)
                    err += data
                    del err[:-4096]
                elif fd == master:
                    if not data:
                        watch.remove(master)
                        poller.unregister(master)
                    elif not _put(fd_out, data, time.monotonic() + stall):
                        why = "stalled"
                        break
                    else:
                        last = time.monotonic()
                else:  # the clerk's terminal
                    if not data:
                        why = "gone"
                        break
                    if _CTRL_C in data:
                        why = "cancelled"
                        break
                    seen = tail + data
                    answered = answered or _ZPAD_ZDLE in seen
                    tail = seen[-1:]
                    last = time.monotonic()
                    if master in watch and not _put(master, data, last + stall):
                        why = "stalled"
                        break
            if why:
                break
    except KeyboardInterrupt:  # SIGINT while the terminal was not yet raw: the same as Ctrl+C
        why = "cancelled"
    except OSError as exc:  # no pseudo-terminal left, a terminal that cannot be read or written
        why, failure = "error", exc
    finally:
        rc = _end(proc, stopped=why is not None)
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)
        if out_was is not None:
            if why is not None and why != "gone":
                _put(fd_out, ZMODEM_CANCEL, time.monotonic() + 2)
            if why not in ("gone", "error"):
                _swallow(fd_in)
            try:
                _nonblocking(fd_out, out_was)
            except OSError:
                pass
        _restore(fd_in, modes)
    seconds = time.monotonic() - start
    if why == "cancelled":
        raise DeliveryError(f"未发送：已取消 ZMODEM 发送（Ctrl+C）。{keep}")
    if why == "no_answer":
        raise DeliveryError(f"未发送：终端在 {answer:g} 秒内没有响应——终端不支持 ZMODEM（如 {ZMODEM_NON_RECEIVERS}）"
                            f"或已取消。{keep}")
    if why == "stalled":
        raise DeliveryError(f"未发送：传输中断（{stall:g} 秒没有进展），已停止 sz。{keep}")
    if why == "gone":
        raise DeliveryError(f"未发送：终端已断开。{keep}")
    if why == "error":
        raise DeliveryError(f"未发送：{failure.strerror or failure}。{keep}")
    if rc != 0:
        said = "；".join(_lines(bytes(err))[-1:])[:120]
        raise DeliveryError(f"未发送：终端不支持 ZMODEM 或已取消（sz 退出码 {rc}{'：' + said if said else ''}）。{keep}")
    return Sent(path, seconds, f"已通过 ZMODEM 发送 {_clean(name)}（请在终端软件的下载目录查看）")


def _drain(fd: int, sink=None, quiet: float = 0.2, most: float = 1.0) -> None:
    """Read ``fd`` into ``sink`` (or nowhere) until it has been quiet for ``quiet`` seconds, at most
    ``most`` seconds in all, or has ended."""
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    now = time.monotonic()
    until, end = now + quiet, now + most
    while now < min(until, end):
        try:
            if poller.poll(max(1, (min(until, end) - now) * 1000)):
                data = os.read(fd, 65536)
                if not data:
                    return
                if sink is not None:
                    sink(data)
                until = time.monotonic() + quiet
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return
        now = time.monotonic()


def _swallow(fd: int) -> None:
    """Drop what the terminal still sends after sz (a receiver's last frames, its answer to the
    cancel) while it is still raw: restored to its modes with echo on, the terminal would get its
    own frames back, and the app its bytes as keys."""
    _drain(fd, quiet=0.3)


def _end(proc, stopped: bool) -> int | None:
    """sz's exit code; when it was ``stopped`` (cancel, no answer), end it first: TERM, then KILL."""
    if proc is None:
        return None
    try:
        if stopped and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(2)
            except subprocess.TimeoutExpired:
                proc.kill()
        return proc.wait(5)
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        if proc.stderr is not None:
            proc.stderr.close()


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
