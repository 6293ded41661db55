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
  is what ``export`` is for.
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import socket
import socketserver
import struct
from contextlib import contextmanager
from pathlib import Path

from sealdesk.core.common.inputs import BadInput, parse_date
from sealdesk.core.papers.fonts import FontError
from sealdesk.core.papers.content import TemplateError
from sealdesk.core.register.community import ConfigError
from sealdesk.core.register.store import Register, RegisterError
from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import Refused

DEFAULT_SOCKET = "/run/sealdesk/register.sock"
_MAX_LINE = 1 << 20
PAGE = 500  # matters per export page and per list reply (about 0.5 MB of JSON)

READ_OPS = {"info", "show", "list", "export", "verify", "audit", "allowed", "find_paper"}
WRITE_OPS = {"request", "approve", "stamp", "file", "void", "paper", "report"}


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
    import threading

    try:
        tid = threading.get_native_id()
        if os.getpriority(os.PRIO_PROCESS, tid) < BACKGROUND_NICE:
            os.setpriority(os.PRIO_PROCESS, tid, BACKGROUND_NICE)
    except (OSError, AttributeError):  # not Linux, or not permitted: only slower for the others
        pass


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
            return {"ok": True, "result": desk.info(login=login)}
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
        else:
            with _snapshot(desk):
                result = desk.audit()
        return {"ok": True, "result": result}
    except Refused as exc:
        return _error("refused", str(exc), exc.to_json())
    except (InvalidInput, ConfigError, BadInput, FontError, TemplateError) as exc:
        return _error("invalid", str(exc))
    except RegisterError as exc:
        return _error("register", str(exc))
    except (KeyError, TypeError) as exc:
        return _error("invalid", f"请求参数错误：{exc}")
    except Exception as exc:  # the service must outlive any one bad request
        return _error("internal", f"服务内部错误：{type(exc).__name__}: {exc}")


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        server: RegisterServer = self.server  # type: ignore[assignment]
        _uid, login = peer_login(self.request)
        desk = server.connection_desk()
        try:
            for raw in self.rfile:
                if len(raw) > _MAX_LINE:
                    reply = _error("invalid", "请求过长")
                else:
                    try:
                        req = json.loads(raw)
                    except (json.JSONDecodeError, UnicodeDecodeError):
                        reply = _error("invalid", "请求不是有效的 JSON")
                    else:
                        reply = handle(desk, login, req)
                self.wfile.write(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
                self.wfile.flush()
        finally:
            desk.close()  # the client hung up: its register connection goes with it


class RegisterServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    # How long a thread may hold the interpreter before another that waits gets it. An export's
    # pages are Python work; at the default 5 ms a clerk's request, which waits for the interpreter
    # after each read of its socket and of the register, queued behind it (a new connection's
    # request took 2.1× its time alone during exports, 1.2× beside another process's exports).
    SWITCH_INTERVAL = 0.0005

    def __init__(self, path: str, desk, mode: int = 0o660, group: str = ""):
        import sys

        sys.setswitchinterval(self.SWITCH_INTERVAL)
        self.desk = desk  # the service's own: startup checks; requests use one desk per connection
        self.registry = desk.registry  # loaded once, here, and shared: plugins are read-only after loading
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if p.exists():
            # A socket left by a service that died; refuse if another service is still listening.
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(p))
            except OSError:
                p.unlink()
            else:
                probe.close()
                raise ServiceError(f"{p} 上已有登记簿服务在运行")
        super().__init__(str(p), _Handler)
        if group:
            try:
                os.chown(p, -1, grp.getgrnam(group).gr_gid)
            except KeyError:
                raise ServiceError(f"用户组 {group} 不存在") from None
        os.chmod(p, mode)

    def connection_desk(self):
        """A desk for one connection: the same community and plugins, its own register connection."""
        from sealdesk.core.desk.counter import Desk  # here: clients import this module and need no Desk

        return Desk(self.desk.home, registry=self.registry, community=self.desk.community)


class RemoteDesk:
    """The client side: the same calls as :class:`~sealdesk.core.desk.counter.Desk`, answered by the service."""

    def __init__(self, path: str, timeout: float = 120.0):
        self.path = path
        self.timeout = timeout
        self._sock: socket.socket | None = None
        self._file = None

    def _connect(self):
        if self._sock is None:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(self.timeout)
            try:
                s.connect(self.path)
            except OSError as exc:
                s.close()
                raise ServiceError(f"无法连接登记簿服务 {self.path}：{exc.strerror or exc}。"
                                   "请确认 sealdesk serve 正在运行（systemctl status sealdesk）") from None
            self._sock, self._file = s, s.makefile("rb")
        return self._sock

    def call(self, op: str, as_login: str | None = None, **args):
        s = self._connect()
        line = json.dumps({"op": op, "args": args, "as": as_login}, ensure_ascii=False).encode("utf-8") + b"\n"
        try:
            s.sendall(line)
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

    def list(self, status=None, limit=50, search="", as_login=None):
        """At most :data:`PAGE` matters, also with ``limit`` None or 0 (see the module doc)."""
        return self.call("list", as_login, status=status, limit=limit, search=search)

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
