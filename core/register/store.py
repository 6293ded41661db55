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

Search reads ``grams``, n-grams of the searched texts, which writers add for many matters at
once: every ``_GRAMS_EVERY`` records, in that append's transaction, one row per n-gram listing the
batch's matters that have it. Writing them with each matter touched a page per n-gram and was most
of an append's cost beyond a bare insert. The matters not
yet in ``grams`` (the tail after ``meta.grams``, at most about that many records) are read and
matched directly, in the same read transaction, so a search finds a matter the moment it is
registered.

The file is created with mode 0600 (or the configured 0660 and group when the
register service owns it) and is never overwritten: a file that is not a
sealdesk register, or is damaged, is refused with a message saying so.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import grp
import hashlib
import itertools
import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from sealdesk.core.engine.model import citation_label

APPLICATION_ID = 0x5345414C  # "SEAL": marks the file as a sealdesk register
SCHEMA_VERSION = 5
GENESIS = "0" * 64

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

# 3: the derived index of matters (what lists, filters, searches and reports read) and the n-gram
# table for search. Both are derived from ``records`` only: ``matters`` by the triggers below, in
# the transaction of the insert (so any writer keeps it, even one that is not sealdesk), ``grams``
# from the ``matters`` rows up to record ``meta.grams`` (schema 4: ``append`` adds a batch, see
# the module doc); ``verify`` rebuilds both and compares.
# ``number`` is the matter number clerks count (登记号): 1, 2, 3… per community in chain order.
# ``state`` is the matter's status without the jurisdiction's workflow steps: voided, refused,
# commitment, awaiting_approval, awaiting_stamp, stamped (not filed), filed.
_STATE = ("CASE WHEN void IS NOT NULL THEN 'voided' WHEN outcome = 'refuse' THEN 'refused' "
          "WHEN outcome = 'commitment' THEN 'commitment' WHEN approve IS NULL THEN 'awaiting_approval' "
          "WHEN stamp IS NULL THEN 'awaiting_stamp' WHEN file IS NULL THEN 'stamped' ELSE 'filed' END")
MATTER_COLUMNS = ("seq", "community", "number", "at", "day", "outcome", "item", "list", "query", "item_name",
                  "purpose", "requester", "resident", "cites", "verifiable", "approve", "approver", "stamp", "file",
                  "void", "state")
SEARCHED = ("query", "item_name", "resident", "purpose", "requester")
# The columns a matter record gives its row (``r`` a records row), in MATTER_COLUMNS order from ``at``.
_FROM_RECORD = ("{r}.at AS at, substr({r}.at, 1, 10) AS day, {r}.outcome AS outcome, {r}.item AS item, "
                "{r}.list AS list, json_extract({r}.body, '$.decision.query') AS query, "
                "json_extract({r}.body, '$.decision.item.name') AS item_name, "
                "json_extract({r}.body, '$.decision.purpose') AS purpose, "
                "json_extract({r}.body, '$.decision.requester') AS requester, "
                "json_extract({r}.body, '$.resident.name') AS resident, "
                "json_extract({r}.body, '$.decision.citations') AS cites, "
                "json_extract({r}.body, '$.decision.facts.verifiable') AS verifiable")
_MATTERS = """
CREATE TABLE matters (
    seq       INTEGER PRIMARY KEY,   -- the matter record
    community TEXT NOT NULL,
    number    INTEGER NOT NULL,      -- 登记号: 1, 2, 3… per community
    at        TEXT NOT NULL,
    day       TEXT NOT NULL,         -- the local date of ``at`` (reports by period)
    outcome   TEXT, item TEXT, list TEXT,
    query     TEXT, item_name TEXT, purpose TEXT, requester TEXT, resident TEXT,
    cites     TEXT, verifiable,      -- the decision's citations (JSON) and fact: the inventory's rows
    approve   INTEGER, approver TEXT, stamp INTEGER, file INTEGER, void INTEGER,  -- the acting records
    state     TEXT NOT NULL
);
-- No index on (community, number): numbers grow with ``seq`` in each community, so a number is
-- found by bisecting the table's key (Register.matter_seq) and the next one is the last matter's
-- plus one; an index took a page of every append. ``verify`` compares the numbers with the records.
CREATE INDEX matters_state ON matters(state, seq);
-- Runs of matters of the same day: the first matter record of each run and its day. Records come in
-- time order, so a day is one run (or a few, if the clock was put back); a row is written once a
-- day, where an index on ``day`` took a page of every append.
CREATE TABLE runs (seq INTEGER PRIMARY KEY, day TEXT NOT NULL);
-- Search's n-grams, by batch: for each batch of matters (``batch`` the record up to which it reaches)
-- and each one- or two-character n-gram of their searched texts, the matters that have it (``seqs``,
-- ascending, space separated). A batch's rows sit together, so writing one touches a few pages, where
-- a row per matter and n-gram touched a page per n-gram.
CREATE TABLE grams (batch INTEGER NOT NULL, gram TEXT NOT NULL, seqs TEXT NOT NULL,
                    PRIMARY KEY (batch, gram)) WITHOUT ROWID;
CREATE TRIGGER matters_add AFTER INSERT ON records WHEN NEW.kind = 'matter' BEGIN
    INSERT INTO matters (seq, community, number, at, day, outcome, item, list, query, item_name, purpose,
                         requester, resident, cites, verifiable, state)
    SELECT NEW.seq, NEW.community,
           coalesce((SELECT number FROM matters WHERE community = NEW.community ORDER BY seq DESC LIMIT 1), 0) + 1,
           """ + _FROM_RECORD.format(r="NEW") + """,
           CASE NEW.outcome WHEN 'refuse' THEN 'refused' WHEN 'commitment' THEN 'commitment'
                            ELSE 'awaiting_approval' END;
    INSERT INTO runs (seq, day) SELECT NEW.seq, substr(NEW.at, 1, 10)
     WHERE substr(NEW.at, 1, 10) IS NOT (SELECT day FROM runs ORDER BY seq DESC LIMIT 1);
END;
CREATE TRIGGER matters_act AFTER INSERT ON records WHEN NEW.kind IN ('approve', 'stamp', 'file', 'void') BEGIN
    UPDATE matters SET approve = CASE NEW.kind WHEN 'approve' THEN NEW.seq ELSE approve END,
                       approver = CASE NEW.kind WHEN 'approve' THEN NEW.actor ELSE approver END,
                       stamp = CASE NEW.kind WHEN 'stamp' THEN NEW.seq ELSE stamp END,
                       file = CASE NEW.kind WHEN 'file' THEN NEW.seq ELSE file END,
                       void = CASE NEW.kind WHEN 'void' THEN NEW.seq ELSE void END
     WHERE seq = NEW.ref;
    UPDATE matters SET state = """ + _STATE + """ WHERE seq = NEW.ref;
END;
"""
_SCHEMA += _MATTERS


def _last(kind: str, col: str = "seq") -> str:
    return (f"(SELECT a.{col} FROM records a WHERE a.ref = r.seq AND a.kind = '{kind}' AND a.seq > r.seq "
            f"ORDER BY a.seq DESC LIMIT 1)")


# The matters table as the records say it should be (``verify`` and the migration).
_REBUILT = ("SELECT seq, community, number, at, day, outcome, item, list, query, item_name, purpose, requester, "
            "resident, cites, verifiable, approve, approver, stamp, file, void, " + _STATE + " AS state FROM ("
            "SELECT r.seq, r.community, row_number() OVER (PARTITION BY r.community ORDER BY r.seq) AS number, "
            + _FROM_RECORD.format(r="r") + ", " + _last("approve") + " AS approve, "
            + _last("approve", "actor") + " AS approver, " + _last("stamp") + " AS stamp, " + _last("file")
            + " AS file, " + _last("void") + " AS void FROM records r WHERE r.kind = 'matter')")


def _matching(cursor, search: str, limit: int | None, always: bool = False) -> list[tuple[int, int]]:
    """The (seq, number) rows of a search cursor whose texts (the columns after the first two) hold
    ``search``: two-character n-grams only say it may be there. With ``always`` every row is checked
    (rows not looked up by n-gram; for one or two characters the check says what the n-gram would)."""
    rows: list[tuple[int, int]] = []
    for row in cursor:
        if (always or len(search) > 2) and not any(search in str(v) for v in row[2:] if v is not None):
            continue
        rows.append((row[0], row[1]))
        if limit and len(rows) >= limit:
            break
    cursor.close()
    return rows


def _statements(sql: str) -> Iterator[str]:
    """Split a script into statements (a trigger's body has semicolons of its own)."""
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                yield buf
            buf = ""
    if buf.strip():
        yield buf


@functools.lru_cache(maxsize=65536)  # items, uses and requesting units repeat from matter to matter
def _text_grams(t: str) -> frozenset[str]:
    return frozenset((*t, *(t[i:i + 2] for i in range(len(t) - 1))))


def grams_of(texts) -> set[str]:
    """Every one- and two-character substring of the texts: what search looks up."""
    return set().union(*(_text_grams(str(t)) for t in texts if t is not None))


# ``runs`` as the matters say it should be: each matter whose day differs from the matter before it.
_RUNS = "SELECT seq, day FROM (SELECT seq, day, lag(day) OVER (ORDER BY seq) AS before FROM matters) " \
        "WHERE before IS NOT day"


def _day_ranges(c, start: str, end: str) -> list[tuple[int, int | None]]:
    """The record ranges [lo, hi) (hi None: to the end) holding the matters of days ``start``..``end``:
    the runs of those days, adjacent ones merged (one range unless the clock was put back)."""
    ranges: list[list] = []
    for lo, hi in c.execute("SELECT lo, hi FROM (SELECT seq AS lo, day, lead(seq) OVER (ORDER BY seq) AS hi "
                            "FROM runs) WHERE day BETWEEN ? AND ? ORDER BY lo", (start, end)):
        if ranges and ranges[-1][1] == lo:
            ranges[-1][1] = hi
        else:
            ranges.append([lo, hi])
    return [(lo, hi) for lo, hi in ranges]


# -- the inventory (附件1) ------------------------------------------------------------------------
# The inventory has a row per certificate, with counts; the database sums them up from ``matters``
# in one grouped pass per thing a row counts (outcomes, purposes typed, requesting units, the
# verifiable fact, the decisions' citations), so a year of matters is never read one by one.
INVENTORY_COUNTS = ("outcome", "purpose", "requester", "verifiable", "cites")
_TYPED = ("purpose", "requester")  # what the clerk typed: an empty one is not counted


def inventory_sql(period: str) -> str:
    """The grouped rows of the inventory: (what is counted, item, name, list, value, matters, first
    record), from ``period``, a query of the period's standing matters with the columns seq, item,
    name (the item's name, else the words asked), list, outcome, purpose, requester, verifiable (as
    text: 'true', 'false' or NULL) and cites. The same text for SQLite and PostgreSQL."""
    parts = [f"SELECT '{col}', item, name, list, {col}, count(*), min(seq) FROM period"
             + (f" WHERE {col} <> ''" if col in _TYPED else "") + f" GROUP BY item, name, list, {col}"
             for col in INVENTORY_COUNTS]
    return f"period AS ({period}) " + " UNION ALL ".join(parts)


@dataclass
class InventoryGroup:
    """The standing matters of a period of one certificate: the list item (``item``, its id) or, for
    an unlisted one, the words asked (``name``). One row of the inventory, with its counts."""

    item: str | None
    name: str
    list: str | None
    first: int = 0  # the first matter's record: rows come in the order certificates were first asked for
    outcomes: dict = field(default_factory=dict)  # outcome -> matters
    purposes: dict = field(default_factory=dict)  # purpose typed -> (matters, first record)
    requesters: dict = field(default_factory=dict)  # requesting unit typed -> (matters, first record)
    verifiable: dict = field(default_factory=dict)  # True, False or None (not answered) -> matters
    cites: dict = field(default_factory=dict)  # the decision's citations (labels) -> (matters, first record)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())

    def add(self, what: str, value, n: int, first: int) -> None:
        """Count ``n`` matters whose ``what`` (one of INVENTORY_COUNTS) is ``value``, the first at ``first``."""
        self.first = min(self.first, first) if self.first else first
        if what in ("outcome", "verifiable"):
            counts = self.outcomes if what == "outcome" else self.verifiable
            counts[value] = counts.get(value, 0) + n
            return
        table = {"purpose": self.purposes, "requester": self.requesters, "cites": self.cites}[what]
        had, at = table.get(value, (0, first))
        table[value] = (had + n, min(at, first))


def cite_labels(cites) -> tuple[str, ...]:
    """A decision's citations (JSON text as the index keeps them, or the list) as their labels."""
    if isinstance(cites, str):
        cites = json.loads(cites)
    return tuple(citation_label(c) for c in cites or ())


def fold_inventory(rows) -> tuple[dict[str, int], list[InventoryGroup]]:
    """The rows of :func:`inventory_sql` as the matters' count per outcome and the inventory's groups,
    first asked for first (both backends answer ``inventory`` with this)."""
    groups: dict[tuple, InventoryGroup] = {}
    for what, item, name, lst, value, n, first in rows:
        g = groups.get((item, name, lst))
        if g is None:
            g = groups[(item, name, lst)] = InventoryGroup(item, name, lst)
        if what == "verifiable":
            value = {"true": True, "false": False}.get(value)
        elif what == "cites":
            value = cite_labels(value)
        g.add(what, value, int(n), int(first))
    counts: dict[str, int] = {}
    for g in groups.values():
        for outcome, n in g.outcomes.items():
            counts[outcome] = counts.get(outcome, 0) + n
    return counts, sorted(groups.values(), key=lambda g: g.first)


def _migrate_3(c: sqlite3.Connection) -> None:
    for stmt in ("DROP TRIGGER IF EXISTS matters_add", "DROP TRIGGER IF EXISTS matters_act",
                 "DROP TABLE IF EXISTS matters", "DROP TABLE IF EXISTS grams", "DROP TABLE IF EXISTS runs"):  # a half-made index
        c.execute(stmt)
    for stmt in _statements(_MATTERS):
        c.execute(stmt)
    _fill_index(c)


def _fill_index(c: sqlite3.Connection) -> None:
    """(Re)build ``matters``, ``runs`` and ``grams`` from the records."""
    c.execute("DELETE FROM matters")
    c.execute(f"INSERT INTO matters ({', '.join(MATTER_COLUMNS)}) {_REBUILT}")
    _fill_search(c)


def _fill_search(c: sqlite3.Connection) -> None:
    """(Re)build ``runs`` and ``grams`` from ``matters``: n-grams in batches of ``_GRAMS_EVERY`` records
    up to the last record, which becomes the mark."""
    c.execute("DELETE FROM runs")
    c.execute(f"INSERT INTO runs {_RUNS}")
    c.execute("DELETE FROM grams")
    head = c.execute("SELECT coalesce(max(seq), 0) FROM records").fetchone()[0]
    batch: list[tuple] = []
    end = 0
    for row in c.execute(f"SELECT seq, {', '.join(SEARCHED)} FROM matters ORDER BY seq"):
        if row[0] > end:  # the rows so far are the batch ending at ``end``
            if batch:
                c.executemany("INSERT INTO grams VALUES (?, ?, ?)", _postings(end, batch))
                batch = []
            end = min(-(-row[0] // _GRAMS_EVERY) * _GRAMS_EVERY, head)
        batch.append(row)
    if batch:
        c.executemany("INSERT INTO grams VALUES (?, ?, ?)", _postings(end, batch))
    c.execute("INSERT OR REPLACE INTO meta VALUES ('grams', ?)", (str(head),))


def batch_matches(rows, grams: int, indexed: int) -> Iterator[list[int]]:
    """From (batch, seqs) rows grouped by batch, newest first (``seqs`` None where the batch lacks
    the n-gram): per batch, the matters listed under all ``grams`` n-grams, newest first, up to
    record ``indexed`` (a newer one was read from its texts already). ValueError: a damaged list."""
    for _, group in itertools.groupby(rows, key=lambda r: r[0]):
        lists = [seqs for _, seqs in group]
        if None in lists or len(lists) < grams:
            continue  # a batch without one of the n-grams has no matter with all of them
        found = set(lists[0].split())
        for other in lists[1:]:
            found.intersection_update(other.split())
        seqs = sorted((seq for seq in map(int, found) if seq <= indexed), reverse=True)
        if seqs:
            yield seqs


def _first_difference(have: dict[str, str], want: dict[str, str], fallback: int) -> int:
    """The first matter whose n-grams differ between two batches' rows (n-gram: its matters)."""
    def by_matter(rows: dict[str, str]) -> dict[int, set[str]]:
        out: dict[int, set[str]] = {}
        for gram, seqs in rows.items():
            for s in seqs.split():
                out.setdefault(int(s), set()).add(gram)
        return out
    try:
        a, b = by_matter(have), by_matter(want)
    except ValueError:  # not a list of numbers: the batch as a whole is damaged
        return fallback
    return min((seq for seq in a.keys() | b.keys() if a.get(seq) != b.get(seq)), default=fallback)


# ``grams`` is written in batches: the append of every _GRAMS_EVERY-th record adds the matters after
# ``meta.grams``; search reads those few matters directly.
_GRAMS_EVERY = 1024


def _postings(batch: int, rows) -> list[tuple[int, str, str]]:
    """The ``grams`` rows of a batch: (batch, n-gram, its matters), from (seq, *texts) rows.

    By distinct text first: the item, use and requesting unit repeat from matter to matter, so
    their n-grams are taken once for all the matters that share them."""
    by_text: dict[object, list[int]] = {}
    for row in rows:
        seq = row[0]
        for t in row[1:]:
            if t is not None:
                seqs = by_text.get(t)
                if seqs is None:
                    by_text[t] = [seq]
                else:
                    seqs.append(seq)
    by_gram: dict[str, set[int]] = {}
    for t, seqs in by_text.items():
        for g in _text_grams(t if type(t) is str else str(t)):
            have = by_gram.get(g)
            if have is None:
                by_gram[g] = set(seqs)
            else:
                have.update(seqs)
    return [(batch, g, " ".join(map(str, sorted(seqs)))) for g, seqs in by_gram.items()]


def _indexed(c: sqlite3.Connection) -> int | None:
    """The record up to which ``grams`` holds every matter's n-grams (``meta.grams``); None if that
    row is missing or not a number (only an edit of the file does that: ``verify`` says so)."""
    row = c.execute("SELECT value FROM meta WHERE key = 'grams'").fetchone()
    try:
        return int(row[0])
    except (TypeError, ValueError):
        return None


def _index_tail(c: sqlite3.Connection, upto: int) -> None:
    """Add the n-grams of the matters after ``meta.grams`` up to record ``upto``, as one batch (in a
    writer's transaction). Without a readable mark it does nothing: a damaged search index must not
    stop the register from recording (search and ``verify`` report it)."""
    indexed = _indexed(c)
    if indexed is None:
        return
    # A mark edited back: the batches already written stand, the new one starts after them.
    last = c.execute("SELECT max(batch) FROM grams").fetchone()[0] or 0
    rows = c.execute(f"SELECT seq, {', '.join(SEARCHED)} FROM matters WHERE seq > ? AND seq <= ? ORDER BY seq",
                     (max(indexed, last), upto)).fetchall()
    c.executemany("INSERT OR REPLACE INTO grams VALUES (?, ?, ?)", _postings(upto, rows))
    c.execute("UPDATE meta SET value = ? WHERE key = 'grams'", (str(upto),))


def _migrate_4(c: sqlite3.Connection) -> None:
    # Up to schema 3 every append wrote its matter's n-grams: ``grams`` is complete to the last record.
    c.execute("INSERT OR REPLACE INTO meta VALUES ('grams', (SELECT CAST(coalesce(max(seq), 0) AS TEXT) "
              "FROM records))")


def _migrate_5(c: sqlite3.Connection) -> None:
    # The index on matters(day) becomes the ``runs`` table, which the matter trigger now keeps, the
    # index on (community, number) goes (numbers are bisected), and ``grams`` holds a row per batch
    # and n-gram instead of per matter and n-gram. (From schema 2,
    # ``_migrate_3`` has made both already: this is then a rebuild of them.)
    for stmt in ("DROP INDEX IF EXISTS matters_day", "DROP INDEX IF EXISTS matters_number",
                 "DROP TRIGGER IF EXISTS matters_add",
                 "DROP TABLE IF EXISTS runs", "DROP TABLE IF EXISTS grams"):
        c.execute(stmt)
    for stmt in _statements(_MATTERS):
        if any(k in stmt for k in ("CREATE TABLE runs", "CREATE TABLE grams", "CREATE TRIGGER matters_add")):
            c.execute(stmt)
    _fill_search(c)


MIGRATIONS: dict[int, str | Callable[[sqlite3.Connection], None]] = {
    1: _PAPER_INDEX, 2: _migrate_3, 3: _migrate_4, 4: _migrate_5}


def verify_chain(rows, read_head: Callable[[], tuple[int, str]], check_index: Callable[[], "Problem | None"] | None,
                 errors: tuple[type[BaseException], ...] | type[BaseException], head_where: str) -> "VerifyResult":
    """Walk records (full rows, in chain order) and name the first bad one; then compare the head
    the register keeps (``read_head``: its seq and hash, in ``head_where``) and, if given, the
    derived index. Both backends verify with this, so a community's records mean the same in each."""
    prev = GENESIS
    expected = 1
    count = 0
    sha = hashlib.sha256
    enc = _encode
    try:
        for row in rows:
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
        head_seq, head_hash = read_head()
    except errors as exc:
        return VerifyResult(False, count, prev, Problem(expected, f"读取第 {expected} 条记录时出错：{_line(exc)}"))
    if head_seq != count or head_hash != prev:
        if head_seq > count:
            return VerifyResult(False, count, prev, Problem(
                count + 1, f"登记簿应有 {head_seq} 条记录，现只有 {count} 条：末尾的记录被删除"))
        return VerifyResult(False, count, prev, Problem(
            count, f"登记簿的链头记录（{head_where}）与第 {count} 条记录不符：记录或链头被改动"))
    if check_index is None:
        return VerifyResult(True, count, prev, None)
    try:
        problem = check_index()
    except errors as exc:
        problem = Problem(count, f"读取登记事项索引时出错：{_line(exc)}")
    if problem is not None:
        return VerifyResult(False, count, prev, problem)
    return VerifyResult(True, count, prev, None)


def _line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()  # a database's detail lines follow its first
    return lines[0] if lines else type(exc).__name__


class RegisterError(Exception):
    """The register cannot be opened or written; the message is Chinese and safe to show."""


class RegisterCancelled(RegisterError):
    """A wait for the register stopped by the clerk (:meth:`Register.stop`); nothing was written."""


def _make_encode() -> Callable[[object], str]:
    """``json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode`` with its C encoder made
    once, not per call (an append encodes twice, ``verify`` once per record): the same text. Without
    a circular-reference check: a record's values are a tree; a cycle ends in RecursionError."""
    base = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
    make = json.encoder.c_make_encoder
    if make is None:  # no C accelerator
        return base.encode
    chunks = make(None, base.default, json.encoder.encode_basestring, None, ":", ",", False, False, True)
    join = "".join

    def encode(o) -> str:
        return join(chunks(o, 0))
    return encode


_encode = _make_encode()
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


def _create_file(path: Path, mode: int, group: str) -> None:
    """Create the register file with its mode (and group) from the first byte. Another process that
    created it a moment earlier wins: its file is used (SQLite's lock then orders the two first
    opens). A group that cannot be given leaves no file behind, so the next try fails the same way
    instead of making a register without it."""
    gid = -1
    if group:
        try:
            gid = grp.getgrnam(group).gr_gid
        except KeyError:
            raise RegisterError(f"用户组 {group} 不存在，无法建立登记簿") from None
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, mode)  # the umask must not widen or narrow the configured mode
        if gid != -1:
            os.fchown(fd, -1, gid)
    except OSError as exc:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise RegisterError(f"无法把登记簿 {path} 交给用户组 {group}：{exc.strerror}"
                            "（建立登记簿的用户须是该组成员）") from None
    os.close(fd)


class Register:
    """One open register file. Not shared between threads; open one per process or thread."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False, mode: int = 0o600, group: str = "",
                 community: str = "", timeout: float = 60.0):
        self.path = Path(path)
        exists = self.path.exists()
        if not exists and not create:
            raise RegisterError(f"登记簿 {self.path} 不存在")
        # An existing file is not opened here to look at its header: closing any descriptor of the
        # file drops every POSIX lock this process holds on it, including those of its open
        # registers, and another process closing its own connection then takes itself for the last
        # one and removes the WAL under them. SQLite reads the header and refuses a foreign file.
        if not exists:
            _create_file(self.path, mode, group)
        try:
            self.conn = sqlite3.connect(f"file:{self.path}?mode=rw", uri=True, timeout=timeout,
                                        isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise RegisterError(f"无法打开登记簿 {self.path}：{exc}") from None
        self.read_only = False
        try:
            self._prepare_patiently(community, timeout)
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            if (exists and getattr(exc, "sqlite_errorname", "") in ("SQLITE_CANTOPEN", "SQLITE_READONLY")
                    and not os.access(self.path.parent, os.W_OK)):
                self._open_read_only()
                return
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_BUSY", "SQLITE_LOCKED"):
                raise RegisterError(f"登记簿 {self.path} 正被其他程序长时间占用（{exc}），请稍后再试") from None
            if getattr(exc, "sqlite_errorname", "") == "SQLITE_NOTADB":
                raise RegisterError(f"{self.path} 不是 sealdesk 登记簿（不是 SQLite 数据库文件），已拒绝打开，"
                                    "文件未改动") from None
            raise RegisterError(f"登记簿 {self.path} 已损坏或不是 sealdesk 登记簿（{exc}），已拒绝打开，文件未改动") from None
        lock = Path(str(self.path) + ".lock")
        try:
            self._lock_fd = os.open(lock, os.O_RDWR | os.O_CREAT, mode)
        except OSError:
            self._lock_fd = None  # read-only access (an inspector's copy): writers still have SQLite's lock

    def _open_read_only(self) -> None:
        """A register in a directory this process cannot write (an inspector's copy on read-only
        media, a mounted backup): SQLite cannot make its -shm file there, so the file is read as it
        is, unchanged — if nothing is waiting in a -wal file beside it, which would be ignored."""
        wal = Path(str(self.path) + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise RegisterError(f"登记簿 {self.path} 在只读目录中，且有尚未写回主文件的记录（{wal.name}）："
                                "请把登记簿连同 -wal 文件复制到可写的目录后再查看")
        try:
            self.conn = sqlite3.connect(f"file:{self.path}?mode=ro&immutable=1", uri=True,
                                        isolation_level=None, check_same_thread=False)
            app_id, version, _ = self._state()
        except sqlite3.DatabaseError as exc:
            raise RegisterError(f"无法读取只读目录中的登记簿 {self.path}（{exc}）") from None
        if app_id != APPLICATION_ID:
            self.conn.close()
            raise RegisterError(f"{self.path} 不是 sealdesk 登记簿，已拒绝打开，文件未改动")
        if version != SCHEMA_VERSION:
            self.conn.close()
            raise RegisterError(f"只读目录中的登记簿 {self.path} 是结构版本 {version}（本程序为 {SCHEMA_VERSION}），"
                                "无法就地升级：请复制到可写的目录后再打开")
        self.read_only = True
        self._lock_fd = None

    def _state(self) -> tuple[int, int, int]:
        c = self.conn
        c.execute("BEGIN")  # one read transaction: a creator committing in between cannot split the answer
        try:
            return (c.execute("PRAGMA application_id").fetchone()[0], c.execute("PRAGMA user_version").fetchone()[0],
                    c.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
        finally:
            c.execute("COMMIT")

    def _prepare_patiently(self, community: str, timeout: float) -> None:
        """``_prepare``, again while another process holds the file in a way SQLite's busy handler
        does not wait for: the switch to WAL and the first reads of a file another process is
        creating at the same moment answer "database is locked" at once. Preparing is idempotent."""
        import time

        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            try:
                return self._prepare(community)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorname", "") not in ("SQLITE_BUSY", "SQLITE_LOCKED") \
                        or time.monotonic() > deadline:
                    raise
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                time.sleep(delay)
                delay = min(delay * 2, 0.2)

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
                    for stmt in _statements(_SCHEMA):
                        c.execute(stmt)
                    c.execute("INSERT INTO meta VALUES ('head', ?), ('created', ?), ('community', ?), ('grams', '0')",
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
                step = MIGRATIONS[v]
                if callable(step):
                    step(c)
                else:
                    for stmt in _statements(step):
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

    # -- the matters index -------------------------------------------------------------
    def matter_seq(self, number: int, community: str) -> int | None:
        """The record of matter 登记号 ``number`` of ``community`` (or, for a community renamed in its
        configuration, of the one community the register's matters belong to)."""
        seq = self._bisect_number(number, community)
        if seq is None:
            ends = self.conn.execute("SELECT (SELECT community FROM matters ORDER BY seq LIMIT 1), "
                                     "(SELECT community FROM matters ORDER BY seq DESC LIMIT 1)").fetchone()
            if ends[0] is not None and ends[0] == ends[1] != community:
                seq = self._bisect_number(number, ends[0])
        return seq

    def _bisect_number(self, number: int, community: str) -> int | None:
        """Matter ``number`` of ``community`` by bisection on the record number: the community's
        numbers grow with it (the trigger gives the last one plus one), about 20 lookups at a
        million matters."""
        probe = "SELECT seq, number FROM matters WHERE seq >= ? AND community = ? ORDER BY seq LIMIT 1"
        if not 1 <= number <= 2 ** 62:
            return None
        lo, hi = 1, (self.conn.execute("SELECT max(seq) FROM matters").fetchone()[0] or 0) + 1
        while lo < hi:  # the first record from which the community's next matter has a number >= ``number``
            mid = (lo + hi) // 2
            row = self.conn.execute(probe, (mid, community)).fetchone()
            if row is None or row[1] >= number:
                hi = mid
            else:
                lo = row[0] + 1
        row = self.conn.execute(probe, (lo, community)).fetchone()
        return row[0] if row is not None and row[1] == number else None

    def numbers(self, seqs) -> dict[int, int]:
        """Matter record → 登记号, for the given matter records."""
        seqs = list(seqs)
        out: dict[int, int] = {}
        for i in range(0, len(seqs), 500):
            part = seqs[i:i + 500]
            out.update(self.conn.execute(
                f"SELECT seq, number FROM matters WHERE seq IN ({','.join('?' * len(part))})", part))
        return out

    def records_at(self, seqs) -> dict[int, Record]:
        """The records with these numbers (a page of matters)."""
        seqs = list(seqs)
        out: dict[int, Record] = {}
        for i in range(0, len(seqs), 500):
            part = seqs[i:i + 500]
            for row in self.conn.execute(f"SELECT * FROM records WHERE seq IN ({','.join('?' * len(part))})", part):
                out[row[0]] = Record(*row)
        return out

    def matter_rows(self, after: int, limit: int, day: tuple[str, str] | None = None) -> list[tuple[int, int]]:
        """(record, 登记号) of the next ``limit`` matters after record ``after``, in chain order."""
        if not day:
            return self.conn.execute("SELECT seq, number FROM matters WHERE seq > ? ORDER BY seq LIMIT ?",
                                     (after, limit)).fetchall()
        rows: list[tuple[int, int]] = []
        for lo, hi in _day_ranges(self.conn, *day):
            if hi is not None and hi <= after + 1:
                continue
            rows += self.conn.execute("SELECT seq, number FROM matters WHERE seq > ? AND seq >= ? AND seq < ? "
                                      "AND day BETWEEN ? AND ? ORDER BY seq LIMIT ?",
                                      (after, lo, hi if hi is not None else 1 << 62, *day,
                                       limit - len(rows))).fetchall()
            if len(rows) >= limit:
                break
        return rows

    def find(self, states: tuple[str, ...] | None, search: str, limit: int | None,
             before: int | None = None) -> list[tuple[int, int]]:
        """(record, 登记号) of matters newest first, in one of ``states`` and/or matching ``search``;
        with ``before``, only the matters whose record is below it (the next page of a list whose last
        row's record was ``before``).

        Search looks the query up by its one- or two-character n-grams (every two-character n-gram of a
        longer one), then checks the text itself: n-grams only say it may be there. The matters after
        ``meta.grams`` have no n-grams yet: their texts are checked directly, first (they are the newest),
        in the same read transaction as the n-grams so that none is missed or listed twice.
        """
        where, params = [], []
        if states:
            where.append(f"m.state IN ({','.join('?' * len(states))})")
            params += states
        if before is not None:
            where.append("m.seq < ?")
            params.append(before)
        if not search:
            sql = "SELECT m.seq, m.number FROM matters m" + (" WHERE " + " AND ".join(where) if where else "")
            sql += " ORDER BY m.seq DESC" + (" LIMIT ?" if limit else "")
            return self.conn.execute(sql, (*params, *([limit] if limit else []))).fetchall()
        c = self.conn
        own = not c.in_transaction
        if own:
            c.execute("BEGIN")
        try:
            indexed = _indexed(c)
            if indexed is None:
                raise RegisterError(f"登记簿 {self.path} 的搜索索引已损坏（meta 表缺少 grams 进度），无法搜索；"
                                    "记录本身不受影响，请运行 sealdesk register verify 检查并重建索引")
            texts = ", ".join("m." + col for col in SEARCHED)
            cond = "".join(f" AND {w}" for w in where)
            tail = c.execute(f"SELECT m.seq, m.number, {texts} FROM matters m WHERE m.seq > ?{cond} "
                             "ORDER BY m.seq DESC", (indexed, *params))
            rows = _matching(tail, search, limit, always=True)
            if limit and len(rows) >= limit:
                return rows
            grams = [search] if len(search) <= 2 else list(dict.fromkeys(search[i:i + 2]
                                                                            for i in range(len(search) - 1)))
            candidates = self._candidates(grams, indexed, before)
            try:
                for seqs in candidates:
                    cursor = c.execute(f"SELECT m.seq, m.number, {texts} FROM matters m WHERE m.seq IN "
                                       f"({','.join('?' * len(seqs))}){cond} ORDER BY m.seq DESC", (*seqs, *params))
                    rows += _matching(cursor, search, limit - len(rows) if limit else None)
                    if limit and len(rows) >= limit:
                        break
            finally:
                candidates.close()
            return rows
        finally:
            if own:
                c.execute("COMMIT")

    def _candidates(self, grams: list[str], indexed: int, before: int | None = None) -> Iterator[list[int]]:
        """The matters that have every one of ``grams``, batch by batch, newest first (a batch's
        matters newest first too). The batches are visited by seeking from one to the next below
        it (the table's key leads with the batch), a growing number per statement: a common name
        fills its page from the newest batch or two, a name found nowhere visits all of them.
        With ``before``, from the batch holding record ``before - 1`` down, and only matters below it."""
        c = self.conn
        marks = ",".join("?" * len(grams))
        below, step = indexed + 1, 4
        if before is not None and before <= indexed:
            first = c.execute("SELECT min(batch) FROM grams WHERE batch >= ?", (before - 1,)).fetchone()[0]
            below = min(below, first + 1) if first is not None else below
            indexed = before - 1
        while below is not None:
            rows = c.execute(
                "WITH RECURSIVE b(batch, n) AS (SELECT (SELECT max(batch) FROM grams WHERE batch < ?), 1 "
                "UNION ALL SELECT (SELECT max(batch) FROM grams WHERE batch < b.batch), n + 1 FROM b "
                "WHERE b.batch IS NOT NULL AND n < ?) "
                f"SELECT b.batch, g.seqs FROM b LEFT JOIN grams g ON g.batch = b.batch AND g.gram IN ({marks}) "
                "WHERE b.batch IS NOT NULL", (below, step, *grams)).fetchall()
            if not rows:
                return
            below, step = min(r[0] for r in rows), min(step * 4, 4096)
            try:
                yield from batch_matches(rows, len(grams), indexed)
            except ValueError:
                raise RegisterError(f"登记簿 {self.path} 的搜索索引（grams 表）已损坏，无法搜索；记录本身不受影响，"
                                    "请运行 sealdesk register verify 检查并重建索引") from None

    def inventory(self, start: str, end: str) -> tuple[dict[str, int], list[InventoryGroup]]:
        """The matters of days ``start``..``end`` that stand (not voided): their count per outcome, and
        the inventory's groups (one per certificate, :class:`InventoryGroup`), counted by SQLite."""
        ranges = _day_ranges(self.conn, start, end)
        if not ranges:
            return {}, []
        # The period's runs as a table of record ranges: each is a range of the matters' key.
        spans = "WITH spans(lo, hi) AS (VALUES " + ", ".join("(?, ?)" for _ in ranges) + "), "
        params = [v for lo, hi in ranges for v in (lo, hi if hi is not None else 1 << 62)]
        period = ("SELECT m.seq, m.item, coalesce(m.item_name, m.query) AS name, m.list, m.outcome, m.purpose, "
                  "m.requester, CASE m.verifiable WHEN 1 THEN 'true' WHEN 0 THEN 'false' END AS verifiable, m.cites "
                  "FROM spans JOIN matters m ON m.seq >= spans.lo AND m.seq < spans.hi "
                  "WHERE m.day BETWEEN ? AND ? AND m.void IS NULL")
        return fold_inventory(self.conn.execute(spans + inventory_sql(period), params + [start, end]))

    def _export_page(self, after: int, limit: int) -> tuple[list[tuple], list[tuple]]:
        """One page of the export as raw rows, two indexed queries and no Record objects.

        The next ``limit`` matters after record ``after``: (seq, 登记号, at, actor, outcome, hash, body);
        and every record acting on them: (ref, kind, seq, actor, at, year, serial, body), grouped by
        matter and in chain order within it, with ``body`` only where the export reads it (stamp, void,
        paper). Their refs fall between the page's first and last matter, which bounds the index range.
        """
        c = self.conn
        matters = c.execute("SELECT m.seq, m.number, r.at, r.actor, r.outcome, r.hash, r.body FROM matters m "
                            "JOIN records r ON r.seq = m.seq WHERE m.seq > ? ORDER BY m.seq LIMIT ?",
                            (after, limit)).fetchall()
        if not matters:
            return matters, []
        acts = c.execute("SELECT ref, kind, seq, actor, at, year, serial, "
                         "CASE WHEN kind IN ('stamp', 'void', 'paper') THEN body END FROM records "
                         "WHERE ref BETWEEN ? AND ? ORDER BY ref, seq", (matters[0][0], matters[-1][0])).fetchall()
        return matters, acts

    def grouped_rows(self) -> Iterator[tuple]:
        """(seq, kind, ref, at, actor, role, community, year, serial, outcome, list, grounds, jurisdiction),
        matter by matter: each matter record, then the records acting on it in chain order (an action
        whose ``ref`` is no earlier matter comes where its ``ref`` would). The audit's pass: of the
        bodies only a matter's jurisdiction (the one it was decided under). SQLite sorts it in its
        temporary store, not in this process's memory."""
        return self.conn.execute("SELECT seq, kind, ref, at, actor, role, community, year, serial, outcome, list, "
                                 "grounds, CASE WHEN kind = 'matter' THEN json_extract(body, '$.decision.jurisdiction') "
                                 "END FROM records ORDER BY coalesce(ref, seq), seq")

    def serial_rows(self) -> Iterator[tuple]:
        """(community, year, serial, seq) of every record with a serial, in serial order."""
        return self.conn.execute("SELECT community, year, serial, seq FROM records "
                                 "WHERE serial IS NOT NULL AND kind = 'stamp' "
                                 "ORDER BY community, year, serial, seq")

    def reindex(self) -> None:
        """Rebuild the derived tables from the records (what ``verify`` compares them with)."""
        with self._transaction() as c:
            _fill_index(c)

    # Set by a caller that must be able to stop waiting (the TUI's Esc while another program holds
    # the register): the lock is then polled instead of waited for in the kernel, and :meth:`stop`
    # interrupts a statement waiting on SQLite's own lock. Unset (the CLI, the service) nothing changes.
    cancel = None  # threading.Event
    waiting = False  # in a write, still waiting for the register (another writer holds it)

    def _take_lock(self) -> None:
        if self.cancel is None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
            return
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if self.cancel.wait(0.02):
                    raise RegisterCancelled("已取消等待：登记簿正被其他程序占用，本次未写入登记簿") from None

    def stop(self) -> None:
        """From another thread: stop waiting for the register (with :attr:`cancel` set as well).
        A write already being committed completes; one still waiting is not made."""
        if self.cancel is not None:
            self.cancel.set()
        try:
            self.conn.interrupt()
        except sqlite3.ProgrammingError:
            pass

    @contextmanager
    def _transaction(self):
        """The writers' lock, then an immediate transaction: committed when the block ends, rolled back
        if it raises. The lock comes first so that writers queue in the kernel (see the module doc)."""
        self.waiting = True  # until the lock and the write transaction are ours (the TUI's dialog asks)
        try:
            if self._lock_fd is not None:
                self._take_lock()
            c = self.conn
        except BaseException:
            self.waiting = False
            raise
        try:
            try:
                c.execute("BEGIN IMMEDIATE")
            finally:
                self.waiting = False
            try:
                yield c
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:
                    c.execute("ROLLBACK")
                raise
        finally:
            if self._lock_fd is not None:
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def check_index(self) -> Problem | None:
        """Compare ``matters``, ``runs`` and ``grams`` with what the records say; the first matter that differs.

        One ordered walk of each table beside its rebuild. ``grams`` holds the matters up to record
        ``meta.grams`` and none after it, each batch exactly the n-grams of its matters (those after the
        batch before it).
        """
        c = self.conn
        indexed = _indexed(c)
        if indexed is None or not 0 <= indexed <= self.head()[0]:
            return Problem(self.head()[0], "搜索索引（grams 表）的进度记录（meta 表 grams）缺失或与记录不符"
                                           "（记录本身完好，可重建索引）")
        stored = c.execute(f"SELECT {', '.join(MATTER_COLUMNS)} FROM matters ORDER BY seq")
        rebuilt = c.execute(f"{_REBUILT} ORDER BY seq")
        for a, b in itertools.zip_longest(stored, rebuilt):
            if a != b:
                stored.close()
                rebuilt.close()
                return self._index_problem(min(r[0] for r in (a, b) if r is not None), "登记事项索引（matters 表）")
        for a, b in itertools.zip_longest(c.execute("SELECT seq, day FROM runs ORDER BY seq").fetchall(),
                                          c.execute(f"{_RUNS} ORDER BY seq").fetchall()):
            if a != b:
                return self._index_problem(min(r[0] for r in (a, b) if r is not None), "按日期的索引（runs 表）")
        bad = self._check_grams(indexed)
        return None if bad is None else self._index_problem(bad, "搜索索引（grams 表）")

    def _check_grams(self, indexed: int) -> int | None:
        """The first matter whose n-grams in ``grams`` are not those of its texts, batch by batch."""
        c = self.conn
        matters = c.execute(f"SELECT seq, {', '.join(SEARCHED)} FROM matters WHERE seq <= ? ORDER BY seq",
                            (indexed,))
        pending = next(matters, None)
        stored = c.execute("SELECT batch, gram, seqs FROM grams ORDER BY batch")
        try:
            for batch, group in itertools.groupby(stored, key=lambda r: r[0]):
                have = {gram: seqs for _, gram, seqs in group}
                members = []
                while pending is not None and pending[0] <= batch:
                    members.append(pending)
                    pending = next(matters, None)
                if batch > indexed:  # n-grams of matters the mark says are not in
                    return min([int(s) for seqs in have.values() for s in seqs.split() if s.isdigit()] or [indexed])
                want = {gram: seqs for _, gram, seqs in _postings(batch, members)}
                if have != want:
                    return _first_difference(have, want, members[0][0] if members else batch)
            # Matters the mark says are in, without n-grams (a matter without any text has none).
            while pending is not None:
                if grams_of(pending[1:]):
                    return pending[0]
                pending = next(matters, None)
            return None
        finally:
            matters.close()
            stored.close()

    def _index_problem(self, seq: int, what: str) -> Problem:
        row = self.conn.execute(f"SELECT number FROM ({_REBUILT}) WHERE seq = ?", (seq,)).fetchone()
        which = f"登记号 {row[0]}（第 {seq} 条记录）" if row else f"第 {seq} 条记录"
        return Problem(seq, f"{which}的{what}与记录不符：索引被改动或未随记录写入（记录本身完好，可重建索引）")

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
        if self.read_only:
            raise RegisterError(f"登记簿 {self.path} 在只读目录中，只能查看，不能登记")
        body_json = body_text(body)
        try:
            with self._transaction() as c:
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
                if seq % _GRAMS_EVERY == 0:  # the triggers wrote the ``matters`` rows; search's n-grams follow
                    _index_tail(c, seq)
                c.execute("UPDATE meta SET value = ? WHERE key = 'head'", (f"{seq} {h}",))
        except sqlite3.OperationalError as exc:
            if self.cancel is not None and self.cancel.is_set() and "interrupt" in str(exc):
                raise RegisterCancelled("已取消等待：登记簿正被其他程序占用，本次未写入登记簿") from None
            raise RegisterError(f"写入登记簿失败：{exc}") from None
        return Record(*row, h)

    # -- held by a service --------------------------------------------------------------
    # A copy of the file alone, taken while the service runs, is an older, intact register: the
    # newest records are in the -wal file beside it. The service therefore writes into the file
    # itself (meta ``in_use``, checkpointed into the main file at once) where it is held, and clears
    # it when it stops; a file that says so but has no -wal beside it and is not where the service
    # held it is such a copy, and verify says so (:meth:`copy_warning`).
    def hold(self) -> None:
        """Mark the file as held by this long-running writer (``sealdesk serve``) until :meth:`release`."""
        if self.read_only:
            return
        mark = json.dumps({"path": os.path.realpath(self.path), "host": os.uname().nodename, "pid": os.getpid(),
                           "since": now().isoformat()}, ensure_ascii=False)
        with self._transaction() as c:
            c.execute("INSERT OR REPLACE INTO meta VALUES ('in_use', ?)", (mark,))
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")  # into the main file, where a copy sees it

    def release(self) -> None:
        if self.read_only:
            return
        with self._transaction() as c:
            c.execute("DELETE FROM meta WHERE key = 'in_use'")

    def copy_warning(self) -> str | None:
        """Why this file may lack its newest records (a copy taken while the service held the
        original, without the -wal file), or None."""
        raw = self.meta().get("in_use")
        if not raw:
            return None
        wal = Path(str(self.path) + "-wal")
        try:
            if wal.stat().st_size > 0:
                return None
        except OSError:
            pass
        try:
            mark = json.loads(raw)
            held = mark["path"]
        except (ValueError, TypeError, KeyError):
            return None
        if held == os.path.realpath(self.path) and mark.get("host") == os.uname().nodename:
            return None  # the file itself, after the service stopped without clearing (a crash)
        return (f"这是登记簿服务运行时（{str(mark.get('since', ''))[:16].replace('T', ' ')} 起，{held}）"
                "复制的文件，旁边没有 -wal 文件：复制时尚未写回文件的最新记录不在其中，上面的记录数可能偏少。"
                "请连同 -wal 文件一起复制，或用 sealdesk register backup 备份")

    # -- backup --------------------------------------------------------------------------
    def backup(self, dest: str | os.PathLike) -> "VerifyResult":
        """Copy the register to the new file ``dest`` with SQLite's online backup API and verify the copy.

        The copy is of one consistent moment and includes what is still in the WAL (a plain copy of
        the file while the service runs can miss every record since the last checkpoint). Writers
        go on meanwhile (WAL: the backup is a reader). ``dest`` is created 0600 and must not exist.
        """
        dest = Path(dest)
        try:
            fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
        except FileExistsError:
            raise RegisterError(f"{dest} 已存在，不覆盖；请另选备份文件名") from None
        except OSError as exc:
            raise RegisterError(f"无法建立备份文件 {dest}：{exc.strerror}") from None
        os.close(fd)
        try:
            target = sqlite3.connect(dest)
            try:
                self.conn.backup(target)
            finally:
                target.close()
            with Register(dest) as copy:
                copy.release()  # a backup is complete: not a copy missing its -wal
                return copy.verify()
        except (sqlite3.Error, RegisterError, OSError) as exc:
            dest.unlink(missing_ok=True)
            for extra in ("-wal", "-shm", ".lock"):
                Path(str(dest) + extra).unlink(missing_ok=True)
            raise RegisterError(f"备份登记簿失败（未留下不完整的备份）：{exc}") from None

    # -- verification ----------------------------------------------------------------
    def verify(self, index: bool = True) -> VerifyResult:
        """Walk the chain; the first bad record is named. Reads every row once.

        With ``index`` (``register verify``) the derived tables are rebuilt and compared too; the audit,
        which reads the records themselves, checks the chain only (the index check is most of the time
        on a large register).
        """
        # One read transaction: the records, the head and the index as of one moment. Read in
        # separate ones, an append committed meanwhile looks like a deleted tail (and raises the alarm).
        c = self.conn
        if c.in_transaction:
            return verify_chain(self.rows(), self._meta_head, self.check_index if index else None,
                                sqlite3.DatabaseError, "meta")
        c.execute("BEGIN")
        try:
            return verify_chain(self.rows(), self._meta_head, self.check_index if index else None,
                                sqlite3.DatabaseError, "meta")
        finally:
            if c.in_transaction:
                c.execute("COMMIT")  # a read transaction: this only ends the snapshot

    def _meta_head(self) -> tuple[int, str]:
        seq_text, _, head_hash = self.meta().get("head", "").partition(" ")
        try:
            return int(seq_text), head_hash
        except ValueError:
            return -1, head_hash
