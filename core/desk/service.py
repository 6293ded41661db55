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
"""

from __future__ import annotations

import grp
import json
import os
import pwd
import socket
import socketserver
import struct
import threading
from pathlib import Path

from sealdesk.core.common.inputs import BadInput, parse_date
from sealdesk.core.papers.fonts import FontError
from sealdesk.core.papers.content import TemplateError
from sealdesk.core.register.community import ConfigError
from sealdesk.core.register.store import RegisterError
from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import Refused

DEFAULT_SOCKET = "/run/sealdesk/register.sock"
_MAX_LINE = 1 << 20

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


def _error(kind: str, message: str, reasons=None) -> dict:
    return {"ok": False, "error": {"type": kind, "message": message, "reasons": reasons or []}}


def handle(desk, lock: threading.Lock, login: str, req: dict) -> dict:
    """Run one request for ``login``. Every op first checks the caller is a person of the community."""
    if not isinstance(req, dict) or not isinstance(req.get("op"), str):
        return _error("invalid", "请求格式错误：应为 {\"op\": …, \"args\": {…}}")
    op, args, as_login = req["op"], req.get("args") or {}, req.get("as")
    if not isinstance(args, dict) or (as_login is not None and not isinstance(as_login, str)):
        return _error("invalid", "请求格式错误：args 应为对象，as 应为字符串")
    if op not in READ_OPS | WRITE_OPS:
        return _error("invalid", f"未知操作 {op!r}")
    try:
        with lock:
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
                result = desk.list(**args)
            elif op == "export":
                result = list(desk.export())
            elif op == "verify":
                result = desk.verify()
            else:
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
        for raw in self.rfile:
            if len(raw) > _MAX_LINE:
                reply = _error("invalid", "请求过长")
            else:
                try:
                    req = json.loads(raw)
                except (json.JSONDecodeError, UnicodeDecodeError):
                    reply = _error("invalid", "请求不是有效的 JSON")
                else:
                    reply = handle(server.desk, server.lock, login, req)
            self.wfile.write(json.dumps(reply, ensure_ascii=False).encode("utf-8") + b"\n")
            self.wfile.flush()


class RegisterServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, desk, mode: int = 0o660, group: str = ""):
        self.desk = desk
        self.lock = threading.Lock()
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
        return self.call("list", as_login, status=status, limit=limit, search=search)

    def export(self, as_login=None):
        return iter(self.call("export", as_login))

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
