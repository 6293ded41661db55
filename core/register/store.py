"""The seal register (用印登记簿): an append-only, hash-chained SQLite file.

DOMAIN.md section 8. Every record is one row of ``records``; rows are only ever
inserted. A record's ``hash`` is SHA-256 over the canonical encoding of all its
other columns, including ``prev`` (the hash of the record before it) and its
position ``seq``; ``meta`` holds the head (last seq and hash), written in the
same transaction. ``verify`` therefore detects an edited column, a deleted,
inserted or reordered row, and a truncated tail.

Durability: WAL with ``synchronous=FULL``, so a record is on disk when
``append`` returns. Writers take an advisory ``flock`` on ``<file>.lock``
before ``BEGIN IMMEDIATE``: the kernel queues them fairly and wakes the next one
at once, where SQLite's busy handler would sleep and retry. The serial number
证明第N号 is computed inside that transaction and guarded by a unique index, so
concurrent writers can neither skip nor reuse one.

The file is created with mode 0600 (or the configured 0660 and group when the
register service owns it) and is never overwritten: a file that is not a
sealdesk register, or is damaged, is refused with a message saying so.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import grp
import hashlib
import json
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

APPLICATION_ID = 0x5345414C  # "SEAL": marks the file as a sealdesk register
SCHEMA_VERSION = 2
GENESIS = "0" * 64
_SQLITE_MAGIC = b"SQLite format 3\x00"

COLUMNS = ("seq", "kind", "ref", "at", "actor", "role", "community", "year", "serial",
           "outcome", "item", "list", "grounds", "body", "prev", "hash")
KINDS = {
    "matter": "登记",  # one per matter (一事一登记): the request and its decision
    "approve": "审批",
    "stamp": "用印",
    "file": "备案",
    "void": "作废",
    "paper": "文书",
}

_SCHEMA = """
CREATE TABLE records (
    seq       INTEGER PRIMARY KEY,   -- position in the chain, 1..n, the entry number
    kind      TEXT NOT NULL,         -- matter | approve | stamp | file | void | paper
    ref       INTEGER,               -- the matter an action record acts on
    at        TEXT NOT NULL,         -- local time with offset, ISO 8601
    actor     TEXT NOT NULL,         -- operating-system login
    role      TEXT NOT NULL,         -- the role the actor acted in
    community TEXT NOT NULL,
    year      INTEGER,               -- stamp records: the year of the serial
    serial    INTEGER,               -- stamp records: 证明第N号
    outcome   TEXT,                  -- matter records: the decision's outcome
    item      TEXT,                  -- matter records: the certificate item id
    list      TEXT,                  -- matter records: negative | retained | (empty: unlisted)
    grounds   TEXT,                  -- matter records: ground codes, space separated
    body      TEXT NOT NULL,         -- canonical JSON: everything else
    prev      TEXT NOT NULL,
    hash      TEXT NOT NULL
);
CREATE UNIQUE INDEX records_serial ON records(community, year, serial) WHERE serial IS NOT NULL;
CREATE UNIQUE INDEX records_once ON records(ref, kind) WHERE kind IN ('approve', 'stamp', 'file', 'void');
CREATE INDEX records_ref ON records(ref) WHERE ref IS NOT NULL;
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
""" + "{paper_index}"

# Migrations from version N to N+1, applied in order inside one transaction.
# 2: papers are looked up by their SHA-256 (``sealdesk paper verify``).
_PAPER_INDEX = "CREATE INDEX records_paper ON records(json_extract(body, '$.sha256')) WHERE kind = 'paper';"
_SCHEMA = _SCHEMA.replace("{paper_index}", _PAPER_INDEX)
MIGRATIONS: dict[int, str] = {1: _PAPER_INDEX}


class RegisterError(Exception):
    """The register cannot be opened or written; the message is Chinese and safe to show."""


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_BODY = 13  # index of ``body`` in COLUMNS


def canonical(row_without_hash) -> bytes:
    """The bytes a record's hash covers: every column but ``body`` as a JSON array, a newline, then ``body``.

    JSON never contains a raw newline, so the split is unambiguous; ``body`` (itself JSON) is hashed
    as stored, without a second escaping pass.
    """
    r = row_without_hash
    return (_encode([*r[:_BODY], *r[_BODY + 1:]]) + "\n" + r[_BODY]).encode("utf-8")


def body_text(body: dict) -> str:
    return _encode(body)


def record_hash(row_without_hash) -> str:
    return hashlib.sha256(canonical(row_without_hash)).hexdigest()


def now() -> dt.datetime:
    return dt.datetime.now().astimezone().replace(microsecond=0)


def minutes(ts: str | None) -> str:
    """A record's ``at`` as clerks read it: ``2026-11-23 08:32``."""
    return ts[:16].replace("T", " ") if ts else ""


@dataclass(frozen=True)
class Record:
    seq: int
    kind: str
    ref: int | None
    at: str
    actor: str
    role: str
    community: str
    year: int | None
    serial: int | None
    outcome: str | None
    item: str | None
    list: str | None
    grounds: str | None
    body: str
    prev: str
    hash: str

    @property
    def data(self) -> dict:
        return json.loads(self.body)

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class Problem:
    seq: int
    message: str


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    count: int
    head: str
    problem: Problem | None

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "records": self.count,
            "head": self.head,
            "first_bad_entry": self.problem.seq if self.problem else None,
            "problem": self.problem.message if self.problem else None,
        }


def _refuse_foreign(path: Path) -> None:
    try:
        with open(path, "rb") as f:
            header = f.read(100)
    except OSError as exc:
        raise RegisterError(f"无法读取登记簿 {path}：{exc.strerror}") from None
    if header and not header.startswith(_SQLITE_MAGIC):
        raise RegisterError(f"{path} 不是 sealdesk 登记簿（不是 SQLite 数据库文件），已拒绝打开，文件未改动")


def _create_file(path: Path, mode: int, group: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow the configured mode
        if group:
            try:
                os.fchown(fd, -1, grp.getgrnam(group).gr_gid)
            except KeyError:
                raise RegisterError(f"用户组 {group} 不存在，无法建立登记簿") from None
    finally:
        os.close(fd)


class Register:
    """One open register file. Not shared between threads; open one per process or thread."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False, mode: int = 0o600, group: str = "",
                 community: str = "", timeout: float = 60.0):
        self.path = Path(path)
        exists = self.path.exists()
        if not exists and not create:
            raise RegisterError(f"登记簿 {self.path} 不存在")
        if exists:
            _refuse_foreign(self.path)
        else:
            _create_file(self.path, mode, group)
        try:
            self.conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=timeout,
                                        isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise RegisterError(f"无法打开登记簿 {self.path}：{exc}") from None
        try:
            self._prepare(community)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise RegisterError(f"登记簿 {self.path} 已损坏或不是 sealdesk 登记簿（{exc}），已拒绝打开，文件未改动") from None
        lock = Path(str(self.path) + ".lock")
        try:
            self._lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, mode)
        except OSError:
            self._lock_fd = None  # read-only access (an inspector's copy): writers still have SQLite's lock

    def _state(self) -> tuple[int, int, int]:
        c = self.conn
        c.execute("BEGIN")  # one read transaction: a creator committing in between cannot split the answer
        try:
            return (c.execute("PRAGMA application_id").fetchone()[0], c.execute("PRAGMA user_version").fetchone()[0],
                    c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
        finally:
            c.execute("COMMIT")

    def _prepare(self, community: str) -> None:
        c = self.conn
        c.execute(f"PRAGMA busy_timeout = {60000}")
        app_id, version, tables = self._state()
        if app_id == 0 and version == 0 and tables == 0:
            # A new (empty) file we just created, or a zero-length one: nothing to lose. Another process
            # may be initialising it at this moment: the exclusive transaction waits for it, and the
            # state is read again inside.
            c.execute("BEGIN EXCLUSIVE")
            try:
                app_id = c.execute("PRAGMA application_id").fetchone()[0]
                tables = c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
                if app_id == 0 and tables == 0:
                    for stmt in _SCHEMA.split(";"):
                        if stmt.strip():
                            c.execute(stmt)
                    c.execute("INSERT INTO meta VALUES ('head', ?), ('created', ?), ('community', ?)",
                              (f"0 {GENESIS}", now().isoformat(), community))
                    c.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise
            app_id, version, tables = self._state()
        if app_id == APPLICATION_ID and version == SCHEMA_VERSION:
            pass
        elif app_id != APPLICATION_ID:
            raise RegisterError(f"{self.path} 是另一个程序的 SQLite 数据库，不是 sealdesk 登记簿，已拒绝打开，文件未改动")
        elif version > SCHEMA_VERSION:
            raise RegisterError(f"登记簿 {self.path} 由更新版本的 sealdesk 建立（结构版本 {version}，"
                                f"本程序支持 {SCHEMA_VERSION}），请升级 sealdesk")
        elif version < SCHEMA_VERSION:
            self._migrate(version)
        mode = c.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise RegisterError(f"登记簿 {self.path} 无法切换到 WAL 日志模式（{mode}）")
        c.execute("PRAGMA synchronous = FULL")

    def _migrate(self, version: int) -> None:
        c = self.conn
        c.execute("BEGIN EXCLUSIVE")
        try:
            for v in range(version, SCHEMA_VERSION):
                if v not in MIGRATIONS:
                    raise RegisterError(f"无法把登记簿从结构版本 {v} 升级（缺少迁移脚本）")
                for stmt in MIGRATIONS[v].split(";"):
                    if stmt.strip():
                        c.execute(stmt)
            c.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.conn.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- reading -------------------------------------------------------------------
    def get(self, seq: int) -> Record | None:
        row = self.conn.execute("SELECT * FROM records WHERE seq = ?", (seq,)).fetchone()
        return Record(*row) if row else None

    def related(self, seq: int) -> list[Record]:
        rows = self.conn.execute("SELECT * FROM records WHERE ref = ? ORDER BY seq", (seq,)).fetchall()
        return [Record(*r) for r in rows]

    def related_many(self, seqs: list[int]) -> dict[int, list[Record]]:
        out: dict[int, list[Record]] = {s: [] for s in seqs}
        for i in range(0, len(seqs), 500):
            part = seqs[i:i + 500]
            for row in self.conn.execute(
                    f"SELECT * FROM records WHERE ref IN ({','.join('?' * len(part))}) ORDER BY seq", part):
                out[row[2]].append(Record(*row))
        return out

    def latest(self, kind: str, limit: int) -> list[Record]:
        rows = self.conn.execute("SELECT * FROM records WHERE kind = ? ORDER BY seq DESC LIMIT ?", (kind, limit))
        return [Record(*r) for r in rows]

    def records(self, start: int = 1, kinds: tuple[str, ...] | None = None) -> Iterator[Record]:
        sql = "SELECT * FROM records WHERE seq >= ?"
        params: list = [start]
        if kinds:
            sql += f" AND kind IN ({','.join('?' * len(kinds))})"
            params += list(kinds)
        for row in self.conn.execute(sql + " ORDER BY seq", params):
            yield Record(*row)

    def papers_by_hash(self, sha256: str) -> list[Record]:
        rows = self.conn.execute("SELECT * FROM records WHERE kind = 'paper' AND json_extract(body, '$.sha256') = ? "
                                 "ORDER BY seq", (sha256,))
        return [Record(*r) for r in rows]

    def rows(self) -> Iterator[tuple]:
        """Raw rows in chain order (verify and audit: no Record objects for a million rows)."""
        return self.conn.execute("SELECT * FROM records ORDER BY seq")

    def count(self) -> int:
        return self.conn.execute("SELECT count(*) FROM records").fetchone()[0]

    def head(self) -> tuple[int, str]:
        row = self.conn.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def meta(self) -> dict[str, str]:
        return dict(self.conn.execute("SELECT key, value FROM meta"))

    # -- writing -------------------------------------------------------------------
    def append(self, kind: str, *, actor: str, role: str, community: str, body: dict, ref: int | None = None,
               outcome: str | None = None, item: str | None = None, list_: str | None = None,
               grounds: str | None = None, serial: bool = False,
               guard: Callable[["Register"], None] | None = None) -> Record:
        """Append one record durably and return it.

        ``guard(register)`` runs inside the write transaction, after the lock is held, so a check
        of the matter's state (not yet stamped, approved by someone else…) cannot race another
        writer; it raises to refuse. With ``serial=True`` the record gets the next 证明第N号 of
        the community and the record's year.
        """
        if kind not in KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        body_json = body_text(body)
        if self._lock_fd is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
        c = self.conn
        try:
            c.execute("BEGIN IMMEDIATE")
            try:
                if guard is not None:
                    guard(self)
                when = now()
                year = number = None
                if serial:
                    year = when.year
                    number = c.execute(
                        "SELECT coalesce(max(serial), 0) + 1 FROM records WHERE community = ? AND year = ? "
                        "AND serial IS NOT NULL", (community, year)).fetchone()[0]
                last = c.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
                seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
                row = (seq, kind, ref, when.isoformat(), actor, role, community, year, number,
                       outcome, item, list_, grounds, body_json, prev)
                h = record_hash(row)
                c.execute("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", (*row, h))
                c.execute("UPDATE meta SET value = ? WHERE key = 'head'", (f"{seq} {h}",))
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as exc:
            raise RegisterError(f"写入登记簿失败：{exc}") from None
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        return Record(*row, h)

    # -- verification ----------------------------------------------------------------
    def verify(self) -> VerifyResult:
        """Walk the chain; the first bad record is named. Reads every row once."""
        prev = GENESIS
        expected = 1
        count = 0
        sha = hashlib.sha256
        enc = _encode
        try:
            for row in self.rows():
                seq = row[0]
                if seq != expected:
                    if seq > expected:
                        return VerifyResult(False, count, prev, Problem(
                            expected, f"第 {expected} 条记录缺失（被删除），链在第 {seq} 条处断开"))
                    return VerifyResult(False, count, prev, Problem(seq, f"第 {seq} 条记录编号重复"))
                if row[14] != prev:
                    return VerifyResult(False, count, prev, Problem(
                        seq, f"第 {seq} 条记录的前一条哈希不符：其前的记录被改动、删除、插入或调换了顺序"))
                h = sha((enc(row[:13] + row[14:15]) + "\n" + row[13]).encode("utf-8")).hexdigest()
                if h != row[15]:
                    return VerifyResult(False, count, prev, Problem(seq, f"第 {seq} 条记录的内容被改动（哈希不符）"))
                prev = h
                expected += 1
                count += 1
            meta = self.meta()
        except sqlite3.DatabaseError as exc:
            return VerifyResult(False, count, prev, Problem(expected, f"读取第 {expected} 条记录时出错：{exc}"))
        seq_text, _, head_hash = meta.get("head", "").partition(" ")
        try:
            head_seq = int(seq_text)
        except ValueError:
            head_seq = -1
        if head_seq != count or head_hash != prev:
            if head_seq > count:
                return VerifyResult(False, count, prev, Problem(
                    count + 1, f"登记簿应有 {head_seq} 条记录，现只有 {count} 条：末尾的记录被删除"))
            return VerifyResult(False, count, prev, Problem(
                count, f"登记簿的链头记录（meta）与第 {count} 条记录不符：记录或链头被改动"))
        return VerifyResult(True, count, prev, None)
