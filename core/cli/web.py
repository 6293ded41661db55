"""``sealdesk web``: the training quiz (or the demo) in a browser, for a classroom (issue 19).

textual-serve serves a page running xterm.js; each browser tab opens a websocket and gets a fresh
process of its own: ``sealdesk train LESSON --ask-trainee`` (``sealdesk demo`` with ``--demo``), which
makes its own sandbox (core/cli/scenario.py) and is deleted with it. The served processes get an empty
SEALDESK_HOME made here (removed on exit) and neither SEALDESK_SOCKET nor SEALDESK_COUNTY_URL: a tab can
reach no real community, register or register service.

textual-serve talks to each process over pipes with Textual's web driver (``TEXTUAL_DRIVER``), which
``demo`` and ``train`` accept in place of a terminal (core/cli/scenario.py ``_need_terminal``).
"""

from __future__ import annotations

import asyncio
import errno
import html
import ipaddress
import logging
import os
import shlex
import shutil
import socket
import sys
import tempfile
from pathlib import Path

from sealdesk.core.cli.main import BadInput, _registry

# The page: textual-serve's own (app_index.html) loads Google Fonts, which a classroom in China or
# without internet waits for, says "Session ended" in English and names the server by --host, which a
# browser elsewhere cannot reach when that is 0.0.0.0. This one asks nothing of the internet and finds
# the server where the page came from. Jinja sees only {{ font_size }} (?fontsize=20 for a projector).
PAGE = """<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="stylesheet" href="/static/css/xterm.css">
<script src="/static/js/textual.js"></script>
<style>
  body {{ background: #0c181f; color: #f2f2f2; font-family: sans-serif; }}
  .dialog {{ position: absolute; inset: 0; display: flex; align-items: center; justify-content: center;
            z-index: 10; background: #0c181f; font-size: 18px; text-align: center; }}
  .dialog button {{ display: block; margin: 16px auto 0; padding: 12px 28px; font-size: 16px;
                   background: #5e0ba7; color: #fff; border: none; cursor: pointer; }}
  body.-first-byte .starting {{ display: none; }}
  .ended {{ display: none; }}
  body.-closed .ended {{ display: flex; }}
  .textual-terminal {{ opacity: 0; }}
  body.-first-byte .textual-terminal {{ opacity: 1; }}
</style>
</head>
<body>
<div class="dialog starting"><div>{title}<br>正在启动……</div></div>
<div class="dialog ended"><div>本次练习已结束。<button type="button" onclick="location.reload()">重新开始</button></div></div>
<div id="terminal" class="textual-terminal" data-font-size="{{{{ font_size }}}}"></div>
<script>
  document.getElementById("terminal").dataset.sessionWebsocketUrl =
    (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws";
  // The keyboard goes to the terminal from the start, as in an SSH session: a trainee types the name
  // without clicking first (textual.js leaves the focus on the page; a click would be a mouse event).
  window.addEventListener("load", function () {{
    var tries = 0, timer = setInterval(function () {{
      var input = document.querySelector(".xterm-helper-textarea");
      if (input) input.focus();
      if ((input && document.activeElement === input) || ++tries > 100) clearInterval(timer);
    }}, 100);
  }});
</script>
</body>
</html>
"""

# Taken from the served processes' environment: the real community, the register service, the county's
# register, and a sandbox of the process that started ``sealdesk web``.
_UNSAFE_ENV = ("SEALDESK_SOCKET", "SEALDESK_COUNTY_URL", "SEALDESK_DEMO_HOME")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _url(host: str, port: int) -> str:
    if host in ("0.0.0.0", "::", ""):
        host = "本机地址"
    elif ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _check_port(host: str, port: int) -> None:
    """The address can be listened on: a port in use is one line here, not a traceback from aiohttp."""
    if not 0 < port < 65536:
        raise BadInput(f"端口 {port} 无效（1–65535）")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror:
        raise BadInput(f"无法识别地址 {host}（--host）") from None
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp does: TIME_WAIT is no obstacle
            try:
                s.bind(address)
            except OSError as exc:
                if exc.errno == errno.EADDRINUSE:
                    raise BadInput(f"端口 {port} 已被占用：请用 --port 换一个端口") from None
                if exc.errno == errno.EACCES:
                    raise BadInput(f"没有权限使用端口 {port}：请用 --port 选 1024 以上的端口") from None
                raise BadInput(f"无法在 {host}:{port} 上监听：{exc.strerror}") from None


def _child_command(reg, args) -> tuple[list[str], str, Path | None]:
    """The ``sealdesk`` arguments each tab runs, the page's title and the results folder; a bad lesson or
    a results folder that cannot be written is said here, once, rather than on every trainee's page."""
    from sealdesk.core.training.scenario import ScenarioError, find_scenario, shipped

    if not args.demo and not args.lesson:
        raise BadInput("请指定训练案例：sealdesk web 案例编号（见 sealdesk scenarios）；演示请加 --demo")
    if args.demo and (args.results or args.trainee):
        raise BadInput("--results 和 --trainee 只用于训练测验（不能与 --demo 同用）")
    lesson = args.lesson
    if lesson is None:  # the demo's own list needs a terminal's input(): take its default, the first
        paths = shipped(reg)
        if not paths:
            raise BadInput("没有已安装的演示案例")
        lesson = str(paths[0])
    try:
        sc = find_scenario(reg, lesson)
    except ScenarioError as exc:
        raise BadInput(f"案例有误：{exc}") from None
    if Path(lesson).exists():
        lesson = os.path.abspath(lesson)  # the tabs' processes need not share our working directory
    if args.demo:
        return ["demo", lesson], f"sealdesk 演示：{sc.title}", None
    argv = ["train", lesson]
    if args.trainee is not None:
        from sealdesk.core.training.results import clean_name

        if not clean_name(args.trainee):
            raise BadInput("--trainee 不能为空（学员姓名，用于记录成绩）")
    argv += ["--ask-trainee"] if args.trainee is None else ["--trainee", args.trainee]
    # Resolved here, where the community's [training] results can be read: the tabs see an empty home.
    from sealdesk.core.training.results import ResultsError, ready_folder

    try:
        folder = ready_folder(args.results, getattr(args, "home", None))
    except ResultsError as exc:
        raise BadInput(str(exc)) from None
    argv += ["--results", str(folder)]
    from sealdesk.core.cli.main import build_parser

    build_parser("train").parse_args(argv)  # options the quiz does not take: one line now, not a dead page
    return argv, f"sealdesk 训练：{sc.title}", folder


def _child_environment(home: Path) -> None:
    """What textual-serve passes on (it copies os.environ for every tab): a sandbox-only view."""
    for name in _UNSAFE_ENV:
        os.environ.pop(name, None)
    os.environ["SEALDESK_HOME"] = str(home)
    locale = os.environ.get("LC_ALL") or os.environ.get("LC_CTYPE") or os.environ.get("LANG") or ""
    if "utf-8" not in locale.lower() and "utf8" not in locale.lower():
        os.environ["LC_ALL"] = "C.UTF-8"  # names typed in the browser are UTF-8
    os.environ["TERM"] = "xterm-256color"  # what xterm.js in the page emulates
    os.environ["PYTHONIOENCODING"] = "utf-8"


def cmd_web(args) -> int:
    reg = _registry()
    child, title, results = _child_command(reg, args)
    host, port = args.host, args.port
    _check_port(host, port)
    what = "演示" if args.demo else "训练"
    if not _is_loopback(host):
        print(f"sealdesk: 警告：--host {host} 不是本机回环地址，同一网络中的任何人都能打开此网页（只涉及学员的"
              f"{what}和答题，无法访问真实的社区和登记簿）", file=sys.stderr, flush=True)

    from textual_serve.server import Server

    tabs: set[asyncio.Task] = set()  # one per open browser tab

    class Classroom(Server):
        def initialize_logging(self) -> None:
            handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(_OneLine())
            logging.basicConfig(level=logging.WARNING, handlers=[handler], force=True)

        async def on_startup(self, app) -> None:
            print(f"{what}网页已启动：{_url(host, port)} （Ctrl+C 停止）", flush=True)
            if results is not None:
                print(f"成绩保存在：{results}（查看：sealdesk results {shlex.quote(str(results))}）", flush=True)

        async def handle_websocket(self, request):
            task = asyncio.current_task()
            tabs.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                tabs.discard(task)

        async def on_shutdown(self, app) -> None:
            # Left alone, aiohttp waits for open tabs and then drops them, their processes told nothing. A
            # tab's handler, cancelled, tells its process to quit and waits until it has (its sandbox gone).
            waiting = list(tabs)
            for task in waiting:
                task.cancel()
            if waiting:
                await asyncio.wait(waiting, timeout=15)
                await asyncio.sleep(0.2)  # the ended processes are reaped while the loop still runs

    tmp = Path(tempfile.mkdtemp(prefix="sealdesk-web-"))
    saved = dict(os.environ)
    try:
        (tmp / "home").mkdir()
        (tmp / "page").mkdir()
        safe = html.escape(title).replace("{", "&#123;").replace("}", "&#125;")  # not read as markup or Jinja
        (tmp / "page" / "app_index.html").write_text(PAGE.format(title=safe), encoding="utf-8")
        _child_environment(tmp / "home")
        command = "exec " + shlex.join([sys.executable, "-m", "sealdesk.core.cli", *child])
        server = Classroom(command, host=host, port=port, title=title, templates_path=tmp / "page")
        try:
            server.serve()
        except OSError as exc:  # taken between the check above and now
            raise BadInput(f"无法在 {host}:{port} 上监听：{exc.strerror or exc}") from None
    finally:
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"{what}网页已停止")
    return 0


class _OneLine(logging.Formatter):
    """textual-serve's and aiohttp's messages as one line each, never a traceback."""

    def format(self, record) -> str:
        text = record.getMessage().splitlines()[0] if record.getMessage() else record.levelname
        if text == "Application failed to start":
            text = "一个网页会话未能启动（学员可刷新网页重试）"
        return f"sealdesk web: {text}"


def add_parsers(sub) -> None:
    s = sub.add_parser("web", help="在浏览器中进行训练测验或演示（课堂用，每个网页各有沙盒）")
    s.add_argument("lesson", nargs="?", metavar="LESSON",
                   help="案例编号（见 sealdesk scenarios）或案例文件路径；训练时必填")
    s.add_argument("--demo", action="store_true", help="网页中运行演示（sealdesk demo），而不是训练测验")
    s.add_argument("--host", default="127.0.0.1", help="监听地址（默认 127.0.0.1，仅本机可访问）")
    s.add_argument("--port", type=int, default=8000, help="端口（默认 8000）")
    s.add_argument("--results", metavar="DIR", help="学员答题结果保存到的目录")
    s.add_argument("--trainee", metavar="NAME", help="所有网页使用同一学员姓名（默认每个网页先询问姓名）")
    s.set_defaults(func=cmd_web)
