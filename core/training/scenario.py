"""Scenarios: trainers' scripted cases, a sequence of residents' requests with what the counter
must decide for each — the outcome and, where the case teaches them, the list item and the route.

A scenario is a TOML file. Shipped ones live beside each plugin in ``scenarios/*.toml`` (so a
third-party plugin ships its own the same way); a trainer can also pass any file's path. The
format, every key with an example, is docs/plugins.md, section "Scenarios"; in short::

    title = "全国基线：公安的证明和公证的例外"
    jurisdiction = "national"
    on = 2026-01-10                  # optional: the decision date of every case
    description = "……"               # optional

    [[case]]
    query = "无犯罪记录证明"          # what the resident asked for, in their words
    purpose = "应聘"                 # optional
    requester = "某公司"             # optional
    facts = { verifiable = true }    # optional: circumstances already established
    expect = "refuse"                # the outcome, ask included
    item = "national.negative.5"     # optional: the item decided (id, listed name, or "unlisted")
    route = "公安"                   # optional: a fragment of the route the refusal gives
    jurisdiction = "qinghai"         # optional: this case's own jurisdiction
    on = 2026-09-01                  # optional: this case's own date
    note = "……"                      # the teaching note, with its citation

    [[resident]]                     # optional: fictitious sample residents for the demo counter (F8)
    name = "张示例"
    id = "110101195603121232"        # checked as the counter checks it, GB 11643 check character included
    note = "……"                      # optional

A case is checked on everything it states, not only the outcome: a note that teaches an item's
route is worth nothing if the name is decided as an unlisted item, so ``item`` and ``route``
say what the note teaches and ``sealdesk scenarios --check`` and ``sealdesk plugin check``
hold the engine to it. The quiz (``sealdesk train``) reads the same cases.

Every problem is reported as ``file:line: 问题`` (in Chinese: trainers write these files);
:class:`CaseResult` also renders in English for ``plugin check``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

from sealdesk.core.common.datafile import DataError, DataFile
from sealdesk.core.engine.model import OUTCOME_LABELS, Facts, Outcome, Request
from sealdesk.core.training.residents import SampleResident

TOP_KEYS = {"title", "jurisdiction", "on", "description", "case", "resident"}
CASE_KEYS = {"query", "purpose", "requester", "facts", "expect", "note", "jurisdiction", "on", "item", "route"}
EXPECTABLE = tuple(o.value for o in Outcome)  # ask too: a case may teach that the clerk must ask first
UNLISTED = "unlisted"  # item = "unlisted": the name is decided as an item of no list
RESIDENT_KEYS = {"name", "id", "note"}  # [[resident]]: a fictitious sample resident for the demo counter (F8)
ITEM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*\.(?:negative|retained)\.\d+$")


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
    jurisdiction: str = ""  # "": the scenario's
    on: dt.date | None = None  # None: the scenario's date
    item: str = ""  # "": not asserted; an item id, a listed name, or UNLISTED
    route: str = ""  # "": not asserted; else a fragment of the decision's route

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
    residents: tuple[SampleResident, ...] = ()  # [[resident]]; none: the built-in samples

    def view(self, registry, today: dt.date | None = None):
        """The rules its cases are decided by: on its date ``on``, else today."""
        return registry.view(self.jurisdiction, self.on or today or dt.date.today())

    def jurisdiction_of(self, case: Case) -> str:
        return case.jurisdiction or self.jurisdiction

    def date_of(self, case: Case, today: dt.date | None = None) -> dt.date:
        return case.on or self.on or today or dt.date.today()

    def case_view(self, registry, case: Case, today: dt.date | None = None):
        """The rules one case is decided by: its own jurisdiction and date where it gives them."""
        return registry.view(self.jurisdiction_of(case), self.date_of(case, today))


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


def _date(f: DataFile, table: dict, where: str, line: int | None) -> dt.date | None:
    on = table.get("on")
    if on is None:
        return None
    if isinstance(on, dt.datetime):
        return on.date()
    if isinstance(on, str):
        try:
            return dt.date.fromisoformat(on)
        except ValueError:
            pass
    if not isinstance(on, dt.date):
        raise ScenarioError(f.path, f.key_line("on", line), f"{where}on 应为日期，例如 2026-01-10，而不是 {on!r}")
    return on


def _near(word: str, choices, n: int = 3) -> list[str]:
    return difflib.get_close_matches(word, sorted(set(choices)), n=n, cutoff=0.6)


def _hint(near: list[str]) -> str:
    return f"；是否指 {'、'.join(near)}？" if near else ""


def _check_jurisdiction(f: DataFile, registry, jid: str, where: str, line: int | None) -> None:
    """The jurisdiction must be installed and usable; an unknown one is quoted as written, with near ids."""
    from sealdesk.core.engine.plugins import BrokenJurisdiction, UnknownJurisdiction

    try:
        registry.get(jid)
    except UnknownJurisdiction:
        raise ScenarioError(f.path, line, f"{where}未知辖区“{jid}”{_hint(_near(jid, registry.jurisdictions))}"
                            f"（已安装：{', '.join(registry.ids())}）") from None
    except BrokenJurisdiction as exc:
        raise ScenarioError(f.path, line, f"{where}辖区“{jid}”无法使用：{_reason(exc)}") from None


def _reason(exc: Exception) -> str:
    return str(getattr(exc, "reason", "") or exc or type(exc).__name__)


def chain_items(registry, jid: str) -> list:
    """Every item of ``jid`` and its ancestors, whatever the date (a case may be dated)."""
    return [it for j in registry.chain_ids(jid) for it in registry.jurisdictions[j].items]


def _item_names(it) -> tuple[str, ...]:
    return tuple(n for n in (*it.names, it.source_name) if n)


def _check_item(f: DataFile, registry, value: str, jid: str, where: str, line: int | None) -> None:
    """``item`` names an item of the case's chain by id or listed name; else say which ids are near."""
    from sealdesk.core.engine.names import name_key

    if value == UNLISTED:
        return
    items = chain_items(registry, jid)
    if ITEM_ID.match(value):
        if any(it.id == value for it in items):
            return
        near = _near(value, (it.id for it in items))
        by_id = {it.id: it for it in items}
        shown = [f"{i}（{by_id[i].name}）" for i in near]
    else:
        key = name_key(value)
        if any(name_key(n) == key for it in items for n in _item_names(it)):
            return
        # near on the lookup keys (证明 and punctuation off), so the words that differ weigh
        owner = {name_key(n): it for it in items for n in _item_names(it)}
        near = _near(key, owner)
        shown = list(dict.fromkeys(f"{owner[k].id}（{owner[k].name}）" for k in near))
    raise ScenarioError(f.path, f.key_line("item", line),
                        f"{where}item“{value}”不是 {jid} 及其上级辖区清单上的事项编号或名称{_hint(shown)}"
                        f"（未列入清单的写 item = \"{UNLISTED}\"）")


def _residents(f: DataFile, data: dict) -> tuple[SampleResident, ...]:
    """``[[resident]]`` tables: fictitious sample residents, each name and ID number checked as the
    counter checks them (GB 11643 check character included)."""
    from sealdesk.core.register.resident import InvalidInput, validate_id, validate_name

    raw = data.get("resident", [])
    if not isinstance(raw, list) or not all(isinstance(r, dict) for r in raw):
        raise ScenarioError(f.path, f.key_line("resident"), "resident 应写成 [[resident]] 表，每位示例居民一个")
    out: list[SampleResident] = []
    for i, table in enumerate(raw):
        line = f.header_line("resident", i)
        where = f"第 {i + 1} 个 [[resident]]："
        _unknown(f, table, RESIDENT_KEYS, where, line)
        name = _str(f, table, "name", where, line, required=True)
        number = _str(f, table, "id", where, line, required=True)
        try:
            name = validate_name(name)
        except InvalidInput as exc:
            raise ScenarioError(f.path, f.key_line("name", line), f"{where}name {exc}") from None
        try:
            number = validate_id(number)
        except InvalidInput as exc:
            raise ScenarioError(f.path, f.key_line("id", line), f"{where}id {exc}") from None
        same = next((n for n, r in enumerate(out, 1) if r.id == number), None)
        if same is not None:
            raise ScenarioError(f.path, f.key_line("id", line), f"{where}id 与第 {same} 个 [[resident]] 的相同")
        out.append(SampleResident(name, number, _str(f, table, "note", where, line), line))
    return tuple(out)


def load_scenario(path: str | Path, registry=None) -> Scenario:
    """Read and check one scenario file. With a registry, the jurisdictions, items and fact names
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
    if registry is not None:
        _check_jurisdiction(f, registry, jid, "", f.key_line("jurisdiction"))
    on = _date(f, data, "", None)
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
                                f"{where}expect 应为 {'、'.join(EXPECTABLE)} 之一，而不是“{expect}”")
        facts = table.get("facts", {})
        if not isinstance(facts, dict):
            raise ScenarioError(f.path, f.key_line("facts", line),
                                f"{where}facts 应为表，例如 {{ verifiable = true }}")
        for k, v in facts.items():
            if known_facts is not None and k not in known_facts:
                raise ScenarioError(f.path, f.key_line("facts", line),
                                    f"{where}未知情形“{k}”{_hint(_near(k, known_facts))}"
                                    f"（可用：{', '.join(sorted(known_facts))}）")
            if not isinstance(v, bool):
                raise ScenarioError(f.path, f.key_line("facts", line), f"{where}情形 {k} 应为 true 或 false")
        case_jid = _str(f, table, "jurisdiction", where, line)
        if case_jid and registry is not None:
            _check_jurisdiction(f, registry, case_jid, where, f.key_line("jurisdiction", line))
        item = _str(f, table, "item", where, line)
        if item and registry is not None:
            _check_item(f, registry, item, case_jid or jid, where, line)
        if "route" in table and not _str(f, table, "route", where, line):
            raise ScenarioError(f.path, f.key_line("route", line), f"{where}route 不能为空（不核对办事途径就删去此项）")
        cases.append(Case(query, expect, _str(f, table, "purpose", where, line),
                          _str(f, table, "requester", where, line), dict(facts),
                          _str(f, table, "note", where, line), line, case_jid, _date(f, table, where, line),
                          item, _str(f, table, "route", where, line)))
    return Scenario(path.stem, title, jid, tuple(cases), on, description, path, residents=_residents(f, data))


# -- finding --------------------------------------------------------------------------------
def plugin_scenario_dir(module) -> Path | None:
    """``scenarios/`` beside a plugin's module, if it has one."""
    file = getattr(module, "__file__", None)
    if file:
        d = Path(file).parent / "scenarios"
        if d.is_dir():
            return d
    return None


def scenario_dirs(registry, plugins=None) -> list[Path]:
    """``scenarios/`` beside every registered plugin's module (or those of ``plugins``), in plugin order."""
    dirs = []
    for name, module in sorted(registry.pm.list_name_plugin(), key=lambda np: (np[0] != "national", np[0])):
        if plugins is not None and name not in plugins:
            continue
        d = plugin_scenario_dir(module)
        if d is not None:
            dirs.append(d)
    return dirs


def shipped(registry, plugins=None) -> list[Path]:
    return [p for d in scenario_dirs(registry, plugins) for p in sorted(d.glob("*.toml"))]


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
    known = [p.stem for p in shipped(registry)]
    raise ScenarioError(name, None, f"没有这个演示案例“{name}”{_hint(_near(name, known))}（可选：{', '.join(known)}）")


# -- checking ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Difference:
    """One thing a case states that the decision does not: in Chinese (``zh``) and English (``en``)."""

    what: str  # outcome | item | route | jurisdiction
    zh: str
    en: str


@dataclass(frozen=True)
class CaseResult:
    scenario: Scenario
    number: int  # 1-based, in its file
    case: Case
    jurisdiction: str
    on: dt.date
    decision: object | None  # a Decision; None when its jurisdiction cannot be used
    differences: tuple[Difference, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.differences

    @property
    def where(self) -> str:
        if self.scenario.path is None:
            return self.scenario.id
        return f"{self.scenario.path}:{self.case.line}" if self.case.line else str(self.scenario.path)

    def _own(self) -> tuple[str, ...]:
        """The case's own jurisdiction and date, when it sets them (the rest share the file's)."""
        c = self.case
        return tuple(x for x in (c.jurisdiction, c.on.isoformat() if c.on else "") if x)

    def text(self) -> str:
        """``file:line: 第 2 个案例 居住证明：预期 出具，实际 不予出具；…``"""
        own = f"（{'，'.join(self._own())}）" if self._own() else ""
        return f"{self.where}: 第 {self.number} 个案例 {self.case.query}{own}：" + "；".join(d.zh for d in self.differences)

    def text_en(self) -> str:
        """``case 2 '居住证明': expected issue, got refuse; …`` (without the file:line)."""
        own = f" ({', '.join(self._own())})" if self._own() else ""
        return f"case {self.number} '{self.case.query}'{own}: " + "; ".join(d.en for d in self.differences)


def _item_zh(it) -> str:
    return f"{it.id}（{it.name}）"


def _decided_item(d) -> tuple[str, str]:
    """What the decision settled on, in Chinese and English."""
    if d.item is not None:
        return _item_zh(d.item), f"{d.item.id} ({d.item.name})"
    if d.candidates:
        return ("待选：" + "、".join(_item_zh(c) for c in d.candidates),
                "a choice between " + ", ".join(f"{c.id} ({c.name})" for c in d.candidates))
    return "未列入清单事项", "an unlisted item"


def item_matches(expected: str, d) -> bool:
    """Whether decision ``d`` is about the item ``expected`` (id, listed name or ``unlisted``). For an
    ``ask`` between candidates, the item must be one of them."""
    from sealdesk.core.engine.names import name_key

    if expected == UNLISTED:
        return d.item is None and not d.candidates
    items = (d.item,) if d.item is not None else tuple(d.candidates)
    if ITEM_ID.match(expected):
        return any(it.id == expected for it in items)
    key = name_key(expected)
    return any(name_key(n) == key for it in items for n in _item_names(it))


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[:n] + "…"


def check_case(registry, scenario: Scenario, number: int, case: Case, today: dt.date | None = None) -> CaseResult:
    """Decide one case and compare everything it states: outcome, item, route."""
    from sealdesk.core.engine.plugins import BrokenJurisdiction, UnknownJurisdiction
    from sealdesk.core.engine.protocol import decide

    jid, on = scenario.jurisdiction_of(case), scenario.date_of(case, today)
    try:
        d = decide(registry.view(jid, on), case.request())
    except (BrokenJurisdiction, UnknownJurisdiction) as exc:
        why = _reason(exc) if isinstance(exc, BrokenJurisdiction) else "未安装"
        return CaseResult(scenario, number, case, jid, on, None, (
            Difference("jurisdiction", f"辖区 {jid} 无法使用：{why}", f"jurisdiction {jid} is not available: {why}"),))
    except Exception as exc:  # a plugin's rule that raises: reported on this case, the others still run
        why = f"{type(exc).__name__}: {exc}"
        return CaseResult(scenario, number, case, jid, on, None, (
            Difference("error", f"决定时出错：{why}", f"deciding raised {why}"),))
    diffs = []
    if d.outcome.value != case.expect:
        diffs.append(Difference("outcome", f"预期 {case.expect_label}，实际 {OUTCOME_LABELS[d.outcome]}",
                                f"expected {case.expect}, got {d.outcome.value}"))
    if case.item and not item_matches(case.item, d):
        zh, en = _decided_item(d)
        diffs.append(Difference("item", f"事项预期“{case.item}”，实际 {zh}", f"expected item '{case.item}', got {en}"))
    if case.route and case.route not in (d.route or ""):
        zh = f"“{_short(d.route)}”" if d.route else "无办事途径"
        en = f"'{_short(d.route)}'" if d.route else "no route"
        diffs.append(Difference("route", f"办事途径预期含“{case.route}”，实际 {zh}",
                                f"expected the route to contain '{case.route}', got {en}"))
    return CaseResult(scenario, number, case, jid, on, d, tuple(diffs))


def check_scenario(registry, scenario: Scenario, today: dt.date | None = None) -> list[CaseResult]:
    return [check_case(registry, scenario, n, c, today) for n, c in enumerate(scenario.cases, 1)]


@dataclass
class Report:
    """Scenario files checked together: every case's result and the files that did not load."""

    results: list[CaseResult] = field(default_factory=list)
    errors: list[ScenarioError] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return len(self.results)

    @property
    def as_expected(self) -> int:
        return sum(r.ok for r in self.results)

    @property
    def failed(self) -> list[CaseResult]:
        return [r for r in self.results if not r.ok]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.failed

    def summary(self) -> str:
        """「12 个案例，12 个符合预期」 (and the files that could not be read)."""
        tail = f"；{len(self.errors)} 个文件无法读取" if self.errors else ""
        return f"{self.cases} 个案例，{self.as_expected} 个符合预期{tail}"

    def summary_en(self) -> str:
        tail = f"; {len(self.errors)} file(s) do not load" if self.errors else ""
        return f"{self.cases} cases, {self.as_expected} as expected{tail}"


def check_files(registry, paths, today: dt.date | None = None) -> Report:
    """Load and check scenario files; a file that does not load is reported, the others still checked."""
    report = Report()
    for p in paths:
        try:
            sc = load_scenario(p, registry)
        except ScenarioError as exc:
            report.errors.append(exc)
            continue
        report.results += check_scenario(registry, sc, today)
    return report


def mismatches(registry, scenario: Scenario, today: dt.date | None = None) -> list[str]:
    """Cases whose decision is not what they state, as ``file:line: …`` lines in Chinese."""
    return [r.text() for r in check_scenario(registry, scenario, today) if not r.ok]


# -- saving -------------------------------------------------------------------------------------
def scenario_document(scenario: Scenario) -> dict:
    doc: dict = {"title": scenario.title, "jurisdiction": scenario.jurisdiction}
    if scenario.on:
        doc["on"] = scenario.on
    if scenario.description:
        doc["description"] = scenario.description
    cases = []
    for c in scenario.cases:
        t: dict = {"query": c.query}
        if c.jurisdiction:
            t["jurisdiction"] = c.jurisdiction
        if c.on:
            t["on"] = c.on
        if c.purpose:
            t["purpose"] = c.purpose
        if c.requester:
            t["requester"] = c.requester
        if c.facts:
            t["facts"] = dict(c.facts)
        t["expect"] = c.expect
        if c.item:
            t["item"] = c.item
        if c.route:
            t["route"] = c.route
        t["note"] = c.note
        cases.append(t)
    doc["case"] = cases
    if scenario.residents:
        doc["resident"] = [{"name": r.name, "id": r.id, **({"note": r.note} if r.note else {})}
                           for r in scenario.residents]
    return doc


def save_scenario(scenario: Scenario, path: str | Path) -> Path:
    """Write a scenario file (tomli-w) that :func:`load_scenario` reads back; never overwrites."""
    import tomli_w

    path = Path(path)
    if path.suffix != ".toml":
        path = path.with_suffix(".toml")
    with open(path, "xb") as fh:  # "x": a trainer's existing file is never replaced
        fh.write("# sealdesk 演示案例；格式见 sealdesk 的 docs/plugins.md（Scenarios 一节）\n".encode("utf-8"))
        tomli_w.dump(scenario_document(scenario), fh)
    return path
