"""Residents' words (issue 12, DOMAIN.md section 6 step 1 and 2, section 7).

Residents and requesting units do not use the lists' words. Whatever they say, a listed
certificate is never issued under another name: a resident word resolves to its item, a
name near listed items is asked about, and only a name near nothing listed is unlisted.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealdesk.core.engine.model import ISSUING, Facts, Outcome, Request
from sealdesk.core.engine.names import name_key
from sealdesk.core.engine.plugins import default_registry
from sealdesk.core.engine.protocol import decide

ALL = ["national", "jilin", "qinghai", "shaanxi", "anhui-luan", "chongqing", "chongqing-yubei"]
CQ = ["chongqing", "chongqing-yubei"]
IN_FORCE = dt.date(2026, 1, 10)  # Qinghai's document in force
LAPSED = dt.date(2026, 11, 29)  # and lapsed
THREE = {"basis_provided": True, "within_duties": True, "verifiable": True}


@pytest.fixture(scope="module")
def reg():
    return default_registry()


def D(reg, jid, query, purpose="", requester="", on=IN_FORCE, **facts):
    return decide(reg.view(jid, on), Request(query, purpose, requester, Facts(facts)))


def cites(d) -> set[tuple[str, str]]:
    return {(c.document, c.provision) for c in d.citations}


# ------------------------------------------------------------------------------------------
# The examples of issue 12
# ------------------------------------------------------------------------------------------
def test_single_is_marital_status_and_is_refused_with_its_route(reg):
    d = D(reg, "national", "单身证明", **THREE)
    assert d.outcome is Outcome.REFUSE
    assert (d.item.list, d.item.number, d.item.name) == ("negative", 8, "婚姻状况证明")
    assert d.route == d.item.route and "民政部门" in d.route
    assert d.match.kind == "word" and d.match.wording == "单身证明" and "婚姻状况" in d.match.reason
    assert any("居民常用说法“单身证明”" in line for line in d.explanation), d.explanation


def test_no_crime_certificate_in_yubei_is_item_5_not_a_transitional_issue(reg):
    d = D(reg, "chongqing-yubei", "无犯罪证明", within_duties=True, verifiable=True)
    assert d.outcome is Outcome.REFUSE, d.explanation
    assert (d.item.list, d.item.number) == ("negative", 5)
    assert "公安" in d.route


def test_relationship_certificate_is_asked_between_kinship_and_marriage(reg):
    d = D(reg, "national", "关系证明", **THREE)
    assert d.outcome is Outcome.ASK and d.item is None
    assert {(c.list, c.number) for c in d.candidates} == {("negative", 1), ("negative", 8)}


@pytest.mark.parametrize("jid", ALL)
@pytest.mark.parametrize("query,number", [
    ("无房证明", 17), ("户口证明", 2), ("在世证明", 10), ("无收入证明", 17), ("养犬证明", 4), ("失业证明", 15),
    ("离婚证明", 8), ("存款证明", 17), ("去世证明", 11), ("养狗证明", 4), ("待业证明", 15), ("低收入证明", 17),
])
def test_everyday_names_are_their_items_and_never_issued(reg, jid, query, number):
    d = D(reg, jid, query, **THREE)
    assert d.item is not None and (d.item.list, d.item.number) == ("negative", number), (jid, query, d.explanation)
    assert d.outcome is Outcome.REFUSE and d.route, (jid, query, d.outcome)
    assert d.match.kind in ("word", "alias", "legacy", "name")


# ------------------------------------------------------------------------------------------
# Retained items hold only for their use (DOMAIN 6.2)
# ------------------------------------------------------------------------------------------
RETAINED_USES = [
    # (jid, list number, name, its own use, another use)
    ("chongqing", 1, "国内公民办理收养证明", "办理收养登记", "出国留学"),
    ("chongqing", 2, "农村土地承包经营权办理变更事项证明", "农村土地承包经营权证变更", "申请贷款"),
    ("chongqing", 3, "乡村建设规划许可村民委员会书面意见", "申请住宅建设", "办理营业执照"),
    ("chongqing", 4, "政治考核证明", "征兵政治审查", "公务员录用政审"),
    ("chongqing", 5, "办理不动产登记、公证、税务业务的亲属关系证明", "公证", "出国探亲"),
    ("chongqing", 7, "申请法律援助的经济状况证明", "申请法律援助", "申请低保"),
    ("chongqing-yubei", 4, "政治考核证明", "应征入伍", "公务员录用政审"),
    ("qinghai", 1, "农民身份证明", "农民专业合作社设立登记", "办理贷款"),
]


@pytest.mark.parametrize("jid,number,name,own,other", RETAINED_USES)
def test_retained_item_is_issued_for_its_own_use(reg, jid, number, name, own, other):
    d = D(reg, jid, name, own)
    assert d.outcome is Outcome.ISSUE, d.explanation
    assert (d.item.list, d.item.number) == ("retained", number)


@pytest.mark.parametrize("jid,number,name,own,other", RETAINED_USES)
def test_retained_item_asked_for_another_use_is_not_issued(reg, jid, number, name, own, other):
    d = D(reg, jid, name, other, **THREE)
    assert d.outcome is Outcome.REFUSE, d.explanation
    if d.item.list == "retained":  # not carved out of a negative item: refused as unlisted for this use
        assert view_unlisted_citation(reg, jid) in cites(d), cites(d)
        assert any(g.code == "other_use" for g in d.grounds)
        assert any(other in line for line in d.explanation)
    else:  # items 5-7 fall back to the negative item they carve out, with its route
        assert d.item.list == "negative" and d.route


def view_unlisted_citation(reg, jid):
    c = reg.view(jid, IN_FORCE).rules["unlisted"].citation
    return (c.document, c.provision)


@pytest.mark.parametrize("jid,number,name,own,other", RETAINED_USES)
def test_retained_item_with_unknown_use_asks_for_the_purpose(reg, jid, number, name, own, other):
    d = D(reg, jid, name, **THREE)
    assert d.outcome is Outcome.ASK and d.questions == ("purpose",), (d.outcome, d.questions)
    assert (d.item.list, d.item.number) == ("retained", number)
    again = D(reg, jid, name, own, **THREE)
    assert again.outcome is not Outcome.ASK


def test_political_review_for_civil_service_is_refused_in_chongqing(reg):
    d = D(reg, "chongqing", "政治考核证明", "公务员录用政审")
    assert d.outcome is Outcome.REFUSE
    assert ("民发〔2020〕20号", "三") in cites(d)
    d = D(reg, "chongqing-yubei", "政治考核证明", "公务员录用政审", within_duties=True, verifiable=True)
    assert d.outcome is Outcome.REFUSE, "not issued as a Yubei unlisted item either"
    assert ("渝北区“社区万能章”治理专项行动实施方案", "二（三）") in cites(d)


def test_recruitment_office_as_requester_settles_the_use(reg):
    d = D(reg, "chongqing", "政审证明", requester="县征兵办公室")
    assert d.outcome is Outcome.ISSUE and d.item.number == 4 and d.match.kind == "word"


def test_retained_item_named_by_its_condition_asks_for_the_condition(reg):
    d = D(reg, "chongqing", "婚姻登记档案丢失的婚姻状况证明")
    assert d.outcome is Outcome.ASK and d.questions == ("archive_lost",)
    assert D(reg, "chongqing", "婚姻登记档案丢失的婚姻状况证明", archive_lost=True).outcome is Outcome.ISSUE
    d = D(reg, "chongqing", "婚姻登记档案丢失的婚姻状况证明", archive_lost=False)
    assert d.outcome is Outcome.REFUSE and d.item.number == 8 and d.route


# ------------------------------------------------------------------------------------------
# Written commitment outside Qinghai (DOMAIN 7)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("jid,own", [
    ("national", None), ("jilin", ("吉民发〔2020〕45号", "四")), ("anhui-luan", ("六民办〔2021〕40号", "四（四）")),
    ("shaanxi", ("陕西省民政厅等六部门通知（2021年2月23日）", "五（四）")), ("chongqing", None),
    ("chongqing-yubei", ("渝北区“社区万能章”治理专项行动实施方案", "三（三）")),
])
@pytest.mark.parametrize("query", ["居住证明", "无犯罪记录证明"])
def test_commitment_replaces_a_refusal_where_asserted(reg, jid, own, query):
    if jid in CQ and query == "居住证明":
        query = "志愿服务证明"  # 居住证明 is Chongqing's item 27
    before = D(reg, jid, query, verifiable=False)
    assert before.outcome is Outcome.REFUSE
    d = D(reg, jid, query, verifiable=False, commitment_ok=True)
    assert d.outcome is Outcome.COMMITMENT, d.explanation
    assert d.requirements == ("commitment_letter",) and d.route is None
    assert ("民发〔2020〕20号", "四（四）") in cites(d)
    if own:
        assert own in cites(d), cites(d)


def test_jilin_commitment_letter_carries_its_credit_clause(reg):
    view = reg.view("jilin", IN_FORCE)
    assert "信用中国（吉林）" in view.texts["credit_clause"]
    assert D(reg, "jilin", "居住证明", commitment_ok=True).outcome is Outcome.COMMITMENT


def test_qinghai_in_force_keeps_routes_of_negative_items_and_commits_unlisted_ones(reg):
    d = D(reg, "qinghai", "无犯罪记录证明", commitment_ok=True)
    assert d.outcome is Outcome.REFUSE and d.route
    d = D(reg, "qinghai", "居住证明", commitment_ok=True)
    assert d.outcome is Outcome.COMMITMENT and ("青民发〔2021〕103号", "二（六）") in cites(d)


def test_commitment_never_turns_an_issue_into_a_commitment(reg):
    d = D(reg, "national", "亲属关系证明", "公证", commitment_ok=True)
    assert d.outcome is Outcome.ISSUE


# ------------------------------------------------------------------------------------------
# Citations of the provision that decides (issue 12, point 5)
# ------------------------------------------------------------------------------------------
REFUSING = {("民发〔2020〕20号", "三"), ("陕西省民政厅等六部门通知（2021年2月23日）", "三"), ("青民发〔2021〕103号", "二（二）")}


def test_shaanxi_unlisted_issue_cites_the_provision_that_permits_it(reg):
    d = D(reg, "shaanxi", "志愿服务证明", **THREE)
    assert d.outcome is Outcome.ISSUE
    assert ("陕西省民政厅等六部门通知（2021年2月23日）", "二（一）") in cites(d)
    assert not cites(d) & REFUSING, cites(d)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_issue_cites_a_provision_that_refuses(reg, data):
    jid = data.draw(st.sampled_from(ALL))
    on = data.draw(st.sampled_from([IN_FORCE, LAPSED]))
    view = reg.view(jid, on)
    name = data.draw(st.sampled_from([*(it.name for it in view.items), "志愿服务证明"]))
    purpose = data.draw(st.sampled_from(["", "公证", "不动产登记", "收养", "法律援助", "征兵", "农民专业合作社设立登记"]))
    facts = data.draw(st.dictionaries(st.sampled_from(
        ["basis_provided", "within_duties", "verifiable", "public_interest", "archive_lost"]), st.booleans()))
    d = D(reg, jid, name, purpose, on=on, **facts)
    if d.outcome in (Outcome.ISSUE, Outcome.ISSUE_AFTER_CONSULTATION):
        assert not cites(d) & REFUSING, (jid, name, purpose, facts, cites(d))


# ------------------------------------------------------------------------------------------
# Nearness: never unlisted, never issued (the acceptance property)
# ------------------------------------------------------------------------------------------
MODIFIERS = ["居民", "个人", "本人", "开具", "一份"]
ODD = "甲乙丙丁戊己庚辛壬癸鼎鑫淼焱垚"  # characters in no list name: a wrong character
PURPOSES = ["", "入学", "办理贷款", "出国旅游"]  # no exception or retained use among them
FACTS = ["within_duties", "verifiable", "basis_provided", "public_interest", "legal_risk", "own_documents",
         "replaceable", "liability", "facts_unclear", "against_law", "prohibited", "archive_lost"]


def _listed(reg, jid, on):
    view = reg.view(jid, on)
    return view, [(it, n) for it in view.items for n in (it.name, *it.aliases)]


@st.composite
def variants(draw, name: str, synonyms):
    base = name
    kind = draw(st.sampled_from(["add", "drop", "negate", "synonym", "wrong"]))
    if kind == "add":
        word = draw(st.sampled_from(MODIFIERS + ["的", "证明"]))
        return draw(st.sampled_from([word + base, base + word, base.replace("证明", word + "证明")]))
    if kind == "drop":
        present = [w for w in MODIFIERS + ["的", "证明"] if w in base]
        if not present:
            return draw(st.sampled_from(MODIFIERS)) + base
        return base.replace(draw(st.sampled_from(present)), "", 1) or base
    if kind == "negate":
        return draw(st.sampled_from(["无", "没有"])) + base
    if kind == "synonym":
        usable = [(w, listed) for w, listed in synonyms if listed in base]
        if not usable:
            return base
        w, listed = draw(st.sampled_from(usable))
        return base.replace(listed, w, 1)
    i = draw(st.integers(0, len(base) - 1))
    return base[:i] + draw(st.sampled_from(ODD)) + base[i + 1:]


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_variants_of_listed_names_are_never_unlisted_and_never_issued(reg, data):
    jid = data.draw(st.sampled_from(ALL), label="jurisdiction")
    on = data.draw(st.sampled_from([IN_FORCE, LAPSED]), label="on")
    view, listed = _listed(reg, jid, on)
    item, name = data.draw(st.sampled_from(listed), label="listed")
    synonyms = [(s.word, s.listed) for j in view.chain for s in reg.jurisdictions[j].vocabulary.synonyms]
    query = data.draw(variants(name, synonyms), label="query")
    purpose = data.draw(st.sampled_from(PURPOSES), label="purpose")
    facts = data.draw(st.dictionaries(st.sampled_from(FACTS), st.booleans()), label="facts")
    d = decide(view, Request(query, purpose, "", Facts(facts)))
    assert d.item is not None or d.candidates, f"{jid}: {query!r} (from {name}) decided as unlisted: {d.explanation}"
    if d.outcome in ISSUING:
        # only an item's own exception may issue it (item 16: 国家另有规定, asserted as basis_provided), or the
        # retained entry that carves it out, for its condition (Chongqing: 婚姻登记档案丢失 → retained item 6)
        own = d.item is not None and (any(e.holds(name_key(purpose), d.facts) for e in d.item.exceptions) or (
            d.item.list == "retained" and d.item.limit is not None and d.item.limit.holds(name_key(purpose), d.facts)))
        assert own, f"{jid}: {query!r} (from {name}) issued: {d.outcome.value} {d.explanation}"
    other = view.index.lookup(query).items
    if not other or item in other:
        assert item in (d.item, *d.candidates) or d.item in item_targets(view, item), (
            f"{jid}: {query!r} (from {name}): {item.name} is neither the item nor a candidate "
            f"({d.item and d.item.name}, {[c.name for c in d.candidates]})")


def item_targets(view, item):
    """A carve-out links a negative item and the retained entry that carves it out: a request for one may be
    decided as the other (the retained entry for its use, else the negative item it falls back to)."""
    carving = [r for r, _ in view.carve_outs.get(item.id, ())]
    carved = [view.by_id[n] for n, lst in view.carve_outs.items() if any(r.id == item.id for r, _ in lst)]
    return carving + carved


@pytest.mark.parametrize("jid", ALL)
def test_every_resident_word_resolves_to_its_item(reg, jid):
    view = reg.view(jid, IN_FORCE)
    words = view.index.words()
    assert len(words) >= 200, f"{jid}: only {len(words)} resident words"
    for key, word, items in words:
        res = view.index.lookup(word.name)
        assert res.kind in ("word", "name", "alias", "legacy"), (jid, word.name)
        if res.kind == "word":
            assert res.items == items and res.matched == word.name and res.reason == word.why


def test_not_listed_lets_the_clerk_decide_a_near_name_as_unlisted(reg):
    d = D(reg, "national", "个人无犯罪记录证明", **THREE)
    assert d.outcome is Outcome.ASK and [c.number for c in d.candidates] == [5]
    d = D(reg, "national", "个人无犯罪记录证明", not_listed=True, **THREE)
    assert d.outcome is Outcome.ISSUE and d.item is None
    assert any("经办人已与居民核对" in line for line in d.explanation)


@pytest.mark.parametrize("query", ["证明", "开个证明", "abc", "wfzjl", "123"])
def test_a_query_that_names_nothing_is_asked_about(reg, query):
    d = D(reg, "national", query, **THREE)
    assert d.outcome is Outcome.ASK and not d.candidates and not d.questions and d.item is None
    assert d.citations


@pytest.mark.parametrize("jid,query", [(j, q) for j in ALL for q in ["志愿服务证明", "见义勇为证明", "宠物饲养许可证明"]]
                         + [("national", "学生社会实践证明"), ("national", "门牌证明"), ("qinghai", "居住证明")])
def test_a_name_near_nothing_listed_stays_unlisted(reg, jid, query):
    d = D(reg, jid, query, **THREE)
    assert d.item is None and not d.candidates, (jid, query, [c.name for c in d.candidates])
    assert d.outcome is not Outcome.ASK


def test_cli_reports_the_matched_wording_and_candidates():
    out = subprocess.run([sys.executable, "-m", "sealdesk.core.cli.main", "decide", "关系证明", "-j", "national", "--json"],
                         capture_output=True, text=True)
    if out.returncode != 0 and "No module named" in out.stderr:
        out = subprocess.run(["sealdesk", "decide", "关系证明", "-j", "national", "--json"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    d = json.loads(out.stdout)
    assert d["outcome"] == "ask" and {c["number"] for c in d["candidates"]} == {1, 8}
    assert d["match"] == {"wording": "关系证明", "kind": "word", "reason": d["match"]["reason"]} and d["match"]["reason"]
