"""The font chain for papers: rare characters in names are covered, and what cannot print is named."""

from __future__ import annotations

import pytest

from sealdesk.core.papers import fonts

pytestmark = pytest.mark.skipif(not fonts.CHAIN[0].present,
                                reason="fonts-noto-cjk is not installed (bash scripts/setup installs it)")

RARE = "䶮𠮷㛃堃喆"


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SEALDESK_CACHE", str(tmp_path / "cache"))
    fonts._coverage.clear()


def test_rare_name_characters_are_covered_by_the_chain():
    chain = fonts.chain()
    assert fonts.missing("王" + RARE + "，身份证号 11010519491231002X", chain) == []
    fonts.check("阿依古丽·买买提" + RARE, chain)


def test_a_character_beyond_every_font_is_named_with_its_code_point():
    chain = fonts.chain()
    beyond = "\U000323af"  # CJK Extension H, newer than the fonts Debian ships
    assert fonts.missing("张" + beyond + "三", chain) == [beyond]
    with pytest.raises(fonts.FontError, match=r"U\+323AF"):
        fonts.check("张" + beyond, chain)


def test_fallback_fonts_are_loaded_only_for_characters_that_need_them():
    chain = fonts.chain()
    assert [f.name for f in fonts.needed("社区居民委员会证明", chain)] == ["NotoSerifSC"]
    if len(chain) > 1:
        ext_b_not_in_noto = next((chr(cp) for cp in range(0x20000, 0x2A6E0)
                                  if cp not in fonts.coverage(chain[0]) and cp in fonts.coverage(chain[1])), None)
        assert ext_b_not_in_noto is not None
        assert [f.name for f in fonts.needed("王" + ext_b_not_in_noto, chain)][:2] == ["NotoSerifSC", chain[1].name]


def test_coverage_is_cached_on_disk(tmp_path):
    chain = fonts.chain()
    first = fonts.coverage(chain[0])
    assert (tmp_path / "cache" / "font-coverage.json").exists()
    fonts._coverage.clear()
    assert fonts.coverage(chain[0]) == first


def test_a_configured_official_font_that_is_missing_is_a_clear_error(tmp_path):
    with pytest.raises(fonts.FontError, match="不存在"):
        fonts.chain(str(tmp_path / "simfang.ttf"))
