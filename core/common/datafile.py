"""Reading a plugin's TOML data with errors that name the file and the line.

tomllib reports syntax errors with a line number but knows nothing of our schema,
so schema errors are located here by finding the table header (``[[negative]]``)
or the key inside the offending entry.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from pathlib import Path


class DataError(Exception):
    """A plugin data file is malformed. ``str()`` is ``file:line: problem``."""

    def __init__(self, path: Path | str, line: int | None, problem: str):
        self.path = str(path)
        self.line = line
        self.problem = problem
        where = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{where}: {problem}")


class DataFile:
    """A parsed TOML file plus enough of its text to point at lines."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            self.text = self.path.read_text(encoding="utf-8")
        except OSError as e:
            raise DataError(self.path, None, f"cannot read: {e.strerror or e}") from e
        except UnicodeDecodeError as e:
            raise DataError(self.path, None, f"not UTF-8: {e}") from e
        try:
            self.data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as e:
            m = re.search(r"line (\d+)", str(e))
            raise DataError(self.path, int(m.group(1)) if m else None, f"malformed TOML: {e}") from e
        self.lines = self.text.splitlines()

    # -- locating -------------------------------------------------------------
    def header_line(self, table: str, index: int) -> int | None:
        """Line (1-based) of the index-th ``[[table]]`` header."""
        pat = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
        seen = -1
        for n, line in enumerate(self.lines, 1):
            if pat.match(line):
                seen += 1
                if seen == index:
                    return n
        return None

    def key_line(self, key: str, start: int | None = None) -> int | None:
        """Line of ``key =`` inside the entry whose header is at ``start``."""
        pat = re.compile(r"^\s*" + re.escape(key) + r"\s*=")
        first = start or 1
        for n in range(first, len(self.lines) + 1):
            line = self.lines[n - 1]
            if n > first and start and line.lstrip().startswith("["):
                break  # the next table: the key is not in this entry
            if pat.match(line):
                return n
        return start

    def error(self, problem: str, line: int | None = None) -> DataError:
        return DataError(self.path, line, problem)


class Entry:
    """One table of a file with typed getters that raise DataError on bad fields."""

    def __init__(self, file: DataFile, table: dict, where: str, line: int | None, allowed: set[str]):
        self.file = file
        self.table = table
        self.where = where
        self.line = line
        unknown = sorted(set(table) - allowed)
        if unknown:
            k = unknown[0]
            raise file.error(
                f"{where}: unknown field '{k}' (allowed: {', '.join(sorted(allowed))})", file.key_line(k, line)
            )

    def _err(self, key: str, problem: str) -> DataError:
        return self.file.error(f"{self.where}: {key}: {problem}", self.file.key_line(key, self.line))

    def str(self, key: str, default: str | None = None, *, required: bool = False) -> str:
        v = self.table.get(key, default)
        if v is None:
            if required:
                raise self.file.error(f"{self.where}: missing required field '{key}'", self.line)
            return ""
        if not isinstance(v, str):
            raise self._err(key, f"expected a string, got {type(v).__name__}")
        if required and not v.strip():
            raise self._err(key, "must not be empty")
        return v

    def int(self, key: str, *, required: bool = True) -> int:
        v = self.table.get(key)
        if v is None and required:
            raise self.file.error(f"{self.where}: missing required field '{key}'", self.line)
        if not isinstance(v, int) or isinstance(v, bool) or v < 1:
            raise self._err(key, f"expected a positive whole number, got {v!r}")
        return v

    def strs(self, key: str) -> tuple[str, ...]:
        v = self.table.get(key, [])
        if isinstance(v, str):
            return (v,)
        if not isinstance(v, list) or not all(isinstance(s, str) for s in v):
            raise self._err(key, "expected a list of strings")
        return tuple(v)

    def date(self, key: str) -> dt.date | None:
        v = self.table.get(key)
        if v is None:
            return None
        if isinstance(v, dt.datetime):
            return v.date()
        if isinstance(v, dt.date):
            return v
        if isinstance(v, str):
            try:
                return dt.date.fromisoformat(v)
            except ValueError:
                pass
        raise self._err(key, f"expected a date like 2020-02-29, got {v!r}")

    def tables(self, key: str) -> list[dict]:
        v = self.table.get(key, [])
        if isinstance(v, dict):
            return [v]
        if not isinstance(v, list) or not all(isinstance(t, dict) for t in v):
            raise self._err(key, "expected a table or a list of tables")
        return v

    def sub(self, key: str) -> dict | None:
        v = self.table.get(key)
        if v is None:
            return None
        if not isinstance(v, dict):
            raise self._err(key, "expected a table")
        return v
