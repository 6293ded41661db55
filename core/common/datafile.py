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


# Parsed TOML by content digest, kept in the user cache directory: every one-shot `sealdesk decide`
# reads all plugins' TOML (a few thousand lines), and tomllib spends most of a command's start on it.
# Keyed by content, so an edited file is parsed again; read only when the file is the user's own.
_CACHE: dict | None = None


def _cache_path():
    from .paths import cache_dir

    return cache_dir() / "toml.pickle"


def _load_cache() -> dict:
    import os
    import pickle
    import stat

    try:
        path = _cache_path()
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return {}
            data = pickle.load(f)
        return data if isinstance(data, dict) else {}
    except Exception:  # missing, unreadable or from another Python: parse again
        return {}


def _save_cache(cache: dict) -> None:
    import os
    import pickle

    try:
        path = _cache_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(cache, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache only costs time


def _parsed(text: str, path: Path) -> dict:
    import hashlib
    import pickle

    global _CACHE
    if _CACHE is None:
        _CACHE = _load_cache()
    key = hashlib.blake2b(text.encode("utf-8"), digest_size=20).hexdigest()
    got = _CACHE.get(key)
    if isinstance(got, bytes):
        return pickle.loads(got)  # a fresh copy for each reader
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        raise DataError(path, int(m.group(1)) if m else None, f"malformed TOML: {e}") from e
    if len(_CACHE) > 64:  # old versions of edited files (and test fixtures)
        _CACHE.clear()
    _CACHE[key] = pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    _save_cache(_CACHE)
    return data


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
        self.data = _parsed(self.text, self.path)
        self.lines = self.text.splitlines()
        self._headers: dict[str, list[int]] = {}

    # -- locating -------------------------------------------------------------
    def header_line(self, table: str, index: int) -> int | None:
        """Line (1-based) of the index-th ``[[table]]`` header."""
        found = self._headers.get(table)
        if found is None:  # one scan per table name: a vocabulary has hundreds of [[words]]
            pat = re.compile(r"^\s*\[\[\s*" + re.escape(table) + r"\s*\]\]")
            found = self._headers[table] = [n for n, line in enumerate(self.lines, 1) if pat.match(line)]
        return found[index] if 0 <= index < len(found) else None

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
