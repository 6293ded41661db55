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


def test_stderr_never_carries_terminal_controls_either(capsys):
    from sealdesk.core.cli.main import main

    code = main(["decide", "无犯罪记录证明", "-j", "national", "\x1b[2J\u202e\x07"])  # argparse quotes it raw
    err = capsys.readouterr().err
    assert code == 2 and "unrecognized arguments" in err
    assert not any(c in err for c in "\x1b\x07\u202e"), repr(err)


def test_an_unexpected_error_is_one_line_and_a_private_log(tmp_path, capsys, monkeypatch):
    import os
    import stat

    import sealdesk.core.engine.protocol as protocol
    from sealdesk.core.cli.main import EXIT_INTERNAL, main

    def boom(view, request):
        raise RuntimeError(f"查不到 {request.query}")

    monkeypatch.setattr(protocol, "decide", boom)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    code = main(["decide", "张三 11010519491231002X", "-j", "national"])
    out, err = capsys.readouterr()
    log = tmp_path / "state" / "sealdesk" / "log" / "errors.log"
    assert code == EXIT_INTERNAL
    assert err == f"sealdesk: 内部错误，命令未能完成；详情已记入 {log}\n"
    assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(log.parent).st_mode) == 0o700
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "RuntimeError: 查不到" in text
    assert "110105********002X" in text and "11010519491231002X" not in text  # argv and message alike

    monkeypatch.setattr(protocol, "decide", lambda view, request: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["decide", "居住证明", "-j", "national"]) == 130
    assert capsys.readouterr().err == "sealdesk: 已中断\n"


def test_an_unwritable_error_log_still_gives_one_line(tmp_path, capsys, monkeypatch):
    import sealdesk.core.engine.protocol as protocol
    from sealdesk.core.cli.main import main

    (tmp_path / "state").write_text("not a directory")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setattr(protocol, "decide", lambda view, request: 1 / 0)
    assert main(["decide", "居住证明", "-j", "national"]) == 3
    assert capsys.readouterr().err == "sealdesk: 内部错误，命令未能完成（错误日志也无法写入）\n"


def test_ctrl_c_during_a_batch_exits_130_with_one_line(tmp_path):
    import os
    import signal

    p = subprocess.Popen([*CLI, "decide", "--batch", "-", "-j", "national", "--jobs", "2"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        p.stdin.write('{"query": "居住证明"}\n'.encode() * 2000)  # one chunk: decided by a worker, then written
        p.stdin.flush()
        assert p.stdout.readline()  # the pool is running; stdin stays open
        os.killpg(p.pid, signal.SIGINT)  # as Ctrl-C does: the parent and its workers
        _, err = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 130, err
    assert err == "sealdesk: 已中断\n".encode(), err


def test_a_reader_that_goes_away_ends_the_output_quietly(tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_text('{"query": "居住证明"}\n' * 20000, encoding="utf-8")  # megabytes of output: more than a pipe holds
    p = subprocess.Popen([*CLI, "decide", "--batch", str(path), "-j", "national"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    assert p.stdout.readline()
    p.stdout.close()  # `| head -1`
    err = p.stderr.read()
    assert p.wait(timeout=120) == 0
    assert err == b"", err


@pytest.fixture
def recorded(demo):
    """A demo community with one matter, and a way to count its register's records."""
    from conftest import open_register

    cli = demo()
    code, _, err = cli("request", "亲属关系证明", "--purpose", "公证", "--resident-name", "张三",
                       "--resident-id", "11010519491231002X", "--as", "clerk")
    assert code == 0, err

    def count() -> int:
        with open_register(cli) as reg:
            return reg.count()

    return cli, count


@pytest.mark.parametrize("env", [{"PYTHONIOENCODING": "gbk"},
                                 {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0"}],
                         ids=["gbk", "C-without-utf8-mode"])
def test_a_terminal_that_is_not_utf8_records_nothing(recorded, env):
    import os

    cli, count = recorded
    before = count()
    environ = {**os.environ, **env, "SEALDESK_HOME": str(cli.home)}
    recording = (["request", "居住证明", "--resident-name", "李四", "--resident-id", "11010519491231002X", "--as", "clerk"],
                 ["approve", "1", "--as", "director"], ["void", "1", "--reason", "重复", "--as", "clerk"])
    for argv in recording:
        r = subprocess.run([*CLI, *argv], capture_output=True, env=environ, timeout=120)
        assert r.returncode == 2, r.stderr
        assert b"Traceback" not in r.stderr
        assert b"not UTF-8: nothing was recorded" in r.stderr  # readable whatever the terminal
        if env.get("PYTHONIOENCODING") == "gbk":
            assert "未作任何登记" in r.stderr.decode("gbk")  # and in Chinese on a GBK terminal
    assert count() == before
    r = subprocess.run([*CLI, "decide", "居住证明", "-j", "national"], capture_output=True, env=environ, timeout=120)
    assert r.returncode == 0 and "居住证明" in r.stdout.decode("utf-8"), r.stderr  # reading goes on


def test_arguments_typed_on_a_gbk_terminal_are_refused(recorded):
    import os

    cli, count = recorded
    before = count()
    environ = {**os.environ, "SEALDESK_HOME": str(cli.home)}
    gbk = "居住证明".encode("gbk")  # argv under a UTF-8 LANG: lone surrogates
    for argv in ([b"decide", gbk, b"-j", b"national"], [b"compare", gbk],
                 [b"request", gbk, b"--resident-name", "李四".encode("gbk"), b"--resident-id",
                  b"11010519491231002X", b"--as", b"clerk"]):
        r = subprocess.run([*CLI, *argv], capture_output=True, env=environ, timeout=120)
        assert r.returncode == 2, r.stderr
        err = r.stderr.decode("utf-8")
        assert "不是 UTF-8" in err and "Traceback" not in err and err.count("\n") == 1
    assert count() == before


@pytest.mark.skipif(not __import__("os").path.exists("/dev/full"), reason="no /dev/full")
def test_a_full_disk_under_stdout_is_one_line():
    for args in (["decide", "居住证明", "-j", "national"], ["items", "-j", "national", "--json"]):
        with open("/dev/full", "wb") as full:
            r = subprocess.run([*CLI, *args], stdout=full, stderr=subprocess.PIPE, timeout=120)
        assert r.returncode == 2 and r.stderr.decode("utf-8") == "sealdesk: 无法写出结果：磁盘空间不足，命令未能完成\n"


def test_a_file_the_system_refuses_is_named_in_one_line(capsys):
    from sealdesk.core.cli.main import main

    assert main(["demo", "9" * 5000]) == 2  # a scenario name taken for a file name: too long for the system
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("sealdesk: ") and "Traceback" not in err and len(err) < 400, err
