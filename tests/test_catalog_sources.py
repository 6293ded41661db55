"""The certificate catalogs trace back, character for character, to the seed texts.

plugins/national/catalog.toml   <- seed 001 (青民发〔2021〕103号) 附件2, the national list of 民发〔2020〕20号
plugins/chongqing/catalog.toml  <- seed 004 (渝北区 plan) 附件1 (30 negative items) and 附件2 (7 retained items)
plugins/qinghai/catalog.toml    <- seed 001 附件3, the 示例 row (农民身份证明)
[lists] of plugins/*/jurisdiction.toml <- the list titles the seeds give (national, Chongqing, Qinghai, Anhui)

The only change the transcription may make is deleting whitespace that the seeds'
table layout put inside Chinese text, so every comparison deletes all whitespace
(including U+3000) from both sides and then demands an exact substring match.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGINS = ROOT / "plugins"
SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
SEED_001 = "001_4b646400c9a9b90a.txt"
SEED_004 = "004_8c137975a14580ff.txt"


def squash(text: str) -> str:
    """Delete every whitespace character (str.isspace covers \\t, \\n, U+3000, U+00A0, ...)."""
    return "".join(ch for ch in text if not ch.isspace())


def load(name: str) -> dict:
    with open(PLUGINS / name / "catalog.toml", "rb") as fh:
        return tomllib.load(fh)


@pytest.fixture(scope="module")
def national() -> dict:
    return load("national")


@pytest.fixture(scope="module")
def chongqing() -> dict:
    return load("chongqing")


@pytest.fixture(scope="module")
def qinghai() -> dict:
    return load("qinghai")


def _seed(name: str) -> str:
    path = SEEDS / name
    if not SEEDS.is_dir() or not path.is_file():
        pytest.skip(f"seed directory {SEEDS} (or {name}) not available")
    return squash(path.read_text(encoding="utf-8"))


def _section(text: str, start: str, end: str) -> str:
    """The squashed seed text between two markers (both squashed too)."""
    start, end = squash(start), squash(end)
    i = text.find(start)
    assert i >= 0, f"seed marker {start!r} not found"
    j = text.find(end, i + len(start))
    assert j >= 0, f"seed marker {end!r} not found after {start!r}"
    return text[i:j]


@pytest.fixture(scope="module")
def seed_national_list() -> str:
    """Seed 001 附件2: 不应由基层群众性自治组织出具证明事项清单（第一批）."""
    return _section(_seed(SEED_001), "附件 2\n\n不应由基层群众性自治组织出具证明", "附件 3\n\n_____市（州）")


@pytest.fixture(scope="module")
def seed_qinghai_annex3() -> str:
    return _section(_seed(SEED_001), "附件 3\n\n_____市（州）", "附件 4\n\nxxxxxx")


@pytest.fixture(scope="module")
def seed_cq_negative() -> str:
    """Seed 004 附件1: 重庆市不应由基层群众性自治组织出具证明事项清单（第一批）."""
    return _section(_seed(SEED_004), "附件1\n\n重庆市不应由", "附件2\n重庆市基层")


@pytest.fixture(scope="module")
def seed_cq_retained() -> str:
    """Seed 004 附件2: 重庆市基层群众性自治组织依法出具证明事项清单."""
    return _section(_seed(SEED_004), "附件2\n重庆市基层", "重庆市渝北区民政局办公室")


# --------------------------------------------------------------------------- helpers


def _assert_in(value, where: str, label: str) -> None:
    assert isinstance(value, str), f"{label}: expected a string, got {value!r}"
    assert squash(value), f"{label}: empty"
    assert squash(value) in where, f"{label}: {value!r} does not occur in the seed"


def _numbers(items) -> list[int]:
    return [item.get("number") for item in items]


def _item_text_fields(item: dict, list_name: str, fields) -> list[tuple[str, str]]:
    """(label, value) for each present text field, basis lines expanded."""
    out = []
    n = item.get("number")
    for field in fields:
        if field not in item:
            continue
        if field == "basis":
            assert isinstance(item["basis"], list) and item["basis"], f"{list_name} {n}: basis must be a non-empty list"
            for i, line in enumerate(item["basis"], 1):
                out.append((f"{list_name} item {n} basis line {i}", line))
        else:
            out.append((f"{list_name} item {n} {field}", item[field]))
    for i, exc in enumerate(item.get("exceptions", []), 1):
        out.append((f"{list_name} item {n} exception {i} text", exc.get("text")))
    if "restriction" in item:
        out.append((f"{list_name} item {n} restriction text", item["restriction"].get("text")))
    return out


# --------------------------------------------------------------------------- structure (no seeds needed)


def test_national_numbers_are_1_to_20(national):
    assert _numbers(national["negative"]) == list(range(1, 21)), "national negative numbers must be 1..20 in order"


def test_chongqing_numbers(chongqing):
    assert _numbers(chongqing["negative"]) == list(range(1, 31)), "chongqing negative numbers must be 1..30 in order"
    assert _numbers(chongqing["retained"]) == list(range(1, 8)), "chongqing retained numbers must be 1..7 in order"


def test_qinghai_example_row(qinghai):
    (item,) = qinghai["retained"]
    assert item["number"] == 1, "qinghai retained item: number must be 1"
    assert item["label"] == "示例", "qinghai retained item 1: label must be 示例"
    assert item["name"] == "农民身份证明", "qinghai retained item 1: name"


@pytest.mark.parametrize("which", ["national", "chongqing"])
def test_negative_items_have_route_and_names(which, national, chongqing):
    catalog = {"national": national, "chongqing": chongqing}[which]
    for item in catalog["negative"]:
        n = item["number"]
        assert isinstance(item.get("route"), str) and squash(item["route"]), f"{which} negative item {n}: empty route"
        name, source_name = item.get("name", ""), item.get("source_name", "")
        assert name, f"{which} negative item {n}: empty name"
        assert source_name.startswith(name), f"{which} negative item {n}: name {name!r} is not the head of source_name"
        for alias in item.get("aliases", []):
            assert alias and alias in source_name, f"{which} negative item {n}: alias {alias!r} not in source_name"
            assert alias != name, f"{which} negative item {n}: alias {alias!r} repeats the name"
        if item.get("aliases"):
            assert re.search(r"[（(].*[）)]$", source_name), f"{which} negative item {n}: aliases without parentheses"
        else:
            assert name == source_name, f"{which} negative item {n}: parenthesised alternatives not in aliases"
        assert item.get("citations"), f"{which} negative item {n}: no citations"
        assert item.get("source"), f"{which} negative item {n}: no source"


@pytest.mark.parametrize("which", ["national", "chongqing"])
def test_exceptions_are_the_final_parenthesis_of_the_route(which, national, chongqing):
    catalog = {"national": national, "chongqing": chongqing}[which]
    expected = {1: ({"不动产登记", "公证"}, set()), 8: ({"收养"}, {"archive_lost"}), 14: ({"收养"}, set()),
                16: (set(), {"basis_provided"}), 17: ({"法律援助"}, set())}
    for item in catalog["negative"]:
        n = item["number"]
        m = re.search(r"（([^（）]*除外)）$", item["route"])
        excs = item.get("exceptions", [])
        if m is None:
            assert not excs, f"{which} negative item {n}: exceptions but the route has no （…除外） clause"
            continue
        assert len(excs) == 1, f"{which} negative item {n}: expected one exception, got {len(excs)}"
        exc = excs[0]
        assert exc["text"] == m.group(1), f"{which} negative item {n}: exception text is not the route's final clause"
        assert exc["purposes"] or exc["facts"], f"{which} negative item {n}: exception has no trigger"
        if n in expected:
            assert (set(exc["purposes"]), set(exc["facts"])) == expected[n], f"{which} negative item {n}: exception triggers"
    with_exc = {i["number"] for i in catalog["negative"] if i.get("exceptions")}
    assert with_exc == set(expected), f"{which}: items with exceptions are {sorted(with_exc)}, expected {sorted(expected)}"


def test_chongqing_1_to_20_override_national(chongqing, national):
    national_numbers = set(_numbers(national["negative"]))
    for item in chongqing["negative"]:
        n = item["number"]
        if n <= 20:
            assert item.get("overrides") == f"national.negative.{n}", f"chongqing negative item {n}: overrides"
            assert n in national_numbers, f"chongqing negative item {n}: national entry {n} missing"
            docs = [c["document"] for c in item["citations"]]
            assert docs == ["民发〔2020〕20号", "渝民发〔2020〕27号"], f"chongqing negative item {n}: citations {docs}"
            assert item["citations"][0]["provision"] == f"附件第{n}项", f"chongqing negative item {n}: national provision"
        else:
            assert "overrides" not in item, f"chongqing negative item {n}: items 21-30 override nothing"
            assert not item.get("legacy_names"), f"chongqing negative item {n}: items 21-30 have no legacy names"
            k = re.search(r"第(\d+)项$", item["remark"])
            assert k, f"chongqing negative item {n}: remark does not end with 第K项"
            assert item["citations"][0] == {"document": "渝府办发〔2018〕56号", "provision": f"附件2《取消清单》第{k.group(1)}项"}, (
                f"chongqing negative item {n}: 56号 citation does not match its remark"
            )
        assert item["citations"][-1]["document"] == "渝民发〔2020〕27号", f"chongqing negative item {n}: 27号 citation"
        assert item["citations"][-1]["provision"].endswith(f"第{n}项"), f"chongqing negative item {n}: 27号 provision"


def _legacy_in_remark(name: str, remark: str) -> bool:
    name, remark = squash(name), squash(remark)
    candidates = {name}
    if name.endswith("证明"):
        candidates.add(name[: -len("证明")])  # the 证明 suffix may have been added (曾用名、别名证明)
    for form in ("结婚证", "离婚证"):  # 结(离)婚证… forms, whatever their brackets
        if form in name:
            candidates.add(name.replace(form, "结(离)婚证"))
            candidates.add(name.replace(form, "结（离）婚证"))
    return any(c and c in remark for c in candidates)


def test_chongqing_legacy_names_come_from_the_remark(chongqing):
    for item in chongqing["negative"]:
        n = item["number"]
        for legacy in item.get("legacy_names", []):
            assert _legacy_in_remark(legacy, item.get("remark", "")), (
                f"chongqing negative item {n}: legacy name {legacy!r} not found in its remark"
            )
            assert legacy != item["name"], f"chongqing negative item {n}: legacy name {legacy!r} equals the canonical name"
        assert len(set(item.get("legacy_names", []))) == len(item.get("legacy_names", [])), (
            f"chongqing negative item {n}: duplicate legacy names"
        )
        if item.get("remark", "").startswith("包括"):
            assert item.get("legacy_names"), f"chongqing negative item {n}: remark names certificates but legacy_names is empty"


def test_chongqing_shared_names(chongqing):
    shared = {s["name"]: set(s["items"]) for s in chongqing.get("shared_names", [])}
    assert shared == {"公租房申请人就业和收入证明": {15, 17}}, f"shared_names: {shared}"
    owners: dict[str, set[int]] = {}
    for item in chongqing["negative"]:
        for legacy in item.get("legacy_names", []):
            owners.setdefault(legacy, set()).add(item["number"])
    for name, items in owners.items():
        if len(items) > 1:
            assert shared.get(name) == items, f"legacy name {name!r} is in items {sorted(items)} but not declared in shared_names"
    for name, items in shared.items():
        assert owners.get(name) == items, f"shared name {name!r}: declared for {sorted(items)}, found in {sorted(owners.get(name, ()))}"


def test_chongqing_retained_restrictions_and_carve_outs(chongqing):
    negative = {f"chongqing.negative.{i['number']}" for i in chongqing["negative"]}
    expected = {1: ["chongqing.negative.8", "chongqing.negative.14"], 5: ["chongqing.negative.1"],
                6: ["chongqing.negative.8"], 7: ["chongqing.negative.17"]}
    for item in chongqing["retained"]:
        n = item["number"]
        carves = [c["item"] for c in item.get("carves_out", [])]
        assert carves == expected.get(n, []), f"chongqing retained item {n}: carves_out {carves}"
        for target in carves:
            assert target in negative, f"chongqing retained item {n}: carves out unknown item {target}"
        if n in (5, 6, 7):
            r = item.get("restriction")
            assert r and r["text"] == item["remark"], f"chongqing retained item {n}: restriction text must be the 备注"
            assert r["text"].startswith("仅用于"), f"chongqing retained item {n}: restriction must be the 仅用于 clause"
            assert r["purposes"] or r["facts"], f"chongqing retained item {n}: restriction has no trigger"
        else:
            assert "restriction" not in item, f"chongqing retained item {n}: no 仅用于 restriction in the seed"
            # the use its entry names instead: the 证明用途 cell, verbatim
            assert item["use"]["text"] == item["purpose"], f"chongqing retained item {n}: use must be the 证明用途"
            assert item["use"]["purposes"], f"chongqing retained item {n}: use has no keyword"
        if n <= 4:
            k = re.search(r"附件1第(\d+)项", item["remark"])
            assert k, f"chongqing retained item {n}: remark does not name 56号 附件1第K项"
            assert {"document": "渝府办发〔2018〕56号", "provision": f"附件1第{k.group(1)}项"} in item["citations"], (
                f"chongqing retained item {n}: missing 56号 citation"
            )
        for i, line in enumerate(item["basis"], 1):
            assert line.startswith(f"{i}."), f"chongqing retained item {n} basis line {i}: must start with '{i}.'"


def test_strings_have_no_layout_whitespace(national, chongqing, qinghai):
    fields = ("name", "source_name", "route", "remark", "requesting_unit", "purpose", "method", "matters")
    for list_name, items in (("national negative", national["negative"]), ("chongqing negative", chongqing["negative"]),
                             ("chongqing retained", chongqing["retained"]), ("qinghai retained", qinghai["retained"])):
        for item in items:
            for label, value in _item_text_fields(item, list_name, fields):
                assert value == squash(value), f"{label}: contains whitespace"
            for alias in item.get("aliases", []) + item.get("legacy_names", []):
                assert alias == squash(alias), f"{list_name} item {item['number']}: name {alias!r} contains whitespace"


# --------------------------------------------------------------------------- against the seeds


def test_national_traces_to_seed_001(national, seed_national_list):
    for item in national["negative"]:
        for label, value in _item_text_fields(item, "national negative", ("source_name", "route")):
            _assert_in(value, seed_national_list, label)
        n = item["number"]
        # the row itself: number, name cell and route cell are adjacent in the seed
        row = f"{n}{squash(item['source_name'])}{squash(item['route'])}"
        assert row in seed_national_list, f"national negative item {n}: number + source_name + route are not one seed row"


def test_chongqing_negative_traces_to_seed_004(chongqing, seed_cq_negative):
    for item in chongqing["negative"]:
        n = item["number"]
        for label, value in _item_text_fields(item, "chongqing negative", ("source_name", "route")):
            _assert_in(value, seed_cq_negative, label)
        row = f"{n}{squash(item['source_name'])}{squash(item['route'])}{squash(item.get('remark', ''))}"
        assert row in seed_cq_negative, f"chongqing negative item {n}: number + source_name + route + remark are not one seed row"
        if item.get("remark"):
            _assert_in(item["remark"], seed_cq_negative, f"chongqing negative item {n} remark")


def test_chongqing_retained_traces_to_seed_004(chongqing, seed_cq_retained):
    fields = ("requesting_unit", "purpose", "basis", "method", "remark", "matters")
    for item in chongqing["retained"]:
        n = item["number"]
        for label, value in _item_text_fields(item, "chongqing retained", fields):
            _assert_in(value, seed_cq_retained, label)
        row = (f"{n}{squash(item['name'])}{squash(item['requesting_unit'])}{squash(item['purpose'])}"
               f"{''.join(squash(b) for b in item['basis'])}{squash(item['method'])}{squash(item['remark'])}")
        assert row in seed_cq_retained, f"chongqing retained item {n}: the fields are not one seed row, in column order"


# The seed's cells of a Chongqing retained entry, by the catalog field that holds each verbatim.
CQ_CELLS = {"事项名称": "name", "证明用途": "purpose", "依据": "basis", "备注": "remark"}


def test_chongqing_retained_matters_come_from_the_entrys_own_cells(chongqing, seed_cq_retained):
    """Chongqing's table has no 涉及办理事项名称 column (附件3 has): each retained entry's ``matters``
    is words of its own row, verbatim, in one of its cells (事项名称, 证明用途, 依据 or 备注, which the
    test above finds in the seed as one row), and its ``note`` names that cell."""
    for item in chongqing["retained"]:
        n = item["number"]
        matters = item.get("matters")
        _assert_in(matters, seed_cq_retained, f"chongqing retained item {n} matters")
        cells = [label for label, key in CQ_CELLS.items()
                 if any(squash(matters) in squash(v) for v in (item[key] if key == "basis" else [item[key]]))]
        assert cells, f"chongqing retained item {n}: matters {matters!r} is in none of its own cells"
        note = item.get("note", "")
        assert any(f"from the {label} cell" in note for label in cells), (
            f"chongqing retained item {n}: note does not say which cell matters comes from ({cells})")


def test_qinghai_traces_to_seed_001(qinghai, seed_qinghai_annex3):
    fields = ("name", "matters", "basis", "purpose", "requesting_unit")
    for item in qinghai["retained"]:
        for label, value in _item_text_fields(item, "qinghai retained", fields):
            _assert_in(value, seed_qinghai_annex3, label)
        row = (f"{item['label']}{squash(item['name'])}{squash(item['matters'])}"
               f"{''.join(squash(b) for b in item['basis'])}{squash(item['purpose'])}{squash(item['requesting_unit'])}")
        assert row in seed_qinghai_annex3, "qinghai retained item 1: the fields are not the seed's 示例 row, in column order"



def test_quoted_texts_and_workflow_rules_are_verbatim_in_the_seeds():
    """Every sentence a plugin quotes ([texts], [[workflow_rules]] text) appears in a seed."""
    import re

    from sealdesk.core.engine.plugins import default_registry

    if not SEEDS.exists():
        pytest.skip("seeds not present")
    squash = lambda s: re.sub(r"\s+", "", s).replace(",", "，").replace("(", "（").replace(")", "）")  # noqa: E731
    corpus = squash("".join(p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")))
    reg = default_registry()
    quotes = []
    for jd in reg.jurisdictions.values():
        quotes += [(f"{jd.id}.texts.{k}", v) for k, v in jd.texts.items()
                   if isinstance(v, str) and len(v) >= 15 and not k.endswith(("_citation", "_provision"))]
        quotes += [(r.id, r.text) for r in jd.workflow_rules]
    assert len(quotes) > 10
    missing = [(where, text) for where, text in quotes if squash(text) not in corpus]
    assert not missing, missing


# --------------------------------------------------------------------------- list titles

SEED_000 = "000_d306eea43c31afb6.txt"
SEED_003 = "003_bdd1d792283ca439.txt"
# plugin -> list -> (title, the seeds it is written in, the passage just before it there)
LIST_TITLES = {
    "national": {"negative": ("不应由基层群众性自治组织出具证明事项清单（第一批）", (SEED_000, SEED_001),
                              "现明确《")},
    "chongqing": {"negative": ("重庆市不应由基层群众性自治组织出具证明事项清单（第一批）", (SEED_004,), "附件：1."),
                  "retained": ("重庆市基层群众性自治组织依法出具证明事项清单", (SEED_004,), "2.")},
    "qinghai": {"retained": ("_____市（州）或_____部门拟保留基层群众性自治组织出具证明事项清单", (SEED_001,), "附件 3")},
    "anhui_luan": {"negative": ("不应由基层群众性自治组织出具证明事项及办事指南清单（第一批）", (SEED_003,), "附件1：")},
}


def _lists_table(plugin: str) -> dict:
    with open(PLUGINS / plugin / "jurisdiction.toml", "rb") as fh:
        return tomllib.load(fh).get("lists", {})


def test_list_titles_are_the_ones_the_seeds_give_with_their_source():
    """Each shipped list title is given, with a ``*_source`` naming its seed; no other plugin names one."""
    for plugin in sorted(p.name for p in PLUGINS.iterdir() if (p / "jurisdiction.toml").is_file()):
        table = _lists_table(plugin)
        titles = {lst: table[lst] for lst in ("negative", "retained") if lst in table}
        want = {lst: t[0] for lst, t in LIST_TITLES.get(plugin, {}).items()}
        assert titles == want, f"{plugin}: [lists] titles {titles}, expected {want}"
        for lst, (title, seeds, _before) in LIST_TITLES.get(plugin, {}).items():
            source = table.get(f"{lst}_source", "")
            assert any(f"seed {name[:3]}" in source for name in seeds), (
                f"{plugin}: {lst}_source {source!r} does not name seed {', '.join(n[:3] for n in seeds)}")


@pytest.mark.parametrize("plugin,lst", [(p, lst) for p, ls in LIST_TITLES.items() for lst in ls])
def test_list_titles_trace_to_the_seeds(plugin, lst):
    title, seeds, before = LIST_TITLES[plugin][lst]
    assert _lists_table(plugin)[lst] == title
    for name in seeds:
        text = _seed(name)
        _assert_in(title, text, f"{plugin} [lists] {lst} (seed {name[:3]})")
    # where the seed names the list as such (the attachment line, the sentence that issues it)
    assert any(squash(before) + squash(title) in _seed(name) for name in seeds), (
        f"{plugin} [lists] {lst}: {title!r} does not follow {before!r} in the seed")


def test_views_name_each_items_list(registry):
    """Chongqing's 21-30 and retained items are numbered in Chongqing's lists, its 1-20 (overriding
    the national items) in the national list, under the titles above."""
    import datetime as dt

    view = registry.view("chongqing", dt.date(2026, 1, 10))
    national = LIST_TITLES["national"]["negative"][0]
    for it in view.items:
        if it.list == "negative" and it.overrides:
            assert (it.list_jurisdiction, it.list_title, it.number) == ("national", national,
                                                                       int(it.overrides.rpartition(".")[2])), it.id
        else:
            assert (it.list_jurisdiction, it.list_title) == ("chongqing", LIST_TITLES["chongqing"][it.list][0]), it.id
