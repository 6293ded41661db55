"""The register service: identity from the Unix socket's peer credentials.

Clients run as real, different operating-system users (forked, then setuid),
so these tests need root; without it they are skipped with the reason. The
community is not a demo: ``as`` must be refused, and a caller is exactly the
login the kernel reports.

The tests at the end serve a demo community in this process: the service has no
lock and gives each client its own register connection, so reads (an export
paged by a cursor) never hold up a clerk, and two exports each see every matter
once, in order.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from sealdesk.core.register.community import Community, Person, save_community
from sealdesk.core.desk.counter import Desk, os_login
from sealdesk.core.desk.service import RegisterServer, RemoteDesk
from sealdesk.core.register.resident import InvalidInput

from conftest import VALID_IDS

USERS = ("daemon", "bin", "sys", "nobody")


def _have_users() -> bool:
    try:
        for u in USERS:
            pwd.getpwnam(u)
        return True
    except KeyError:
        return False


pytestmark = pytest.mark.skipif(os.geteuid() != 0 or not _have_users(),
                                reason="needs root and the daemon/bin/sys/nobody users to act as other logins")

TRANSITIONAL = {"party_requires": True, "within_duties": True, "verifiable": True}


@pytest.fixture
def service(tmp_path):
    home = tmp_path / "home"
    me = os_login()
    save_community(Community(
        name="测试社区居民委员会", township="测试街道", county="测试县", jurisdiction="shaanxi",
        people=(Person(me, "经办员", ("clerk",)), Person("daemon", "李主任", ("director",)),
                Person("bin", "赵保管", ("keeper",)), Person("sys", "王兼职", ("director", "keeper"))),
        home=home))
    # Other users must reach the socket (pytest's tmp dirs are private), never the register file.
    sockdir = tempfile.mkdtemp(prefix="sealdesk-test-")
    os.chmod(sockdir, 0o755)
    path = os.path.join(sockdir, "register.sock")
    desk = Desk(home)
    server = RegisterServer(path, desk, mode=0o666)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield path, home
    server.shutdown()
    server.server_close()
    desk.close()
    shutil.rmtree(sockdir, ignore_errors=True)


def as_user(user: str, path: str, fn):
    """Run ``fn(RemoteDesk)`` in a child process that has become ``user``; return its result or error."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            pw = pwd.getpwnam(user)
            os.setgroups([])
            os.setgid(pw.pw_gid)
            os.setuid(pw.pw_uid)
            try:
                out = {"ok": True, "result": fn(RemoteDesk(path))}
            except Exception as exc:
                out = {"ok": False, "type": type(exc).__name__, "error": str(exc)}
            os.write(w, json.dumps(out, ensure_ascii=False).encode())
        finally:
            os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return json.loads(data)


def _request(desk):
    return desk.request("居民财产证明", facts=TRANSITIONAL, resident_name="张三", resident_id=VALID_IDS[0])


def test_each_caller_acts_as_the_login_the_kernel_reports(service):
    path, home = service
    me = os_login()
    d = RemoteDesk(path)
    entry = _request(d)["entry"]
    assert entry == 1

    # Nobody can claim another login outside a demo community.
    r = as_user("bin", path, lambda x: x.approve(entry, as_login="daemon"))
    assert not r["ok"] and "只有演示社区" in r["error"]
    # A keeper cannot approve; the director can, and the record names the director's login.
    r = as_user("bin", path, lambda x: x.approve(entry))
    assert not r["ok"] and r["type"] == "Refused" and "负责人" in r["error"]
    r = as_user("daemon", path, lambda x: x.approve(entry))
    assert r["ok"] and r["result"]["actor"] == "daemon" and r["result"]["name"] == "李主任"
    # The director cannot stamp, nor can the clerk running the service's own uid claim to be the keeper.
    r = as_user("daemon", path, lambda x: x.stamp(entry))
    assert not r["ok"] and "印章保管人" in r["error"]
    with pytest.raises(Exception, match="只有演示社区"):
        d.stamp(entry, as_login="bin")
    r = as_user("bin", path, lambda x: x.stamp(entry))
    assert r["ok"] and r["result"]["actor"] == "bin" and r["result"]["serial"] == 1

    shown = Desk(home).show(entry)
    assert (shown["clerk"], shown["approver"], shown["keeper"]) == (me, "daemon", "bin")


def test_shaanxi_director_who_keeps_the_seal_cannot_stamp_his_own_approval(service):
    path, _ = service
    entry = _request(RemoteDesk(path))["entry"]
    r = as_user("sys", path, lambda x: x.approve(entry))
    assert r["ok"] and r["result"]["actor"] == "sys"
    r = as_user("sys", path, lambda x: x.stamp(entry))
    assert not r["ok"] and "shaanxi.workflow.separation" in r["error"] and "不得为同一人" in r["error"]
    r = as_user("bin", path, lambda x: x.stamp(entry))
    assert r["ok"]


def test_people_outside_the_community_cannot_read_the_register(service):
    path, _ = service
    _request(RemoteDesk(path))
    r = as_user("nobody", path, lambda x: x.list())
    assert not r["ok"] and "不在本社区人员名单中" in r["error"]
    r = as_user("nobody", path, lambda x: x.verify())
    assert not r["ok"]


def test_malformed_requests_get_an_answer_and_the_service_lives_on(service):
    import socket

    path, _ = service
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    f = s.makefile("rwb")
    for line in (b"not json\n", b'{"op": "drop_table"}\n', b'{"op": "approve", "args": {}}\n',
                 b'{"op": "approve", "args": {"entry": "1; DROP"}}\n'):
        f.write(line)
        f.flush()
        reply = json.loads(f.readline())
        assert reply["ok"] is False and reply["error"]["message"]
    s.close()
    assert RemoteDesk(path).verify()["ok"]


def test_the_cli_talks_to_the_service(tmp_path, service):
    path, home = service
    env = {**os.environ, "SEALDESK_SOCKET": path, "SEALDESK_HOME": str(tmp_path / "elsewhere")}
    cmd = [sys.executable, "-m", "sealdesk.core.cli.main"]
    p = subprocess.run([*cmd, "request", "无犯罪记录证明", "--resident-name", "张三", "--resident-id", VALID_IDS[0],
                        "--json"], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["entry"] == 1
    p = subprocess.run([*cmd, "register", "verify"], env=env, capture_output=True, text=True)
    assert p.returncode == 0 and "校验通过" in p.stdout


def test_serve_command_starts_and_refuses_a_second_instance(tmp_path):
    home = tmp_path / "h"
    save_community(Community(name="测试社区", township="", county="", jurisdiction="national",
                             people=(Person(os_login(), "经办员", ("clerk",)),), home=home))
    sock = str(tmp_path / "s.sock")
    cmd = [sys.executable, "-m", "sealdesk.core.cli.main", "serve", "--home", str(home), "--listen", sock]
    first = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        assert RemoteDesk(sock).info()["community"]["name"] == "测试社区"
        second = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert second.returncode == 2 and "已有登记簿服务在运行" in second.stderr
    finally:
        first.terminate()
        first.wait(timeout=10)


def test_papers_print_through_the_service_and_verify_there(tmp_path, service):
    # The service renders the PDF (it owns the register); the clerk's CLI writes the file, 0600.
    path, home = service
    env = {**os.environ, "SEALDESK_SOCKET": path, "SEALDESK_HOME": str(tmp_path / "elsewhere")}
    cmd = [sys.executable, "-m", "sealdesk.core.cli.main"]
    entry = RemoteDesk(path).request("无犯罪记录证明", resident_name="张三", resident_id=VALID_IDS[0])["entry"]
    out = tmp_path / "r.pdf"
    p = subprocess.run([*cmd, "paper", "refusal", str(entry), "-o", str(out)], env=env, capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    assert out.read_bytes().startswith(b"%PDF") and oct(out.stat().st_mode & 0o777) == "0o600"
    p = subprocess.run([*cmd, "paper", "verify", str(out)], env=env, capture_output=True, text=True)
    assert p.returncode == 0 and f"登记号 {entry}" in p.stdout
    # the keeper printing the same paper gets the same bytes and adds no record
    r = as_user("bin", path, lambda x: x.paper("refusal", entry)["new"])
    assert r["ok"] and r["result"] is False


# -- no lock: reads never hold up the counter; exports are paged ------------------------------------------------
# A demo community (``as`` names the person acting), served in this process so that a test can hold a
# connection's thread inside a read. Nothing here measures time: a client's timeout only turns a hang
# (the old global lock) into a failure.

MATTERS = 7


@pytest.fixture
def demo_service(tmp_path):
    from sealdesk.core.register.community import demo_community

    home = tmp_path / "home"
    save_community(demo_community(home, "national"))
    desk = Desk(home)
    entries = [_demo_request(desk, i)["entry"] for i in range(MATTERS)]
    desk.close()
    sockdir = tempfile.mkdtemp(prefix="sealdesk-test-")
    path = os.path.join(sockdir, "register.sock")
    served = Desk(home)
    server = RegisterServer(path, served, mode=0o600)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    yield path, home, entries
    server.shutdown()
    server.server_close()
    served.close()
    shutil.rmtree(sockdir, ignore_errors=True)


NAMES = "甲乙丙丁戊己庚辛壬癸"


def _demo_request(desk, i: int) -> dict:
    return desk.request("居民财产证明", facts=TRANSITIONAL, resident_name="张" + NAMES[i % 10] + NAMES[i // 10 % 10],
                        resident_id=VALID_IDS[i % len(VALID_IDS)], as_login="clerk")


def _entries(rows) -> list[int]:
    return [r["entry"] for r in rows]


def test_a_clerk_is_not_held_up_by_an_export_in_progress(demo_service, monkeypatch):
    path, home, entries = demo_service
    # The exporter's next page stops half-way through, inside the service and inside a read transaction
    # of its register connection, until the clerk is done.
    inside, release = threading.Event(), threading.Event()
    export = Desk.export

    def paused(self, after=0, limit=None):
        for n, row in enumerate(export(self, after, limit)):
            if n == 1 and not inside.is_set():  # the first page read after the patch: the exporter's
                conn = self.register.conn
                conn.execute("BEGIN")
                conn.execute("SELECT count(*) FROM records").fetchone()  # a snapshot held from here
                inside.set()
                release.wait(60)
                conn.execute("COMMIT")
            yield row

    exporter = RemoteDesk(path, timeout=60)
    rows = exporter.export(page=3, as_login="inspector")
    first = [next(rows) for _ in range(3)]  # the first page is read: an export is in progress
    assert _entries(first) == entries[:3]
    monkeypatch.setattr(Desk, "export", paused)
    rest: list[dict] = []
    reader = threading.Thread(target=lambda: rest.extend(rows), daemon=True)
    reader.start()
    assert inside.wait(30), "the exporter's second page never reached the register"

    clerk = RemoteDesk(path, timeout=30)  # with one lock for all, these would wait for the export: a timeout
    new = clerk.request("居民财产证明", facts=TRANSITIONAL, resident_name="李四", resident_id=VALID_IDS[1],
                        as_login="clerk")
    approved = clerk.approve(new["entry"], as_login="director")
    assert new["entry"] == MATTERS + 1 and approved["actor"] == "director"
    assert reader.is_alive() and not rest  # the export was still in the middle of its page all along

    release.set()
    reader.join(30)
    assert not reader.is_alive()
    # Every matter once, in order; the one registered meanwhile comes after the cursor, so at the end.
    got = first + rest
    assert _entries(got) == [*entries, new["entry"]]
    assert got[-1]["approver"] == "director" and got[-1]["status"] == "awaiting_stamp"
    exporter.close()
    clerk.close()


def test_two_exports_at_once_each_get_every_matter_once_in_order(demo_service):
    path, home, entries = demo_service
    # Interleaved page by page on two connections: both cursors are open at the same time.
    a = RemoteDesk(path).export(page=2, as_login="inspector")
    b = RemoteDesk(path).export(page=3, as_login="director")
    got_a, got_b = [], []
    for x, y in zip(a, b):
        got_a.append(x)
        got_b.append(y)
    got_a += list(a)
    got_b += list(b)
    assert _entries(got_a) == _entries(got_b) == entries

    # On threads, while a clerk keeps registering: each export is strictly increasing (once each, in
    # entry order), has every matter that existed when it began, and the ones added meanwhile it saw.
    results: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def export(name, page):
        try:
            results[name] = _entries(RemoteDesk(path).export(page=page, as_login="inspector"))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=export, args=(n, p)) for n, p in (("a", 2), ("b", 3))]
    for t in threads:
        t.start()
    clerk = RemoteDesk(path)
    added = [_demo_request(clerk, i)["entry"] for i in range(MATTERS, MATTERS + 5)]
    for t in threads:
        t.join(60)
    assert not errors and len(results) == 2, errors
    for got in results.values():
        assert got == sorted(set(got))
        assert got[:MATTERS] == entries and set(got[MATTERS:]) <= set(added)
    assert _entries(RemoteDesk(path).export(page=4, as_login="inspector")) == entries + added


def test_export_through_the_service_equals_the_desks(demo_service):
    path, home, entries = demo_service
    desk = Desk(home)
    remote = RemoteDesk(path)
    direct = list(desk.export())
    assert len(direct) == MATTERS
    assert list(remote.export(page=3, as_login="inspector")) == direct  # three pages: 3, 3, 1
    assert list(remote.export(page=MATTERS, as_login="inspector")) == direct  # a full last page, then an empty one
    after = direct[1]["record"]
    assert (list(remote.export(after=after, limit=4, page=3, as_login="inspector"))
            == list(desk.export(after=after, limit=4)))
    # The protocol: a page and the cursor of the next one; null when done.
    page = remote.call("export", "inspector", after=0, limit=3)
    assert page == {"rows": direct[:3], "next": direct[2]["record"]}
    assert remote.call("export", "inspector", after=direct[-1]["record"]) == {"rows": [], "next": None}
    for bad in ({"limit": 0}, {"limit": "3"}, {"after": -1}, {"after": True}):
        with pytest.raises(InvalidInput, match="参数"):
            remote.call("export", "inspector", **bad)
    desk.close()


def test_list_through_the_service_is_one_page_at_most(demo_service, monkeypatch):
    from sealdesk.core.desk import service

    path, home, entries = demo_service
    monkeypatch.setattr(service, "PAGE", 4)
    remote = RemoteDesk(path)

    def listed(limit):
        return _entries(remote.list(limit=limit, as_login="director"))

    newest = list(reversed(entries))
    assert listed(None) == listed(0) == listed(100) == newest[:4]
    assert listed(2) == newest[:2]
    # The service's export pages are 4 long too; the client asks for more and pages on.
    assert _entries(remote.export(page=100, as_login="director")) == entries


def test_verify_reads_one_snapshot_while_a_clerk_appends(demo_service, monkeypatch):
    # A record appended between the chain walk and the reading of the head must not look like a
    # truncated chain (the service has no lock that would keep the clerk out meanwhile).
    from sealdesk.core.register.store import Register

    path, home, entries = demo_service
    meta = Register.meta
    appended = []

    def meta_after_an_append(self):
        if not appended:
            clerk = Desk(home)
            appended.append(_demo_request(clerk, 99)["entry"])
            clerk.close()
        return meta(self)

    monkeypatch.setattr(Register, "meta", meta_after_an_append)
    r = RemoteDesk(path).verify(as_login="inspector")
    assert appended == [MATTERS + 1]
    assert r["ok"], r
    assert RemoteDesk(path).verify(as_login="inspector")["records"] == r["records"] + 1


def _thread_nices() -> dict[int, int]:
    """The nice value of each thread of this process (field 19 of /proc/self/task/TID/stat)."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        with open(f"/proc/self/task/{tid}/stat") as f:
            stat = f.read()
        out[int(tid)] = int(stat[stat.rindex(")") + 2:].split()[16])
    return out


def test_an_exporting_connection_runs_at_lower_priority_than_the_clerks(demo_service):
    path, home, entries = demo_service
    before = _thread_nices()
    exporter, clerk = RemoteDesk(path), RemoteDesk(path)
    assert len(list(exporter.export(page=3, as_login="inspector"))) == MATTERS
    clerk.list(as_login="clerk")  # a clerk's connection, open beside it
    after = _thread_nices()
    lowered = {tid for tid, n in after.items() if n == 10 and before.get(tid, 0) != 10}
    assert len(lowered) == 1  # the exporter's connection thread, and no other
    assert all(n == 0 for tid, n in after.items() if tid not in lowered)  # the clerk's thread, the server's
    exporter.close()
    clerk.close()
