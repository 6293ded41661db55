"""decide --batch splits work over processes; the output must not depend on it."""

from __future__ import annotations

import json
import subprocess
import sys


def test_parallel_batch_keeps_order_and_reports_bad_lines(tmp_path):
    names = ["无犯罪记录证明", "户口注销证明", "居住证明", "亲属关系证明", "未列证明", "公租房申请人就业和收入证明"]
    lines = []
    for i in range(5000):
        if i % 997 == 13:
            lines.append("{not json")
        elif i % 1499 == 7:
            lines.append(json.dumps({"query": "居住证明", "facts": {"no_such_fact": True}}))
        else:
            lines.append(json.dumps({"query": names[i % len(names)], "purpose": ["", "公证"][i % 2],
                                     "on": "2026-01-10", "jurisdiction": ["chongqing", "qinghai"][i % 2]},
                                    ensure_ascii=False))
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    runs = {}
    for jobs in ("1", "2"):
        r = subprocess.run([sys.executable, "-m", "sealdesk.core.cli.main", "decide", "--batch", str(path),
                            "--jurisdiction", "national", "--jobs", jobs], capture_output=True)
        assert r.returncode == 2
        runs[jobs] = r
    assert runs["1"].stdout == runs["2"].stdout
    assert runs["1"].stderr == runs["2"].stderr
    out = runs["2"].stdout.decode("utf-8").splitlines()
    assert len(out) == len(lines)
    bad = [n for n, line in enumerate(lines, 1) if line.startswith("{not") or "no_such_fact" in line]
    err = runs["2"].stderr.decode("utf-8")
    for n in bad:
        assert f"第{n}行" in err
        assert json.loads(out[n - 1])["line"] == n
    first = json.loads(out[0])
    assert first["query"] == names[0] and first["jurisdiction"] == "chongqing"
