"""Hostile input at the command line ends in one line of Chinese, never a traceback, and user data
never acts on the terminal (DEVELOPERS.md, Standards; issue 15 names these cases)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

CLI = [sys.executable, "-m", "sealdesk.core.cli"]


def run(*args, stdin: bytes | None = None):
    return subprocess.run([*CLI, *args], input=stdin, capture_output=True, timeout=120)


def test_batch_keeps_every_good_line_around_bad_bytes_and_bad_json(tmp_path):
    lines = [
        '{"query": "无犯罪记录证明"}'.encode(),
        '{"query": "无犯罪记录证明"}'.encode("gbk"),  # a GBK line in a UTF-8 file
        b'{"query": "\\ud800"}',  # a lone surrogate
        b'{"query": "x", "facts": ' + b"[" * 5000 + b"]" * 5000 + b"}",  # nesting thousands deep
        b'{"query": "x", "on": ' + b"9" * 5000 + b"}",  # a 5,000-digit number
        b"\xff\xfe\x00garbage",
        '{"query": "亲属关系证明", "purpose": "公证"}'.encode(),
    ]
    path = tmp_path / "requests.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    for source in (["--batch", str(path)], ["--batch", "-"]):
        r = run("decide", *source, "-j", "national", stdin=path.read_bytes() if "-" in source else None)
        err = r.stderr.decode("utf-8")
        assert b"Traceback" not in r.stdout + r.stderr, err
        assert r.returncode == 2, err
        out = [json.loads(line) for line in r.stdout.decode("utf-8").splitlines()]
        assert len(out) == len(lines), "one output line per input line"
        assert out[0]["outcome"] == "refuse" and out[-1]["outcome"] == "issue"
        assert [o.get("line") for o in out[1:6]] == [2, 3, 4, 5, 6]
        assert "UTF-8" in out[1]["error"] and all(f"第{n}行" in err for n in range(2, 7))


@pytest.mark.parametrize("name", ["\x1b[2J无犯罪记录证明", "无犯罪记录证明\x07", "\u202e无犯罪记录证明", "无犯罪\x9b记录证明"])
def test_control_characters_in_a_name_never_reach_the_terminal(name):
    for args in (["decide", name, "-j", "national"], ["compare", name]):
        r = run(*args)
        out = r.stdout.decode("utf-8")
        assert b"Traceback" not in r.stdout + r.stderr
        assert not any(c in out for c in "\x1b\x07\u202e\x9b"), repr(out[:200])
    r = run("decide", name, "-j", "national", "--json")  # JSON keeps the data, escaped
    assert json.loads(r.stdout)["query"] == name
