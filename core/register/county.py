"""What a county's civil-affairs bureau reads from its PostgreSQL register: every community at once.

Issue 14, part 3 (DOMAIN.md section 8). The counter reads one community
(:class:`~sealdesk.core.register.postgres.PgRegister`); the bureau reads them all:

* :func:`inventory` — the 附件1 inventory (证明事项清单) of a period summed across the county: one
  row per certificate name, use and requesting unit, with the count per outcome, per township
  and in all; voided matters do not count, as in a community's own inventory.
* :func:`counts` — matters by item and outcome (and by township or community).
* :func:`audit` — every community's chain verified and audited by the same rules as a register
  file's (:mod:`sealdesk.core.register.audit`), one line per community.

Queries read the ``matters`` index (one ``GROUP BY`` per report, in a read-only snapshot); the
names of items come from the decisions as recorded, so an item renamed later still counts
under the name it was decided with.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sealdesk.core.register.postgres import PgRegister, _check_schema, _connect, _first_line, url_label
from sealdesk.core.register.store import RegisterError

OUTCOMES = ("issue", "issue_transitional", "commitment", "refuse")


@dataclass(frozen=True)
class CountyCommunity:
    """A community as the county database knows it (what the audit needs of a configuration)."""

    name: str
    township: str
    county: str
    jurisdiction: str
    records: int = 0


def _snapshot(url: str):
    conn = _connect(url)
    try:
        _check_schema(conn, url_label(url))
    except BaseException:
        conn.close()
        raise
    return conn


def communities(url: str) -> list[CountyCommunity]:
    import psycopg

    conn = _snapshot(url)
    try:
        rows = conn.execute("SELECT c.name, c.township, c.county, c.jurisdiction, coalesce(h.seq, 0) "
                            "FROM communities c LEFT JOIN heads h ON h.community = c.name "
                            "ORDER BY c.township, c.name").fetchall()
    except psycopg.Error as exc:
        raise RegisterError(f"读取县登记簿失败：{_first_line(exc)}") from None
    finally:
        conn.close()
    return [CountyCommunity(*r) for r in rows]


def inventory(url: str, start: dt.date, end: dt.date) -> dict:
    """The county's inventory of ``start``..``end`` (see the module doc)."""
    import psycopg

    if start > end:
        raise RegisterError(f"统计期间的开始日期 {start} 晚于结束日期 {end}")
    conn = _snapshot(url)
    try:
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            rows = conn.execute(
                "SELECT coalesce(c.township, ''), coalesce(m.item_name, m.query), coalesce(m.purpose, ''), "
                "coalesce(m.requester, ''), m.outcome, count(*), count(DISTINCT m.community) "
                "FROM matters m LEFT JOIN communities c ON c.name = m.community "
                "WHERE m.day BETWEEN %s AND %s AND m.void IS NULL "
                "GROUP BY 1, 2, 3, 4, 5 ORDER BY 2, 3, 4, 1",
                (start.isoformat(), end.isoformat())).fetchall()
            reporting = conn.execute("SELECT count(DISTINCT community) FROM matters WHERE day BETWEEN %s AND %s",
                                     (start.isoformat(), end.isoformat())).fetchone()[0]
            total_communities = conn.execute("SELECT count(*) FROM communities").fetchone()[0]
    except psycopg.Error as exc:
        raise RegisterError(f"读取县登记簿失败：{_first_line(exc)}") from None
    finally:
        conn.close()
    table: dict[tuple, dict] = {}
    townships: dict[str, dict] = {}
    totals = dict.fromkeys(OUTCOMES, 0)
    for township, name, purpose, requester, outcome, n, _ in rows:
        row = table.setdefault((name, purpose, requester), {
            "name": name, "purpose": purpose, "requester": requester, "outcomes": dict.fromkeys(OUTCOMES, 0),
            "total": 0, "townships": {}})
        row["outcomes"][outcome] = row["outcomes"].get(outcome, 0) + n
        row["total"] += n
        row["townships"][township] = row["townships"].get(township, 0) + n
        t = townships.setdefault(township, {"township": township, "outcomes": dict.fromkeys(OUTCOMES, 0), "total": 0})
        t["outcomes"][outcome] = t["outcomes"].get(outcome, 0) + n
        t["total"] += n
        totals[outcome] = totals.get(outcome, 0) + n
    return {"from": start.isoformat(), "to": end.isoformat(), "communities": total_communities,
            "reporting": reporting, "total": sum(totals.values()), "outcomes": totals,
            "townships": sorted(townships.values(), key=lambda t: t["township"]),
            "rows": list(table.values())}


def counts(url: str, by: str = "item", start: dt.date | None = None, end: dt.date | None = None) -> list[dict]:
    """Matters (voided ones apart) counted by outcome, per ``by``: item, township or community."""
    import psycopg

    key = {"item": "coalesce(m.item_name, m.query)", "township": "coalesce(c.township, '')",
           "community": "m.community"}.get(by)
    if key is None:
        raise RegisterError(f"未知分组 {by!r}（可用：item、township、community）")
    cond, params = "m.void IS NULL", []
    if start:
        cond += " AND m.day >= %s"
        params.append(start.isoformat())
    if end:
        cond += " AND m.day <= %s"
        params.append(end.isoformat())
    conn = _snapshot(url)
    try:
        rows = conn.execute(f"SELECT {key}, m.outcome, count(*) FROM matters m "
                            "LEFT JOIN communities c ON c.name = m.community "
                            f"WHERE {cond} GROUP BY 1, 2 ORDER BY 1", params).fetchall()
        voided = conn.execute("SELECT count(*) FROM matters m WHERE m.void IS NOT NULL"
                              + "".join(f" AND m.day {op} %s" for op, v in ((">=", start), ("<=", end)) if v),
                              params).fetchone()[0]
    except psycopg.Error as exc:
        raise RegisterError(f"读取县登记簿失败：{_first_line(exc)}") from None
    finally:
        conn.close()
    out: dict[str, dict] = {}
    for k, outcome, n in rows:
        r = out.setdefault(k, {by: k, "outcomes": dict.fromkeys(OUTCOMES, 0), "total": 0})
        r["outcomes"][outcome] = r["outcomes"].get(outcome, 0) + n
        r["total"] += n
    result = sorted(out.values(), key=lambda r: (-r["total"], r[by]))
    return result + [{by: None, "voided": voided}] if voided else result


def audit(url: str, registry, only: str | None = None) -> dict:
    """Every community's chain and rules, audited one community at a time."""
    from sealdesk.core.register.audit import UnknownJurisdiction
    from sealdesk.core.register.audit import audit as audit_one

    results = []
    for c in communities(url):
        if only and c.name != only:
            continue
        with PgRegister(url, community=c.name) as reg:
            try:
                a = audit_one(reg, registry, c)
            except UnknownJurisdiction as exc:  # this community cannot be judged here; the others can
                chain = reg.verify(index=False).to_json()
                a = {"ok": False, "records": reg.count(), "matters": None, "chain": chain, "violations": 1,
                     "notices": 0, "findings": [{"entry": None, "matter": None, "rule": "audit.unknown_jurisdiction",
                                                 "severity": "violation", "text": str(exc), "citation": None}]}
        results.append({"community": c.name, "township": c.township, "jurisdiction": c.jurisdiction,
                        "ok": a["ok"], "records": a["records"], "matters": a["matters"],
                        "chain": a["chain"], "violations": a["violations"], "notices": a["notices"],
                        "findings": a["findings"]})
    return {"ok": all(r["ok"] for r in results), "communities": len(results),
            "failing": [r["community"] for r in results if not r["ok"]], "results": results}
