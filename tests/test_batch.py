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


def test_a_big_batch_keeps_every_good_line_around_hostile_ones(tmp_path):
    """Issue 15: one bad line among thousands loses only itself; every good line gets its answer, in order."""
    names = ["无犯罪记录证明", "居住证明", "亲属关系证明", "户口注销证明"]
    hostile = {
        500: '{"query": "居住证明"}'.encode("gbk"),  # GBK bytes in a UTF-8 file
        1234: b'{"query": "\xff\xfe\xc3\x28"}',  # invalid UTF-8
        2000: b'{"query": "\\ud800"}',  # a lone surrogate, escaped
        2001: b'{"query": "x", "facts": ' + b"[" * 10000 + b"]" * 10000 + b"}",  # 10,000 deep
        3333: b'{"query": "x", "on": ' + b"9" * 5000 + b"}",  # a 5,000-digit number
        3500: b'{"query": "x", "jurisdiction": ["national"]}',  # not a string (was a TypeError)
        4999: b"\x1b[2J\x07",  # not JSON, and controls
    }
    lines = [hostile.get(n) or json.dumps({"query": names[n % 4], "purpose": "公证"}, ensure_ascii=False).encode()
             for n in range(1, 5001)]
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    r = subprocess.run([sys.executable, "-m", "sealdesk.core.cli", "decide", "--batch", str(path), "-j", "national"],
                       capture_output=True, timeout=300)
    err = r.stderr.decode("utf-8")
    assert r.returncode == 2, err
    assert b"Traceback" not in r.stdout + r.stderr
    assert not any(c in err for c in "\x1b\x07")
    out = [json.loads(line) for line in r.stdout.decode("utf-8").splitlines()]
    assert len(out) == 5000
    for n, o in enumerate(out, 1):
        if n in hostile:
            assert o["line"] == n and o["error"], o
            assert f"第{n}行" in err
        else:
            assert o["query"] == names[n % 4] and o["purpose"] == "公证", (n, o)
    assert err.count("sealdesk: 第") == len(hostile)


def test_a_line_that_meets_a_bug_gets_its_placeholder_and_the_batch_goes_on(tmp_path, capsys, monkeypatch):
    import os
    import stat

    import sealdesk.core.engine.protocol as protocol
    from sealdesk.core.cli.main import EXIT_INTERNAL, main

    real = protocol.decide

    def decide(view, request):
        if request.query.startswith("炸"):
            raise RuntimeError(f"boom: {request.query}")
        return real(view, request)

    monkeypatch.setattr(protocol, "decide", decide)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    path = tmp_path / "b.jsonl"
    path.write_text('{"query": "居住证明"}\n{"query": "炸 11010519491231002X"}\n{"query": "亲属关系证明"}\n',
                    encoding="utf-8")
    code = main(["decide", "--batch", str(path), "-j", "national", "--jobs", "1"])
    out, err = capsys.readouterr()
    assert code == EXIT_INTERNAL
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r.get("query") for r in rows] == ["居住证明", None, "亲属关系证明"]
    assert rows[1]["line"] == 2 and "内部错误" in rows[1]["error"]
    assert err.count("\n") == 1 and "第2行：内部错误" in err and "Traceback" not in err
    log = tmp_path / "state" / "sealdesk" / "log" / "errors.log"
    assert str(log) in err
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    text = log.read_text(encoding="utf-8")
    assert "RuntimeError: boom" in text and "110105********002X" in text and "11010519491231002X" not in text
