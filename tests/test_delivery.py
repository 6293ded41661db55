"""Getting a paper to the clerk: saved in the paper folder, printed with lp, sent with sz.

Files are real; ``lp`` is a small shell script first on ``PATH`` that records its arguments,
because no test machine has the township's printer.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import os
import shlex
import stat
import unicodedata

import pytest

from sealdesk.core.register.community import demo_community, load_community, save_community
from sealdesk.core.papers.delivery import (DeliveryError, can_print, can_zmodem, deliver, file_name, paper_folder,
                                    print_file, save, zmodem_command)

from conftest import VALID_IDS

DAY = dt.date(2026, 11, 23)


def pdf(text: str = "refusal") -> bytes:
    return b"%PDF-1.7\n" + text.encode() + b"\n%%EOF\n"


def result(data: bytes = None, entry=12, label="不予出具证明告知单", paper="refusal") -> dict:
    data = pdf() if data is None else data
    return {"paper": paper, "label": label, "entry": entry, "record": 40, "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data), "new": True, "pdf": base64.b64encode(data).decode("ascii")}


def mode(path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def community(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o700)
    return demo_community(home)


# -- names and folders -------------------------------------------------------------------------
def test_file_names_for_a_matter_paper_and_a_report():
    assert file_name(result(), DAY) == "2026-11-23_登记12_不予出具证明告知单.pdf"
    report = result(pdf("inventory"), entry=None, label="证明事项统计表", paper="inventory")
    assert file_name(report, DAY) == f"2026-11-23_证明事项统计表_{report['sha256'][:8]}.pdf"


def test_save_creates_a_private_folder_and_a_private_file(community):
    folder = community.home / "papers"
    assert not folder.exists()
    old = os.umask(0o022)
    try:
        path = save(result(), community, DAY)
    finally:
        os.umask(old)
    assert path == folder / "2026-11-23_登记12_不予出具证明告知单.pdf"
    assert mode(folder) == 0o700 and mode(path) == 0o600
    assert path.read_bytes() == pdf()
    assert sorted(os.listdir(folder)) == [path.name]  # no temporary file left behind


def test_the_same_paper_again_is_the_same_file_a_different_one_gets_a_suffix(community):
    first = save(result(), community, DAY)
    before = os.stat(first)
    assert save(result(), community, DAY) == first
    assert os.stat(first).st_ino == before.st_ino and os.stat(first).st_mtime_ns == before.st_mtime_ns

    other = save(result(pdf("another refusal")), community, DAY)
    third = save(result(pdf("a third one")), community, DAY)
    assert other.name == "2026-11-23_登记12_不予出具证明告知单-2.pdf"
    assert third.name == "2026-11-23_登记12_不予出具证明告知单-3.pdf"
    assert first.read_bytes() == pdf() and other.read_bytes() == pdf("another refusal")
    assert save(result(pdf("another refusal")), community, DAY) == other
    assert len(os.listdir(first.parent)) == 3


@pytest.mark.parametrize("label, entry", [
    ("../../etc/passwd", 12),
    ("不予出具证明告知单", "../../etc/passwd"),
    ("a/b", "a/b"),
    ("\x1b[31m红字\x1b[0m", "\x1b]0;title\x07"),
    ("..", ".."),
    ("line\nbreak\r\x00nul\u2028sep\u202eltr", "C:\\Windows\\x"),
    ("长" * 300, "号" * 300),
    ("𠮷" * 300, "𠮷" * 300),
], ids=["label-dotdot", "entry-dotdot", "slash", "escapes", "dots", "controls-windows", "long", "long-ext-b"])
def test_hostile_label_or_entry_never_leaves_the_folder(community, tmp_path, label, entry):
    outside = sorted(os.listdir(tmp_path))
    path = save(result(label=label, entry=entry), community, DAY)
    folder = paper_folder(community)
    assert path.parent == folder and os.path.realpath(path) == os.path.join(os.path.realpath(folder), path.name)
    assert os.listdir(folder) == [path.name]
    assert sorted(os.listdir(tmp_path)) == outside
    assert path.name.startswith("2026-11-23_") and path.name.endswith(".pdf")
    assert "/" not in path.name and "\\" not in path.name
    assert not any(unicodedata.category(ch)[0] == "C" or ch.isspace() for ch in path.name)
    assert len(path.name.encode()) < 255


def test_a_symlink_under_the_papers_name_is_neither_followed_nor_replaced(community, tmp_path):
    folder = paper_folder(community)
    folder.mkdir(mode=0o700)
    bait = tmp_path / "elsewhere.pdf"
    bait.write_bytes(pdf())
    name = file_name(result(), DAY)
    (folder / name).symlink_to(bait)
    path = save(result(), community, DAY)
    assert path.name == name.replace(".pdf", "-2.pdf") and not path.is_symlink()
    assert os.readlink(folder / name) == str(bait) and bait.read_bytes() == pdf()


def test_damaged_or_foreign_content_is_not_saved(community):
    bad = result()
    bad["pdf"] = "not base64!"
    with pytest.raises(DeliveryError, match="base64"):
        save(bad, community, DAY)
    with pytest.raises(DeliveryError, match="不是 PDF"):
        save(result(b"MZ\x90\x00 a program"), community, DAY)
    changed = result()
    changed["sha256"] = "0" * 64
    with pytest.raises(DeliveryError, match="SHA-256"):
        save(changed, community, DAY)
    assert not paper_folder(community).exists() or not os.listdir(paper_folder(community))


def test_paper_folder_default_relative_and_absolute(community, tmp_path):
    home = community.home
    assert paper_folder(community) == home / "papers"
    assert paper_folder(dataclasses.replace(community, paper_folder="文书/2026")) == home / "文书" / "2026"
    elsewhere = tmp_path / "shared" / "papers"
    c = dataclasses.replace(community, paper_folder=str(elsewhere))
    assert paper_folder(c) == elsewhere
    path = save(result(), c, DAY)
    assert path.parent == elsewhere and mode(elsewhere) == 0o700


@pytest.mark.parametrize("folder", ["文书", "/ABS"])
def test_papers_folder_round_trips_through_community_toml(tmp_path, folder):
    home = tmp_path / "home"
    want = str(tmp_path / "abs") if folder == "/ABS" else folder
    save_community(dataclasses.replace(demo_community(home), paper_folder=want, paper_font="/fonts/fangsong.ttf"))
    text = (home / "community.toml").read_text(encoding="utf-8")
    assert "[papers]" in text and "folder = " in text
    loaded = load_community(home)
    assert loaded.paper_folder == want and loaded.paper_font == "/fonts/fangsong.ttf"
    assert paper_folder(loaded) == (tmp_path / "abs" if folder == "/ABS" else home / "文书")


def test_no_papers_table_unless_something_is_in_it(tmp_path):
    home = tmp_path / "home"
    save_community(demo_community(home))
    assert "[papers]" not in (home / "community.toml").read_text(encoding="utf-8")
    assert load_community(home).paper_folder == ""


def test_a_real_paper_from_the_desk(tmp_path):
    from sealdesk.core.desk.counter import Desk

    home = tmp_path / "home"
    save_community(demo_community(home))
    desk = Desk(home)
    entry = desk.request("无犯罪记录证明", resident_name="张三", resident_id=VALID_IDS[0], as_login="clerk")["entry"]
    out = desk.paper("refusal", entry, as_login="clerk")
    path = save(out, desk.community, DAY)
    assert path.name == f"2026-11-23_登记{entry}_不予出具证明告知单.pdf"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == out["sha256"]


# -- printing and ZMODEM -----------------------------------------------------------------------
def program(folder, name: str, body: str):
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    """An empty directory that is the whole PATH: only the programs a test puts there exist."""
    d = tmp_path / "bin"
    d.mkdir()
    monkeypatch.setenv("PATH", str(d))
    return d


def fake_lp(bin_dir, tmp_path):
    log = tmp_path / "lp-args"
    program(bin_dir, "lp", f"printf '%s\\0' \"$@\" > {shlex.quote(str(log))}\n"
                           "echo 'request id is PDF-1 (1 file(s))'\n")
    return log


def test_print_file_runs_lp_and_returns_its_line(community, bin_dir, tmp_path):
    log = fake_lp(bin_dir, tmp_path)
    path = save(result(), community, DAY)
    assert print_file(path, "HP_LaserJet_街道") == "request id is PDF-1 (1 file(s))"
    assert log.read_bytes().decode().split("\0")[:-1] == ["-d", "HP_LaserJet_街道", "--", str(path)]
    assert print_file(path) == "request id is PDF-1 (1 file(s))"
    assert log.read_bytes().decode().split("\0")[:-1] == ["--", str(path)]


def test_lp_failure_is_a_delivery_error_with_lps_words(community, bin_dir):
    program(bin_dir, "lp", "echo 'lp: The printer or class does not exist.' >&2\nexit 1\n")
    path = save(result(), community, DAY)
    with pytest.raises(DeliveryError) as err:
        print_file(path, "nosuch")
    assert "打印失败" in str(err.value) and "lp: The printer or class does not exist." in str(err.value)


def test_no_lp_at_all_is_a_delivery_error(community, bin_dir):
    with pytest.raises(DeliveryError, match="lp"):
        print_file(save(result(), community, DAY))


def test_deliver_saves_prints_and_says_so(community, bin_dir, tmp_path):
    fake_lp(bin_dir, tmp_path)
    done = deliver(result(), community, print_it=True, when=DAY)
    assert done.path.endswith("2026-11-23_登记12_不予出具证明告知单.pdf")
    assert done.printed == "request id is PDF-1 (1 file(s))"
    assert "已保存并送打印" in done.message and done.path in done.message
    program(bin_dir, "lp", "echo 'lp: Error - scheduler not responding.' >&2\nexit 1\n")
    with pytest.raises(DeliveryError, match=r"已保存到 .*但打印失败：lp: Error - scheduler not responding\."):
        deliver(result(), community, print_it=True, when=DAY)
    assert deliver(result(), community, when=DAY) == dataclasses.replace(done, printed=None,
                                                                         message=f"不予出具证明告知单已保存：{done.path}")


def test_can_print_and_can_zmodem_follow_path(bin_dir):
    assert not can_print() and not can_zmodem()
    program(bin_dir, "lp", "exit 0\n")
    assert can_print() and not can_zmodem()
    program(bin_dir, "sz", "exit 0\n")
    assert can_zmodem()


def test_zmodem_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert zmodem_command("-rf.pdf") == ["sz", "--escape", "--binary", str(tmp_path / "-rf.pdf")]
    assert zmodem_command(tmp_path / "登记12.pdf") == ["sz", "--escape", "--binary", str(tmp_path / "登记12.pdf")]


# -- ZMODEM with the real sz, on a real pseudo-terminal (issue 16) ------------------------------
# The test plays the clerk's terminal program on the master side of a pty; send_zmodem gets the
# slave, as it gets /dev/tty in the TUI. PuTTY and tmux are a terminal that never answers.
import re  # noqa: E402
import shutil as _shutil  # noqa: E402
import subprocess  # noqa: E402
import termios  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from sealdesk.core.papers.delivery import ZMODEM_CANCEL, Sent, send_zmodem  # noqa: E402

needs_sz = pytest.mark.skipif(not _shutil.which("sz"), reason="sz (lrzsz) is not installed; scripts/setup installs it")
ZRQINIT = b"**\x18B00000000000000"  # sz's offer: what PuTTY shows as **B00000000000000
# The receiver. rz has written and closed the file before sz ends (at ZEOF, before ZFIN); sz
# flushes its terminal as it exits (lrzsz's io_mode: tcflush TCIOFLUSH), so its closing "OO" may
# not reach rz, which would then wait 10 s for it before ending: the tests end rz themselves.
RZ = ["rz", "--binary", "--quiet"]


def end(rz) -> None:
    try:
        rz.wait(1)
    except subprocess.TimeoutExpired:
        rz.kill()
        rz.wait()


class Terminal:
    """A pty whose master side records what the program wrote and, once ``when`` has been seen,
    answers ``reply`` (Ctrl+C, a receiver's cancel)."""

    def __init__(self, reply: bytes = b"", when: bytes = ZRQINIT):
        self.master, self.slave = os.openpty()
        self.modes = termios.tcgetattr(self.slave)
        self.got = bytearray()
        self.reply, self.when = reply, when
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        from ptyread import drain

        answered = False

        def take(data: bytes) -> None:
            nonlocal answered
            self.got += data
            if self.reply and not answered and self.when in self.got:
                answered = True
                os.write(self.master, self.reply)

        drain(self.master, take)

    def close(self) -> bytes:
        time.sleep(0.1)
        os.close(self.slave)
        self.thread.join(2)
        os.close(self.master)
        return bytes(self.got)


def sz_children() -> list[int]:
    """Our own sz processes still alive (none must be left behind)."""
    out = []
    for stat_file in Path("/proc").glob("[0-9]*/stat"):
        try:
            head, tail = stat_file.read_text().rsplit(")", 1)  # "pid (comm) state ppid …"
        except (OSError, ValueError):
            continue
        if head.split("(", 1)[-1] == "sz" and int(tail.split()[1]) == os.getpid():
            out.append(int(stat_file.parent.name))
    return out


@pytest.fixture
def paper_file(community):
    data = pdf("certificate") + os.urandom(200_000) + bytes(range(256)) * 64  # every byte value, ZMODEM escapes
    return save(result(data, paper="certificate", label="证明"), community, DAY), data


@needs_sz
def test_zmodem_to_a_terminal_that_never_answers_is_not_sent_within_the_timeout(paper_file):
    path, _ = paper_file
    term = Terminal()
    t0 = time.monotonic()
    with pytest.raises(DeliveryError) as err:
        send_zmodem(path, term.slave, answer=2)
    elapsed = time.monotonic() - t0
    assert termios.tcgetattr(term.slave) == term.modes  # the terminal's modes as they were
    shown = term.close()
    assert 2 <= elapsed < 6, elapsed
    message = str(err.value)
    assert message.startswith("未发送：") and "不支持 ZMODEM" in message and str(path) in message
    assert "PuTTY" in message and "tmux" in message
    assert ZRQINIT in shown  # the real sz offered it …
    assert shown.endswith(ZMODEM_CANCEL)  # … and the terminal was told to leave ZMODEM mode
    assert "正在用 ZMODEM 发送".encode() in shown and "Ctrl+C".encode() in shown  # said before sz started
    assert sz_children() == []


@needs_sz
def test_ctrl_c_cancels_at_once(paper_file):
    path, _ = paper_file
    term = Terminal(reply=b"\x03")
    t0 = time.monotonic()
    with pytest.raises(DeliveryError, match=r"^未发送：已取消") as err:
        send_zmodem(path, term.slave, answer=30)
    assert time.monotonic() - t0 < 5
    assert termios.tcgetattr(term.slave) == term.modes
    shown = term.close()
    assert str(path) in str(err.value) and shown.endswith(ZMODEM_CANCEL) and sz_children() == []


@needs_sz
def test_a_receiver_that_cancels_is_sz_s_exit_code_not_success(paper_file):
    path, _ = paper_file
    term = Terminal(reply=b"\x18" * 10)  # ZMODEM's cancel from the receiving side
    with pytest.raises(DeliveryError) as err:
        send_zmodem(path, term.slave, answer=30)
    term.close()
    message = str(err.value)
    assert re.search(r"^未发送：终端不支持 ZMODEM 或已取消（sz 退出码 [1-9]\d*", message), message
    assert str(path) in message


@needs_sz
@pytest.mark.skipif(not _shutil.which("rz"), reason="rz (lrzsz) is not installed")
def test_rz_on_the_terminal_side_receives_the_very_file(paper_file, tmp_path):
    path, data = paper_file
    master, slave = os.openpty()
    inbox = tmp_path / "downloads"
    inbox.mkdir()
    rz = subprocess.Popen(RZ, stdin=master, stdout=master, stderr=subprocess.DEVNULL, cwd=inbox)
    try:
        sent = send_zmodem(path, slave, answer=10)
        assert isinstance(sent, Sent) and sent.path == str(path) and "已通过 ZMODEM 发送" in sent.message
        assert (inbox / path.name).read_bytes() == data  # the Chinese name and every byte
    finally:
        end(rz)
        os.close(slave)
        os.close(master)


def test_sz_s_exit_code_is_the_answer(paper_file, bin_dir):
    path, _ = paper_file
    master, slave = os.openpty()
    try:
        program(bin_dir, "sz", "exit 0\n")
        assert send_zmodem(path, slave, answer=5).path == str(path)
        program(bin_dir, "sz", "echo 'Transfer incomplete' >&2\nexit 2\n")
        with pytest.raises(DeliveryError, match=r"^未发送：终端不支持 ZMODEM 或已取消（sz 退出码 2：Transfer incomplete）"):
            send_zmodem(path, slave, answer=5)
        # an sz that will not end on SIGTERM is killed all the same
        program(bin_dir, "sz", "trap '' TERM\nexec /bin/sleep 60\n")
        t0 = time.monotonic()
        with pytest.raises(DeliveryError, match="没有响应"):
            send_zmodem(path, slave, answer=1)
        assert time.monotonic() - t0 < 6
    finally:
        os.close(slave)
        os.close(master)


def test_no_sz_or_no_file_is_said_before_anything_runs(paper_file, bin_dir, tmp_path):
    path, _ = paper_file
    with pytest.raises(DeliveryError, match=r"^未发送：服务器上没有 sz（需安装 lrzsz）"):
        send_zmodem(path, 0)
    with pytest.raises(DeliveryError, match="找不到文件"):
        send_zmodem(tmp_path / "nosuch.pdf", 0)


@needs_sz
def test_a_terminal_descriptor_above_1023_is_fine(paper_file):
    """select() cannot watch descriptors numbered 1024 or more; a long-running process may hold them."""
    import resource

    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] <= 1100:
        pytest.skip("the descriptor limit is too low to open descriptor 1100")
    path, _ = paper_file
    term = Terminal(reply=b"\x03")
    high = os.dup2(term.slave, 1100)
    try:
        with pytest.raises(DeliveryError, match=r"^未发送：已取消"):
            send_zmodem(path, high, answer=10)
    finally:
        os.close(high)
        term.close()
