"""The county register: many communities' seal registers in one PostgreSQL database.

DOMAIN.md section 8, and issue 14. A county that wants one register for all its communities,
reachable from every township and backed up and replicated by its own IT staff, sets
``[register] url = "postgresql://…"`` in each community's community.toml. SQLite
(:mod:`sealdesk.core.register.store`) stays the embedded default; :class:`PgRegister` answers
the same calls, so the counter, the papers, the audit and the service do not know which one
they hold.

Each community keeps its own chain, exactly as in a register file: records ``1..n`` of the
community, each hashed over the same canonical bytes (:func:`store.record_hash`), so a
community's records verify with the same code whichever backend holds them, and a county's
communities write in parallel instead of queueing behind one head.

What the database itself enforces, whoever connects:

* **Append-only.** The application role is granted ``SELECT`` and ``INSERT`` on ``records``
  and nothing else; a trigger refuses ``UPDATE``, ``DELETE`` and ``TRUNCATE`` of records even
  by the owner (who would have to drop the trigger first, which the server's log and
  ``pg_trigger`` show).
* **The chain.** A ``BEFORE INSERT`` trigger takes the community's writers' lock (an advisory
  lock on its name: the community's writers queue there, other communities' do not), gives the record the next
  ``seq`` and the head's hash as ``prev`` (or refuses ones that say otherwise), computes its hash
  over the same canonical bytes as :func:`store.canonical` (or refuses one that does not match),
  then moves the head. Two writers can therefore never fork a community's chain, and the counter
  appends in one statement.
* **Gapless serials.** The same trigger gives a stamp the community's next 证明第N号 of the year
  (``max + 1``) and refuses any other; a unique index refuses reuse.
* **The derived index.** ``matters`` (state, item, dates, searched names) is written by an
  ``AFTER INSERT`` trigger in the insert's transaction, as in SQLite; the same trigger adds a
  batch to ``grams`` (one- and two-character n-grams for Chinese search, a row per n-gram and
  batch) at every ``store._GRAMS_EVERY``-th record of a community, and search reads the matters
  after the community's mark (``heads.grams``) from their texts. ``verify`` rebuilds and compares
  both.

The trigger functions are ``SECURITY DEFINER`` (they run as the schema's owner): the
application role writes ``heads``, ``matters`` and ``grams`` only through them.

An action (approve, stamp, file, void) first takes a transaction-level advisory lock keyed on
the community's name, so that its guard (not yet stamped, approved by someone else…) reads the
matter's state after every other action of the community has committed.

Set-up (the county's database administrator, once, as the owner role)::

    sealdesk county setup --url postgresql://owner@db/sealdesk --app-role sealdesk_app

Community names are the key: a county's communities need distinct names (e.g. 城关镇幸福社区).
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Callable, Iterator

from sealdesk.core.register import store
from sealdesk.core.register.store import (GENESIS, KINDS, MATTER_COLUMNS, SEARCHED, Problem, Record, RegisterError,
                                          VerifyResult, _matching, body_text, now, verify_chain)

SCHEMA = "sealdesk"
SCHEMA_VERSION = 2  # 2: search n-grams by batch (heads.grams, grams.batch/seqs)
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

_STATE = ("CASE WHEN void IS NOT NULL THEN 'voided' WHEN outcome = 'refuse' THEN 'refused' "
          "WHEN outcome = 'commitment' THEN 'commitment' WHEN approve IS NULL THEN 'awaiting_approval' "
          "WHEN stamp IS NULL THEN 'awaiting_stamp' WHEN file IS NULL THEN 'stamped' ELSE 'filed' END")


def _from_record(r: str, b: str = "") -> str:
    """The matters columns a matter record gives, from ``at`` to ``verifiable`` (``r`` a records row,
    ``b`` its body already parsed, if it is).

    The body is read as ``jsonb``: parsed once, where each operator on ``json`` parses the text again
    (the citations column is then jsonb's text of them; it only groups the inventory's rows)."""
    b = b or f"({r}.body::jsonb)"
    return (f"{r}.at, substr({r}.at, 1, 10), {r}.outcome, {r}.item, {r}.list, "
            f"{b} #>> '{{decision,query}}', {b} #>> '{{decision,item,name}}', "
            f"{b} #>> '{{decision,purpose}}', {b} #>> '{{decision,requester}}', "
            f"{b} #>> '{{resident,name}}', ({b} #> '{{decision,citations}}')::text, "
            f"{b} #>> '{{decision,facts,verifiable}}'")


# The bytes a record's hash covers, as store.canonical makes them: the columns but ``body`` as a
# compact JSON array (to_json escapes strings as Python's json does with ensure_ascii=False), a
# newline, then ``body`` as stored. Written out in the trigger (a SQL function taking the row
# costs a fifth of an append).
_CANONICAL = ("'[' || concat_ws(',', " + ", ".join(
    f"coalesce(to_json(NEW.{c})::text, 'null')" for c in ("seq", "kind", "ref", "at", "actor", "role", "community",
                                                        "year", "serial", "outcome", "item", "list", "grounds", "prev"))
    + ") || ']' || E'\\n' || NEW.body")

_DDL = f"""
CREATE SCHEMA {SCHEMA};
SET LOCAL search_path = {SCHEMA}, pg_catalog;
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE communities (
    name         text PRIMARY KEY,
    township     text NOT NULL DEFAULT '',
    county       text NOT NULL DEFAULT '',
    jurisdiction text NOT NULL DEFAULT '',
    created      text NOT NULL
);
-- Each community's chain head, moved only by the insert trigger, and the record up to which its
-- matters are in ``grams`` (search reads the matters after it from their texts).
CREATE TABLE heads (community text PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL,
                    grams bigint NOT NULL DEFAULT 0);
-- The columns in the order of store.COLUMNS, so a row is a store.Record.
CREATE TABLE records (
    seq bigint NOT NULL, kind text NOT NULL, ref bigint, at text NOT NULL, actor text NOT NULL,
    role text NOT NULL, community text NOT NULL, year integer, serial integer, outcome text, item text,
    list text, grounds text, body text NOT NULL, prev text NOT NULL, hash text NOT NULL,
    PRIMARY KEY (community, seq),
    CHECK (kind IN ({", ".join(f"'{k}'" for k in KINDS)}))
);
CREATE UNIQUE INDEX records_serial ON records (community, year, serial) WHERE serial IS NOT NULL;
CREATE UNIQUE INDEX records_once ON records (community, ref, kind) WHERE kind IN ('approve', 'stamp', 'file', 'void');
CREATE INDEX records_ref ON records (community, ref) WHERE ref IS NOT NULL;
CREATE INDEX records_paper ON records (((body::json) ->> 'sha256')) WHERE kind = 'paper';
CREATE TABLE matters (
    community text NOT NULL, seq bigint NOT NULL, number bigint NOT NULL, at text NOT NULL, day text NOT NULL,
    outcome text, item text, list text, query text, item_name text, purpose text, requester text,
    resident text, cites text, verifiable text,
    approve bigint, approver text, stamp bigint, file bigint, void bigint, state text NOT NULL,
    PRIMARY KEY (community, seq)
);
CREATE UNIQUE INDEX matters_number ON matters (community, number);
CREATE INDEX matters_state ON matters (community, state, seq);
CREATE INDEX matters_day ON matters (community, day, seq);
CREATE INDEX matters_county_day ON matters (day) INCLUDE (community, outcome, void);
-- Search's n-grams by batch, as in a register file: for each batch of a community's matters (``batch``
-- the record up to which it reaches) and each n-gram of their texts, the matters that have it
-- (``seqs``, ascending, space separated). A batch is written every {store._GRAMS_EVERY} records of the
-- community: a row per matter and n-gram was most of the index trigger's cost.
CREATE TABLE grams (community text NOT NULL, gram text NOT NULL, batch bigint NOT NULL, seqs text NOT NULL,
                    PRIMARY KEY (community, gram, batch));

-- Every one- and two-character substring of the texts (as store.grams_of).
CREATE FUNCTION grams_of(texts text[]) RETURNS SETOF text LANGUAGE sql IMMUTABLE AS $$
    SELECT DISTINCT substr(t, i, n) FROM unnest(texts) AS t, generate_series(1, length(t)) AS i,
           (VALUES (1), (2)) AS v(n)
     WHERE t IS NOT NULL AND i + n - 1 <= length(t)
$$;

-- The batch of a community's matters after its mark up to record ``upto``; the mark moves to ``upto``.
CREATE FUNCTION index_tail(c text, upto bigint) RETURNS void LANGUAGE sql AS $$
    INSERT INTO grams
    SELECT c, g, upto, string_agg(m.seq::text, ' ' ORDER BY m.seq)
      FROM matters m, grams_of(ARRAY[{", ".join("m." + c for c in SEARCHED)}]) AS g
     WHERE m.community = c AND m.seq > (SELECT h.grams FROM heads h WHERE h.community = c) AND m.seq <= upto
     GROUP BY g;
    UPDATE heads SET grams = upto WHERE community = c;
$$;

CREATE FUNCTION records_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'sealdesk: the register is append-only (% refused)', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER records_frozen BEFORE UPDATE OR DELETE ON records FOR EACH ROW EXECUTE FUNCTION records_frozen();
CREATE TRIGGER records_frozen_truncate BEFORE TRUNCATE ON records FOR EACH STATEMENT EXECUTE FUNCTION records_frozen();

-- The chain, kept by the database: a record gets (or must have) the community's next ``seq``, the
-- head's hash as ``prev``, for a stamp the year's next serial, and the hash of its canonical bytes.
-- An advisory lock on the community's name serialises its writers; other communities' do not wait.
CREATE FUNCTION records_chain() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {SCHEMA}, pg_catalog AS $$
DECLARE
    h heads%ROWTYPE;
    want integer;
    computed text;
BEGIN
    -- The community's writers' lock (in memory: cheaper than a row lock, which is written to the WAL).
    PERFORM pg_advisory_xact_lock(hashtextextended('sealdesk:' || NEW.community, 0));
    SELECT * INTO h FROM heads WHERE community = NEW.community;
    IF NOT FOUND THEN
        INSERT INTO heads VALUES (NEW.community, 0, '{GENESIS}');
        h.seq := 0;
        h.hash := '{GENESIS}';
    END IF;
    IF NEW.seq IS NULL THEN
        NEW.seq := h.seq + 1;
        NEW.prev := h.hash;
    ELSIF NEW.seq <> h.seq + 1 OR NEW.prev IS DISTINCT FROM h.hash THEN
        RAISE EXCEPTION 'sealdesk: record % of % does not follow the chain head %', NEW.seq, NEW.community, h.seq
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.serial IS NOT NULL OR (NEW.kind = 'stamp' AND NEW.year IS NOT NULL) THEN
        SELECT coalesce(max(serial), 0) + 1 INTO want FROM records
         WHERE community = NEW.community AND year = NEW.year AND serial IS NOT NULL;
        IF NEW.serial IS NULL THEN
            NEW.serial := want;
        ELSIF NEW.serial <> want THEN
            RAISE EXCEPTION 'sealdesk: serial % of % in % is not the next one (%)', NEW.serial, NEW.community,
                NEW.year, want USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF NEW.ref IS NOT NULL AND NOT EXISTS (SELECT 1 FROM records WHERE community = NEW.community
                                            AND seq = NEW.ref AND kind = 'matter') THEN
        RAISE EXCEPTION 'sealdesk: record % of % refers to %, which is not a matter', NEW.seq, NEW.community, NEW.ref
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    computed := encode(sha256(convert_to({_CANONICAL}, 'UTF8')), 'hex');
    IF NEW.hash IS NULL THEN
        NEW.hash := computed;
    ELSIF NEW.hash <> computed THEN
        RAISE EXCEPTION 'sealdesk: record % of % does not hash to its hash', NEW.seq, NEW.community
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    UPDATE heads SET seq = NEW.seq, hash = NEW.hash WHERE community = NEW.community;
    RETURN NEW;
END $$;
CREATE TRIGGER records_chain BEFORE INSERT ON records FOR EACH ROW EXECUTE FUNCTION records_chain();

CREATE FUNCTION records_index() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER
SET search_path = {SCHEMA}, pg_catalog AS $$
DECLARE
    b jsonb;  -- the body parsed once, not once per column
BEGIN
    IF NEW.kind = 'matter' THEN
        b := NEW.body::jsonb;
        INSERT INTO matters (community, seq, number, at, day, outcome, item, list, query, item_name, purpose,
                             requester, resident, cites, verifiable, state)
        SELECT NEW.community, NEW.seq,
               (SELECT coalesce(max(number), 0) + 1 FROM matters WHERE community = NEW.community),
               {_from_record("NEW", "b")},
               CASE NEW.outcome WHEN 'refuse' THEN 'refused' WHEN 'commitment' THEN 'commitment'
                                ELSE 'awaiting_approval' END;
    ELSIF NEW.kind IN ('approve', 'stamp', 'file', 'void') THEN
        UPDATE matters SET approve = CASE NEW.kind WHEN 'approve' THEN NEW.seq ELSE approve END,
                           approver = CASE NEW.kind WHEN 'approve' THEN NEW.actor ELSE approver END,
                           stamp = CASE NEW.kind WHEN 'stamp' THEN NEW.seq ELSE stamp END,
                           file = CASE NEW.kind WHEN 'file' THEN NEW.seq ELSE file END,
                           void = CASE NEW.kind WHEN 'void' THEN NEW.seq ELSE void END
         WHERE community = NEW.community AND seq = NEW.ref;
        UPDATE matters SET state = {_STATE} WHERE community = NEW.community AND seq = NEW.ref;
    END IF;
    IF NEW.seq % {store._GRAMS_EVERY} = 0 THEN
        PERFORM index_tail(NEW.community, NEW.seq);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER records_index AFTER INSERT ON records FOR EACH ROW EXECUTE FUNCTION records_index();
"""


def _rebuilt(cond: str, acts: str = "true") -> str:
    """``matters`` as the records say it should be, for the matter records matching ``cond`` (and
    action records matching ``acts``): what verify compares and reindex writes. Numbers count per
    community in chain order. A matter has at most one action of each kind (``records_once``), so
    the actions are one grouped join, not a lookup per matter."""
    a = "a.kind = '{k}' AND a.seq > a.ref"
    return (f"SELECT {', '.join(MATTER_COLUMNS[:-1])}, {_STATE} AS state FROM ("
            "SELECT r.seq, r.community, row_number() OVER (PARTITION BY r.community ORDER BY r.seq) AS number, "
            "x.at, x.day, x.outcome, x.item, x.list, x.query, x.item_name, x.purpose, x.requester, x.resident, "
            "x.cites, x.verifiable, act.approve, act.approver, act.stamp, act.file, act.void "
            # The body parsed once per matter (OFFSET 0 keeps the planner from copying the cast into
            # each of the columns that read it).
            "FROM records r CROSS JOIN LATERAL (SELECT r.body::jsonb AS b OFFSET 0) AS j "
            "CROSS JOIN LATERAL (SELECT " + _from_record("r", "j.b") + ") AS x(at, day, outcome, item, "
            "list, query, item_name, purpose, requester, resident, cites, verifiable) "
            "LEFT JOIN (SELECT a.community, a.ref, "
            f"max(a.seq) FILTER (WHERE {a.format(k='approve')}) AS approve, "
            f"max(a.actor) FILTER (WHERE {a.format(k='approve')}) AS approver, "
            f"max(a.seq) FILTER (WHERE {a.format(k='stamp')}) AS stamp, "
            f"max(a.seq) FILTER (WHERE {a.format(k='file')}) AS file, "
            f"max(a.seq) FILTER (WHERE {a.format(k='void')}) AS void "
            f"FROM records a WHERE a.ref IS NOT NULL AND {acts} GROUP BY a.community, a.ref) AS act "
            "ON act.community = r.community AND act.ref = r.seq "
            f"WHERE {cond} AND r.kind = 'matter') AS t")


_REBUILT = _rebuilt("r.community = %(c)s", "a.community = %(c)s")
_TEXTS = "grams_of(ARRAY[" + ", ".join("m." + c for c in SEARCHED) + "]) AS g"
# ``grams`` as a rebuild writes it: batches every _GRAMS_EVERY records of a community, the last one
# ending at its head (``heads`` must hold the heads already).
_GRAMS_BATCHED = (
    "SELECT m.community, g, least((m.seq + {n} - 1) / {n} * {n}, h.seq) AS batch, "
    "string_agg(m.seq::text, ' ' ORDER BY m.seq) FROM matters m JOIN heads h ON h.community = m.community, "
    + _TEXTS + " WHERE {cond} GROUP BY m.community, g, 3")
# ``grams`` as the community's matters say it should be, given the batches it holds (the record each
# ends at) and the mark: what verify compares.
_GRAMS_EXPECTED = (
    "WITH mark AS (SELECT coalesce((SELECT grams FROM heads WHERE community = %(c)s), 0) AS upto), "
    "keys AS (SELECT DISTINCT batch FROM grams WHERE community = %(c)s AND batch <= (SELECT upto FROM mark) "
    "UNION SELECT upto FROM mark), "
    "ranges AS (SELECT batch, coalesce(lag(batch) OVER (ORDER BY batch), 0) AS lo FROM keys) "
    "SELECT g, r.batch, string_agg(m.seq::text, ' ' ORDER BY m.seq) FROM ranges r "
    "JOIN matters m ON m.community = %(c)s AND m.seq > r.lo AND m.seq <= r.batch, " + _TEXTS
    + " GROUP BY g, r.batch")


def _batched(cond: str) -> str:
    return _GRAMS_BATCHED.format(n=store._GRAMS_EVERY, cond=cond)


def _ddl_part(head: str, end: str) -> str:
    """One statement of the schema's DDL, from ``head`` to ``end`` (what an upgrade creates anew)."""
    i = _DDL.index(head)
    return _DDL[i:_DDL.index(end, i) + len(end)]


# Schema 1 to 2: the n-grams become rows per batch (the table keeps its grants), the trigger writes
# batches, and the n-grams are rebuilt up to each community's head.
_UPGRADES = {1: [
    "ALTER TABLE heads ADD COLUMN grams bigint NOT NULL DEFAULT 0",
    "TRUNCATE grams",
    "ALTER TABLE grams DROP CONSTRAINT grams_pkey, DROP COLUMN seq, ADD COLUMN batch bigint NOT NULL, "
    "ADD COLUMN seqs text NOT NULL, ADD PRIMARY KEY (community, gram, batch)",
    _ddl_part("CREATE FUNCTION index_tail", "\n$$;"),
    _ddl_part("CREATE FUNCTION records_index", "END $$;").replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION"),
    "UPDATE heads SET grams = seq",
    f"INSERT INTO grams {_batched('true')}",
]}


def reindex_county(url: str) -> dict:
    """Rebuild every community's derived tables and heads from the records (the owner, after a bulk
    load or a restore): set-based, with the n-grams' key built after their rows."""
    import psycopg

    conn = _connect(url)
    try:
        with conn.transaction():
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            conn.execute("TRUNCATE matters, grams, heads")
            conn.execute(f"INSERT INTO matters ({', '.join(MATTER_COLUMNS)}) {_rebuilt('true')}")
            conn.execute("INSERT INTO heads SELECT DISTINCT ON (community) community, seq, hash, seq FROM records "
                         "ORDER BY community, seq DESC")
            conn.execute("ALTER TABLE grams DROP CONSTRAINT grams_pkey")
            conn.execute(f"INSERT INTO grams {_batched('true')}")
            conn.execute("ALTER TABLE grams ADD PRIMARY KEY (community, gram, batch)")
            conn.execute("INSERT INTO communities (name, created) SELECT community, min(at) FROM records "
                         "GROUP BY community ON CONFLICT (name) DO NOTHING")
        counts = conn.execute("SELECT (SELECT count(*) FROM matters), (SELECT count(*) FROM grams), "
                              "(SELECT count(*) FROM heads)").fetchone()
        conn.execute("ANALYZE")
    except psycopg.errors.InsufficientPrivilege:
        raise RegisterError("重建县登记簿的索引需要数据库所有者的权限") from None
    except psycopg.Error as exc:
        raise RegisterError(f"重建县登记簿的索引失败：{_first_line(exc)}") from None
    finally:
        conn.close()
    return {"matters": counts[0], "grams": counts[1], "communities": counts[2]}


_INSERT = ("INSERT INTO records (kind, ref, at, actor, role, community, year, outcome, item, list, grounds, body) "
           "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING seq, serial, prev, hash")


def _connect(url: str):
    try:
        import psycopg
    except ImportError:  # pragma: no cover - a dependency of the package
        raise RegisterError("未安装 psycopg，无法连接 PostgreSQL 登记簿（pip install 'psycopg[binary]'）") from None
    try:
        return psycopg.connect(url, autocommit=True, connect_timeout=30,
                               options=f"-c search_path={SCHEMA},pg_catalog")
    except psycopg.Error as exc:
        raise RegisterError(f"无法连接 PostgreSQL 登记簿：{_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    # psycopg messages carry the server's detail lines; the first says what happened, and a
    # connection string (with a password, perhaps) is never in it.
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _upgrade(conn) -> bool:
    """Bring an existing schema up to SCHEMA_VERSION (in the caller's transaction); whether it was older."""
    row = conn.execute(f"SELECT value FROM {SCHEMA}.meta WHERE key = 'schema'").fetchone()
    version = int(row[0]) if row else SCHEMA_VERSION
    if version >= SCHEMA_VERSION:
        return False
    conn.execute(f"SET LOCAL search_path = {SCHEMA}, pg_catalog")
    for v in range(version, SCHEMA_VERSION):
        for stmt in _UPGRADES[v]:
            conn.execute(stmt)
    conn.execute("UPDATE meta SET value = %s WHERE key = 'schema'", (str(SCHEMA_VERSION),))
    return True


def install(url: str, app_role: str = "") -> str:
    """Create the register's schema in the database at ``url`` (connected as its owner) and grant
    ``app_role`` what the counter needs: read everything, insert records, nothing else.

    Returns ``"created"``, ``"upgraded"`` (an older schema brought up to date, every record kept) or
    ``"present"``; the grants are applied in each case."""
    import psycopg

    if app_role and not _ROLE.match(app_role):
        raise RegisterError(f"角色名 {app_role!r} 不合规（小写字母、数字和下划线）")
    conn = _connect(url)
    try:
        with conn.transaction():
            exists = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone()
            if not exists:
                conn.execute(_DDL)
                conn.execute(f"INSERT INTO {SCHEMA}.meta VALUES ('schema', %s), ('created', %s)",
                             (str(SCHEMA_VERSION), now().isoformat()))
                state = "created"
            else:
                state = "upgraded" if _upgrade(conn) else "present"
            if app_role:
                s = SCHEMA
                conn.execute(f"GRANT USAGE ON SCHEMA {s} TO {app_role}")
                conn.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {s} TO {app_role}")
                conn.execute(f"GRANT INSERT ON {s}.records TO {app_role}")
                conn.execute(f"GRANT INSERT, UPDATE (township, county, jurisdiction) ON {s}.communities TO {app_role}")
                conn.execute(f"REVOKE UPDATE, DELETE, TRUNCATE ON {s}.records, {s}.matters, {s}.grams, {s}.heads, "
                             f"{s}.meta FROM {app_role}")
                conn.execute(f"REVOKE DELETE, TRUNCATE ON {s}.communities FROM {app_role}")
        return state
    except psycopg.Error as exc:
        raise RegisterError(f"建立 PostgreSQL 登记簿结构失败：{_first_line(exc)}") from None
    finally:
        conn.close()


def _check_schema(conn, url_label: str) -> None:
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone() if conn.execute(
        "SELECT 1 FROM pg_namespace WHERE nspname = %s", (SCHEMA,)).fetchone() else None
    if row is None:
        raise RegisterError(f"PostgreSQL 数据库 {url_label} 中尚未建立 sealdesk 登记簿：请县局管理员运行 "
                            "sealdesk county setup --url …（以数据库所有者身份）")
    if int(row[0]) > SCHEMA_VERSION:
        raise RegisterError(f"PostgreSQL 登记簿由更新版本的 sealdesk 建立（结构版本 {row[0]}，本程序支持 "
                            f"{SCHEMA_VERSION}），请升级 sealdesk")
    if int(row[0]) < SCHEMA_VERSION:
        raise RegisterError(f"PostgreSQL 登记簿的结构版本 {row[0]} 需要升级到 {SCHEMA_VERSION}：请县局管理员以数据库"
                            "所有者身份运行 sealdesk county setup --url …（升级时保留全部记录）")


def url_label(url: str) -> str:
    """The URL without its password, for messages."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", url)


class PgRegister:
    """One community's register in a county's PostgreSQL database (see the module doc).

    The same calls as :class:`~sealdesk.core.register.store.Register`; record numbers (``seq``)
    are the community's own, 1..n. Not shared between threads: open one per thread.
    """

    backend = "postgresql"

    def __init__(self, url: str, *, community: str, township: str = "", county: str = "", jurisdiction: str = ""):
        import psycopg

        self.url = url
        self.path = url_label(url)  # what messages show where a file register shows its path
        self.community = community
        self.conn = _connect(url)
        try:
            _check_schema(self.conn, self.path)
            known = self.conn.execute("SELECT township, county, jurisdiction FROM communities WHERE name = %s",
                                      (community,)).fetchone()
            if known is None:
                self.conn.execute("INSERT INTO communities VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name) DO NOTHING",
                                  (community, township, county, jurisdiction, now().isoformat()))
            elif jurisdiction and known != (township, county, jurisdiction):
                # The community's configuration moved on (切换辖区, a renamed township): the county's
                # reports group it as configured now.
                self.conn.execute("UPDATE communities SET township = %s, county = %s, jurisdiction = %s "
                                  "WHERE name = %s", (township, county, jurisdiction, community))
        except psycopg.Error as exc:
            self.conn.close()
            raise RegisterError(f"打开 PostgreSQL 登记簿失败：{_first_line(exc)}") from None
        except BaseException:
            self.conn.close()
            raise
        self._lock_key = f"sealdesk:{community}"

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _q(self, sql: str, params: tuple | dict = ()):
        import psycopg

        if self.conn.broken or self.conn.closed:  # the server restarted, or the network dropped: once more
            self.conn = _connect(self.url)
        try:
            return self.conn.execute(sql, params)
        except psycopg.Error as exc:
            raise RegisterError(f"读取 PostgreSQL 登记簿失败：{_first_line(exc)}") from None

    # -- reading -------------------------------------------------------------------
    def get(self, seq: int) -> Record | None:
        row = self._q("SELECT * FROM records WHERE community = %s AND seq = %s", (self.community, seq)).fetchone()
        return Record(*row) if row else None

    def related(self, seq: int) -> list[Record]:
        return [Record(*r) for r in self._q("SELECT * FROM records WHERE community = %s AND ref = %s ORDER BY seq",
                                            (self.community, seq))]

    def related_many(self, seqs: list[int]) -> dict[int, list[Record]]:
        out: dict[int, list[Record]] = {s: [] for s in seqs}
        for row in self._q("SELECT * FROM records WHERE community = %s AND ref = ANY(%s) ORDER BY seq",
                           (self.community, list(seqs))):
            out[row[2]].append(Record(*row))
        return out

    def records_at(self, seqs) -> dict[int, Record]:
        return {row[0]: Record(*row) for row in self._q(
            "SELECT * FROM records WHERE community = %s AND seq = ANY(%s)", (self.community, list(seqs)))}

    def latest(self, kind: str, limit: int) -> list[Record]:
        return [Record(*r) for r in self._q(
            "SELECT * FROM records WHERE community = %s AND kind = %s ORDER BY seq DESC LIMIT %s",
            (self.community, kind, limit))]

    @contextmanager
    def _snapshot(self):
        """A read-only repeatable-read transaction: every query in it sees one snapshot, as a SQLite
        WAL reader does (verify reads the chain, the head and the index from the same moment).
        Inside another transaction (a writer's guard), that one's view is used."""
        from psycopg.pq import TransactionStatus

        if self.conn.info.transaction_status != TransactionStatus.IDLE:  # already in a transaction
            yield
            return
        with self.conn.transaction():
            self.conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield

    def _stream(self, sql: str, params: tuple) -> Iterator[tuple]:
        """Rows of a long query through a server-side cursor (constant memory), in one snapshot."""
        import psycopg

        try:
            with self._snapshot(), self.conn.cursor(name=f"sealdesk_stream_{id(sql)}") as cur:
                cur.itersize = 5000
                cur.execute(sql, params)
                yield from cur
        except psycopg.Error as exc:
            raise RegisterError(f"读取 PostgreSQL 登记簿失败：{_first_line(exc)}") from None

    def records(self, start: int = 1, kinds: tuple[str, ...] | None = None) -> Iterator[Record]:
        sql = "SELECT * FROM records WHERE community = %s AND seq >= %s"
        params: tuple = (self.community, start)
        if kinds:
            sql += " AND kind = ANY(%s)"
            params += (list(kinds),)
        for row in self._stream(sql + " ORDER BY seq", params):
            yield Record(*row)

    def papers_by_hash(self, sha256: str) -> list[Record]:
        return [Record(*r) for r in self._q(
            "SELECT * FROM records WHERE kind = 'paper' AND (body::json) ->> 'sha256' = %s AND community = %s "
            "ORDER BY seq", (sha256, self.community))]

    def rows(self) -> Iterator[tuple]:
        return self._stream("SELECT * FROM records WHERE community = %s ORDER BY seq", (self.community,))

    def grouped_rows(self) -> Iterator[tuple]:
        """As ``Register.grouped_rows``: matter by matter, streamed (the server sorts)."""
        return self._stream("SELECT seq, kind, ref, at, actor, role, community, year, serial, outcome, list, grounds, "
                            "CASE WHEN kind = 'matter' THEN (body::json) #>> '{decision,jurisdiction}' END "
                            "FROM records WHERE community = %s ORDER BY coalesce(ref, seq), seq", (self.community,))

    def serial_rows(self) -> Iterator[tuple]:
        return self._stream("SELECT community, year, serial, seq FROM records WHERE community = %s "
                            "AND serial IS NOT NULL AND kind = 'stamp' ORDER BY community, year, serial, seq", (self.community,))

    def count(self) -> int:
        return self._q("SELECT count(*) FROM records WHERE community = %s", (self.community,)).fetchone()[0]

    def head(self) -> tuple[int, str]:
        row = self._q("SELECT seq, hash FROM records WHERE community = %s ORDER BY seq DESC LIMIT 1",
                      (self.community,)).fetchone()
        return (row[0], row[1]) if row else (0, GENESIS)

    def meta(self) -> dict[str, str]:
        out = dict(self._q("SELECT key, value FROM meta").fetchall())
        head = self._q("SELECT seq, hash FROM heads WHERE community = %s", (self.community,)).fetchone()
        out["head"] = f"{head[0]} {head[1]}" if head else f"0 {GENESIS}"
        out["community"] = self.community
        return out

    # -- the matters index ---------------------------------------------------------------
    def matter_seq(self, number: int, community: str) -> int | None:
        if number > 2 ** 62 or number < -(2 ** 62):  # bigint: a number past it is no matter
            return None
        row = self._q("SELECT seq FROM matters WHERE community = %s AND number = %s",
                      (self.community, number)).fetchone()
        return row[0] if row else None

    def numbers(self, seqs) -> dict[int, int]:
        return dict(self._q("SELECT seq, number FROM matters WHERE community = %s AND seq = ANY(%s)",
                            (self.community, list(seqs))).fetchall())

    def matter_rows(self, after: int, limit: int, day: tuple[str, str] | None = None) -> list[tuple[int, int]]:
        cond, params = ("AND day BETWEEN %s AND %s ", day) if day else ("", ())
        return self._q(f"SELECT seq, number FROM matters WHERE community = %s AND seq > %s {cond}"
                       "ORDER BY seq LIMIT %s", (self.community, after, *params, limit)).fetchall()

    def find(self, states: tuple[str, ...] | None, search: str, limit: int | None,
             before: int | None = None) -> list[tuple[int, int]]:
        where, params = ["m.community = %s"], [self.community]
        if states:
            where.append("m.state = ANY(%s)")
            params.append(list(states))
        if before is not None:  # the next page: matters below the last row's record (Register.find)
            where.append("m.seq < %s")
            params.append(before)
        if not search:
            sql = "SELECT m.seq, m.number FROM matters m WHERE " + " AND ".join(where) + " ORDER BY m.seq DESC"
            if limit:
                sql += " LIMIT %s"
                params.append(limit)
            return self._q(sql, tuple(params)).fetchall()
        # As in a register file (Register.find): the matters after the community's mark from their
        # texts, then the batches' n-grams newest first; one snapshot for both.
        texts = ", ".join("m." + c for c in SEARCHED)
        cond = " AND ".join(where)
        grams = [search] if len(search) <= 2 else list(dict.fromkeys(search[i:i + 2] for i in range(len(search) - 1)))
        with self._snapshot():
            row = self._q("SELECT grams FROM heads WHERE community = %s", (self.community,)).fetchone()
            indexed = row[0] if row else 0
            tail = self._q(f"SELECT m.seq, m.number, {texts} FROM matters m WHERE {cond} AND m.seq > %s "
                           "ORDER BY m.seq DESC", (*params, indexed))
            rows = _matching(tail, search, limit, always=True)
            if limit and len(rows) >= limit:
                return rows
            postings = self._q("SELECT batch, seqs FROM grams WHERE community = %s AND gram = ANY(%s) AND batch <= %s "
                               "ORDER BY batch DESC", (self.community, grams, indexed)).fetchall()
            upto = indexed if before is None else min(indexed, before - 1)  # a next page: below ``before``
            matches = store.batch_matches(postings, len(grams), upto)
            while True:
                try:
                    seqs = next(matches, None)
                except ValueError:
                    raise RegisterError(f"{self.path} 中 {self.community} 的搜索索引（grams 表）已损坏，无法搜索；"
                                        "记录本身不受影响，请县局管理员运行 sealdesk register verify 检查并重建索引") from None
                if seqs is None:
                    break
                cursor = self._q(f"SELECT m.seq, m.number, {texts} FROM matters m WHERE {cond} AND m.seq = ANY(%s) "
                                 "ORDER BY m.seq DESC", (*params, seqs))
                rows += _matching(cursor, search, limit - len(rows) if limit else None)
                if limit and len(rows) >= limit:
                    break
            return rows

    def inventory(self, start: str, end: str) -> tuple[dict[str, int], list[store.InventoryGroup]]:
        """As :meth:`store.Register.inventory`: the same grouped query over the community's matters."""
        period = ("SELECT seq, item, coalesce(item_name, query) AS name, list, outcome, purpose, requester, "
                  "verifiable, cites FROM matters "
                  "WHERE community = %s AND day BETWEEN %s AND %s AND void IS NULL")
        rows = self._q("WITH " + store.inventory_sql(period), (self.community, start, end)).fetchall()
        return store.fold_inventory(rows)

    def reindex(self) -> None:
        """Rebuild the community's derived tables from its records. The application role may not
        (``matters`` and ``grams`` are written only by the triggers): the owner does this."""
        import psycopg

        cols = ", ".join(MATTER_COLUMNS)
        p = {"c": self.community}
        try:
            with self._transaction() as c:
                c.execute("DELETE FROM grams WHERE community = %(c)s", p)
                c.execute("DELETE FROM matters WHERE community = %(c)s", p)
                c.execute(f"INSERT INTO matters ({cols}) {_REBUILT}", p)
                c.execute("UPDATE heads SET grams = seq WHERE community = %(c)s", p)
                c.execute(f"INSERT INTO grams {_batched('m.community = %(c)s')}", p)
        except psycopg.errors.InsufficientPrivilege:
            raise RegisterError("重建 PostgreSQL 登记簿的索引需要数据库所有者的权限，请县局管理员操作") from None

    def check_index(self) -> Problem | None:
        """Compare the community's ``matters`` and ``grams`` with what its records say."""
        cols = ", ".join(MATTER_COLUMNS)
        p = {"c": self.community}
        stored = f"SELECT {cols} FROM matters WHERE community = %(c)s"
        bad = self._q(f"SELECT min(seq) FROM (({stored} EXCEPT ALL {_REBUILT}) UNION ALL "
                      f"({_REBUILT} EXCEPT ALL {stored})) AS d", p).fetchone()[0]
        if bad is not None:
            return self._index_problem(bad, "登记事项索引（matters 表）")
        mark = self._q("SELECT grams, seq FROM heads WHERE community = %(c)s", p).fetchone()
        if mark is not None and not 0 <= mark[0] <= mark[1]:
            return Problem(mark[1], "搜索索引（grams 表）的进度记录（heads 表 grams）与记录不符（记录本身完好，可重建索引）")
        stored = "SELECT gram, batch, seqs FROM grams WHERE community = %(c)s"
        # Each side's rows the other lacks, then the first matter they disagree on (store._first_difference).
        diff = self._q(f"SELECT 'have', * FROM (({stored}) EXCEPT ({_GRAMS_EXPECTED})) AS a UNION ALL "
                       f"SELECT 'want', * FROM (({_GRAMS_EXPECTED}) EXCEPT ({stored})) AS b", p).fetchall()
        if not diff:
            return None
        have = {(g, b): seqs for side, g, b, seqs in diff if side == "have"}
        want = {(g, b): seqs for side, g, b, seqs in diff if side == "want"}
        first = min(b for _, _, b, _ in diff)
        bad = store._first_difference({f"{g}\x00{b}": v for (g, b), v in have.items()},
                                      {f"{g}\x00{b}": v for (g, b), v in want.items()}, first)
        return self._index_problem(bad, "搜索索引（grams 表）")

    def _index_problem(self, seq: int, what: str) -> Problem:
        row = self._q(f"SELECT number FROM ({_REBUILT}) AS r WHERE seq = %(s)s",
                      {"c": self.community, "s": seq}).fetchone()
        which = f"登记号 {row[0]}（第 {seq} 条记录）" if row else f"第 {seq} 条记录"
        return Problem(seq, f"{which}的{what}与记录不符：索引被改动或未随记录写入（记录本身完好，可重建索引）")

    # -- writing -------------------------------------------------------------------
    @contextmanager
    def _transaction(self):
        """The community's writers' lock (an advisory lock, released at commit), in a transaction."""
        with self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (self._lock_key,))
            yield self.conn

    def append(self, kind: str, *, actor: str, role: str, community: str, body: dict, ref: int | None = None,
               outcome: str | None = None, item: str | None = None, list_: str | None = None,
               grounds: str | None = None, serial: bool = False,
               guard: Callable[["PgRegister"], None] | None = None) -> Record:
        """Append one record durably (committed when this returns); see ``Register.append``."""
        import psycopg

        if kind not in KINDS:
            raise ValueError(f"unknown record kind {kind!r}")
        if community != self.community:
            raise RegisterError(f"本登记簿属于 {self.community}，不能写入 {community} 的记录")
        body_json = body_text(body)
        if self.conn.broken or self.conn.closed:
            self.conn = _connect(self.url)
        conn = self.conn
        when = now()
        year = when.year if serial else None
        values = (kind, ref, when.isoformat(), actor, role, community, year, outcome, item, list_, grounds, body_json)
        try:
            if guard is None:
                # One statement, one round trip: the database gives the record its place in the chain,
                # its serial and its hash (records_chain), under the community's head-row lock.
                got = conn.execute(_INSERT, values).fetchone()
            else:
                with self._transaction():
                    guard(self)  # after the lock: the matter's state cannot change under it
                    got = conn.execute(_INSERT, values).fetchone()
        except psycopg.Error as exc:
            raise RegisterError(f"写入登记簿失败：{_first_line(exc)}") from None
        seq, number, prev, h = got
        row = (seq, kind, ref, when.isoformat(), actor, role, community, year, number,
               outcome, item, list_, grounds, body_json, prev)
        return Record(*row, h)

    # -- verification ----------------------------------------------------------------
    def verify(self, index: bool = True) -> VerifyResult:
        """The community's chain, walked as a register file's is, against its head; then the index;
        all from one snapshot (an append meanwhile is neither half-seen nor a false alarm)."""
        import psycopg

        try:
            with self._snapshot():
                return self._verify(index)
        except psycopg.Error as exc:
            return VerifyResult(False, 0, GENESIS, Problem(1, f"读取登记簿时出错：{_first_line(exc)}"))
        except RegisterError as exc:
            return VerifyResult(False, 0, GENESIS, Problem(1, str(exc)))

    def _verify(self, index: bool) -> VerifyResult:
        import psycopg

        def head() -> tuple[int, str]:
            row = self._q("SELECT seq, hash FROM heads WHERE community = %s", (self.community,)).fetchone()
            return (row[0], row[1]) if row else (0, GENESIS)

        return verify_chain(self.rows(), head, self.check_index if index else None, (psycopg.Error, RegisterError),
                            "heads")
