"""Resident ID numbers (GB 11643 check digit, date of birth) and free text typed at the counter."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sealdesk.core.register.resident import (InvalidInput, check_digit, clean_text, mask_id, validate_id,
                                    validate_name)

from conftest import VALID_IDS


@pytest.mark.parametrize("number", VALID_IDS)
def test_valid_numbers_pass_and_are_normalised(number):
    assert validate_id(number) == number
    assert validate_id(" " + number.lower() + " ") == number


def test_full_width_digits_from_a_chinese_ime_are_accepted():
    full = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in VALID_IDS[1])
    assert validate_id(full) == VALID_IDS[1]


@pytest.mark.parametrize("bad, words", [
    ("11010519491231002", "18位"),
    ("110105194912310021", "校验位"),
    ("11010519491331002X", "出生日期"),  # month 13
    ("99010519491231002X", "地区码"),
    ("1101051949123100AX", "前17位"),
    ("", "请填写"),
])
def test_invalid_numbers_say_what_is_wrong_in_chinese(bad, words):
    with pytest.raises(InvalidInput, match=words):
        validate_id(bad)


def test_birth_date_in_the_future_is_refused():
    born = dt.date.today() + dt.timedelta(days=30)
    first17 = "110105" + born.strftime("%Y%m%d") + "001"
    with pytest.raises(InvalidInput, match="不合理"):
        validate_id(first17 + check_digit(first17))


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)),
       st.integers(0, 999), st.integers(0, 16), st.integers(1, 9))
def test_any_single_digit_error_is_caught(born, seq, pos, delta):
    first17 = "510105" + born.strftime("%Y%m%d") + f"{seq:03d}"
    good = first17 + check_digit(first17)
    assert validate_id(good) == good
    changed = good[:pos] + str((int(good[pos]) + delta) % 10) + good[pos + 1:]
    with pytest.raises(InvalidInput):
        validate_id(changed)


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31)), st.integers(0, 999))
def test_mask_hides_the_birth_date(born, seq):
    first17 = "510105" + born.strftime("%Y%m%d") + f"{seq:03d}"
    number = first17 + check_digit(first17)
    masked = mask_id(number)
    assert len(masked) == 18 and masked[:6] == number[:6] and masked[-4:] == number[-4:]
    assert born.strftime("%Y%m%d") not in masked


def test_names_keep_rare_characters_and_drop_control_characters():
    assert validate_name("王𠮷䶮") == "王𠮷䶮"
    assert validate_name("阿依古丽·买买提") == "阿依古丽·买买提"
    assert validate_name("张\x00\u200b\x1b三") == "张三"  # NUL, zero-width space, ESC


@pytest.mark.parametrize("bad, words", [("", "请填写"), ("张3", "数字"), ("王" * 41, "过长"), ("<b>", "不允许")])
def test_bad_names_are_refused(bad, words):
    with pytest.raises(InvalidInput, match=words):
        validate_name(bad)


def test_free_text_is_bounded_and_single_line():
    assert clean_text("学校\n要求\u202e的", "用途") == "学校 要求的"
    with pytest.raises(InvalidInput, match="过长"):
        clean_text("字" * 201, "用途")
