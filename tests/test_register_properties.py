"""Properties of the register over random counter sessions in every installed jurisdiction.

Whatever sequence of requests, approvals, stamps, filings and voids people attempt, the
workflow lets through only what the audit then finds nothing wrong with: the chain verifies,
serials run 1..n, a refused action writes nothing, and no audit violation appears.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from dataclasses import replace
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sealdesk.core.register.community import Person, demo_community, save_community
from sealdesk.core.desk.counter import Desk
from sealdesk.core.engine.plugins import default_registry
from sealdesk.core.register.resident import InvalidInput
from sealdesk.core.register.workflow import Refused

from conftest import VALID_IDS

REG = default_registry()
JURISDICTIONS = REG.ids()
PEOPLE = ("clerk", "director", "keeper", "inspector", "both")
FACTS = ("within_duties", "verifiable", "basis_provided", "public_interest", "policy_gap", "party_requires",
         "legal_risk", "commitment_ok", "liability", "own_documents", "archive_lost")
NAMES = sorted({n for j in JURISDICTIONS for it in REG.view(j, dt.date.today()).items for n in it.names[:1]})
NAMES += ["居住证明", "某某专项证明"]

request_op = st.tuples(st.just("request"), st.sampled_from(NAMES),
                       st.dictionaries(st.sampled_from(FACTS), st.booleans(), max_size=5),
                       st.sampled_from(["", "公证", "不动产登记", "法律援助"]), st.sampled_from(PEOPLE))
action_op = st.tuples(st.sampled_from(["approve", "stamp", "file", "void"]), st.integers(1, 12),
                      st.sampled_from(PEOPLE))
ops = st.lists(st.one_of(request_op, action_op), min_size=5, max_size=40)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(JURISDICTIONS), ops)
def test_whatever_the_workflow_allows_the_audit_accepts(jid, session):
    with tempfile.TemporaryDirectory() as d:
        community = demo_community(Path(d), jid)
        community = replace(community, people=(*community.people, Person("both", "兼职", ("director", "keeper"))))
        save_community(community)
        desk = Desk(Path(d), registry=REG)
        try:
            stamps = 0
            for op in session:
                before = desk.register.count()
                try:
                    if op[0] == "request":
                        _, name, facts, purpose, who = op
                        out = desk.request(name, facts=facts, purpose=purpose, resident_name="张三",
                                           resident_id=VALID_IDS[0], as_login=who)
                        assert (out["entry"] is None) == (out["decision"]["outcome"] == "ask")
                    else:
                        action, entry, who = op
                        args = ("作废测试",) if action == "void" else ()
                        rec = getattr(desk, action)(entry, *args, as_login=who)
                        stamps += action == "stamp"
                        assert rec["actor"] == who
                except (Refused, InvalidInput):
                    assert desk.register.count() == before  # a refused action writes nothing
            rep = desk.audit()
            assert rep["chain"]["ok"], rep["chain"]
            assert rep["violations"] == 0, [f for f in rep["findings"] if f["severity"] == "violation"]
            serials = [r["serial"] for r in desk.export() if r["serial"] is not None]
            assert sorted(serials) == list(range(1, stamps + 1))
        finally:
            desk.close()
