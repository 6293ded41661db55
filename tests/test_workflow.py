"""The seal workflow through the command line: clerk records → director approves → keeper stamps.

Each refusal must name the rule that refused; jurisdiction rules carry their citation.
"""

from __future__ import annotations

import csv
import io
import json
import stat

import pytest

from sealdesk.core.desk.counter import os_login
from sealdesk.core.register.store import Register, record_hash

from conftest import VALID_IDS, Cli, open_register

TRANSITIONAL = ("居民财产证明", "--fact", "party_requires", "--fact", "within_duties", "--fact", "verifiable")


def request(cli, *argv, who="clerk", rid=VALID_IDS[0], name="张三"):
    return cli.json("request", *argv, "--resident-name", name, "--resident-id", rid, "--as", who)


def count(cli) -> int:
    if cli.backend == "sqlite" and not (cli.home / "register.sqlite3").exists():
        return 0
    with open_register(cli) as reg:
        return reg.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def register_backend(request):
    """Every workflow test runs against the register file and a county's PostgreSQL register."""
    return request.param


def test_full_workflow_assigns_serials_in_order(demo):
    cli = demo("national")
    serials = []
    for _ in range(3):
        d = request(cli, *TRANSITIONAL)
        assert d["outcome"] == "issue_transitional" and d["entry"] is not None
        assert cli.json("approve", str(d["entry"]), "--as", "director")["kind"] == "approve"
        serials.append(cli.json("stamp", str(d["entry"]), "--as", "keeper")["serial"])
    assert serials == [1, 2, 3]
    rows = cli.json("register", "list")
    assert [r["status"] for r in rows] == ["stamped"] * 3
    assert cli("register", "verify")[0] == 0


def test_decision_json_carries_the_entry(demo):
    cli = demo("national")
    d = request(cli, "无犯罪记录证明")
    assert d["outcome"] == "refuse" and "公安" in d["route"] and isinstance(d["entry"], int)
    for key in ("jurisdiction", "date", "query", "item", "outcome", "route", "requirements", "questions",
                "citations", "warnings", "explanation"):
        assert key in d


def test_refusals_and_commitments_are_logged_and_cannot_be_stamped(demo):
    cli = demo("qinghai")
    refused = request(cli, "无犯罪记录证明")
    code, _, err = cli("approve", str(refused["entry"]), "--as", "director")
    assert code == 3 and "不予出具" in err and "sealdesk.workflow.not_issuing" in err
    show = cli.json("register", "show", str(refused["entry"]))
    assert show["status"] == "refused" and show["outcome"] == "refuse"


def test_a_decision_that_still_asks_is_not_recorded(demo):
    cli = demo("national")
    d = request(cli, "居民财产证明", "--fact", "party_requires")
    assert d["outcome"] == "ask" and d["entry"] is None and d["questions"]
    assert count(cli) == 0


@pytest.mark.parametrize("action, who, role_word", [
    ("approve", "clerk", "负责人"), ("approve", "keeper", "负责人"), ("stamp", "clerk", "印章保管人"),
    ("stamp", "director", "印章保管人"), ("void", "inspector", "负责人"),
])
def test_roles_are_enforced_and_the_refusal_names_the_rule(demo, action, who, role_word):
    cli = demo("national")
    d = request(cli, *TRANSITIONAL)
    if action == "stamp":
        cli("approve", str(d["entry"]), "--as", "director")
    before = count(cli)
    argv = [action, str(d["entry"]), "--as", who] + (["--reason", "错"] if action == "void" else [])
    code, _, err = cli(*argv)
    assert code == 3 and role_word in err and "sealdesk.workflow.role" in err
    assert count(cli) == before


def test_inspector_and_trainer_cannot_record(demo):
    cli = demo("national")
    for who in ("inspector", "trainer"):
        code, _, err = cli("request", "居住证明", "--resident-name", "张三", "--resident-id", VALID_IDS[0], "--as", who)
        assert code == 3 and "经办人" in err
    assert count(cli) == 0


def test_stamping_needs_approval_first(demo):
    cli = demo("national")
    d = request(cli, *TRANSITIONAL)
    code, _, err = cli("stamp", str(d["entry"]), "--as", "keeper")
    assert code == 3 and "审批" in err


def test_shaanxi_approval_first_cites_the_notice(demo):
    cli = demo("shaanxi")
    d = request(cli, *TRANSITIONAL)
    code, _, err = cli("stamp", str(d["entry"]), "--as", "keeper")
    assert code == 3 and "shaanxi.workflow.approval_first" in err and "五（三）" in err


def _community(tmp_path, capsys, jurisdiction: str, people: list[str], demo: bool = False) -> Cli:
    cli = Cli(tmp_path / f"home-{jurisdiction}", capsys)
    argv = ["init", "--jurisdiction", jurisdiction, "--community", "测试社区居民委员会", "--township", "测试街道"]
    for p in people:
        argv += ["--person", p]
    code, _, err = cli(*argv)
    assert code == 0, err
    return cli


def test_shaanxi_director_who_also_keeps_the_seal_cannot_stamp_what_he_approved(demo, tmp_path, capsys):
    me = os_login()
    # A demo community whose director is also a keeper, plus a second keeper.
    cli = demo("shaanxi")
    config = (cli.home / "community.toml").read_text(encoding="utf-8")
    config = config.replace('roles = [\n    "director",\n]', 'roles = [\n    "director",\n    "keeper",\n]')
    assert '"keeper",\n]' in config
    (cli.home / "community.toml").write_text(config, encoding="utf-8")
    d = request(cli, *TRANSITIONAL)
    assert cli("approve", str(d["entry"]), "--as", "director")[0] == 0
    code, _, err = cli("stamp", str(d["entry"]), "--as", "director")
    assert code == 3 and "shaanxi.workflow.separation" in err and "审批人与保管人不得为同一人" in err
    assert cli.json("stamp", str(d["entry"]), "--as", "keeper")["serial"] == 1
    assert me  # the login exists


def test_elsewhere_one_person_may_approve_and_stamp_but_the_audit_notes_it(demo):
    cli = demo("national")
    config = (cli.home / "community.toml").read_text(encoding="utf-8")
    (cli.home / "community.toml").write_text(
        config.replace('roles = [\n    "director",\n]', 'roles = [\n    "director",\n    "keeper",\n]'), encoding="utf-8")
    d = request(cli, *TRANSITIONAL)
    cli("approve", str(d["entry"]), "--as", "director")
    assert cli.json("stamp", str(d["entry"]), "--as", "director")["serial"] == 1
    code, out, _ = cli("audit", "--json")
    a = json.loads(out)
    assert code == 0 and a["violations"] == 0
    assert [f["rule"] for f in a["findings"]] == ["audit.same_person"]


def test_audit_judges_each_matter_by_the_jurisdiction_it_was_decided_under(demo):
    # Decided and stamped under national rules (one person may approve and stamp there), then the
    # community switched to Shaanxi, which forbids it: the old matter is not a Shaanxi violation.
    cli = demo("national")
    config = (cli.home / "community.toml").read_text(encoding="utf-8")
    config = config.replace('roles = [\n    "director",\n]', 'roles = [\n    "director",\n    "keeper",\n]')
    (cli.home / "community.toml").write_text(config, encoding="utf-8")
    d = request(cli, *TRANSITIONAL)
    cli("approve", str(d["entry"]), "--as", "director")
    assert cli.json("stamp", str(d["entry"]), "--as", "director")["serial"] == 1
    (cli.home / "community.toml").write_text(
        config.replace('jurisdiction = "national"', 'jurisdiction = "shaanxi"'), encoding="utf-8")
    code, out, _ = cli("audit", "--json")
    a = json.loads(out)
    assert code == 0 and a["violations"] == 0 and [f["rule"] for f in a["findings"]] == ["audit.same_person"]


def test_audit_with_an_unknown_jurisdiction_is_an_error_not_ok(demo):
    cli = demo("national")
    request(cli, *TRANSITIONAL)
    config = (cli.home / "community.toml").read_text(encoding="utf-8")
    # A matter decided under a jurisdiction whose plugin is gone.
    forge(cli, kind="matter", ref=None, serial=None, year=None, outcome="issue", role="clerk", actor="clerk",
          body=json.dumps({"decision": {"jurisdiction": "gone-county", "date": "2026-11-23"}}))
    code, out, err = cli("audit")
    assert code == 2 and "gone-county" in err and "未安装" in err
    # The configured jurisdiction unknown: the audit cannot say "ok" either.
    cli = demo("jilin")
    request(cli, "无犯罪记录证明")
    config = (cli.home / "community.toml").read_text(encoding="utf-8")
    (cli.home / "community.toml").write_text(config.replace('jurisdiction = "jilin"', 'jurisdiction = "nowhere"'),
                                             encoding="utf-8")
    code, out, err = cli("audit")
    assert code == 2 and "nowhere" in err


def test_yubei_needs_filing_after_stamping(demo):
    cli = demo("chongqing-yubei")
    d = request(cli, "某某专项证明", "--fact", "within_duties", "--fact", "verifiable")
    assert d["outcome"] == "issue_transitional"
    e = str(d["entry"])
    code, _, err = cli("file", e, "--as", "director")
    assert code == 3 and "chongqing-yubei.workflow.filing" in err and "备案" in err
    cli("approve", e, "--as", "director")
    cli("stamp", e, "--as", "keeper")
    assert cli.json("register", "show", e)["status"] == "awaiting_filing"
    a = json.loads(cli("audit", "--json")[1])
    assert any(f["rule"] == "audit.not_filed" and f["entry"] == int(e) for f in a["findings"])
    assert cli.json("file", e, "--as", "director")["kind"] == "file"
    assert cli.json("register", "show", e)["status"] == "filed"
    assert json.loads(cli("audit", "--json")[1])["findings"] == []


def test_filing_is_not_a_step_elsewhere(demo):
    cli = demo("national")
    d = request(cli, *TRANSITIONAL)
    cli("approve", str(d["entry"]), "--as", "director")
    cli("stamp", str(d["entry"]), "--as", "keeper")
    code, _, err = cli("file", str(d["entry"]), "--as", "director")
    assert code == 3 and "没有备案环节" in err


def test_as_is_refused_outside_a_demo_community(tmp_path, capsys):
    me = os_login()
    cli = _community(tmp_path, capsys, "national", [f"{me}:测试员:clerk,director", "keeper:赵敏:keeper"])
    d = cli.json("request", *TRANSITIONAL, "--resident-name", "张三", "--resident-id", VALID_IDS[0])
    assert d["entry"] == 1
    code, _, err = cli("stamp", "1", "--as", "keeper")
    assert code == 3 and "只有演示社区" in err
    assert cli.json("approve", "1")["actor"] == me


def test_unknown_login_is_refused(tmp_path, capsys):
    cli = _community(tmp_path, capsys, "national", ["someone-else:王五:clerk"])
    code, _, err = cli("request", "居住证明", "--resident-name", "张三", "--resident-id", VALID_IDS[0])
    assert code == 3 and "不在本社区人员名单中" in err


def test_on_is_for_demo_communities_only(tmp_path, capsys):
    me = os_login()
    cli = _community(tmp_path, capsys, "national", [f"{me}:测试员:clerk"])
    code, _, err = cli("request", "居住证明", "--on", "2025-01-01", "--resident-name", "张三",
                       "--resident-id", VALID_IDS[0])
    assert code == 2 and "只能是今天" in err


@pytest.mark.parametrize("argv, words", [
    (("--resident-name", "张三", "--resident-id", "110105194912310021"), "校验位"),
    (("--resident-name", "张三", "--resident-id", "11010519491331002X"), "出生日期"),
    (("--resident-name", "", "--resident-id", VALID_IDS[0]), "请填写居民姓名"),
    (("--resident-name", "张" * 50, "--resident-id", VALID_IDS[0]), "过长"),
    (("--resident-name", "张三", "--resident-id", VALID_IDS[0], "--purpose", "用" * 300), "用途过长"),
])
def test_bad_input_writes_nothing(demo, argv, words):
    cli = demo("national")
    code, out, err = cli("request", "居住证明", *argv, "--as", "clerk")
    assert code == 2 and words in err and out == ""
    assert count(cli) == 0


def test_unknown_entry_is_a_clear_message(demo):
    cli = demo("national")
    request(cli, *TRANSITIONAL)
    code, _, err = cli("approve", "99", "--as", "director")
    assert code == 2 and "登记号 99 不存在" in err
    cli("approve", "1", "--as", "director")
    # 登记号 counts matters, not records: record 2 (the approval) is no matter number 2.
    code, _, err = cli("stamp", "2", "--as", "keeper")
    assert code == 2 and "登记号 2 不存在" in err
    assert cli.json("stamp", "1", "--as", "keeper")["record"] == 3


def test_hostile_text_is_stored_verbatim_without_controls(demo):
    cli = demo("national")
    d = request(cli, "[bold red]居住证明[/]\x1b]0;owned\x07", name="王[b]𠮷[/b]" if False else "王𠮷")
    show = cli.json("register", "show", str(d["entry"]))
    assert show["query"] == "[bold red]居住证明[/]]0;owned"  # markup kept as text; ESC and BEL gone
    assert show["resident_name"] == "王𠮷"


# -- export ---------------------------------------------------------------------------------------
def test_export_masks_id_numbers_and_carries_serials(demo, tmp_path):
    cli = demo("national")
    ids = []
    for i, rid in enumerate(VALID_IDS[:3]):
        d = request(cli, *TRANSITIONAL, rid=rid, name=f"居民{'甲乙丙'[i]}")
        ids.append(rid)
        if i < 2:
            cli("approve", str(d["entry"]), "--as", "director")
            cli("stamp", str(d["entry"]), "--as", "keeper")
    code, out, _ = cli("register", "export", "--format", "json")
    records = json.loads(out)
    assert [r["serial"] for r in records] == [1, 2, None]
    assert [r["entry"] for r in records] == [1, 2, 3]  # matters as clerks count them
    assert [r["record"] for r in records] == [1, 4, 7]  # their records in the chain
    assert all(rid not in out for rid in ids)
    assert [r["resident_id"][-4:] for r in records] == [rid[-4:] for rid in ids]
    target = tmp_path / "export.csv"
    code, _, _ = cli("register", "export", "--format", "csv", "-o", str(target))
    assert code == 0 and stat.S_IMODE(target.stat().st_mode) == 0o600
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert [r["serial"] for r in rows] == ["1", "2", ""]
    assert all(rid not in target.read_text(encoding="utf-8") for rid in ids)


def test_info_json(demo):
    cli = demo("shaanxi")
    info = cli.json("info")
    assert info["configured"] and info["jurisdiction"] == "shaanxi" and info["community"]["demo"]
    assert "shaanxi" in "".join(info["plugins"]) and info["register_backend"] == cli.backend
    if cli.backend == "sqlite":
        assert info["register"].endswith("register.sqlite3")
    else:
        assert info["register"].startswith("postgresql://sealdesk_app@/county_")
    assert {p["login"] for p in info["people"]} == {"clerk", "director", "keeper", "inspector", "trainer"}


def test_info_without_configuration_says_how_to_start(tmp_path, capsys):
    code, out, _ = Cli(tmp_path / "empty", capsys)("info", "--json")
    info = json.loads(out)
    assert code == 0 and not info["configured"] and "sealdesk init" in info["message"]


def test_init_never_overwrites_without_force(demo):
    cli = demo("national")
    code, _, err = cli("init", "--demo")
    assert code == 2 and "已存在" in err
    code, _, err = cli("init", "--demo", "--jurisdiction", "jilin", "--force")
    assert code == 0 and "备份" in err
    assert len(list(cli.home.glob("community.toml.*.bak"))) == 1


def test_broken_config_is_a_clear_message(demo):
    cli = demo("national")
    (cli.home / "community.toml").write_text("[community\nname = 1", encoding="utf-8")
    code, _, err = cli("register", "list")
    assert code == 2 and "格式错误" in err


# -- audit over rows a buggy or foreign writer produced --------------------------------------------
def forge(cli, **cols):
    """Append a row with a correct hash chain but arbitrary content, as a careless tool might
    (in PostgreSQL as the application role, the most a counter's credentials allow)."""
    import sqlite3

    if cli.backend == "postgresql":
        import psycopg

        con = psycopg.connect(cli.url, autocommit=True)
        con.execute("SET search_path = sealdesk")
        sql = "INSERT INTO records VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
    else:
        con = sqlite3.connect(cli.home / "register.sqlite3")
        sql = "INSERT INTO records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
    community = cols.get("community", "幸福社区居民委员会")
    if cli.backend == "postgresql":
        seq, prev = con.execute("SELECT seq, hash FROM records WHERE community = %s ORDER BY seq DESC LIMIT 1",
                                (community,)).fetchone()
    else:
        seq, prev = con.execute("SELECT seq, hash FROM records ORDER BY seq DESC LIMIT 1").fetchone()
    row = {"seq": seq + 1, "kind": "stamp", "ref": None, "at": "2026-11-23T10:00:00+08:00", "actor": "keeper",
           "role": "keeper", "community": "幸福社区居民委员会", "year": 2026, "serial": None, "outcome": None,
           "item": None, "list": None, "grounds": None, "body": "{}", "prev": prev}
    row.update(cols)
    values = list(row.values())
    h = record_hash(values)
    try:
        con.execute(sql, (*values, h))
        if cli.backend == "sqlite":
            con.execute("UPDATE meta SET value = ? WHERE key = 'head'", (f"{seq + 1} {h}",))
            con.commit()
    finally:
        con.close()


def test_audit_finds_rule_violations_in_an_intact_chain(demo):
    cli = demo("shaanxi")
    a = request(cli, *TRANSITIONAL)["entry"]  # 1: will be stamped without approval
    b = request(cli, *TRANSITIONAL)["entry"]  # 2: approved and stamped by one person
    c = request(cli, "无犯罪记录证明")["entry"]  # 3: refused, then stamped
    forge(cli, ref=a, serial=1)                                         # 4
    forge(cli, kind="approve", ref=b, actor="director", role="director")  # 5
    forge(cli, ref=b, actor="director", serial=2)                      # 6
    if cli.backend == "postgresql":
        import psycopg

        with pytest.raises(psycopg.Error, match="not the next one"):  # the database keeps serials gapless
            forge(cli, ref=c, serial=4)
        forge(cli, ref=c, serial=3)                                     # 7
    else:
        forge(cli, ref=c, serial=4)                                     # 7: also leaves a gap (3)
    code, out, _ = cli("audit", "--json")
    rep = json.loads(out)
    assert code == 1 and rep["chain"]["ok"]
    found = {(f["rule"], f["entry"]) for f in rep["findings"]}
    assert ("shaanxi.workflow.approval_first", 4) in found
    assert ("shaanxi.workflow.separation", 6) in found
    assert ("audit.stamp_not_issuing", 7) in found
    assert ("audit.negative_issued", 7) in found
    assert (("audit.serial_gap", 7) in found) == (cli.backend == "sqlite")
    cites = {f["rule"]: f["citation"] for f in rep["findings"]}
    assert "五（三）" in cites["shaanxi.workflow.separation"]
    code, out, _ = cli("audit")
    assert code == 1 and "违规" in out and ("缺少第3号" in out) == (cli.backend == "sqlite")


def test_audit_accepts_exceptions_and_transitional_issues(demo):
    cli = demo("national")
    for argv in (("亲属关系证明", "--purpose", "公证"), TRANSITIONAL):
        d = request(cli, *argv)
        assert d["outcome"] in ("issue", "issue_transitional"), d
        cli("approve", str(d["entry"]), "--as", "director")
        cli("stamp", str(d["entry"]), "--as", "keeper")
    rep = json.loads(cli("audit", "--json")[1])
    assert rep["ok"] and rep["findings"] == [] and rep["stamped"] == 2


def test_printed_reports_and_papers_are_not_findings_of_the_audit(demo, tmp_path):
    # A report (the inventory) is recorded as a paper of no matter; a refusal notice as a paper of its
    # matter. Neither is an orphan or a violation.
    cli = demo("national")
    d = request(cli, "无犯罪记录证明")
    assert cli("paper", "refusal", str(d["entry"]), "-o", str(tmp_path / "r.pdf"), "--as", "clerk")[0] == 0
    assert cli("report", "inventory", "-o", str(tmp_path / "i.pdf"), "--as", "clerk")[0] == 0
    rep = json.loads(cli("audit", "--json")[1])
    assert rep["ok"] and rep["findings"] == [] and rep["records"] == 3, rep["findings"]
