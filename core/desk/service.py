"""The register service: one process owns the register on a shared township server.

Clerks log into the server as different users. ``sealdesk serve`` opens the
register (which only its own user can write) and listens on a Unix socket; for
each connection it reads the caller's uid from the kernel (``SO_PEERCRED``),
so the login a request acts as is the login the caller really has. Nothing a
client sends can change that, except ``as`` in a demo community, which exists
for training and tests.

Protocol: one JSON object per line each way.
Request ``{"op": "approve", "args": {"entry": 12}, "as": null}``;
reply ``{"ok": true, "result": …}`` or
``{"ok": false, "error": {"type": "refused", "message": "…", "reasons": […]}}``.

Concurrency: each connection is served by its own thread with its own
:class:`~sealdesk.core.desk.counter.Desk`, hence its own register connection
(opened at the first request that needs it, closed when the client hangs up);
the community and the plugin registry are shared. There is no lock in the
service: writers queue in the register (its flock, then ``BEGIN IMMEDIATE``)
and, the file being in WAL mode, readers read a snapshot and never wait for a
writer, so a clerk's request is not held up by someone's search or export
(the threads still share the machine's processors and the interpreter: see
``bench/service_bench.py`` for what that costs). ``verify`` and ``audit``
read the whole chain in one snapshot, so that a record appended meanwhile
cannot look like a broken chain.

Replies stay small, whatever the register's size:

* ``export`` is paged: args ``after`` (a record number, the cursor; default 0)
  and ``limit`` (default and at most :data:`PAGE`); the result is
  ``{"rows": [summary, …], "next": <record of the last row, or null when done>}``.
  :meth:`RemoteDesk.export` fetches page after page, so exporting through the
  service streams in constant memory on both sides. Each page is read on its
  own: matters appear once each, in entry order, and one appended during the
  export comes at its end; a page shows its matters' status when it was read.
* ``list`` (newest first, with a status filter or a search) returns at most
  :data:`PAGE` matters per call, also when the client asks for all (``limit``
  null or 0): a screen or a printed list needs no more, and the whole register
  is what ``export`` is for. ``before`` (the ``record`` of a page's last row) gives the next page,
  so a screen can page through a list of any length one page at a time.

Limits, so that nobody who can reach the socket can lock the clerks out or take the
server's memory (issue 15):

* the listen backlog is :data:`BACKLOG` (a burst of clients waits to be accepted
  instead of being refused);
* each peer uid holds at most :data:`PER_USER` connections at once, and callers
  who are not people of the community hold at most :data:`OUTSIDERS` together; a
  further connection gets one error line (``"type": "busy"``) and is closed. So
  the connection threads are at most ``PER_USER`` × the community's people +
  ``OUTSIDERS`` (in a demo community, where anyone may act as anyone, every
  caller counts as one of its people);
* a connection that sends no request for :data:`IDLE_TIMEOUT` seconds (or does
  not take its reply in that time) is closed; :class:`RemoteDesk` notices that
  its kept connection was closed and opens a new one before its next request;
* a request line is read at most :data:`_MAX_LINE` + 1 bytes at a time: a longer
  one gets one error reply and the connection is closed;
* a client that goes away (mid-request or mid-reply) is no error: nothing is
  printed; anything else that goes wrong with a connection is one line on stderr;
* ``info`` gives the staff list (and "you") only to people of the community;
  anyone else who can reach the socket gets the rest (version, community, paths),
  which is what ``sealdesk info`` shows when setting a login up.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import select
import signal
import socket
import socketserver
import stat
import struct
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from sealdesk.core.common.inputs import BadInput, parse_date
from sealdesk.core.engine.plugins import BrokenJurisdiction
from sealdesk.core.papers.fonts import FontError
from sealdesk.core.papers.content import TemplateError
from sealdesk.core.register.community import ConfigError
from sealdesk.core.register.store import Register, RegisterError
from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import Refused

DEFAULT_SOCKET = "/run/sealdesk/register.sock"
_MAX_LINE = 1 << 20  # a request line's bytes, newline included
BACKLOG = 128  # connections waiting to be accepted (the kernel caps it at net.core.somaxconn)
PER_USER = 16  # connections at once per peer uid
OUTSIDERS = 32  # connections at once of all the callers who are not people of the community, together
IDLE_TIMEOUT = 30.0  # seconds a connection may wait for its next request, or take to read its reply
STOP_GRACE = 10.0  # seconds a stopping service waits for requests in progress to finish
PAGE = 500  # matters per export page and per list reply (about 0.5 MB of JSON)

READ_OPS = {"info", "show", "list", "export", "verify", "audit", "allowed", "find_paper", "checkpoint",
            "check_checkpoint"}
WRITE_OPS = {"request", "approve", "stamp", "file", "void", "paper", "report", "clear_alarm"}


class ServiceError(Exception):
    """The service cannot be reached or answered badly; the message is Chinese."""


def peer_login(sock: socket.socket) -> tuple[int, str]:
    creds = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    _pid, uid, _gid = struct.unpack("3i", creds)
    try:
        return uid, pwd.getpwuid(uid).pw_name
    except KeyError:
        return uid, f"uid:{uid}"


BACKGROUND_NICE = 10


def _background() -> None:
    """Lower the priority of this connection's thread for good: an export is a batch job, and on a
    township server's two processors it must not take them from the clerks' requests (Linux
    schedules threads by their own nice value; raising it back would need privileges, and the
    connection is an exporter's anyway)."""
    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
    except (OSError, AttributeError):  # not Linux, or not permitted: only slower for the others
        pass


def is_member(community, login: str) -> bool:
    """Whether ``login`` is one of the community's people, as far as the service's limits and ``info``
    go (every op still checks the person acting). In a demo community anyone may act as anyone."""
    return community.demo or community.person(login) is not None


def _error(kind: str, message: str, reasons=None) -> dict:
    return {"ok": False, "error": {"type": kind, "message": message, "reasons": reasons or []}}


def _count(args: dict, key: str, default: int, least: int) -> int:
    """An integer argument (a cursor or a page size); null is the default."""
    v = args.get(key)
    if v is None:
        return default
    if isinstance(v, bool) or not isinstance(v, int) or v < least:
        raise InvalidInput(f"参数 {key} 应为不小于 {least} 的整数，而不是 {v!r}")
    return v


@contextmanager
def _snapshot(desk):
    """One read transaction around a whole-register read (SQLite): the chain walk and the head, or
    the records and their index, are then read as of one moment, and a clerk's append meanwhile
    cannot look like a truncated chain or a stale index. Writers do not wait for it (WAL)."""
    reg = desk.register
    conn = getattr(reg, "conn", None) if isinstance(reg, Register) else None
    if conn is None or conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        if conn.in_transaction:
            conn.execute("COMMIT")  # a read transaction: nothing to write, this only ends the snapshot


def handle(desk, login: str, req: dict) -> dict:
    """Run one request for ``login`` on this connection's ``desk``. Every op first checks the caller is
    a person of the community."""
    if not isinstance(req, dict) or not isinstance(req.get("op"), str):
        return _error("invalid", "请求格式错误：应为 {\"op\": …, \"args\": {…}}")
    op, args, as_login = req["op"], req.get("args") or {}, req.get("as")
    if not isinstance(args, dict) or (as_login is not None and not isinstance(as_login, str)):
        return _error("invalid", "请求格式错误：args 应为对象，as 应为字符串")
    if op not in READ_OPS | WRITE_OPS:
        return _error("invalid", f"未知操作 {op!r}")
    try:
        if op == "info":
            info = desk.info(login=login)
            if not is_member(desk.community, login):  # the staff are the community's people's business
                info = {**info, "people": [], "you": None}
            return {"ok": True, "result": info}
        desk.person(login, as_login)  # readers must be people of the community too
        who = {"login": login, "as_login": as_login}
        if op == "request":
            on = args.pop("on", None)
            result = desk.request(**args, on=parse_date(on) if on else None, **who)
        elif op in ("approve", "stamp", "file"):
            result = getattr(desk, op)(args["entry"], **who)
        elif op == "void":
            result = desk.void(args["entry"], args.get("reason", ""), **who)
        elif op == "paper":
            result = desk.paper(args["paper"], args["entry"], content=args.get("content"), **who)
        elif op == "report":
            start, end = args.get("start"), args.get("end")
            result = desk.report(args["paper"], parse_date(start) if start else None,
                                 parse_date(end) if end else None, **who)
        elif op == "find_paper":
            result = desk.find_paper(args["sha256"])
        elif op == "allowed":
            result = desk.allowed(args["action"], args["entry"], **who)
        elif op == "show":
            result = desk.show(args["entry"])
        elif op == "list":
            # null or 0 means "all" to Desk.list; through the service it means one page (module doc)
            result = desk.list(**{**args, "limit": min(_count(args, "limit", PAGE, 0) or PAGE, PAGE)})
        elif op == "export":
            _background()
            after, limit = _count(args, "after", 0, 0), min(_count(args, "limit", PAGE, 1), PAGE)
            rows = list(desk.export(after=after, limit=limit))
            result = {"rows": rows, "next": rows[-1]["record"] if len(rows) == limit else None}
        elif op == "verify":
            with _snapshot(desk):
                result = desk.verify()
        elif op == "checkpoint":  # signed with the key the service owns
            with _snapshot(desk):
                result = desk.checkpoint()
        elif op == "check_checkpoint":
            result = desk.check_checkpoint(args["text"], args.get("source") or "检查点", args.get("key"))
        elif op == "clear_alarm":
            result = desk.clear_alarm(args.get("note", ""), **who)
        else:
            with _snapshot(desk):
                result = desk.audit()
        return {"ok": True, "result": result}
    except Refused as exc:
        return _error("refused", str(exc), exc.to_json())
    except (InvalidInput, ConfigError, BadInput, FontError, TemplateError, BrokenJurisdiction) as exc:
        return _error("invalid", str(exc))  # BrokenJurisdiction: 辖区 X 不可用：<the plugin, file:line, why>
    except RegisterError as exc:
        return _error("register", str(exc))
    except (KeyError, TypeError) as exc:
        return _error("invalid", f"请求参数错误：{exc}")
    except Exception as exc:  # the service must outlive any one bad request
        return _error("internal", f"服务内部错误：{type(exc).__name__}: {exc}")


class _Handler(socketserver.StreamRequestHandler):
    """One connection: requests one line each, until the client hangs up, goes quiet for the server's
    ``idle_timeout``, or sends a line longer than :data:`_MAX_LINE`. ``client_address`` is the peer's
    (uid, login), from :meth:`RegisterServer.process_request`."""

    def setup(self):
        self.timeout = self.server.idle_timeout  # StreamRequestHandler.setup applies it to the socket
        super().setup()

    def handle(self):
        server: RegisterServer = self.server  # type: ignore[assignment]
        _uid, login = self.client_address
        desk = server.connection_desk()
        try:
            while True:
                try:
                    # Bounded: a line without end is never buffered beyond the limit (the buffer reads
                    # 8 KiB at a time and stops at the limit).
                    raw = self.rfile.readline(_MAX_LINE + 1)
                except (ConnectionError, TimeoutError):  # gone, or quiet for too long
                    return
                if not raw:
                    return
                if len(raw) > _MAX_LINE:
                    # The rest of the line is not kept: answer and hang up (the client's sending fails).
                    self._reply(_error("invalid", f"请求过长（每行至多 {_MAX_LINE} 字节），连接已关闭"))
                    self._linger()
                    return
                with server.in_progress():
                    try:
                        req = json.loads(raw)
                    except (ValueError, RecursionError, UnicodeDecodeError):
                        reply = _error("invalid", "请求不是有效的 JSON")
                    else:
                        reply = handle(desk, login, req)
                    if not self._reply(reply):
                        return
        finally:
            desk.close()  # the client hung up: its register connection goes with it

    def _linger(self, seconds: float = 1.0, most: int = 8 << 20) -> None:
        """Close after an answer to a client that is still sending: closing with its data unread
        resets the connection, and a reset can discard the answer before the client reads it. So
        say we are done, then read and drop what still comes (a bounded amount, for a short time)."""
        try:
            self.request.shutdown(socket.SHUT_WR)
            self.request.settimeout(seconds)
            deadline, dropped = time.monotonic() + seconds, 0
            sink = bytearray(65536)  # one buffer, read into again and again: nothing kept, nothing grows
            while dropped < most and time.monotonic() < deadline:
                n = self.request.recv_into(sink)
                if not n:
                    break
                dropped += n
        except OSError:
            pass

    def _reply(self, reply: dict) -> bool:
        """Send one reply line; False if the client has gone (or does not read it in time)."""
        try:
            self.wfile.write(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
            self.wfile.flush()
        except (ConnectionError, TimeoutError):
            return False
        return True


def _say(sock: socket.socket, reply: dict) -> None:
    """One reply line to a connection that is about to be closed, never waiting for the client."""
    try:
        sock.setblocking(False)
        sock.send(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
    except OSError:
        pass


class RegisterServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True
    request_queue_size = BACKLOG

    # How long a thread may hold the interpreter before another that waits gets it. An export's
    # pages are Python work; at the default 5 ms a clerk's request, which waits for the interpreter
    # after each read of its socket and of the register, queued behind it (a new connection's
    # request took 2.1× its time alone during exports, 1.2× beside another process's exports).
    SWITCH_INTERVAL = 0.0005

    def __init__(self, path: str, desk, mode: int = 0o660, group: str = "", *, per_user: int = PER_USER,
                 outsiders: int = OUTSIDERS, idle_timeout: float | None = IDLE_TIMEOUT):
        sys.setswitchinterval(self.SWITCH_INTERVAL)
        self.desk = desk  # the service's own: startup checks; requests use one desk per connection
        self.registry = desk.registry  # loaded once, here, and shared: plugins are read-only after loading
        self.per_user, self.outsiders, self.idle_timeout = per_user, outsiders, idle_timeout or None
        self._lock = threading.Condition()
        self._per_uid: dict[int, int] = {}  # open connections by peer uid
        self._outside = 0  # open connections of callers who are not people of the community
        self._busy = 0  # requests being answered
        self._bound: tuple[int, int] | None = None  # (st_dev, st_ino) of the socket this server made
        p = Path(path)
        self.path = str(p)
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ServiceError(f"无法建立套接字目录 {p.parent}：{exc.strerror or exc}") from None
        _remove_stale(p)
        try:
            super().__init__(str(p), _Handler)
        except OSError as exc:
            raise ServiceError(f"无法在 {p} 上监听：{exc.strerror or exc}") from None
        try:
            st = os.stat(p)
            self._bound = (st.st_dev, st.st_ino)
            if group:
                try:
                    gid = grp.getgrnam(group).gr_gid
                except KeyError:
                    raise ServiceError(f"用户组 {group} 不存在（--socket-group）") from None
                try:
                    os.chown(p, -1, gid)
                except PermissionError:
                    me = _name_of(os.geteuid())
                    raise ServiceError(
                        f"无法把套接字 {p} 交给用户组 {group}：服务用户 {me} 不是该组成员"
                        f"（systemd 单元中写 SupplementaryGroups={group}，或 usermod -aG {group} {me}）") from None
            os.chmod(p, mode)
        except ServiceError:
            self.server_close()
            raise
        except OSError as exc:
            self.server_close()
            raise ServiceError(f"无法设置套接字 {p} 的权限：{exc.strerror or exc}") from None

    def connection_desk(self):
        """A desk for one connection: the same community and plugins, its own register connection."""
        from sealdesk.core.desk.counter import Desk  # here: clients import this module and need no Desk

        return Desk(self.desk.home, registry=self.registry, community=self.desk.community)

    # -- connections: admitted by peer uid, each on its own thread ---------------------------------
    def process_request(self, request, client_address):
        """Runs on the accepting thread: admit the connection (within the caller's limits) and hand it
        to a thread of its own, or answer one error line and close it."""
        try:
            uid, login = peer_login(request)
        except OSError:
            self.shutdown_request(request)
            return
        member = is_member(self.desk.community, login)
        refusal = self._admit(uid, login, member)
        if refusal:
            _say(request, _error("busy", refusal))
            self.shutdown_request(request)
            return
        try:
            threading.Thread(target=self._connection, args=(request, (uid, login), member),
                             name=f"sealdesk:{login}", daemon=True).start()
        except RuntimeError:  # no thread to be had
            self._leave(uid, member)
            _say(request, _error("busy", "登记簿服务繁忙，请稍后再试"))
            self.shutdown_request(request)

    def _connection(self, request, peer, member):
        try:
            self.finish_request(request, peer)
        except Exception:
            self.handle_error(request, peer)
        finally:
            self._leave(peer[0], member)
            self.shutdown_request(request)

    def _admit(self, uid: int, login: str, member: bool) -> str | None:
        with self._lock:
            held = self._per_uid.get(uid, 0)
            if held >= self.per_user:
                return (f"连接过多：{login} 已有 {held} 个连接到登记簿服务（每个登录名至多 {self.per_user} 个），"
                        "请关闭不用的 sealdesk 窗口后再试")
            if not member and self._outside >= self.outsiders:
                return f"连接过多：登记簿服务暂不接受本社区人员名单以外的登录名（{login}）连接，请稍后再试"
            self._per_uid[uid] = held + 1
            if not member:
                self._outside += 1
        return None

    def _leave(self, uid: int, member: bool) -> None:
        with self._lock:
            left = self._per_uid.get(uid, 1) - 1
            if left > 0:
                self._per_uid[uid] = left
            else:
                self._per_uid.pop(uid, None)
            if not member:
                self._outside -= 1

    def connections(self) -> int:
        """Connections open now (each has its thread)."""
        with self._lock:
            return sum(self._per_uid.values())

    @contextmanager
    def in_progress(self):
        """Around each request being answered, so that a stopping service lets it finish."""
        with self._lock:
            self._busy += 1
        try:
            yield
        finally:
            with self._lock:
                self._busy -= 1
                if not self._busy:
                    self._lock.notify_all()

    def wait_for_requests(self, timeout: float = STOP_GRACE) -> bool:
        """Wait (at most ``timeout`` seconds) until no request is being answered; True if none is."""
        with self._lock:
            return self._lock.wait_for(lambda: not self._busy, timeout)

    def handle_error(self, request, client_address):
        """One line on stderr, never a traceback; a client that went away is not an error at all."""
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError)):
            return
        who = client_address[1] if isinstance(client_address, tuple) else "?"
        print(f"sealdesk serve: 与 {who} 的连接出错：{type(exc).__name__}: {exc}", file=sys.stderr, flush=True)

    # -- stopping ----------------------------------------------------------------------------
    def server_close(self):
        """Stop listening and remove the socket, if it is still the one this server made."""
        super().server_close()
        bound, self._bound = self._bound, None
        if bound:
            try:
                st = os.stat(self.path)
                if (st.st_dev, st.st_ino) == bound:
                    os.unlink(self.path)
            except OSError:
                pass

    def serve_until_stopped(self, grace: float = STOP_GRACE) -> None:
        """Serve until SIGTERM or SIGINT (or :meth:`shutdown`), then stop accepting, remove the socket and
        let the requests in progress finish (at most ``grace`` seconds). Call from the main thread."""
        previous = {}

        def stop(signum, frame):
            # shutdown() waits for serve_forever, which runs on this (the main) thread: from another one
            threading.Thread(target=self.shutdown, name="sealdesk:stop", daemon=True).start()

        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, stop)
        _raise_fd_limit()
        try:
            self.serve_forever()
        finally:
            self.server_close()
            self.wait_for_requests(grace)
            for sig, handler in previous.items():
                signal.signal(sig, handler)


class Checkpointer(threading.Thread):
    """Signs a checkpoint of the register (:mod:`sealdesk.core.register.checkpoint`) when the service
    starts and every ``every`` seconds after, whenever the register has grown, into ``folder``, for
    the township or inspectors to collect: copies of the head outside the register are what catch a
    truncated, rolled-back or rewritten register. A chain that does not verify is not signed (and
    raises the counter's alarm, as any failed verify does)."""

    def __init__(self, home: Path, registry, folder: Path, every: float):
        super().__init__(name="sealdesk:checkpoints", daemon=True)
        self.home, self.registry, self.folder, self.every = Path(home), registry, Path(folder), every
        self.stopped = threading.Event()
        self.last: int | None = None

    def run(self) -> None:
        while True:
            self.once()
            if self.stopped.wait(self.every):
                return

    def once(self) -> Path | None:
        """One checkpoint now, if the register grew since the last one: its file, else None."""
        import datetime as dt

        from sealdesk.core.desk.counter import Desk
        from sealdesk.core.register import checkpoint as C

        desk = None
        try:
            desk = Desk(self.home, registry=self.registry)
            r = desk.verify()
            if not r["ok"]:
                print(f"sealdesk: 登记簿校验未通过（第 {r['first_bad_entry']} 条记录），未签署检查点", file=sys.stderr)
                return None
            if r["records"] == self.last:
                return None
            cp = C.make(self.home, desk.community.name, r["records"], r["head"])
            from sealdesk.core.common.outfile import write_bytes

            self.folder.mkdir(mode=0o755, parents=True, exist_ok=True)
            path = self.folder / f"checkpoint-{dt.datetime.now():%Y%m%d-%H%M%S}-{cp.records}.txt"
            write_bytes(str(path), cp.text().encode("utf-8"))  # temp file, fsync, rename, as every output
            os.chmod(path, 0o644)  # public by design: no personal data, and made to be copied
            self.last = cp.records
            return path
        except Exception as exc:  # noqa: BLE001 - the service goes on serving; the line says why
            print(f"sealdesk: 写检查点失败：{exc}", file=sys.stderr)
            return None
        finally:
            if desk is not None:
                desk.close()


def _raise_fd_limit() -> None:
    """Each connection holds its socket and, once it has asked, its register connection (a few
    descriptors): let the service open as many as it is allowed (systemd's soft limit is 1,024)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        if soft != resource.RLIM_INFINITY and soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    except (ImportError, ValueError, OSError):
        pass


def _name_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid:{uid}"


def _remove_stale(p: Path) -> None:
    """Remove a socket left by a service that died; refuse if another service is still listening there,
    or if the path is something else."""
    try:
        st = os.lstat(p)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise ServiceError(f"无法检查 {p}：{exc.strerror or exc}") from None
    if not stat.S_ISSOCK(st.st_mode):
        raise ServiceError(f"{p} 已存在且不是套接字，未删除；请换一个路径或先移走它")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(5)
    try:
        probe.connect(str(p))
    except ConnectionRefusedError:  # nobody listens: a leftover
        try:
            p.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise ServiceError(f"无法删除遗留的套接字 {p}：{exc.strerror or exc}") from None
    except FileNotFoundError:
        pass
    except BlockingIOError:  # its backlog is full: somebody is listening
        raise ServiceError(f"{p} 上已有登记簿服务在运行") from None
    except OSError as exc:
        raise ServiceError(f"无法确认 {p} 上是否已有登记簿服务在运行：{exc.strerror or exc}") from None
    else:
        raise ServiceError(f"{p} 上已有登记簿服务在运行")
    finally:
        probe.close()


class RemoteDesk:
    """The client side: the same calls as :class:`~sealdesk.core.desk.counter.Desk`, answered by the service."""

    def __init__(self, path: str, timeout: float = 120.0):
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file = None

    # A full backlog refuses a connection at once (EAGAIN): the service is busy, not down. Wait this
    # long for it, in steps.
    BUSY_WAIT = 10.0

    def _connect(self):
        if self._sock is not None and self._hung_up():
            self.close()  # closed by the service while kept (idle too long, or the service restarted)
        if self._sock is None:
            deadline = time.monotonic() + self.BUSY_WAIT
            pause = 0.005
            while True:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.settimeout(self.timeout)
                try:
                    s.connect(self.path)
                    break
                except BlockingIOError:
                    s.close()
                    if time.monotonic() >= deadline:
                        raise ServiceError(f"登记簿服务 {self.path} 繁忙（等待连接的客户过多），请稍后再试") from None
                    time.sleep(pause)
                    pause = min(pause * 2, 0.2)
                except OSError as exc:
                    s.close()
                    raise ServiceError(f"无法连接登记簿服务 {self.path}：{exc.strerror or exc}。"
                                       "请确认 sealdesk serve 正在运行（systemctl status sealdesk）") from None
            self._sock, self._file = s, s.makefile("rb")
        return self._sock

    def _hung_up(self) -> bool:
        """Whether the service has closed the kept connection: it never speaks first, so a connection
        with something to read before a request is sent has been hung up (or reset)."""
        try:
            poller = select.poll()  # not select(): a process with many files has descriptors past 1024
            poller.register(self._sock, select.POLLIN | select.POLLHUP | select.POLLERR)
            return bool(poller.poll(0))
        except (OSError, ValueError):
            return True

    def call(self, op: str, as_login: str | None = None, **args):
        s = self._connect()
        line = json.dumps({"op": op, "args": args, "as": as_login}, ensure_ascii=False).encode("utf-8") + b"\n"
        try:
            try:
                s.sendall(line)
            except (BrokenPipeError, ConnectionResetError) as exc:
                # The service closed at once; it may have said why (too many connections), so read it.
                raw = self._file.readline()
                if not raw:
                    raise exc
            else:
                raw = self._file.readline()
        except OSError as exc:
            self.close()
            raise ServiceError(f"与登记簿服务通信失败：{exc}") from None
        if not raw:
            self.close()
            raise ServiceError("登记簿服务断开了连接")
        reply = json.loads(raw)
        if reply.get("ok"):
            return reply["result"]
        err = reply.get("error") or {}
        kind, message = err.get("type"), err.get("message", "登记簿服务返回错误")
        if kind == "refused":
            raise Refused(op, err.get("reasons", []), message)
        if kind == "invalid":
            raise InvalidInput(message)
        if kind == "register":
            raise RegisterError(message)
        if kind == "busy":
            self.close()  # the service has closed this connection
        raise ServiceError(message)

    def close(self):
        if self._sock is not None:
            self._file.close()
            self._sock.close()
            self._sock = self._file = None

    # The Desk interface ------------------------------------------------------------
    def info(self, login=None):
        return self.call("info")

    def request(self, query, *, as_login=None, on=None, login=None, **kw):
        return self.call("request", as_login, query=query, on=on.isoformat() if on else None, **kw)

    def approve(self, entry, login=None, as_login=None):
        return self.call("approve", as_login, entry=entry)

    def stamp(self, entry, login=None, as_login=None):
        return self.call("stamp", as_login, entry=entry)

    def file(self, entry, login=None, as_login=None):
        return self.call("file", as_login, entry=entry)

    def void(self, entry, reason, login=None, as_login=None):
        return self.call("void", as_login, entry=entry, reason=reason)

    def allowed(self, action, entry, login=None, as_login=None):
        return self.call("allowed", as_login, action=action, entry=entry)

    def show(self, entry, as_login=None):
        return self.call("show", as_login, entry=entry)

    def list(self, status=None, limit=50, search="", as_login=None, before=None):
        """At most :data:`PAGE` matters, also with ``limit`` None or 0 (see the module doc); ``before``
        as in ``Desk.list`` (sent only when given, so a service of an earlier version answers the rest)."""
        extra = {"before": before} if before is not None else {}
        return self.call("list", as_login, status=status, limit=limit, search=search, **extra)

    def export(self, after: int = 0, limit: int | None = None, as_login=None, page: int = PAGE):
        """Every matter's summary after record ``after`` in entry order, like ``Desk.export``, fetched
        ``page`` at a time: one page in memory here and in the service, however long the register."""
        left = limit
        while left is None or left > 0:
            n = page if left is None else min(page, left)
            reply = self.call("export", as_login, after=after, limit=n)
            yield from reply["rows"]
            if left is not None:
                left -= len(reply["rows"])
            if reply["next"] is None:
                return
            after = reply["next"]

    def verify(self, as_login=None):
        return self.call("verify", as_login)

    def audit(self, as_login=None):
        return self.call("audit", as_login)

    def paper(self, paper, entry, content=None, login=None, as_login=None):
        return self.call("paper", as_login, paper=paper, entry=entry, content=content)

    def report(self, paper, start=None, end=None, login=None, as_login=None):
        return self.call("report", as_login, paper=paper, start=start.isoformat() if start else None,
                         end=end.isoformat() if end else None)

    def find_paper(self, sha256, login=None, as_login=None):
        return self.call("find_paper", as_login, sha256=sha256)

    def checkpoint(self, login=None, as_login=None):
        return self.call("checkpoint", as_login)

    def check_checkpoint(self, text, source="检查点", key=None, login=None, as_login=None):
        return self.call("check_checkpoint", as_login, text=text, source=source, key=key)

    def clear_alarm(self, note, login=None, as_login=None):
        return self.call("clear_alarm", as_login, note=note)
