"""Commands of the seal register: init, info, request, approve, stamp, file, void,
register list|show|export|verify, audit and serve.

They call a :class:`~sealdesk.core.desk.counter.Desk` (the register file) or, when a
register service is configured (``--socket``, ``$SEALDESK_SOCKET`` or
``[service] socket`` in community.toml), a
:class:`~sealdesk.core.desk.service.RemoteDesk` with the same calls.

Exit codes: 0 done; 1 ``register verify`` or ``audit`` found a problem;
2 bad input, configuration or register file; 3 refused by a workflow rule.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import json
import operator
import os
import stat
import sys

from sealdesk.core.register.community import (REGISTER_NAME, ROLES, ConfigError, config_path, demo_community, load_community, parse_person_arg,
                        resolve_home, save_community, Community)
from sealdesk.core.register.store import minutes as _local
from sealdesk.core.register.resident import InvalidInput, clean_text
from sealdesk.core.register.workflow import STATUS, serial_text

EXIT_PROBLEM = 1
EXIT_REFUSED = 3
EXIT_VOIDED = 4  # paper verify: the paper is the one registered, but its matter was voided


def add_common(p: argparse.ArgumentParser, json_flag: bool = True, as_flag: bool = True,
               socket_flag: bool = True) -> None:
    # SUPPRESS: the flag may be given before or after the subcommand without one overwriting the other.
    p.add_argument("--home", default=argparse.SUPPRESS, help="配置和登记簿所在目录（默认 $SEALDESK_HOME 或用户数据目录）")
    if socket_flag:
        p.add_argument("--socket", default=argparse.SUPPRESS, help="登记簿服务的套接字（默认 $SEALDESK_SOCKET 或配置）")
    if as_flag:
        p.add_argument("--as", dest="as_login", default=argparse.SUPPRESS, metavar="LOGIN",
                       help="以他人身份操作（仅演示社区，用于培训和测试）")
    if json_flag:
        p.add_argument("--json", action="store_true", help="输出 JSON")


def _home(args):
    return resolve_home(getattr(args, "home", None))


def open_desk(args):
    """The register the command works on: the service if one is configured, else the file."""
    home = _home(args)
    socket_path = getattr(args, "socket", None) or os.environ.get("SEALDESK_SOCKET")
    community = None
    if not socket_path:
        community = load_community(home)
        socket_path = community.socket or None
    if socket_path:
        from sealdesk.core.desk.service import RemoteDesk

        return RemoteDesk(socket_path)
    from sealdesk.core.desk.counter import Desk

    return Desk(home, community=community)


def _as(args):
    return getattr(args, "as_login", None)


def _print_json(obj) -> None:
    print(json.dumps(obj, ensure_ascii=False, indent=None))


# -- init / info -----------------------------------------------------------------------------
def cmd_init(args) -> int:
    from sealdesk.core.cli.main import _registry

    home = _home(args)
    reg = _registry()
    jid = args.jurisdiction or ("national" if args.demo else None)
    if not jid:
        raise InvalidInput("缺少 --jurisdiction（可选：" + ", ".join(reg.ids()) + "）")
    if jid not in reg.ids():
        raise InvalidInput(f"未知辖区：{jid!r}（可选：{', '.join(reg.ids())}）")
    if args.demo:
        if args.person or args.community:
            raise InvalidInput("--demo 自带演示人员和社区名称，不能同时使用 --person 或 --community")
        community = demo_community(home, jid, reg.jurisdictions[jid].name)
    else:
        if not args.community:
            raise InvalidInput("缺少 --community（社区或村民委员会名称）")
        if not args.person:
            raise InvalidInput("缺少 --person 登录名:姓名:角色（可重复；角色：" + ", ".join(ROLES) + "）")
        people = tuple(parse_person_arg(p) for p in args.person)
        logins = [p.login for p in people]
        if len(set(logins)) != len(logins):
            raise InvalidInput("--person 中有重复的登录名")
        community = Community(
            name=clean_text(args.community, "社区名称", 60, required=True),
            township=clean_text(args.township, "乡镇（街道）名称", 60),
            county=clean_text(args.county, "县（市、区）名称", 60),
            jurisdiction=jid, people=people, home=home,
            socket=args.service_socket or "", register_group=args.group or "",
            register_mode=0o660 if args.group else 0o600,
        )
    if args.register_url:
        from dataclasses import replace

        if not args.register_url.startswith(("postgresql://", "postgres://")):
            raise InvalidInput("--register-url 应为 PostgreSQL 连接地址（postgresql://…）")
        community = replace(community, register_url=args.register_url)
    path = config_path(home)
    if path.exists() and args.force and community.demo:
        _refuse_demo_over_records(home)
    if path.exists() and args.force:
        backup = path.with_name(f"{path.name}.{dt.datetime.now():%Y%m%d%H%M%S}.bak")
        os.replace(path, backup)
        print(f"原配置已备份为 {backup}", file=sys.stderr)
    save_community(community)
    missing = [ROLES[r] for r in ("clerk", "director", "keeper") if not any(p.has(r) for p in community.people)]
    if args.json:
        _print_json({"config": str(path), "register": community.register_label, "demo": community.demo,
                     "jurisdiction": jid, "people": [p.login for p in community.people]})
    else:
        print(f"已建立社区配置：{path}")
        print(f"社区：{community.name}（{reg.jurisdictions[jid].name}，辖区 {jid}）" + ("【演示社区】" if community.demo else ""))
        for p in community.people:
            print(f"  {p.login:<10} {p.name}  {p.role_labels}")
        if community.register_url:
            print(f"登记簿：县登记簿 {community.register_label}（PostgreSQL）")
        else:
            print(f"登记簿：{community.register_path}（首次使用时建立，权限 {community.register_mode:04o}）")
    if missing:
        print("注意：尚无" + "、".join(missing) + "，用印流程无法完成", file=sys.stderr)
    return 0


def _refuse_demo_over_records(home) -> None:
    """``init --force --demo`` over a community that is not a demo and whose register holds records:
    refused, because a demo community lets anyone act as anyone (``--as``) in that register."""
    from sealdesk.core.register.store import RegisterError

    try:
        existing = load_community(home)
    except ConfigError:
        existing = None  # unreadable: judge by the register file that would be reused
    if existing is not None and existing.demo:
        return
    count = 0
    try:
        if existing is not None and existing.register_url:
            from sealdesk.core.register.postgres import PgRegister

            with PgRegister(existing.register_url, community=existing.name) as reg:
                count = reg.count()
        else:
            path = existing.register_path if existing is not None else home / REGISTER_NAME
            if path.exists():
                from sealdesk.core.register.store import Register

                with Register(path) as reg:
                    count = reg.count()
    except RegisterError:
        count = -1  # cannot tell: do not risk it
    if count:
        what = f"已有 {count} 条记录" if count > 0 else "无法读取"
        raise InvalidInput(f"本社区的登记簿{what}，不能把社区改为演示社区（演示社区允许 --as 以他人身份操作）；"
                           "请用另一个 --home 建立演示社区")


def cmd_info(args) -> int:
    home = _home(args)
    try:
        desk = open_desk(args)
    except ConfigError as exc:
        info = {"configured": False, "home": str(home), "config": str(config_path(home)), "message": str(exc)}
        if args.json:
            _print_json(info)
        else:
            print(exc)
        return 0
    info = {"configured": True, **desk.info()}
    if args.json:
        _print_json(info)
        return 0
    c = info["community"]
    print(f"sealdesk {info['version']}")
    print(f"社区：{c['name']}（{c['township']} {c['county']}）" + ("【演示社区】" if c["demo"] else ""))
    print(f"辖区：{info['jurisdiction_name']}（{info['jurisdiction']}）  用印流程：" +
          " → ".join({"approve": "审批", "stamp": "用印登记", "file": "备案"}.get(s, s) for s in info["workflow"] or []))
    print(f"配置：{info['config']}")
    print(f"登记簿：{info['register']}" + ("" if info["register_exists"] else "（尚未建立）"))
    if info["service"]:
        print(f"登记簿服务：{info['service']}")
    you = info.get("you")
    print(f"当前用户：{you['name']}（{you['login']}）" if you else "当前用户：不在本社区人员名单中")
    return 0


# -- the workflow ------------------------------------------------------------------------------
def _list_of(ref: dict) -> str:
    """The short name of the list an item reference is numbered in (负面清单, 某某县负面清单); a
    reference recorded before they named it is called by its kind."""
    return ref.get("list_short") or ("负面清单" if ref["list"] == "negative" else "保留清单")


def _print_decision_json(d: dict) -> None:
    from sealdesk.core.engine.model import REQUIREMENTS, Outcome

    item = d.get("item")
    print(f"【{Outcome(d['outcome']).label}】{d['query']}")
    if item:
        print(f"事项：{_list_of(item)}第{item['number']}项 {item['name']}")
    elif d.get("candidates"):
        print("候选事项：" + "；".join(f"{_list_of(c)}第{c['number']}项 {c['name']}" for c in d["candidates"]))
    elif d["outcome"] == "ask" and not d.get("questions"):
        print("事项：名称不明，请输入证明的具体名称")
    else:
        print("事项：未列入清单")
    if d.get("route"):
        print(f"办事途径：{d['route']}")
    if d.get("requirements"):
        print("要求：" + "、".join(REQUIREMENTS.get(r, r) for r in d["requirements"]))
    if d.get("questions"):
        from sealdesk.core.cli.main import questions_line

        print(questions_line(d["questions"]))
    from sealdesk.core.engine.model import citation_label

    print("依据：" + "；".join(citation_label(c) for c in d["citations"]))
    for w in d.get("warnings", []):
        print(f"注意：{w}")


def cmd_request(args) -> int:
    from sealdesk.core.cli.main import _registry, parse_date, parse_fact

    desk = open_desk(args)
    known = _registry().facts
    facts = dict(parse_fact(f, known) for f in args.fact or [])
    on = parse_date(args.on) if args.on else None
    out = desk.request(args.name, purpose=args.purpose or "", requester=args.requester or "", facts=facts,
                       resident_name=args.resident_name, resident_id=args.resident_id, on=on, as_login=_as(args))
    if args.json:
        _print_json({**out["decision"], "entry": out["entry"]})
    else:
        _print_decision_json(out["decision"])
        if out["entry"] is None:
            if d := out["decision"]:
                what = ("先问明所要的是哪一项（按该项名称），或核对后加 --fact not_listed" if d.get("candidates") else
                        "先回答待确认的问题（--purpose、--fact）" if d.get("questions") else "先输入证明的具体名称")
                print(f"未登记：请{what}，再重新申请")
        else:
            print(f"已登记：登记号 {out['entry']}（{STATUS[out['status']]}）")
    return 0


def _done(args, rec: dict, line: str) -> int:
    if args.json:
        _print_json(rec)
    else:
        print(line)
    return 0


def cmd_approve(args) -> int:
    rec = open_desk(args).approve(args.entry, as_login=_as(args))
    return _done(args, rec, f"已审批：登记号 {args.entry}（审批人 {rec['name']}，记录 {rec['record']}）")


def cmd_stamp(args) -> int:
    rec = open_desk(args).stamp(args.entry, as_login=_as(args))
    return _done(args, rec, f"已用印登记：登记号 {args.entry}，{rec['serial_text']}，有效期至 {rec['valid_until']}"
                            f"（保管人 {rec['name']}）")


def cmd_file(args) -> int:
    rec = open_desk(args).file(args.entry, as_login=_as(args))
    return _done(args, rec, f"已备案：登记号 {args.entry}（{rec['name']}）")


def cmd_void(args) -> int:
    rec = open_desk(args).void(args.entry, args.reason, as_login=_as(args))
    return _done(args, rec, f"已作废：登记号 {args.entry}，作废记录 {rec['record']}（原因：{rec['reason']}）")


# -- reading ---------------------------------------------------------------------------------
def _width(s: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, w: int) -> str:
    """Left-aligned in w terminal columns (CJK counts two), cut to fit, always one space after."""
    s = str(s or "")
    while _width(s) > w - 1:
        s = s[:-1]
    return s + " " * (w - _width(s))


def cmd_list(args) -> int:
    desk = open_desk(args)
    rows = desk.list(status=args.status, limit=args.limit, search=args.search or "", as_login=_as(args))
    if args.json:
        _print_json(rows)
        return 0
    if not rows:
        print("登记簿中没有符合条件的事项")
        return 0
    print(_pad("登记号", 7) + _pad("日期", 11) + _pad("事项", 20) + _pad("决定", 10) + _pad("状态", 16)
          + _pad("编号", 8) + "居民")
    for r in rows:
        serial = f"第{r['serial']}号" if r["serial"] else ""
        print(_pad(str(r["entry"]), 7) + _pad(r["at"][:10], 11) + _pad(r["item_name"] or r["query"], 20)
              + _pad(r["outcome_label"], 10) + _pad(r["status_label"], 16) + _pad(serial, 8) + r["resident_name"])
    return 0


def cmd_show(args) -> int:
    s = open_desk(args).show(args.entry, as_login=_as(args))
    if args.json:
        _print_json(s)
        return 0
    print(f"登记号 {s['entry']}  {_local(s['at'])}  {s['status_label']}")
    print(f"申请：{s['query']}" + (f"（用途：{s['purpose']}）" if s["purpose"] else "")
          + (f"  索要单位：{s['requester']}" if s["requester"] else ""))
    print(f"居民：{s['resident_name']}  身份证号：{s['resident_id']}")
    print(f"决定：{s['outcome_label']}" + (f"  事项：{s['item_name']}" if s["item_name"] else "（未列入清单）"))
    if s["route"]:
        print(f"办事途径：{s['route']}")
    if s["serial"]:
        print(f"编号：{serial_text(s['year'], s['serial'])}  有效期至 {s['valid_until']}")
    print("依据：" + "；".join(s["citations"]))
    print("记录：")
    # 核验码: the short code the matter's papers print for the record behind them (the stamp record on
    # a certificate, the matter's own record on a refusal or commitment), so a receiving unit that
    # quotes it can be answered from here.
    from sealdesk.core.papers.content import check_code, check_kinds

    coded = check_kinds(s["outcome"])
    code = f"  核验码 {check_code(s['hash'])}" if "matter" in coded else ""
    print(f"  {s['record']:>6}  {_local(s['at'])}  登记  {s['clerk_name']}（{s['clerk']}）{code}")
    for r in s["records"]:
        extra = f"  {r['serial_text']}" if r.get("serial_text") else (f"  原因：{r['reason']}" if r.get("reason") else "")
        if r["kind"] in coded:
            extra += f"  核验码 {check_code(r['hash'])}"
        print(f"  {r['record']:>6}  {_local(r['at'])}  {r['kind_label']}  {r['name']}（{r['actor']}）{extra}")
    print(f"哈希：{s['hash']}")
    return 0


EXPORT_FIELDS = ("entry", "record", "at", "status", "jurisdiction", "query", "item_id", "item_name", "list",
                 "number", "outcome", "purpose", "requester", "resident_name", "resident_id", "clerk", "approver",
                 "approved_at", "keeper", "stamped_at", "year", "serial", "valid_until", "filed_at", "voided_by",
                 "void_reason", "citations", "hash")


def _export_cells(desk, as_login=None):
    """Per matter, the EXPORT_FIELDS of its summary as text: None empty, other values as str(), the
    citations joined by "；". The register file's desk builds them itself; the service sends dicts."""
    table = getattr(desk, "export_table", None)
    if table is not None:
        if as_login:
            desk.person(None, as_login)  # --as on a read: held to the same rule as on a write
        yield from table(EXPORT_FIELDS)
        return
    from sealdesk.core.desk.counter import table_cells

    pick = operator.itemgetter(*EXPORT_FIELDS)
    cited = EXPORT_FIELDS.index("citations")
    for rec in desk.export(as_login=as_login):
        yield table_cells(pick(rec), cited)


def cmd_export(args) -> int:
    from sealdesk.core.common.outfile import BOM, STDOUT, might_run, output_file, spreadsheet_safe

    if args.bom and args.format != "csv":
        raise InvalidInput("--bom 只用于 --format csv（JSON 文件不带 BOM）")
    desk = open_desk(args)
    # Names of residents, personal data: a file named with -o is 0600 from its first byte and renamed
    # into place only when complete; symlinks, directories and devices are refused (core.common.outfile).
    with output_file(args.output or STDOUT, text=True) as out:
        # Lines are gathered into 64 KB writes: one write per line costs more than the line at a
        # million matters (standard output filters each write for the terminal).
        buf: list[str] = []
        size = 0
        if args.format == "json":
            # A JSON array, one record per line: json.load reads it, and so does a line-oriented reader.
            encode = json.JSONEncoder(ensure_ascii=False).encode  # what json.dumps(..., ensure_ascii=False) runs
            pick = operator.itemgetter(*EXPORT_FIELDS)
            out.write("[")
            sep = "\n"
            for rec in desk.export(as_login=_as(args)):
                line = sep + encode(dict(zip(EXPORT_FIELDS, pick(rec))))
                sep = ",\n"
                buf.append(line)
                size += len(line)
                if size > 1 << 16:
                    out.write("".join(buf))
                    buf.clear()
                    size = 0
            out.write("".join(buf) + "\n]\n")
        else:
            if args.bom:
                out.write(BOM)
            sink = io.StringIO()
            w = csv.writer(sink)
            w.writerow(EXPORT_FIELDS)
            commas = len(EXPORT_FIELDS) - 1

            def flush() -> None:
                if buf:
                    sink.write("\r\n".join(buf) + "\r\n")
                    buf.clear()

            for cells in _export_cells(desk, _as(args)):
                # The cells are what csv.writer writes (None empty, other values as str()): a line with
                # no comma, quote or line break inside a cell is the same joined by commas, without the
                # csv module's scan of every character; any other line the csv module writes itself.
                line = ",".join(cells)
                if might_run(line):  # a cell starting with =, +, -, @: Excel and WPS would run it as a formula
                    cells = spreadsheet_safe(cells)
                    line = ",".join(cells)
                if '"' in line or "\n" in line or "\r" in line or line.count(",") != commas:
                    flush()
                    w.writerow(cells)
                else:
                    buf.append(line)
                size += len(line)
                if size > 1 << 16:
                    flush()
                    out.write(sink.getvalue())
                    sink.seek(0)
                    sink.truncate()
                    size = 0
            flush()
            out.write(sink.getvalue())
    return 0


def cmd_verify(args) -> int:
    desk = open_desk(args)
    r = desk.verify(as_login=_as(args))
    files = getattr(args, "checkpoint", None) or []
    if files:
        r["checkpoints"] = _check_checkpoints(args, desk, files)
        if any(c["problem"] for c in r["checkpoints"]):
            r["ok"] = False
    if args.json:
        _print_json(r)
        return 0 if r["ok"] else EXIT_PROBLEM
    if r["first_bad_entry"] is not None:
        print(f"登记簿校验失败：第 {r['first_bad_entry']} 条记录——{r['problem']}")
    else:
        print(f"登记簿哈希链校验通过：共 {r['records']} 条记录；链头 {r['head']}")
    if r.get("warning"):
        print(f"注意：{r['warning']}")
    for c in r.get("checkpoints", []):
        if c["problem"]:
            print(f"检查点 {c['file']}：未通过——{c['problem']}")
        else:
            print(f"检查点 {c['file']}（{c['time']}，{c['records']} 条记录）：登记簿仍包含它，通过")
    if r["ok"] and not files:
        print("注意：未核验检查点；末尾记录被删除、换成旧副本或整体重算哈希，只有对照保存在别处的检查点才能发现"
              "（sealdesk register verify --checkpoint 文件…）")
    return 0 if r["ok"] else EXIT_PROBLEM


def _check_checkpoints(args, desk, files: list[str]) -> list[dict]:
    """Each checkpoint file: signed by the trusted key, of this community, and extended by the register.
    The files and ``--key`` are read here; the register (the file's or the service's) checks them."""
    from pathlib import Path

    key = None
    if args.key:
        key = args.key
        if os.path.isfile(key):
            try:
                key = Path(key).read_text(encoding="ascii", errors="replace").strip()
            except OSError as exc:
                raise InvalidInput(f"无法读取公钥 {args.key}：{exc.strerror}") from None
    out = []
    for f in files:
        try:
            text = Path(f).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            out.append({"file": f, "time": None, "records": None,
                        "problem": f"无法读取 {f}：{getattr(exc, 'strerror', None) or exc}"})
            continue
        out.append(desk.check_checkpoint(text, f, key, as_login=_as(args)))
    return out


def cmd_clear_alarm(args) -> int:
    """An inspector lets the counter record again after looking into a failed verify."""
    desk = open_desk(args)
    r = desk.clear_alarm(args.note, as_login=_as(args))
    if args.json:
        _print_json(r)
    elif r["cleared"]:
        a = r["alarm"]
        print(f"已解除登记簿校验告警（{a.get('found')} 发现：第 {a.get('first_bad_entry')} 条记录）；核查说明：{r['note']}")
    else:
        print(r["message"])
    return 0


def cmd_checkpoint(args) -> int:
    """Sign the register's head as it is now (after verifying the chain) and print the checkpoint.
    Through the service, the service signs it with the key it owns."""
    r = open_desk(args).checkpoint(as_login=_as(args))
    if not r["ok"]:
        print(f"登记簿校验失败，不签署检查点：第 {r['first_bad_entry']} 条记录——{r['problem']}", file=sys.stderr)
        return EXIT_PROBLEM
    if args.output and args.output != "-":
        from sealdesk.core.common.outfile import write_bytes

        write_bytes(args.output, r["text"].encode("utf-8"))  # refuses directories, devices and symlinks
        print(f"已签署检查点：{args.output}（{r['records']} 条记录）；请交乡镇（街道）或检查人员保存，连同公钥 "
              f"{r['public_key_file']}", file=sys.stderr)
    else:
        sys.stdout.write(r["text"])
    return 0


def cmd_backup(args) -> int:
    """A verified copy of the register file (SQLite's online backup: the WAL's records included)."""
    from pathlib import Path

    from sealdesk.core.register.store import Register, RegisterError

    community = load_community(_home(args))
    if community.register_url:
        raise InvalidInput("县登记簿（PostgreSQL）由数据库管理员用 pg_dump 或复制备份；本命令备份登记簿文件")
    dest = Path(args.dest)
    if dest.is_dir():
        dest = dest / f"register-{dt.datetime.now():%Y%m%d-%H%M%S}.sqlite3"
    source = community.register_path
    if not source.exists():
        raise InvalidInput(f"登记簿 {source} 尚不存在，无需备份")
    try:
        reg = Register(source)
    except RegisterError as exc:
        raise InvalidInput(str(exc)) from None
    try:
        r = reg.backup(dest)
    finally:
        reg.close()
    if args.json:
        _print_json({"backup": str(dest), **r.to_json()})
    elif r.ok:
        print(f"已备份到 {dest}：共 {r.count} 条记录，哈希链校验通过；链头 {r.head}")
    else:
        print(f"已备份到 {dest}，但备份校验失败：第 {r.problem.seq} 条记录——{r.problem.message}")
    return 0 if r.ok else EXIT_PROBLEM


def cmd_audit(args) -> int:
    a = open_desk(args).audit(as_login=_as(args))
    if args.json:
        _print_json(a)
        return 0 if a["ok"] else EXIT_PROBLEM
    from sealdesk.core.engine.model import Outcome

    print(f"检查：{a['community']}（{a['jurisdiction']}）  {a['records']} 条记录，{a['matters']} 件事项，"
          f"用印 {a['stamped']} 次，作废 {a['voided']} 件")
    print("决定：" + "，".join(f"{Outcome(k).label} {v}" for k, v in a["outcomes"].items()))
    print("哈希链：" + ("完整" if a["chain"]["ok"] else f"第 {a['chain']['first_bad_entry']} 条记录有问题"))
    print(f"违规 {a['violations']} 项，提示 {a['notices']} 项")
    shown = a["findings"][: args.limit] if args.limit else a["findings"]
    for f in shown:
        tag = "违规" if f["severity"] == "violation" else "提示"
        cite = f"（{f['citation']}）" if f["citation"] else ""
        print(f"  [{tag}] 第 {f['entry']} 条：{f['text']}{cite}  ［{f['rule']}］")
    if len(shown) < len(a["findings"]):
        print(f"  ……另有 {len(a['findings']) - len(shown)} 项（--limit 0 显示全部，或 --json）")
    return 0 if a["ok"] else EXIT_PROBLEM


def cmd_serve(args) -> int:
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.desk.service import DEFAULT_SOCKET, RegisterServer

    home = _home(args)
    community = load_community(home)
    desk = Desk(home, community=community)
    desk.register  # open (and create) now: a bad file fails at start, not at the first clerk
    path = args.listen or community.socket or DEFAULT_SOCKET
    try:
        mode = int(args.socket_mode, 8)
    except ValueError:
        raise InvalidInput("--socket-mode 应为八进制权限，例如 0660") from None
    if not 0 < args.idle_timeout <= 86400 or args.max_per_user < 1:
        raise InvalidInput("--idle-timeout 应为 0 到 86400 之间的秒数，--max-per-user 应不小于 1")
    if not 0 <= args.checkpoint_every <= 10080:
        raise InvalidInput("--checkpoint-every 应为 0（不写）到 10080 之间的分钟数")
    server = RegisterServer(path, desk, mode=mode, group=args.socket_group or "",
                            idle_timeout=args.idle_timeout, per_user=args.max_per_user)
    held = getattr(desk.register, "hold", None)  # a register file: a copy without its -wal is then told apart
    if held is not None:
        held()
    print(f"sealdesk 登记簿服务：{community.name}，登记簿 {community.register_label}，监听 {path}", file=sys.stderr)
    sys.stderr.flush()
    checkpoints = None
    if args.checkpoint_every > 0 and not community.register_url:
        from pathlib import Path

        from sealdesk.core.desk.service import Checkpointer

        folder = Path(args.checkpoint_folder) if args.checkpoint_folder else home / "checkpoints"
        checkpoints = Checkpointer(home, desk.registry, folder, args.checkpoint_every * 60)
        checkpoints.start()
    try:
        server.serve_until_stopped()  # SIGTERM or SIGINT: stop accepting, remove the socket, finish requests
    finally:
        if checkpoints is not None:
            checkpoints.stopped.set()
        server.server_close()
        if held is not None:
            try:
                desk.register.release()
            except Exception as exc:  # noqa: BLE001 - stopping goes on; the mark only warns a copy
                print(f"sealdesk: 无法清除登记簿的使用标记：{exc}", file=sys.stderr)
        desk.close()
    print("sealdesk 登记簿服务已停止", file=sys.stderr)
    return 0


def add_parsers(sub) -> None:
    s = sub.add_parser("init", help="建立社区配置（--demo 建立演示社区）")
    add_common(s, as_flag=False, socket_flag=False)
    s.add_argument("--demo", action="store_true", help="演示社区：每个角色一人，登录名 clerk、director、keeper、inspector、trainer")
    s.add_argument("--jurisdiction", "-j", help="辖区（演示社区默认 national）")
    s.add_argument("--community", help="社区（村）民委员会名称")
    s.add_argument("--township", help="乡镇（街道）名称")
    s.add_argument("--county", help="县（市、区）名称")
    s.add_argument("--person", action="append", metavar="LOGIN:姓名:角色[,角色]",
                   help="人员，可重复；角色：" + "、".join(f"{k}={v}" for k, v in ROLES.items()))
    s.add_argument("--service-socket", help="由登记簿服务管理时的套接字路径")
    s.add_argument("--group", help="登记簿服务的专用用户组（登记簿权限 0660）")
    s.add_argument("--register-url", help="使用县登记簿（PostgreSQL，postgresql://…）而不是本机登记簿文件")
    s.add_argument("--force", action="store_true", help="已有配置时先备份再重建（登记簿不受影响）")
    s.set_defaults(func=cmd_init)

    s = sub.add_parser("info", help="路径、版本、辖区和插件")
    add_common(s, as_flag=False)
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("request", help="决定一个证明申请并登记")
    add_common(s)
    s.add_argument("name", help="居民所要的证明名称")
    s.add_argument("--purpose", help="用途")
    s.add_argument("--requester", help="索要单位")
    s.add_argument("--fact", action="append", metavar="FACT[=true|false]", help="情形，可重复")
    s.add_argument("--resident-name", required=True, help="居民姓名")
    s.add_argument("--resident-id", required=True, help="居民身份证号码（校验后保存，显示和导出时隐去中间位）")
    s.add_argument("--on", help="决定日期 YYYY-MM-DD（仅演示社区）")
    s.set_defaults(func=cmd_request)

    for name, func, help_ in (("approve", cmd_approve, "负责人审批一个登记事项"),
                              ("stamp", cmd_stamp, "印章保管人用印登记（分配证明编号）"),
                              ("file", cmd_file, "备案（辖区要求时）")):
        s = sub.add_parser(name, help=help_)
        add_common(s)
        s.add_argument("entry", type=int, help="登记号")
        s.set_defaults(func=func)

    s = sub.add_parser("void", help="作废一个登记事项（追加作废记录，原记录不变）")
    add_common(s)
    s.add_argument("entry", type=int, help="登记号")
    s.add_argument("--reason", required=True, help="作废原因")
    s.set_defaults(func=cmd_void)

    r = sub.add_parser("register", help="用印登记簿：list、show、export、verify")
    rsub = r.add_subparsers(dest="register_command", parser_class=type(r))
    s = rsub.add_parser("list", help="列出登记事项（新的在前）")
    add_common(s)
    s.add_argument("--status", help="按状态筛选：" + "、".join(STATUS))
    s.add_argument("--search", help="按事项、居民、用途、索要单位搜索")
    s.add_argument("--limit", type=int, default=50, help="最多显示条数（0 为全部）")
    s.set_defaults(func=cmd_list)
    s = rsub.add_parser("show", help="显示一个登记事项及其全部记录")
    add_common(s)
    s.add_argument("entry", type=int, help="登记号")
    s.set_defaults(func=cmd_show)
    s = rsub.add_parser("export", help="导出登记簿（每个登记事项一条，身份证号隐去中间位）")
    add_common(s, json_flag=False)
    s.add_argument("--format", choices=("json", "csv"), default="json")
    s.add_argument("--output", "-o", help="输出文件（默认标准输出；- 亦为标准输出）：新建为仅本人可读（0600），"
                   "已有的普通文件被替换，不写入目录、设备、符号链接")
    s.add_argument("--bom", action="store_true",
                   help="CSV 开头加 UTF-8 BOM，Excel 直接打开时中文不乱码（仅 --format csv）")
    s.set_defaults(func=cmd_export)
    s = rsub.add_parser("verify", help="校验哈希链：发现改动、删除、插入或调换，指出第一条有问题的记录")
    add_common(s)
    s.add_argument("--checkpoint", nargs="+", metavar="FILE",
                   help="对照保存在别处的检查点：发现末尾被删除、换成旧副本、整体重算哈希")
    s.add_argument("--key", help="信任的公钥（文件或 base64；默认本社区的 checkpoint.pub）")
    s.set_defaults(func=cmd_verify)
    s = rsub.add_parser("clear-alarm", help="检查人员核查后解除登记簿校验告警（校验未通过后暂停登记）")
    add_common(s)
    s.add_argument("--note", required=True, help="核查说明（必填）")
    s.set_defaults(func=cmd_clear_alarm)
    s = rsub.add_parser("checkpoint", help="签署检查点：登记簿此刻的记录数和链头，交别处保存")
    add_common(s, json_flag=False)
    s.add_argument("--output", "-o", help="写入的文件（默认标准输出；已有的普通文件被替换，不写入目录、设备、符号链接）")
    s.set_defaults(func=cmd_checkpoint)
    s = rsub.add_parser("backup", help="备份登记簿文件（在线备份，含尚未写回的记录），并校验备份",
                        description="恢复：停止登记簿服务，把备份文件复制为配置中的登记簿路径（权限 0600 或配置的 0660），"
                                    "再运行 sealdesk register verify")
    add_common(s, as_flag=False, socket_flag=False)
    s.add_argument("dest", help="备份文件（不得已存在）或目录（在其中按时间命名）")
    s.set_defaults(func=cmd_backup)

    s = sub.add_parser("audit", help="监督检查：扫描登记簿，报告违反规则之处")
    add_common(s)
    s.add_argument("--limit", type=int, default=50, help="文本输出最多列出的问题数（0 为全部）")
    s.set_defaults(func=cmd_audit)

    s = sub.add_parser("serve", help="登记簿服务：独占登记簿，按套接字对端的系统用户识别身份")
    add_common(s, json_flag=False, as_flag=False, socket_flag=False)
    s.add_argument("--listen", help="监听的套接字路径（默认配置中的 service.socket 或 /run/sealdesk/register.sock）")
    s.add_argument("--socket-mode", default="0660", help="套接字权限（默认 0660）")
    s.add_argument("--socket-group", help="套接字所属用户组：其成员（经办人等）可以连接服务（服务用户须是该组成员）")
    s.add_argument("--idle-timeout", type=float, default=30.0, metavar="SECONDS",
                   help="连接空闲多久（秒）即关闭（默认 30；客户端下次请求时自动重连）")
    s.add_argument("--max-per-user", type=int, default=16, metavar="N",
                   help="每个登录名同时至多几个连接（默认 16）")
    s.add_argument("--checkpoint-every", type=float, default=60, metavar="MINUTES",
                   help="每隔多少分钟签署一个检查点（登记簿有新记录时；默认 60，0 为不写）")
    s.add_argument("--checkpoint-folder", metavar="DIR",
                   help="检查点写入的目录，供乡镇或检查人员收取（默认配置目录下的 checkpoints）")
    s.set_defaults(func=cmd_serve)
