"""Benchmark: decisions per second, in-process and through `sealdesk decide --batch`.

Prints each figure beside a baseline measured in the same run: the cost of only
parsing the same JSON lines and writing JSON lines of the same size (what any
batch tool pays), so the engine's own cost can be read off as a ratio.

    .venv/bin/python bench/decide_bench.py [--n 100000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
import time

from sealdesk.core.engine.model import Facts, Request
from sealdesk.core.engine.plugins import default_registry
from sealdesk.core.engine.protocol import decide

FACTS = ["within_duties", "verifiable", "basis_provided", "public_interest", "policy_gap", "party_requires",
         "legal_risk", "commitment_ok", "liability", "facts_unclear", "archive_lost"]
PURPOSES = ["", "公证", "不动产登记", "收养", "法律援助", "入学", "银行贷款", "农民专业合作社设立登记"]
EXTRA = ["居住证明", "无犯罪证明", "学生社会实践证明", "独生子女证明", "无业证明", "结婚证遗失补办证明",
         # residents' words and names near listed items (issue 12): resolved or asked, never unlisted
         "单身证明", "关系证明", "个人无犯罪记录证明", "去世证明", "无房证明", "志愿服务证明", "证明"]


def make_requests(n: int, seed: int = 7) -> list[dict]:
    reg = default_registry()
    rnd = random.Random(seed)
    names = sorted({nm for j in reg.ids() for it in reg.view(j, dt.date(2026, 1, 10)).items for nm in it.names})
    names += EXTRA
    out = []
    for _ in range(n):
        facts = {f: rnd.random() < 0.5 for f in rnd.sample(FACTS, rnd.randint(0, 4))}
        out.append({
            "jurisdiction": rnd.choice(reg.ids()),
            "query": rnd.choice(names),
            "purpose": rnd.choice(PURPOSES),
            "on": rnd.choice(["2026-01-10", "2026-11-23", "2025-06-01"]),
            "facts": facts,
        })
    return out


def bench_in_process(reqs: list[dict], rounds: int = 5) -> tuple[float, float, float]:
    """(best, median, baseline) seconds over ``rounds`` timed passes: this VM's CPU speed varies by
    ±30 % from one pass to the next, so the best pass is the engine's cost and the median is shown too."""
    reg = default_registry()
    prepared = [(r["jurisdiction"], dt.date.fromisoformat(r["on"]),
                 Request(r["query"], r["purpose"], "", Facts(r["facts"]))) for r in reqs]
    view = reg.view
    for jid, on, req in prepared[:2000]:  # warm the per-date view cache
        decide(view(jid, on), req)
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        for jid, on, req in prepared:
            decide(view(jid, on), req)
        times.append(time.perf_counter() - t)
    # baseline: a dict-to-object step of the same shape (what any engine must at least do)
    t = time.perf_counter()
    for jid, on, req in prepared:
        (jid, on, req.query, req.purpose, req.facts)
    base = time.perf_counter() - t
    times.sort()
    return times[0], times[len(times) // 2], base


def bench_batch(reqs: list[dict]) -> tuple[float, float, int]:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "batch.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for r in reqs:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        out = os.path.join(d, "out.jsonl")
        t = time.perf_counter()
        with open(out, "wb") as fo:
            subprocess.run([sys.executable, "-m", "sealdesk.core.cli.main", "decide", "--batch", path,
                            "--jurisdiction", "national"], stdout=fo, check=True)
        batch = time.perf_counter() - t
        size = os.path.getsize(out)
        lines = sum(1 for _ in open(out, encoding="utf-8"))
        assert lines == len(reqs), (lines, len(reqs))
        # baseline: a fresh Python that parses every line and writes as many JSON bytes
        sample = open(out, encoding="utf-8").readline()
        base_src = (
            "import json,sys\n"
            f"tmpl=json.loads({sample!r})\n"
            "w=sys.stdout.write\n"
            "for line in open(sys.argv[1],encoding='utf-8'):\n"
            "    o=json.loads(line); tmpl['query']=o['query']\n"
            "    w(json.dumps(tmpl,ensure_ascii=False,separators=(',',':'))+'\\n')\n"
        )
        t = time.perf_counter()
        with open(os.devnull, "wb") as fo:
            subprocess.run([sys.executable, "-c", base_src, path], stdout=fo, check=True)
        base = time.perf_counter() - t
        return batch, base, size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    reqs = make_requests(args.n)
    engine, median, base = bench_in_process(reqs, args.rounds)
    print(f"in-process: {args.n} decisions, best of {args.rounds} passes {engine:.3f} s = "
          f"{args.n / engine:,.0f} decisions/s (target ≥ 50,000/s; median pass {args.n / median:,.0f}/s); "
          f"{engine / args.n * 1e6:.1f} µs each; baseline (request tuples only) {base:.3f} s")
    batch, jbase, size = bench_batch(reqs)
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"decide --batch ({min(4, cpus)} worker processes): {args.n} lines in {batch:.2f} s (target < 5 s), "
          f"{size / 1e6:.1f} MB out; "
          f"JSON-only baseline (parse + write the same lines, fresh Python) {jbase:.2f} s; "
          f"ratio {batch / jbase:.1f}×")


if __name__ == "__main__":
    main()
