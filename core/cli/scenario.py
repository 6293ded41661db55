"""``sealdesk scenarios``, ``sealdesk demo [SCENARIO]`` and ``sealdesk train [SCENARIO]``.

Demo and training run in a sandbox: a temporary directory holding the demo community (a
person for every role) and its own register, deleted on exit. The configured community, its
register, the register service (SEALDESK_SOCKET) and the persistent demo communities are
never opened.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from sealdesk.core.cli.main import BadInput, _registry
from sealdesk.core.training.scenario import (Report, ScenarioError, check_scenario, find_scenario, load_scenario,
                                             shipped)


PREFIX = "sealdesk-demo-"
STALE = 24 * 3600  # s: a sandbox this old was left by a session that could not clean up


def _remove_stale() -> None:
    """Sandboxes of sessions killed outright (SIGKILL, a crash) are removed by the next demo."""
    now = time.time()
    for d in Path(tempfile.gettempdir()).glob(PREFIX + "*"):
        try:
            st = d.stat()
            if st.st_uid == os.getuid() and now - st.st_mtime > STALE:
                shutil.rmtree(d, ignore_errors=True)
        except OSError:
            pass


def _exit_on_hangup(signum, frame):
    # An SSH session that drops sends SIGHUP: leave through the sandbox's finally (and delete it).
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def sandbox(registry, jurisdiction: str):
    """A temporary demo community for ``jurisdiction``; yields its home, removes it after."""
    from sealdesk.core.register.community import demo_community, save_community

    _remove_stale()
    tmp = Path(tempfile.mkdtemp(prefix=PREFIX))  # 0700: the demo register may hold typed-in names
    saved = {k: os.environ.get(k) for k in ("SEALDESK_DEMO_HOME", "SEALDESK_SOCKET", "SEALDESK_HOME")}
    # 切换辖区 in the palette opens further demo communities: inside the sandbox too.
    os.environ["SEALDESK_DEMO_HOME"] = str(tmp)
    os.environ.pop("SEALDESK_SOCKET", None)
    os.environ.pop("SEALDESK_HOME", None)
    handlers = {sig: signal.signal(sig, _exit_on_hangup) for sig in (signal.SIGHUP, signal.SIGTERM)} \
        if threading.current_thread() is threading.main_thread() else {}
    try:
        home = tmp / jurisdiction
        save_community(demo_community(home, jurisdiction, registry.jurisdictions[jurisdiction].name))
        yield home
    finally:
        for sig, h in handlers.items():
            signal.signal(sig, h)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        shutil.rmtree(tmp, ignore_errors=True)


def _scenario(reg, name: str | None):
    if name is None:
        return None
    try:
        return find_scenario(reg, name)
    except ScenarioError as exc:
        raise BadInput(f"演示案例有误：{exc}") from None


WEB_DRIVER = "textual.drivers.web_driver:WebDriver"  # set by textual-serve for each browser tab (sealdesk web)


def _need_terminal() -> None:
    if os.environ.get("TEXTUAL_DRIVER") == WEB_DRIVER:
        return  # a browser tab: Textual talks to the page over the pipes textual-serve gives it
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise BadInput("演示和训练需要终端（请在 SSH 会话或终端中运行）")


def _choose(reg, args, verb: str):
    """The scenario named on the command line, else a numbered list to pick from."""
    sc = _scenario(reg, args.scenario)  # a bad file or name is reported before anything else
    _need_terminal()
    if sc is not None:
        return sc
    paths = shipped(reg)
    if not paths:
        raise BadInput("没有已安装的演示案例")
    print(f"选择要{verb}的案例：")
    scenarios = [load_scenario(p, reg) for p in paths]
    for n, s in enumerate(scenarios, 1):
        print(f"  {n}. {s.id}　{s.title}（{len(s.cases)} 个案例）")
    try:
        answer = input("编号（回车选 1）：").strip() or "1"
    except EOFError:
        raise BadInput("未选择案例") from None
    if not answer.isdigit() or not 1 <= int(answer) <= len(scenarios):
        raise BadInput(f"没有编号 {answer!r}（1–{len(scenarios)}）")
    return scenarios[int(answer) - 1]


def _run_in_sandbox(reg, sc, as_login: str, notice: str, make_app) -> int:
    """The TUI on a sandboxed demo community of the scenario's jurisdiction, on its date."""
    from sealdesk.tui.session import Session

    with sandbox(reg, sc.jurisdiction) as home:
        session = Session(home, as_login=as_login, registry=reg)
        session.sandbox, session.on, session.notice = True, sc.on, notice
        app = make_app(session)
        app.run()
        return app.return_code or 0


def cmd_demo(args) -> int:
    reg = _registry()
    sc = _choose(reg, args, "演示")
    from sealdesk.tui.app import SealdeskApp

    return _run_in_sandbox(reg, sc, "clerk", "演示沙盒：临时登记簿，退出即删除（Ctrl+P 切换身份、保存为案例）",
                           lambda session: SealdeskApp(session, scenario=sc))


def _trainee(args) -> str | None:
    """``--trainee NAME``, else the login's name; None with ``--ask-trainee`` (asked on screen)."""
    from sealdesk.core.training.results import clean_name, login_name

    if args.trainee is not None:
        name = clean_name(args.trainee)
        if not name:
            raise BadInput("--trainee 不能为空（学员姓名，用于记录成绩）")
        return name
    return None if args.ask_trainee else clean_name(login_name()) or "学员"


def _results(args):
    """The results folder, made and checked now (results.ready_folder); None with ``--no-results``."""
    from sealdesk.core.training.results import ResultsError, ready_folder

    if args.no_results:
        return None
    try:
        return ready_folder(args.results, args.home)
    except ResultsError as exc:
        raise BadInput(str(exc)) from None


def cmd_train(args) -> int:
    import secrets

    reg = _registry()
    trainee = _trainee(args)
    folder = _results(args)
    sc = _choose(reg, args, "训练")
    from sealdesk.tui.app import TrainApp

    from sealdesk.core.training.quiz import Quiz

    seed = args.seed
    if seed is None and args.shuffle:  # a fresh seed, recorded with the results
        seed = secrets.randbelow(1_000_000)
    return _run_in_sandbox(reg, sc, "trainer", "", lambda session: TrainApp(
        session, Quiz.build(reg, sc, seed=seed), trainee=trainee, results=folder,
        reshuffle=lambda new: Quiz.build(reg, sc, seed=new)))


def cmd_scenarios(args) -> int:
    """List the shipped scenarios, or check files (and every shipped one with --check): each case on
    everything it states (outcome, item, route), each failure as ``file:line`` with what differed, and
    a summary line 「N 个案例，M 个符合预期」."""
    reg = _registry()
    paths = [Path(p) for p in args.files] or shipped(reg)
    report = Report()
    out = []
    for p in paths:
        try:
            sc = load_scenario(p, reg)
        except ScenarioError as exc:
            print(f"sealdesk: {exc}", file=sys.stderr)
            report.errors.append(exc)
            continue
        row = {"id": sc.id, "title": sc.title, "jurisdiction": sc.jurisdiction, "cases": len(sc.cases),
               "on": sc.on.isoformat() if sc.on else None, "path": str(p)}
        if args.check:
            results = check_scenario(reg, sc)
            report.results += results
            for r in results:
                if not r.ok:
                    print(f"sealdesk: {r.text()}", file=sys.stderr)
            row["as_expected"] = sum(r.ok for r in results)
            row["mismatches"] = [r.text() for r in results if not r.ok]
        out.append(row)
    if args.json:
        print(json.dumps(out, ensure_ascii=False))
    else:
        for s in out:
            when = f"，决定日期 {s['on']}" if s["on"] else ""
            print(f"{s['id']}\t{s['jurisdiction']}\t{s['cases']} 个案例{when}\t{s['title']}")
        if args.check:
            print(report.summary())
    return 0 if report.ok else 1


def _seed(text: str) -> int:
    import argparse

    if not text.isdigit() or len(text) > 9:
        raise argparse.ArgumentTypeError(f"种子应为不超过 9 位的非负整数，而不是 {text!r}")
    return int(text)


def add_parsers(sub) -> None:
    s = sub.add_parser("scenarios", help="列出演示案例；--check 核对预期结果")
    s.add_argument("files", nargs="*", help="案例文件（默认：已安装插件附带的全部案例）")
    s.add_argument("--check", action="store_true", help="逐个决定，核对处理结果及案例写明的清单事项、办事途径")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_scenarios)

    s = sub.add_parser("demo", help="在沙盒中演示案例（临时登记簿，不影响真实登记簿）")
    s.add_argument("scenario", nargs="?", help="案例编号（见 sealdesk scenarios）或案例文件路径")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser("train", help="训练测验：选择处理结果和办事途径，逐题讲解，记录成绩")
    s.add_argument("scenario", nargs="?", help="案例编号（见 sealdesk scenarios）或案例文件路径")
    s.add_argument("--trainee", metavar="姓名", help="学员姓名（默认：登录名）")
    s.add_argument("--ask-trainee", action="store_true", help="开始前在界面上询问学员姓名（浏览器课堂用）")
    s.add_argument("--shuffle", action="store_true", help="打乱题目和选项的顺序（随机种子记入成绩）")
    s.add_argument("--seed", type=_seed, metavar="N", help="按种子 N 打乱（同一种子同一顺序，可重现某次训练）")
    s.add_argument("--results", metavar="目录",
                   help="成绩文件目录（默认：社区配置 [training] results，或用户数据目录下 training-results）")
    s.add_argument("--no-results", action="store_true", help="不记录成绩（练习）")
    s.set_defaults(func=cmd_train)

