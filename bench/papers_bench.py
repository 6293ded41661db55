"""Benchmark: papers (PDF) — a certificate against an fpdf2 one-line page, same font, same run.

Figures:

* **fresh**: ``sealdesk paper certificate`` as a clerk runs it, a new Python process each time
  (interpreter start, imports, plugins, register, layout, fonts, PDF, register record), beside
  a new process that only makes fpdf2's one-line page with Noto Serif CJK SC. Target ≤ 1.5 s.
* **warm**: one more certificate in a process that has printed before (``Desk.paper``: the
  register read, the template, layout, paper fonts, PDF, SHA-256 and its record), beside
  fpdf2's one-line page in a warm process (``add_font`` + ``output``, which subsets the font
  with fontTools every time). Target ≤ 50 ms.
* **size** of the certificate (two copies, one page each). Target ≤ 100 KB.
* **notice**: the public notice (公示, Chongqing's 37 items on about six landscape pages) in a warm
  process (``Desk.report``: lists, layout, fonts, PDF and its record), beside fpdf2 printing the
  same cells as a plain table with Noto Serif CJK SC. Target ≤ 150 ms.
* **inventory**: the inventory table (附件1) over 10,000 matters of the period (``Desk.report``:
  the register's index, grouping, layout, PDF), beside reading the same 10,000 matter records
  with a bare ``sqlite3`` scan. Target ≤ 2 s.

    .venv/bin/python bench/papers_bench.py [--runs 20] [--matters 10000]
"""

from __future__ import annotations

import argparse
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.desk.counter import Desk
from sealdesk.core.papers.fonts import CHAIN

ID = "11010519491231002X"
NAME = "王䶮𠮷"
ONE_LINE = f"""
import sys
from fpdf import FPDF
pdf = FPDF()
pdf.add_font("noto", fname={CHAIN[0].path!r}, collection_font_number={CHAIN[0].index})
pdf.add_page()
pdf.set_font("noto", size=14)
pdf.cell(0, 10, "兹证明该居民在本社区居住。")
pdf.output(sys.argv[1])
"""


def issued(desk: Desk, n: int) -> list[int]:
    out = []
    for i in range(n):
        e = desk.request("居民财产证明", resident_name=NAME, resident_id=ID, purpose="办理贷款", requester="某银行",
                         facts={"party_requires": True, "within_duties": True, "verifiable": True},
                         as_login="clerk")["entry"]
        desk.approve(e, as_login="director")
        desk.stamp(e, as_login="keeper")
        out.append(e)
    return out


def one_line_warm(runs: int) -> float:
    from fpdf import FPDF

    times = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        pdf = FPDF()
        pdf.add_font("noto", fname=CHAIN[0].path, collection_font_number=CHAIN[0].index)
        pdf.add_page()
        pdf.set_font("noto", size=14)
        pdf.cell(0, 10, "兹证明该居民在本社区居住。")
        bytes(pdf.output())
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


# What clerks type: a few dozen names, purposes and requesters, as a real year of a community has.
QUERIES = ["居民财产证明", "无犯罪记录证明", "居住证明", "亲属关系证明", "婚姻状况证明", "死亡证明", "健在证明",
           "出生证明", "无业证明", "收入证明", "政治考核证明", "国内公民办理收养证明", "申请法律援助的经济状况证明",
           "独生子女证明", "房屋租赁证明", "养犬证明", "经营场所证明", "证件遗失证明", "残疾状况证明", "家庭困难证明"]
PURPOSES = ["办理贷款", "应聘", "办理社会救助", "子女入学", "征兵", "收养登记", "法律援助", "不动产登记", "公证",
            "申请公租房", "办理医保", "出国探亲", "办理营业执照", "领取养老金", "申请低保"]
REQUESTERS = ["某银行", "县民政局", "县人力资源和社会保障局", "县公证处", "县不动产登记中心", "某学校", "县征兵办公室",
              "县司法局", "某公司", "县市场监督管理局", ""]


def register_matters(desk: Desk, n: int) -> None:
    facts = {"party_requires": True, "within_duties": True, "verifiable": True}
    for i in range(n):
        desk.request(QUERIES[i % len(QUERIES)], resident_name=NAME, resident_id=ID,
                     purpose=PURPOSES[(i * 7) % len(PURPOSES)], requester=REQUESTERS[(i * 3) % len(REQUESTERS)],
                     facts=facts if i % 3 else {}, as_login="clerk")


def warm_report(desk: Desk, paper: str, runs: int) -> tuple[float, int]:
    desk.report(paper, as_login="clerk")  # the first of the process is not counted
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        out = desk.report(paper, as_login="clerk")
        times.append(time.perf_counter() - t)
    return statistics.median(times), len(base64.b64decode(out["pdf"]))


def notice_baseline(desk: Desk, runs: int) -> float:
    """fpdf2 printing the notice's cells (number, name, route) as a plain landscape table."""
    from fpdf import FPDF

    view = desk.view(__import__("datetime").date.today())
    rows = [(str(it.number), it.name, it.route or "—") for it in view.items]
    times = []
    for _ in range(runs + 1):
        t = time.perf_counter()
        pdf = FPDF(orientation="landscape")
        pdf.add_font("noto", fname=CHAIN[0].path, collection_font_number=CHAIN[0].index)
        pdf.add_page()
        pdf.set_font("noto", size=10.5)
        with pdf.table(col_widths=(14, 85, 168), first_row_as_headings=False) as table:
            for r in rows:
                row = table.row()
                for v in r:
                    row.cell(v)
        bytes(pdf.output())
        times.append(time.perf_counter() - t)
    return statistics.median(times[1:])


def scan_baseline(path: Path, runs: int) -> float:
    import sqlite3

    times = []
    for _ in range(runs):
        t = time.perf_counter()
        with sqlite3.connect(path) as c:
            rows = c.execute("SELECT body FROM records WHERE kind = 'matter'").fetchall()
        times.append(time.perf_counter() - t)
    assert rows
    return statistics.median(times)


def fresh(cmd: list[str], runs: int, env: dict) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--matters", type=int, default=10_000, help="matters in the inventory's period")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        save_community(demo_community(home, "shaanxi"))
        desk = Desk(home)
        entries = issued(desk, args.runs + 6)
        content = "该居民在本社区居住满五年，家庭成员三人"

        # warm: the first certificate of the process is not counted (imports, glyph store)
        desk.paper("certificate", entries[0], content=content, as_login="clerk")
        warm = []
        for e in entries[1:args.runs + 1]:
            t = time.perf_counter()
            out = desk.paper("certificate", e, content=content, as_login="clerk")
            warm.append(time.perf_counter() - t)
        size = len(base64.b64decode(out["pdf"]))
        base_warm = one_line_warm(args.runs)

        env = {**os.environ, "SEALDESK_HOME": str(home)}
        runs = min(args.runs, 5)
        rest = iter(entries[args.runs + 1:])
        cli = [sys.executable, "-m", "sealdesk.core.cli.main", "paper", "certificate", "--as", "clerk",
               "--content", content, "-o", os.path.join(tmp, "c.pdf")]
        fresh_cert = statistics.median(
            fresh([*cli[:5], str(next(rest)), *cli[5:]], 1, env) for _ in range(runs))
        fresh_line = fresh([sys.executable, "-c", ONE_LINE, os.path.join(tmp, "l.pdf")], runs, env)
        line_size = os.path.getsize(os.path.join(tmp, "l.pdf"))

        cq = Path(tmp) / "chongqing"
        save_community(demo_community(cq, "chongqing"))
        cq_desk = Desk(cq)
        notice, notice_size = warm_report(cq_desk, "notice", min(args.runs, 10))
        notice_base = notice_baseline(cq_desk, min(args.runs, 10))
        t = time.perf_counter()
        register_matters(cq_desk, args.matters)
        made = time.perf_counter() - t
        inventory, inventory_size = warm_report(cq_desk, "inventory", 3)
        scan = scan_baseline(cq_desk.register.path, 3)

    w = statistics.median(warm)
    print(f"certificate, warm process:  {w * 1000:7.1f} ms   (fpdf2 one-line page, warm: {base_warm * 1000:7.1f} ms; "
          f"ratio {w / base_warm:.2f}×)   target ≤ 50 ms")
    print(f"certificate, fresh process: {fresh_cert:7.2f} s    (fpdf2 one-line page, fresh: {fresh_line:7.2f} s; "
          f"ratio {fresh_cert / fresh_line:.2f}×)   target ≤ 1.5 s")
    print(f"certificate size:           {size / 1024:7.1f} KB  (fpdf2 one-line page: {line_size / 1024:.1f} KB)"
          "   target ≤ 100 KB")
    print(f"notice (37 items), warm:    {notice * 1000:7.1f} ms   (fpdf2 plain table of its cells, warm: "
          f"{notice_base * 1000:7.1f} ms; ratio {notice / notice_base:.2f}×; {notice_size / 1024:.0f} KB)   target ≤ 150 ms")
    print(f"inventory, {args.matters} matters: {inventory:7.2f} s    (sqlite3 scan of the same matter records: "
          f"{scan:7.2f} s; ratio {inventory / scan:.1f}×; {inventory_size / 1024:.0f} KB; "
          f"registering them took {made:.0f} s)   target ≤ 2 s")


if __name__ == "__main__":
    main()
