"""A throwaway PostgreSQL server for the tests: ``initdb`` and ``pg_ctl`` in a temporary directory.

The county register (issue 14) keeps its matters in PostgreSQL. Its tests run against a real
server, started here from Debian's ``postgresql`` package (``scripts/setup`` installs it); the
cluster Debian creates on install (``/var/lib/postgresql/…``) is neither used nor touched.

Use the session fixture::

    def test_something(pg_server):
        conninfo = pg_server.createdb("reg_test_something")   # a fresh, empty database
        with psycopg.connect(conninfo) as conn:
            ...

or, for a server of one's own (a crash test that stops it), ``start()`` / ``server.close()``.

How the server is run
  * Binaries: ``$SEALDESK_PG_BINDIR``, else the newest ``/usr/lib/postgresql/<ver>/bin`` (Debian
    keeps ``initdb`` and ``pg_ctl`` there, off ``$PATH``), else ``pg_config --bindir``, else ``$PATH``.
  * ``initdb`` refuses to run as root, and so does the server. As root, both run as an existing
    unprivileged account (``nobody``, or ``$SEALDESK_PG_USER``) through ``subprocess``'s
    ``user=``/``group=``/``extra_groups=[]`` (setuid, setgid, no supplementary groups); the
    temporary directory is created ``0700`` and given to that account. As anyone else, they run as
    the current user.
  * The cluster: ``initdb --auth=trust -U postgres -E UTF8 --locale=C.UTF-8`` (``C`` where
    ``C.UTF-8`` is missing; ``server.locale`` says which). With ``C.UTF-8`` the server's character
    classes know Chinese (``pg_trgm`` makes trigrams of 张三丰; under ``C`` it drops every CJK
    character), while sorting stays code-point order as in SQLite.
  * Reachable only through a Unix socket in the temporary directory (``listen_addresses = ''``, no
    TCP); the port, picked free, only names the socket. Settings go into ``postgresql.conf``, so a
    restart (``stop(mode="immediate")`` then ``start()``: crash recovery) keeps them.
  * ``fsync = off`` and ``full_page_writes = off`` by default: commits still reach the WAL through
    the kernel, so a killed server loses nothing committed; only a power cut would. Override with
    ``start(settings={"fsync": "on"})`` for a benchmark.
  * The server's log is ``<dir>/server.log``; a server that does not start raises
    ``PgServerError`` with its tail.

When PostgreSQL or psycopg is missing, the fixture skips with what is missing and how to install
it (``bash scripts/setup --test``); with ``SEALDESK_REQUIRE_POSTGRES=1`` it fails instead, so a
run that must exercise PostgreSQL cannot pass by skipping.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

SUPERUSER = "postgres"
INSTALL_HINT = "bash scripts/setup --test installs it (Debian's postgresql package and psycopg)"
DEFAULT_SETTINGS = {
    "fsync": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}
SOCKET_PATH_MAX = 100  # sun_path is 108 bytes; the server appends "/.s.PGSQL.<port>"


class PgServerError(RuntimeError):
    """The server could not be initialised, started or stopped (the message has the log tail)."""


# -- finding what is needed ---------------------------------------------------------------------
def _version_key(path: str) -> tuple:
    ver = Path(path).parent.name  # /usr/lib/postgresql/<ver>/bin
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.]", ver))


def find_bindir() -> Path | None:
    """The directory holding ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    candidates: list[str] = []
    if os.environ.get("SEALDESK_PG_BINDIR"):
        candidates.append(os.environ["SEALDESK_PG_BINDIR"])
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, timeout=10)
            if out.returncode == 0:
                candidates.append(out.stdout.strip())
        except (OSError, subprocess.SubprocessError):
            pass
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for cand in candidates:
        d = Path(cand)
        if all(os.access(d / tool, os.X_OK) for tool in ("initdb", "pg_ctl", "postgres")):
            return d
    return None


def missing() -> str | None:
    """What is missing to run a server and talk to it, in words, or None when nothing is."""
    lacks = []
    if find_bindir() is None:
        lacks.append("the PostgreSQL server binaries (initdb, pg_ctl, postgres; "
                     "Debian's postgresql package puts them in /usr/lib/postgresql/<version>/bin)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        lacks.append("the psycopg package (psycopg[binary] >= 3.1) in this Python")
    if not lacks:
        return None
    return "PostgreSQL tests need " + " and ".join(lacks) + "; " + INSTALL_HINT


# -- running as an unprivileged account --------------------------------------------------------
def _run_as() -> pwd.struct_passwd | None:
    """The account initdb and the server run as: None for the current user, an account as root."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("SEALDESK_PG_USER", "nobody")
    try:
        account = pwd.getpwnam(name)
    except KeyError:
        raise PgServerError(f"running as root, and initdb refuses root; the account {name!r} to run "
                            "PostgreSQL as does not exist (set SEALDESK_PG_USER to an unprivileged one)")
    if account.pw_uid == 0:
        raise PgServerError(f"SEALDESK_PG_USER={name!r} is root; initdb refuses root")
    return account


def _traversable_by_others(path: Path) -> bool:
    """Whether every directory from / to ``path`` lets other accounts through (o+x)."""
    for p in [path, *path.parents]:
        try:
            if not p.stat().st_mode & 0o001:
                return False
        except OSError:
            return False
    return True


def _temp_base(account: pwd.struct_passwd | None) -> str:
    base = Path(tempfile.gettempdir())
    too_long = len(str(base)) + len("/sealdesk-pg-xxxxxxxx/.s.PGSQL.65535") > SOCKET_PATH_MAX
    if too_long or (account is not None and not _traversable_by_others(base)):
        return "/tmp"
    return str(base)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _conf_value(value: object) -> str:
    text = str(value)
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, left when the container's init does not reap, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except FileNotFoundError:
        return False
    except OSError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


# -- the server ----------------------------------------------------------------------------------
class PgServer:
    """One throwaway cluster in ``self.dir``: data in ``data/``, its socket and ``server.log`` beside.

    ``conninfo`` reaches the ``postgres`` database as the superuser ``postgres``;
    ``createdb(name)`` makes a fresh database and returns its conninfo;
    ``conninfo_for(dbname, user)`` builds one for any database and role (trust authentication);
    ``stop(mode)`` / ``start()`` stop and start the same cluster; ``close()`` stops it for good and
    removes the directory. ``pid`` is the postmaster's, ``startup_seconds`` how long initdb and the
    start took.
    """

    def __init__(self, bindir: Path, settings: dict[str, object] | None = None):
        self.bindir = bindir
        self.account = _run_as()
        self.dir = Path(tempfile.mkdtemp(prefix="sealdesk-pg-", dir=_temp_base(self.account)))
        os.chmod(self.dir, 0o700)
        if self.account is not None:
            os.chown(self.dir, self.account.pw_uid, self.account.pw_gid)
        self.data = self.dir / "data"
        self.log = self.dir / "server.log"
        self.port = _free_port()
        self.locale = ""
        self.pid: int | None = None
        self.settings = {**DEFAULT_SETTINGS, **(settings or {})}
        self.startup_seconds = 0.0
        self._closed = False

    # connection strings
    @property
    def host(self) -> str:
        return str(self.dir)

    def conninfo_for(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(host=self.host, port=self.port, user=user, dbname=dbname)

    @property
    def conninfo(self) -> str:
        return self.conninfo_for()

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        """The same as a ``postgresql://`` URL (what community.toml's ``[register] url`` holds)."""
        from urllib.parse import quote

        return f"postgresql://{quote(user)}@/{quote(dbname)}?host={quote(self.host, safe='')}&port={self.port}"

    def connect(self, dbname: str = "postgres", user: str = SUPERUSER, **kwargs):
        import psycopg

        return psycopg.connect(self.conninfo_for(dbname, user), **kwargs)

    def createdb(self, name: str, owner: str | None = None, template: str | None = None) -> str:
        """Create the database ``name`` and return a conninfo for it.

        Empty (from template1) unless ``template`` names a database to copy, e.g. one that holds
        the register's schema already. Copied file by file (``STRATEGY FILE_COPY``, PostgreSQL 15+):
        0.06 s a database here against 0.26 s for the default WAL_LOG, with fsync off.
        """
        from psycopg import sql

        with self.connect(autocommit=True) as conn:
            stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if owner:
                stmt += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
            if template:
                stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            if conn.info.server_version >= 150000:
                stmt += sql.SQL(" STRATEGY FILE_COPY")
            conn.execute(stmt)
        return self.conninfo_for(name)

    # processes
    def _run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess:
        """Run a PostgreSQL tool as the server's account; its output goes to ``<dir>/tools.log``."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env["LC_MESSAGES"] = "C"
        drop = {}
        if self.account is not None:
            env["HOME"] = str(self.dir)
            env["USER"] = env["LOGNAME"] = self.account.pw_name
            drop = dict(user=self.account.pw_uid, group=self.account.pw_gid, extra_groups=[])
        # The output goes to a file, not a pipe: the postmaster pg_ctl leaves running must not hold
        # a pipe this process waits on.
        with open(self.dir / "tools.log", "ab") as out:
            if self.account is not None:
                os.fchown(out.fileno(), self.account.pw_uid, self.account.pw_gid)
            out.write(("$ " + " ".join(argv) + "\n").encode())
            out.flush()
            return subprocess.run([str(self.bindir / argv[0]), *argv[1:]], stdin=subprocess.DEVNULL,
                                  stdout=out, stderr=subprocess.STDOUT, env=env, cwd=self.dir,
                                  timeout=timeout, **drop)

    def _fail(self, what: str) -> PgServerError:
        return PgServerError(f"{what}\n--- {self.dir}/tools.log ---\n{_tail(self.dir / 'tools.log')}"
                             f"\n--- {self.log} ---\n{_tail(self.log)}")

    def initdb(self) -> None:
        for locale in ("C.UTF-8", "C"):
            done = self._run("initdb", "-D", str(self.data), "--auth=trust", f"--username={SUPERUSER}",
                             "--encoding=UTF8", f"--locale={locale}", "--no-sync")
            if done.returncode == 0:
                self.locale = locale
                break
            shutil.rmtree(self.data, ignore_errors=True)  # initdb cleans up after itself; be sure
        else:
            raise self._fail("initdb failed")
        lines = ["", "# sealdesk tests (tests/pgserver.py)",
                 "listen_addresses = ''",
                 f"unix_socket_directories = {_conf_value(self.dir)}",
                 f"port = {self.port}",
                 *(f"{k} = {_conf_value(v)}" for k, v in self.settings.items())]
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write("\n".join(lines) + "\n")

    def start(self, timeout: float = 60) -> None:
        """Start the cluster (again) and wait until it accepts connections."""
        started = time.monotonic()
        done = self._run("pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w",
                         "-t", str(int(timeout)), timeout=timeout + 30)
        if done.returncode != 0:
            raise self._fail(f"pg_ctl start failed (exit {done.returncode})")
        try:
            self.pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            raise self._fail("the server started but left no readable postmaster.pid")
        import psycopg

        deadline = time.monotonic() + timeout
        while True:  # pg_ctl -w waited for "ready"; make sure a client gets through
            try:
                with psycopg.connect(self.conninfo, connect_timeout=5) as conn:
                    conn.execute("SELECT 1")
                break
            except psycopg.OperationalError as exc:
                if time.monotonic() > deadline or not _alive(self.pid):
                    raise self._fail(f"the server does not accept connections: {exc}")
                time.sleep(0.05)
        self.startup_seconds += time.monotonic() - started

    def running(self) -> bool:
        return self.pid is not None and _alive(self.pid)

    def stop(self, mode: str = "fast", timeout: float = 60) -> None:
        """``pg_ctl stop -m <mode>`` (fast: clean; immediate: as a crash) and wait until the process is gone."""
        if self.pid is None:
            return
        pid = self.pid
        if _alive(pid):
            done = self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t",
                             str(int(timeout)), timeout=timeout + 30)
            if done.returncode != 0 and _alive(pid):
                os.kill(pid, signal.SIGKILL)  # it would not stop; do not leave it running
        deadline = time.monotonic() + timeout
        while _alive(pid):
            if time.monotonic() > deadline:
                raise self._fail(f"the server (pid {pid}) is still running after pg_ctl stop")
            time.sleep(0.02)
        self.pid = None

    def close(self) -> None:
        """Stop the server and remove its directory; safe to call twice."""
        if self._closed:
            return
        try:
            self.stop()
        finally:
            self._closed = True
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> "PgServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<PgServer {self.dir} port={self.port} pid={self.pid} locale={self.locale}>"


def start(settings: dict[str, object] | None = None) -> PgServer:
    """Initialise and start a new throwaway server; raise PgServerError if PostgreSQL is missing or fails."""
    lack = missing()
    if lack:
        raise PgServerError(lack)
    bindir = find_bindir()
    assert bindir is not None
    server = PgServer(bindir, settings)
    try:
        started = time.monotonic()
        server.initdb()
        server.start()
        server.startup_seconds = time.monotonic() - started
    except BaseException:
        server.close()
        raise
    return server


def start_or_skip(settings: dict[str, object] | None = None) -> PgServer:
    """``start()``, or skip the test when PostgreSQL or psycopg is not installed.

    With ``SEALDESK_REQUIRE_POSTGRES=1`` a missing install fails the test instead. A server that is
    installed but does not start is always an error, never a skip.
    """
    lack = missing()
    if lack:
        if os.environ.get("SEALDESK_REQUIRE_POSTGRES") == "1":
            pytest.fail(lack + " (SEALDESK_REQUIRE_POSTGRES=1)", pytrace=False)
        pytest.skip(lack)
    return start(settings)


@pytest.fixture(scope="session")
def pg_server():
    """One throwaway PostgreSQL server for the whole session; each test makes its own database."""
    server = start_or_skip()
    try:
        yield server
    finally:
        server.close()
