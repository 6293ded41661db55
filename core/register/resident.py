"""The resident in a request: name and ID number, validated and masked.

ID numbers are the 18-character citizen identity numbers of GB 11643-1999: a
6-digit region code, the date of birth, a 3-digit sequence and an ISO 7064
MOD 11-2 check character. The register stores the full number (DOMAIN.md
section 8: "stored for verification"); everything shown or exported carries the
masked form, which hides the date of birth and the sequence.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
# First two digits: provinces, autonomous regions and municipalities (GB/T 2260), plus
# 71 Taiwan, 81 Hong Kong, 82 Macao and 83 (residence permits for Taiwan residents).
_PROVINCES = frozenset({
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
    50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
})

NAME_MAX = 40
TEXT_MAX = 200
REASON_MAX = 500


class InvalidInput(ValueError):
    """A value a clerk typed that cannot be recorded; the message is Chinese and shown as is."""


def check_digit(first17: str) -> str:
    return _CHECK[sum(int(c) * w for c, w in zip(first17, _WEIGHTS)) % 11]


def validate_id(text: str, today: dt.date | None = None) -> str:
    """Return the normalised ID number (upper-case X) or raise InvalidInput saying what is wrong."""
    if not isinstance(text, str):
        raise InvalidInput("身份证号码应为文字")
    s = unicodedata.normalize("NFKC", text).strip().upper()  # full-width digits typed on Chinese IMEs
    if not s:
        raise InvalidInput("请填写居民身份证号码")
    if len(s) != 18:
        raise InvalidInput(f"身份证号码应为18位，现为{len(s)}位")
    if not s[:17].isascii() or not s[:17].isdigit() or not (s[17].isdigit() or s[17] == "X"):
        raise InvalidInput("身份证号码前17位应为数字，最后一位为数字或X")
    if int(s[:2]) not in _PROVINCES:
        raise InvalidInput(f"身份证号码的地区码 {s[:2]} 不存在")
    try:
        born = dt.date(int(s[6:10]), int(s[10:12]), int(s[12:14]))
    except ValueError:
        raise InvalidInput(f"身份证号码中的出生日期 {s[6:14]} 不存在") from None
    today = today or dt.date.today()
    if born > today or born.year < 1900:
        raise InvalidInput(f"身份证号码中的出生日期 {born.isoformat()} 不合理")
    expected = check_digit(s[:17])
    if s[17] != expected:
        raise InvalidInput("身份证号码校验位错误，请核对（可能有数字输错）")
    return s


def mask_id(number: str) -> str:
    """``110101********0012``: region kept, date of birth and sequence hidden, last four kept."""
    if not number:
        return ""
    if len(number) != 18:
        return "*" * len(number)
    return number[:6] + "*" * 8 + number[14:]


def _strip_controls(s: str) -> str:
    # Control and format characters (Cc, Cf: NUL, ESC, bidi overrides…) never reach the register
    # or a terminal; line breaks become spaces.
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if ch in "\r\n\t\u2028\u2029":
            out.append(" ")
        elif cat in ("Cc", "Cf", "Cs", "Co", "Cn"):
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def clean_text(value, label: str, limit: int = TEXT_MAX, required: bool = False) -> str:
    """Free text typed by a clerk: stripped of control characters, bounded, optionally required."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidInput(f"{label}应为文字")
    s = _strip_controls(unicodedata.normalize("NFC", value))
    if required and not s:
        raise InvalidInput(f"请填写{label}")
    if len(s) > limit:
        raise InvalidInput(f"{label}过长（{len(s)}字，最多{limit}字）")
    return s


def validate_name(value) -> str:
    """A person's name: any script (rare CJK characters included), 1–40 characters, no digits."""
    s = clean_text(value, "居民姓名", NAME_MAX, required=True)
    if any(ch.isdigit() for ch in s):
        raise InvalidInput("居民姓名不应包含数字")
    if not any(ch.isalpha() for ch in s):
        raise InvalidInput("居民姓名应包含文字")
    bad = [ch for ch in s if not (ch.isalpha() or ch in " ·•・.-'" or unicodedata.category(ch) == "Mn")]
    if bad:
        raise InvalidInput(f"居民姓名含有不允许的字符：{''.join(dict.fromkeys(bad))}")
    return s
