"""Who acted, and who may act as someone else (issue 15, part 3 and the config findings of part 7).

``--as`` works in demo communities only; ``demo`` must be a TOML boolean (a string "false" once
switched it on); every record written with ``--as`` keeps the real login beside the acting person;
``init --force --demo`` cannot turn a community whose register holds records into a demo one.
"""

from __future__ import annotations

import json
import multiprocessing as mp

import pytest

from sealdesk.core.desk.counter import os_login
from sealdesk.core.register.store import Register, RegisterError

from conftest import VALID_IDS, Cli

PROPERTY = ("居民财产证明", "--fact", "party_requires", "--fact", "within_duties", "--fact", "verifiable")


def real_community(tmp_path, capsys) -> Cli:
    cli = Cli(tmp_path / "home-real", capsys)
    me = os_login()
    code, _, err = cli("init", "--jurisdiction", "national", "--community", "测试社区居民委员会",
                       "--person", f"{me}:王小红:clerk", "--person", "director:李主任:director",
                       "--person", "keeper:张保管:keeper")
    assert code == 0, err
    return cli


def _set(cli: Cli, old: str, new: str) -> None:
    path = cli.home / "community.toml"
    text = path.read_text(encoding="utf-8")
    assert old in text, text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_demo_as_a_string_is_a_config_error_not_demo_mode(tmp_path, capsys):
    cli = real_community(tmp_path, capsys)
    _set(cli, "demo = false", 'demo = "false"')
    code, _, err = cli("approve", "1", "--as", "director")
    assert code == 2 and "community.demo 应为 true 或 false" in err and "Traceback" not in err
    _set(cli, 'demo = "false"', "demo = false")
    code, _, err = cli("request", *PROPERTY, "--resident-name", "张三", "--resident-id", VALID_IDS[0],
                       "--as", "director")
    assert code == 3 and "只有演示社区可以使用 --as" in err


def test_a_record_made_with_as_keeps_the_real_login(demo):
    cli = demo()
    me = os_login()
    d = cli.json("request", *PROPERTY, "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", "clerk")
    cli.json("approve", str(d["entry"]), "--as", "director")
    shown = cli.json("register", "show", str(d["entry"]))
    assert shown["clerk"] == "clerk" and shown["clerk_os_login"] == me
    approval = next(r for r in shown["records"] if r["kind"] == "approve")
    assert approval["actor"] == "director" and approval["os_login"] == me
    # Acting as oneself is not impersonation: nothing extra is recorded.
    reg = Register(cli.home / "register.sqlite3")
    bodies = [json.loads(r.body) for r in reg.records()]
    reg.close()
    assert [b.get("os_login") for b in bodies] == [me, me]


def test_init_force_demo_refuses_a_register_with_records(tmp_path, capsys):
    cli = real_community(tmp_path, capsys)
    config = (cli.home / "community.toml").read_bytes()
    code, _, err = cli("init", "--demo", "--force")  # no records yet: allowed
    assert code == 0, err
    cli = real_community(tmp_path / "second", capsys)
    config = (cli.home / "community.toml").read_bytes()
    d = cli.json("request", *PROPERTY, "--resident-name", "张三", "--resident-id", VALID_IDS[0])
    assert d["entry"] == 1
    code, _, err = cli("init", "--demo", "--force")
    assert code == 2 and "已有 1 条记录" in err and "演示社区" in err
    assert (cli.home / "community.toml").read_bytes() == config  # untouched, no backup taken
    assert not list(cli.home.glob("community.toml.*.bak"))
    code, _, err = cli("approve", "1", "--as", "director")
    assert code == 3 and "只有演示社区可以使用 --as" in err


@pytest.mark.parametrize("mode, ok", [("0600", True), ("0640", True), ("0660", True), ("7770", False),
                                      ("1660", False), ("0700", False), ("0400", False),
                                      ("0666", False)])
def test_register_mode_is_one_a_register_can_have(tmp_path, capsys, mode, ok):
    cli = real_community(tmp_path, capsys)
    _set(cli, 'mode = "0600"', f'mode = "{mode}"')
    code, _, err = cli("register", "list")
    assert (code == 0) == ok, err
    if not ok:
        assert code == 2 and "register.mode" in err


def test_a_config_saved_with_a_bom_is_refused_with_its_reason(tmp_path, capsys):
    cli = real_community(tmp_path, capsys)
    path = cli.home / "community.toml"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    code, _, err = cli("register", "list")
    assert code == 2 and "BOM" in err


def test_an_unknown_register_group_fails_every_time_and_leaves_no_register(tmp_path, capsys):
    cli = real_community(tmp_path, capsys)
    _set(cli, 'mode = "0600"', 'mode = "0660"\ngroup = "nosuchgroup_sealdesk"')
    for _ in range(2):
        code, _, err = cli("request", *PROPERTY, "--resident-name", "张三", "--resident-id", VALID_IDS[0])
        assert code != 0 and "用户组 nosuchgroup_sealdesk 不存在" in err and "Traceback" not in err
        assert not (cli.home / "register.sqlite3").exists()


def _open(path: str, start, q) -> None:
    start.wait()
    try:
        Register(path, create=True).close()
        q.put("ok")
    except BaseException as exc:  # noqa: BLE001 - the test reports what went wrong
        q.put(f"{type(exc).__name__}: {exc}")


def test_sixteen_processes_opening_a_fresh_register_at_once(tmp_path):
    ctx = mp.get_context("fork")
    for round_ in range(10):
        path = str(tmp_path / f"r{round_}.sqlite3")
        start, q = ctx.Event(), ctx.Queue()
        procs = [ctx.Process(target=_open, args=(path, start, q)) for _ in range(16)]
        for p in procs:
            p.start()
        start.set()
        got = [q.get(timeout=60) for _ in procs]
        for p in procs:
            p.join()
        assert got == ["ok"] * 16, got
        with Register(path) as reg:
            assert reg.verify().ok and reg.count() == 0


def test_register_errors_are_register_errors():
    with pytest.raises(RegisterError):
        Register("/nonexistent-dir-sealdesk/r.sqlite3")


def test_after_a_failed_verify_the_counter_stops_until_an_inspector_clears_it(demo):
    from test_register import fill, sql

    cli = demo()
    fill(cli)
    sql(cli, "UPDATE records SET actor = 'x' WHERE seq = 3")
    code, _, _ = cli("register", "verify")
    assert code == 1
    code, _, err = cli("request", *PROPERTY, "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", "clerk")
    assert code == 3 and "登记簿校验未通过" in err and "第 3 条记录" in err and "clear-alarm" in err
    code, _, err = cli("register", "clear-alarm", "--note", "已核查", "--as", "clerk")
    assert code == 3 and "只有检查人员" in err
    code, out, _ = cli("register", "clear-alarm", "--note", "已报乡镇核查，记录另行更正", "--as", "inspector")
    assert code == 0 and "已解除" in out
    d = cli.json("request", *PROPERTY, "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", "clerk")
    assert d["entry"] is not None
