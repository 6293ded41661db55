"""Files written with ``-o`` (issue 15, core/common/outfile.py): private from the first byte, never
through a symlink or onto a device, whole or not at all; CSV cells a spreadsheet would run are
neutralised, and ``--bom`` is there for Excel.

Real files, real devices, a real full disk (a 64 KB tmpfs, when this machine lets the tests mount
one) and a real other user (a child process that drops to ``nobody``).
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile

import pytest

from sealdesk.core.common.outfile import OutputError, might_run, output_file, spreadsheet_safe, write_bytes

from conftest import VALID_IDS

NOBODY = 65534


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


def commitment(cli, name="张三", *extra) -> int:
    """A matter recorded at once (告知承诺), with ``extra`` request options."""
    return cli.json("request", "居住证明", "--fact", "commitment_ok", f"--resident-name={name}",
                    "--resident-id", VALID_IDS[0], *extra, "--as", "clerk")["entry"]


def refusal(cli) -> int:
    return cli.json("request", "无犯罪记录证明", "--resident-name", "张三", "--resident-id", VALID_IDS[0],
                    "--as", "clerk")["entry"]


def records(cli) -> int:
    return cli.json("register", "verify")["records"]


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1 and err.startswith("sealdesk: "), err
    assert "Traceback" not in err
    return err


def leftovers(folder) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".sealdesk-"))


# -- private from the first byte -------------------------------------------------------------------
@pytest.fixture
def shared_dir():
    """A directory another user may enter and list (pytest's tmp_path is 0700: nobody could reach any
    file in it, whatever the file's mode)."""
    folder = tempfile.mkdtemp(prefix="sealdesk-out-", dir="/tmp")
    os.chmod(folder, 0o755)
    yield folder
    shutil.rmtree(folder)


def opened_by_nobody(path) -> bool:
    """Whether the user ``nobody`` can open ``path`` for reading, tried by a child process."""
    pid = os.fork()
    if pid == 0:  # the child: drop to nobody, try, report by exit code, never return into pytest
        code = 3
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            os.close(os.open(path, os.O_RDONLY))
            code = 0
        except PermissionError:
            code = 1
        except BaseException:
            code = 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    assert code in (0, 1), f"the child could not try: exit {code}"
    return code == 0


def test_the_file_is_0600_from_its_first_byte_whatever_the_umask(shared_dir):
    target = os.path.join(shared_dir, "导出.csv")
    old = os.umask(0)  # the widest: a file created 0666 and chmodded later would show it
    try:
        with output_file(target, text=True) as f:
            # Before any data and after the first byte: the one file in the directory is the temporary
            # one, 0600, and it is not yet under the target's name.
            for step in ("", "e"):
                f.write(step)
                f.flush()
                names = os.listdir(shared_dir)
                assert len(names) == 1 and names[0].startswith(".sealdesk-") and not os.path.exists(target)
                assert mode(os.path.join(shared_dir, names[0])) == 0o600
            f.write("ntry\r\n" * 100_000)
            f.flush()
            tmp = os.path.join(shared_dir, os.listdir(shared_dir)[0])
            if os.geteuid() == 0:
                assert not opened_by_nobody(tmp)  # another user, mid-write
    finally:
        os.umask(old)
    assert os.listdir(shared_dir) == ["导出.csv"] and mode(target) == 0o600
    with open(target, "rb") as f:
        assert f.read() == b"e" + b"ntry\r\n" * 100_000  # CRLF kept: no newline translation
    if os.geteuid() == 0:
        assert not opened_by_nobody(target)
        control = os.path.join(shared_dir, "公开.txt")  # the check can see a readable file
        with open(control, "w") as c:
            c.write("x")
        os.chmod(control, 0o644)
        assert opened_by_nobody(control)


def test_export_and_paper_files_are_0600_under_umask_0_and_replace_an_existing_file(demo, tmp_path):
    cli = demo("national")
    commitment(cli)
    entry = refusal(cli)
    target, paper, other = tmp_path / "导出.csv", tmp_path / "告知单.pdf", tmp_path / "另一链接.csv"
    target.write_text("旧内容", encoding="utf-8")
    os.chmod(target, 0o644)
    os.link(target, other)  # a second name of the old file: replacing writes a new file, not into it
    old = os.umask(0)
    try:
        code, _, err = cli("register", "export", "--format", "csv", "-o", str(target))
        assert code == 0, err
        code, _, err = cli("paper", "refusal", str(entry), "-o", str(paper), "--as", "clerk")
        assert code == 0, err
    finally:
        os.umask(old)
    assert mode(target) == 0o600 and mode(paper) == 0o600
    assert target.read_text(encoding="utf-8").startswith("entry,record,")
    assert paper.read_bytes().startswith(b"%PDF")
    assert other.read_text(encoding="utf-8") == "旧内容" and mode(other) == 0o644
    assert leftovers(tmp_path) == []


def test_dash_is_standard_output(demo, tmp_path):
    cli = demo("national")
    commitment(cli)
    code, out, err = cli("register", "export", "--format", "json", "-o", "-")
    assert code == 0, err
    assert json.loads(out)[0]["resident_name"] == "张三"
    assert not (tmp_path / "-").exists() and not (cli.home.parent / "-").exists()


# -- what is refused ---------------------------------------------------------------------------------
def test_a_symlink_is_refused_and_what_it_points_to_is_untouched(demo, tmp_path):
    cli = demo("national")
    commitment(cli)
    entry = refusal(cli)
    victim = tmp_path / "community.toml.bak"
    victim.write_text("别人的文件", encoding="utf-8")
    link, dangling, planted = tmp_path / "export.csv", tmp_path / "new.csv", tmp_path / "planted"
    link.symlink_to(victim)
    dangling.symlink_to(planted)  # a link to a name that does not exist yet: following it would create it
    for target in (link, dangling):
        for argv in (("register", "export", "--format", "csv", "-o", str(target)),
                     ("paper", "refusal", str(entry), "-o", str(target), "--as", "clerk")):
            code, _, err = cli(*argv)
            assert code == 2 and "符号链接" in one_line(err), (argv, err)
            assert target.is_symlink()
    assert victim.read_text(encoding="utf-8") == "别人的文件" and not planted.exists()
    assert leftovers(tmp_path) == []


def test_a_directory_is_refused_with_one_line_by_a_real_process(demo, tmp_path):
    cli = demo("national")
    commitment(cli)
    env = {**os.environ, "SEALDESK_HOME": str(cli.home)}
    for argv in (["register", "export", "-o", str(tmp_path)],
                 ["register", "export", "--format", "csv", "-o", str(tmp_path) + "/"],
                 ["report", "notice", "-o", str(tmp_path), "--as", "clerk"]):
        done = subprocess.run([sys.executable, "-m", "sealdesk.core.cli", *argv], env=env, capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 2 and "是目录" in one_line(done.stderr), (argv, done.stderr)
    code, _, err = cli("register", "export", "-o", str(tmp_path / "没有这个目录" / "x.csv"))
    assert code == 2 and "不存在" in one_line(err)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/full"])
def test_devices_are_refused_and_stay_devices(demo, device):
    cli = demo("national")
    commitment(cli)
    entry = refusal(cli)
    before = os.stat(device)
    n = records(cli)
    for argv in (("register", "export", "--format", "csv", "-o", device),
                 ("paper", "refusal", str(entry), "-o", device, "--as", "clerk"),
                 ("report", "notice", "-o", device, "--as", "clerk")):
        code, _, err = cli(*argv)
        assert code == 2 and "设备文件" in one_line(err), (argv, err)
    after = os.stat(device)
    assert stat.S_ISCHR(after.st_mode) and after.st_rdev == before.st_rdev and after.st_ino == before.st_ino
    if device == "/dev/null":
        assert stat.S_IMODE(after.st_mode) == 0o666  # still everyone's
    assert records(cli) == n  # the refused paper was not made, so not recorded either


def test_a_named_pipe_is_refused_at_once(demo, tmp_path):
    cli = demo("national")
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)  # opening it for writing would wait for a reader for ever
    code, _, err = cli("register", "export", "-o", str(fifo))
    assert code == 2 and "命名管道" in one_line(err) and stat.S_ISFIFO(os.lstat(fifo).st_mode)


# -- whole or not at all ---------------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 64 KB tmpfs mounted in tmp_path (root only)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is a 64 KB tmpfs, and mounting one needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(mnt)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"this machine does not let the tests mount a tmpfs: {done.stderr.strip()}")
    yield mnt
    subprocess.run(["umount", str(mnt)], check=True)


def fill(folder) -> None:
    fd = os.open(folder / "filler", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def test_a_full_disk_leaves_the_old_file_whole_and_no_temporary_file(demo, small_disk):
    cli = demo("national")
    for i in range(3):
        commitment(cli, "张三", "--purpose", f"用途{i}")
    target = small_disk / "导出.csv"
    target.write_bytes("上次的导出\r\n".encode())
    fill(small_disk)
    code, _, err = cli("register", "export", "--format", "csv", "-o", str(target))
    assert code == 2 and "磁盘空间不足" in one_line(err) and "原有文件保持不变" in err
    assert target.read_bytes() == "上次的导出\r\n".encode()
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler", "导出.csv"]
    (small_disk / "filler").unlink()  # room again: the same command succeeds
    assert cli("register", "export", "--format", "csv", "-o", str(target))[0] == 0
    assert len(list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))) == 4


def test_a_failure_while_writing_keeps_the_old_file(tmp_path):
    target = tmp_path / "out.pdf"
    write_bytes(str(target), b"old")
    with pytest.raises(RuntimeError):
        with output_file(str(target)) as f:
            f.write(b"new, half")
            raise RuntimeError("the register could not be read")  # the caller's own failure passes through
    assert target.read_bytes() == b"old" and leftovers(tmp_path) == []
    with pytest.raises(OutputError, match="是目录"):
        write_bytes(str(tmp_path), b"x")


# -- CSV for spreadsheets --------------------------------------------------------------------------
def test_csv_cells_a_spreadsheet_would_run_get_an_apostrophe(demo, tmp_path):
    cli = demo("national")
    commitment(cli, "张三", "--purpose", "=1+1", "--requester", "@SUM(A1:A9)")
    commitment(cli, "-李四", "--purpose=+cmd|' /C calc'!A0", "--requester=-2+3")
    commitment(cli, "王五", "--purpose", '=HYPERLINK("http://x", "点击")', "--requester", "=1")
    commitment(cli, "赵六", "--purpose", "a=1, -2", "--requester", "某银行")  # not at a cell's start: as is
    target = tmp_path / "导出.csv"
    assert cli("register", "export", "--format", "csv", "-o", str(target))[0] == 0
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    got = [(r["resident_name"], r["purpose"], r["requester"]) for r in rows]
    assert got == [("张三", "'=1+1", "'@SUM(A1:A9)"),
                   ("'-李四", "'+cmd|' /C calc'!A0", "'-2+3"),
                   ("王五", '\'=HYPERLINK("http://x", "点击")', "'=1"),
                   ("赵六", "a=1, -2", "某银行")]
    assert [r["at"][:2] for r in rows] == ["20"] * 4 and rows[0]["resident_id"].endswith("002X")  # dates, IDs as is
    # The JSON export is data, not a spreadsheet: values as typed.
    code, out, _ = cli("register", "export", "--format", "json")
    assert [(r["resident_name"], r["purpose"]) for r in json.loads(out)][:2] == [("张三", "=1+1"), ("-李四",
                                                                                                  "+cmd|' /C calc'!A0")]


def test_bom_for_excel(demo, tmp_path):
    cli = demo("national")
    commitment(cli)
    plain, marked = tmp_path / "a.csv", tmp_path / "b.csv"
    assert cli("register", "export", "--format", "csv", "-o", str(plain))[0] == 0
    assert cli("register", "export", "--format", "csv", "--bom", "-o", str(marked))[0] == 0
    assert marked.read_bytes() == b"\xef\xbb\xbf" + plain.read_bytes()
    assert plain.read_bytes().startswith(b"entry,")
    code, _, err = cli("register", "export", "--format", "json", "--bom", "-o", str(tmp_path / "c.json"))
    assert code == 2 and "--bom" in one_line(err) and not (tmp_path / "c.json").exists()
    done = subprocess.run([sys.executable, "-m", "sealdesk.core.cli", "register", "export", "--help"],
                          capture_output=True, text=True, check=True)
    assert "--bom" in done.stdout and "Excel" in done.stdout


def test_tab_and_carriage_return_count_as_formula_starts():
    # Clerks' text has no control characters (clean_text); records written by other tools may.
    assert spreadsheet_safe(["\t=1", "\r=1", "=", "'=1", "", "2026-12-05", "甲"]) == [
        "'\t=1", "'\r=1", "'=", "'=1", "", "2026-12-05", "甲"]
    assert might_run("\t=1,b") and might_run("a,\r") and not might_run("2026-12-05,甲,a-b")
