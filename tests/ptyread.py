"""Reading the master side of a test's pty until it closes (not a test module)."""

from __future__ import annotations

import os


def drain(fd: int, take) -> None:
    """Pass each chunk read from ``fd`` to ``take`` until end of file or the descriptor is closed."""
    while True:
        try:
            data = os.read(fd, 65536)
        except OSError:
            return
        if not data:
            return
        take(data)
