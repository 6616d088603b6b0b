"""What the console's pages show, read from the event index (SQLite) and the chain.

Every view takes the :class:`Viewer` it is for and shows that viewer what the chain's rules
let it see: a regulator and an auditor everything; a bank its own activity and the
enterprises that authorised it to query them (an authorisation in force); an enterprise its
own records. The risk indicators and the audit are the overseers' alone.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ledger_client.types import City, DisputeStatus, ReceivableStatus, Role

__all__ = [
    "DISPUTE_ANSWER_DAYS",
    "ReceivableStatus",
    "Viewer",
    "authorised_subjects",
    "city_of_subjects",
    "enterprise_profile",
    "overview",
    "risk",
]

DAY = 86_400
#: Days an attester has to answer a dispute (the Disputes contract's deadline).
DISPUTE_ANSWER_DAYS = 20
#: Hours of throughput the overview charts.
THROUGHPUT_HOURS = 24
_OUTSTANDING = tuple(int(s) for s in ReceivableStatus if s.outstanding)
_OPEN = int(DisputeStatus.OPEN)


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the role the console shows, the account, an enterprise's subject."""

    role: str  # regulator, auditor, bank or enterprise
    account: str
    subject: bytes | None = None  # the enterprise's own subject id
    read_only: bool = False  # the read-only console: no key, no log-out

    @property
    def oversees(self) -> bool:
        """A regulator or an auditor: sees everything."""
        return self.role in ("regulator", "auditor")

    def public(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "account": self.account,
            "subject": _hex(self.subject),
            "read_only": self.read_only,
        }


def _hex(value: bytes | None) -> str | None:
    return None if value is None else "0x" + bytes(value).hex()


def _amount(stored: bytes) -> int:
    return int.from_bytes(stored, "big")


def authorised_subjects(db: sqlite3.Connection, member: str, now: int) -> set[bytes]:
    """The subjects that authorised ``member`` to query them, with the authorisation in force."""
    rows = db.execute(
        "SELECT subject FROM consent_authorisations "
        "WHERE member = ? AND withdrawn_at = 0 AND (expiry = 0 OR expiry > ?)",
        (member, now),
    ).fetchall()
    return {bytes(r[0]) for r in rows}


def may_see(db: sqlite3.Connection, viewer: Viewer, subject: bytes, now: int) -> bool:
    """Whether ``viewer`` may open ``subject``'s profile."""
    if viewer.oversees:
        return True
    if viewer.role == "enterprise":
        return viewer.subject == subject
    return subject in authorised_subjects(db, viewer.account, now)


def city_of_subjects(db: sqlite3.Connection) -> dict[bytes, str]:
    """Each bound enterprise's city: its registrar's (the bureau that bound it)."""
    rows = db.execute(
        "SELECT e.subject, m.city FROM enterprises e JOIN members m ON m.account = e.registrar"
    ).fetchall()
    return {bytes(s): City(c).label for s, c in rows}


# -- overview -----------------------------------------------------------------------------------


def overview(
    db: sqlite3.Connection,
    viewer: Viewer,
    *,
    head: int,
    head_time: int,
    indexed: int,
    pending: int | None,
    finality: str,
) -> dict[str, Any]:
    """Members and standing per city, the chain's head and finality, throughput, totals."""
    members = db.execute("SELECT account, name, city, roles, suspended FROM members ORDER BY seq")
    by_city: dict[str, dict[str, Any]] = {
        c.label: {"city": c.label, "city_zh": c.chinese, "active": 0, "suspended": 0}
        for c in City
        if c.value
    }
    listed = []
    for account, name, city, roles, suspended in members:
        label = City(city).label
        by_city[label]["suspended" if suspended else "active"] += 1
        listed.append(
            {
                "account": account,
                "name": name,
                "city": label,
                "roles": Role(roles).names(),
                "suspended": bool(suspended),
            }
        )
    for subject_city in city_of_subjects(db).values():
        by_city[subject_city]["enterprises"] = by_city[subject_city].get("enterprises", 0) + 1
    # The 24 hours up to the latest event: a quiet chain still shows its last day of work.
    latest = db.execute("SELECT max(block_timestamp) FROM events").fetchone()[0] or head_time
    since = latest - THROUGHPUT_HOURS * 3600
    throughput = [
        {"hour": h * 3600, "events": n}
        for h, n in db.execute(
            "SELECT block_timestamp / 3600 AS h, count(*) FROM events "
            "WHERE block_timestamp >= ? GROUP BY h ORDER BY h",
            (since,),
        )
    ]
    return {
        "viewer": viewer.public(),
        "chain": {
            "head": head,
            "head_time": head_time,
            "indexed": indexed,
            "finality": finality,
        },
        "cities": [{"enterprises": 0, **c} for c in by_city.values()],
        "members": listed,
        "throughput": throughput,
        "totals": _totals(db, viewer),
        "pending_submissions": pending,
    }


def _totals(db: sqlite3.Connection, viewer: Viewer) -> dict[str, int]:
    def count(sql: str, params: tuple[Any, ...] = ()) -> int:
        return int(db.execute(sql, params).fetchone()[0])

    if viewer.oversees:
        return {
            "attestations": count("SELECT count(*) FROM attestations"),
            "batch_records": count("SELECT coalesce(sum(count), 0) FROM batches"),
            "receivables": count("SELECT count(*) FROM receivable_parts"),
            "queries": count("SELECT count(*) FROM consent_queries"),
            "open_disputes": count(
                "SELECT count(*) FROM consent_disputes WHERE status = ?", (_OPEN,)
            ),
        }
    if viewer.role == "enterprise":
        s = viewer.subject
        return {
            "attestations": count("SELECT count(*) FROM attestations WHERE subject = ?", (s,)),
            "receivables": count(
                "SELECT count(*) FROM receivable_parts WHERE holder = ? OR debtor = ?", (s, s)
            ),
            "queries": count("SELECT count(*) FROM consent_queries WHERE subject = ?", (s,)),
            "open_disputes": count(
                "SELECT count(*) FROM consent_disputes WHERE subject = ? AND status = ?", (s, _OPEN)
            ),
        }
    a = viewer.account
    return {
        "attestations": count("SELECT count(*) FROM attestations WHERE attester = ?", (a,)),
        "financings": count("SELECT count(*) FROM receivable_financings WHERE financier = ?", (a,)),
        "queries": count("SELECT count(*) FROM consent_queries WHERE member = ?", (a,)),
        "open_disputes": count(
            "SELECT count(*) FROM consent_disputes WHERE attester = ? AND status = ?", (a, _OPEN)
        ),
    }


# -- risk indicators ----------------------------------------------------------------------------


def risk(db: sqlite3.Connection, now: int) -> dict[str, Any]:
    """The overseers' indicators: cross-region exposure, overdue and default rates by city,
    supply-chain contagion, disputes near their deadline, query patterns per member."""
    cities = city_of_subjects(db)
    parts = db.execute(
        "SELECT id, root, parent, debtor, holder, amount, due_date, status, tx FROM ("
        " SELECT p.id, p.root, p.parent, p.debtor, p.holder, p.amount, p.due_date, p.status,"
        " (SELECT e.tx_hash FROM receivable_events e WHERE e.id = p.id ORDER BY e.seq LIMIT 1)"
        " AS tx FROM receivable_parts p)"
    ).fetchall()
    exposure: Counter[tuple[str, str]] = Counter()
    by_city: dict[str, Counter[str]] = defaultdict(Counter)
    for _id, _root, _parent, debtor, holder, amount, due, status, _tx in parts:
        dc = cities.get(bytes(debtor), "unknown")
        hc = cities.get(bytes(holder), "unknown")
        if status in _OUTSTANDING:
            exposure[(hc, dc)] += _amount(amount)
            by_city[dc]["outstanding"] += 1
            if due < now or status == ReceivableStatus.OVERDUE:
                by_city[dc]["overdue"] += 1
            if status == ReceivableStatus.OVERDUE:
                by_city[dc]["defaulted"] += 1
    rates = [
        {
            "city": city,
            "outstanding": c["outstanding"],
            "overdue": c["overdue"],
            "defaulted": c["defaulted"],
            "overdue_rate": c["overdue"] / c["outstanding"] if c["outstanding"] else 0.0,
            "default_rate": c["defaulted"] / c["outstanding"] if c["outstanding"] else 0.0,
        }
        for city, c in sorted(by_city.items())
    ]
    return {
        "now": now,
        "exposure": [
            {"holder_city": h, "debtor_city": d, "amount_fen": v}
            for (h, d), v in sorted(exposure.items())
        ],
        "rates_by_city": rates,
        # Industry and growth stage are not on the chain today: the page says so.
        "rates_by_industry": None,
        "contagion": contagion(parts, cities, now),
        "disputes": disputes_near_deadline(db, now, warn_days=DISPUTE_ANSWER_DAYS),
        "query_patterns": query_patterns(db),
    }


def contagion(
    parts: Iterable[tuple[Any, ...]], cities: dict[bytes, str], now: int
) -> dict[str, Any]:
    """The supply chains of each debtor with an overdue part: the debtor, and every holder of
    a part split from its receivables, by tier (the number of splits from the issue)."""
    rows = list(parts)
    overdue_roots = {
        bytes(root)
        for _id, root, _p, _d, _h, _a, due, status, _tx in rows
        if status in _OUTSTANDING and (due < now or status == ReceivableStatus.OVERDUE)
    }
    by_id = {bytes(r[0]): r for r in rows}
    nodes: dict[str, dict[str, Any]] = {}
    links: dict[tuple[str, str], int] = {}
    for pid, root, parent, debtor, holder, amount, _due, status, _tx in rows:
        if bytes(root) not in overdue_roots or status not in _OUTSTANDING:
            continue
        tier, up = 1, parent
        while up is not None and bytes(up) in by_id and tier < 64:
            tier, up = tier + 1, by_id[bytes(up)][2]
        d, h = _hex(bytes(debtor)) or "", _hex(bytes(holder)) or ""
        nodes.setdefault(d, {"id": d, "tier": 0, "city": cities.get(bytes(debtor)), "core": True})
        node = nodes.setdefault(h, {"id": h, "tier": tier, "city": cities.get(bytes(holder))})
        node["tier"] = min(node["tier"], tier) if not node.get("core") else 0
        links[(d, h)] = links.get((d, h), 0) + _amount(amount)
        del pid
    return {
        "nodes": list(nodes.values()),
        "links": [{"source": s, "target": t, "amount_fen": v} for (s, t), v in links.items()],
    }


def disputes_near_deadline(
    db: sqlite3.Connection, now: int, *, warn_days: int
) -> list[dict[str, Any]]:
    """Open disputes whose answer is due within ``warn_days`` days, or late."""
    rows = db.execute(
        "SELECT dispute_id, uid, attester, subject, raised_at, deadline FROM consent_disputes "
        "WHERE status = ? AND deadline <= ? ORDER BY deadline",
        (_OPEN, now + warn_days * DAY),
    ).fetchall()
    return [
        {
            "dispute_id": i,
            "uid": _hex(bytes(uid)),
            "attester": attester,
            "subject": _hex(bytes(subject)),
            "raised_at": raised,
            "deadline": deadline,
            "days_left": (deadline - now) / DAY,
            "late": deadline < now,
        }
        for i, uid, attester, subject, raised, deadline in rows
    ]


def query_patterns(db: sqlite3.Connection) -> list[dict[str, Any]]:
    """Per member: its queries, how many had no financing of that enterprise after them, and
    whether its volume is odd (over twice the members' mean)."""
    rows = db.execute(
        "SELECT q.member, count(*), sum(NOT EXISTS (SELECT 1 FROM receivable_financings f"
        " WHERE f.financier = q.member AND f.holder = q.subject"
        " AND f.financed_at >= q.queried_at)), max(q.queried_at)"
        " FROM consent_queries q GROUP BY q.member ORDER BY q.member"
    ).fetchall()
    mean = sum(r[1] for r in rows) / len(rows) if rows else 0.0
    return [
        {
            "member": m,
            "queries": n,
            "without_loan": int(w or 0),
            "odd_volume": len(rows) > 2 and n > 2 * mean,
            "last_query_at": last,
        }
        for m, n, w, last in rows
    ]


# -- enterprise profile -------------------------------------------------------------------------


def enterprise_profile(
    db: sqlite3.Connection, subject: bytes, now: int, schema_names: dict[bytes, str]
) -> dict[str, Any]:
    """An enterprise's records (validity, disputes), receivables, financings, who queried it,
    and whom it authorised."""
    binding = db.execute(
        "SELECT account, registrar, bound_at FROM enterprises WHERE subject = ?", (subject,)
    ).fetchone()
    disputes_of: dict[bytes, list[dict[str, Any]]] = defaultdict(list)
    for did, uid, status, deadline in db.execute(
        "SELECT dispute_id, uid, status, deadline FROM consent_disputes WHERE subject = ?",
        (subject,),
    ):
        disputes_of[bytes(uid)].append(
            {"dispute_id": did, "status": DisputeStatus(status).name.lower(), "deadline": deadline}
        )
    records = []
    for uid, schema, attester, expiry, attested_at, tx, revoked_at, replaced_by in db.execute(
        "SELECT uid, schema, attester, expiry, attested_at, tx_hash, revoked_at, replaced_by "
        "FROM attestations WHERE subject = ? ORDER BY seq DESC LIMIT 200",
        (subject,),
    ):
        validity = (
            "replaced"
            if replaced_by
            else "revoked"
            if revoked_at
            else "expired"
            if expiry and expiry <= now
            else "valid"
        )
        records.append(
            {
                "uid": _hex(bytes(uid)),
                "schema": schema_names.get(bytes(schema), _hex(bytes(schema))),
                "attester": attester,
                "attested_at": attested_at,
                "validity": validity,
                "tx_hash": tx,
                "disputes": disputes_of.get(bytes(uid), []),
            }
        )
    receivables = [
        {
            "id": _hex(bytes(pid)),
            "role": "debtor" if bytes(debtor) == subject else "holder",
            "amount_fen": _amount(amount),
            "due_date": due,
            "status": ReceivableStatus(status).name.lower(),
            "overdue": status in _OUTSTANDING and due < now,
        }
        for pid, debtor, amount, due, status in db.execute(
            "SELECT id, debtor, amount, due_date, status FROM receivable_parts "
            "WHERE holder = ? OR debtor = ? ORDER BY seq DESC LIMIT 200",
            (subject, subject),
        )
    ]
    queries = [
        {"member": m, "purpose": p, "queried_at": t, "tx_hash": tx}
        for m, p, t, tx in db.execute(
            "SELECT member, purpose, queried_at, tx_hash FROM consent_queries WHERE subject = ? "
            "ORDER BY seq DESC LIMIT 200",
            (subject,),
        )
    ]
    authorisations = [
        {
            "member": m,
            "purpose": p,
            "expiry": e,
            "in_force": not w and (e == 0 or e > now),
        }
        for m, p, e, w in db.execute(
            "SELECT member, purpose, expiry, withdrawn_at FROM consent_authorisations "
            "WHERE subject = ? ORDER BY seq DESC",
            (subject,),
        )
    ]
    return {
        **_sections_when_indexed(db, subject),
        "subject": _hex(subject),
        "account": binding[0] if binding else None,
        "registrar": binding[1] if binding else None,
        "city": city_of_subjects(db).get(subject),
        "records": records,
        "receivables": receivables,
        "queried_by": queries,
        "authorisations": authorisations,
    }


#: Sections of the profile that other projections add when their contracts are deployed
#: (credit scores, facilities and pledges): (key, table name prefixes). The page draws a
#: section for each key present.
OPTIONAL_SECTIONS = (
    ("scores", ("score", "credit_score")),
    ("pledges", ("pledge", "collateral", "facilit")),
)


def _sections_when_indexed(db: sqlite3.Connection, subject: bytes) -> dict[str, Any]:
    """Rows about ``subject`` in the index's score and pledge tables, when there are any."""
    tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    found: dict[str, Any] = {}
    for key, prefixes in OPTIONAL_SECTIONS:
        rows: list[dict[str, Any]] = []
        for table in (t for t in tables if t.startswith(prefixes)):
            columns = [c[1] for c in db.execute(f'PRAGMA table_info("{table}")')]
            if "subject" not in columns:
                continue
            for row in db.execute(
                f'SELECT * FROM "{table}" WHERE subject = ? LIMIT 100', (subject,)
            ):
                cells = zip(columns, row, strict=True)
                rows.append({"table": table} | {c: _jsonable(v) for c, v in cells})
        if rows:
            found[key] = rows
    return found


def _jsonable(value: object) -> object:
    return _hex(value) if isinstance(value, bytes) else value
