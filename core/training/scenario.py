"""Scenarios: trainers' scripted cases, a sequence of residents' requests with the expected outcome.

A scenario is a TOML file. Shipped ones live beside each plugin in ``scenarios/*.toml`` (so a
third-party plugin ships its own the same way); a trainer can also pass any file's path::

    title = "全国基线：公安的证明和公证的例外"
    jurisdiction = "national"
    on = 2026-01-10                  # optional: the decision date (e.g. before a document lapsed)
    description = "……"               # optional

    [[case]]
    query = "无犯罪记录证明"          # what the resident asked for, in their words
    purpose = "应聘"                 # optional
    requester = "某公司"             # optional
    facts = { verifiable = true }    # optional: circumstances already established
    expect = "refuse"                # the outcome (DOMAIN.md section 5), not "ask"
    note = "……"                      # the teaching note, with its citation

Every problem is reported as ``file:line: 问题`` (in Chinese: trainers write these files).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from sealdesk.core.common.datafile import DataError, DataFile
from sealdesk.core.engine.model import OUTCOME_LABELS, Facts, Outcome, Request

TOP_KEYS = {"title", "jurisdiction", "on", "description", "case"}
CASE_KEYS = {"query", "purpose", "requester", "facts", "expect", "note"}
EXPECTABLE = {o.value for o in Outcome if o is not Outcome.ASK}


class ScenarioError(DataError):
    """A scenario file cannot be used; ``str()`` is ``file:line: 问题``."""


@dataclass(frozen=True)
class Case:
    query: str
    expect: str
    purpose: str = ""
    requester: str = ""
    facts: dict = field(default_factory=dict)
    note: str = ""
    line: int | None = None

    def request(self) -> Request:
        return Request(self.query, self.purpose, self.requester, Facts(dict(self.facts)))

    @property
    def expect_label(self) -> str:
        return OUTCOME_LABELS[Outcome(self.expect)]


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    jurisdiction: str
    cases: tuple[Case, ...]
    on: dt.date | None = None
    description: str = ""
    path: Path | None = None

    def view(self, registry, today: dt.date | None = None):
        """The rules its cases are decided by: on its date ``on``, else today."""
        return registry.view(self.jurisdiction, self.on or today or dt.date.today())


# -- reading --------------------------------------------------------------------------------
def _str(f: DataFile, table: dict, key: str, where: str, line: int | None, required: bool = False) -> str:
    v = table.get(key)
    if v is None:
        if required:
            raise ScenarioError(f.path, line, f"{where}缺少必填项 {key}")
        return ""
    if not isinstance(v, str):
        raise ScenarioError(f.path, f.key_line(key, line), f"{where}{key} 应为字符串（用引号括起），而不是 {v!r}")
    if required and not v.strip():
        raise ScenarioError(f.path, f.key_line(key, line), f"{where}{key} 不能为空")
    return v.strip()


def _unknown(f: DataFile, table: dict, allowed: set[str], where: str, line: int | None) -> None:
    extra = sorted(set(table) - allowed)
    if extra:
        raise ScenarioError(f.path, f.key_line(extra[0], line),
                            f"{where}未知字段 {extra[0]}（可用：{'、'.join(sorted(allowed))}）")


def load_scenario(path: str | Path, registry=None) -> Scenario:
    """Read and check one scenario file. With a registry, the jurisdiction and the fact names
    are checked against what is installed."""
    path = Path(path)
    try:
        f = DataFile(path)
    except DataError as exc:
        raise ScenarioError(exc.path, exc.line, exc.problem.replace("cannot read", "无法读取")
                            .replace("malformed TOML", "TOML 格式错误")) from None
    data = f.data
    _unknown(f, data, TOP_KEYS, "", None)
    title = _str(f, data, "title", "", None, required=True)
    jid = _str(f, data, "jurisdiction", "", f.key_line("jurisdiction") if "jurisdiction" in data else None,
               required=True)
    if registry is not None and jid not in registry.jurisdictions:
        raise ScenarioError(f.path, f.key_line("jurisdiction"),
                            f"未知辖区 {jid!r}（已安装：{', '.join(registry.ids())}）")
    on = data.get("on")
    if on is not None:
        if isinstance(on, dt.datetime):
            on = on.date()
        elif isinstance(on, str):
            try:
                on = dt.date.fromisoformat(on)
            except ValueError:
                pass
        if not isinstance(on, dt.date):
            raise ScenarioError(f.path, f.key_line("on"), f"on 应为日期，例如 2026-01-10，而不是 {data['on']!r}")
    description = _str(f, data, "description", "", None)
    raw = data.get("case")
    if not isinstance(raw, list) or not raw or not all(isinstance(c, dict) for c in raw):
        raise ScenarioError(f.path, f.key_line("case") if "case" in data else None,
                            "至少需要一个 [[case]]（一个居民的申请）")
    known_facts = registry.facts if registry is not None else None
    cases = []
    for i, table in enumerate(raw):
        line = f.header_line("case", i)
        where = f"第 {i + 1} 个 [[case]]："
        _unknown(f, table, CASE_KEYS, where, line)
        query = _str(f, table, "query", where, line, required=True)
        expect = _str(f, table, "expect", where, line, required=True)
        if expect not in EXPECTABLE:
            raise ScenarioError(f.path, f.key_line("expect", line),
                                f"{where}expect 应为 {'、'.join(sorted(EXPECTABLE))} 之一，而不是 {expect!r}")
        facts = table.get("facts", {})
        if not isinstance(facts, dict):
            raise ScenarioError(f.path, f.key_line("facts", line),
                                f"{where}facts 应为表，例如 {{ verifiable = true }}")
        for k, v in facts.items():
            if known_facts is not None and k not in known_facts:
                raise ScenarioError(f.path, f.key_line("facts", line),
                                    f"{where}未知情形 {k!r}（可用：{', '.join(sorted(known_facts))}）")
            if not isinstance(v, bool):
                raise ScenarioError(f.path, f.key_line("facts", line), f"{where}情形 {k} 应为 true 或 false")
        cases.append(Case(query, expect, _str(f, table, "purpose", where, line),
                          _str(f, table, "requester", where, line), dict(facts),
                          _str(f, table, "note", where, line), line))
    return Scenario(path.stem, title, jid, tuple(cases), on, description, path)


# -- finding --------------------------------------------------------------------------------
def scenario_dirs(registry) -> list[Path]:
    """``scenarios/`` beside every registered plugin's module, in plugin order."""
    dirs = []
    for _name, module in sorted(registry.pm.list_name_plugin(), key=lambda np: (np[0] != "national", np[0])):
        file = getattr(module, "__file__", None)
        if file:
            d = Path(file).parent / "scenarios"
            if d.is_dir():
                dirs.append(d)
    return dirs


def shipped(registry) -> list[Path]:
    return [p for d in scenario_dirs(registry) for p in sorted(d.glob("*.toml"))]


def find_scenario(registry, name: str) -> Scenario:
    """A shipped scenario by id (its file name without .toml), or a file by path."""
    p = Path(name)
    if p.suffix == ".toml" or p.exists():
        if not p.exists():
            raise ScenarioError(p, None, "文件不存在")
        return load_scenario(p, registry)
    for path in shipped(registry):
        if path.stem == name:
            return load_scenario(path, registry)
    known = ", ".join(p.stem for p in shipped(registry))
    raise ScenarioError(name, None, f"没有这个演示案例（可选：{known}）")


# -- checking and saving ----------------------------------------------------------------------
def mismatches(registry, scenario: Scenario) -> list[str]:
    """Cases whose decision today (or on the scenario's date) is not the one expected."""
    from sealdesk.core.engine.protocol import decide

    view = scenario.view(registry)
    out = []
    for i, case in enumerate(scenario.cases, 1):
        d = decide(view, case.request())
        if d.outcome.value != case.expect:
            where = f"{scenario.path}:{case.line}" if scenario.path else scenario.id
            out.append(f"{where}: 第 {i} 个案例 {case.query}：预期 {case.expect_label}，"
                       f"实际 {OUTCOME_LABELS[d.outcome]}")
    return out


def scenario_document(scenario: Scenario) -> dict:
    doc: dict = {"title": scenario.title, "jurisdiction": scenario.jurisdiction}
    if scenario.on:
        doc["on"] = scenario.on
    if scenario.description:
        doc["description"] = scenario.description
    cases = []
    for c in scenario.cases:
        t: dict = {"query": c.query}
        if c.purpose:
            t["purpose"] = c.purpose
        if c.requester:
            t["requester"] = c.requester
        if c.facts:
            t["facts"] = dict(c.facts)
        t["expect"] = c.expect
        t["note"] = c.note
        cases.append(t)
    doc["case"] = cases
    return doc


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write a scenario file (tomli-w) that :func:`load_scenario` reads back; never overwrites."""
    import tomli_w

    path = Path(path)
    if path.suffix != ".toml":
        path = path.with_suffix(".toml")
    with open(path, "xb") as fh:  # "x": a trainer's existing file is never replaced
        fh.write(b"# sealdesk demo scenario; see core/training/scenario.py for the format\n")
        tomli_w.dump(scenario_document(scenario), fh)
    return path
