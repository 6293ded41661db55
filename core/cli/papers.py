"""Commands for papers: ``paper certificate|refusal|commitment|consultation ENTRY -o FILE``,
``paper verify FILE`` and ``report inventory|retained|notice -o FILE``.

Every paper written is recorded in the register with its SHA-256 (printing the same paper
again gives the same bytes and adds no record). Files are written 0600: papers name residents.
Exit codes as for the register: 0 done, 1 ``paper verify`` found no such paper,
2 bad input, 3 refused.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os

from sealdesk.core.cli.register import EXIT_PROBLEM, EXIT_VOIDED, _as, _print_json, add_common, open_desk
from sealdesk.core.common.outfile import STDOUT, check_target, write_bytes
from sealdesk.core.papers.content import MATTER_PAPERS, PAPERS, REPORTS
from sealdesk.core.register.resident import InvalidInput


def _check_output(args) -> None:
    """Refuse a bad ``-o`` before the paper is made: making it records it in the register."""
    if args.output != STDOUT:
        check_target(args.output)


def _written(args, out: dict) -> int:
    write_bytes(args.output, base64.b64decode(out.pop("pdf")))
    if args.json:
        _print_json({**out, "file": os.path.abspath(args.output) if args.output != "-" else None})
    elif args.output != "-":
        note = "已登记" if out["new"] else "与已登记的文书相同，未重复登记"
        target = f"登记号 {out['entry']} 的" if out["entry"] else ""
        print(f"已生成{target}{out['label']}：{args.output}（{out['bytes'] // 1024 + 1} KB，SHA-256 {out['sha256'][:16]}…，"
              f"{note}：第 {out['record']} 条记录）")
    return 0


def cmd_paper(args) -> int:
    _check_output(args)
    desk = open_desk(args)
    out = desk.paper(args.paper, args.entry, content=args.content, as_login=_as(args))
    return _written(args, out)


def cmd_report(args) -> int:
    from sealdesk.core.cli.main import parse_date

    start = parse_date(args.date_from) if getattr(args, "date_from", None) else None
    end = parse_date(args.date_to) if getattr(args, "date_to", None) else None
    _check_output(args)
    out = open_desk(args).report(args.report, start, end, as_login=_as(args))
    return _written(args, out)


def cmd_paper_verify(args) -> int:
    try:
        with open(args.file, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
    except OSError as exc:
        raise InvalidInput(f"无法读取 {args.file}：{exc.strerror}") from None
    desk = open_desk(args)
    r = desk.find_paper(digest, as_login=_as(args))
    auto = False
    if r["found"] and not args.checkpoint:
        args.checkpoint = _latest_checkpoint(args)  # the newest the service wrote, if it is here
        auto = args.checkpoint is not None
    if r["found"] and args.checkpoint:
        r["checkpoint"] = _paper_checkpoint(args, desk, r["record"], auto)
    if args.json:
        print(json.dumps(r, ensure_ascii=False))
    elif not r["found"]:
        print(f"未通过：{args.file} 不是本登记簿登记过的文书，或内容已被改动（SHA-256 {digest}）")
    else:
        what = f"{r['label']}"
        if r.get("entry"):
            what += f"（登记号 {r['entry']}，{r.get('query', '')}，居民 {r.get('resident_name', '')}"
            what += f"，{r['serial_text']}）" if r.get("serial_text") else "）"
        print(f"通过：{args.file} 是第 {r['record']} 条记录登记的{what}，{r['at'][:16].replace('T', ' ')} "
              f"由 {r['printed_by']} 打印，未被改动")
        if r.get("check_code"):  # what the paper prints beside its seal (papers printed before it was added lack it)
            print(f"核验码 {r['check_code']}（{r['check_label']}第 {r['check_record']} 条）")
        if r.get("voided_by"):
            print(f"注意：该事项已作废（第 {r['voided_by']} 条记录：{r.get('void_reason') or ''}），此文书不再有效")
        c = r.get("checkpoint")
        if c and c.get("pending"):
            print(f"最新的检查点 {c['file']}（{c['time']}，{c['records']} 条记录）早于该文书的第 {r['record']} 条记录，"
                  "下一个检查点签署后才能为它作证；该检查点本身与登记簿相符")
        elif c and c["problem"]:
            print(f"检查点 {c['file']}：未通过——{c['problem']}")
        elif c:
            print(f"依据检查点 {c['file']}（{c['time']}，{c['records']} 条记录）：该文书的记录当时已在登记簿中，此后未被改写")
    if not r["found"] or (r.get("checkpoint") or {}).get("problem"):
        return EXIT_PROBLEM
    return EXIT_VOIDED if r.get("voided_by") else 0


def _latest_checkpoint(args) -> str | None:
    """The newest checkpoint file in the community's ``checkpoints/`` folder (where ``sealdesk serve``
    writes them by default), or None: without ``--checkpoint`` a paper is checked against it."""
    from pathlib import Path

    from sealdesk.core.cli.register import _home

    folder = Path(_home(args)) / "checkpoints"
    try:
        files = [p for p in folder.glob("checkpoint-*.txt") if p.is_file()]
    except OSError:
        return None
    if not files:
        return None
    return str(max(files, key=lambda p: (p.stat().st_mtime, p.name)))


def _paper_checkpoint(args, desk, record: int, auto: bool = False) -> dict:
    """The checkpoint a paper's record is vouched for by: signed by the trusted key, extended by the
    register, and taken after the record was written. The newest one found by itself (``auto``) may
    predate a paper just printed: that is said, not a failure."""
    from sealdesk.core.cli.register import _check_checkpoints

    c = _check_checkpoints(args, desk, [args.checkpoint])[0]
    if auto and not c["problem"] and c["records"] < record:
        c["pending"] = True
    elif not c["problem"] and c["records"] < record:
        c["problem"] = (f"该检查点（{c['time']}）只到第 {c['records']} 条记录，早于该文书的第 {record} 条记录，"
                        "不能为它作证；请用更新的检查点")
    return c


def cmd_fonts(args) -> int:
    import time

    from sealdesk.core.papers import fonts, glyphs
    from sealdesk.core.register.community import load_community
    from sealdesk.core.cli.register import _home

    config = None
    try:
        config = load_community(_home(args)).paper_fonts
    except Exception:  # no community yet: the chain without an official font
        pass
    body, title = fonts.configured(config)
    chain = fonts.chain(body)
    if args.warm:
        t = time.perf_counter()
        n = glyphs.warm(config)
        print(f"字形缓存已就绪：{n} 个字符，用时 {time.perf_counter() - t:.1f} 秒（{glyphs.store().path}）")
        from sealdesk.core.engine.plugins import default_registry
        from sealdesk.core.engine.suggest import warm_pinyin

        print(f"拼音缓存已就绪：{warm_pinyin(default_registry())} 个名称")
        return 0
    if args.check is not None:
        lost = fonts.missing(args.check, chain)
        if lost:
            print(f"以下字符没有字体可以显示：{fonts.describe(lost)}")
            return EXIT_PROBLEM
        print("全部字符都可以打印")
        return 0
    if title:
        fonts.check_face(title, "配置的标题字体")
    shown = [*chain, *([] if body else [fonts.BOLD]), *([title] if title else [])]
    for f in shown:
        state = "已安装" if f.present else f"未安装（{f.package}）"
        print(f"{f.name:16} {state:8} {f.path}" + (f"#{f.index}" if f.index else ""))
    if body:
        print("粗体（标题、小标题、表头）：由公文字体加粗描边生成" + ("" if title else "；标题同此"))
    print(f"字形缓存：{glyphs.store().path}")
    return 0


def _output_arg(s) -> None:
    s.add_argument("--output", "-o", required=True, help="输出的 PDF 文件（- 为标准输出）：新建为仅本人可读（0600），"
                   "已有的普通文件被替换，不写入目录、设备、符号链接")


def add_parsers(sub) -> None:
    s = sub.add_parser("fonts", help="文书字体：字体链、检查字符能否打印、预先转换常用字形")
    add_common(s, json_flag=False, as_flag=False, socket_flag=False)
    s.add_argument("--check", metavar="TEXT", help="检查这些字符能否打印（例如居民姓名）")
    s.add_argument("--warm", action="store_true", help="预先转换模板、清单和 GB 2312 汉字的字形，并缓存清单名称的拼音（安装时运行）")
    s.set_defaults(func=cmd_fonts)

    p = sub.add_parser("paper", help="打印文书（证明、不予出具告知单、告知承诺书、议事协商记录）或校验文书")
    psub = p.add_subparsers(dest="paper", parser_class=type(p))
    for name in MATTER_PAPERS:
        s = psub.add_parser(name, help=f"打印{PAPERS[name]}（PDF）并登记其 SHA-256")
        add_common(s)
        s.add_argument("entry", type=int, help="登记号")
        _output_arg(s)
        if name == "certificate":
            s.add_argument("--content", help="证明的事实（不必写“兹证明”和“特此证明”，第一次打印时必填），例如：该居民自2019年起在本社区居住")
        s.set_defaults(func=cmd_paper, content=None)
    s = psub.add_parser("verify", help="校验一份 PDF 是否为本登记簿登记的文书且未被改动",
                        description="退出码：0 通过；1 不是本登记簿登记的文书或已被改动；4 是登记的文书，"
                                    "但其事项已作废（文书不再有效）；2 输入有误")
    add_common(s)
    s.add_argument("file", help="PDF 文件")
    s.add_argument("--checkpoint", metavar="FILE",
                   help="对照乡镇或检查人员保存的检查点：证明该文书的记录当时已在登记簿中且未被改写"
                        "（默认用配置目录下 checkpoints/ 中最新的一个，如有）")
    s.add_argument("--key", help="信任的公钥（文件或 base64；默认本社区的 checkpoint.pub）")
    s.set_defaults(func=cmd_paper_verify)

    r = sub.add_parser("report", help="报表：inventory 统计表、retained 拟保留清单、notice 清单公示（PDF）")
    rsub = r.add_subparsers(dest="report", parser_class=type(r))
    for name in REPORTS:
        s = rsub.add_parser(name, help=f"生成{PAPERS[name]}（PDF）")
        add_common(s)
        if name == "inventory":
            s.add_argument("--from", dest="date_from", help="统计开始日期 YYYY-MM-DD（默认今年 1 月 1 日）")
            s.add_argument("--to", dest="date_to", help="统计结束日期 YYYY-MM-DD（默认今天）")
        _output_arg(s)
        s.set_defaults(func=cmd_report)
