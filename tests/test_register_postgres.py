"""The county's PostgreSQL register: what the database itself guarantees, many communities in one
schema, concurrent writers, and the ``sealdesk county`` commands.

The register's contract tests (tests/test_workflow.py, test_register.py, test_register_index.py)
run against this backend too; these are what only a county database has. Every test uses a real
server (tests/pgserver.py) and the application role ``sealdesk_app`` (INSERT and SELECT only).
"""

from __future__ import annotations

import dataclasses
import json
import multiprocessing as mp

import pytest

from sealdesk.core.desk.counter import Desk
from sealdesk.core.register.community import demo_community, load_community, save_community
from sealdesk.core.register.postgres import PgRegister
from sealdesk.core.register.store import GENESIS, RegisterError, record_hash

from conftest import VALID_IDS, Cli

PROPERTY = {"party_requires": True, "within_duties": True, "verifiable": True}


def community_home(tmp_path, url: str, name: str, township: str = "城关镇", jurisdiction: str = "national"):
    """A demo community named ``name`` whose register is the county database at ``url``."""
    home = tmp_path / name
    c = dataclasses.replace(demo_community(home, jurisdiction), name=name, township=township, register_url=url)
    save_community(c)
    return home


def issue(desk: Desk, n: int, name: str = "张三") -> list[int]:
    """n matters requested, approved and stamped; their serials."""
    serials = []
    for i in range(n):
        d = desk.request("居民财产证明", resident_name=name, resident_id=VALID_IDS[i % len(VALID_IDS)],
                         facts=PROPERTY, as_login="clerk")
        desk.approve(d["entry"], as_login="director")
        serials.append(desk.stamp(d["entry"], as_login="keeper")["serial"])
    return serials


@pytest.fixture
def county(pg_county):
    return pg_county.new()  # (app URL, owner URL)


def test_the_application_role_can_only_append(county):
    import psycopg

    app, owner = county
    with PgRegister(app, community="甲社区") as reg:
        reg.append("matter", actor="clerk", role="clerk", community="甲社区", body={"decision": {}}, outcome="refuse")
        for stmt in ("UPDATE records SET actor = 'x'", "DELETE FROM records", "TRUNCATE records",
                     "UPDATE matters SET state = 'voided'", "DELETE FROM grams", "UPDATE heads SET seq = 0",
                     "INSERT INTO heads VALUES ('乙社区', 5, 'x')"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                reg.conn.execute(stmt)
    # The owner is refused by the trigger: removing a record takes dropping it first, which shows.
    with psycopg.connect(owner, autocommit=True) as con:
        con.execute("SET search_path = sealdesk")
        for stmt in ("UPDATE records SET actor = 'x'", "DELETE FROM records", "TRUNCATE records"):
            with pytest.raises(psycopg.Error, match="append-only"):
                con.execute(stmt)
        assert con.execute("SELECT count(*) FROM records").fetchone()[0] == 1


def test_the_database_refuses_a_record_that_forks_the_chain(county):
    import psycopg

    app, _ = county
    with PgRegister(app, community="甲社区") as reg:
        first = reg.append("matter", actor="clerk", role="clerk", community="甲社区", body={}, outcome="issue")
        for seq, prev in ((1, GENESIS), (3, first.hash), (2, GENESIS)):  # a reuse, a gap, a fork
            row = (seq, "matter", None, first.at, "clerk", "clerk", "甲社区", None, None, "issue", None, None, None,
                   "{}", prev)
            with pytest.raises(psycopg.Error):
                reg.conn.execute("INSERT INTO records VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                                 (*row, record_hash(row)))
        with pytest.raises(RegisterError):  # an action on a record that is not a matter
            reg.append("approve", actor="d", role="director", community="甲社区", body={}, ref=7)
        assert reg.verify().ok and reg.count() == 1


def test_communities_share_a_schema_but_not_numbers_chains_or_matters(tmp_path, county):
    app, _ = county
    a = Desk(community_home(tmp_path, app, "甲社区居民委员会", "城关镇"))
    b = Desk(community_home(tmp_path, app, "乙村村民委员会", "河口乡"))
    assert issue(a, 2, "甲甲") == [1, 2]
    assert issue(b, 3, "乙乙") == [1, 2, 3]  # serials per community and year
    assert [r["entry"] for r in a.list()] == [2, 1] and [r["entry"] for r in b.list()] == [3, 2, 1]
    assert a.list(search="乙乙") == [] and len(b.list(search="乙乙")) == 3
    assert a.show(1)["resident_name"] == "甲甲" and b.show(1)["resident_name"] == "乙乙"
    assert a.register.count() == 6 and b.register.count() == 9  # each chain is 1..n of its own
    with pytest.raises(Exception, match="不存在"):
        a.show(3)
    with pytest.raises(RegisterError, match="不能写入"):
        a.register.append("matter", actor="clerk", role="clerk", community="乙村村民委员会", body={})
    assert a.verify()["ok"] and b.verify()["ok"]
    a.close()
    b.close()


def _writer(url: str, home: str, rounds: int, q) -> None:
    try:
        desk = Desk(home)
        q.put(("ok", issue(desk, rounds)))
        desk.close()
    except Exception as exc:  # reported to the test, which fails with it
        q.put(("error", repr(exc)))


def test_32_concurrent_writers_across_communities_leave_gapless_verified_chains(tmp_path, county):
    app, _ = county
    homes = [community_home(tmp_path, app, f"社区{i:02d}", f"镇{i % 4}") for i in range(16)]
    homes += homes[:8]  # 8 communities with two writers at once: one chain, one serial counter
    homes += [community_home(tmp_path, app, f"村{i:02d}", "乡") for i in range(8)]
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(app, str(h), 4, q)) for h in homes]
    for p in procs:
        p.start()
    results = [q.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(60)
    assert all(kind == "ok" for kind, _ in results), results
    from sealdesk.core.register.county import audit, communities

    for c in communities(app):
        with PgRegister(app, community=c.name) as reg:
            assert reg.verify().ok, c.name
            serials = sorted(r.serial for r in reg.records(kinds=("stamp",)))
            writers = sum(1 for h in homes if h.name == c.name)
            assert serials == list(range(1, 4 * writers + 1)), (c.name, serials)
    from sealdesk.core.cli.main import _registry

    a = audit(app, _registry())
    assert a["ok"] and a["communities"] == 24, a["failing"]


def test_county_commands_sum_communities_and_townships(tmp_path, county, capsys):
    from sealdesk.core.cli.main import main

    app, owner = county
    a = Desk(community_home(tmp_path, app, "甲社区", "城关镇"))
    b = Desk(community_home(tmp_path, app, "乙社区", "城关镇"))
    c = Desk(community_home(tmp_path, app, "丙村", "河口乡", jurisdiction="shaanxi"))
    issue(a, 2)
    issue(b, 1)
    issue(c, 1)
    for desk in (a, b, c):
        desk.request("无犯罪记录证明", resident_name="张三", resident_id=VALID_IDS[0], as_login="clerk")
    v = b.request("居民财产证明", resident_name="李四", resident_id=VALID_IDS[1], facts=PROPERTY, as_login="clerk")
    b.void(v["entry"], "登记错误", as_login="director")  # a voided matter does not count

    def run(*argv):
        capsys.readouterr()
        code = main(["county", *argv, "--url", app])
        return code, capsys.readouterr()

    code, (out, _) = run("inventory", "--json")
    inv = json.loads(out)
    assert code == 0 and inv["total"] == 7 and inv["communities"] == 3 and inv["reporting"] == 3
    assert inv["outcomes"]["refuse"] == 3 and sum(inv["outcomes"].values()) == 7
    assert {t["township"]: t["total"] for t in inv["townships"]} == {"城关镇": 5, "河口乡": 2}
    prop = next(r for r in inv["rows"] if r["name"] == "居民财产证明")
    assert prop["total"] == 4 and prop["townships"] == {"城关镇": 3, "河口乡": 1}
    code, (out, _) = run("inventory")
    assert code == 0 and "全县汇总" in out and "城关镇：5 件" in out
    code, (out, _) = run("inventory", "--format", "csv")
    assert code == 0 and out.splitlines()[0].startswith("证明名称,证明用途") and "居民财产证明" in out
    code, (out, _) = run("counts", "--by", "township", "--json")
    assert {r["township"]: r["total"] for r in json.loads(out) if r["township"]} == {"城关镇": 5, "河口乡": 2}
    code, (out, _) = run("communities")
    assert code == 0 and "共 3 个社区" in out and "丙村" in out and "shaanxi" in out
    code, (out, _) = run("audit")
    assert code == 0 and "3 个社区（村），均无违规" in out
    # A stamp forged into one community (no approval): the county audit names that community only.
    from test_workflow import forge

    cli = Cli(a.home, capsys)
    cli.backend, cli.url = "postgresql", app
    d = a.request("居民财产证明", resident_name="王五", resident_id=VALID_IDS[2], facts=PROPERTY, as_login="clerk")
    forge(cli, ref=d["record"], serial=3, community="甲社区")
    code, (out, _) = run("audit", "--json")
    rep = json.loads(out)
    assert code == 1 and rep["failing"] == ["甲社区"]
    code, (out, _) = run("audit")
    assert code == 1 and "1 个有问题" in out and "未经审批即用印" in out
    for desk in (a, b, c):
        desk.close()


def test_bad_or_unreachable_county_database_is_one_clear_line(tmp_path, capsys, county):
    from sealdesk.core.cli.main import main

    app, _ = county
    for argv, words in (
            (["county", "inventory", "--url", "postgresql://nobody@/nodb?host=/nonexistent&port=1"], "无法连接"),
            (["county", "inventory", "--url", "mysql://x"], "postgresql://"),
            (["county", "inventory", "--url", app, "--from", "2026-13-01"], "日期"),
            (["county", "counts", "--url", app.replace("county_", "nosuch_")], "无法连接")):
        capsys.readouterr()
        code = main(argv)
        _, err = capsys.readouterr()
        assert code == 2 and words in err and "Traceback" not in err, (argv, err)
        assert len(err.strip().splitlines()) == 1, err
    home = community_home(tmp_path, "postgresql://nobody@/nodb?host=/nonexistent&port=1", "丁社区")
    code = main(["register", "list", "--home", str(home)])
    _, err = capsys.readouterr()
    assert code == 2 and "无法连接 PostgreSQL 登记簿" in err and "Traceback" not in err
    cfg = home / "community.toml"
    cfg.write_text(cfg.read_text(encoding="utf-8").replace("postgresql://", "mysql://"), encoding="utf-8")
    code = main(["register", "list", "--home", str(home)])
    _, err = capsys.readouterr()
    assert code == 2 and "register.url" in err


def test_county_setup_creates_the_schema_and_the_grants(pg_server, capsys):
    import psycopg

    from sealdesk.core.cli.main import main

    pg_server.createdb("setup_test")
    with pg_server.connect(autocommit=True) as con:
        con.execute("CREATE ROLE township_app LOGIN")
    owner, app = pg_server.url("setup_test"), pg_server.url("setup_test", "township_app")
    with pytest.raises(RegisterError, match="county setup"):
        PgRegister(app, community="甲社区")  # before set-up: says what to do
    assert main(["county", "setup", "--url", owner, "--app-role", "township_app"]) == 0
    assert "已建立" in capsys.readouterr().out
    assert main(["county", "setup", "--url", owner, "--app-role", "township_app"]) == 0  # idempotent
    assert "已存在" in capsys.readouterr().out
    with PgRegister(app, community="甲社区") as reg:
        reg.append("matter", actor="clerk", role="clerk", community="甲社区", body={}, outcome="refuse")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            reg.conn.execute("DELETE FROM records")
    assert main(["county", "setup", "--url", owner, "--app-role", "bad;role"]) == 2


def test_the_database_hashes_any_text_as_the_verifier_does(county):
    """The chain trigger's canonical bytes (to_json in SQL) equal store.canonical's (Python's json)
    for any text a record can hold: control characters, quotes, backslashes, astral characters."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from sealdesk.core.register.store import body_text

    app, _ = county
    text = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40)
    reg = PgRegister(app, community="哈希社区")

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(actor=text, role=text, grounds=st.one_of(st.none(), text), note=text)
    def check(actor, role, grounds, note):
        rec = reg.append("paper", actor=actor, role=role, community="哈希社区", body={"note": note, "k": [1, None]},
                         grounds=grounds)
        assert rec.hash == record_hash(dataclasses.astuple(rec)[:15]) and rec.body == body_text({"note": note, "k": [1, None]})

    check()
    assert reg.verify().ok
    reg.close()


def test_a_server_crash_loses_no_acknowledged_record_and_the_counter_reconnects(tmp_path, county, pg_server):
    app, _ = county
    desk = Desk(community_home(tmp_path, app, "戊社区"))
    assert issue(desk, 2) == [1, 2]
    pg_server.stop(mode="immediate")  # a crash: recovery replays the WAL
    try:
        with pytest.raises(RegisterError, match="PostgreSQL"):  # while it is down: a message, no traceback
            desk.list()
    finally:
        pg_server.start()
    assert [r["serial"] for r in desk.list()] == [2, 1]  # the same Desk reconnects
    assert issue(desk, 1) == [3]
    assert desk.verify()["ok"]
    desk.close()


def test_county_without_a_subcommand_or_a_database_says_what_is_needed(tmp_path, capsys, monkeypatch):
    from sealdesk.core.cli.main import main

    monkeypatch.delenv("SEALDESK_COUNTY_URL", raising=False)
    assert main(["county"]) == 2
    assert "county 需要子命令" in capsys.readouterr().err
    home = tmp_path / "h"
    assert main(["init", "--demo", "--home", str(home)]) == 0
    capsys.readouterr()
    assert main(["county", "inventory", "--home", str(home)]) == 2  # a community with a register file
    err = capsys.readouterr().err
    assert "未指定县登记簿" in err and len(err.strip().splitlines()) == 1


def test_the_trigger_writes_search_ngrams_a_batch_at_a_time(county):
    # Every 1,024th record of a community the index trigger adds the n-grams of its matters since
    # the last batch; search finds matters on both sides of that mark, and verify checks the batch.
    import psycopg

    from sealdesk.core.register import store

    app, owner = county
    every = store._GRAMS_EVERY
    names = ["张三", "李四", "王小明", "欧阳娜娜"]
    with PgRegister(app, community="甲社区") as reg, PgRegister(app, community="乙社区") as other:
        other.append("matter", actor="clerk", role="clerk", community="乙社区",
                     body={"decision": {"query": "居住证明"}, "resident": {"name": "张三"}}, outcome="issue")
        for i in range(every + 5):
            reg.append("matter", actor="clerk", role="clerk", community="甲社区",
                       body={"decision": {"query": "居住证明"}, "resident": {"name": names[i % 4] + str(i)}},
                       outcome="issue")
        with psycopg.connect(app) as con:
            mark = con.execute("SELECT grams FROM sealdesk.heads WHERE community = '甲社区'").fetchone()[0]
            batches = con.execute("SELECT DISTINCT community, batch FROM sealdesk.grams").fetchall()
        assert mark == every and batches == [("甲社区", every)]  # the other community has no batch yet
        for search, want in (("张三0", [1]), ("张三1028", [1029]), ("欧阳", None), ("住证", None), ("三1", None)):
            brute = [seq for seq in range(every + 5, 0, -1) if search in names[(seq - 1) % 4] + str(seq - 1)
                     or search in "居住证明"]
            got = [seq for seq, _ in reg.find(None, search, None)]
            assert got == (want or brute), search
            assert [seq for seq, _ in reg.find(None, search, 3)] == (want or brute)[:3], search
        assert [seq for seq, _ in other.find(None, "张三", None)] == [1]
        assert reg.verify().ok and other.verify().ok
    with psycopg.connect(owner, autocommit=True) as con:
        con.execute("SET search_path = sealdesk; SET session_replication_role = replica")
        con.execute("UPDATE grams SET seqs = seqs || ' 1030' WHERE community = '甲社区' AND gram = '欧'")
    with PgRegister(app, community="甲社区") as reg:
        r = reg.verify()
        assert not r.ok and r.problem.seq == 1030 and "grams" in r.problem.message


def test_county_setup_upgrades_a_schema_1_database_keeping_every_record(county, capsys):
    # Schema 1 kept a row per matter and n-gram; setup brings it to batches, the counters wait for it.
    import psycopg

    from sealdesk.core.cli.main import main
    from sealdesk.core.register import postgres

    app, owner = county
    with PgRegister(app, community="甲社区") as reg:
        for name in ("张三", "李四", "王小明"):
            reg.append("matter", actor="clerk", role="clerk", community="甲社区",
                       body={"decision": {"query": "居住证明"}, "resident": {"name": name}}, outcome="issue")
        head = reg.head()
    with psycopg.connect(owner, autocommit=True) as con:  # what a schema-1 database holds
        con.execute("SET search_path = sealdesk")
        con.execute("ALTER TABLE heads DROP COLUMN grams")
        con.execute("TRUNCATE grams")
        con.execute("ALTER TABLE grams DROP CONSTRAINT grams_pkey, DROP COLUMN batch, DROP COLUMN seqs, "
                    "ADD COLUMN seq bigint NOT NULL, ADD PRIMARY KEY (community, gram, seq)")
        con.execute("INSERT INTO grams SELECT m.community, g, m.seq FROM matters m, "
                    "grams_of(ARRAY[m.query, m.resident]) AS g")
        con.execute("DROP FUNCTION index_tail(text, bigint)")
        con.execute("UPDATE meta SET value = '1' WHERE key = 'schema'")
    with pytest.raises(RegisterError, match="county setup"):
        PgRegister(app, community="甲社区")
    assert main(["county", "setup", "--url", owner]) == 0
    assert "已升级（记录不变）" in capsys.readouterr().out
    with psycopg.connect(owner) as con:
        assert con.execute("SELECT value FROM sealdesk.meta WHERE key = 'schema'").fetchone()[0] == str(
            postgres.SCHEMA_VERSION)
    with PgRegister(app, community="甲社区") as reg:  # the counters' role still reads the new table
        assert reg.head() == head and reg.verify().ok
        assert [seq for seq, _ in reg.find(None, "李四", None)] == [2]
        reg.append("matter", actor="clerk", role="clerk", community="甲社区",
                   body={"decision": {"query": "居住证明"}, "resident": {"name": "李四"}}, outcome="issue")
        assert [seq for seq, _ in reg.find(None, "李四", None)] == [4, 2] and reg.verify().ok
    assert main(["county", "setup", "--url", owner]) == 0
    assert "已存在" in capsys.readouterr().out
