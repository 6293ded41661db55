"""The plugin manager: discovers jurisdiction plugins, merges them, and isolates failures.

Plugins are found through the entry-point group ``sealdesk.jurisdictions``
(the built-in seven are registered the same way in pyproject.toml). Each hook
implementation is called on its own, so a plugin that fails to import, ships
malformed TOML or raises in a hook becomes a :class:`LoadError` naming the
plugin and the file, and only the jurisdictions it defines (and their
descendants) are unavailable.

A plugin is used whole or not at all: a half-loaded one (its TOML without the rules
its hook failed to return) would decide differently from what its county wrote. So
every error of a plugin breaks its jurisdictions, whether met at load or, for a rule
that raises, while deciding (:meth:`Registry.break_at_runtime`, called by the
protocol); an id that never loaded (a failed import) is listed under its
entry point's name. The one exception is a paper template with a bad key: the
decision is unaffected, so only that paper falls back to its parent's wording,
and the message says so. Users see :attr:`LoadError.reason`, one line; the error
log keeps the traceback.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
import re
import sysconfig
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


# What a load error costs (LoadError.effect).
BROKEN = "broken"  # the plugin's jurisdictions (and their descendants) are unavailable
FALLBACK = "fallback"  # a paper template is ignored: that paper keeps its parent's wording
IGNORED = "ignored"  # nothing is lost (the same module registered under a second name)


@dataclass(frozen=True)
class LoadError:
    plugin: str
    file: str  # file:line where known: the plugin's own frame or data line, not sealdesk's
    message: str
    jurisdiction: str | None = None
    effect: str = BROKEN
    inherited: str | None = None  # unavailable because this ancestor is

    def __str__(self) -> str:
        where = f" ({self.file})" if self.file else ""
        return f"plugin '{self.plugin}'{where}: {self.message}"

    @property
    def reason(self) -> str:
        """One line for the user: the plugin (its name as installed), file:line, what went wrong."""
        msg = self.message.replace(f"{self.file}: ", "") if self.file else self.message  # a DataError repeats it
        where = f"（{self.file}）" if self.file else ""
        return " ".join(f"插件 {self.plugin}{where}：{msg}".split())


class UnknownJurisdiction(KeyError):
    pass


class BrokenJurisdiction(RuntimeError):
    """The jurisdiction is installed but unavailable: a plugin failed at load, or one of its rules
    raised while deciding. ``str()`` is the user's one line, 辖区 X 不可用：<reason>."""

    def __init__(self, jid: str, reason: str):
        self.jid, self.reason = jid, reason
        super().__init__(f"辖区 {jid} 不可用：{reason}")


_CORE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STDLIB = tuple(os.path.abspath(p) for p in {sysconfig.get_paths().get("stdlib"), sysconfig.get_paths().get("platstdlib")}
                if p)


def _under(path: str, root: str) -> bool:
    path = os.path.abspath(path)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _where(exc: BaseException, home: str = "") -> str:
    """file:line of the plugin's own frame: the innermost one under ``home`` (the plugin's package),
    else the innermost outside sealdesk's core and the standard library; a SyntaxError's own line."""
    if isinstance(exc, SyntaxError) and exc.filename and exc.lineno:
        return f"{exc.filename}:{exc.lineno}"
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith("<")]
    mine = [f for f in frames if home and _under(f.filename, home)] or \
        [f for f in frames if not _under(f.filename, _CORE) and not any(_under(f.filename, s) for s in _STDLIB)]
    return f"{mine[-1].filename}:{mine[-1].lineno}" if mine else ""


def _home(file: str) -> str:
    """The directory of a plugin package (its __init__.py's), or the module file itself."""
    if not file:
        return ""
    file = os.path.abspath(file)
    return os.path.dirname(file) if os.path.basename(file) == "__init__.py" else file


def _target_home(target: str) -> str:
    """Where an entry point's module lives, found without importing it (it failed to import)."""
    import importlib.util

    top = target.split(":")[0].strip().split(".")[0]
    try:
        spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        return ""
    if spec is None:
        return ""
    if spec.submodule_search_locations:
        return os.path.abspath(next(iter(spec.submodule_search_locations), "") or "")
    return os.path.abspath(spec.origin) if spec.origin else ""


def _log(context: str, exc: BaseException) -> None:
    """The traceback to the error log; the user sees the one-line reason."""
    from sealdesk.core.common.errorlog import log_exception

    log_exception(context, exc)


def _data_where(exc: DataError) -> str:
    return f"{exc.path}:{exc.line}" if exc.line else exc.path


def _toml_line(path: str, pattern: str) -> str:
    """``path:line`` of the first line of a TOML file matching ``pattern`` (``path`` when none does)."""
    if not path.endswith(".toml"):
        return path
    try:
        with open(path, encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                if re.match(pattern, line):
                    return f"{path}:{n}"
    except (OSError, UnicodeDecodeError):
        pass
    return path


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
        self._failed: dict[str, list[LoadError]] = {}  # plugin -> its errors (breaks its jurisdictions)
        self._impl_lines: dict[tuple[str, str], str] = {}  # (plugin, hook) -> file:line of its implementation
        if plugins is None:
            for name, target, load in discover(group):
                try:
                    module = load()
                except Exception as exc:  # a plugin that fails to import: shown under its entry point's name
                    _log(f"plugin {name}: import {target}", exc)
                    self._fail(LoadError(name, _where(exc, _target_home(target)) or target,
                                         f"import failed: {type(exc).__name__}: {exc}"))
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
        file = getattr(module, "__file__", "") or ""
        if self.pm.is_registered(module):  # the same module under a second name: nothing is lost
            self.errors.append(LoadError(name, file, f"already registered as plugin '{self.pm.get_name(module)}'; "
                                                     "ignored", effect=IGNORED))
            return
        if self.pm.has_plugin(name):  # two modules under one name: which one the county meant is unknown
            self._fail(LoadError(name, file, f"plugin name '{name}' is also used by {self.plugin_files.get(name) or '?'} "
                                             "(registered first); neither is used"))
            return
        self.pm.register(module, name=name)
        self.plugin_files[name] = file

    def _fail(self, error: LoadError) -> None:
        """An error of a plugin: every jurisdiction it defines becomes unavailable (applied in _validate,
        once all are known)."""
        self.errors.append(error)
        self._failed.setdefault(error.plugin, []).append(error)

    def _file(self, plugin: str) -> str:
        return self.plugin_files.get(plugin, "")

    def _hook_where(self, plugin: str, hook_name: str) -> str:
        """file:line of a plugin's implementation of a hook (what it returned is wrong), else its file."""
        return self._impl_lines.get((plugin, hook_name)) or self._file(plugin)

    def _check_pending(self) -> None:
        # An implementation of a hook that does not exist (a typo) is an error of that plugin only.
        while True:
            try:
                self.pm.check_pending()
                return
            except pluggy.PluginValidationError as exc:
                name = self.pm.get_name(exc.plugin) or str(exc.plugin)
                self._fail(LoadError(name, self._unknown_hook_line(exc.plugin) or self._file(name), str(exc)))
                self.pm.unregister(exc.plugin)

    def _unknown_hook_line(self, plugin) -> str:
        """file:line of a plugin's implementation of a hook that does not exist (a typo in its name)."""
        for caller in vars(self.pm.hook).values():
            if getattr(caller, "spec", True) is None:
                for impl in caller.get_hookimpls():
                    code = getattr(impl.function, "__code__", None)
                    if impl.plugin is plugin and code is not None:
                        return f"{code.co_filename}:{code.co_firstlineno}"
        return ""

    def _call_each(self, hook_name: str):
        """Call every implementation of a hook separately; yield (plugin, result)."""
        hook = getattr(self.pm.hook, hook_name)
        impls = sorted(hook.get_hookimpls(), key=lambda i: i.plugin_name)
        for impl in impls:
            code = getattr(impl.function, "__code__", None)
            if code is not None:
                self._impl_lines[impl.plugin_name, hook_name] = f"{code.co_filename}:{code.co_firstlineno}"
            try:
                result = impl.function()
            except DataError as exc:
                self._fail(LoadError(impl.plugin_name, _data_where(exc), f"{hook_name}: {exc}"))
                continue
            except Exception as exc:
                _log(f"plugin {impl.plugin_name}: {hook_name}", exc)
                file = self._file(impl.plugin_name)
                self._fail(LoadError(impl.plugin_name, _where(exc, _home(file)) or file,
                                     f"{hook_name} raised {type(exc).__name__}: {exc}"))
                continue
            if result is None:
                continue
            if not isinstance(result, (list, tuple)):
                self._fail(LoadError(impl.plugin_name, self._hook_where(impl.plugin_name, hook_name),
                                     f"{hook_name} must return a list, got {type(result).__name__}"))
                continue
            yield impl.plugin_name, list(result)

    # -- collection --------------------------------------------------------------
    def _collect_jurisdictions(self) -> None:
        for plugin, result in self._call_each("sealdesk_jurisdictions"):
            for data in result:
                if not isinstance(data, JurisdictionData):
                    self._fail(LoadError(plugin, self._hook_where(plugin, "sealdesk_jurisdictions"),
                                         f"sealdesk_jurisdictions returned {type(data).__name__}, "
                                         "expected JurisdictionData"))
                    continue
                data.plugin = plugin
                data.items = tuple(replace(it, plugin=plugin) for it in data.items)
                data.rules = tuple(replace(r, plugin=plugin) for r in data.rules)
                if data.id in self.jurisdictions:
                    # Which definition the county meant is unknown: the id is unavailable (fail safe).
                    other = self.jurisdictions[data.id]
                    self._break(data.id, LoadError(plugin, self._id_line(data), f"jurisdiction '{data.id}' is also "
                                                   f"defined by plugin '{other.plugin}' ({self._id_line(other)}), "
                                                   "where it was first defined"))
                    continue
                self.jurisdictions[data.id] = data

    def _id_line(self, data: JurisdictionData) -> str:
        """Where a jurisdiction's id is written: its jurisdiction.toml's ``id =`` line."""
        return _toml_line(data.files[0], r"\s*id\s*=") if data.files else self._file(data.plugin)

    def _collect_facts(self) -> None:
        for plugin, result in self._call_each("sealdesk_facts"):
            for spec in result:
                if not isinstance(spec, FactSpec) or spec.name in self.facts:
                    what = getattr(spec, "name", type(spec).__name__)
                    self._fail(LoadError(plugin, self._hook_where(plugin, "sealdesk_facts"),
                                         f"fact '{what}' is already defined or not a FactSpec"))
                    continue
                self.facts[spec.name] = spec

    def _collect_rules(self) -> None:
        self.rules: dict[str, Rule] = {}
        collected: list[Rule] = [r for j in self.jurisdictions.values() for r in j.rules]
        for plugin, result in self._call_each("sealdesk_rules"):
            for rule in result:
                if not isinstance(rule, Rule):
                    self._fail(LoadError(plugin, self._hook_where(plugin, "sealdesk_rules"),
                                         f"sealdesk_rules returned {type(rule).__name__}, expected Rule"))
                    continue
                collected.append(replace(rule, plugin=plugin, source=rule.source or self._file(plugin)))
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
                    self._fail(LoadError(plugin, self._hook_where(plugin, "sealdesk_workflow_rules"),
                                         f"sealdesk_workflow_rules returned {type(rule).__name__}, "
                                         "expected WorkflowRule with a callable check"))
                    continue
                collected.append(replace(rule, plugin=plugin, source=rule.source or self._file(plugin)))
        for rule in sorted(collected, key=lambda r: r.id):
            if rule.jurisdiction not in self.jurisdictions:
                self._fail(LoadError(rule.plugin, rule.source,
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

        A bad template is a load error of its plugin that breaks nothing: the jurisdiction still
        decides, and that paper keeps the wording of its parent (the message says so). A template
        for a jurisdiction no plugin defines, or a hook that fails, is an error of the plugin.
        """
        from sealdesk.core.engine.wording import PAPERS, PaperTemplate, TemplateError, base_template, check_fields

        collected = [PaperTemplate(j.id, paper, fields, j.plugin, j.files[0] if j.files else "")
                     for j in self.jurisdictions.values() for paper, fields in j.papers.items()]
        for plugin, result in self._call_each("sealdesk_paper_templates"):
            for t in result:
                if not isinstance(t, PaperTemplate) or not isinstance(t.fields, dict):
                    self._fail(LoadError(plugin, self._hook_where(plugin, "sealdesk_paper_templates"),
                                         f"sealdesk_paper_templates returned {type(t).__name__}, "
                                         "expected PaperTemplate"))
                    continue
                collected.append(replace(t, plugin=plugin, source=t.source or self._file(plugin)))
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
                if t.jurisdiction not in self.jurisdictions:
                    self._fail(LoadError(t.plugin, t.source, str(exc)))
                    continue
                # Only this paper's wording is lost, and the message says what the paper uses instead.
                first = self.paper_templates.get((t.jurisdiction, t.paper))
                parent = self.jurisdictions[t.jurisdiction].parent
                if first is not None:
                    kept = f"this one is ignored: the {t.paper} paper of {t.jurisdiction} keeps that of plugin " \
                           f"'{first.plugin}'"
                else:
                    kept = f"[papers.{t.paper}] is ignored: the {t.paper} paper of {t.jurisdiction} keeps " + \
                           (f"the wording of its parent '{parent}'" if parent else "sealdesk's base wording") + \
                           "; decisions are not affected"
                where = _toml_line(t.source, rf"\s*\[\s*papers\.{re.escape(t.paper)}\s*\]")
                self.errors.append(LoadError(t.plugin, where, f"{exc}; {kept}", t.jurisdiction, effect=FALLBACK))
                continue
            self.paper_templates[(t.jurisdiction, t.paper)] = t

    def _break(self, jid: str, error: LoadError) -> None:
        error = replace(error, jurisdiction=jid)
        self.errors.append(error)
        self.broken.setdefault(jid, []).append(error)

    def _apply_failures(self) -> None:
        """Each failed plugin: its jurisdictions are unavailable; one that defined none (it failed
        before it could: an import, bad TOML, a raising ``sealdesk_jurisdictions``) is listed under its
        entry point's name, unless another plugin's jurisdiction has that id."""
        for plugin, errors in self._failed.items():
            jids = sorted(j for j, d in self.jurisdictions.items() if d.plugin == plugin)
            if not jids and plugin not in self.jurisdictions:
                jids = [plugin]
            for jid in jids:
                self.broken.setdefault(jid, []).extend(replace(e, jurisdiction=jid) for e in errors)

    def _descendants(self, jid: str) -> list[str]:
        out = []
        for j, data in self.jurisdictions.items():
            cur, seen = data.parent, {j}
            while cur is not None and cur not in seen:
                if cur == jid:
                    out.append(j)
                    break
                seen.add(cur)
                cur = self.jurisdictions[cur].parent if cur in self.jurisdictions else None
        return sorted(out)

    # -- validation --------------------------------------------------------------
    def chain_ids(self, jid: str) -> list[str]:
        """Ids from national down to ``jid`` (root first)."""
        out, seen, cur = [], set(), jid
        while cur is not None:
            if cur in seen:
                raise BrokenJurisdiction(jid, f"jurisdiction '{jid}': parent cycle through '{cur}'")
            seen.add(cur)
            if cur not in self.jurisdictions:
                failed = self.broken.get(cur) or [e for e in self.errors if e.plugin == cur or e.jurisdiction == cur]
                if failed:
                    raise BrokenJurisdiction(jid, f"jurisdiction '{jid}': parent jurisdiction '{cur}' failed to load "
                                                  f"({failed[0]})")
                raise BrokenJurisdiction(jid, f"jurisdiction '{jid}': parent '{cur}' is not installed")
            out.append(cur)
            cur = self.jurisdictions[cur].parent
        return out[::-1]

    def depth(self, jid: str) -> int:
        return len(self.chain_ids(jid)) - 1

    def _validate(self) -> None:
        from sealdesk.core.engine.catalog import check_catalog  # late import: catalog needs the registry's types only

        for rule in self.rules.values():
            if rule.jurisdiction not in self.jurisdictions:
                self._fail(LoadError(rule.plugin, rule.source,
                                     f"rule {rule.id} is for unknown jurisdiction '{rule.jurisdiction}'"))
        self._apply_failures()
        for jid, data in sorted(self.jurisdictions.items()):
            try:
                chain = self.chain_ids(jid)
            except BrokenJurisdiction as exc:
                self._break(jid, LoadError(data.plugin, data.files[0] if data.files else "", exc.reason))
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
        # Descendants of a broken jurisdiction are broken too.
        for jid in sorted(self.jurisdictions):
            try:
                chain = self.chain_ids(jid)
            except BrokenJurisdiction:
                continue
            for anc in chain[:-1]:
                if anc in self.broken and jid not in self.broken:
                    self.broken[jid] = [LoadError(self.jurisdictions[jid].plugin, "",
                                                  f"parent jurisdiction '{anc}' failed to load", jid, inherited=anc)]

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

    def reason(self, jid: str) -> str:
        """Why ``jid`` is unavailable, in one line naming the plugin and file:line ("" if it is not)."""
        errors = self.broken.get(jid)
        if not errors:
            return ""
        first = errors[0]
        if first.inherited and first.inherited != jid and self.broken.get(first.inherited):
            return f"上级辖区 {first.inherited} 不可用：{self.broken[first.inherited][0].reason}"
        more = f"（另有 {len(errors) - 1} 处问题，见 sealdesk plugin check {first.plugin}）" if len(errors) > 1 else ""
        return first.reason + more

    def get(self, jid: str) -> JurisdictionData:
        if jid in self.broken:
            raise BrokenJurisdiction(jid, self.reason(jid))
        if jid not in self.jurisdictions:
            raise UnknownJurisdiction(jid)
        return self.jurisdictions[jid]

    def view(self, jid: str, on):
        """The rules and catalog of ``jid`` in force on date ``on`` (cached)."""
        if jid in self.broken:  # also after a view of it was cached: a rule of it has raised since
            self.get(jid)
        key = (jid, on)
        v = self._views.get(key)
        if v is None:
            from sealdesk.core.engine.catalog import build_view

            self.get(jid)
            v = build_view(self, jid, on)
            v.registry = self  # the protocol records here a rule that raises (break_at_runtime)
            if len(self._views) > 4096:
                self._views.clear()
            self._views[key] = v
        return v

    def break_at_runtime(self, jid: str, rule: Rule, exc: BaseException) -> BrokenJurisdiction:
        """A rule raised (or returned no Step) while deciding in ``jid``: the rule's jurisdiction and
        its descendants become unavailable from now on, the traceback goes to the error log, and the
        error to raise instead of a decision is returned (fail safe: no outcome at all)."""
        _log(f"jurisdiction {jid}: rule {rule.id} of plugin {rule.plugin} failed while deciding", exc)
        error = LoadError(rule.plugin, _rule_where(rule, exc, self._file(rule.plugin)),
                          f"rule {rule.id} raised {type(exc).__name__}: {exc} while deciding",
                          rule.jurisdiction if rule.jurisdiction in self.jurisdictions else jid)
        root = error.jurisdiction
        self.errors.append(error)
        self.broken.setdefault(root, []).append(error)
        for d in self._descendants(root):
            self.broken.setdefault(d, [LoadError(self.jurisdictions[d].plugin, "",
                                                 f"parent jurisdiction '{root}' failed while deciding", d,
                                                 inherited=root)])
        self._views = {k: v for k, v in self._views.items() if k[0] not in self.broken}
        return BrokenJurisdiction(jid, self.reason(jid))


def _rule_where(rule: Rule, exc: BaseException, plugin_file: str) -> str:
    """The plugin's own line: its frame in the traceback, else where its apply function is written
    (a rule that returned no Step), else the rule's source (a rule from TOML runs sealdesk's code)."""
    where = _where(exc, _home(plugin_file))
    if where:
        return where
    code = getattr(rule.apply, "__code__", None)
    if code is not None and not _under(code.co_filename, _CORE):
        return f"{code.co_filename}:{code.co_firstlineno}"
    return rule.source or plugin_file


def rule_failed(view, rule: Rule, exc: BaseException) -> BrokenJurisdiction:
    """For the protocol: a rule failed while deciding with ``view``; recorded in its registry."""
    registry = getattr(view, "registry", None)
    if registry is not None:
        return registry.break_at_runtime(view.jurisdiction, rule, exc)
    _log(f"jurisdiction {view.jurisdiction}: rule {rule.id} failed while deciding", exc)  # a view built by hand
    error = LoadError(rule.plugin, _rule_where(rule, exc, ""),
                      f"rule {rule.id} raised {type(exc).__name__}: {exc} while deciding")
    return BrokenJurisdiction(view.jurisdiction, error.reason)


_default: Registry | None = None


def default_registry() -> Registry:
    """The process-wide registry, built on first use."""
    global _default
    if _default is None:
        _default = Registry()
    return _default
