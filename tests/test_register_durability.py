"""The register under concurrent writers and under SIGKILL, on the real file with real fsyncs.

Acceptance of issue 3: 8 processes × 1,000 matters (request → approve → stamp)
leave 8,000 stamped entries with serials 1..8000 and a chain that verifies; a
writer killed at random points 20 times loses no acknowledged entry.
"""

from __future__ import annotations

import json
import os
import random
import signal
import time

from sealdesk.core.register.community import demo_community, save_community
from sealdesk.core.desk.counter import Desk
from sealdesk.core.register.store import Register, RegisterError

from conftest import VALID_IDS

WRITERS = 8
MATTERS = 1000


def _home(tmp_path, jurisdiction="national"):
    home = tmp_path / "home"
    save_community(demo_community(home, jurisdiction))
    return home


def _matter(desk: Desk, i: int) -> tuple[int, int]:
    d = desk.request("居民财产证明", facts={"party_requires": True, "within_duties": True, "verifiable": True},
                     resident_name="张三", resident_id=VALID_IDS[i % len(VALID_IDS)], as_login="clerk")
    entry = d["entry"]
    desk.approve(entry, as_login="director")
    return entry, desk.stamp(entry, as_login="keeper")["serial"]


def _fork(fn) -> tuple[int, int]:
    """Run fn in a forked child; return (pid, read end of a pipe the child writes lines to)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        os.close(r)
        code = 0
        try:
            fn(w)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        finally:
            os._exit(code)
    os.close(w)
    return pid, r


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        b = os.read(fd, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(fd)
    return b"".join(chunks).decode()


def test_eight_concurrent_writers_leave_a_gapless_verified_register(tmp_path):
    home = _home(tmp_path)

    def writer(w):
        desk = Desk(home)
        out = []
        for i in range(MATTERS):
            entry, serial = _matter(desk, i)
            out.append(f"{entry} {serial}")
        desk.close()
        os.write(w, ("\n".join(out) + "\n").encode())

    children = [_fork(writer) for _ in range(WRITERS)]
    reported = []
    for pid, fd in children:
        text = _read_all(fd)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        reported += text.splitlines()
    assert len(reported) == WRITERS * MATTERS
    assert len({line.split()[1] for line in reported}) == WRITERS * MATTERS  # each writer saw its own serials
    with Register(home / "register.sqlite3") as reg:
        result = reg.verify()
        assert result.ok, result.problem
        assert result.count == WRITERS * MATTERS * 3
        serials = [s for (s,) in reg.conn.execute("SELECT serial FROM records WHERE kind = 'stamp' ORDER BY serial")]
    assert serials == list(range(1, WRITERS * MATTERS + 1))
    desk = Desk(home)
    stamped = desk.list(status="stamped", limit=0)
    assert len(stamped) == WRITERS * MATTERS
    assert desk.audit()["ok"]


def test_a_writer_killed_at_random_points_loses_no_acknowledged_entry(tmp_path):
    home = _home(tmp_path)
    rng = random.Random(20261123)
    acknowledged: set[int] = set()
    for _ in range(20):
        def writer(w):
            desk = Desk(home)
            i = 0
            while True:
                d = desk.request("居民财产证明", facts={"party_requires": True, "within_duties": True,
                                                       "verifiable": True},
                                 resident_name="张三", resident_id=VALID_IDS[0], as_login="clerk")
                os.write(w, f"{d['record']}\n".encode())  # acknowledged: append returned
                a = desk.approve(d["entry"], as_login="director")
                os.write(w, f"{a['record']}\n".encode())
                s = desk.stamp(d["entry"], as_login="keeper")
                os.write(w, f"{s['record']}\n".encode())
                i += 1

        pid, fd = _fork(writer)
        time.sleep(rng.uniform(0.02, 0.4))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        acknowledged |= {int(x) for x in _read_all(fd).split()}
        with Register(home / "register.sqlite3") as reg:  # the file opens after every kill
            result = reg.verify()
            assert result.ok, result.problem
            present = {s for (s,) in reg.conn.execute("SELECT seq FROM records")}
        assert acknowledged <= present
    assert len(acknowledged) > 20  # the writer did get work done between kills
    # Matters left half-way (approved, never stamped) are simply pending; serials have no gap.
    desk = Desk(home)
    assert desk.audit()["ok"]


def test_opening_a_second_register_keeps_the_first_ones_locks(tmp_path):
    # POSIX locks belong to the process: closing any descriptor of the file drops all of them. If
    # opening a register read the file's header through a descriptor of its own, a register already
    # open in the process (the service holds one per clerk) would lose its lock, and another
    # process closing its connection would take itself for the last one and check the WAL back into
    # the file and delete it under the open register.
    import subprocess
    import sys

    path = tmp_path / "r.sqlite3"
    first = Register(path, create=True)
    first.conn.execute("PRAGMA wal_autocheckpoint = 0")  # keep the records in the WAL
    for i in range(3):
        first.append("matter", actor="clerk", role="clerk", community="幸福社区居民委员会",
                     body={"decision": {"query": "居住证明"}, "resident": {"name": f"居民{i}"}}, outcome="issue")
    second = Register(path)
    second.close()
    wal = tmp_path / "r.sqlite3-wal"
    assert wal.stat().st_size > 0
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                    "c.execute('SELECT count(*) FROM records').fetchone(); c.close()", str(path)], check=True)
    assert wal.exists() and wal.stat().st_size > 0  # the other process knew it was not the last
    assert first.verify().ok and first.count() == 3
    first.close()


def test_backup_copies_what_is_still_in_the_wal_and_verifies_it(tmp_path, capsys):
    # A plain copy of the file while a writer holds records in the WAL misses them; the backup
    # (SQLite's online backup API) has them all, is 0600, verifies, and never replaces a file.
    import shutil
    import stat as st

    from sealdesk.core.cli.main import main

    home = _home(tmp_path)
    desk = Desk(home)
    desk.register.conn.execute("PRAGMA wal_autocheckpoint = 0")  # nothing written back to the file
    for i in range(5):
        _matter(desk, i)
    plain = tmp_path / "plain.sqlite3"
    shutil.copyfile(home / "register.sqlite3", plain)  # without its -wal
    with Register(plain) as reg:
        assert reg.count() < 15  # what an unaware copy loses
    capsys.readouterr()
    assert main(["register", "backup", str(tmp_path / "b.sqlite3"), "--home", str(home)]) == 0
    out = capsys.readouterr().out
    assert "共 15 条记录" in out and "校验通过" in out
    assert st.S_IMODE(os.stat(tmp_path / "b.sqlite3").st_mode) == 0o600
    with Register(tmp_path / "b.sqlite3") as copy:
        assert copy.count() == 15 and copy.verify().ok
    before = (tmp_path / "b.sqlite3").read_bytes()
    assert main(["register", "backup", str(tmp_path / "b.sqlite3"), "--home", str(home)]) == 2
    assert "已存在" in capsys.readouterr().err and (tmp_path / "b.sqlite3").read_bytes() == before
    folder = tmp_path / "backups"
    folder.mkdir()
    assert main(["register", "backup", str(folder), "--home", str(home), "--json"]) == 0
    made = list(folder.glob("register-*.sqlite3"))
    assert len(made) == 1 and json.loads(capsys.readouterr().out)["records"] == 15
    desk.close()


def test_a_register_in_a_read_only_directory_is_read_not_called_damaged(tmp_path):
    # An inspector's copy on read-only media: SQLite cannot make its -shm file beside it.
    import subprocess

    mnt = tmp_path / "ro"
    mnt.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True).returncode:
        import pytest

        pytest.skip("mounting a tmpfs needs root")
    try:
        reg = Register(mnt / "r.sqlite3", create=True)
        for i in range(3):
            reg.append("matter", actor="a", role="clerk", community="c", body={"x": i})
        reg.close()
        subprocess.run(["mount", "-o", "remount,ro", str(mnt)], check=True)
        with Register(mnt / "r.sqlite3") as ro:
            assert ro.read_only and ro.count() == 3 and ro.verify().ok
            import pytest

            with pytest.raises(RegisterError, match="只读"):
                ro.append("matter", actor="a", role="clerk", community="c", body={})
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)


def _append_until(path, stop):
    w = Register(path)
    while not stop.is_set():
        w.append("matter", actor="a", role="clerk", community="c", outcome="refuse",
                 body={"decision": {"query": "证明"}, "resident": {"name": "张三", "id": "x"}})
    w.close()


def test_verify_while_another_process_appends_never_reports_a_deleted_tail(tmp_path):
    # Records and head read in two transactions: an append between them looked like a cut tail
    # (30 of 30 verifies failed), and the failed verify stopped the counter with its alarm.
    import multiprocessing as mp

    path = tmp_path / "r.sqlite3"
    Register(path, create=True).close()
    stop = mp.get_context("fork").Event()
    writer = mp.get_context("fork").Process(target=_append_until, args=(path, stop))
    writer.start()
    try:
        with Register(path) as reg:
            while reg.count() < 50:
                time.sleep(0.01)
            results = [reg.verify() for _ in range(15)]
            grew = reg.count()
    finally:
        stop.set()
        writer.join(30)
    assert all(r.ok for r in results), [r.problem.message for r in results if not r.ok][:1]
    assert results[-1].count > results[0].count or grew > results[0].count  # appends did go on meanwhile
