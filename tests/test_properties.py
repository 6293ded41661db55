"""Cross-plugin properties (hypothesis) over every installed jurisdiction, including a throwaway
third-party plugin installed through an entry point."""

from __future__ import annotations

import datetime as dt
import importlib
import random
import tomllib

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealdesk.core.cli.main import items_document
from sealdesk.core.engine.model import ISSUING, Facts, Outcome, Request
from sealdesk.core.engine.names import name_key, names_nothing, variants
from sealdesk.core.engine.plugins import BUILTIN, Registry
from sealdesk.core.engine.protocol import decide

FACTS = ["within_duties", "verifiable", "basis_provided", "public_interest", "policy_gap", "party_requires",
         "legal_risk", "own_documents", "commitment_ok", "replaceable", "liability", "facts_unclear",
         "against_law", "prohibited", "archive_lost"]
SEAL_FACTS = ["liability", "facts_unclear", "against_law", "prohibited"]
PURPOSES = ["", "公证", "不动产登记", "收养", "法律援助", "出国留学", "银行贷款", "农民专业合作社设立登记",
            "成员变更登记", "入学", "办理低保"]
EXCEPTION_WORDS = ("公证", "不动产登记", "收养", "法律援助", "农民专业合作社设立登记", "成员变更登记")


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A registry with the built-ins plus a throwaway district installed through an entry point."""
    import sys

    from conftest import CATALOG_TOML, DISTRICT_TOML, INIT_PY

    site = tmp_path_factory.mktemp("site")
    pkg = site / "prop_district"
    pkg.mkdir()
    (pkg / "__init__.py").write_text(INIT_PY)
    (pkg / "jurisdiction.toml").write_text(DISTRICT_TOML.format(jid="prop-district", parent="chongqing"))
    (pkg / "catalog.toml").write_text(CATALOG_TOML)
    dist = site / "prop_district-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: prop_district\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[sealdesk.jurisdictions]\nprop-district = prop_district\n")
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    try:
        reg = Registry()
        assert not reg.errors, reg.errors
        assert "prop-district" in reg.ids()
        modules = [(n, importlib.import_module(m)) for n, m in BUILTIN.items()]
        modules.append(("prop-district", importlib.import_module("prop_district")))
        yield reg, modules
    finally:
        sys.path.remove(str(site))


def _names(reg):
    out = set()
    for jid in reg.ids():
        for it in reg.view(jid, dt.date(2026, 1, 10)).items:
            out.update(it.names)
    return sorted(out)


dates = st.dates(min_value=dt.date(2020, 3, 1), max_value=dt.date(2027, 12, 31))
fact_maps = st.dictionaries(st.sampled_from(FACTS), st.booleans(), max_size=6)
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _requests(reg):
    queries = st.one_of(st.sampled_from(_names(reg)), st.text(min_size=1, max_size=8))
    return st.tuples(st.sampled_from(reg.ids()), queries, st.sampled_from(PURPOSES), fact_maps, dates)


def _d(reg, jid, query, purpose, facts, on):
    return decide(reg.view(jid, on), Request(query, purpose, "", Facts(facts)))


@SETTINGS
@given(data=st.data())
def test_determinism(world, data):
    reg, _ = world
    jid, query, purpose, facts, on = data.draw(_requests(reg))
    assert _d(reg, jid, query, purpose, facts, on) == _d(reg, jid, query, purpose, facts, on)


@SETTINGS
@given(data=st.data())
def test_national_floor(world, data):
    """A national negative item, no exception and no transitional assertion, is refused with a route everywhere."""
    reg, _ = world
    nationals = [it for it in reg.view("national", dt.date(2026, 1, 10)).items]
    item = data.draw(st.sampled_from(nationals))
    name = data.draw(st.sampled_from(item.names))
    jid = data.draw(st.sampled_from(reg.ids()))
    purpose = data.draw(st.sampled_from([p for p in PURPOSES if not any(w in p for w in EXCEPTION_WORDS)]))
    facts = data.draw(fact_maps)
    for f in ("policy_gap", "party_requires", "archive_lost", "basis_provided", "commitment_ok"):
        facts.pop(f, None)
    d = _d(reg, jid, name, purpose, facts, data.draw(dates))
    assert d.outcome is Outcome.REFUSE, (jid, name, d.explanation)
    assert d.route and d.route.strip(), (jid, name)


@SETTINGS
@given(data=st.data())
def test_every_decision_cites_an_in_force_document_of_its_chain(world, data):
    reg, _ = world
    jid, query, purpose, facts, on = data.draw(_requests(reg))
    d = _d(reg, jid, query, purpose, facts, on)
    view = reg.view(jid, on)
    assert d.citations, (jid, query)
    assert any(c.document in view.documents for c in d.citations), (jid, query, d.citations)
    chain_docs = {doc.number for j in view.chain for doc in reg.jurisdictions[j].documents}
    for c in d.citations:
        # laws named in a retained item's basis are outside the chain; the chain's own documents must be in force
        if c.document in chain_docs:
            assert c.document in view.documents, f"{jid} {on}: cites {c.document}, not in force"
        else:
            assert c.document.startswith("《") or "〔" in c.document, c


def test_every_alias_resolves_to_exactly_one_item(world):
    reg, _ = world
    for jid in reg.ids():
        for on in (dt.date(2026, 1, 10), dt.date(2026, 11, 23)):
            view = reg.view(jid, on)
            for it in view.items:
                for name in it.names:
                    for v in variants(name):
                        res = view.index.lookup(v)
                        if name_key(v) in view.index.shared:
                            assert it in res.items and res.ambiguous
                        else:
                            assert res.items == (it,), f"{jid}: {v!r} -> {[i.id for i in res.items]}, want {it.id}"


@SETTINGS
@given(data=st.data(), seal=st.sampled_from(SEAL_FACTS))
def test_seal_fact_never_turns_refusal_into_issue(world, data, seal):
    reg, _ = world
    jid, query, purpose, facts, on = data.draw(_requests(reg))
    before = _d(reg, jid, query, purpose, facts, on)
    after = _d(reg, jid, query, purpose, {**facts, seal: True}, on)
    if before.outcome is Outcome.REFUSE:
        assert after.outcome is Outcome.REFUSE
    if before.outcome not in ISSUING:
        assert after.outcome not in ISSUING


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_decision_does_not_depend_on_registration_order(world, data, seed):
    reg, modules = world
    shuffled = modules[:]
    random.Random(seed).shuffle(shuffled)
    other = Registry(plugins=shuffled)
    assert not other.errors
    for _ in range(5):
        jid, query, purpose, facts, on = data.draw(_requests(reg))
        assert _d(reg, jid, query, purpose, facts, on) == _d(other, jid, query, purpose, facts, on)


@SETTINGS
@given(data=st.data())
def test_ask_names_only_required_facts(world, data):
    reg, _ = world
    jid, query, purpose, facts, on = data.draw(_requests(reg))
    d = _d(reg, jid, query, purpose, facts, on)
    limit = d.item.limit if d.item is not None and d.item.list == "retained" else None
    for q in d.questions:
        if q == "purpose":  # a retained item's use, not known yet
            assert limit is not None and limit.purposes and not purpose, (jid, query, purpose)
            continue
        # required facts, or the condition a retained item is named by (婚姻登记档案丢失…)
        assert reg.facts[q].required or (limit is not None and q in limit.facts), (q, jid, query)
        assert q not in facts, f"asked {q} although it was answered"
    if d.outcome is not Outcome.ASK:
        assert not d.questions
    elif not d.candidates and not d.questions:
        assert names_nothing(query), f"ask without questions must be a name near listed items or no name: {query!r}"


@SETTINGS
@given(data=st.data())
def test_answering_the_questions_settles_the_decision(world, data):
    """Answering every question asked never leads to asking the same question again."""
    reg, _ = world
    jid, query, purpose, facts, on = data.draw(_requests(reg))
    d = _d(reg, jid, query, purpose, facts, on)
    if d.questions:
        answers = {q: data.draw(st.booleans()) for q in d.questions if q != "purpose"}
        use = data.draw(st.sampled_from(["办理贷款", *(d.item.limit.purposes if "purpose" in d.questions else ())]))
        d2 = _d(reg, jid, query, use if "purpose" in d.questions else purpose, {**facts, **answers}, on)
        assert not set(d2.questions) & {*answers, "purpose"}


@pytest.mark.parametrize("on", [dt.date(2026, 1, 10), dt.date(2026, 11, 23)])
def test_toml_round_trip(world, on):
    reg, _ = world
    for jid in reg.ids():
        doc = items_document(reg.view(jid, on))
        assert tomllib.loads(tomli_w.dumps(doc)) == doc


@SETTINGS
@given(data=st.data(), requester=st.text(max_size=10), purpose=st.text(max_size=10))
def test_fast_json_text_equals_json_dumps(world, data, requester, purpose):
    """The batch serializer builds JSON from cached fragments; it must equal json.dumps exactly."""
    import json

    reg, _ = world
    jid, query, _, facts, on = data.draw(_requests(reg))
    d = decide(reg.view(jid, on), Request(query, purpose, requester, Facts(facts)))
    assert d.to_json_text() == json.dumps(d.to_json(), ensure_ascii=False, separators=(",", ":"))
    assert json.loads(d.to_json_text()) == d.to_json()
