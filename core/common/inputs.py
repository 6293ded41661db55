"""User input shared by the command line and the register service: the one exception for input a
command cannot use (shown as one line, exit 2), the parsers of dates and facts, and ``printable``
(what of user data may be written to a terminal).

Below both (issue 13): the service must not import the CLI, which imports the service.
"""

from __future__ import annotations

import datetime as dt
import re

EXIT_BAD_INPUT = 2
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TRUE = {"true", "yes", "1", "是", "y"}
_FALSE = {"false", "no", "0", "否", "n"}


class BadInput(Exception):
    """User input the command cannot use; the message is shown as is."""


def parse_date(text: str) -> dt.date:
    if not isinstance(text, str) or not _DATE.match(text):
        raise BadInput(f"日期格式错误：{text!r}，应为 YYYY-MM-DD，例如 2026-01-10")
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"日期不存在：{text}") from None


def parse_fact(text: str, known) -> tuple[str, bool]:
    name, _, value = text.partition("=")
    name = name.strip()
    if name not in known:
        raise BadInput(f"未知情形（fact）：{name!r}；可用：{', '.join(sorted(known))}")
    if not value:
        return name, True
    v = value.strip().lower()
    if v in _TRUE:
        return name, True
    if v in _FALSE:
        return name, False
    raise BadInput(f"情形 {name} 的取值 {value!r} 无效，应为 true 或 false")


def facts_from_json(obj, known) -> dict[str, bool]:
    if obj is None:
        return {}
    if not isinstance(obj, dict):
        raise BadInput("facts 应为对象，例如 {\"verifiable\": true}")
    out = {}
    for k, v in obj.items():
        if k not in known:
            raise BadInput(f"未知情形（fact）：{k!r}")
        if not isinstance(v, bool):
            raise BadInput(f"情形 {k} 的取值应为 true 或 false，而不是 {v!r}")
        out[k] = v
    return out


# What must never reach a terminal from user data: C0 controls but tab and newline (ESC starts a
# terminal command, BEL rings, CR overwrites), DEL, C1 controls, and the bidirectional overrides and
# isolates that make a line read in another order (RLO).
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` without the characters that would act on a terminal instead of being shown."""
    return _UNPRINTABLE.sub("", text)
