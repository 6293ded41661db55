"""The concepts of DOMAIN.md section 2, as immutable values.

Everything here is plain data: the decision protocol (``protocol.py``) is a pure
function over these types, and plugins produce them from their TOML files.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property
from typing import NamedTuple
from json.encoder import encode_basestring as _js  # C-accelerated; what json.dumps(ensure_ascii=False) uses

from sealdesk.core.engine.facts import fact_label


def _jlist(strings) -> str:
    return "[" + ",".join(map(_js, strings)) + "]"


class Outcome(str, Enum):
    """DOMAIN.md section 5."""

    ISSUE = "issue"
    ISSUE_AFTER_CONSULTATION = "issue_after_consultation"
    ISSUE_TRANSITIONAL = "issue_transitional"
    COMMITMENT = "commitment"
    REFUSE = "refuse"
    ASK = "ask"

    @property
    def label(self) -> str:
        return OUTCOME_LABELS[self]

    @property
    def issuing(self) -> bool:
        """True for the outcomes that put the committee's seal on a certificate."""
        return self in ISSUING


OUTCOME_LABELS = {
    Outcome.ISSUE: "出具",
    Outcome.ISSUE_AFTER_CONSULTATION: "议事协商后出具",
    Outcome.ISSUE_TRANSITIONAL: "据实出具",
    Outcome.COMMITMENT: "告知承诺",
    Outcome.REFUSE: "不予出具",
    Outcome.ASK: "待补充",
}
ISSUING = frozenset({Outcome.ISSUE, Outcome.ISSUE_AFTER_CONSULTATION, Outcome.ISSUE_TRANSITIONAL})

# Requirement codes of DOMAIN.md section 5, in the order they are shown.
REQUIREMENTS = {
    "verification": "调查核实",
    "consultation": "议事协商",
    "head_signature": "负责人签字",
    "risk_assessment": "充分评估并预先防范法律风险",
    "retention": "登记留存",
    "approval": "用印审批",
    "commitment_letter": "书面承诺书",
}
_REQ_ORDER = {code: i for i, code in enumerate(REQUIREMENTS)}


def ordered_requirements(codes) -> tuple[str, ...]:
    """Deduplicate and sort requirement codes into their canonical order."""
    return tuple(sorted(set(codes), key=lambda c: _REQ_ORDER.get(c, len(_REQ_ORDER))))


@dataclass(frozen=True)
class PolicyDocument:
    """A policy document (政策文件) with its validity dates.

    ``effective_from`` is None when the seeds do not give the date; such a document
    is treated as in force from the start (its ``note`` says why).
    """

    id: str
    number: str  # 文号, or a descriptive label when the document has none
    title: str
    issuer: str
    date: dt.date | None
    effective_from: dt.date | None
    effective_until: dt.date | None = None
    jurisdiction: str = ""
    source: str = ""
    note: str = ""

    def in_force(self, on: dt.date) -> bool:
        if self.effective_from is not None and on < self.effective_from:
            return False
        if self.effective_until is not None and on > self.effective_until:
            return False
        return True

    @property
    def label(self) -> str:
        return self.number or self.title


@dataclass(frozen=True)
class Citation:
    """A document plus a provision, e.g. 民发〔2020〕20号 附件第8项."""

    document: str  # the document's number (文号) as printed
    provision: str = ""
    quote: str = field(default="", compare=False)  # the passage applied, verbatim (optional)

    def text(self) -> str:
        return self.label

    @cached_property
    def label(self) -> str:
        return f"{self.document} {self.provision}".strip()

    def to_json(self) -> dict:
        return {"document": self.document, "provision": self.provision}

    @cached_property
    def json_text(self) -> str:
        return '{"document":' + _js(self.document) + ',"provision":' + _js(self.provision) + "}"


def citation_label(c: dict) -> str:
    """A citation as it appears in a decision's JSON (``Citation.to_json``), as one line: its label."""
    return f"{c['document']} {c.get('provision') or ''}".strip()


@dataclass(frozen=True)
class Condition:
    """Purpose keywords, requesting-unit keywords and asserted facts; it holds when any of them matches.

    A retained item's restriction is such a condition (仅用于…, its 证明用途 or 涉及办理事项):
    ``state`` tells a request for another use (False) from one whose use is not known yet (None).
    """

    text: str = ""
    purposes: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()
    requesters: tuple[str, ...] = ()  # the requesting unit alone settles the use (征兵办公室)

    def holds(self, purpose_key: str, facts: "Facts", requester_key: str = "") -> bool:
        if purpose_key:
            for p in self.purposes:
                if p in purpose_key:
                    return True
        if requester_key:
            for r in self.requesters:
                if r in requester_key:
                    return True
        for f in self.facts:
            if facts.asserted(f):
                return True
        return False

    def state(self, purpose_key: str, facts: "Facts", requester_key: str = "") -> bool | None:
        """True when it holds; None when it could still hold (no purpose given, a fact not answered); else False."""
        if self.holds(purpose_key, facts, requester_key):
            return True
        if self.purposes and not purpose_key:
            return None
        if any(facts.value(f) is None for f in self.facts):
            return None
        return False

    def unknown(self, purpose_key: str, facts: "Facts") -> list[str]:
        """What to ask for the condition to be decided: ``purpose`` and/or the facts not answered."""
        out = ["purpose"] if self.purposes and not purpose_key else []
        return out + [f for f in self.facts if facts.value(f) is None]

    def matched(self, purpose_key: str, facts: "Facts", requester_key: str = "", specs=None) -> list[str]:
        """What made the condition hold, for the explanation; ``specs`` (name -> FactSpec) gives
        the facts' labels (已确认“婚姻登记档案丢失”), never their ids."""
        out = [f"用途含“{p}”" for p in self.purposes if p in purpose_key]
        out += [f"索要单位含“{r}”" for r in self.requesters if requester_key and r in requester_key]
        out += [f"已确认“{fact_label(f, specs or {})}”" for f in self.facts if facts.asserted(f)]
        return out


@dataclass(frozen=True)
class CarveOut:
    """A retained entry carving a negative entry out (Chongqing 附件2 说明)."""

    item: str  # id of the negative item carved out
    condition: Condition | None = None  # None: the retained item's restriction


# The national lists' titles and short names: what an item of a list that names no title of its own
# is called (``ItemList.default``), and the words explanations have always used for the national lists.
NATIONAL_LIST_TITLES = {"negative": "不应由基层群众性自治组织出具证明事项清单",
                        "retained": "基层群众性自治组织依法出具证明事项清单"}
LIST_SHORT = {"negative": "负面清单", "retained": "保留清单"}


@dataclass(frozen=True)
class ItemList:
    """One jurisdiction's negative or retained list: whose it is, its title and the short name
    explanations use. Items of several lists meet in one view (a county's own items beside the
    national ones), each numbered in its own list: the list is what makes 第1项 mean one item."""

    jurisdiction: str
    list: str  # "negative" | "retained"
    title: str  # 《…》 on papers, without the brackets
    short: str  # 负面清单, 某某县负面清单: before 第N项 in explanations and tables
    source: str = ""  # where the title is written (a seed passage), when given

    @classmethod
    def default(cls, jurisdiction: str, lst: str, name: str = "") -> "ItemList":
        """The national titles for ``national`` (and for an unnamed jurisdiction); otherwise
        ``{name}不应由基层群众性自治组织出具证明事项补充清单`` / ``{name}基层群众性自治组织依法出具证明事项补充清单``,
        short ``{name}负面清单`` / ``{name}保留清单``: a jurisdiction's own list supplements the ones it inherits."""
        if jurisdiction == "national" or not name:
            return cls(jurisdiction, lst, NATIONAL_LIST_TITLES[lst], LIST_SHORT[lst])
        title = NATIONAL_LIST_TITLES[lst].replace("清单", "补充清单")
        return cls(jurisdiction, lst, f"{name}{title}", f"{name}{LIST_SHORT[lst]}")


@dataclass(frozen=True)
class CertificateItem:
    """A certificate item (证明事项) in a negative or a retained list.

    ``number`` is its position in the list it is shown in (``list_title``, ``list_short``, of
    ``list_jurisdiction``): its own jurisdiction's list, or, for an item that ``overrides`` an
    inherited one, the list and number of the item it replaces (``catalog._merge_items``)."""

    id: str  # "<jurisdiction>.<list>.<number>"
    jurisdiction: str
    list: str  # "negative" | "retained"
    number: int
    name: str
    aliases: tuple[str, ...] = ()
    legacy_names: tuple[str, ...] = ()
    source_name: str = ""
    route: str = ""
    exceptions: tuple[Condition, ...] = ()
    citations: tuple[Citation, ...] = ()
    overrides: str | None = None
    remark: str = ""
    label: str = ""  # e.g. 示例 for Qinghai's 附件3 row
    # retained-list fields
    requesting_unit: str = ""
    purpose: str = ""
    basis: tuple[str, ...] = ()
    method: str = ""
    matters: str = ""
    restriction: Condition | None = None  # 仅用于… (备注)
    use: Condition | None = None  # the use its entry names (证明用途, 要求提供证明单位), where no 仅用于 is given
    carves_out: tuple[CarveOut, ...] = ()
    basis_citations: tuple[Citation, ...] = ()  # the laws in ``basis``, cited when the item is issued
    plugin: str = ""  # the plugin that supplied it
    source: str = ""  # where its words come from (a seed passage), else where it is defined
    note: str = ""
    # file:line of its [[negative]]/[[retained]] table, for error messages; not part of its identity
    defined_at: str = field(default="", compare=False)
    # The list it is numbered in (ItemList): empty on an item built without one, shown as the national list's.
    list_jurisdiction: str = ""
    list_title: str = ""
    list_short: str = ""

    @property
    def where(self) -> str:
        """Where to look for it: its file:line when it came from a catalog, else its source."""
        return self.defined_at or self.source

    @property
    def limit(self) -> Condition | None:
        """What a retained item is limited to: its 仅用于 restriction, else the use its entry names."""
        return self.restriction or self.use

    @property
    def limit_text(self) -> str:
        """``保留清单第4项“政治考核证明”只用于：…。`` (or the entry's own 仅用于… sentence)."""
        r = self.limit
        if r is None:
            return ""
        text = r.text.strip()
        if text and text[-1] not in "。；;.！":
            text += "。"
        if text.startswith("仅用于"):
            return f"{self.display}{text}"
        return f"{self.display}只{text}" if text.startswith("用于") else f"{self.display}只用于：{text}"

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases, *self.legacy_names)

    def ref(self) -> dict:
        return {"id": self.id, "name": self.name, "list": self.list, "number": self.number,
                "list_jurisdiction": self.list_jurisdiction or self.jurisdiction, "list_title": self.title_of_list,
                "list_short": self.list_label}

    @cached_property
    def ref_text(self) -> str:
        return ('{"id":' + _js(self.id) + ',"name":' + _js(self.name) + ',"list":' + _js(self.list)
                + ',"number":' + str(self.number)
                + ',"list_jurisdiction":' + _js(self.list_jurisdiction or self.jurisdiction)
                + ',"list_title":' + _js(self.title_of_list) + ',"list_short":' + _js(self.list_label) + "}")

    @cached_property
    def route_text(self) -> str:
        return _js(self.route)

    @property
    def list_label(self) -> str:
        """The short name of the list it is numbered in: 负面清单 (national), 重庆市保留清单."""
        return self.list_short or LIST_SHORT.get(self.list, "清单")

    @property
    def title_of_list(self) -> str:
        """The title of the list it is numbered in, as papers print it in 《》."""
        return self.list_title or NATIONAL_LIST_TITLES.get(self.list, "证明事项清单")

    @property
    def position(self) -> str:
        """负面清单第5项, 某某县负面清单第1项: which list and where in it."""
        return f"{self.list_label}第{self.number}项"

    @cached_property
    def display(self) -> str:
        """负面清单第5项“无犯罪记录证明”, 某某县负面清单第1项“学生社会实践证明”"""
        return f"{self.list_label}第{self.number}项“{self.name}”"


class Facts:
    """Three-valued facts: True, False, or unknown (absent).

    Assertive facts (DOMAIN.md section 4) are false unless asserted; required facts
    stay unknown until the clerk answers them, and the engine never guesses them.
    """

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, bool] | None = None):
        self._values = dict(values or {})

    def asserted(self, name: str) -> bool:
        return self._values.get(name) is True

    def value(self, name: str) -> bool | None:
        return self._values.get(name)

    def as_dict(self) -> dict[str, bool]:
        return dict(self._values)

    def __eq__(self, other):
        return isinstance(other, Facts) and self._values == other._values

    def __hash__(self):
        return hash(frozenset(self._values.items()))

    def __repr__(self):
        return f"Facts({self._values!r})"


@dataclass(frozen=True)
class Request:
    """A resident's request (申请) as the engine sees it."""

    query: str
    purpose: str = ""
    requester: str = ""
    facts: Facts = field(default_factory=Facts)


class Match(NamedTuple):
    """Which wording of the request matched the item: the catalog name, an alias, a legacy name or a
    resident word (with its reason)."""

    wording: str
    kind: str  # name | alias | legacy | source | word
    reason: str = ""

    def to_json(self) -> dict:
        return {"wording": self.wording, "kind": self.kind, "reason": self.reason}

    def json_text(self) -> str:
        return ('{"wording":' + _js(self.wording) + ',"kind":' + _js(self.kind) + ',"reason":' + _js(self.reason)
                + "}")


class Ground(NamedTuple):
    """One reason a decision was reached (shown on refusal notices). A NamedTuple: built per decision."""

    code: str
    text: str
    citation: Citation | None = None

    def to_json(self) -> dict:
        out = {"code": self.code, "text": self.text}
        if self.citation:
            out["citation"] = self.citation.to_json()
        return out

    def json_text(self) -> str:
        cit = ',"citation":' + self.citation.json_text if self.citation else ""
        return '{"code":' + _js(self.code) + ',"text":' + _js(self.text) + cit + "}"


@dataclass(slots=True)
class Decision:
    """DOMAIN.md section 5: outcome + item + route + requirements + citations + warnings + explanation.

    Treat as immutable (every field is a tuple or a scalar); not frozen only because
    frozen dataclasses are slow to build and the engine makes tens of thousands a second.
    """

    jurisdiction: str
    date: dt.date
    query: str
    item: CertificateItem | None
    outcome: Outcome
    route: str | None
    requirements: tuple[str, ...]
    questions: tuple[str, ...]
    citations: tuple[Citation, ...]
    warnings: tuple[str, ...]
    explanation: tuple[str, ...]
    grounds: tuple[Ground, ...] = ()
    candidates: tuple[CertificateItem, ...] = ()
    purpose: str = ""
    requester: str = ""
    facts: Facts = field(default_factory=Facts)
    notices: tuple[str, ...] = ()  # extra sentences for the resident (e.g. Jilin's 清单之外不得索要)
    match: Match | None = None  # which wording matched the item (None: unlisted, or candidates)
    # Per explanation line, the outcome reached when it was written (Step.stages); not in the JSON.
    stages: tuple = ()

    def to_json(self) -> dict:
        return {
            "jurisdiction": self.jurisdiction,
            "date": self.date.isoformat(),
            "query": self.query,
            "item": self.item.ref() if self.item else None,
            "outcome": self.outcome.value,
            "route": self.route,
            "requirements": list(self.requirements),
            "questions": list(self.questions),
            "citations": [c.to_json() for c in self.citations],
            "warnings": list(self.warnings),
            "explanation": list(self.explanation),
            "grounds": [g.to_json() for g in self.grounds],
            "candidates": [c.ref() for c in self.candidates],
            "notices": list(self.notices),
            "match": self.match.to_json() if self.match else None,
            "purpose": self.purpose,
            "requester": self.requester,
            "facts": self.facts.as_dict(),
        }

    def to_json_text(self) -> str:
        """``json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":"))``, built from cached
        fragments: batch output spends most of its time here (tests check the two agree)."""
        item = self.item
        if self.route is None:
            route = "null"
        elif item is not None and self.route == item.route:
            route = item.route_text
        else:
            route = _js(self.route)
        facts = self.facts.as_dict()
        return "".join((
            '{"jurisdiction":', _js(self.jurisdiction),
            ',"date":"', self.date.isoformat(),
            '","query":', _js(self.query),
            ',"item":', item.ref_text if item is not None else "null",
            ',"outcome":"', self.outcome.value,
            '","route":', route,
            ',"requirements":', _jlist(self.requirements),
            ',"questions":', _jlist(self.questions),
            ',"citations":[', ",".join(c.json_text for c in self.citations),
            '],"warnings":', _jlist(self.warnings),
            ',"explanation":', _jlist(self.explanation),
            ',"grounds":[', ",".join(g.json_text() for g in self.grounds),
            '],"candidates":[', ",".join(c.ref_text for c in self.candidates),
            '],"notices":', _jlist(self.notices),
            ',"match":', self.match.json_text() if self.match else "null",
            ',"purpose":', _js(self.purpose),
            ',"requester":', _js(self.requester),
            ',"facts":{', ",".join(_js(k) + (":true" if v else ":false") for k, v in facts.items()),
            "}}",
        ))
