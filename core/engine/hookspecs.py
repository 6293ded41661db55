"""Plugin hooks of sealdesk.

A jurisdiction plugin is a Python module registered under the entry-point group
``sealdesk.jurisdictions``. It implements some of the hooks below with
``@hookimpl``. Hooks are called once, at start-up, by the plugin manager
(``sealdesk.core.engine.plugins``), each plugin's implementation separately so that one
broken plugin cannot take the others down. A plugin is used whole or not at all: a hook
that raises (or returns what it should not) makes every jurisdiction of its plugin
unavailable, shown as 不可用 with the plugin's file and line. Their results are merged by
jurisdiction depth and explicit ``overrides`` links, never by call order.

Every hook here has a docstring saying when it is called, what it returns and an
example; ``tests/test_hooks.py`` fails for a hook without one, or without a test
named ``test_hook_<name>``.
"""

from __future__ import annotations

import pluggy

PROJECT = "sealdesk"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def sealdesk_jurisdictions():
    """Declare the jurisdictions this plugin defines.

    Called once at start-up, before any other hook.

    Returns a list of :class:`~sealdesk.core.engine.jurisdiction.JurisdictionData`, usually
    read from the TOML files beside the plugin with
    :func:`sealdesk.core.api.load_jurisdiction`: the jurisdiction's id,
    its parent, its policy documents with validity dates, its certificate items
    (negative and retained lists with routes, exceptions, aliases and legacy
    names), and data-driven rules (seal rules, extra requirements, notices).
    A jurisdiction extends exactly one parent (``national`` has none). An item that
    replaces a parent's item says so with ``overrides = "national.negative.2"``.

    Example::

        from sealdesk.core.api import hookimpl
        from sealdesk.core.api import load_jurisdiction

        @hookimpl
        def sealdesk_jurisdictions():
            return [load_jurisdiction(__name__)]  # jurisdiction.toml + catalog.toml beside this module
    """


@hookspec
def sealdesk_rules():
    """Contribute decision rules written in Python.

    Called once at start-up, after every plugin's ``sealdesk_jurisdictions``.

    Returns a list of :class:`sealdesk.core.api.Rule`. A rule belongs to one
    jurisdiction and one *slot* of the protocol (``retained``, ``negative``,
    ``unlisted``, ``public_interest`` are exclusive: one rule decides;
    ``seal``, ``requirements`` and ``notice`` are additive). A rule in an
    exclusive slot that replaces an ancestor's rule must name it in
    ``overrides``; two rules of one jurisdiction in one exclusive slot without
    such a link are a load-time conflict. A rule applies only while the
    document of its citation is in force. ``apply(ctx, step)`` must be pure: it
    reads ``ctx`` (request, facts, item, view) and returns the new ``step``. A rule
    that raises while deciding gives no outcome: its jurisdiction and the
    jurisdiction's descendants become unavailable (不可用, naming the rule's file and line) until
    sealdesk is restarted with the plugin fixed; if this hook itself raises, the
    plugin's jurisdictions are unavailable from the start.

    Example::

        from sealdesk.core.api import Rule, Step
        from sealdesk.core.api import Citation, Outcome

        def unlisted(ctx, step):
            if ctx.known_false("verifiable"):
                return step.refuse("无法调查核实", ctx.rule.citation)
            return step.need("verifiable") or step.issue(ctx.rule.citation)

        @hookimpl
        def sealdesk_rules():
            return [Rule("my-district.unlisted", "my-district", "unlisted",
                         Citation("某府发〔2024〕1号", "三"), unlisted,
                         overrides="national.unlisted")]
    """


@hookspec
def sealdesk_facts():
    """Declare facts (情形) that this plugin's rules use and the core does not know.

    Called once at start-up. Facts of DOMAIN.md section 4 are built in; a plugin
    adds its own here so that ``--fact NAME`` accepts it and the TUI can ask it.

    Returns a list of :class:`sealdesk.core.api.FactSpec` (name, kind
    ``required`` or ``assertive``, label, the question, and the rule text it
    comes from). A name that is already defined is a load error.

    Example::

        from sealdesk.core.api import FactSpec, ASSERTIVE

        @hookimpl
        def sealdesk_facts():
            return [FactSpec("flood_zone", ASSERTIVE, "位于蓄洪区",
                             "申请人住所是否位于蓄洪区？",
                             "蓄洪区内居民……", "某府发〔2024〕1号 二", "my-district")]
    """


@hookspec
def sealdesk_workflow_rules():
    """Contribute rules of the seal workflow (审批、用印、备案) written in Python.

    Called once at start-up, after ``sealdesk_rules``. Most jurisdictions need
    none: ``[[workflow_rules]]`` in jurisdiction.toml names one of the built-in
    checks of :data:`sealdesk.core.engine.workflow_rules.NAMED_CHECKS` (``approver_not_keeper``,
    ``approval_before_stamp``, ``one_registration``, ``filing``). Use this hook
    for a check those do not cover.

    Returns a list of :class:`sealdesk.core.api.WorkflowRule`: its id,
    jurisdiction, the action it guards (``approve``, ``stamp``, ``file`` or
    ``void``), ``check(matter, person)`` returning the reason it refuses (a
    Chinese sentence shown to the clerk) or None, and its citation. The rule
    applies in its jurisdiction and every descendant while the cited document is
    in force; every rule that refuses is named in the refusal. A check must be
    pure: it reads the matter (the request and the records that acted on it) and
    the person, and writes nothing.

    Example::

        from sealdesk.core.api import WorkflowRule
        from sealdesk.core.api import Citation

        def two_days(matter, person):
            if matter.approve and matter.approve.at[:10] == matter.entry.at[:10]:
                return "审批须在登记次日以后"
            return None

        @hookimpl
        def sealdesk_workflow_rules():
            return [WorkflowRule("my-district.workflow.next_day", "my-district", "stamp", two_days,
                                 Citation("某府发〔2024〕1号", "五"), "审批须在登记次日以后")]
    """


@hookspec
def sealdesk_paper_templates():
    """Change the wording of papers (文书) for a jurisdiction, in Python.

    Called once at start-up, after ``sealdesk_workflow_rules``. Most plugins need none:
    ``[papers.<paper>]`` in jurisdiction.toml does the same as data. Papers are
    ``certificate``, ``refusal``, ``commitment``, ``consultation``, ``inventory``,
    ``retained`` and ``notice``; their base templates are ``templates/<paper>.toml``.

    Returns a list of :class:`sealdesk.core.api.PaperTemplate`: the jurisdiction, the
    paper and a dict of keys that replace the base template's (merged from national down
    to the jurisdiction, deeper winning). Keys and ``{placeholders}`` are checked at load:
    an unknown one is a load error naming the plugin, and the paper keeps its parent's
    wording. Values are filled with the register's data as plain text.

    Example::

        from sealdesk.core.api import PaperTemplate

        @hookimpl
        def sealdesk_paper_templates():
            return [PaperTemplate("my-district", "refusal", {
                "closing": "特此告知。如有疑问，请咨询{township}民政办。",
            })]
    """
