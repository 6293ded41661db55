"""Live name suggestions (core/engine/suggest.py) over the real jurisdictions' views."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from pypinyin import lazy_pinyin

from sealdesk.core.engine.plugins import default_registry
from sealdesk.core.engine.suggest import Suggester, Suggestion

JURISDICTIONS = ("national", "jilin", "qinghai", "shaanxi", "anhui-luan", "chongqing", "chongqing-yubei")
TODAY = dt.date.today()


def view(jid: str):
    return default_registry().view(jid, TODAY)


@pytest.fixture(scope="module")
def national() -> Suggester:
    s = Suggester(view("national"))
    s.load_pinyin()
    return s


@pytest.fixture(scope="module")
def chongqing() -> Suggester:
    s = Suggester(view("chongqing"))
    s.load_pinyin()
    return s


def initials(name: str) -> str:
    """Written independently of the module: first letter of each syllable, punctuation skipped."""
    return "".join(s[0].lower() for s in lazy_pinyin(name) if s[0].isascii() and s[0].isalpha())


def full_pinyin(name: str) -> str:
    return "".join(c for s in lazy_pinyin(name) for c in s.lower() if c.isascii() and c.isalpha())


@pytest.mark.parametrize("query, how", [("wfzjl", "拼音首字母"), ("wufanzui", "全拼"), ("无犯罪", "汉字"),
                                        ("ＷＦＺＪＬ", "拼音首字母"), (" wu fan zui ", "全拼")])
def test_no_criminal_record_first(national, query, how):
    got = national.suggest(query)
    assert got[0].item.name == "无犯罪记录证明"
    assert (got[0].matched, got[0].kind, got[0].how) == ("无犯罪记录证明", "name", how)
    assert got[0].label == "无犯罪记录证明 · 负面清单第5项"


def test_legacy_name_in_chongqing(chongqing):
    got = chongqing.suggest("户口注销证明")
    first = got[0]
    assert first.item.id == "chongqing.negative.2"
    assert first.item.name == "居民身份信息证明"
    assert "户口注销证明" in first.item.legacy_names
    assert (first.matched, first.kind, first.how) == ("户口注销证明", "legacy", "汉字")
    assert first.label == "户口注销证明 → 居民身份信息证明 · 负面清单第2项"
    # the same legacy name typed as initials
    first = chongqing.suggest("hkzxzm")[0]
    assert (first.item.id, first.matched, first.kind, first.how) == (
        "chongqing.negative.2", "户口注销证明", "legacy", "拼音首字母")


def test_alias_and_alternation(chongqing):
    first = chongqing.suggest("户籍证明")[0]
    assert (first.item.id, first.kind) == ("chongqing.negative.2", "alias")
    # 结(离)婚证遗失补办证明 stands for 结婚证… and 离婚证…: both forms find it
    for q in ("结婚证遗失", "离婚证", "jhzys", "lihunzheng"):
        got = chongqing.suggest(q)
        assert got[0].item.id == "chongqing.negative.20", q
        assert (got[0].matched, got[0].kind) == ("结(离)婚证遗失补办证明", "legacy"), q
    # 结婚证遗失 also resolves, suffix left off, as the resident word 结婚证遗失证明: that puts the item
    # first, but the clerk typing the list's name is shown the list's name; typed in full, the word
    assert chongqing._view.index.lookup("结婚证遗失").kind == "word"
    first = chongqing.suggest("结婚证遗失证明")[0]
    assert (first.item.id, first.matched, first.kind) == ("chongqing.negative.20", "结婚证遗失证明", "word")


@pytest.mark.parametrize("query, how", [("单身", "汉字"), ("单身证明", "汉字"), ("dszm", "拼音首字母"),
                                        ("danshen", "全拼")])
def test_resident_word_is_suggested_with_the_item_it_means(national, query, how):
    first = national.suggest(query)[0]
    assert (first.item.id, first.matched, first.kind, first.how) == ("national.negative.8", "单身证明", "word", how)
    assert first.label == "单身证明 → 婚姻状况证明 · 负面清单第8项"
    # what goes into the name field decides as that item, by that word
    res = national._view.index.lookup(first.matched)
    assert (res.item, res.kind) == (first.item, "word")


def test_words_rank_after_names_of_the_same_tier(chongqing):
    # "w": 无犯罪记录证明 (a name) before 未婚证明, 无业人员证明… (words), all prefixes of the initials
    got = chongqing.suggest("w", limit=10)
    assert (got[0].matched, got[0].kind) == ("无犯罪记录证明", "name")
    assert "word" in {s.kind for s in got}
    tiers = {}
    for s in chongqing.suggest("zm", limit=200):
        tier = 0 if initials(s.matched).startswith("zm") else 1
        tiers.setdefault(tier, []).append(s.kind)
    assert "word" in tiers[1]
    for ks in tiers.values():  # within a tier: every name, alias and legacy name before any word
        assert ks == sorted(ks, key=lambda k: k == "word"), ks


def test_an_ambiguous_word_is_offered_under_each_of_its_items(national):
    got = national.suggest("关系证明", limit=10)
    mine = [s for s in got if s.matched == "关系证明"]
    assert {s.item.id for s in mine} == {"national.negative.1", "national.negative.8"}
    assert all(s.kind == "word" for s in mine)
    assert national._view.index.lookup("关系证明").ambiguous  # deciding it asks which one


def test_lookup_hit_comes_first(national):
    # the source's verbatim name resolves by lookup though it is no name, alias or legacy name
    got = national.suggest("居民身份证件信息证明（户籍证明）")
    assert got[0].item.id == "national.negative.2"
    assert got[0].kind in ("name", "alias", "legacy")
    # suffix left off: still the exact match, above substring matches
    assert national.suggest("死亡")[0].item.name == "死亡证明"


def test_ranking(chongqing):
    # exact over prefix over substring
    names = [s.item.name for s in chongqing.suggest("出生证明", limit=10)]
    assert names[0] == "出生证明"
    # canonical name ranks above an alias or legacy name at the same tier
    got = chongqing.suggest("w", limit=10)
    assert got[0].item.name == "无犯罪记录证明" and got[0].kind == "name"
    # prefix of the initials ranks above a substring of them
    tiers = ["prefix" if initials(s.matched).startswith("zm") else "inside" for s in chongqing.suggest("zm", limit=40)]
    assert tiers == sorted(tiers, key=lambda t: t != "prefix")


def test_one_suggestion_per_item_and_limit(chongqing):
    for q in ("证明", "zm", "z", "居民", "收入", "sr", "房"):
        for limit in (1, 3, 6, 100):
            got = chongqing.suggest(q, limit=limit)
            ids = [s.item.id for s in got]
            assert len(ids) == len(set(ids)), q
            assert len(got) <= limit
    # 公租房申请人就业和收入证明 is a legacy name of two items: each appears once
    ids = [s.item.id for s in chongqing.suggest("公租房申请人就业和收入证明")]
    assert set(ids) == {"chongqing.negative.15", "chongqing.negative.17"}
    assert chongqing.suggest("zm", limit=0) == []


@pytest.mark.parametrize("query", ["", " ", "\u3000\t\n", "的", "（）、", None])
def test_empty(national, query):
    assert national.suggest(query) == []


@pytest.mark.parametrize("query", [
    "[b]", "{x}", "[/]", "\x00\x1b[31m\x7f", "无犯罪\x00", "x" * 10_000, "无" * 10_000, " " * 10_000 + "无犯罪",
    "结(离)" * 2_000, "a(b)" * 40, "%s{0}\\", "\ud800", "🙂" * 50,
])
def test_hostile_input(chongqing, query):
    got = chongqing.suggest(query)  # must return (a hang is a failure by timeout), never raise
    assert all(isinstance(s, Suggestion) for s in got)


def test_pinyin_is_lazy():
    s = Suggester(view("national"))
    assert not s.pinyin_ready
    assert s.suggest("wfzjl") == []
    assert s.suggest("无犯罪")[0].item.name == "无犯罪记录证明"  # Chinese works before
    s.load_pinyin()
    assert s.pinyin_ready
    assert s.suggest("wfzjl")[0].item.name == "无犯罪记录证明"
    s.load_pinyin()  # idempotent
    assert s.pinyin_ready


def test_load_pinyin_in_another_thread():
    s = Suggester(view("chongqing"))
    errors = []
    loader = threading.Thread(target=s.load_pinyin)
    loader.start()
    while loader.is_alive():
        try:
            s.suggest("wfzjl")
            s.suggest("无犯罪")
        except Exception as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)
    loader.join()
    assert not errors
    assert s.suggest("wfzjl")[0].item.name == "无犯罪记录证明"


@pytest.mark.parametrize("jid", JURISDICTIONS)
def test_every_item_found_by_its_own_names(jid):
    v = view(jid)
    s = Suggester(v)
    s.load_pinyin()
    assert v.items
    for item in v.items:
        by_initials = s.suggest(initials(item.name))
        assert item in [g.item for g in by_initials], (item.name, initials(item.name))
        assert s.suggest(full_pinyin(item.name))[0].item == item, item.name
        first = s.suggest(item.name)[0]
        assert (first.item, first.matched, first.kind) == (item, item.name, "name")
        for name in (*item.aliases, *item.legacy_names):
            assert item in [g.item for g in s.suggest(name)], name
            assert item in [g.item for g in s.suggest(initials(name))], name
    for _key, word, items in v.index.words():  # and by every resident word in force, in 汉字 and pinyin
        for item in items:
            assert item in [g.item for g in s.suggest(word.name, limit=20)], word.name
            assert item in [g.item for g in s.suggest(full_pinyin(word.name), limit=20)], word.name


def test_warm_pinyin_covers_every_resident_word(monkeypatch, tmp_path):
    from sealdesk.core.engine import suggest as mod
    from sealdesk.core.engine.plugins import default_registry

    monkeypatch.setattr(mod, "_cache_file", lambda: tmp_path / "pinyin.json")
    reg = default_registry()
    mod.warm_pinyin(reg)
    import json

    cached = json.loads((tmp_path / "pinyin.json").read_text(encoding="utf-8"))
    words = {w.name for j in reg.jurisdictions.values() for w in j.vocabulary.words}
    assert words and words <= set(cached)
    assert cached["单身证明"] == ["dszm", "danshenzhengming"]


def test_a_query_full_of_alternations_is_decided_at_once():
    # 结(离)婚证-style groups expand to 2**n variants; a typed query with many must not hang the desk.
    from sealdesk.core.engine.names import variants

    query = "结(离)" * 30
    assert variants(query) == (query,)
    assert len(variants("结(离)婚证遗失补办证明")) == 2
