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

    .venv/bin/python bench/papers_bench.py [--runs 20]
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

    w = statistics.median(warm)
    print(f"certificate, warm process:  {w * 1000:7.1f} ms   (fpdf2 one-line page, warm: {base_warm * 1000:7.1f} ms; "
          f"ratio {w / base_warm:.2f}×)   target ≤ 50 ms")
    print(f"certificate, fresh process: {fresh_cert:7.2f} s    (fpdf2 one-line page, fresh: {fresh_line:7.2f} s; "
          f"ratio {fresh_cert / fresh_line:.2f}×)   target ≤ 1.5 s")
    print(f"certificate size:           {size / 1024:7.1f} KB  (fpdf2 one-line page: {line_size / 1024:.1f} KB)"
          "   target ≤ 100 KB")


if __name__ == "__main__":
    main()
