"""Benchmark: one-shot command start-up, beside a bare Python start measured in the same run.

A clerk's script or an inspector's audit runs `sealdesk decide …` once per request; most of
its time is start-up. Target (issue 13): `sealdesk decide` ≤ 3× `python -c pass`.

    .venv/bin/python bench/cli_bench.py [--runs 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

BIN = os.path.join(os.path.dirname(sys.executable), "sealdesk")
CASES = [
    ("python -c pass", [sys.executable, "-c", "pass"]),
    ("python -c 'import sealdesk.core.api'", [sys.executable, "-c", "import sealdesk.core.api"]),
    ("sealdesk decide 无犯罪记录证明 -j national", [BIN, "decide", "无犯罪记录证明", "-j", "national"]),
    ("sealdesk decide 单身证明 -j chongqing-yubei --json", [BIN, "decide", "单身证明", "-j", "chongqing-yubei", "--json"]),
    ("sealdesk jurisdictions", [BIN, "jurisdictions"]),
    ("sealdesk --help", [BIN, "--help"]),
]


def median_ms(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    args = ap.parse_args()
    for _, cmd in CASES:  # warm the page cache and the pinyin/glyph caches once
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = None
    for label, cmd in CASES:
        ms = median_ms(cmd, args.runs)
        base = base or ms
        target = "  (target ≤ 3×)" if label.startswith("sealdesk decide 无犯罪") else ""
        print(f"{label:<52} {ms:7.1f} ms  {ms / base:4.1f}× python -c pass{target}")


if __name__ == "__main__":
    main()
