"""The conformance suite: cross-plugin properties every jurisdiction must keep.

``check(registry, plugin=None)`` returns a list of :class:`Violation` in plain
words, each naming the jurisdiction, the offending item (or rule) and, where it
is known, the ``file:line`` of its entry in the plugin's TOML. It is what
``sealdesk plugin check`` runs and what a generated plugin's
``tests/test_conformance.py`` calls.

What is checked (hypothesis drives the random requests, derandomized, so a run
is repeatable and reports the smallest failing request it found):

* the plugin loads: malformed TOML, unknown fields, an item without a citation,
  a negative item without a route, a name claimed by two items, a rule that
  overrides without saying so... (the registry's load errors);
* placeholders of ``sealdesk plugin new`` (``TODO``) are replaced, and every
  ``[[seal_rules]]`` fact is a fact sealdesk knows;
* **national floor**: a request that the national baseline refuses for one of its
  negative items is not issued in a descendant unless the descendant's item says
  ``overrides`` or ``carves_out``, or its negative rule overrides the national one;
  a refusal of a negative item carries its route;
* **citations**: every decision cites an in-force policy document of its chain,
  and never a document of the chain that is not in force on the decision date;
* **names**: every name, alias and legacy name resolves to exactly its item;
* **seal facts**: asserting a fact of a seal rule never turns a refusal (or any
  outcome that does not issue) into an issue;
* **determinism**: deciding the same request twice gives the same decision;
* **questions**: only required facts are asked, never one already answered, and
  answering them does not ask them again;
* **wording**: a listed name or alias as residents vary it (居民/个人/本人/开具/一份/的/证明
  added or dropped, a leading 无/没有, a synonym of the vocabulary, one wrong character) is
  never decided as an unlisted item and never issued, unless the item's own exception holds;
* **scenarios**: every case of the plugin's own ``scenarios/*.toml`` is decided as it states —
  outcome, and the item and route where it names them — so a plugin never ships a lesson the
  counter would not give (``check_scenarios`` counts them for the summary line).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from sealdesk.core.engine.model import ISSUING, Facts, Outcome, Request
from sealdesk.core.engine.names import name_key, variants

PURPOSES = ("", "公证", "不动产登记", "收养", "法律援助", "出国留学", "银行贷款", "入学", "办理低保")
TRANSITIONAL_FACTS = ("policy_gap", "party_requires")
FIRST, LAST = dt.date(2020, 3, 1), dt.date(2027, 12, 31)
PLACEHOLDER = "TODO"
MODIFIERS = ("居民", "个人", "本人", "开具", "一份", "的", "证明")
ODD = "甲乙丙丁戊己庚辛壬癸鼎鑫淼焱垚"  # characters in no certificate's name: one wrong character


@dataclass(frozen=True)
class Violation:
    check: str  # short name of the property: load, floor, citations, names, seal, determinism, questions, data,
    # wording, scenarios
    message: str  # plain words
    jurisdiction: str = ""
    item: str = ""  # "id name" of the offending item, or a rule id
    where: str = ""  # file:line when known

    def __str__(self) -> str:
        head = f"{self.where}: " if self.where else ""
        what = f" [{self.item}]" if self.item else ""
        jur = f"{self.jurisdiction}: " if self.jurisdiction else ""
        return f"{head}{jur}{self.message}{what} ({self.check})"


def _full_path(registry, jid: str | None, where: str) -> str:
    """A file hint like ``catalog.toml:7`` made absolute with the jurisdiction's own file."""
    m = re.match(r"^([^/\\]+\.toml)(:\d+)?$", where or "")
    if not m or not jid or jid not in registry.jurisdictions:
        return where
    for f in registry.jurisdictions[jid].files:
        if Path(f).name == m.group(1):
            return f + (m.group(2) or "")
    return where


_FILE_LINE = re.compile(r"(\S+\.toml:\d+): ")
_ITEM_ID = re.compile(r"\b([a-z0-9][a-z0-9_-]*)\.(negative|retained)\.(\d+)\b")


def _load_violations(registry, plugins: set[str], jids: set[str]) -> list[Violation]:
    out = []
    for e in registry.errors:
        if e.plugin not in plugins and e.jurisdiction not in jids:
            continue
        where = _full_path(registry, e.jurisdiction, e.file)
        message = e.message
        located = _FILE_LINE.search(message)  # a DataError: "hook: /path/file.toml:LINE: problem"
        if located:
            where = located.group(1)
            message = (message[:located.start()] + message[located.end():]).strip()
        item = ""
        # Name the offending item: the last item of this jurisdiction the message mentions.
        own = [m for m in _ITEM_ID.finditer(message) if m.group(1) == e.jurisdiction]
        if own and e.jurisdiction in registry.jurisdictions:
            iid = own[-1].group(0)
            it = next((x for x in registry.jurisdictions[e.jurisdiction].items if x.id == iid), None)
            if it is not None:
                item = f"{it.id} {it.name}"
                where = it.where
        out.append(Violation("load", f"plugin '{e.plugin}' does not load: {message}", e.jurisdiction or "",
                             item, where))
    return out


def _data_violations(registry, jids: list[str]) -> list[Violation]:
    from sealdesk.core.common.datafile import DataFile

    out = []
    for jid in jids:
        data = registry.jurisdictions[jid]
        jfile = data.files[0] if data.files else ""
        for d in data.documents:
            if PLACEHOLDER in f"{d.number} {d.title}":
                line = None
                try:
                    f = DataFile(Path(jfile))
                    line = next((n for n, text in enumerate(f.lines, 1) if d.number in text), None)
                except Exception:
                    pass
                out.append(Violation("data", f"document '{d.number}' is still the placeholder of `sealdesk plugin "
                                     "new`: give the policy document's 文号, title, issuer and dates",
                                     jid, "", f"{jfile}:{line}" if line else jfile))
        for it in data.items:
            texts = [it.name, it.route, *it.aliases, *(c.document + c.provision for c in it.citations)]
            if any(PLACEHOLDER in t for t in texts):
                out.append(Violation("data", "item still contains the placeholder TODO", jid, f"{it.id} {it.name}",
                                     it.where))
    for rule in registry.rules.values():
        if rule.jurisdiction not in jids or rule.slot != "seal":
            continue
        fact = rule.params.get("fact")
        if fact is not None and fact not in registry.facts:
            out.append(Violation("data", f"seal rule uses fact '{fact}', which no plugin defines; it can never "
                                 f"hold (known facts: {', '.join(sorted(registry.facts))})",
                                 rule.jurisdiction, rule.id, rule.source))
    return out


# -- the properties ------------------------------------------------------------------------
def _describe(query, purpose, facts, on) -> str:
    fs = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in sorted(facts.items())) or "none"
    return f"request '{query}' (purpose '{purpose}', facts {fs}, on {on.isoformat()})"


def _decide(registry, jid, query, purpose, facts, on):
    from sealdesk.core.engine.protocol import decide

    return decide(registry.view(jid, on), Request(query, purpose, "", Facts(dict(facts))))


def _item_label(item) -> str:
    return f"{item.id} {item.name}" if item is not None else ""


class _Props:
    """The properties for one jurisdiction; each returns None or (message, item, where)."""

    def __init__(self, registry, jid: str, today: dt.date):
        self.reg = registry
        self.jid = jid
        self.today = today
        self.chain = registry.chain_ids(jid)
        data = [registry.jurisdictions[j] for j in self.chain]
        names = {n for j in data for it in j.items for n in it.names}
        self.names = sorted(names)
        purposes = set(PURPOSES)
        for j in data:
            for it in j.items:
                for cond in (*it.exceptions, it.restriction, it.use, *(c.condition for c in it.carves_out)):
                    if cond is not None:
                        purposes.update(cond.purposes)
        self.purposes = sorted(purposes)
        self.facts = sorted(registry.facts)
        self.seal_facts = sorted({r.params["fact"] for r in registry.rules.values()
                                  if r.slot == "seal" and r.jurisdiction in self.chain and "fact" in r.params
                                  and r.params["fact"] in registry.facts})
        bounds = {today}
        for j in data:
            for d in j.documents:
                for b in (d.effective_from, d.effective_until):
                    if b is not None:
                        bounds.update({b - dt.timedelta(days=1), b, b + dt.timedelta(days=1)})
        self.dates = sorted(b for b in bounds if FIRST <= b <= LAST)

    # strategies
    def requests(self, st):
        queries = st.one_of(st.sampled_from(self.names), st.text(min_size=1, max_size=6)) if self.names \
            else st.text(min_size=1, max_size=6)
        facts = st.dictionaries(st.sampled_from(self.facts), st.booleans(), max_size=6)
        dates = st.one_of(st.sampled_from(self.dates), st.dates(min_value=FIRST, max_value=LAST))
        return st.tuples(queries, st.sampled_from(self.purposes), facts, dates)

    def d(self, query, purpose, facts, on, jid=None):
        return _decide(self.reg, jid or self.jid, query, purpose, facts, on)

    # properties
    def floor(self, ex):
        query, purpose, facts, on = ex
        if self.jid == "national" or self.chain[0] != "national":
            return None
        facts = {k: v for k, v in facts.items() if k not in TRANSITIONAL_FACTS}
        base = self.d(query, purpose, facts, on, "national")
        if base.outcome is not Outcome.REFUSE or base.item is None or base.item.list != "negative":
            return None
        mine = self.d(query, purpose, facts, on)
        view = self.reg.view(self.jid, on)
        if mine.outcome in ISSUING:
            it = mine.item
            linked = it is not None and (
                it.overrides is not None or it.list == "retained" and it.carves_out
                or any(c.item == base.item.id for c in it.carves_out))
            rule = view.rules.get("negative")
            if linked or (rule is not None and rule.jurisdiction != "national"):
                return None
            return (f"{_describe(query, purpose, facts, on)} is {mine.outcome.value} here, but the national baseline "
                    f"refuses it (national negative item {base.item.number} {base.item.name}) and nothing in this "
                    "jurisdiction links to that item (no 'overrides' or 'carves_out')",
                    it or base.item)
        if mine.outcome is Outcome.REFUSE and mine.item is not None and mine.item.list == "negative" \
                and not (mine.route or "").strip():
            return f"{_describe(query, purpose, facts, on)} is refused without a route (办事途径)", mine.item
        return None

    def citations(self, ex):
        query, purpose, facts, on = ex
        d = self.d(query, purpose, facts, on)
        view = self.reg.view(self.jid, on)
        if not any(c.document in view.documents for c in d.citations):
            cited = "; ".join(c.text() for c in d.citations) or "nothing"
            return (f"{_describe(query, purpose, facts, on)} gives {d.outcome.value} citing {cited}: no policy "
                    f"document of {' > '.join(view.chain)} in force on that date", d.item)
        chain_docs = {doc.number for j in view.chain for doc in self.reg.jurisdictions[j].documents}
        for c in d.citations:
            if c.document in chain_docs and c.document not in view.documents:
                return (f"{_describe(query, purpose, facts, on)} cites {c.text()}, which is not in force on "
                        f"{on.isoformat()}", d.item)
        return None

    def seal(self, ex):
        query, purpose, facts, on, fact = ex
        before = self.d(query, purpose, facts, on)
        after = self.d(query, purpose, {**facts, fact: True}, on)
        if before.outcome not in ISSUING and after.outcome in ISSUING:
            return (f"{_describe(query, purpose, facts, on)} gives {before.outcome.value}, but adding the seal fact "
                    f"{fact}=yes makes it {after.outcome.value}: a seal rule may only forbid the seal", after.item)
        return None

    def determinism(self, ex):
        query, purpose, facts, on = ex
        a, b = self.d(query, purpose, facts, on), self.d(query, purpose, facts, on)
        if a != b:
            return f"{_describe(query, purpose, facts, on)} gives two different decisions", a.item
        return None

    def questions(self, ex):
        query, purpose, facts, on, answers = ex
        d = self.d(query, purpose, facts, on)
        limit = d.item.limit if d.item is not None and d.item.list == "retained" else None
        for q in d.questions:
            if q == "purpose" and limit is not None and limit.purposes and not purpose:
                continue  # a retained item's use, not given yet
            if limit is not None and q in limit.facts:
                continue  # the condition a retained item is named by
            if q not in self.reg.facts or not self.reg.facts[q].required:
                return f"{_describe(query, purpose, facts, on)} asks '{q}', which is not a required fact", d.item
            if q in facts:
                return f"{_describe(query, purpose, facts, on)} asks '{q}' although it was answered", d.item
        if d.outcome is not Outcome.ASK and d.questions:
            return f"{_describe(query, purpose, facts, on)} gives {d.outcome.value} but still lists questions", d.item
        if d.questions:
            given = {q: answers[i % len(answers)] for i, q in enumerate(d.questions) if q != "purpose"}
            if "purpose" in d.questions:
                purpose = (limit.purposes[0] if answers[0] else "办理贷款")
            d2 = self.d(query, purpose, {**facts, **given}, on)
            again = sorted(set(d2.questions) & (set(given) | ({"purpose"} if "purpose" in d.questions else set())))
            if again:
                return (f"{_describe(query, purpose, facts, on)} asks {', '.join(d.questions)}; after answering "
                        f"({', '.join(f'{k}={v}' for k, v in given.items())}) it asks {', '.join(again)} again",
                        d.item)
        return None

    def wording_requests(self, st):
        view = self.reg.view(self.jid, self.today)
        listed = [(it, n) for it in view.items for n in (it.name, *it.aliases)]
        synonyms = [(s.word, s.listed) for j in self.chain for s in self.reg.jurisdictions[j].vocabulary.synonyms]
        facts = st.dictionaries(st.sampled_from([f for f in self.facts if f not in (*TRANSITIONAL_FACTS, "not_listed")]),
                                st.booleans(), max_size=5)
        return st.tuples(st.sampled_from(listed), st.sampled_from(("add", "drop", "negate", "synonym", "wrong")),
                         st.sampled_from(MODIFIERS), st.integers(0, 40), st.sampled_from(ODD),
                         st.sampled_from(synonyms or [("", "")]), facts).map(
            lambda t: (self.vary(t[0][1], *t[1:6]), "", t[6], self.today, (t[0][0], t[0][1], t[1])))

    @staticmethod
    def vary(name: str, kind: str, word: str, pos: int, odd: str, syn) -> str:
        if kind == "add":
            return (word + name, name + word, name.replace("证明", word + "证明"))[pos % 3]
        if kind == "drop":
            return name.replace(word, "", 1) if word in name and name.replace(word, "", 1) else word + name
        if kind == "negate":
            return ("无", "没有")[pos % 2] + name
        if kind == "synonym":
            return name.replace(syn[1], syn[0], 1) if syn[1] and syn[1] in name else name
        i = pos % len(name)
        return name[:i] + odd + name[i + 1:]

    def wording(self, ex):
        query, _purpose, facts, on, (item, name, kind) = ex
        d = self.d(query, "", facts, on)
        what = f"'{query}' (a variant of '{name}', {kind})"
        if d.item is None and not d.candidates:
            return f"{what} is decided as an unlisted item ({d.outcome.value}); it should resolve or be asked", item
        own = d.item is not None and (any(e.holds("", d.facts) for e in d.item.exceptions) or (
            d.item.list == "retained" and d.item.limit is not None and d.item.limit.holds("", d.facts)))
        if d.outcome in ISSUING and not own:
            return f"{what} is issued ({d.outcome.value}) with facts {facts}", item
        return None

    def names_resolve(self) -> list[tuple[str, object]]:
        problems = []
        for on in self.dates:
            view = self.reg.view(self.jid, on)
            for it in view.items:
                if it.jurisdiction != self.jid:
                    continue
                for name in it.names:
                    for v in variants(name):
                        res = view.index.lookup(v)
                        if name_key(v) in view.index.shared:
                            ok = it in res.items
                        else:
                            ok = res.items == (it,)
                        if not ok:
                            others = ", ".join(f"{x.id} {x.name}" for x in res.items) or "nothing"
                            problems.append((f"name '{v}' of this item resolves to {others} on {on.isoformat()}", it))
        return problems


def _find(strategy, predicate, max_examples: int):
    """The smallest example for which ``predicate`` is true, or None."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis.errors import NoSuchExample

    try:
        return find(strategy, predicate, settings=settings(
            max_examples=max_examples, database=None, derandomize=True, deadline=None,
            suppress_health_check=list(HealthCheck)))
    except NoSuchExample:
        return None


def _where_raised(exc: BaseException) -> str:
    import traceback

    tb = traceback.extract_tb(exc.__traceback__)
    return f"{tb[-1].filename}:{tb[-1].lineno}" if tb else ""


def _run_property(props: _Props, name: str, fn, strategy, max_examples: int) -> list[Violation]:
    def failing(ex) -> bool:
        try:
            return fn(ex) is not None
        except Exception:
            return True

    ex = _find(strategy, failing, max_examples)
    if ex is None:
        return []
    try:
        found = fn(ex)
    except Exception as exc:
        return [Violation(name, f"deciding {_describe(*ex[:4])} raised {type(exc).__name__}: {exc}",
                          props.jid, "", _where_raised(exc))]
    if found is None:  # flaky: the property depends on something other than the request
        return [Violation(name, f"{_describe(*ex[:4])} failed once and passed when repeated", props.jid)]
    message, item = found
    return [Violation(name, message, props.jid, _item_label(item),
                      item.where if item is not None else "")]


def plugin_names(registry) -> set[str]:
    """Plugin (entry-point) names known to the registry, loaded or not."""
    return set(registry.plugin_files) | {e.plugin for e in registry.errors} | \
        {j.plugin for j in registry.jurisdictions.values()}


def jurisdictions_of(registry, name: str | None) -> tuple[set[str], set[str]]:
    """(plugins, jurisdiction ids) selected by a plugin name or a jurisdiction id; all when None."""
    if name is None:
        return plugin_names(registry), set(registry.jurisdictions)
    plugins = {name} if name in plugin_names(registry) else set()
    jids = {j for j, d in registry.jurisdictions.items() if d.plugin == name or j == name}
    plugins |= {registry.jurisdictions[j].plugin for j in jids}
    return plugins, jids


@dataclass(frozen=True)
class ScenarioCheck:
    """The plugin's own scenarios, checked: how many cases, how many as expected, and the violations
    (a case decided otherwise than it states, a file that does not load)."""

    cases: int
    as_expected: int
    violations: tuple[Violation, ...]

    def summary(self) -> str:
        """``12 cases, 12 as expected`` (English, like the rest of ``plugin check``)."""
        files = sum(v.message.startswith("scenario file does not load") for v in self.violations)
        return f"{self.cases} cases, {self.as_expected} as expected" + (f"; {files} file(s) do not load" if files else "")


def _selected(registry, name: str | None):
    """The registry (built when None) and the plugins and jurisdictions ``name`` selects; KeyError
    when it names neither a plugin nor a jurisdiction the registry knows."""
    from sealdesk.core.engine.plugins import Registry

    if registry is None:
        registry = Registry()
    plugins, jids = jurisdictions_of(registry, name)
    if not plugins and not jids:
        raise KeyError(name)
    return registry, plugins, jids


def check_scenarios(registry=None, name: str | None = None, *, today: dt.date | None = None) -> ScenarioCheck:
    """Decide every case of the scenarios that plugin ``name`` ships (every plugin's when None).

    Raises KeyError when ``name`` is neither a plugin nor a jurisdiction the registry knows.
    """
    from sealdesk.core.training.scenario import check_files, shipped

    registry, plugins, jids = _selected(registry, name)
    report = check_files(registry, shipped(registry, plugins), today)
    out = [Violation("scenarios", f"scenario file does not load: {e.problem}", "", "",
                     f"{e.path}:{e.line}" if e.line else e.path) for e in report.errors]
    for r in report.failed:
        d = r.decision
        out.append(Violation("scenarios", r.text_en(), r.jurisdiction,
                             _item_label(d.item) if d is not None else "", r.where))
    return ScenarioCheck(report.cases, report.as_expected, tuple(out))


def check(registry=None, name: str | None = None, *, max_examples: int = 100,
          today: dt.date | None = None, scenarios: bool = True) -> list[Violation]:
    """Run the suite on the jurisdictions of plugin ``name`` (or of every plugin when None), and
    (unless ``scenarios=False``) the cases of its own scenarios.

    Raises KeyError when ``name`` is neither a plugin nor a jurisdiction the registry knows.
    """
    from hypothesis import strategies as st

    from sealdesk.core.engine.plugins import BrokenJurisdiction

    registry, plugins, jids = _selected(registry, name)
    violations = _load_violations(registry, plugins, jids)
    ok = [j for j in registry.ids() if j in jids]
    violations += _data_violations(registry, ok)
    today = today or dt.date.today()
    for jid in ok:
        try:
            violations += _check_jurisdiction(registry, jid, today, max_examples, st)
        except BrokenJurisdiction as exc:
            # A rule that raised has broken the jurisdiction for the process (core/engine/plugins.py):
            # report that, with the plugin's file:line, and go on with the plugin's other jurisdictions.
            violations.append(Violation("broken", str(exc), jid))
    if scenarios:
        violations += check_scenarios(registry, name, today=today).violations
    return violations


def _check_jurisdiction(registry, jid: str, today: dt.date, max_examples: int, st) -> list[Violation]:
    """The properties of one jurisdiction (``check``)."""
    violations: list[Violation] = []
    props = _Props(registry, jid, today)
    for message, item in props.names_resolve()[:5]:
        violations.append(Violation("names", message, jid, _item_label(item), item.where))
    req = props.requests(st)
    violations += _run_property(props, "floor", props.floor, req, max_examples)
    violations += _run_property(props, "citations", props.citations, req, max_examples)
    violations += _run_property(props, "determinism", props.determinism, req, max(10, max_examples // 4))
    if props.seal_facts:
        violations += _run_property(props, "seal", props.seal,
                                    st.tuples(req, st.sampled_from(props.seal_facts)).map(lambda t: (*t[0], t[1])),
                                    max_examples)
    violations += _run_property(props, "wording", props.wording, props.wording_requests(st), max_examples)
    violations += _run_property(props, "questions", props.questions,
                                st.tuples(req, st.lists(st.booleans(), min_size=1, max_size=4))
                                .map(lambda t: (*t[0], t[1])), max_examples)
    return violations


__all__ = ["ScenarioCheck", "Violation", "check", "check_scenarios", "jurisdictions_of", "plugin_names"]
