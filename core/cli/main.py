"""The ``sealdesk`` command line (DOMAIN.md section 11).

Bad input exits 2 with one line on stderr naming what is wrong; a batch reports
the line number of each bad line and still prints every good line's decision.
"""

from __future__ import annotations

import argparse
import datetime as dt
import errno
import json
import os
import sys

from sealdesk.core.common.errorlog import ERROR_LOG_MAX, error_log_path, log_exception, mask_id_numbers  # noqa: F401
from sealdesk.core.common.inputs import (  # noqa: F401  (re-exported for the cli.* modules)
    EXIT_BAD_INPUT,
    BadInput,
    facts_from_json,
    parse_date,
    parse_fact,
    printable,
)
from sealdesk.core.engine.model import Facts, Request


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse's default prints the whole usage)
        raise BadInput(f"参数错误：{message}（{self.prog} --help 查看用法）")


def add_request_args(s) -> None:
    """The request options ``decide`` and ``compare`` share."""
    s.add_argument("--purpose", help="用途")
    s.add_argument("--requester", help="索要单位")
    s.add_argument("--on", help="决定日期 YYYY-MM-DD（默认今天）")
    s.add_argument("--fact", action="append", metavar="FACT[=true|false]", help="情形，可重复")


def request_from_args(name: str, args, known_facts) -> tuple[Request, dt.date]:
    """The request for ``name`` with :func:`add_request_args`' options, and its date."""
    on = parse_date(args.on) if args.on else dt.date.today()
    facts = dict(parse_fact(f, known_facts) for f in args.fact or [])
    return Request(name, args.purpose or "", args.requester or "", Facts(facts)), on


def _registry():
    from sealdesk.core.engine.plugins import default_registry

    reg = default_registry()
    for line in load_warnings(reg):
        print(f"sealdesk: 警告：{line}", file=sys.stderr)
    return reg


def load_warnings(reg) -> list[str]:
    """One line per load error of the plugins, saying what it costs (the CLI prints them on stderr)."""
    from sealdesk.core.engine.plugins import FALLBACK, IGNORED

    out, seen = [], set()
    for e in reg.errors:
        key = (e.plugin, e.file, e.message)
        if key in seen:
            continue
        seen.add(key)
        if e.effect == FALLBACK:
            out.append(f"文书模板有误，已忽略（辖区照常决定，该文书沿用上级措辞）：{e.reason}")
        elif e.effect == IGNORED:
            out.append(f"插件重复注册，已忽略：{e.reason}")
        else:
            jids = sorted({j for j, errs in reg.broken.items() for x in errs
                           if (x.plugin, x.file, x.message) == key})
            cost = f"，辖区 {'、'.join(jids)} 不可用" if jids else ""
            out.append(f"插件加载失败{cost}：{e.reason}")
    return out


def _view(reg, jid: str | None, on: dt.date):
    from sealdesk.core.engine.plugins import BrokenJurisdiction, UnknownJurisdiction

    if not jid:
        raise BadInput("缺少 --jurisdiction（可选：" + ", ".join(reg.ids()) + "）")
    try:
        return reg.view(jid, on)
    except UnknownJurisdiction:
        raise BadInput(f"未知辖区：{jid!r}（可选：{', '.join(reg.ids())}）") from None
    except BrokenJurisdiction as exc:  # installed, but a plugin failed: 辖区 X 不可用：<plugin, file:line, why>
        raise BadInput(str(exc)) from None


def _dump(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# -- commands ----------------------------------------------------------------------
def cmd_jurisdictions(args) -> int:
    reg = _registry()
    rows = []
    # Tree order: each jurisdiction under its parent.
    for jid in sorted(reg.ids(), key=lambda j: reg.chain_ids(j)):
        j = reg.jurisdictions[jid]
        rows.append({
            "id": jid, "name": j.name, "parent": j.parent, "level": j.level, "plugin": j.plugin,
            "documents": [
                {"number": d.number, "title": d.title,
                 "effective_from": d.effective_from.isoformat() if d.effective_from else None,
                 "effective_until": d.effective_until.isoformat() if d.effective_until else None}
                for d in j.documents
            ],
        })
    # Installed but unavailable (a plugin failed at load, or a rule of it raised): listed with the reason.
    broken = [{"id": jid, "name": reg.jurisdictions[jid].name if jid in reg.jurisdictions else None,
               "reason": reg.reason(jid), "errors": [str(e) for e in errs]} for jid, errs in sorted(reg.broken.items())]
    if args.json:
        print(_dump({"jurisdictions": rows, "broken": broken}))
        return 0
    for r in rows:
        depth = reg.depth(r["id"])
        docs = "；".join(
            d["number"] + (f"（有效期至{d['effective_until']}）" if d["effective_until"] else "") for d in r["documents"]
        )
        print(f"{'  ' * depth}{r['id']:<18} {r['name']}  {docs}")
    for b in broken:
        print(f"{b['id']:<18} {b['name'] + '  ' if b['name'] else ''}不可用：{b['reason']}")
    return 0


def words_by_item(view) -> dict[str, list[str]]:
    """Residents' words in force, per item id (an ambiguous word is listed under each of its items)."""
    out: dict[str, list[str]] = {}
    for _key, word, items in view.index.words():
        for it in items:
            if word.name not in out.setdefault(it.id, []):
                out[it.id].append(word.name)
    return out


def _item_json(it, words=()) -> dict:
    out = {
        "id": it.id, "list": it.list, "number": it.number, "name": it.name,
        "list_jurisdiction": it.list_jurisdiction or it.jurisdiction, "list_title": it.title_of_list,
        "list_short": it.list_label,
        "aliases": list(it.aliases), "legacy_names": list(it.legacy_names), "words": list(words),
        "route": it.route,
        "exceptions": [{"text": e.text, "purposes": list(e.purposes), "facts": list(e.facts)} for e in it.exceptions],
        "citations": [c.to_json() for c in it.citations],
        "plugin": it.plugin,
    }
    for key in ("source_name", "remark", "label", "requesting_unit", "purpose", "method", "matters", "overrides"):
        value = getattr(it, key)
        if value:
            out[key] = value
    if it.basis:
        out["basis"] = list(it.basis)
    for key in ("restriction", "use"):
        cond = getattr(it, key)
        if cond:
            out[key] = {"text": cond.text, "purposes": list(cond.purposes), "facts": list(cond.facts)}
            if cond.requesters:
                out[key]["requesters"] = list(cond.requesters)
    if it.carves_out:
        out["carves_out"] = [c.item for c in it.carves_out]
    return out


def items_document(view) -> dict:
    """The catalog in force as plain data (JSON and TOML exports share it)."""
    words = words_by_item(view)
    return {
        "jurisdiction": view.jurisdiction,
        "name": view.name,
        "date": view.date,
        "documents": [d.number for d in view.documents.values()],
        "negative": [_item_json(it, words.get(it.id, ())) for it in view.items if it.list == "negative"],
        "retained": [_item_json(it, words.get(it.id, ())) for it in view.items if it.list == "retained"],
    }


def cmd_items(args) -> int:
    reg = _registry()
    on = parse_date(args.on) if args.on else dt.date.today()
    view = _view(reg, args.jurisdiction, on)
    doc = items_document(view)
    fmt = "json" if args.json else args.format
    if fmt == "json":
        doc["date"] = doc["date"].isoformat()
        print(_dump(doc))
    elif fmt == "toml":
        import tomli_w

        sys.stdout.write(tomli_w.dumps(doc))
    else:
        for w in view.warnings:
            print(f"注意：{w}")
        # One heading per list: the national 第1项 and a county's own 第1项 are never under one title.
        groups: dict[tuple[str, str], list[dict]] = {}
        for lst in ("negative", "retained"):
            for r in doc[lst]:
                groups.setdefault((lst, r["list_jurisdiction"]), []).append(r)
        print(f"{view.name}适用的证明事项清单（{view.date.isoformat()}）")
        for rows in groups.values():
            print(f"{rows[0]['list_short']}：《{rows[0]['list_title']}》，共{len(rows)}项")
            for r in rows:
                extra = r["aliases"] + r["legacy_names"]
                print(f"  {r['number']:>2}. {r['name']}" + (f"（又称：{'、'.join(extra)}）" if extra else ""))
                said = [w for w in r["words"] if w not in extra]
                if said:
                    print(f"      居民常说：{'、'.join(said)}")
    return 0


def questions_line(questions) -> str:
    """What a decision still asks, with the option that answers each: ``待确认：能够调查核实（--fact verifiable）``."""
    from sealdesk.core.engine.facts import fact_label
    from sealdesk.core.engine.plugins import default_registry

    specs = default_registry().facts  # already loaded by the command (and its load errors already said)
    return "待确认：" + "、".join("证明用途（--purpose）" if q == "purpose" else f"{fact_label(q, specs)}（--fact {q}）"
                                 for q in questions)


def _print_decision(d) -> None:
    from sealdesk.core.engine.model import REQUIREMENTS

    print(f"【{d.outcome.label}】{d.query}")
    if d.item:
        print(f"事项：{d.item.list_label}第{d.item.number}项 {d.item.name}")
    elif d.candidates:
        print("候选事项：" + "；".join(f"{c.list_label}第{c.number}项 {c.name}" for c in d.candidates))
        print("请问明居民所要的是哪一项，按该项名称重新决定；核对后确认都不是的，加 --fact not_listed")
    elif d.outcome.value == "ask" and not d.questions:
        print("事项：名称不明，请输入证明的具体名称")
    else:
        print("事项：未列入清单")
    if d.route:
        print(f"办事途径：{d.route}")
    if d.requirements:
        print("要求：" + "、".join(REQUIREMENTS.get(r, r) for r in d.requirements))
    if d.questions:
        print(questions_line(d.questions))
    for n in d.notices:
        print(f"告知：{n}")
    print("依据：" + "；".join(c.text() for c in d.citations))
    for w in d.warnings:
        print(f"注意：{w}")
    for line in d.explanation:
        print(f"  · {line}")


def cmd_decide(args) -> int:
    from sealdesk.core.engine.protocol import decide

    reg = _registry()
    if args.batch:
        if args.name:
            raise BadInput("--batch 与证明名称不能同时使用")
        return _batch(reg, args)
    if not args.name:
        raise BadInput("缺少证明名称，例如：sealdesk decide 无犯罪记录证明 --jurisdiction national")
    request, on = request_from_args(args.name, args, reg.facts)
    view = _view(reg, args.jurisdiction, on)
    d = decide(view, request)
    if args.json:
        print(d.to_json_text())
    else:
        _print_decision(d)
    return 0


_BATCH_KEYS = {"query", "purpose", "requester", "on", "facts", "jurisdiction"}


class _BatchWorker:
    """Decides a chunk of batch lines; runs in the parent or in a forked worker process."""

    def __init__(self, reg, jurisdiction: str, default_on: dt.date):
        self.reg = reg
        self.jurisdiction = jurisdiction
        self.default_on = default_on
        self.dates: dict[str, dt.date] = {}
        self.views: dict[tuple, object] = {}

    def one(self, raw: bytes | str) -> str:
        from sealdesk.core.engine.protocol import decide

        try:  # each line is decoded on its own: one line in GBK or with bad bytes loses only itself
            line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        except UnicodeDecodeError as exc:
            raise BadInput(f"不是 UTF-8 编码（第 {exc.start + 1} 个字节起无法解码）；请把文件存为 UTF-8") from None
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInput(f"不是有效的 JSON（{exc.msg}）") from None
        except (ValueError, RecursionError):  # a number of thousands of digits, nesting thousands deep
            raise BadInput("不是可用的 JSON（数字过长或嵌套过深）") from None
        if not isinstance(obj, dict):
            raise BadInput("每行应为一个 JSON 对象")
        unknown = obj.keys() - _BATCH_KEYS
        if unknown:
            raise BadInput(f"未知字段 {sorted(unknown)[0]!r}")
        query = obj.get("query")
        if not isinstance(query, str) or not query.strip():
            raise BadInput("缺少 query（证明名称）")
        purpose = obj.get("purpose") or ""
        requester = obj.get("requester") or ""
        if not isinstance(purpose, str) or not isinstance(requester, str):
            raise BadInput("purpose 和 requester 应为字符串")
        on_text = obj.get("on")
        if on_text is None:
            on = self.default_on
        else:
            on = self.dates.get(on_text) if isinstance(on_text, str) else None
            if on is None:
                on = self.dates[on_text] = parse_date(on_text)
        facts = obj.get("facts")
        if facts:
            facts = facts_from_json(facts, self.reg.facts)
        jid = obj.get("jurisdiction") or self.jurisdiction
        if not isinstance(jid, str):
            raise BadInput("jurisdiction 应为字符串（辖区 ID）")
        view = self.views.get((jid, on))
        if view is None:
            view = self.views[(jid, on)] = _view(self.reg, jid, on)
        return decide(view, Request(query, purpose, requester, Facts(facts))).to_json_text()

    def chunk(self, numbered: list[tuple[int, str]]) -> tuple[bytes, list[str], int]:
        """(the output lines as UTF-8, the error lines for stderr, how many lines hit an internal error)."""
        from sealdesk.core.engine.plugins import BrokenJurisdiction

        out, errors, crashed = [], [], 0
        for n, line in numbered:
            try:
                text = self.one(line)
                text.encode("utf-8")  # a lone surrogate (\ud800 in the JSON) cannot be written out
                out.append(text)
            except (BadInput, BrokenJurisdiction, UnicodeEncodeError) as exc:
                # A line for a jurisdiction whose plugin failed (now or at load) is a bad line like any.
                msg = "含有无法编码的字符（孤立的代理项 \\ud800 等）" if isinstance(exc, UnicodeEncodeError) else str(exc)
                errors.append(f"sealdesk: 第{n}行：{msg}")
                out.append(_dump({"line": n, "error": msg}))
            except Exception:  # a bug met by one line: that line gets its placeholder, the others their answers
                crashed += 1
                log = log_exception(f"decide --batch, line {n}: {line[:500]!r}")
                msg = "内部错误，未能决定此行" + (f"；详情已记入 {log}" if log else "")
                errors.append(f"sealdesk: 第{n}行：{msg}")
                out.append(_dump({"line": n, "error": msg}))
        # Encoded here, in the worker: the parent only copies bytes to stdout.
        return (("\n".join(out) + "\n").encode("utf-8") if out else b""), errors, crashed


_WORKER: _BatchWorker | None = None


def _work(numbered):
    return _WORKER.chunk(numbered)


def _chunks(stream, size: int = 2000):
    chunk = []
    for n, line in enumerate(stream, 1):
        if line.strip():
            chunk.append((n, line))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _batch(reg, args) -> int:
    global _WORKER
    default_on = parse_date(args.on) if args.on else dt.date.today()
    try:
        _view(reg, args.jurisdiction, default_on)  # fail fast on a missing or unknown jurisdiction
    except BadInput:
        if args.jurisdiction not in reg.broken:
            raise  # an unavailable one is not fatal: lines naming other jurisdictions are still decided
    try:
        # Bytes: each line is decoded on its own (a GBK line is reported, the others are decided).
        stream = getattr(sys.stdin, "buffer", None) if args.batch == "-" else open(args.batch, "rb")
    except OSError as exc:
        raise BadInput(f"无法读取批量文件 {args.batch}：{exc.strerror or exc}") from None
    if stream is None:
        raise BadInput("标准输入不可用，请用 --batch FILE.jsonl 给出批量文件")
    if not 0 <= (args.jobs or 0) <= 64:
        raise BadInput(f"--jobs 应为 1 到 64 之间的整数，而不是 {args.jobs}")
    _WORKER = _BatchWorker(reg, args.jurisdiction, default_on)
    jobs = args.jobs or min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)
    bad = crashed = 0
    with stream:
        if jobs > 1 and sys.platform.startswith("linux"):
            # Decisions are independent: fork workers that inherit the loaded registry; imap keeps line order.
            import multiprocessing

            import signal

            # Ctrl-C: the parent stops the pool and says so once; the workers do not each print a traceback.
            with multiprocessing.get_context("fork").Pool(jobs, signal.signal, (signal.SIGINT, signal.SIG_IGN)) as pool:
                results = pool.imap(_work, _chunks(stream), chunksize=1)
                for text, errors, n in results:
                    bad += _emit(text, errors)
                    crashed += n
        else:
            for chunk in _chunks(stream):
                text, errors, n = _WORKER.chunk(chunk)
                bad += _emit(text, errors)
                crashed += n
    return EXIT_INTERNAL if crashed else EXIT_BAD_INPUT if bad else 0


def _emit(data: bytes, errors: list[str]) -> int:
    for e in errors:
        print(e, file=sys.stderr)
    out = getattr(sys.stdout, "buffer", None)
    if sys.stdout is None:  # closed (`>&-`): nowhere to write
        pass
    elif out is None:  # a text-only stream (tests capturing stdout)
        sys.stdout.write(data.decode("utf-8"))
    else:
        sys.stdout.flush()
        out.write(data)
    return len(errors)


# -- entry point ---------------------------------------------------------------------
# The command groups outside this module: command -> the cli module that adds its parser and runs it.
# Only the group of the command being run is imported (tests/test_architecture.py checks the table).
GROUPS = {
    **dict.fromkeys(("init", "request", "approve", "stamp", "file", "void", "register", "audit", "info", "serve"),
                    "register"),
    **dict.fromkeys(("paper", "report", "fonts"), "papers"),
    "plugin": "plugin",
    **dict.fromkeys(("scenarios", "demo", "train"), "scenario"),
    "compare": "compare",
    "county": "county",
    "results": "results",
    "web": "web",
}


def _command_of(argv: list[str]) -> str | None:
    """The subcommand named in ``argv`` (the first word that is not an option or an option's value)."""
    takes_value = {"--home", "--socket", "--as"}
    skip = False
    for a in argv:
        if skip:
            skip = False
        elif a in takes_value:
            skip = True
        elif not a.startswith("-"):
            return a
    return None


def build_parser(command: str | None = "") -> argparse.ArgumentParser:
    """The parser; with ``command`` (a subcommand of main or of one group), only that group is imported.
    ``""`` (the default) or an unknown command imports every group, for the full help."""
    p = _Parser(prog="sealdesk", description="社区证明事项办理：决定、说明、出具与用印登记")
    p.add_argument("--home", help="配置和登记簿所在目录（默认 $SEALDESK_HOME 或用户数据目录）")
    p.add_argument("--socket", help="登记簿服务的套接字（默认 $SEALDESK_SOCKET 或社区配置）")
    p.add_argument("--as", dest="as_login", metavar="LOGIN", help="以他人身份操作（仅演示社区）")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    s = sub.add_parser("jurisdictions", help="列出已安装的辖区")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_jurisdictions)

    s = sub.add_parser("items", help="列出辖区的负面清单和保留清单")
    s.add_argument("--jurisdiction", "-j")
    s.add_argument("--on", help="日期 YYYY-MM-DD（默认今天）")
    s.add_argument("--json", action="store_true")
    s.add_argument("--format", choices=("text", "json", "toml"), default="text")
    s.set_defaults(func=cmd_items)

    from sealdesk.core.cli.helptext import FACTS_EPILOG, FactsHelpFormatter  # --help lists the facts

    s = sub.add_parser("decide", help="按辖区规则决定一个证明申请", epilog=FACTS_EPILOG,
                       formatter_class=FactsHelpFormatter)
    s.add_argument("name", nargs="?", help="居民所要的证明名称")
    s.add_argument("--jurisdiction", "-j")
    add_request_args(s)
    s.add_argument("--json", action="store_true")
    s.add_argument("--batch", metavar="FILE.jsonl", help="每行一个申请（- 为标准输入）")
    s.add_argument("--jobs", type=int, default=0, help="批量时的并行进程数（默认按可用 CPU，最多 4）")
    s.set_defaults(func=cmd_decide)

    s = sub.add_parser("tui", help="受理界面（不带参数运行 sealdesk 时默认打开）")
    s.add_argument("--home", default=argparse.SUPPRESS, help="配置和登记簿所在目录（未配置社区时使用演示社区）")
    s.add_argument("--socket", default=argparse.SUPPRESS, help="登记簿服务的套接字")
    s.add_argument("--as", dest="as_login", default=argparse.SUPPRESS, metavar="LOGIN", help="以他人身份操作（仅演示社区）")
    s.set_defaults(func=cmd_tui)

    import importlib

    if command in sub.choices:
        groups = ()
    elif command in GROUPS:
        groups = (GROUPS[command],)
    else:
        groups = tuple(dict.fromkeys(GROUPS.values()))
    for group in groups:
        importlib.import_module(f"sealdesk.core.cli.{group}").add_parsers(sub)
    return p


def cmd_tui(args) -> int:
    if not sys.stdin.isatty() or not sys.stdout.isatty():
        raise BadInput("受理界面需要终端（请在 SSH 会话或终端中运行；脚本请使用子命令，见 sealdesk --help）")
    from sealdesk.tui.app import run

    return run(getattr(args, "home", None), getattr(args, "as_login", None), getattr(args, "socket", None))


class _Printable:
    """stdout for text output: user data (a name typed with ESC or RLO in it) never acts on the terminal."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, s: str) -> int:
        return self._stream.write(printable(s))

    def __getattr__(self, name):  # flush, buffer (papers written to stdout as bytes), isatty…
        return getattr(self._stream, name)


_RAW_OUTPUT = ("tui", "demo", "train", "serve")  # the screen and the service write their own output
# Commands that write what was typed into the register (the clerk's screen among them): refused when the
# terminal is not UTF-8, before anything is recorded.
_RECORDING = ("init", "request", "approve", "stamp", "file", "void", "tui")
# Options whose values are file names, which may hold any bytes (os functions take their surrogate escapes).
_PATH_DESTS = frozenset({"home", "socket", "batch", "output", "file", "files", "dir", "scenario", "listen",
                         "service_socket", "dest", "checkpoint", "key"})

# Exit codes: 0 done; 1 a check found a problem (register verify, audit, scenarios --check, paper verify);
# 2 bad input, configuration or register file; 3 refused by a workflow rule (cli.register.EXIT_REFUSED), or
# an internal error (one line on stderr, the details in the error log); 4 paper verify: a voided matter's
# paper (cli.register.EXIT_VOIDED); 130 interrupted (Ctrl-C).
EXIT_INTERNAL = 3
EXIT_INTERRUPTED = 130
_WRITE_FAILURES = {errno.ENOSPC: "磁盘空间不足", errno.EDQUOT: "超出磁盘配额", errno.EFBIG: "文件过大",
                   errno.EIO: "输入输出错误"}
_FILE_FAILURES = {errno.ENOENT: "不存在", errno.EEXIST: "已存在", errno.EACCES: "没有权限", errno.EPERM: "没有权限",
                  errno.EISDIR: "是目录", errno.ENOTDIR: "路径中有一部分不是目录", errno.ENAMETOOLONG: "文件名过长",
                  errno.ELOOP: "是符号链接（或链接层数过多）", errno.EROFS: "文件系统只读"}


def main(argv: list[str] | None = None) -> int:
    """``sealdesk``: no traceback reaches the user (issue 15). Known errors print one line and exit 1, 2
    or 3; an unexpected one prints one Chinese line naming the error log (the traceback, ID numbers
    masked) and exits 3; Ctrl-C exits 130; a closed pipe on stdout (``| head``) ends quietly."""
    foreign = _foreign_encoding()  # before the streams are made UTF-8 below
    for stream in (sys.stdout, sys.stderr):
        try:
            # backslashreplace: a lone surrogate (an undecodable byte of a file name) shows as \udcff
            stream.reconfigure(encoding="utf-8", errors="backslashreplace")
        except (AttributeError, ValueError):
            pass
    if argv is None:
        argv = sys.argv[1:]
    if not argv:
        argv = ["tui"]  # the clerk's screen is the default job
    streams = sys.stdout, sys.stderr
    try:
        code = _run(argv, foreign)
        if sys.stdout is not None:
            sys.stdout.flush()  # here, not at the interpreter's exit: a full disk is reported like the rest
        return code
    except KeyboardInterrupt:
        _say("sealdesk: 已中断")
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        if _stdout_gone():  # `sealdesk compare … | head`: the reader has gone, not an error
            _silence_stdout()
            return 0
        return _internal_error(argv)  # a pipe of the command's own (not stdout) broke
    except OSError as exc:
        if exc.errno in _WRITE_FAILURES and exc.filename is None:  # stdout on a full disk (-o files say so themselves)
            _say(f"sealdesk: 无法写出结果：{_WRITE_FAILURES[exc.errno]}，命令未能完成")
            return EXIT_BAD_INPUT
        if exc.filename is not None:  # a file named on the command line, or in the configuration, is unusable
            name = str(exc.filename)
            name = name if len(name) <= 80 else name[:60] + "…"
            reason = _FILE_FAILURES.get(exc.errno) or _WRITE_FAILURES.get(exc.errno) or exc.strerror or str(exc)
            _say(f"sealdesk: 无法使用 {name}：{reason}，命令未能完成")
            return EXIT_BAD_INPUT
        return _internal_error(argv)
    except SystemExit as exc:  # argparse's --help, a command's sys.exit: a code, never an escape from main
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        _say(f"sealdesk: {exc.code}")
        return 1
    except Exception:
        return _internal_error(argv)
    finally:  # a caller in the same process (tests) gets its own streams back
        if isinstance(sys.stdout, _Printable) and not isinstance(streams[0], _Printable):
            sys.stdout = streams[0]
        if isinstance(sys.stderr, _Printable) and not isinstance(streams[1], _Printable):
            sys.stderr = streams[1]


def _run(argv: list[str], foreign: str | None) -> int:
    parser = build_parser(_command_of(argv))
    try:
        args = parser.parse_args(argv)
        if foreign and _records(args):
            return _refuse_foreign(foreign)
        _check_text_args(args)
        if args.command not in _RAW_OUTPUT:
            if (not getattr(args, "json", False) and not getattr(args, "batch", None)
                    and sys.stdout is not None and not isinstance(sys.stdout, _Printable)):
                sys.stdout = _Printable(sys.stdout)
            if sys.stderr is not None and not isinstance(sys.stderr, _Printable):  # messages quote user data too
                sys.stderr = _Printable(sys.stderr)
        if not getattr(args, "func", None):
            if args.command is None:  # only --home/--socket/--as: the clerk's screen, as with no arguments
                return cmd_tui(args)
            if args.command == "register":
                raise BadInput("register 需要子命令：list、show、export、verify")
            if args.command == "paper":
                raise BadInput("paper 需要子命令：certificate、refusal、commitment、consultation、verify")
            if args.command == "report":
                raise BadInput("report 需要子命令：inventory、retained、notice")
            if args.command == "county":
                raise BadInput("county 需要子命令：setup、reindex、communities、inventory、counts、audit")
            parser.print_help()
            return 0
        return args.func(args)
    except BadInput as exc:
        _say(f"sealdesk: {exc}")
        return EXIT_BAD_INPUT
    except Exception as exc:
        from sealdesk.core.cli.register import EXIT_REFUSED
        from sealdesk.core.register.community import ConfigError
        from sealdesk.core.papers.fonts import FontError
        from sealdesk.core.papers.content import TemplateError
        from sealdesk.core.register.store import RegisterError
        from sealdesk.core.register.resident import InvalidInput
        from sealdesk.core.desk.service import ServiceError
        from sealdesk.core.register.workflow import Refused

        if isinstance(exc, Refused):
            _say(f"sealdesk: {exc}")
            return EXIT_REFUSED
        from sealdesk.core.engine.plugins import BrokenJurisdiction

        if isinstance(exc, BrokenJurisdiction):  # a plugin failed, here or at load: 辖区 X 不可用：…
            _say(f"sealdesk: {exc}")
            return EXIT_BAD_INPUT
        if isinstance(exc, (InvalidInput, ConfigError, RegisterError, ServiceError, FontError, TemplateError)):
            _say(f"sealdesk: {exc}")
            return EXIT_BAD_INPUT
        raise  # main's guard: one line, the details in the error log


def _say(message: str) -> None:
    """One line on stderr (a line break typed into a value becomes a space) without terminal controls;
    nothing if stderr is gone."""
    line = " ".join(printable(message).splitlines())
    try:
        print(line.encode("utf-8", "backslashreplace").decode("utf-8"), file=sys.stderr)
    except (OSError, ValueError):
        pass


def _records(args) -> bool:
    """Whether the command records what was typed (a paper records its text: all but ``paper verify``)."""
    if args.command == "paper":
        return getattr(args, "paper", None) not in (None, "verify")
    return args.command in _RECORDING


def _foreign_encoding() -> str | None:
    """The encoding of the terminal (the standard streams, or the arguments) if it is not UTF-8."""
    import codecs

    names = [sys.getfilesystemencoding()]
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            names.append(stream.encoding)
        except Exception:  # a closed descriptor (None), a stand-in without an encoding
            pass
    for name in names:
        if isinstance(name, str):
            try:
                if codecs.lookup(name).name != "utf-8":
                    return name
            except LookupError:
                return name
    return None


def _refuse_foreign(encoding: str) -> int:
    """A recording command on a terminal that is not UTF-8: what was typed would be recorded garbled."""
    import codecs

    message = (f"sealdesk: 终端的字符编码是 {encoding}，不是 UTF-8：为免在登记簿中记入乱码，未作任何登记；"
               "请把终端（SSH 客户端）和 LANG 设为 UTF-8（例如 export LANG=zh_CN.UTF-8）后重试\n"
               f"sealdesk: the terminal's encoding is {encoding}, not UTF-8: nothing was recorded; "
               "set the terminal and LANG to UTF-8\n")
    # In the terminal's own encoding (the streams were made UTF-8 above), but for ASCII (LANG=C), which
    # tells nothing of the terminal: UTF-8 then. The English line is readable in any case.
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        codec = "ascii"
    if codec == "ascii":
        encoding = "utf-8"
    try:
        sys.stderr.flush()
        sys.stderr.buffer.write(message.encode(encoding, "replace"))
        sys.stderr.buffer.flush()
    except (AttributeError, LookupError, OSError, ValueError):
        _say(message.rstrip("\n"))
    return EXIT_BAD_INPUT


def _check_text_args(args) -> None:
    """Refuse an argument with bytes that are not UTF-8 (decoded to lone surrogates): typed on a GBK
    terminal under a UTF-8 LANG, it would be shown, and recorded, as mojibake. UTF-8 bytes that an
    ASCII locale left undecoded are decoded. File names may hold any bytes."""
    for dest, value in vars(args).items():
        if dest in _PATH_DESTS:
            continue
        values = value if isinstance(value, list) else [value]
        for i, v in enumerate(values):
            if isinstance(v, str) and not v.isascii():
                try:
                    v.encode("utf-8")
                    continue
                except UnicodeEncodeError:
                    pass
                try:
                    values[i] = v.encode(sys.getfilesystemencoding(), "surrogateescape").decode("utf-8")
                except UnicodeError:
                    raise BadInput("参数中有不是 UTF-8 编码的文字（终端的字符编码可能是 GBK）：请把终端（SSH 客户端）的"
                                   "字符编码设为 UTF-8 后重试 (an argument is not UTF-8: set the terminal to UTF-8)") from None
        if not isinstance(value, list) and values[0] is not value:
            setattr(args, dest, values[0])


def _internal_error(argv: list[str]) -> int:
    log = log_exception("argv: " + repr(argv))
    message = "sealdesk: 内部错误，命令未能完成"
    if _command_of(argv) in (*_RECORDING, "paper"):
        message += "（请先用 sealdesk register list 查看是否已经登记，再决定是否重试）"
    _say(message + (f"；详情已记入 {log}" if log else "（错误日志也无法写入）"))
    return EXIT_INTERNAL


def _stdout_gone() -> bool:
    """Whether standard output is a pipe whose reader has gone (and not some other pipe or socket)."""
    try:
        import select

        poll = select.poll()
        poll.register(sys.stdout.fileno(), select.POLLOUT)
        return any(events & select.POLLERR for _, events in poll.poll(0))
    except (AttributeError, ValueError, OSError):  # no descriptor to look at (a test's captured stdout)
        return True


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that the interpreter's last flush does not complain of the pipe."""
    try:
        fd = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(fd, sys.stdout.fileno())
        finally:
            os.close(fd)
    except (AttributeError, ValueError, OSError):
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        except OSError:
            pass


if __name__ == "__main__":
    # ``python -m sealdesk.core.cli.main``: run the imported module, not this __main__ copy, so that
    # BadInput raised by the cli_* modules (which import sealdesk.core.cli.main) is the class caught.
    from sealdesk.core.cli.main import main as _main

    sys.exit(_main())
