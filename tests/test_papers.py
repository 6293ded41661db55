"""Papers: every PDF is read back with pdftotext (poppler-utils), as a resident's or an
inspector's reader would see it, and checked against the register."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import shutil
import sqlite3
import subprocess

import pytest

from conftest import VALID_IDS

pytestmark = pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils not installed")

RARE = "䶮𠮷㛃堃喆"  # Extension A, Extension B, A, BMP, BMP


def text(pdf_path) -> str:
    return subprocess.run(["pdftotext", "-enc", "UTF-8", str(pdf_path), "-"], capture_output=True, text=True,
                          check=True).stdout


def flat(s: str) -> str:
    """Text without line breaks and spaces: lines wrap anywhere in Chinese. Page numbers (「— 1 —」
    under the text block of a paper of several pages) are the page's, not the paper's text: a
    sentence that goes over the page reads on without them."""
    return re.sub(r"\s+", "", re.sub(r"^\s*—\s*\d+\s*—\s*$", "", s, flags=re.M))


def request(cli, query, name="张三", *extra, as_login="clerk", **kw) -> int:
    args = ["request", query, "--resident-name", name, "--resident-id", kw.get("id", VALID_IDS[0]),
            "--as", as_login, *extra]
    return cli.json(*args)["entry"]


def issued(cli, query="居民财产证明", name="王" + RARE, purpose="办理贷款", requester="某银行") -> int:
    entry = request(cli, query, name, "--purpose", purpose, "--requester", requester,
                    "--fact", "party_requires", "--fact", "within_duties", "--fact", "verifiable")
    cli.json("approve", str(entry), "--as", "director")
    cli.json("stamp", str(entry), "--as", "keeper")
    return entry


def registered(cli) -> int:
    return cli.json("register", "verify")["records"]


# -- the certificate ------------------------------------------------------------------------
def test_certificate_follows_qinghai_model_with_serial_validity_and_rare_characters(demo, tmp_path):
    cli = demo("shaanxi")
    entry = issued(cli)
    out = tmp_path / "证明.pdf"
    code, stdout, err = cli("paper", "certificate", str(entry), "-o", str(out), "--content", "该居民在本社区居住满五年",
                            "--as", "clerk")
    assert code == 0, err
    assert oct(out.stat().st_mode & 0o777) == "0o600"  # it names a resident
    t = text(out)
    f = flat(t)
    stamp = [r for r in cli.json("register", "show", str(entry))["records"] if r["kind"] == "stamp"][0]
    assert f"证明〔{stamp['year']}〕第{stamp['serial']}号" in f  # numbered per year, as the register counts
    until = dt.date.fromisoformat(stamp["valid_until"])
    assert f"此证明有效期至{until.year}年{until.month}月{until.day}日。" in f
    assert "王" + RARE in f  # every character of the name, Extension B included
    assert VALID_IDS[0] in f  # 附件4 has the ID number field: printed in full on the certificate only
    assert "兹证明该居民在本社区居住满五年" in f and "用于办理贷款事务" in f and "办理办理" not in f
    assert "某银行：" in f and "幸福社区居民委员会" in f
    assert "本证明一式两份，基层群众性自治组织留存一份，居民持有一份。" in f
    assert "（基层群众性自治组织盖章）" in f
    assert "第一联居民持有" in f and "第二联基层群众性自治组织留存" in f  # the two copies, one page each
    assert t.count("\f") == 2
    assert out.stat().st_size <= 100 * 1024


def test_certificate_prints_again_identically_and_its_content_cannot_change(demo, tmp_path):
    cli = demo("shaanxi")
    entry = issued(cli)
    a, b = tmp_path / "a.pdf", tmp_path / "b.pdf"
    first = cli.json("paper", "certificate", str(entry), "-o", str(a), "--content", "属实", "--as", "clerk")
    n = registered(cli)
    again = cli.json("paper", "certificate", str(entry), "-o", str(b), "--as", "keeper")  # content reused
    assert a.read_bytes() == b.read_bytes() and first["sha256"] == again["sha256"]
    assert first["new"] and not again["new"] and registered(cli) == n  # no second record for the same paper
    code, _, err = cli("paper", "certificate", str(entry), "-o", str(b), "--content", "另一内容", "--as", "clerk")
    assert code == 3 and "不能更改" in err and "作废" in err
    assert registered(cli) == n


def test_certificate_needs_a_stamp_content_and_an_issuing_decision(demo, tmp_path):
    cli = demo("shaanxi")
    out = tmp_path / "x.pdf"
    pending = request(cli, "居民财产证明", "李四", "--fact", "party_requires", "--fact", "within_duties",
                      "--fact", "verifiable")
    code, _, err = cli("paper", "certificate", str(pending), "-o", str(out), "--content", "属实", "--as", "clerk")
    assert code == 3 and "尚未用印" in err
    refused = request(cli, "无犯罪记录证明")
    code, _, err = cli("paper", "certificate", str(refused), "-o", str(out), "--content", "属实", "--as", "clerk")
    assert code == 3 and "不予出具" in err
    entry = issued(cli)
    code, _, err = cli("paper", "certificate", str(entry), "-o", str(out), "--as", "clerk")
    assert code == 2 and "--content" in err and "证明的事实" in err
    code, _, err = cli("paper", "certificate", str(entry), "-o", str(out), "--content", "属实", "--as", "inspector")
    assert code == 3 and "打印文书须由" in err
    assert not out.exists()


def test_voided_matter_prints_nothing(demo, tmp_path):
    cli = demo("shaanxi")
    entry = issued(cli)
    cli.json("void", str(entry), "--reason", "录入错误", "--as", "director")
    code, _, err = cli("paper", "certificate", str(entry), "-o", str(tmp_path / "x.pdf"), "--content", "属实",
                       "--as", "clerk")
    assert code == 3 and "已作废" in err


# -- refusal, commitment, consultation ---------------------------------------------------------
def test_refusal_notice_has_item_grounds_route_verbatim_and_citation(demo, tmp_path, registry):
    cli = demo("national")
    entry = request(cli, "无犯罪记录证明", "李" + RARE)
    out = tmp_path / "r.pdf"
    cli.json("paper", "refusal", str(entry), "-o", str(out), "--as", "clerk")
    f = flat(text(out))
    item = registry.view("national", dt.date.today()).by_id["national.negative.5"]
    assert flat(item.route) in f  # the route verbatim
    assert "第5项“无犯罪记录证明”" in f and "民发〔2020〕20号附件第5项" in f
    assert "不予出具证明告知单" in f and "李" + RARE in f
    assert VALID_IDS[0] not in f  # no full ID number outside the certificate and commitment


def test_commitment_wording_follows_the_jurisdiction_jilin_names_its_credit_site(demo, registry):
    # The paper's consequence clause is the jurisdiction's own [texts] credit_clause, so a
    # Jilin view prints Jilin's wording (a Qinghai matter printed through other views).
    from sealdesk.core.papers import content as papers
    from sealdesk.core.desk.counter import Desk

    cli = demo("qinghai")
    entry = request(cli, "居住证明", "赵" + RARE, "--fact", "commitment_ok", "--on", "2026-01-10")
    desk = Desk(cli.home, registry=registry)
    matter = desk.matter(entry)
    on = dt.date(2026, 1, 10)
    for jid, site, cite in (("jilin", "信用中国（吉林）", "吉民发〔2020〕45号 四"),
                            ("national", "“信用中国”网站", "民发〔2020〕20号 四（四）")):
        view = registry.view(jid, on)
        paper = papers.commitment(matter, desk.community, view, papers.template("commitment", view, registry))
        body = "".join(papers_text(paper))
        assert site in body and cite in body, jid
    assert "信用中国（吉林）" not in "".join(papers_text(papers.commitment(
        matter, desk.community, registry.view("national", on),
        papers.template("commitment", registry.view("national", on), registry))))


def papers_text(paper):
    return [s for b in paper.blocks for s in b.strings()]


@pytest.mark.parametrize("jid, clause, cite, absent", [
    ("jilin", "在“信用中国（吉林）”网站进行公示", "吉民发〔2020〕45号四", "全国信用信息共享平台"),
    # Lu'an's own clause: 纳入全国信用信息共享平台，在“信用中国”网站 (a comma where the national text has 、)
    ("anhui-luan", "纳入全国信用信息共享平台，在“信用中国”网站进行公示", "六民办〔2021〕40号四（四）", "吉林"),
    ("national", "纳入全国信用信息共享平台、在“信用中国”网站进行公示", "民发〔2020〕20号四（四）", "吉林"),
])
def test_written_commitment_outside_qinghai_prints_the_jurisdictions_credit_clause(demo, tmp_path, jid, clause, cite,
                                                                                   absent):
    # 居住证明 is not listed outside Chongqing: refused as unlisted, so the applicant's written
    # commitment (民发〔2020〕20号 四（四）) is what the committee takes when commitment_ok is asserted.
    cli = demo(jid)
    entry = request(cli, "居住证明", "赵" + RARE, "--fact", "commitment_ok")
    assert cli.json("register", "show", str(entry))["outcome"] == "commitment"
    out = tmp_path / "m.pdf"
    cli.json("paper", "commitment", str(entry), "-o", str(out), "--as", "clerk")
    f = flat(text(out))
    assert "证明事项告知承诺书" in f and "申请出具的证明：居住证明" in f and "赵" + RARE in f
    assert clause in f and f"（{cite}）" in f and absent not in f


def test_qinghai_commitment_on_its_date_uses_qinghai_wording(demo, tmp_path):
    cli = demo("qinghai")
    entry = request(cli, "居住证明", "钱" + RARE, "--fact", "commitment_ok", "--on", "2026-01-10")
    out = tmp_path / "m.pdf"
    cli.json("paper", "commitment", str(entry), "-o", str(out), "--as", "clerk")
    f = flat(text(out))
    # Printed after the document lapsed, but for a decision taken while it was in force.
    assert "全国信用信息共享平台（青海）" in f and "青民发〔2021〕103号二（六）" in f


def test_consultation_record_has_matter_signature_lines_and_rule(demo, tmp_path):
    cli = demo("national")
    entry = request(cli, "小区公共设施改造同意证明", "孙" + RARE, "--fact", "public_interest", "--fact", "verifiable",
                    "--fact", "within_duties", "--fact", "basis_provided")
    show = cli.json("register", "show", str(entry))
    assert show["outcome"] == "issue_after_consultation", show["outcome"]
    out = tmp_path / "c.pdf"
    cli.json("paper", "consultation", str(entry), "-o", str(out), "--as", "clerk")
    f = flat(text(out))
    for label in ("协商事项", "参加人员", "协商结果", "记录人（签字）", "基层群众性自治组织负责人（签字）"):
        assert label in f
    assert "小区公共设施改造同意证明" in f and "孙" + RARE in f and "议事协商" in f


def test_refusal_of_a_retained_item_for_another_use_names_the_use_it_is_limited_to(demo, tmp_path, registry):
    cli = demo("chongqing")
    entry = request(cli, "政治考核证明", "吴" + RARE, "--purpose", "公务员录用政审")
    show = cli.json("register", "show", str(entry))
    assert show["outcome"] == "refuse"
    out = tmp_path / "r.pdf"
    cli.json("paper", "refusal", str(entry), "-o", str(out), "--as", "clerk")
    f = flat(text(out))
    item = registry.view("chongqing", dt.date.today()).by_id["chongqing.retained.4"]
    use = item.limit.text.rstrip("。")  # 对体格检査合格的应征公民进行政治审查 (the seed's 査)
    # Chongqing's own retained list, by its title (seed 004 附件2), not the national list's
    assert "该证明虽列入《重庆市基层群众性自治组织依法出具证明事项清单》第4项“政治考核证明”" in f
    assert "但你申请的用途不是该项所列的用途" in f
    assert f"重庆市保留清单第4项“政治考核证明”只用于{use}。本次用途“公务员录用政审”不在其内" in f
    assert "该证明属于未列入清单的证明事项，不予出具（民发〔2020〕20号三）" in f
    assert "不为其他用途出具" in f and "清单未载明办事途径" not in f
    assert "《重庆市基层群众性自治组织依法出具证明事项清单》第4项" in f  # the citation
    assert "仅用于：" not in f and "只用于：用于" not in f


def test_paper_for_the_wrong_outcome_is_refused(demo, tmp_path):
    cli = demo("national")
    entry = request(cli, "无犯罪记录证明")
    code, _, err = cli("paper", "commitment", str(entry), "-o", str(tmp_path / "x.pdf"), "--as", "clerk")
    assert code == 3 and "不能打印证明事项告知承诺书" in err
    code, _, err = cli("paper", "refusal", "999", "-o", str(tmp_path / "x.pdf"), "--as", "clerk")
    assert code == 2 and "不存在" in err


# -- hostile and impossible text -------------------------------------------------------------------
def test_long_and_hostile_text_stays_inside_the_page_and_prints_literally(demo, tmp_path):
    cli = demo("shaanxi")
    hostile = "[b]粗体[/b]{name}<script>%s\\n" + "A" * 120 + "证" * 150
    entry = issued(cli, purpose="[red]办理[/red]{serial}", requester="某{id_number}银行")
    out = tmp_path / "h.pdf"
    cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", hostile, "--as", "clerk")
    f = flat(text(out))
    assert "[b]粗体[/b]{name}<script>%s\\n" in f and "[red]办理[/red]{serial}" in f and "某{id_number}银行" in f
    bbox = subprocess.run(["pdftotext", "-bbox", str(out), "-"], capture_output=True, text=True, check=True).stdout
    page_w = float(re.search(r'<page width="([\d.]+)"', bbox).group(1))
    right = max(float(x) for x in re.findall(r'xMax="([\d.]+)"', bbox))
    assert right <= page_w - 25 / 25.4 * 72 + 1  # inside the 25 mm right margin


def test_a_character_no_font_has_is_reported_before_printing(demo, tmp_path):
    cli = demo("shaanxi")
    entry = issued(cli)
    n = registered(cli)
    lost = "\U00030000"  # CJK Extension G: none of the installed fonts has it
    code, _, err = cli("paper", "certificate", str(entry), "-o", str(tmp_path / "x.pdf"), "--content", "属实" + lost,
                       "--as", "clerk")
    assert code == 2 and "U+30000" in err and "无法打印" in err
    assert registered(cli) == n and not (tmp_path / "x.pdf").exists()


# -- integrity ----------------------------------------------------------------------------------
def test_verify_recognises_the_paper_and_detects_a_changed_byte(demo, tmp_path):
    cli = demo("shaanxi")
    entry = issued(cli)
    out = tmp_path / "c.pdf"
    printed = cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", "属实", "--as", "clerk")
    r = cli.json("paper", "verify", str(out))
    assert r["found"] and r["entry"] == entry and r["record"] == printed["record"] and r["paper"] == "certificate"
    assert r["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    code, stdout, _ = cli("paper", "verify", str(out))
    assert code == 0 and "通过" in stdout and f"登记号 {entry}" in stdout
    data = bytearray(out.read_bytes())
    data[len(data) // 2] ^= 0x01
    changed = tmp_path / "changed.pdf"
    changed.write_bytes(bytes(data))
    code, stdout, _ = cli("paper", "verify", str(changed))
    assert code == 1 and "未通过" in stdout
    cli.json("void", str(entry), "--reason", "重复办理", "--as", "director")
    code, stdout, _ = cli("paper", "verify", str(out))
    assert code == 4 and "已作废" in stdout and "重复办理" in stdout  # its own exit code (paper verify --help)


def test_papers_are_recorded_in_the_hash_chain(demo, tmp_path):
    cli = demo("national")
    entry = request(cli, "无犯罪记录证明")
    printed = cli.json("paper", "refusal", str(entry), "-o", str(tmp_path / "r.pdf"), "--as", "clerk")
    show = cli.json("register", "show", str(entry))
    assert show["papers"] == [printed["sha256"]]
    assert cli.json("register", "verify")["ok"]
    db = sqlite3.connect(cli.json("info")["register"])
    body = json.loads(db.execute("SELECT body FROM records WHERE kind = 'paper'").fetchone()[0])
    assert body["sha256"] == printed["sha256"] and body["paper"] == "refusal"


# -- reports ------------------------------------------------------------------------------------
def test_inventory_fills_qinghai_columns_from_the_register_for_the_period(demo, tmp_path):
    cli = demo("shaanxi")
    issued(cli, purpose="办理贷款", requester="某银行")
    request(cli, "无犯罪记录证明", "周" + RARE, "--purpose", "应聘")
    out = tmp_path / "i.pdf"
    today = dt.date.today()
    cli.json("report", "inventory", "--from", today.isoformat(), "--to", today.isoformat(), "-o", str(out),
             "--as", "inspector")
    f = flat(text(out))
    for col in ("序号", "证明名称", "涉及办理事项名称", "依据（需明确到具体条款内容）", "依据是否为法律法规", "证明用途",
                "证明索要单位", "基层群众性自治组织是否有能力核实证明内容"):
        assert col in f
    assert "居民财产证明" in f and "某银行" in f and "无犯罪记录证明" in f and "应聘" in f
    assert "登记2件" in f
    assert "周" + RARE not in f  # an inventory lists certificates, not residents
    earlier = today - dt.timedelta(days=400)
    cli.json("report", "inventory", "--from", earlier.isoformat(), "--to", (earlier + dt.timedelta(days=1)).isoformat(),
             "-o", str(out), "--as", "inspector")
    assert "统计期间没有登记" in flat(text(out))
    code, _, err = cli("report", "inventory", "--from", "2026-13-01", "-o", str(out), "--as", "inspector")
    assert code == 2 and "2026-13-01" in err


def test_notice_lists_every_negative_item_with_its_route_verbatim(demo, tmp_path, registry):
    cli = demo("chongqing")
    out = tmp_path / "n.pdf"
    cli.json("report", "notice", "-o", str(out), "--as", "clerk")
    f = flat(text(out))
    routes = column(out, "negative_columns", "办事途径")
    names = column(out, "retained_columns", "证明名称")
    view = registry.view("chongqing", dt.date.today())
    negative = [it for it in view.items if it.list == "negative"]
    retained = [it for it in view.items if it.list == "retained"]
    assert len(negative) == 30 and len(retained) == 7
    for it in negative:
        assert flat(it.route) in routes, it.name
    for it in retained:
        assert flat(it.name) in names
    assert "证明事项清单公示" in f


def column(pdf_path, table: str, title: str) -> str:
    """The text of one column of the notice's tables (pdftotext cropped to it), without line breaks:
    read whole, cells side by side interleave their lines."""
    from sealdesk.core.papers.content import base_template

    cols = base_template("notice")[table]
    i = [c["title"] for c in cols].index(title)
    left = 15 + sum(c["width"] for c in cols[:i])  # 15 mm: the landscape margin (core/papers/typeset.py)
    pt = 72 / 25.4
    crop = ["-x", str(int(left * pt) + 1), "-y", "0", "-W", str(int(cols[i]["width"] * pt) - 2), "-H", "595"]
    return flat(subprocess.run(["pdftotext", *crop, "-enc", "UTF-8", str(pdf_path), "-"], capture_output=True,
                               text=True, check=True).stdout)


def under(names: str, name: str, word: str) -> bool:
    """``word`` is among the 又称 names of the item ``name`` (before the next item's 又称：)."""
    return re.search(rf"{re.escape(name)}又称：[^：]*?{re.escape(word)}", names) is not None


@pytest.mark.parametrize("jid", ["chongqing", "national"])
def test_notice_gives_the_names_residents_know_each_item_by(demo, tmp_path, jid):
    cli = demo(jid)
    out = tmp_path / "n.pdf"
    cli.json("report", "notice", "-o", str(out), "--as", "clerk")  # national: its 序号 digits occur nowhere else
    page = column(out, "negative_columns", "证明名称")
    second = "居民身份信息证明" if jid == "chongqing" else "居民身份证件信息证明"
    assert under(page, "婚姻状况证明", "单身证明")  # an everyday word (vocabulary.toml)
    assert under(page, "居民就业状况证明", "无业证明")  # Chongqing's 备注 name
    assert under(page, second, "户籍证明")  # the list's own alias
    assert under(page, "死亡证明", "去世证明")
    assert not under(page, "死亡证明", "单身证明")
    assert "“又称”是该证明常见的其他名称" in flat(text(out))


def test_notice_names_are_capped_and_never_an_ambiguous_word(registry):
    from sealdesk.core.papers.reports import AKA_MAX, aka_text, also_known_as

    view = registry.view("chongqing", dt.date.today())
    aka = also_known_as(view)
    seed, everyday = aka["chongqing.negative.17"]
    assert "贫苦证明" in seed and "存款证明" in everyday  # the seeds' names, then the everyday words
    line = aka_text(seed, everyday)
    names = line.removeprefix("又称：").removesuffix("等").split("、")
    assert line.endswith("等") and len(names) == AKA_MAX and "存款证明" in names and names[0] == "经济状况证明"
    assert "居民财产证明" not in names  # not the item's own name
    assert "关系证明" not in aka["chongqing.negative.1"][1]  # a word for two items names neither
    assert aka["chongqing.negative.15"][0][:1] == ("灵活就业或未就业证明",)
    assert aka_text((), ()) == ""
    kept = [it for it in view.items if it.list == "retained"]
    assert "政审证明" in aka["chongqing.retained.4"][1] and len(kept) == 7


def test_notice_shows_what_a_retained_item_is_limited_to(demo, tmp_path):
    cli = demo("chongqing")
    out = tmp_path / "n.pdf"
    cli.json("report", "notice", "-o", str(out), "--as", "clerk")
    uses = column(out, "retained_columns", "证明用途")
    assert "证明用途" in uses and "仅用于不动产登记和公证办理。" in uses and "用于农村土地承包经营权证变更；办理农村土地承包经营权证。" in uses


def test_retained_list_uses_qinghai_annex3_columns(demo, tmp_path):
    cli = demo("chongqing")
    out = tmp_path / "k.pdf"
    cli.json("report", "retained", "-o", str(out), "--as", "clerk")
    f = flat(text(out))
    for col in ("序号", "证明名称", "涉及办理事项名称", "法律法规依据（需明确到具体条款内容）", "证明用途", "证明索要单位"):
        assert col in f


# -- templates ----------------------------------------------------------------------------------
def desk_for(jid, tmp_path):
    from sealdesk.core.register.community import demo_community, save_community
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.engine.plugins import Registry

    reg = Registry()
    assert not [e for e in reg.errors if e.jurisdiction == jid], reg.errors
    home = tmp_path / "home"
    save_community(demo_community(home, jid))
    return Desk(home, registry=reg)


def refusal_text(desk, tmp_path) -> str:
    import base64

    entry = desk.request("无犯罪记录证明", resident_name="张三", resident_id=VALID_IDS[0], as_login="clerk")["entry"]
    out = tmp_path / "r.pdf"
    out.write_bytes(base64.b64decode(desk.paper("refusal", entry, as_login="clerk")["pdf"]))
    return flat(text(out))


def test_jurisdiction_toml_overrides_a_papers_wording(make_plugin, tmp_path):
    from conftest import DISTRICT_TOML

    jid = "paper-district"
    make_plugin("paper_district", {"jurisdiction.toml": DISTRICT_TOML.format(jid=jid, parent="national")
                                   + '\n[papers.refusal]\nclosing = "特此告知。咨询电话见{township}公告栏。"\n'}, jid=jid)
    assert "特此告知。咨询电话见示范街道公告栏。" in refusal_text(desk_for(jid, tmp_path), tmp_path)


HOOK_INIT = """
from sealdesk.core.engine.hookspecs import hookimpl
from sealdesk.core.engine.jurisdiction import load_jurisdiction
from sealdesk.core.papers.content import PaperTemplate


@hookimpl
def sealdesk_jurisdictions():
    return [load_jurisdiction(__name__)]


@hookimpl
def sealdesk_paper_templates():
    return [PaperTemplate("{jid}", "refusal", {"title": "不予出具证明事项告知书（{place}）"})]
"""


def test_hook_sealdesk_paper_templates(make_plugin, tmp_path):
    from conftest import DISTRICT_TOML

    jid = "hook-paper"
    make_plugin("hook_paper", {"__init__.py": HOOK_INIT.replace("{jid}", jid),
                               "jurisdiction.toml": DISTRICT_TOML.format(jid=jid, parent="national")}, jid=jid)
    assert "不予出具证明事项告知书（幸福社区）" in refusal_text(desk_for(jid, tmp_path), tmp_path)


def test_a_template_with_an_unknown_placeholder_is_a_load_error(make_plugin):
    from sealdesk.core.engine.plugins import Registry

    from conftest import DISTRICT_TOML

    make_plugin("bad_paper", {"jurisdiction.toml": DISTRICT_TOML.format(jid="bad-paper", parent="national")
                              + '\n[papers.refusal]\nclosing = "{no_such_field}"\n'}, jid="bad-paper")
    reg = Registry()
    errs = [e for e in reg.errors if e.plugin == "bad-paper"]
    assert errs and "{no_such_field}" in errs[0].message and "refusal" in errs[0].message
    assert ("bad-paper", "refusal") not in reg.paper_templates
    assert "bad-paper" in reg.ids()  # decisions still work


def test_register_of_schema_1_gains_the_paper_index(tmp_path):
    from sealdesk.core.register.store import SCHEMA_VERSION, Register

    path = tmp_path / "r.sqlite"
    reg = Register(path, create=True, community="c")
    reg.append("matter", actor="a", role="clerk", community="c", body={"x": 1})
    reg.close()
    db = sqlite3.connect(path)
    db.execute("DROP INDEX records_paper")
    db.execute("PRAGMA user_version = 1")
    db.commit()
    db.close()
    reg = Register(path, community="c")
    assert reg.verify().ok and reg.papers_by_hash("0" * 64) == []
    names = [r[0] for r in reg.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")]
    assert "records_paper" in names and reg.conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


# -- fonts ---------------------------------------------------------------------------------------
def test_paper_font_is_a_valid_truetype_subset(tmp_path):
    import io

    from fontTools.ttLib import TTFont

    from sealdesk.core.papers import fontfile, fonts
    from sealdesk.core.papers.glyphs import GlyphStore

    store = GlyphStore(tmp_path / "glyphs.sqlite")
    chain = fonts.chain()
    glyphs = store.for_text("证明" + RARE + " A1", chain)
    data = fontfile.build(glyphs, store.metrics(chain[0]), "Test")
    font = TTFont(io.BytesIO(data))
    cmap = font.getBestCmap()
    assert set(cmap) == {ord(c) for c in "证明" + RARE + " A1"}
    assert font["maxp"].numGlyphs == len(glyphs) + 1
    assert sum(int.from_bytes(data[i:i + 4].ljust(4, b"\0"), "big") for i in range(0, len(data), 4)) % 2**32 == 0xB1B0AFBA
    # the store persisted them: a fresh store reads them back without converting
    again = GlyphStore(tmp_path / "glyphs.sqlite").for_text("证明" + RARE, chain)
    assert [g.data for g in again] == [g.data for g in glyphs if chr(g.cp) in "证明" + RARE]


def test_a_damaged_glyph_cache_only_costs_time(tmp_path):
    from sealdesk.core.papers import fonts
    from sealdesk.core.papers.glyphs import GlyphStore

    path = tmp_path / "glyphs.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    store = GlyphStore(path)
    assert len(store.for_text("证明", fonts.chain())) == 2
    assert path.read_bytes().startswith(b"this is not")  # left alone


def test_commitment_shows_no_internal_codes(demo, tmp_path):
    cli = demo("qinghai")
    entry = request(cli, "居住证明", "钱" + RARE, "--fact", "commitment_ok", "--on", "2026-01-10")
    out = tmp_path / "m.pdf"
    cli.json("paper", "commitment", str(entry), "-o", str(out), "--as", "clerk")
    assert not re.search(r"[a-z]+_[a-z]+", text(out))  # e.g. commitment_letter


def test_the_townships_official_font_comes_first_and_a_missing_one_is_reported(demo, tmp_path):
    from sealdesk.core.papers.fonts import CHAIN

    cli = demo("national")
    entry = request(cli, "无犯罪记录证明", "李" + RARE)
    default, official = tmp_path / "d.pdf", tmp_path / "o.pdf"
    cli.json("paper", "refusal", str(entry), "-o", str(default), "--as", "clerk")
    config = cli.home / "community.toml"
    base = config.read_text(encoding="utf-8")
    hanamin = next(f for f in CHAIN if f.name == "HanaMinA")  # stands in for a township's 宋体 file
    config.write_text(base + f'\n[papers]\nfont = "{hanamin.path}"\n', encoding="utf-8")
    cli.json("paper", "refusal", str(entry), "-o", str(official), "--as", "clerk")
    assert official.read_bytes() != default.read_bytes()  # other outlines
    assert flat(text(official)) == flat(text(default))  # the same text
    config.write_text(base + '\n[papers]\nfont = "/nonexistent/仿宋.ttf"\n', encoding="utf-8")
    code, _, err = cli("paper", "refusal", str(entry), "-o", str(official), "--as", "clerk")
    assert code == 2 and "/nonexistent/仿宋.ttf" in err and "不存在" in err


# -- the check code (核验码) -------------------------------------------------------------------------
def grouped(record_hash: str) -> str:
    """A record's code as papers print it: the hash's first 16 hex characters in fours."""
    return " ".join(record_hash[i:i + 4] for i in range(0, 16, 4))


def without_check(paper):
    """The same paper with nothing beside its seal: as it was printed before it carried the code."""
    for b in paper.blocks:
        if b.kind == "seal":
            b.extra["check"] = []
    return paper


def pages(pdf: bytes, tmp_path) -> int:
    f = tmp_path / "pages.pdf"
    f.write_bytes(pdf)
    return text(f).count("\f")


@pytest.mark.parametrize("content", ["属实", "该居民" + "在本社区居住并从事个体经营" * 22])  # 289 characters
def test_every_jurisdictions_certificate_carries_its_stamp_records_code_on_no_extra_page(demo, tmp_path, registry,
                                                                                        content):
    # Issue 15: a receiving unit quotes the code to the community. It is set beside the seal, in rows
    # the seal already takes: no jurisdiction's certificate (two copies, one page each) gains a page.
    from sealdesk.core.desk.counter import Desk
    from sealdesk.core.papers import content as P
    from sealdesk.core.papers.typeset import render

    for jid in registry.ids():
        cli = demo(jid)
        entry = issued(cli)
        out = tmp_path / f"{jid}.pdf"
        cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", content, "--as", "clerk")
        stamp = next(r for r in cli.json("register", "show", str(entry))["records"] if r["kind"] == "stamp")
        desk = Desk(cli.home, registry=registry)
        matter = desk.matter(entry)
        d = matter.entry.data["decision"]
        view = registry.view(d["jurisdiction"], dt.date.fromisoformat(d["date"]))
        tpl = P.template("certificate", view, registry)
        paper = P.certificate(matter, desk.community, view, tpl, content)
        desk.close()
        assert render(paper) == out.read_bytes(), jid  # the very paper the desk printed
        t = text(out)
        lines = t.splitlines()
        copies = len(tpl.get("copies") or [""])
        # each on a line of its own, whole (the code and the numbers never broken), on every copy
        assert lines.count(f"核验码：{grouped(stamp['hash'])}") == copies, (jid, t)
        assert lines.count(f"用印记录：第 {stamp['record']} 条") == copies, jid
        assert lines.count(f"登记号：{entry}") == copies, jid
        assert t.count("\f") == pages(render(without_check(paper)), tmp_path) == copies, jid


def test_the_check_lines_never_move_what_follows_the_seal(tmp_path):
    # The seal at every height down the page and over the page break: the same pages with or
    # without the lines beside it, and the same place for the footer.
    from sealdesk.core.papers.content import Block, Paper
    from sealdesk.core.papers.typeset import render

    check = ["登记号：1234567", "用印记录：第 12345678 条", "核验码：0123 4567 89ab cdef"]
    created = dt.datetime(2026, 1, 10, 9, tzinfo=dt.timezone.utc)
    for n in range(0, 26):
        blocks = [Block("title", "证明"), *[Block("para", f"第{i}行") for i in range(n)],
                  Block("seal", "幸福社区居民委员会", extra={"date": "2026年1月10日", "label": "（盖章）", "check": check}),
                  Block("footer", "本证明一式两份。")]
        paper = Paper("certificate", "证明", blocks, created)
        with_check = render(paper)
        f = tmp_path / "p.pdf"
        f.write_bytes(with_check)
        t = text(f)
        assert "核验码：0123 4567 89ab cdef" in t.splitlines(), n
        bare = render(without_check(paper))
        assert t.count("\f") == pages(bare, tmp_path), n
        assert footer_y(with_check, tmp_path) == footer_y(bare, tmp_path), n


def footer_y(pdf: bytes, tmp_path) -> list[str]:
    f = tmp_path / "f.pdf"
    f.write_bytes(pdf)
    bbox = subprocess.run(["pdftotext", "-bbox", str(f), "-"], capture_output=True, text=True, check=True).stdout
    return re.findall(r'yMin="([\d.]+)"[^>]*>本证明一式两份。<', bbox)


@pytest.mark.parametrize("signer", ["幸福社区居民委员会", "某村村委会", "重庆市渝北区龙溪街道花卉园东路社区居民委员会"])
def test_check_lines_stay_whole_and_clear_of_a_long_signer(tmp_path, signer):
    from sealdesk.core.papers.content import Block, Paper
    from sealdesk.core.papers.typeset import render

    check = ["登记号：123456", "用印记录：第 12345678 条", "核验码：0123 4567 89ab cdef"]
    paper = Paper("certificate", "证明", [
        Block("title", "证明"),
        Block("seal", signer, extra={"date": "2026年1月10日", "label": "（基层群众性自治组织盖章）", "check": check}),
    ], dt.datetime(2026, 1, 10, 9, tzinfo=dt.timezone.utc))
    f = tmp_path / "s.pdf"
    f.write_bytes(render(paper))
    lines = text(f).splitlines()
    assert all(line in lines for line in check), lines
    bbox = subprocess.run(["pdftotext", "-bbox", str(f), "-"], capture_output=True, text=True, check=True).stdout
    words = [(float(x0), float(x1), w) for x0, x1, w in
             re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<', bbox)]
    ours = " ".join(check).split()
    right = max(x1 for x0, x1, w in words if w in ours)
    seal = min(x0 for x0, x1, w in words if w in (signer, "2026年1月10日", "（基层群众性自治组织盖章）"))
    assert right < seal - 3 / 25.4 * 72, (right, seal)  # clear of signer, date and label
    assert min(x0 for x0, x1, w in words if w in ours) >= 25 / 25.4 * 72 - 1  # inside the left margin


def test_refusal_and_commitment_carry_their_decision_records_code_and_show_and_verify_print_it(demo, tmp_path):
    cli = demo("national")
    refused = request(cli, "无犯罪记录证明")
    promised = request(cli, "居住证明", "赵" + RARE, "--fact", "commitment_ok")
    consulted = request(cli, "小区公共设施改造同意证明", "孙" + RARE, "--fact", "public_interest", "--fact", "verifiable",
                        "--fact", "within_duties", "--fact", "basis_provided")
    for entry, paper in ((refused, "refusal"), (promised, "commitment")):
        out = tmp_path / f"{paper}.pdf"
        cli.json("paper", paper, str(entry), "-o", str(out), "--as", "clerk")
        show = cli.json("register", "show", str(entry))
        lines = text(out).splitlines()
        assert f"核验码：{grouped(show['hash'])}" in lines and f"登记记录：第 {show['record']} 条" in lines, paper
        assert f"登记号：{entry}" in lines
        code, stdout, _ = cli("register", "show", str(entry))
        first = next(line for line in stdout.splitlines() if line.strip().startswith(str(show["record"])))
        assert "登记" in first and f"核验码 {grouped(show['hash'])}" in first, stdout
        code, stdout, _ = cli("paper", "verify", str(out))
        assert code == 0 and f"核验码 {grouped(show['hash'])}（登记记录第 {show['record']} 条）" in stdout
    out = tmp_path / "consultation.pdf"
    cli.json("paper", "consultation", str(consulted), "-o", str(out), "--as", "clerk")
    assert "核验码" not in text(out)  # the committee's own minutes: no third party quotes them
    assert "核验码" not in cli("register", "show", str(consulted))[1]
    assert "check_code" not in cli.json("paper", "verify", str(out))


def test_show_and_verify_print_the_certificates_code_beside_its_stamp_record(demo, tmp_path):
    cli = demo("shaanxi")
    entry = issued(cli)
    out = tmp_path / "c.pdf"
    cli.json("paper", "certificate", str(entry), "-o", str(out), "--content", "属实", "--as", "clerk")
    show = cli.json("register", "show", str(entry))
    stamp = next(r for r in show["records"] if r["kind"] == "stamp")
    code = grouped(stamp["hash"])
    assert f"核验码：{code}" in text(out).splitlines()
    _, stdout, _ = cli("register", "show", str(entry))
    coded = [line for line in stdout.splitlines() if "核验码" in line]
    assert len(coded) == 1 and "用印" in coded[0] and str(stamp["record"]) in coded[0] and code in coded[0], stdout
    assert stamp["hash"].startswith(code.replace(" ", ""))  # the start of the hash register show prints in full
    r = cli.json("paper", "verify", str(out))
    assert (r["check_code"], r["check_record"], r["check_label"]) == (code, stamp["record"], "用印记录")
    _, stdout, _ = cli("paper", "verify", str(out))
    assert f"核验码 {code}（用印记录第 {stamp['record']} 条）" in stdout
