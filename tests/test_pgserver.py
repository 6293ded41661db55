"""The throwaway PostgreSQL server (tests/pgserver.py) and the database features the county register
relies on: separate databases, a role without UPDATE/DELETE, a trigger that blocks even the owner.

Everything runs on a real server (Debian's postgresql, installed by scripts/setup); skipped with
the reason when PostgreSQL or psycopg is not installed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import pgserver

psycopg = pytest.importorskip("psycopg", reason=pgserver.missing() or "psycopg is not installed")
from psycopg import errors, sql  # noqa: E402


@pytest.fixture
def db(pg_server, request):
    """A fresh database named after the test; yields (conninfo, superuser connection in autocommit)."""
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "")[:50]
    conninfo = pg_server.createdb(name)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        yield conninfo, conn


@pytest.fixture
def own_server():
    """A server of the test's own, closed at the end (even when the test stopped it)."""
    server = pgserver.start_or_skip()
    try:
        yield server
    finally:
        server.close()


def _state_uid(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


# -- the server ----------------------------------------------------------------------------------
def test_server_answers_through_psycopg(pg_server):
    with psycopg.connect(pg_server.conninfo) as conn:
        version = conn.execute("SELECT version()").fetchone()[0]
        user, db = conn.execute("SELECT current_user, current_database()").fetchone()
        encoding = conn.execute("SHOW server_encoding").fetchone()[0]
    assert version.startswith("PostgreSQL ")
    assert (user, db) == ("postgres", "postgres")
    assert encoding == "UTF8"
    assert pg_server.running()


def test_only_a_unix_socket_in_its_own_directory(pg_server):
    with pg_server.connect() as conn:
        assert conn.execute("SHOW listen_addresses").fetchone()[0] == ""
        assert conn.execute("SHOW unix_socket_directories").fetchone()[0] == str(pg_server.dir)
        assert conn.execute("SHOW port").fetchone()[0] == str(pg_server.port)
        assert conn.info.host == str(pg_server.dir)
    assert (pg_server.dir / f".s.PGSQL.{pg_server.port}").is_socket()
    assert pg_server.log.is_file()
    assert len(str(pg_server.dir / f".s.PGSQL.{pg_server.port}")) <= pgserver.SOCKET_PATH_MAX


def test_runs_unprivileged(pg_server):
    """initdb and the server refuse root; as root they run as an unprivileged account."""
    uid = _state_uid(pg_server.pid)
    if os.geteuid() == 0:
        assert uid != 0
        assert pg_server.account is not None and uid == pg_server.account.pw_uid
        assert pg_server.dir.stat().st_uid == uid
    else:
        assert uid == os.geteuid() and pg_server.account is None
    assert pg_server.dir.stat().st_mode & 0o777 == 0o700


def test_url_form_reaches_the_same_server(pg_server):
    with psycopg.connect(pg_server.url()) as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == "postgres"


def test_chinese_text_and_trigrams(db):
    """The cluster's C.UTF-8 character classes know CJK: pg_trgm makes trigrams of Chinese names
    (under plain C it drops them all), and text compares by code point."""
    _, conn = db
    assert conn.execute("SELECT %s::text", ("张三丰·居民财产证明",)).fetchone()[0] == "张三丰·居民财产证明"
    conn.execute("CREATE EXTENSION pg_trgm")
    trigrams = conn.execute("SELECT show_trgm('张三丰')").fetchone()[0]
    if conn.execute("SHOW lc_ctype").fetchone()[0] == "C.UTF-8":
        assert len(trigrams) == 4  # "  张", " 张三", "张三丰", "三丰 " (hashed: not ASCII)
    assert conn.execute("SELECT '张' < '李' COLLATE \"C\"").fetchone()[0] == ("张" < "李")


def test_databases_are_independent(pg_server):
    a = pg_server.createdb("indep_a")
    b = pg_server.createdb("indep_b")
    assert a != b
    with psycopg.connect(a, autocommit=True) as ca, psycopg.connect(b, autocommit=True) as cb:
        ca.execute("CREATE TABLE matters (n int, name text)")
        ca.execute("INSERT INTO matters VALUES (1, '张三')")
        with pytest.raises(errors.UndefinedTable):
            cb.execute("SELECT * FROM matters")
        cb.execute("CREATE TABLE matters (n int, name text)")
        cb.execute("INSERT INTO matters VALUES (1, '李四'), (2, '王五')")
        assert ca.execute("SELECT name FROM matters").fetchall() == [("张三",)]
        assert cb.execute("SELECT count(*) FROM matters").fetchone()[0] == 2
        assert ca.execute("SELECT current_database()").fetchone()[0] == "indep_a"
    with pytest.raises(errors.DuplicateDatabase):
        pg_server.createdb("indep_a")


def test_createdb_from_a_template(pg_server):
    """A database prepared once (the register's schema, say) is copied for each test."""
    with psycopg.connect(pg_server.createdb("tmpl_register"), autocommit=True) as conn:
        conn.execute("CREATE TABLE records (seq int PRIMARY KEY, body text)")
        conn.execute("INSERT INTO records VALUES (1, '创世')")
    copy = pg_server.createdb("tmpl_copy", template="tmpl_register")
    with psycopg.connect(copy, autocommit=True) as conn:
        assert conn.execute("SELECT body FROM records").fetchall() == [("创世",)]
        conn.execute("INSERT INTO records VALUES (2, '只在副本')")
    with pg_server.connect("tmpl_register") as conn:
        assert conn.execute("SELECT count(*) FROM records").fetchone()[0] == 1


# -- append-only, enforced in the database -------------------------------------------------------
ENTRIES = """
CREATE TABLE entries (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    body text NOT NULL
)
"""

FORBID = """
CREATE FUNCTION entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'register is append-only: % on entries', TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END
$$;
CREATE TRIGGER entries_no_update_delete BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION entries_append_only();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION entries_append_only();
"""


def _appender(conn, dbname: str) -> None:
    """A login role that may read and append to entries, nothing else."""
    if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = 'pgserver_appender'").fetchone():
        conn.execute("CREATE ROLE pgserver_appender LOGIN")  # roles belong to the cluster, not the database
    conn.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO pgserver_appender").format(sql.Identifier(dbname)))
    conn.execute("GRANT USAGE ON SCHEMA public TO pgserver_appender")
    conn.execute("GRANT SELECT, INSERT ON entries TO pgserver_appender")


def test_role_without_update_delete_can_only_append(pg_server, db):
    conninfo, owner = db
    dbname = owner.execute("SELECT current_database()").fetchone()[0]
    owner.execute(ENTRIES)
    _appender(owner, dbname)
    with pg_server.connect(dbname, user="pgserver_appender", autocommit=True) as clerk:
        assert clerk.execute("SELECT current_user").fetchone()[0] == "pgserver_appender"
        seq = clerk.execute("INSERT INTO entries (body) VALUES ('出具 居民财产证明') RETURNING seq").fetchone()[0]
        clerk.execute("INSERT INTO entries (body) VALUES ('不予出具 无业证明')")
        assert clerk.execute("SELECT seq, body FROM entries ORDER BY seq").fetchall() == [
            (seq, "出具 居民财产证明"), (seq + 1, "不予出具 无业证明")]
        for stmt in ("UPDATE entries SET body = 'x' WHERE seq = 1",
                     "DELETE FROM entries WHERE seq = 1",
                     "TRUNCATE entries",
                     "ALTER TABLE entries DISABLE TRIGGER ALL",  # only the owner may
                     "DROP TABLE entries",
                     "SET session_replication_role = replica"):  # would skip triggers; superuser only
            with pytest.raises(errors.InsufficientPrivilege):
                clerk.execute(stmt)
    assert owner.execute("SELECT count(*) FROM entries").fetchone()[0] == 2


def test_trigger_blocks_update_and_delete_even_for_the_owner(db):
    _, owner = db
    owner.execute(ENTRIES)
    owner.execute(FORBID)
    owner.execute("INSERT INTO entries (body) VALUES ('出具 居住证明'), ('据实出具 亲属关系证明')")
    for stmt in ("UPDATE entries SET body = '改' WHERE seq = 1",
                 "DELETE FROM entries WHERE seq = 2",
                 "DELETE FROM entries",
                 "TRUNCATE entries"):
        with pytest.raises(errors.IntegrityConstraintViolation, match="append-only"):
            owner.execute(stmt)
    assert owner.execute("SELECT body FROM entries ORDER BY seq").fetchall() == [
        ("出具 居住证明",), ("据实出具 亲属关系证明",)]
    # appending still works, and a failed UPDATE inside a transaction rolls the whole transaction back
    owner.autocommit = False
    with pytest.raises(errors.IntegrityConstraintViolation):
        with owner.transaction():
            owner.execute("INSERT INTO entries (body) VALUES ('告知承诺 无犯罪记录证明')")
            owner.execute("UPDATE entries SET body = '改'")
    owner.execute("INSERT INTO entries (body) VALUES ('待补充 单身证明')")
    owner.commit()
    assert [b for (b,) in owner.execute("SELECT body FROM entries ORDER BY seq")] == [
        "出具 居住证明", "据实出具 亲属关系证明", "待补充 单身证明"]


# -- stopping ------------------------------------------------------------------------------------
def test_stop_ends_the_server_and_close_removes_its_directory(own_server):
    server = own_server
    pid, where = server.pid, server.dir
    sock = where / f".s.PGSQL.{server.port}"
    with server.connect() as conn:
        conn.execute("CREATE TABLE kept (v text)")
        conn.execute("INSERT INTO kept VALUES ('留')")
    assert server.running() and pgserver._alive(pid) and sock.exists()
    server.stop()
    assert not server.running() and not pgserver._alive(pid)
    assert not sock.exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.conninfo, connect_timeout=3)
    # the same cluster starts again with its data, also after an immediate (crash-like) stop
    server.start()
    with server.connect() as conn:
        conn.execute("INSERT INTO kept VALUES ('再')")
    server.stop(mode="immediate")
    server.start()
    with server.connect() as conn:
        assert {v for (v,) in conn.execute("SELECT v FROM kept")} == {"留", "再"}
    pid = server.pid
    server.close()
    assert not pgserver._alive(pid)
    assert not where.exists()
    server.close()  # twice is fine


def test_two_servers_run_side_by_side(pg_server, own_server):
    assert own_server.dir != pg_server.dir and own_server.pid != pg_server.pid
    with pg_server.connect() as a, own_server.connect() as b:
        a.execute("CREATE TEMP TABLE only_here (v int)")
        with pytest.raises(errors.UndefinedTable):
            b.execute("SELECT * FROM only_here")


def test_a_server_that_cannot_start_reports_its_log():
    if pgserver.missing():
        pytest.skip(pgserver.missing())
    with pytest.raises(pgserver.PgServerError) as caught:
        pgserver.start(settings={"shared_buffers": "lots"})
    message = str(caught.value)
    assert "pg_ctl start failed" in message
    assert "shared_buffers" in message  # the server's own complaint, from server.log
    leftover = Path(message.split("--- ", 1)[1].split("/tools.log", 1)[0])
    assert leftover.name.startswith("sealdesk-pg-") and not leftover.exists()


def test_missing_postgresql_is_named(monkeypatch, tmp_path):
    """Without the binaries, the message says what is missing and how to install it."""
    monkeypatch.setattr(pgserver, "find_bindir", lambda: None)
    message = pgserver.missing()
    assert "initdb" in message and "postgresql" in message and "bash scripts/setup --test" in message
    monkeypatch.delenv("SEALDESK_REQUIRE_POSTGRES", raising=False)
    with pytest.raises(pytest.skip.Exception, match="scripts/setup --test"):
        pgserver.start_or_skip()
    monkeypatch.setenv("SEALDESK_REQUIRE_POSTGRES", "1")
    with pytest.raises(pytest.fail.Exception, match="SEALDESK_REQUIRE_POSTGRES"):
        pgserver.start_or_skip()
