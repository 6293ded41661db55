"""Signed checkpoints kept outside the register (issue 15, part 1): the attacks that pass ``verify``
on the file alone — deleting the tail and rewriting the head, putting back an older copy, a
consistent rewrite with every hash recomputed — are caught against a checkpoint taken earlier."""

from __future__ import annotations

import json
import shutil
import stat

import pytest

from sealdesk.core.register import checkpoint as C
from sealdesk.core.register.store import Register, record_hash

from conftest import VALID_IDS
from test_register import fill, reg_path, sql


def take(cli, tmp_path, name="cp1.txt"):
    out = tmp_path / name
    code, _, err = cli("register", "checkpoint", "-o", str(out))
    assert code == 0, err
    return out


def check(cli, *files, key=None):
    argv = ["register", "verify", "--json", "--checkpoint", *map(str, files)]
    if key:
        argv += ["--key", str(key)]
    code, out, err = cli(*argv)
    return code, json.loads(out) if out else err


def test_a_checkpoint_is_signed_text_and_the_key_is_private(demo, tmp_path):
    cli = demo()
    fill(cli)
    cp = take(cli, tmp_path)
    text = cp.read_text(encoding="utf-8")
    lines = text.split("\n")
    assert lines[:3] == ["sealdesk register checkpoint", "community 幸福社区居民委员会", "records 10"]
    assert lines[3].startswith("head ") and lines[4].startswith("time ") and lines[5] == ""
    assert lines[6].startswith("— ed25519 ")
    assert stat.S_IMODE((cli.home / C.KEY_NAME).stat().st_mode) == 0o600
    code, r = check(cli, cp)
    assert code == 0 and r["ok"] and r["checkpoints"][0]["problem"] is None
    # More records later: the register still extends the old checkpoint.
    fill(cli)
    code, r = check(cli, cp)
    assert code == 0 and r["ok"]


def test_deleting_the_tail_and_rewriting_the_head_is_caught(demo, tmp_path):
    cli = demo()
    fill(cli)
    cp = take(cli, tmp_path)
    sql(cli, "DELETE FROM records WHERE seq >= 9; "
             "UPDATE meta SET value = (SELECT seq || ' ' || hash FROM records WHERE seq = 8) WHERE key = 'head'")
    with Register(reg_path(cli)) as reg:
        reg.reindex()  # and the derived index rebuilt, as an insider would
    code, out, _ = cli("register", "verify", "--json")
    assert code == 0 and json.loads(out)["ok"]  # the file alone cannot tell
    code, r = check(cli, cp)
    assert code == 1 and not r["ok"] and "只有 8 条" in r["checkpoints"][0]["problem"]


def test_an_older_copy_put_back_is_caught(demo, tmp_path):
    cli = demo()
    fill(cli)
    old = tmp_path / "old.sqlite3"
    with Register(reg_path(cli)) as reg:
        reg.backup(old)
    fill(cli)
    cp = take(cli, tmp_path)
    for suffix in ("-wal", "-shm"):
        (reg_path(cli).parent / (reg_path(cli).name + suffix)).unlink(missing_ok=True)
    shutil.copyfile(old, reg_path(cli))
    code, r = check(cli, cp)
    assert code == 1 and "更早的副本" in r["checkpoints"][0]["problem"], r


def test_a_consistent_rewrite_with_recomputed_hashes_is_caught(demo, tmp_path):
    cli = demo()
    fill(cli)
    cp = take(cli, tmp_path)
    # Rewrite a resident's name and recompute every hash after it: the chain verifies again.
    with Register(reg_path(cli)) as reg:
        rows = [list(r) for r in reg.rows()]
    prev = rows[0][14]
    for r in rows:
        r[14] = prev
        if r[0] == 4:
            r[13] = r[13].replace("居民乙", "居民戊")
        r[15] = record_hash(r[:15])
        prev = r[15]
    stmts = ["DROP TRIGGER IF EXISTS matters_add", "DELETE FROM records"]
    import sqlite3

    con = sqlite3.connect(reg_path(cli))
    for s in stmts:
        con.execute(s)
    con.executemany("INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    con.execute("UPDATE meta SET value = ? WHERE key = 'head'", (f"{rows[-1][0]} {rows[-1][15]}",))
    con.commit()
    con.close()
    with Register(reg_path(cli)) as reg:
        reg.reindex()
        assert reg.verify().ok  # the file alone passes
    code, r = check(cli, cp)
    assert code == 1 and "改写" in r["checkpoints"][0]["problem"]


def test_a_forged_or_foreign_checkpoint_is_refused(demo, tmp_path):
    cli = demo()
    fill(cli)
    cp = take(cli, tmp_path)
    text = cp.read_text(encoding="utf-8")
    edited = tmp_path / "edited.txt"
    edited.write_text(text.replace("records 10", "records 9"), encoding="utf-8")
    code, r = check(cli, edited)
    assert code == 1 and "签名无效" in r["checkpoints"][0]["problem"]
    # Signed with another key (someone made a new key and re-signed): the trusted key says no.
    other = demo("jilin")
    fill(other)
    theirs = take(other, tmp_path, "theirs.txt")
    code, r = check(cli, theirs)
    assert code == 1 and "不是用本社区的密钥签署" in r["checkpoints"][0]["problem"]
    # An inspector's own copy of the public key is what counts, not the one beside the register.
    pub = tmp_path / "inspector.pub"
    pub.write_text((cli.home / C.PUB_NAME).read_text())
    (cli.home / C.PUB_NAME).write_text((other.home / C.PUB_NAME).read_text())  # replaced by an insider
    code, r = check(cli, cp, key=pub)
    assert code == 0 and r["ok"]
    garbage = tmp_path / "garbage.txt"
    garbage.write_bytes(b"\xff\xfe not a checkpoint")
    code, r = check(cli, garbage, key=pub)
    assert code == 1 and r["checkpoints"][0]["problem"]


def test_a_broken_chain_is_not_signed(demo, tmp_path):
    cli = demo()
    fill(cli)
    sql(cli, "UPDATE records SET actor = 'x' WHERE seq = 3")
    code, out, err = cli("register", "checkpoint")
    assert code == 1 and "不签署" in err and out == ""


def test_checkpoint_format_round_trips(tmp_path):
    cp = C.make(tmp_path, "甲社区", 3, "a" * 64)
    again = C.parse(cp.text())
    assert again == cp
    C.check_signature(again, C.public_key(tmp_path))
    with pytest.raises(C.CheckpointError):
        C.check_signature(C.Checkpoint("甲社区", 4, cp.head, cp.time, cp.key, cp.signature), C.public_key(tmp_path))
    assert VALID_IDS  # (conftest import used by fill)


def test_paper_verify_names_the_checkpoint_it_relies_on(demo, tmp_path):
    from test_papers import issued

    cli = demo("shaanxi")
    entry = issued(cli)
    early = take(cli, tmp_path, "early.txt")  # before the certificate was printed
    out = tmp_path / "c.pdf"
    printed = cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", "属实", "--as", "clerk")
    cp = take(cli, tmp_path)
    code, stdout, _ = cli("paper", "verify", str(out), "--checkpoint", str(cp))
    assert code == 0 and f"依据检查点 {cp}" in stdout
    r = cli.json("paper", "verify", str(out), "--checkpoint", str(cp))
    assert r["checkpoint"]["problem"] is None and r["checkpoint"]["records"] >= printed["record"]
    code, stdout, _ = cli("paper", "verify", str(out), "--checkpoint", str(early))
    assert code == 1 and "早于该文书" in stdout
    other = demo("jilin")
    fill(other)
    theirs = take(other, tmp_path, "theirs.txt")
    code, stdout, _ = cli("paper", "verify", str(out), "--checkpoint", str(theirs))
    assert code == 1 and "不是用本社区的密钥签署" in stdout


def test_checkpoint_output_is_refused_where_no_file_should_be_written(demo, tmp_path):
    cli = demo()
    fill(cli)
    (tmp_path / "adir").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere.txt")
    for target in (tmp_path / "adir", tmp_path / "link", tmp_path / "missing" / "cp.txt"):
        code, _, err = cli("register", "checkpoint", "-o", str(target))
        assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "elsewhere.txt").exists()


def test_the_service_signs_checkpoints_as_the_register_grows(demo, tmp_path):
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.desk.service import Checkpointer

    cli = demo()
    fill(cli)
    folder = tmp_path / "collect"
    registry = Desk(cli.home).registry
    cp = Checkpointer(cli.home, registry, folder, every=3600)
    first = cp.once()
    assert first is not None and first.parent == folder and stat.S_IMODE(first.stat().st_mode) == 0o644
    assert cp.once() is None  # nothing new: no new checkpoint
    fill(cli)
    second = cp.once()
    assert second is not None and "records 20" in second.read_text(encoding="utf-8")
    code, r = check(cli, first, second)
    assert code == 0 and r["ok"]
    # The thread: one at start, then it stops when told.
    t = Checkpointer(cli.home, registry, tmp_path / "thread", every=3600)
    t.start()
    for _ in range(100):
        if list((tmp_path / "thread").glob("checkpoint-*.txt")):
            break
        import time

        time.sleep(0.05)
    t.stopped.set()
    t.join(5)
    assert not t.is_alive() and len(list((tmp_path / "thread").glob("checkpoint-*.txt"))) == 1
    # A broken chain is not signed.
    sql(cli, "UPDATE records SET actor = 'x' WHERE seq = 2")
    assert cp.once() is None


def test_verifying_without_a_public_key_asks_for_one_and_makes_none(demo, tmp_path):
    cli = demo()
    fill(cli)
    other = demo("jilin")
    theirs = take(other, tmp_path, "theirs.txt")
    code, _, err = cli("register", "verify", "--checkpoint", str(theirs))
    assert code == 2 and "--key" in err
    assert not (cli.home / C.KEY_NAME).exists() and not (cli.home / C.PUB_NAME).exists()


class _Service:
    """``sealdesk serve`` of a demo community in a real process, and the CLI pointed at it."""

    def __init__(self, cli, tmp_path):
        import os
        import subprocess
        import sys
        import time

        self.cli, self.sock = cli, str(tmp_path / "s.sock")
        self.proc = subprocess.Popen([sys.executable, "-m", "sealdesk.core.cli.main", "serve", "--home",
                                      str(cli.home), "--listen", self.sock, "--checkpoint-every", "0"],
                                     stderr=subprocess.PIPE, text=True)
        for _ in range(200):
            if os.path.exists(self.sock):
                break
            time.sleep(0.05)
        assert os.path.exists(self.sock), self.proc.stderr.read() if self.proc.poll() is not None else "no socket"

    def __call__(self, *argv):
        who = () if "--as" in argv else ("--as", "inspector")  # the service knows people, not root
        return self.cli(*argv, *who, "--socket", self.sock)

    def json(self, *argv):
        code, out, err = self(*argv, "--json")
        assert code == 0, err
        return json.loads(out)

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=20)
        self.proc.stderr.close()


def test_checkpoints_signed_and_checked_through_the_service(demo, tmp_path):
    # The clerk's CLI has no key and no register: the service signs with the key it owns, and checks
    # the checkpoint files the CLI reads against the register it holds; clear-alarm goes there too.
    cli = demo()
    fill(cli)
    svc = _Service(cli, tmp_path)
    try:
        out = tmp_path / "via-service.txt"
        code, _, err = svc("register", "checkpoint", "-o", str(out))
        assert code == 0, err
        assert "records 10" in out.read_text(encoding="utf-8")
        code, r = check(svc, out)
        assert code == 0 and r["ok"] and r["checkpoints"][0]["records"] == 10
        # Deleting the tail behind the service's back: caught through the service, and the alarm
        # the failed verify raised stops the counter there until an inspector clears it.
        sql(cli, "DELETE FROM records WHERE seq > 7")
        sql(cli, "UPDATE meta SET value = (SELECT seq || ' ' || hash FROM records WHERE seq = 7) WHERE key = 'head'")
        code, r = check(svc, out)
        assert code == 1 and "只有 7 条" in r["checkpoints"][0]["problem"]
        assert r["records"] == 7  # the chain itself still verifies: only the checkpoint tells
        request = ("request", "无犯罪记录证明", "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", "clerk")
        code, _, err = svc(*request)
        assert code == 3 and "clear-alarm" in err  # a register cut behind a checkpoint stops the counter
        code, _, err = svc("register", "clear-alarm", "--note", "已核查", "--as", "clerk")
        assert code == 3 and "检查人员" in err
        code, stdout, err = svc("register", "clear-alarm", "--note", "已核查", "--as", "inspector")
        assert code == 0 and "已解除" in stdout, err
        assert svc(*request)[0] == 0
    finally:
        svc.stop()


def test_a_failed_verify_through_the_service_stops_the_counter_until_cleared(demo, tmp_path):
    cli = demo()
    fill(cli)
    svc = _Service(cli, tmp_path)
    try:
        sql(cli, "UPDATE records SET actor = 'x' WHERE seq = 2")
        code, out, _ = svc("register", "verify")
        assert code == 1 and "第 2 条" in out
        request = ("request", "无犯罪记录证明", "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", "clerk")
        code, _, err = svc(*request)
        assert code == 3 and "clear-alarm" in err
        code, out, err = svc("register", "clear-alarm", "--note", "已恢复备份", "--as", "inspector")
        assert code == 0 and "已解除" in out, err
        assert svc(*request)[0] == 0
    finally:
        svc.stop()


def test_as_on_a_read_is_held_to_the_rule_locally_and_through_the_service(demo, tmp_path):
    from sealdesk.core.register.community import load_community, save_community
    from dataclasses import replace

    cli = demo()
    fill(cli, 1)
    svc = _Service(cli, tmp_path)
    try:
        # A demo community: --as names who reads; a name not of the community is refused, not ignored.
        for argv in (("register", "show", "1"), ("register", "list"), ("register", "verify"), ("audit",),
                     ("register", "export")):
            assert svc(*argv, "--as", "inspector")[0] in (0, 1), argv
            code, _, err = svc(*argv, "--as", "nosuch")
            assert code == 3 and "nosuch" in err, argv
            code, _, err = cli(*argv, "--as", "nosuch")
            assert code == 3 and "nosuch" in err, argv
    finally:
        svc.stop()
    # Not a demo community: --as on a read is refused as on a write.
    save_community(replace(load_community(cli.home), demo=False), overwrite=True)
    code, _, err = cli("register", "show", "1", "--as", "director")
    assert code == 3 and "演示社区" in err


def test_a_copy_taken_while_the_service_runs_says_its_newest_records_may_be_missing(demo, tmp_path, capsys):
    from conftest import Cli

    cli = demo()
    fill(cli)
    svc = _Service(cli, tmp_path)
    try:
        fill(svc)  # 10 more records, written through the service: in the -wal file, not yet in the file
        copy = tmp_path / "copy" / "register.sqlite3"
        copy.parent.mkdir()
        shutil.copyfile(reg_path(cli), copy)  # cp of the file alone, as the insider did
        code, out, _ = cli("register", "verify", "--json")
        assert code == 0 and "warning" not in json.loads(out)  # the register itself: nothing to say
        with Register(copy) as reg:
            assert reg.count() < 20  # what the copy lost
            warning = reg.copy_warning()
        assert warning and "-wal" in warning and "register backup" in warning
        shutil.copyfile(cli.home / "community.toml", copy.parent / "community.toml")
        code, out, _ = Cli(copy.parent, capsys)("register", "verify")  # an inspector's look at the copy
        assert code == 0 and "复制" in out and "register backup" in out
        backup = tmp_path / "b.sqlite3"
        assert cli("register", "backup", str(backup))[0] == 0
        with Register(backup) as reg:
            assert reg.copy_warning() is None and reg.count() == 20
    finally:
        svc.stop()
    with Register(reg_path(cli)) as reg:  # stopped: the mark is cleared, the file holds everything
        assert reg.copy_warning() is None and "in_use" not in reg.meta() and reg.count() == 20


def test_paper_verify_uses_the_newest_checkpoint_of_the_folder_by_itself(demo, tmp_path):
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.desk.service import Checkpointer
    from test_papers import issued

    cli = demo("shaanxi")
    entry = issued(cli)
    out = tmp_path / "c.pdf"
    cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", "属实", "--as", "clerk")
    code, stdout, _ = cli("paper", "verify", str(out))
    assert code == 0 and "检查点" not in stdout  # none taken yet: nothing claimed
    folder = cli.home / "checkpoints"  # where sealdesk serve writes them by default
    Checkpointer(cli.home, Desk(cli.home).registry, folder, 3600).once()
    code, stdout, _ = cli("paper", "verify", str(out))
    assert code == 0 and "依据检查点" in stdout and str(folder) in stdout
    fill(cli, 1)
    out2 = tmp_path / "c2.pdf"
    entry2 = issued(cli)
    cli.json("paper", "certificate", str(entry2), "-o", str(out2), "--content", "属实", "--as", "clerk")
    code, stdout, _ = cli("paper", "verify", str(out2))  # printed after the newest checkpoint
    assert code == 0 and "下一个检查点签署后" in stdout
    sql(cli, "DELETE FROM records WHERE seq > 3")  # cut behind the checkpoint: the first paper's check fails
    sql(cli, "UPDATE meta SET value = (SELECT seq || ' ' || hash FROM records WHERE seq = 3) WHERE key = 'head'")
    code, stdout, _ = cli("paper", "verify", str(out))
    assert code == 1
