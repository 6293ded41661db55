"""The plugin manager: discovers jurisdiction plugins, merges them, and isolates failures.

Plugins are found through the entry-point group ``sealdesk.jurisdictions``
(the built-in seven are registered the same way in pyproject.toml). Each hook
implementation is called on its own, so a plugin that fails to import, ships
malformed TOML or raises in a hook becomes a :class:`LoadError` naming the
plugin and the file, and only the jurisdictions it defines (and their
descendants) are unavailable.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import traceback
from dataclasses import dataclass, replace
from types import ModuleType

import pluggy

from sealdesk.core.engine import hookspecs
from sealdesk.core.common.datafile import DataError
from sealdesk.core.engine.facts import BUILTIN_FACTS, FactSpec
from sealdesk.core.engine.jurisdiction import JurisdictionData
from sealdesk.core.engine.rules import EXCLUSIVE, SLOTS, Rule

GROUP = "sealdesk.jurisdictions"
BUILTIN = {
    "national": "sealdesk.plugins.national",
    "jilin": "sealdesk.plugins.jilin",
    "qinghai": "sealdesk.plugins.qinghai",
    "shaanxi": "sealdesk.plugins.shaanxi",
    "anhui-luan": "sealdesk.plugins.anhui_luan",
    "chongqing": "sealdesk.plugins.chongqing",
    "chongqing-yubei": "sealdesk.plugins.chongqing_yubei",
}


@dataclass(frozen=True)
class LoadError:
    plugin: str
    file: str
    message: str
    jurisdiction: str | None = None

    def __str__(self) -> str:
        where = f" ({self.file})" if self.file else ""
        return f"plugin '{self.plugin}'{where}: {self.message}"


class UnknownJurisdiction(KeyError):
    pass


class BrokenJurisdiction(RuntimeError):
    """The jurisdiction exists but could not be loaded; str() names plugin and file."""


def _where(exc: BaseException) -> str:
    """file:line of the innermost frame, for errors raised inside a plugin's hook."""
    tb = traceback.extract_tb(exc.__traceback__)
    if not tb:
        return ""
    frame = tb[-1]
    return f"{frame.filename}:{frame.lineno}"


def discover(group: str = GROUP) -> list[tuple[str, str, object]]:
    """(name, target, loader) for every entry point; the built-ins when none are installed."""
    eps = sorted(importlib.metadata.entry_points(group=group), key=lambda ep: ep.name)
    found = [(ep.name, ep.value, ep.load) for ep in eps]
    names = {n for n, _, _ in found}
    # Running from a checkout that was never installed: register the built-ins directly.
    for name, module in BUILTIN.items():
        if name not in names:
            found.append((name, module, lambda m=module: importlib.import_module(m)))
    return found


class Registry:
    """Everything the installed plugins declare, merged and validated.

    ``Registry()`` discovers entry points; ``Registry(plugins=[(name, module), ...])``
    registers exactly those (tests use it to vary the registration order).
    """

    def __init__(self, plugins: list[tuple[str, ModuleType | object]] | None = None, group: str = GROUP):
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.errors: list[LoadError] = []
        self.plugin_files: dict[str, str] = {}
        if plugins is None:
            for name, target, load in discover(group):
                try:
                    module = load()
                except Exception as exc:  # a plugin that fails to import
                    self.errors.append(LoadError(name, target, f"import failed: {type(exc).__name__}: {exc}"))
                    continue
                self._register(name, module)
        else:
            for name, module in plugins:
                self._register(name, module)
        self._check_pending()
        self.facts: dict[str, FactSpec] = {f.name: f for f in BUILTIN_FACTS}
        self.jurisdictions: dict[str, JurisdictionData] = {}
        self.broken: dict[str, list[LoadError]] = {}
        self._collect_jurisdictions()
        self._collect_facts()
        self._collect_rules()
        self._collect_workflow()
        self._collect_papers()
        self._validate()
        self._views: dict = {}

    # -- registration ------------------------------------------------------------
    def _register(self, name: str, module) -> None:
        if self.pm.has_plugin(name) or self.pm.is_registered(module):
            self.errors.append(LoadError(name, getattr(module, "__file__", ""), "registered twice; ignored"))
            return
        self.pm.register(module, name=name)
        self.plugin_files[name] = getattr(module, "__file__", "") or ""

    def _check_pending(self) -> None:
        # An implementation of a hook that does not exist (a typo) is an error of that plugin only.
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin) or str(exc.plugin)
                self.errors.append(LoadError(name, self.plugin_files.get(name, ""), str(exc)))
                self.pm.unregister(exc.plugin)

    def _call_each(self, hook_name: str):
        """Call every implementation of a hook separately; yield (plugin, result)."""
        hook = getattr(self.pm.hook, hook_name)
        impls = sorted(hook.get_hookimpls(), key=lambda i: i.plugin_name)
        for impl in impls:
            try:
                result = impl.function()
            except DataError as exc:
                self.errors.append(LoadError(impl.plugin_name, exc.path, f"{hook_name}: {exc}"))
                continue
            except Exception as exc:
                self.errors.append(LoadError(
                    impl.plugin_name, _where(exc) or self.plugin_files.get(impl.plugin_name, ""),
                    f"{hook_name} raised {type(exc).__name__}: {exc}"))
                continue
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                self.errors.append(LoadError(impl.plugin_name, self.plugin_files.get(impl.plugin_name, ""),
                                             f"{hook_name} must return a list, got {type(result).__name__}"))
                continue
            yield impl.plugin_name, list(result)

    # -- collection --------------------------------------------------------------
    def _collect_jurisdictions(self) -> None:
        for plugin, result in self._call_each("sealdesk_jurisdictions"):
            for data in result:
                if not isinstance(data, JurisdictionData):
                    self.errors.append(LoadError(plugin, self.plugin_files.get(plugin, ""),
                                                 f"sealdesk_jurisdictions returned {type(data).__name__}, "
                                                 "expected JurisdictionData"))
                    continue
                data.plugin = plugin
                data.items = tuple(replace(it, plugin=plugin) for it in data.items)
                data.rules = tuple(replace(r, plugin=plugin) for r in data.rules)
                if data.id in self.jurisdictions:
                    other = self.jurisdictions[data.id]
                    self._break(data.id, LoadError(plugin, data.files[0] if data.files else "",
                                                   f"jurisdiction '{data.id}' is also defined by plugin "
                                                   f"'{other.plugin}' ({other.files[0] if other.files else ''})"))
                    continue
                self.jurisdictions[data.id] = data

    def _collect_facts(self) -> None:
        for plugin, result in self._call_each("sealdesk_facts"):
            for spec in result:
                if not isinstance(spec, FactSpec) or spec.name in self.facts:
                    what = getattr(spec, "name", type(spec).__name__)
                    self.errors.append(LoadError(plugin, self.plugin_files.get(plugin, ""),
                                                 f"fact '{what}' is already defined or not a FactSpec"))
                    continue
                self.facts[spec.name] = spec

    def _collect_rules(self) -> None:
        self.rules: dict[str, Rule] = {}
        collected: list[Rule] = [r for j in self.jurisdictions.values() for r in j.rules]
        for plugin, result in self._call_each("sealdesk_rules"):
            for rule in result:
                if not isinstance(rule, Rule):
                    self.errors.append(LoadError(plugin, self.plugin_files.get(plugin, ""),
                                                 f"sealdesk_rules returned {type(rule).__name__}, expected Rule"))
                    continue
                collected.append(replace(rule, plugin=plugin, source=rule.source or self.plugin_files.get(plugin, "")))
        for rule in sorted(collected, key=lambda r: r.id):
            if rule.slot not in SLOTS:
                self._break(rule.jurisdiction, LoadError(rule.plugin, rule.source,
                            f"rule {rule.id}: unknown slot '{rule.slot}' (slots: {', '.join(SLOTS)})"))
                continue
            if rule.id in self.rules:
                other = self.rules[rule.id]
                self._break(rule.jurisdiction, LoadError(rule.plugin, rule.source,
                            f"rule id {rule.id} is also defined by plugin '{other.plugin}'"))
                continue
            self.rules[rule.id] = rule

    def _collect_workflow(self) -> None:
        from sealdesk.core.engine.workflow_rules import GUARDED, NAMED_CHECKS, WorkflowRule

        self.workflow_rules: dict[str, WorkflowRule] = {}
        collected = [r for j in self.jurisdictions.values() for r in j.workflow_rules]
        for plugin, result in self._call_each("sealdesk_workflow_rules"):
            for rule in result:
                if not isinstance(rule, WorkflowRule) or not (callable(rule.check) or rule.check in NAMED_CHECKS):
                    self.errors.append(LoadError(plugin, self.plugin_files.get(plugin, ""),
                                                 f"sealdesk_workflow_rules returned {type(rule).__name__}, "
                                                 "expected WorkflowRule with a callable check"))
                    continue
                collected.append(replace(rule, plugin=plugin, source=rule.source or self.plugin_files.get(plugin, "")))
        for rule in sorted(collected, key=lambda r: r.id):
            if rule.jurisdiction not in self.jurisdictions:
                self.errors.append(LoadError(rule.plugin, rule.source,
                                             f"workflow rule {rule.id} is for unknown jurisdiction '{rule.jurisdiction}'"))
                continue
            if rule.action not in GUARDED:
                self._break(rule.jurisdiction, LoadError(rule.plugin, rule.source,
                            f"workflow rule {rule.id}: unknown action '{rule.action}' (approve, stamp, file, void)"))
                continue
            if rule.id in self.workflow_rules:
                self._break(rule.jurisdiction, LoadError(rule.plugin, rule.source,
                            f"workflow rule id {rule.id} is also defined by plugin "
                            f"'{self.workflow_rules[rule.id].plugin}'"))
                continue
            self.workflow_rules[rule.id] = rule

    def _collect_papers(self) -> None:
        """Paper wording per jurisdiction: ``[papers.<paper>]`` tables and ``sealdesk_paper_templates``.

        A bad template is a load error of its plugin; the jurisdiction still decides (papers
        then use the wording of its parent).
        """
        from sealdesk.core.engine.wording import PAPERS, PaperTemplate, TemplateError, base_template, check_fields

        collected = [PaperTemplate(j.id, paper, fields, j.plugin, j.files[0] if j.files else "")
                     for j in self.jurisdictions.values() for paper, fields in j.papers.items()]
        for plugin, result in self._call_each("sealdesk_paper_templates"):
            for t in result:
                if not isinstance(t, PaperTemplate) or not isinstance(t.fields, dict):
                    self.errors.append(LoadError(plugin, self.plugin_files.get(plugin, ""),
                                                 f"sealdesk_paper_templates returned {type(t).__name__}, "
                                                 "expected PaperTemplate"))
                    continue
                collected.append(replace(t, plugin=plugin, source=t.source or self.plugin_files.get(plugin, "")))
        self.paper_templates: dict[tuple[str, str], PaperTemplate] = {}
        for t in collected:
            where = f"papers.{t.paper} of {t.jurisdiction}"
            try:
                if t.jurisdiction not in self.jurisdictions:
                    raise TemplateError(f"{where}: unknown jurisdiction '{t.jurisdiction}'")
                if not isinstance(t.fields, dict):
                    raise TemplateError(f"{where}: expected a table")
                check_fields(t.paper, t.fields, base_template(t.paper) if t.paper in PAPERS else None, where)
                if (t.jurisdiction, t.paper) in self.paper_templates:
                    raise TemplateError(f"{where} is defined twice (plugins '{self.paper_templates[t.jurisdiction, t.paper].plugin}' "
                                        f"and '{t.plugin}')")
            except TemplateError as exc:
                self.errors.append(LoadError(t.plugin, t.source, str(exc), t.jurisdiction))
                continue
            self.paper_templates[(t.jurisdiction, t.paper)] = t

    def _break(self, jid: str, error: LoadError) -> None:
        error = replace(error, jurisdiction=jid)
        self.errors.append(error)
        self.broken.setdefault(jid, []).append(error)

    # -- validation --------------------------------------------------------------
    def chain_ids(self, jid: str) -> list[str]:
        """Ids from national down to ``jid`` (root first)."""
        out, seen, cur = [], set(), jid
        while cur is not None:
            if cur in seen:
                raise BrokenJurisdiction(f"jurisdiction '{jid}': parent cycle through '{cur}'")
            seen.add(cur)
            if cur not in self.jurisdictions:
                failed = [e for e in self.errors if e.plugin == cur or e.jurisdiction == cur]
                if failed:
                    raise BrokenJurisdiction(f"jurisdiction '{jid}': parent jurisdiction '{cur}' failed to load "
                                             f"({failed[0]})")
                raise BrokenJurisdiction(f"jurisdiction '{jid}': parent '{cur}' is not installed")
            out.append(cur)
            cur = self.jurisdictions[cur].parent
        return out[::-1]

    def depth(self, jid: str) -> int:
        return len(self.chain_ids(jid)) - 1

    def _validate(self) -> None:
        from sealdesk.core.engine.catalog import check_catalog  # late import: catalog needs the registry's types only

        for jid, data in sorted(self.jurisdictions.items()):
            try:
                chain = self.chain_ids(jid)
            except BrokenJurisdiction as exc:
                self._break(jid, LoadError(data.plugin, data.files[0] if data.files else "", str(exc)))
                continue
            docs = {d.number for j in chain for d in self.jurisdictions[j].documents}
            file = next((f for f in data.files if f.endswith("catalog.toml")), data.files[-1] if data.files else "")
            for item in data.items:
                for c in item.citations:
                    if c.document not in docs:
                        self._break(jid, LoadError(data.plugin, item.where or file,
                                    f"item {item.id} ({item.name}) cites unknown document {c.document}"))
            for a in data.adoption:
                c = a.citation
                if c.document not in docs:
                    self._break(jid, LoadError(data.plugin, file, f"adoption cites unknown document {c.document}"))
            for rule in self.rules.values():
                if rule.jurisdiction == jid and rule.citation.document not in docs:
                    self._break(jid, LoadError(rule.plugin, rule.source,
                                f"rule {rule.id} cites unknown document {rule.citation.document}"))
            for rule in self.workflow_rules.values():
                if rule.jurisdiction == jid and rule.citation is not None and rule.citation.document not in docs:
                    self._break(jid, LoadError(rule.plugin, rule.source,
                                f"workflow rule {rule.id} cites unknown document {rule.citation.document}"))
            self._check_rule_conflicts(jid, chain)
            for problem, file_hint in check_catalog(self, jid, chain):
                self._break(jid, LoadError(data.plugin, file_hint or file, problem))
        for rule in self.rules.values():
            if rule.jurisdiction not in self.jurisdictions:
                self.errors.append(LoadError(rule.plugin, rule.source,
                                             f"rule {rule.id} is for unknown jurisdiction '{rule.jurisdiction}'"))
        # Descendants of a broken jurisdiction are broken too.
        for jid in sorted(self.jurisdictions):
            try:
                chain = self.chain_ids(jid)
            except BrokenJurisdiction:
                continue
            for anc in chain[:-1]:
                if anc in self.broken and jid not in self.broken:
                    self.broken[jid] = [LoadError(self.jurisdictions[jid].plugin, "",
                                                  f"parent jurisdiction '{anc}' failed to load", jid)]

    def _check_rule_conflicts(self, jid: str, chain: list[str]) -> None:
        """Exclusive slots: the deeper rule must name the rule it overrides; same depth without a link conflicts."""
        for slot in EXCLUSIVE:
            mine = sorted((r for r in self.rules.values() if r.jurisdiction == jid and r.slot == slot),
                          key=lambda r: r.id)
            ancestors = [r for r in self.rules.values() if r.jurisdiction in chain[:-1] and r.slot == slot]
            for i, a in enumerate(mine):
                for b in mine[i + 1:]:
                    if a.overrides != b.id and b.overrides != a.id:
                        self._break(jid, LoadError(
                            b.plugin, b.source,
                            f"conflict in slot '{slot}' of '{jid}': rule {a.id} ({a.citation.text()}) and rule "
                            f"{b.id} ({b.citation.text()}) both decide and neither overrides the other"))
                if ancestors and a.overrides is None and not any(a.id == m.overrides for m in mine):
                    names = ", ".join(f"{r.id} ({r.citation.text()})" for r in ancestors)
                    self._break(jid, LoadError(a.plugin, a.source,
                                f"rule {a.id} ({a.citation.text()}) replaces {names} without naming it in 'overrides'"))
                if a.overrides is not None:
                    target = self.rules.get(a.overrides)
                    if target is None or target.slot != slot or target.jurisdiction not in chain:
                        self._break(jid, LoadError(a.plugin, a.source,
                                    f"rule {a.id} overrides '{a.overrides}', which is not a '{slot}' rule of "
                                    f"{' > '.join(chain)}"))

    # -- queries -----------------------------------------------------------------
    def ids(self) -> list[str]:
        """Loaded jurisdictions, national first, then by depth and id."""
        ok = [j for j in self.jurisdictions if j not in self.broken]
        return sorted(ok, key=lambda j: (self.depth(j), j))

    def get(self, jid: str) -> JurisdictionData:
        if jid not in self.jurisdictions:
            if jid in self.broken:
                raise BrokenJurisdiction("; ".join(str(e) for e in self.broken[jid]))
            raise UnknownJurisdiction(jid)
        if jid in self.broken:
            raise BrokenJurisdiction("; ".join(str(e) for e in self.broken[jid]))
        return self.jurisdictions[jid]

    def view(self, jid: str, on):
        """The rules and catalog of ``jid`` in force on date ``on`` (cached)."""
        key = (jid, on)
        v = self._views.get(key)
        if v is None:
            from sealdesk.core.engine.catalog import build_view

            self.get(jid)
            v = build_view(self, jid, on)
            if len(self._views) > 4096:
                self._views.clear()
            self._views[key] = v
        return v


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _default
    if _default is None:
        _default = Registry()
    return _default
