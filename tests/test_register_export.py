"""``register export`` and ``Desk.export``: the same bytes and dicts as the original implementation.

The export reads its own lean path (one joined query per page, no Record or Matter objects). The
reference below is the implementation it replaced, kept verbatim: every matter read through the
register's public calls, built into a Matter, summarised, then written by the CSV or JSON writer
(the one change since: CSV cells a spreadsheet would run as formulas get a leading apostrophe).
Both run on the same registers, with matters in every state, papers, hostile text and bodies of
unusual shape, and must agree to the byte.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys

import pytest

from sealdesk.core.cli.register import EXPORT_FIELDS
from sealdesk.core.common.inputs import printable
from sealdesk.core.desk.counter import Desk
from sealdesk.core.engine.model import Outcome, citation_label
from sealdesk.core.register.resident import mask_id
from sealdesk.core.register.store import Register
from sealdesk.core.register.workflow import STATUS, Matter, steps_of

from conftest import VALID_IDS

TRANSITIONAL = ("居民财产证明", "--fact", "party_requires", "--fact", "within_duties", "--fact", "verifiable")


# -- the reference: the original export, verbatim -------------------------------------------------
def _summary(matter: Matter, steps) -> dict:
    m = matter.entry
    data = m.data
    d = data["decision"]
    item = d.get("item") or {}
    status = matter.status(steps)
    s, a, v, f = matter.stamp, matter.approve, matter.void, matter.file
    sdata = s.data if s else {}
    return {
        "entry": matter.number if matter.number is not None else m.seq,
        "record": m.seq,
        "at": m.at,
        "status": status,
        "status_label": STATUS[status],
        "jurisdiction": d["jurisdiction"],
        "date": d["date"],
        "query": d["query"],
        "item_id": item.get("id"),
        "item_name": item.get("name"),
        "list": item.get("list"),
        "number": item.get("number"),
        "outcome": m.outcome,
        "outcome_label": Outcome(m.outcome).label,
        "purpose": d.get("purpose", ""),
        "requester": d.get("requester", ""),
        "resident_name": data["resident"]["name"],
        "resident_id": mask_id(data["resident"]["id"]),
        "clerk": m.actor,
        "clerk_name": data.get("clerk_name", ""),
        "approver": a.actor if a else None,
        "approved_at": a.at if a else None,
        "keeper": s.actor if s else None,
        "stamped_at": s.at if s else None,
        "year": s.year if s else None,
        "serial": s.serial if s else None,
        "valid_until": sdata.get("valid_until"),
        "filed_at": f.at if f else None,
        "voided_by": v.seq if v else None,
        "void_reason": v.data.get("reason") if v else None,
        "route": d.get("route"),
        "requirements": d.get("requirements", []),
        "citations": [citation_label(c) for c in d.get("citations", [])],
        "papers": [p.data.get("sha256") for p in matter.papers],
        "hash": m.hash,
    }


def reference_export(desk: Desk, after: int = 0, limit: int | None = None) -> list[dict]:
    reg = desk.register
    steps = steps_of(desk.view().workflow)
    out: list[dict] = []
    last = after
    while True:
        rows = reg.matter_rows(last, 500)
        if not rows:
            return out
        seqs = [seq for seq, _ in rows]
        recs = reg.records_at(seqs)
        acts = reg.related_many(seqs)
        for seq, number in rows:
            if limit is not None and len(out) >= limit:
                return out
            out.append(_summary(Matter.build(recs[seq], acts.get(seq, []), number), steps))
        last = rows[-1][0]


def reference_csv(rows: list[dict]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf)
    w.writerow(EXPORT_FIELDS)
    for rec in rows:
        w.writerow([_spreadsheet_safe("；".join(rec[k]) if k == "citations" else ("" if rec[k] is None else rec[k]))
                    for k in EXPORT_FIELDS])
    return buf.getvalue()


def _spreadsheet_safe(value):
    """Not in the original (issue 15): a cell starting with = + - @ tab or CR, which Excel and WPS would
    run as a formula, gets a leading apostrophe; the cell's text is what csv.writer would write (str())."""
    text = value if type(value) is str else str(value)
    return "'" + text if text.startswith(("=", "+", "-", "@", "\t", "\r")) else value


def reference_json(rows: list[dict]) -> str:
    out = "["
    sep = "\n"
    for rec in rows:
        out += sep + json.dumps({k: rec[k] for k in EXPORT_FIELDS}, ensure_ascii=False)
        sep = ",\n"
    return out + "\n]\n"


# -- registers with every state -------------------------------------------------------------------
def request(cli, *argv, name="张三", rid=VALID_IDS[0], extra=()):
    return cli.json("request", *argv, "--resident-name", name, "--resident-id", rid, *extra, "--as", "clerk")


def fill_states(cli, tmp_path) -> None:
    """Stamped, approved, awaiting approval, voided (before and after the stamp), refused, commitment,
    papers printed; text with commas, quotes and semicolons; filed where the workflow files."""
    hostile = {2: ("--purpose", "办理公证, 用途；其他"), 3: ("--requester", '某公司"法务部"'),
               5: ("--purpose", '办理"公证", 用途', "--requester", "某公司,法务部"),
               6: ("--purpose", '=HYPERLINK("x", 1)', "--requester", "@某公司")}  # formulas: neutralised
    e = [request(cli, *TRANSITIONAL, name=n, rid=VALID_IDS[i % len(VALID_IDS)], extra=hostile.get(i, ()))
         ["entry"] for i, n in enumerate(["张三", "李四", "王小明", "欧阳娜娜", "赵六", "钱七", "冯二"])]
    for x in e[:6]:
        assert cli("approve", str(x), "--as", "director")[0] == 0
    for x in e[:4]:
        assert cli("stamp", str(x), "--as", "keeper")[0] == 0
    code, _, err = cli("file", str(e[0]), "--as", "director")  # only where the workflow has filing
    assert code in (0, 3), err
    assert cli("void", str(e[1]), "--reason", '登记错误,"重办"', "--as", "director")[0] == 0
    assert cli("void", str(e[4]), "--reason", "居民撤回", "--as", "director")[0] == 0
    refused = request(cli, "无犯罪记录证明", name="孙八")["entry"]
    cli.json("paper", "refusal", str(refused), "-o", str(tmp_path / f"r{refused}.pdf"), "--as", "clerk")
    request(cli, "居住证明", name="周九", extra=("--fact", "commitment_ok"))
    cli.json("paper", "certificate", str(e[2]), "--content", "该居民名下无房产", "-o", str(tmp_path / "c.pdf"),
             "--as", "clerk")


def odd_bodies(cli) -> None:
    """Matter records of shapes sealdesk never writes (keys missing, null, other types): the export
    must treat them as the original did."""
    with Register(cli.home / "register.sqlite3") as reg:
        base = {"jurisdiction": "national", "date": "2026-01-05", "query": "居民证明"}
        for body, outcome in (
                ({"decision": {**base, "query": "居民\r证明"}, "resident": {"name": "吴十", "id": "123"}}, "issue"),
                ({"decision": {**base, "query": "居民\n证明", "item": None, "purpose": None, "requester": None,
                               "route": True,
                               "requirements": None or [], "citations": []},
                  "resident": {"name": "郑一", "id": None}, "clerk_name": None}, "refuse"),
                ({"decision": {**base, "item": {"id": 7, "number": "17", "list": False}, "purpose": 5,
                               "requirements": [True, 1.5, {"a": [1]}],
                               "citations": [{"document": "某文", "provision": None}, {"document": "另文"}]},
                  "resident": {"name": '王"五', "id": ""}, "clerk_name": ""}, "commitment"),
                ({"decision": {**base, "query": ["居住", "证明"], "requester": -1.5, "purpose": "a\tb ' c；d",
                               "item": {"name": {"x": '"y"'}}, "citations": [{"document": "甲,乙", "provision": "三"}]},
                  "resident": {"name": "王五 ", "id": "11010519491231002X"}}, "issue"),
        ):
            reg.append("matter", actor="clerk", role="clerk", community="幸福社区居民委员会", body=body,
                       outcome=outcome)


@pytest.fixture(params=["national", "chongqing-yubei"])
def register_home(demo, tmp_path, request):
    cli = demo(request.param)
    fill_states(cli, tmp_path)
    odd_bodies(cli)
    return cli


def test_export_dicts_are_the_original_ones(register_home):
    desk = Desk(register_home.home)
    want = reference_export(desk)
    assert len(want) == 13 and {r["status"] for r in want} >= {"voided", "refused", "commitment", "stamped" if
                                                                "file" not in steps_of(desk.view().workflow)
                                                                else "filed", "awaiting_approval",
                                                                "awaiting_stamp"}
    got = list(desk.export())
    assert got == want
    assert [list(r) for r in got] == [list(r) for r in want]  # the keys in the same order
    for after, limit in ((0, 1), (0, 3), (want[2]["record"], 4), (want[-1]["record"], 5), (want[5]["record"], None),
                         (0, 0)):
        assert list(desk.export(after=after, limit=limit)) == reference_export(desk, after, limit), (after, limit)
    desk.close()


@pytest.mark.parametrize("fmt", ["csv", "json"])
def test_cli_export_bytes_are_the_original_ones(register_home, tmp_path, fmt):
    desk = Desk(register_home.home)
    rows = reference_export(desk)
    desk.close()
    want = reference_csv(rows) if fmt == "csv" else reference_json(rows)
    assert ("'=HYPERLINK" in want and ",'@某公司," in want and ",'-1.5," in want) if fmt == "csv" else (
        '"=HYPERLINK' in want and '"requester": -1.5' in want)
    target = tmp_path / f"export.{fmt}"
    code, _, err = register_home("register", "export", "--format", fmt, "-o", str(target))
    assert code == 0, err
    assert target.read_bytes() == want.encode("utf-8")
    # Standard output, as bytes (a captured text stream would translate line ends); text output to a
    # terminal drops control characters, the CSV's carriage returns among them (core/cli/main.py).
    env = {**os.environ, "SEALDESK_HOME": str(register_home.home)}
    done = subprocess.run([sys.executable, "-m", "sealdesk.core.cli", "register", "export", "--format", fmt],
                          env=env, capture_output=True, check=True)
    assert done.stdout == printable(want).encode("utf-8")


def test_export_of_an_empty_register(demo, tmp_path):
    cli = demo("national")
    desk = Desk(cli.home)
    assert list(desk.export()) == []
    desk.close()
    target = tmp_path / "e.csv"
    assert cli("register", "export", "--format", "csv", "-o", str(target))[0] == 0
    assert target.read_bytes() == reference_csv([]).encode("utf-8")


def test_the_table_is_the_dicts_in_cells(register_home):
    from sealdesk.core.cli.register import _export_cells
    from sealdesk.core.desk.counter import TABLE_FIELDS, table_cells

    assert EXPORT_FIELDS == TABLE_FIELDS  # the CLI's columns are the ones the desk builds without dicts
    desk = Desk(register_home.home)
    want = [table_cells([r[k] for k in EXPORT_FIELDS], EXPORT_FIELDS.index("citations"))
            for r in reference_export(desk)]
    assert list(desk.export_table(EXPORT_FIELDS)) == want

    class Remote:  # what the register service's client offers: the dicts only
        export = desk.export

    assert list(_export_cells(Remote())) == list(_export_cells(desk)) == want
    other = ("record", "papers", "citations", "status_label", "requirements")  # not the table's: from the dicts
    assert list(desk.export_table(other)) == [table_cells([r[k] for k in other], 2) for r in reference_export(desk)]
    desk.close()
