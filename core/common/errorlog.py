"""The error log: what went wrong where a user saw one line instead (the standards' "no traceback
ever reaches a user"). Used by the CLI's top-level guard and by the TUI; a 0600 file in the user's
log directory, ID numbers masked, tracebacks without local variables.
"""

from __future__ import annotations

import datetime as dt
import os
import sys

ERROR_LOG_MAX = 1 << 20  # bytes; a longer log is moved to errors.log.1 (the one before it is dropped)


def error_log_path():
    """``errors.log`` in the user's log directory (platformdirs: ``$XDG_STATE_HOME/sealdesk/log``)."""
    from pathlib import Path

    import platformdirs

    return Path(platformdirs.user_log_dir("sealdesk", appauthor=False)) / "errors.log"


def mask_id_numbers(text: str) -> str:
    """``text`` with every 18-character ID number (GB 11643: 17 digits and a digit or X) masked as
    the register shows it (``110105********002X``: the region and the last four kept)."""
    import re

    return re.sub(r"(?<!\d)\d{17}[\dXx](?!\d)", lambda m: m.group()[:6] + "*" * 8 + m.group()[14:], text)


def log_exception(context: str, error: BaseException | None = None) -> str | None:
    """Append the exception being handled (or ``error``), with ``context``, to the error log (a 0600
    file; ID numbers masked; the traceback without local variables); its path, or None when it cannot
    be written."""
    import stat
    import traceback

    try:
        tb = "".join(traceback.format_exception(error)) if error is not None else traceback.format_exc()
        text = mask_id_numbers(f"=== {dt.datetime.now().isoformat(timespec='seconds')} pid {os.getpid()} "
                               f"python {sys.version.split()[0]}\n{context}\n{tb}\n")
        path = error_log_path()
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            if path.stat().st_size > ERROR_LOG_MAX:
                os.replace(path, path.with_name(path.name + ".1"))
        except FileNotFoundError:
            pass
        # O_NOFOLLOW, O_NONBLOCK: never through a symlink, never blocked on a named pipe put there.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                     0o600)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            os.fchmod(fd, 0o600)  # an older log made wider by hand
            os.write(fd, text.encode("utf-8", "backslashreplace"))
        finally:
            os.close(fd)
        return str(path)
    except Exception:
        return None
