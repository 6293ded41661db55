"""The counter: what the CLI, the TUI and the register service call.

A :class:`Desk` joins the community's configuration, the jurisdiction's rules
and the seal register. Every method takes the caller's login (the operating
system's, or the Unix-socket peer's when the register service calls) and
returns plain JSON-able data, so the service can pass results through
unchanged. ``as_login`` impersonates another person, in a demo community only.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import pwd
from pathlib import Path
from typing import Iterator

from sealdesk.core import __version__
from sealdesk.core.register.community import ROLES, Community, Person, load_community
from sealdesk.core.papers.content import PAPERS
from sealdesk.core.engine.model import Facts, Outcome, Request, citation_label
from sealdesk.core.engine.protocol import decide
from sealdesk.core.register.store import Register, Record
from sealdesk.core.register.resident import REASON_MAX, InvalidInput, clean_text, mask_id, validate_id, validate_name
from sealdesk.core.register.workflow import (ROLE_FOR, STATUS, Matter, Refused, matter_status, reasons_against,
                                             role_reasons, serial_text, steps_of)


def os_login() -> str:
    try:
        return pwd.getpwuid(os.geteuid()).pw_name
    except KeyError:
        return getpass.getuser()


def entry_number(entry) -> int:
    try:
        return int(entry)
    except (TypeError, ValueError):  # the service passes on whatever a client sent
        raise InvalidInput(f"登记号应为数字，而不是 {entry!r}") from None


def open_register(community: Community):
    """The community's register: its PostgreSQL schema when ``[register] url`` is set, else the file."""
    c = community
    if c.register_url:
        from sealdesk.core.register.postgres import PgRegister

        return PgRegister(c.register_url, community=c.name, township=c.township, county=c.county,
                          jurisdiction=c.jurisdiction)
    return Register(c.register_path, create=True, mode=c.register_mode, group=c.register_group, community=c.name)


ALARM_NAME = "register.alarm"  # beside community.toml while a failed verify awaits an inspector
_EXPORT_PAGE = 1000
_OUTCOMES = {o.value: o for o in Outcome}
_scan = json.JSONDecoder().scan_once
# The columns ``register export`` writes (its EXPORT_FIELDS): what ``Desk.export_table`` builds without
# a dict per matter. Other columns are served from the dicts of ``Desk.export``.
TABLE_FIELDS = ("entry", "record", "at", "status", "jurisdiction", "query", "item_id", "item_name", "list",
                "number", "outcome", "purpose", "requester", "resident_name", "resident_id", "clerk", "approver",
                "approved_at", "keeper", "stamped_at", "year", "serial", "valid_until", "filed_at", "voided_by",
                "void_reason", "citations", "hash")
_CITED = TABLE_FIELDS.index("citations")


def _loads(text):
    """``json.loads(text)`` without its Python wrapper (a quarter of the time of a body, three
    quarters of a small one); anything but one JSON value alone in a str goes to ``json.loads``,
    which answers or raises exactly as before."""
    try:
        obj, end = _scan(text, 0)
    except (StopIteration, TypeError):
        return json.loads(text)
    return obj if end == len(text) else json.loads(text)


def _walk(matters: list[tuple], acts: list[tuple], filing: bool) -> Iterator[tuple]:
    """What :meth:`Desk.summary` reads of each matter of a page of ``Register._export_page`` rows, in
    order, without Record or Matter objects: (seq, 登记号, at, actor, outcome, hash, decoded body,
    approve, stamp, file, void, papers, Outcome, status, the stamp's valid_until).

    The acting records come grouped by matter in chain order; as in ``Matter.build`` the last one of
    a kind counts and papers keep their order; the status is ``Matter.status``'s.
    """
    loads = _loads
    valid_until: dict[str, object] = {}  # stamp bodies repeat (the keeper's name, the day's expiry)
    n = len(acts)
    i = 0
    for seq, number, at, actor, outcome, hash_, body in matters:
        data = loads(body)
        a = s = f = v = None
        papers = []
        while i < n and acts[i][0] <= seq:
            r = acts[i]
            i += 1
            if r[0] != seq:
                continue
            kind = r[1]
            if kind == "paper":
                papers.append(r)
            elif kind == "approve":
                a = r
            elif kind == "stamp":
                s = r
            elif kind == "file":
                f = r
            elif kind == "void":
                v = r
        o = _OUTCOMES.get(outcome) or Outcome(outcome)  # an unknown outcome raises as Matter.outcome does
        status = matter_status(o, a is not None, s is not None, f is not None, v is not None, filing)
        if s is None:
            until = None
        elif (until := valid_until.get(s[7], valid_until)) is valid_until:
            until = loads(s[7]).get("valid_until")
            if until is None or type(until) is str:  # only what no caller can change in place
                if len(valid_until) > 4096:
                    valid_until.clear()
                valid_until[s[7]] = until
        yield seq, number, at, actor, outcome, hash_, data, a, s, f, v, papers, o, status, until


def _summaries(matters: list[tuple], acts: list[tuple], filing: bool) -> Iterator[dict]:
    """:meth:`Desk.summary` of each matter of a page: the same keys, in order, and values."""
    loads = _loads
    for seq, number, at, actor, outcome, hash_, data, a, s, f, v, papers, o, status, until in _walk(
            matters, acts, filing):
        d = data["decision"]
        item = d.get("item") or {}
        resident = data["resident"]
        yield {
            "entry": number if number is not None else seq,
            "record": seq,
            "at": at,
            "status": status,
            "status_label": STATUS[status],
            "jurisdiction": d["jurisdiction"],
            "date": d["date"],
            "query": d["query"],
            "item_id": item.get("id"),
            "item_name": item.get("name"),
            "list": item.get("list"),
            "number": item.get("number"),
            "outcome": outcome,
            "outcome_label": o.label,
            "purpose": d.get("purpose", ""),
            "requester": d.get("requester", ""),
            "resident_name": resident["name"],
            "resident_id": mask_id(resident["id"]),
            "clerk": actor,
            "clerk_name": data.get("clerk_name", ""),
            "approver": a[3] if a else None,
            "approved_at": a[4] if a else None,
            "keeper": s[3] if s else None,
            "stamped_at": s[4] if s else None,
            "year": s[5] if s else None,
            "serial": s[6] if s else None,
            "valid_until": until,
            "filed_at": f[4] if f else None,
            "voided_by": v[2] if v else None,
            "void_reason": loads(v[7]).get("reason") if v else None,
            "route": d.get("route"),
            "requirements": d.get("requirements", []),
            "citations": [citation_label(c) for c in d.get("citations", [])],
            "papers": [loads(p[7]).get("sha256") for p in papers],
            "hash": hash_,
        }


def table_cells(values, cited: int | None = None) -> list[str]:
    """A row of summary values as a table's text: None empty, other values as ``str()`` (what
    csv.writer writes), the citations (at ``cited``) joined by "；"."""
    cells = ["" if x is None else x if type(x) is str else str(x) if i != cited else "；".join(x)
             for i, x in enumerate(values)]
    return cells


def _table(matters: list[tuple], acts: list[tuple], filing: bool) -> Iterator[list[str]]:
    """:func:`table_cells` of the ``TABLE_FIELDS`` of each matter's summary in a page, without the dict."""
    loads = _loads
    for seq, number, at, actor, outcome, hash_, data, a, s, f, v, papers, o, status, until in _walk(
            matters, acts, filing):
        d = data["decision"]
        item = d.get("item") or {}
        resident = data["resident"]
        yield table_cells((
            number if number is not None else seq, seq, at, status, d["jurisdiction"], d["query"], item.get("id"),
            item.get("name"), item.get("list"), item.get("number"), outcome, d.get("purpose", ""),
            d.get("requester", ""), resident["name"], mask_id(resident["id"]), actor,
            a[3] if a else None, a[4] if a else None, s[3] if s else None, s[4] if s else None,
            s[5] if s else None, s[6] if s else None, until, f[4] if f else None, v[2] if v else None,
            loads(v[7]).get("reason") if v else None, [citation_label(c) for c in d.get("citations", [])],
            hash_), _CITED)


class Desk:
    def __init__(self, home: str | os.PathLike, *, registry=None, community: Community | None = None):
        self.home = Path(home)
        self.community = community or load_community(self.home)
        self._registry = registry
        self._register: Register | None = None

    # -- plumbing --------------------------------------------------------------------
    @property
    def registry(self):
        if self._registry is None:
            from sealdesk.core.engine.plugins import default_registry

            self._registry = default_registry()
        return self._registry

    @property
    def register(self) -> Register:
        if self._register is None:
            self._register = open_register(self.community)
        return self._register

    def close(self) -> None:
        if self._register is not None:
            self._register.close()
            self._register = None

    def view(self, on: dt.date | None = None):
        return self.registry.view(self.community.jurisdiction, on or dt.date.today())

    # -- the alarm after a failed verify ------------------------------------------------
    @property
    def _alarm_path(self) -> Path:
        return self.home / ALARM_NAME

    def _raise_alarm(self, result: dict) -> None:
        """A failed ``verify`` stops recording until an inspector has looked (``clear_alarm``): the
        counter must not go on writing into a register whose records no longer prove themselves."""
        data = {"found": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                "first_bad_entry": result.get("first_bad_entry"), "problem": result.get("problem")}
        try:
            fd = os.open(self._alarm_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
        except OSError:  # a read-only copy: nothing records there anyway
            pass

    def alarm(self) -> dict | None:
        try:
            return json.loads(self._alarm_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {"found": None, "first_bad_entry": None, "problem": "（告警文件无法读取）"}

    def _check_alarm(self, action: str) -> None:
        a = self.alarm()
        if a is not None:
            raise Refused(action, [("sealdesk.register.alarm",
                                    f"登记簿校验未通过（{a.get('found') or '时间不明'} 发现：第 {a.get('first_bad_entry')} 条记录，"
                                    f"{a.get('problem')}）；在检查人员核查前暂停登记。核查后由检查人员运行 "
                                    "sealdesk register clear-alarm", None)])

    def clear_alarm(self, note: str, login: str | None = None, as_login: str | None = None) -> dict:
        """An inspector, having looked into a failed verify, lets the counter record again."""
        person = self.person(login, as_login)
        if "inspector" not in person.roles:
            raise Refused("clear-alarm", [("sealdesk.register.alarm.inspector",
                                           "只有检查人员（inspector）可以解除登记簿校验告警", None)])
        note = clean_text(note, "核查说明", REASON_MAX, required=True)
        a = self.alarm()
        if a is None:
            return {"cleared": False, "message": "没有登记簿校验告警"}
        self._alarm_path.unlink(missing_ok=True)
        return {"cleared": True, "alarm": a, "by": person.login, "note": note}

    def person(self, login: str | None = None, as_login: str | None = None) -> Person:
        """The person acting: the caller's login, or ``as_login`` in a demo community."""
        login = login or os_login()
        if as_login and as_login != login:
            if not self.community.demo:
                raise Refused("act", [("sealdesk.identity.as", "只有演示社区可以使用 --as 以他人身份操作；"
                                       "本社区以服务器登录名识别人员", None)])
            login = as_login
        p = self.community.person(login)
        if p is None:
            raise Refused("act", [("sealdesk.identity.unknown",
                                   f"登录名 {login} 不在本社区人员名单中，请联系管理员在社区配置中登记", None)])
        return p

    def _reader(self, login: str | None, as_login: str | None) -> None:
        """A read names nobody in the register, but ``--as`` on one is held to the same rule as on a
        write (demo communities only, people of the community): never silently ignored."""
        if as_login:
            self.person(login, as_login)

    @staticmethod
    def _via(login: str | None, as_login: str | None) -> dict:
        """What a record keeps of who really acted when ``--as`` names someone else (demo communities
        only): the operating-system login, beside the acting person the record names."""
        real = login or os_login()
        return {"os_login": real} if as_login and as_login != real else {}

    def _role(self, action: str, person: Person) -> str:
        return next((r for r in person.roles if r in ROLE_FOR[action]), person.roles[0])

    def matter(self, entry: int, register: Register | None = None) -> Matter:
        """The matter clerks call 登记号 ``entry``: 1, 2, 3… in the community, not the record number."""
        reg = register or self.register
        entry = entry_number(entry)
        seq = reg.matter_seq(entry, self.community.name)
        if seq is None:
            raise InvalidInput(f"登记号 {entry} 不存在")
        return Matter.build(reg.get(seq), reg.related(seq), entry)

    def _matter_at(self, seq: int) -> Matter:
        """The matter whose record is ``seq`` (a paper or action record's ``ref``)."""
        reg = self.register
        return Matter.build(reg.get(seq), reg.related(seq), reg.numbers([seq]).get(seq))

    # -- the counter -------------------------------------------------------------------
    def request(self, query: str, *, resident_name: str, resident_id: str, purpose: str = "", requester: str = "",
                facts: dict | None = None, on: dt.date | None = None, login: str | None = None,
                as_login: str | None = None) -> dict:
        """Decide a request and record it. An ``ask`` decision (facts missing) is not recorded."""
        person = self.person(login, as_login)
        reasons = role_reasons("request", person)
        if reasons:
            raise Refused("request", reasons)
        self._check_alarm("request")
        query = clean_text(query, "证明名称", 100, required=True)
        purpose = clean_text(purpose, "用途", 200)
        requester = clean_text(requester, "索要单位", 100)
        name = validate_name(resident_name)
        number = validate_id(resident_id)
        if on is not None and on != dt.date.today() and not self.community.demo:
            raise InvalidInput("登记的决定日期只能是今天（--on 仅用于演示社区的培训场景）")
        known = self.registry.facts
        facts = dict(facts or {})
        for k, v in facts.items():
            if k not in known:
                raise InvalidInput(f"未知情形（fact）：{k!r}")
            if not isinstance(v, bool):
                raise InvalidInput(f"情形 {k} 的取值应为 true 或 false")
        view = self.view(on)
        decision = decide(view, Request(query, purpose, requester, Facts(facts)))
        out = decision.to_json()
        if decision.outcome is Outcome.ASK:
            return {"decision": out, "entry": None, "status": None}
        item = decision.item
        body = {
            "decision": out,
            "resident": {"name": name, "id": number},
            "clerk_name": person.name,
            **self._via(login, as_login),
        }
        rec = self.register.append(
            "matter", actor=person.login, role=self._role("request", person), community=self.community.name,
            body=body, outcome=decision.outcome.value, item=item.id if item else None,
            list_=item.list if item else None, grounds=" ".join(g.code for g in decision.grounds),
        )
        status = Matter(rec).status(steps_of(view.workflow))
        number = self.register.numbers([rec.seq]).get(rec.seq)
        return {"decision": out, "entry": number, "record": rec.seq, "status": status}

    def allowed(self, action: str, entry: int, login: str | None = None, as_login: str | None = None) -> list:
        """Why ``action`` would be refused now ([] if allowed): the TUI greys out what it cannot do."""
        person = self.person(login, as_login)
        return [{"rule": r, "text": t, "citation": c.text() if c else None}
                for r, t, c in reasons_against(action, self.matter(entry), person, self.view().workflow)]

    def _act(self, action: str, entry: int, login, as_login, body: dict, serial: bool = False) -> dict:
        person = self.person(login, as_login)
        self._check_alarm(action)
        entry = entry_number(entry)
        workflow = self.view().workflow

        def guard(reg: Register) -> None:  # inside the write transaction: the state cannot change under us
            matter = self.matter(entry, reg)
            reasons = reasons_against(action, matter, person, workflow)
            if reasons:
                raise Refused(action, reasons)

        ref = self.matter(entry).entry.seq  # the chain refers to the matter's record
        rec = self.register.append(action, actor=person.login, role=self._role(action, person),
                                   community=self.community.name, ref=ref,
                                   body={"name": person.name, **self._via(login, as_login), **body},
                                   serial=serial, guard=guard)
        return self.record_json(rec, entry)

    def approve(self, entry: int, login: str | None = None, as_login: str | None = None, note: str = "") -> dict:
        matter = self.matter(entry)
        note = clean_text(note, "审批意见", REASON_MAX)
        confirmed = matter.entry.data["decision"].get("requirements", [])
        return self._act("approve", entry, login, as_login, {"requirements_confirmed": confirmed, "note": note})

    def stamp(self, entry: int, login: str | None = None, as_login: str | None = None) -> dict:
        until = dt.date.today() + dt.timedelta(days=self.community.validity_days)
        return self._act("stamp", entry, login, as_login, {"valid_until": until.isoformat()}, serial=True)

    def file(self, entry: int, login: str | None = None, as_login: str | None = None) -> dict:
        return self._act("file", entry, login, as_login, {})

    def void(self, entry: int, reason: str, login: str | None = None, as_login: str | None = None) -> dict:
        reason = clean_text(reason, "作废原因", REASON_MAX, required=True)
        return self._act("void", entry, login, as_login, {"reason": reason})

    # -- papers -----------------------------------------------------------------------
    def _record_paper(self, person: Person, paper, pdf: bytes, ref: int | None, number: int | None = None,
                      via: dict | None = None) -> dict:
        """Append a ``paper`` record with the PDF's SHA-256, unless this very PDF is recorded already."""
        import base64
        import hashlib

        digest = hashlib.sha256(pdf).hexdigest()
        reg = self.register
        existing = next((r for r in reg.papers_by_hash(digest) if r.ref == ref), None)
        if existing is None:
            body = {"paper": paper.paper, "label": PAPERS[paper.paper], "sha256": digest, "bytes": len(pdf),
                    "name": person.name, **(via or {}), **paper.body}
            existing = reg.append("paper", actor=person.login, role=self._role("paper" if ref else "report", person),
                                  community=self.community.name, ref=ref, body=body)
            new = True
        else:
            new = False
        return {"paper": paper.paper, "label": PAPERS[paper.paper], "entry": number, "record": existing.seq,
                "sha256": digest, "bytes": len(pdf), "new": new, "pdf": base64.b64encode(pdf).decode("ascii")}

    def _paper_person(self, action: str, login, as_login) -> Person:
        person = self.person(login, as_login)
        reasons = role_reasons(action, person)
        if reasons:
            raise Refused(action, reasons)
        self._check_alarm(action)
        return person

    def paper(self, paper: str, entry: int, content: str | None = None, login: str | None = None,
              as_login: str | None = None) -> dict:
        """Print a matter's paper (certificate, refusal, commitment, consultation) and record its hash.

        The PDF is deterministic: printing it again gives the same bytes and no new record. A
        certificate needs the fact certified (``content``, 证明事项) the first time; later prints
        reuse it, and a different text is refused (void the matter and register it again).
        """
        from sealdesk.core.papers import content as P
        from sealdesk.core.papers.typeset import render

        if paper not in P.MATTER_PAPERS:
            raise InvalidInput(f"未知文书 {paper!r}（可用：{'、'.join(P.MATTER_PAPERS)}）")
        person = self._paper_person("paper", login, as_login)
        matter = self.matter(entry)
        label = P.PAPERS[paper]
        outcome = matter.outcome
        if outcome not in P.FOR_OUTCOMES[paper]:
            raise Refused("paper", [("sealdesk.paper.outcome",
                                     f"登记号 {matter.number} 的决定是“{outcome.label}”，不能打印{label}", None)])
        if matter.void is not None:
            raise Refused("paper", [("sealdesk.paper.voided",
                                     f"登记号 {matter.number} 已作废（第 {matter.void.seq} 条记录），不能打印{label}", None)])
        d = matter.entry.data["decision"]
        view = self.registry.view(d["jurisdiction"], dt.date.fromisoformat(d["date"]))
        tpl = P.template(paper, view, self.registry)
        if paper == "certificate":
            if matter.stamp is None:
                raise Refused("paper", [("sealdesk.paper.unstamped",
                                         f"登记号 {matter.number} 尚未用印登记，不能打印证明（请先审批、用印）", None)])
            printed = [p.data.get("content") for p in matter.papers if p.data.get("paper") == "certificate"]
            content = clean_text(content, "证明事项", P.CONTENT_MAX) if content is not None else ""
            if content and not (printed and content == printed[-1]):  # the text as printed before stays as is
                content = P.certificate_content(content)  # the facts only: no "兹证明兹证明…", no "…。，用于…"
            if printed and content and content != printed[-1]:
                raise Refused("paper", [("sealdesk.paper.changed",
                                         f"登记号 {matter.number} 的证明已按“{printed[-1]}”出具；"
                                         "证明内容不能更改，如有错误请作废本事项后重新登记", None)])
            content = content or (printed[-1] if printed else "")
            if not content:
                raise InvalidInput("请用 --content 填写证明的事实（不必写“兹证明”和“特此证明”），例如：该居民自2019年起在本社区居住")
            built = P.certificate(matter, self.community, view, tpl, content)
        else:
            built = P.BUILDERS[paper](matter, self.community, view, tpl)
        pdf = render(built, self.community.paper_fonts)
        return self._record_paper(person, built, pdf, matter.entry.seq, matter.number, self._via(login, as_login))

    def report(self, paper: str, start: dt.date | None = None, end: dt.date | None = None,
               login: str | None = None, as_login: str | None = None) -> dict:
        """The inventory table for a period, the retained list or the public notice, recorded like a paper."""
        from sealdesk.core.papers import content as P
        from sealdesk.core.papers import reports as R
        from sealdesk.core.papers.typeset import render

        if paper not in P.REPORTS:
            raise InvalidInput(f"未知报表 {paper!r}（可用：{'、'.join(P.REPORTS)}）")
        person = self._paper_person("report", login, as_login)
        today = dt.date.today()
        view = self.view(today)
        tpl = P.template(paper, view, self.registry)
        if paper == "inventory":
            start, end = start or today.replace(month=1, day=1), end or today
            if start > end:
                raise InvalidInput(f"统计期间的开始日期 {start} 晚于结束日期 {end}")
            built = R.inventory(self._inventory_index(start, end), self.community, view, tpl, start, end,
                                person.name, today, self._items())
        else:
            built = getattr(R, paper)(self.community, view, tpl, today)
        pdf = render(built, self.community.paper_fonts)
        return self._record_paper(person, built, pdf, None, via=self._via(login, as_login))

    def _inventory_index(self, start: dt.date, end: dt.date) -> list:
        """The inventory's rows from the index: the period's standing matters grouped by certificate,
        with their counts (``store.InventoryGroup``), summed up by the database: no matter is read."""
        return self.register.inventory(start.isoformat(), end.isoformat())[1]

    def _items(self) -> dict:
        """Every item of every jurisdiction by id: an inventory row's item that today's lists no longer
        hold (a lapsed document's, as Qinghai's since 2026-08-04) is still named, with its basis."""
        return {it.id: it for jd in self.registry.jurisdictions.values() for it in jd.items}

    def find_paper(self, sha256: str, login: str | None = None, as_login: str | None = None) -> dict:
        """Which register record printed the PDF with this SHA-256 (``paper verify``)."""
        self._reader(login, as_login)
        sha256 = clean_text(sha256, "SHA-256", 64).lower()
        recs = self.register.papers_by_hash(sha256)
        if not recs:
            return {"found": False, "sha256": sha256}
        rec = recs[0]
        out = {"found": True, "sha256": sha256, "record": rec.seq, "at": rec.at, "paper": rec.data.get("paper"),
               "label": rec.data.get("label"), "printed_by": rec.data.get("name") or rec.actor, "entry": None,
               "voided_by": None}
        if rec.ref is not None:
            matter = self._matter_at(rec.ref)
            out["entry"] = matter.number
            out["voided_by"] = matter.void.seq if matter.void else None
            out["void_reason"] = matter.void.data.get("reason") if matter.void else None
            d = matter.entry.data["decision"]
            out["query"] = d["query"]
            out["resident_name"] = matter.entry.data["resident"]["name"]
            if matter.stamp is not None:
                out["serial_text"] = serial_text(matter.stamp.year, matter.stamp.serial)
            # The code the paper prints beside its seal (the record that authorised it), to compare
            # with the paper in hand and with what a receiving unit quotes.
            from sealdesk.core.papers.content import check_code, check_label, check_record

            behind = check_record(out["paper"], matter)
            if behind is not None:
                out.update(check_record=behind.seq, check_label=check_label(behind.kind),
                           check_code=check_code(behind.hash))
        return out

    # -- reading ----------------------------------------------------------------------
    def record_json(self, rec: Record, entry: int | None = None) -> dict:
        """One record: ``record`` is its number in the chain, ``entry`` the 登记号 of its matter."""
        data = rec.data
        out = {"entry": entry, "record": rec.seq, "kind": rec.kind, "kind_label": rec.kind_label, "ref": rec.ref,
               "at": rec.at, "actor": rec.actor, "name": data.get("name") or data.get("clerk_name", ""),
               "role": rec.role, "role_label": ROLES.get(rec.role, rec.role), "hash": rec.hash}
        if data.get("os_login"):  # acted with --as (a demo community): who really did
            out["os_login"] = data["os_login"]
        if rec.serial is not None:
            out.update(year=rec.year, serial=rec.serial, serial_text=serial_text(rec.year, rec.serial),
                       valid_until=data.get("valid_until"))
        if rec.kind == "void":
            out["reason"] = data.get("reason", "")
        return out

    def summary(self, matter: Matter, steps: tuple[str, ...]) -> dict:
        """One matter as an inspector reads it; the ID number masked. The same builder as the export's
        pages (:func:`_summaries`), fed from the matter's records: one place says what a summary holds."""
        m = matter.entry
        row = (m.seq, matter.number, m.at, m.actor, m.outcome, m.hash, m.body)
        acts = [(r.ref, r.kind, r.seq, r.actor, r.at, r.year, r.serial, r.body) for r in matter.records
                if r.seq != m.seq]
        return next(_summaries([row], acts, "file" in steps))

    def show(self, entry: int, login: str | None = None, as_login: str | None = None) -> dict:
        self._reader(login, as_login)
        matter = self.matter(entry)
        steps = steps_of(self.view().workflow)
        out = self.summary(matter, steps)
        out["decision"] = matter.entry.data["decision"]
        if matter.entry.data.get("os_login"):  # registered with --as: who really did
            out["clerk_os_login"] = matter.entry.data["os_login"]
        out["records"] = [self.record_json(r, matter.number) for r in matter.records]
        return out

    def _page(self, rows: list[tuple[int, int]], related: bool = True) -> list[Matter]:
        """Matters for (record, 登记号) pairs, in order: two indexed queries (one without ``related``)."""
        reg = self.register
        seqs = [seq for seq, _ in rows]
        recs = reg.records_at(seqs)
        acts = reg.related_many(seqs) if related else {}
        return [Matter.build(recs[seq], acts.get(seq, []), number) for seq, number in rows]

    def matters(self, day: tuple[str, str] | None = None, chunk: int = 500,
                related: bool = True, after: int = 0) -> Iterator[Matter]:
        """Matters with their records in entry order, read ``chunk`` at a time (constant memory).

        ``day`` limits them to a period (first and last ISO date); without ``related`` only the
        matter records are read (the acting records are left empty).
        """
        reg = self.register
        last = after
        while True:
            rows = reg.matter_rows(last, chunk, day)
            if not rows:
                return
            yield from self._page(rows, related)
            last = rows[-1][0]

    @staticmethod
    def _states(status: str, steps: tuple[str, ...]) -> tuple[str, ...]:
        """The index's ``state`` values that read as ``status`` under a workflow with ``steps``."""
        filing = "file" in steps
        if status == "awaiting_filing":
            return ("stamped",) if filing else ()
        if status == "stamped":
            return () if filing else ("stamped", "filed")
        if status == "filed":
            return ("filed",) if filing else ()
        return (status,)

    def list(self, status: str | None = None, limit: int | None = 50, search: str = "",
             login: str | None = None, as_login: str | None = None, before: int | None = None) -> list[dict]:
        """Matters newest first, by status and/or a search of names and items; the index answers, one page read.

        ``before`` (a summary's ``record``): only the matters registered before it, i.e. the next page
        after a page whose last row that was (the TUI pages through a register of any size this way)."""
        self._reader(login, as_login)
        if status and status not in STATUS:
            raise InvalidInput(f"未知状态 {status!r}（可用：{', '.join(STATUS)}）")
        if before is not None and (isinstance(before, bool) or not isinstance(before, int) or before < 1):
            raise InvalidInput(f"参数 before 应为正整数（记录号），而不是 {before!r}")
        steps = steps_of(self.view().workflow)
        search = clean_text(search, "搜索词", 100)
        states = None
        if status:
            states = self._states(status, steps)
            if not states:
                return []
        rows = self.register.find(states, search, limit, before)
        return [self.summary(m, steps) for m in self._page(rows)]

    def export(self, after: int = 0, limit: int | None = None, login: str | None = None,
               as_login: str | None = None) -> Iterator[dict]:
        """Every matter's summary in entry order, streamed; ``after`` (a summary's ``record``) and
        ``limit`` read one page of it (the service pages long exports).

        The same dicts as :meth:`summary` of each matter, built from raw rows read a page at a time
        (a million matters: no Record or Matter objects, the acting records in the same page).
        """
        self._reader(login, as_login)
        steps = steps_of(self.view().workflow)
        page = getattr(self.register, "_export_page", None)
        if page is None:  # a register without the raw page (PostgreSQL): through the matters
            for n, matter in enumerate(self.matters(after=after)):
                if limit is not None and n >= limit:
                    return
                yield self.summary(matter, steps)
            return
        for matters, acts in self._export_pages(page, after, limit):
            yield from _summaries(matters, acts, "file" in steps)

    def export_table(self, fields: tuple[str, ...]) -> Iterator[list[str]]:
        """The export as a table's rows: per matter, :func:`table_cells` of its summary's ``fields``
        (``register export --format csv``). For ``TABLE_FIELDS`` the cells are built from the page's
        rows directly, without a dict per matter."""
        fields = tuple(fields)
        page = getattr(self.register, "_export_page", None)
        if page is None or fields != TABLE_FIELDS:
            cited = fields.index("citations") if "citations" in fields else None
            for rec in self.export():
                yield table_cells([rec[k] for k in fields], cited)
            return
        filing = "file" in steps_of(self.view().workflow)
        for matters, acts in self._export_pages(page, 0, None):
            yield from _table(matters, acts, filing)

    @staticmethod
    def _export_pages(page, after: int, limit: int | None) -> Iterator[tuple[list[tuple], list[tuple]]]:
        """The pages of ``Register._export_page`` from record ``after``, ``limit`` matters in all."""
        left = limit
        while left is None or left > 0:
            matters, acts = page(after, _EXPORT_PAGE if left is None else min(left, _EXPORT_PAGE))
            if not matters:
                return
            yield matters, acts
            after = matters[-1][0]
            if left is not None:
                left -= len(matters)

    def verify(self, login: str | None = None, as_login: str | None = None) -> dict:
        self._reader(login, as_login)
        r = self.register.verify().to_json()
        if not r["ok"]:
            self._raise_alarm(r)
        warning = getattr(self.register, "copy_warning", None)
        if warning is not None and (text := warning()):
            r["warning"] = text
        return r

    def checkpoint(self, login: str | None = None, as_login: str | None = None) -> dict:
        """Sign the register's head as it is now, after verifying the chain (a chain that does not
        verify is not signed, and raises the alarm as any failed verify does): ``{"ok", "text",
        "records", …}``, or the failed verify's answer with ``ok`` false."""
        from sealdesk.core.register import checkpoint as C

        r = self.verify(login, as_login)
        if not r["ok"]:
            return r
        cp = C.make(self.home, self.community.name, r["records"], r["head"])
        return {"ok": True, "text": cp.text(), "records": cp.records, "head": cp.head, "time": cp.time,
                "public_key_file": str(self.home / C.PUB_NAME)}

    def check_checkpoint(self, text: str, source: str = "检查点", key: str | None = None,
                         login: str | None = None, as_login: str | None = None) -> dict:
        """One checkpoint's text: signed by the trusted ``key`` (base64; default the community's own
        public key), of this community, and extended by the register. ``problem`` says why not."""
        from sealdesk.core.register import checkpoint as C

        self._reader(login, as_login)
        try:
            trusted = key or C.public_key(self.home)
        except C.CheckpointError as exc:
            raise InvalidInput(str(exc)) from None
        row = {"file": source, "time": None, "records": None, "problem": None}
        try:
            cp = C.parse(text, source)
            row.update(time=cp.time, records=cp.records, head=cp.head)
            C.check_signature(cp, trusted, source)
            if cp.community != self.community.name:
                raise C.CheckpointError(f"{source} 是 {cp.community} 的检查点，不是本社区（{self.community.name}）的")
            row["problem"] = C.extends(self.register, cp, source)
            if row["problem"]:  # signed here and no longer extended: the register was cut or rewritten
                self._raise_alarm({"first_bad_entry": min(cp.records, self.register.count() + 1),
                                   "problem": row["problem"]})
        except C.CheckpointError as exc:
            row["problem"] = str(exc)
        return row

    def audit(self, login: str | None = None, as_login: str | None = None) -> dict:
        from sealdesk.core.register.audit import audit

        self._reader(login, as_login)

        return audit(self.register, self.registry, self.community)

    def info(self, login: str | None = None) -> dict:
        c = self.community
        reg_path = c.register_path
        person = c.person(login or os_login())
        return {
            "version": __version__,
            "home": str(self.home),
            "config": str(self.home / "community.toml"),
            "register": c.register_label,
            "register_backend": "postgresql" if c.register_url else "sqlite",
            "register_exists": True if c.register_url else reg_path.exists(),
            "service": c.socket or None,
            "community": {"name": c.name, "township": c.township, "county": c.county, "demo": c.demo,
                          "validity_days": c.validity_days},
            "jurisdiction": c.jurisdiction,
            "jurisdiction_name": self.registry.jurisdictions.get(c.jurisdiction).name
            if c.jurisdiction in self.registry.jurisdictions else None,
            "workflow": list(steps_of(self.view().workflow)) if c.jurisdiction in self.registry.ids() else None,
            "people": [{"login": p.login, "name": p.name, "roles": list(p.roles)} for p in c.people],
            "you": {"login": person.login, "name": person.name, "roles": list(person.roles)} if person else None,
            "plugins": sorted({j.plugin for j in self.registry.jurisdictions.values()}),
            "plugin_errors": [str(e) for e in self.registry.errors],
        }


def dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False)
