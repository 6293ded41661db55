"""Sample residents for demos: fictitious people with well-formed ID numbers.

Recording a request at the demo counter needs a resident's name and an ID number that passes
GB 11643's check (``core/register/resident.py``). A trainer should not type a real person's
number into a demo, nor stop to invent one, so the demo counter (F8) fills in a sample resident:
the scenario's own (``[[resident]]`` tables, read by ``scenario.py``) or, when it lists none, the
built-in set below.

The built-in residents are generated, not typed: a fixed name, a real area code (GB/T 2260) of
one of the shipped jurisdictions, a birth date and a sequence number, and the check character
computed by the register's own :func:`check_digit`; every number is then put through
:func:`validate_id`, so a number that would not be accepted at the counter cannot be shipped.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sealdesk.core.register.resident import check_digit, mask_id, validate_id, validate_name


@dataclass(frozen=True)
class SampleResident:
    name: str
    id: str  # the full number: a sample is fictitious; shown masked (``masked``), as every ID number is
    note: str = ""
    line: int | None = None  # in its scenario file; None for the built-in ones

    @property
    def masked(self) -> str:
        return mask_id(self.id)


# (name, area code, where, birth date, sequence): the sequence's last digit is odd for a man and
# even for a woman, as in GB 11643. The names say "示例" so that nobody takes them for a resident.
_SEEDS = (
    ("张示例", "110101", "北京市东城区", dt.date(1956, 3, 12), 123),
    ("李示例", "220102", "吉林省长春市南关区", dt.date(1962, 7, 28), 246),
    ("王示例", "630102", "青海省西宁市城东区", dt.date(1975, 11, 5), 317),
    ("赵示例", "610102", "陕西省西安市新城区", dt.date(1983, 1, 19), 428),
    ("陈示例", "341502", "安徽省六安市金安区", dt.date(1990, 9, 30), 535),
    ("刘示例", "500112", "重庆市渝北区", dt.date(2001, 4, 16), 664),
)


def sample_id(area: str, born: dt.date, sequence: int) -> str:
    """An 18-character ID number for ``area``, ``born`` and ``sequence``, its check character computed."""
    first17 = f"{area}{born:%Y%m%d}{sequence:03d}"
    return validate_id(first17 + check_digit(first17))


def _built_in() -> tuple[SampleResident, ...]:
    out = []
    for name, area, where, born, seq in _SEEDS:
        sex = "男" if seq % 2 else "女"
        out.append(SampleResident(validate_name(name), sample_id(area, born, seq),
                                  f"虚构的示例居民：{sex}，{born.year} 年生，{where}"))
    return tuple(out)


BUILT_IN: tuple[SampleResident, ...] = _built_in()


def sample_residents(scenario=None) -> tuple[SampleResident, ...]:
    """The scenario's own sample residents, else the built-in ones."""
    return (scenario.residents if scenario is not None else ()) or BUILT_IN
