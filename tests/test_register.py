"""The register file: creation, refusal of foreign or damaged files, the hash chain, tampering.

Tampering is done the way an insider would: with the ``sqlite3`` command-line tool
on the real file, then ``sealdesk register verify`` must fail and name the entry.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import stat
import subprocess

import pytest

from sealdesk.core.register.store import APPLICATION_ID, SCHEMA_VERSION, Register, RegisterError

from conftest import VALID_IDS

SQLITE3 = shutil.which("sqlite3")


def fill(cli, n: int = 3) -> None:
    """n stamped matters (request → approve → stamp) and one refusal: records 1..3n+1."""
    for i in range(n):
        d = cli.json("request", "居民财产证明", "--fact", "party_requires", "--fact", "within_duties",
                     "--fact", "verifiable", "--resident-name", f"居民{'甲乙丙丁'[i % 4]}",
                     "--resident-id", VALID_IDS[i % len(VALID_IDS)], "--as", "clerk")
        assert cli("approve", str(d["entry"]), "--as", "director")[0] == 0
        assert cli("stamp", str(d["entry"]), "--as", "keeper")[0] == 0
    cli.json("request", "无犯罪记录证明", "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", "clerk")


def sql(path, statement: str) -> None:
    """Run SQL on the register as an insider would: the sqlite3 tool on the file, or for a county's
    PostgreSQL register (``path`` is then the demo Cli) psql-like as the superuser with triggers off
    (``session_replication_role = replica``), the most a database administrator can do."""
    if getattr(path, "backend", "sqlite") == "postgresql":
        import psycopg

        with psycopg.connect(path.owner_url, autocommit=True) as con:
            con.execute("SET search_path = sealdesk; SET session_replication_role = replica")
            con.execute(statement)
        return
    if not isinstance(path, (str, os.PathLike)):
        path = reg_path(path)
    if SQLITE3:
        subprocess.run([SQLITE3, str(path), statement], check=True, capture_output=True)
    else:  # pragma: no cover - the README's setup installs the sqlite3 tool
        con = sqlite3.connect(path)
        con.executescript(statement)
        con.close()


def reg_path(cli):
    return cli.home / "register.sqlite3"


# -- the file --------------------------------------------------------------------------------
def test_new_register_is_private_and_marked(demo):
    cli = demo()
    fill(cli, 1)
    path = reg_path(cli)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((cli.home / "community.toml").stat().st_mode) == 0o600
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    con.close()
    for p in cli.home.iterdir():  # the WAL, shared-memory and lock files too
        assert not stat.S_IMODE(p.stat().st_mode) & 0o077, p


@pytest.mark.parametrize("content", [
    b"these are a clerk's notes, not a database\n",
    b"SQLite format 3\x00" + b"\xff" * 4000,  # a damaged database
])
def test_foreign_or_damaged_file_is_refused_and_untouched(demo, content):
    cli = demo()
    path = reg_path(cli)
    path.write_bytes(content)
    code, out, err = cli("register", "list")
    assert code == 2
    assert "拒绝打开" in err and "文件未改动" in err
    assert path.read_bytes() == content


def test_another_programs_database_is_refused_and_untouched(demo):
    cli = demo()
    path = reg_path(cli)
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE contacts (name TEXT)")
    con.execute("INSERT INTO contacts VALUES ('王五')")
    con.commit()
    con.close()
    before = path.read_bytes()
    code, _, err = cli("request", "居住证明", "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", "clerk")
    assert code == 2 and "不是 sealdesk 登记簿" in err
    assert path.read_bytes() == before


def test_register_from_a_newer_version_is_refused(demo):
    cli = demo()
    fill(cli, 1)
    sql(reg_path(cli), f"PRAGMA user_version = {SCHEMA_VERSION + 1};")
    code, _, err = cli("register", "verify")
    assert code == 2 and "更新版本" in err


def test_zero_length_file_becomes_a_register(tmp_path):
    path = tmp_path / "r.sqlite3"
    path.write_bytes(b"")
    with Register(path) as reg:
        assert reg.count() == 0 and reg.verify().ok


def test_missing_file_is_not_created_unless_asked(tmp_path):
    with pytest.raises(RegisterError, match="不存在"):
        Register(tmp_path / "nope.sqlite3")
    assert not (tmp_path / "nope.sqlite3").exists()


def test_records_are_never_updated_corrections_are_void_entries(demo):
    cli = demo()
    fill(cli, 2)
    path = reg_path(cli)
    before = sqlite3.connect(path).execute("SELECT * FROM records").fetchall()
    code, out, err = cli("void", "1", "--reason", "居民姓名登记错误", "--as", "director")
    assert code == 0, err
    after = sqlite3.connect(path).execute("SELECT * FROM records").fetchall()
    assert after[:len(before)] == before  # every earlier row byte-for-byte unchanged
    assert after[-1][1] == "void" and after[-1][2] == 1
    show = cli.json("register", "show", "1")
    assert show["status"] == "voided" and show["void_reason"] == "居民姓名登记错误"
    assert show["serial"] == 1  # the number stays used: never reused
    d = cli.json("request", "居民财产证明", "--fact", "party_requires", "--fact", "within_duties", "--fact",
                 "verifiable", "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", "clerk")
    cli("approve", str(d["entry"]), "--as", "director")
    assert cli.json("stamp", str(d["entry"]), "--as", "keeper")["serial"] == 3


# -- verify and tampering ----------------------------------------------------------------------
def verify(cli):
    code, out, err = cli("register", "verify", "--json")
    return code, json.loads(out)


@pytest.mark.parametrize("register_backend", ["sqlite", "postgresql"])
def test_intact_register_verifies(demo):
    cli = demo()
    fill(cli)
    code, r = verify(cli)
    assert code == 0 and r["ok"] and r["records"] == 10 and r["first_bad_entry"] is None


TAMPERING = {
    "edit the resident in a matter": ("UPDATE records SET body = replace(body, '居民乙', '居民戊') WHERE seq = 4", 4),
    "edit a serial number": ("UPDATE records SET serial = 7 WHERE seq = 6", 6),
    "edit who approved": ("UPDATE records SET actor = 'keeper' WHERE seq = 5", 5),
    "edit the outcome": ("UPDATE records SET outcome = 'issue' WHERE seq = 10", 10),
    "delete a middle entry": ("DELETE FROM records WHERE seq = 5", 5),
    "delete the last entry": ("DELETE FROM records WHERE seq = 10", 10),
    "delete the last entry and its head": (
        "DELETE FROM records WHERE seq = 10; UPDATE meta SET value = '9' || substr(value, 3) WHERE key = 'head'", 9),
    "insert a forged entry at the end": (
        "INSERT INTO records SELECT 11, kind, ref, at, actor, role, community, year, serial, outcome, item, list, "
        "grounds, body, prev, hash FROM records WHERE seq = 1", 11),
    "insert a forged entry in a gap": (
        "DELETE FROM records WHERE seq = 5; INSERT INTO records SELECT 5, kind, ref, at, actor, role, community, "
        "year, serial, outcome, item, list, grounds, body, prev, hash FROM records WHERE seq = 1", 5),
    "reorder two entries": (
        "UPDATE records SET seq = -1 WHERE seq = 2; UPDATE records SET seq = 2 WHERE seq = 3; "
        "UPDATE records SET seq = 3 WHERE seq = -1", 2),
    "rewrite a hash to match the edit": (
        "UPDATE records SET body = replace(body, '居民甲', '居民戊'), hash = 'ab' WHERE seq = 1", 1),
}


# The same tampering in a county's PostgreSQL register, where the head lives in ``heads``.
TAMPERING_PG = {**TAMPERING, "delete the last entry and its head": (
    "DELETE FROM records WHERE seq = 10; UPDATE heads SET seq = 9", 9)}


@pytest.mark.parametrize("register_backend", ["sqlite", "postgresql"])
@pytest.mark.parametrize("name", list(TAMPERING))
def test_tampering_with_sqlite3_is_detected_and_named(demo, name, register_backend):
    statement, bad_entry = (TAMPERING_PG if register_backend == "postgresql" else TAMPERING)[name]
    cli = demo()
    fill(cli)
    sql(cli, statement)
    code, r = verify(cli)
    assert code == 1, name
    assert not r["ok"] and r["first_bad_entry"] == bad_entry, r
    code, out, _ = cli("register", "verify")
    assert f"第 {bad_entry} 条" in out


@pytest.mark.parametrize("register_backend", ["sqlite", "postgresql"])
def test_audit_reports_a_broken_chain(demo):
    cli = demo()
    fill(cli)
    sql(cli, "UPDATE records SET serial = 9 WHERE seq = 3")
    code, out, _ = cli("audit", "--json")
    a = json.loads(out)
    assert code == 1 and not a["chain"]["ok"]
    assert any(f["rule"] == "audit.chain" and f["entry"] == 3 for f in a["findings"])


def test_the_systemd_unit_starts_a_command_that_exists():
    import configparser
    import shlex
    from pathlib import Path

    from sealdesk.core.cli.main import build_parser

    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(Path(__file__).resolve().parents[1] / "deploy" / "sealdesk.service", encoding="utf-8")
    argv = shlex.split(unit["Service"]["ExecStart"])
    assert argv[0].endswith("/sealdesk") and argv[1] == "serve"
    args = build_parser().parse_args(argv[1:])  # every option the unit passes is one serve accepts
    assert args.listen.startswith("/run/sealdesk/") and args.socket_mode == "0660"
    assert unit["Service"]["User"] == "sealdesk" and "SEALDESK_HOME" in unit["Service"]["Environment"]
