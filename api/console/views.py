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

from ledger_client.index.lending import (
    AgreementEntry,
    agreements_not_ended,
    agreements_of_subject,
    facilities_of_subject,
    pledges_of_pledgor,
)
from ledger_client.lending import CollateralKind, FacilityKind
from ledger_client.types import City, DisputeStatus, ReceivableStatus, Role

__all__ = [
    "DISPUTE_ANSWER_DAYS",
    "ReceivableStatus",
    "Viewer",
    "authorised_subjects",
    "city_of_subjects",
    "enterprise_profile",
    "joint_limits",
    "overview",
    "risk",
]

DAY = 86_400
#: Days an attester has to answer a dispute (the Disputes contract's deadline).
DISPUTE_ANSWER_DAYS = 20
#: Hours of throughput the overview charts.
THROUGHPUT_HOURS = 24
#: Joint agreements the risk page lists, at most (the most recent).
JOINT_AGREEMENTS_LISTED = 500
#: The schema whose attestations are credit scores.
CREDIT_SCORE_SCHEMA = "credit-score"
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
        # An enterprise's industry and growth stage are in no event the index reads: the
        # simulator's world draws them (node_sim.credit_world), and a sci-tech indicators
        # record carries the stage off chain, its hash alone on chain. The page says so.
        "rates_by_industry": None,
        "joint_limits": joint_limits(db, cities),
        "contagion": contagion(parts, cities, now),
        "disputes": disputes_near_deadline(db, now, warn_days=DISPUTE_ANSWER_DAYS),
        "query_patterns": query_patterns(db),
    }


def joint_limits(db: sqlite3.Connection, cities: dict[bytes, str]) -> dict[str, Any]:
    """Joint agreements proposed or in force: lead, participants, joint limit, the joint
    exposure the chain last counted, utilisation, and whether an overdue flagged it; flagged
    first, then the most utilised."""
    rows = [_agreement(a, cities) for a in agreements_not_ended(db, JOINT_AGREEMENTS_LISTED)]
    rows.sort(key=lambda r: (not r["flagged"], -r["utilisation"], -r["agreement"]))
    return {
        "agreements": rows,
        "flagged": sum(r["flagged"] and r["status"] == "active" for r in rows),
    }


def _agreement(a: AgreementEntry, cities: dict[bytes, str]) -> dict[str, Any]:
    return {
        "agreement": a.agreement,
        "subject": _hex(bytes(a.subject)),
        "city": cities.get(bytes(a.subject)),
        "lead": a.lead,
        "participants": list(a.participants),
        "status": a.status,
        "joint_limit_fen": a.joint_limit,
        "joint_exposure_fen": a.joint_exposure,
        "utilisation": a.joint_exposure / a.joint_limit if a.joint_limit else 0.0,
        "flagged": a.flagged,
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
        validity = _validity(expiry, revoked_at, replaced_by, now)
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
        "subject": _hex(subject),
        "account": binding[0] if binding else None,
        "registrar": binding[1] if binding else None,
        "city": city_of_subjects(db).get(subject),
        "records": records,
        "receivables": receivables,
        "queried_by": queries,
        "authorisations": authorisations,
        "scores": credit_scores(db, subject, now, schema_names),
        "pledges": pledges(db, subject, now),
        "facilities": facilities(db, subject, now),
        "joint_agreements": [_agreement(a, {}) for a in agreements_of_subject(db, subject)],
    }


def _validity(expiry: int, revoked_at: int, replaced_by: bytes | None, now: int) -> str:
    if replaced_by:
        return "replaced"
    if revoked_at:
        return "revoked"
    return "expired" if expiry and expiry <= now else "valid"


def credit_scores(
    db: sqlite3.Connection, subject: bytes, now: int, schema_names: dict[bytes, str]
) -> list[dict[str, Any]]:
    """The credit scores attested about ``subject``, newest first: who scored it, when, and
    whether the score still stands. The grade and reason codes are in the score record, off
    chain (数据不出库): the page opens one with :func:`score_record`."""
    ids = [k for k, name in schema_names.items() if name == CREDIT_SCORE_SCHEMA]
    if not ids:
        return []
    return [
        {
            "uid": _hex(bytes(uid)),
            "scorer": attester,
            "attested_at": at,
            "validity": _validity(expiry, revoked_at, replaced_by, now),
            "tx_hash": tx,
        }
        for uid, attester, at, expiry, revoked_at, replaced_by, tx in db.execute(
            "SELECT uid, attester, attested_at, expiry, revoked_at, replaced_by, tx_hash "
            "FROM attestations WHERE subject = ? AND schema = ? ORDER BY seq DESC LIMIT 100",
            (subject, ids[0]),
        )
    ]


def pledges(db: sqlite3.Connection, subject: bytes, now: int) -> list[dict[str, Any]]:
    """What ``subject`` pledged, newest first: the asset, to whom, for how much, until when."""
    return [
        {
            "pledge_id": _hex(bytes(p.pledge_id)),
            "asset_id": _hex(bytes(p.asset_id)),
            "kind": CollateralKind(p.kind).name.lower(),
            "pledgee": p.pledgee,
            "secured_amount_fen": p.secured_amount,
            "expiry": p.expiry,
            "registered_at": p.registered_at,
            "status": "released" if p.released else "expired" if p.expiry <= now else "in force",
        }
        for p in reversed(pledges_of_pledgor(db, subject))
    ]


def facilities(db: sqlite3.Connection, subject: bytes, now: int) -> list[dict[str, Any]]:
    """The facilities banks granted ``subject``, newest first, with what is drawn on each."""
    return [
        {
            "facility_id": _hex(bytes(f.facility_id)),
            "lender": f.lender,
            "kind": FacilityKind(f.kind).name.lower(),
            "limit_fen": f.limit,
            "drawn_fen": f.drawn,
            "expiry": f.expiry,
            "status": "closed" if f.closed else "expired" if f.expiry <= now else "open",
            "pledge_ids": [_hex(bytes(p)) for p in f.pledge_ids],
        }
        for f in reversed(facilities_of_subject(db, subject))
    ]
