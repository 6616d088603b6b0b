"""Who queried whom, which disputes are overdue, which complaints are open: projections of
the consent events.

The chain keeps one slot per query, not lists: "who queried enterprise X",
"every query by member M" and "member M's overdue disputes" are read from the
events (``QueryLogged``, ``DisputeRaised``, ...), folded into SQLite tables.

The projections plug into :class:`~ledger_client.index.EventIndex` (register
them, then query with ``with index.reading() as db: queries_of_subject(db, s)``);
:class:`ConsentLog` is an event index with just these two, for callers that
want the consent lists and nothing else.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ledger_client.addresses import to_checksum_address
from ledger_client.index.base import IndexedEvent, Projection
from ledger_client.index.log import ProjectionLog
from ledger_client.types import ComplaintStatus, DisputeStatus, QueryPurpose

if TYPE_CHECKING:
    from ledger_client.deployment import Ledger

__all__ = [
    "AuthorisationEntry",
    "AuthorisationsProjection",
    "ComplaintEntry",
    "ConsentLog",
    "DisputeEntry",
    "DisputesProjection",
    "QueryEntry",
    "ReportShareEntry",
    "authorisations_of_subject",
    "complaint",
    "complaints",
    "dispute",
    "disputes",
    "overdue_disputes",
    "queries_by_member",
    "queries_of_subject",
    "report_shares",
]


# -- what the queries return ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueryEntry:
    """One logged credit query (查询留痕)."""

    query_id: bytes
    auth_id: bytes  # the authorisation it was made under
    subject: bytes  # the enterprise queried
    member: str  # the member that queried
    purpose: QueryPurpose
    schema: bytes  # the schema queried; 32 zero bytes for a full report
    query_hash: bytes  # keccak256 of the member's off-chain query record
    queried_at: int  # UNIX seconds (block time)
    block_number: int
    tx_hash: str


@dataclass(frozen=True, slots=True)
class AuthorisationEntry:
    """An authorisation as its events left it."""

    auth_id: bytes
    subject: bytes
    member: str
    purpose: QueryPurpose
    expiry: int  # UNIX seconds
    schemas: tuple[bytes, ...]  # schema limit; empty for every schema
    enterprise: str  # the account that signed it
    granted_at: int  # UNIX seconds
    withdrawn_at: int  # UNIX seconds; 0 while not withdrawn

    def in_force(self, now: int) -> bool:
        """Neither withdrawn nor lapsed at ``now``."""
        return self.withdrawn_at == 0 and now < self.expiry


@dataclass(frozen=True, slots=True)
class ReportShareEntry:
    """A report shared off chain in answer to a query, as recorded on chain."""

    query_id: bytes
    ciphertext_hash: bytes
    sender: str
    recipient: str
    subject: bytes
    recipient_key: bytes  # the X25519 key it was sealed to
    shared_at: int  # UNIX seconds


@dataclass(frozen=True, slots=True)
class DisputeEntry:
    """A dispute (异议) as its events left it."""

    dispute_id: int
    uid: bytes  # the disputed attestation
    attester: str  # who must answer it
    subject: bytes
    reason_hash: bytes
    raised_by: str  # the subject's account
    raised_at: int  # UNIX seconds
    deadline: int  # the first overdue second
    status: DisputeStatus
    resolved_at: int  # 0 while open
    resolver: str | None
    late: bool  # resolved at or after the deadline
    replaced_by: bytes | None  # the correction, for a dispute upheld by replacement

    def overdue(self, now: int) -> bool:
        """Open at ``now`` with its deadline reached."""
        return self.status is DisputeStatus.OPEN and now >= self.deadline


@dataclass(frozen=True, slots=True)
class ComplaintEntry:
    """A complaint (投诉) to the regulator as its events left it."""

    complaint_id: int
    dispute_id: int  # the dispute complained of
    uid: bytes  # its record
    subject: bytes
    reason_hash: bytes
    filed_by: str  # the subject's bound account
    filed_at: int  # UNIX seconds
    status: ComplaintStatus
    resolved_at: int  # 0 while open
    regulator: str | None  # who resolved it
    reply_hash: bytes | None  # the regulator's written reply


# -- projections ------------------------------------------------------------------------


class AuthorisationsProjection(Projection):
    """Tables ``consent_authorisations``, ``consent_queries`` and ``consent_report_shares``."""

    name: ClassVar[str] = "consent_authorisations"
    version: ClassVar[int] = 1
    contract: ClassVar[str] = "Authorisations"
    handles: ClassVar[frozenset[str]] = frozenset(
        {"Authorised", "AuthorisationWithdrawn", "QueryLogged", "ReportShared"}
    )
    tables: ClassVar[tuple[str, ...]] = (
        "consent_authorisations",
        "consent_queries",
        "consent_report_shares",
    )
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE consent_authorisations (
            auth_id BLOB PRIMARY KEY,
            subject BLOB NOT NULL,
            member TEXT NOT NULL,
            purpose INTEGER NOT NULL,
            expiry INTEGER NOT NULL,
            schemas TEXT NOT NULL,
            enterprise TEXT NOT NULL,
            granted_at INTEGER NOT NULL,
            withdrawn_at INTEGER NOT NULL DEFAULT 0,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX consent_authorisations_subject ON consent_authorisations (subject, seq)",
        """CREATE TABLE consent_queries (
            query_id BLOB PRIMARY KEY,
            auth_id BLOB NOT NULL,
            subject BLOB NOT NULL,
            member TEXT NOT NULL,
            purpose INTEGER NOT NULL,
            schema BLOB NOT NULL,
            query_hash BLOB NOT NULL,
            queried_at INTEGER NOT NULL,
            block_number INTEGER NOT NULL,
            tx_hash TEXT NOT NULL,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX consent_queries_subject ON consent_queries (subject, seq)",
        "CREATE INDEX consent_queries_member ON consent_queries (member, seq)",
        """CREATE TABLE consent_report_shares (
            query_id BLOB NOT NULL,
            ciphertext_hash BLOB NOT NULL,
            sender TEXT NOT NULL,
            recipient TEXT NOT NULL,
            subject BLOB NOT NULL,
            recipient_key BLOB NOT NULL,
            shared_at INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (query_id, ciphertext_hash)
        )""",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        """Fold one Authorisations event into the tables."""
        a, ts = event.args, event.block_timestamp
        match event.name:
            case "Authorised":
                schemas = json.dumps(["0x" + bytes(s).hex() for s in a["schemas"]])
                db.execute(
                    "INSERT OR REPLACE INTO consent_authorisations (auth_id, subject, member,"
                    " purpose, expiry, schemas, enterprise, granted_at, seq)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a["authId"],
                        a["subject"],
                        a["member"],
                        a["purpose"],
                        a["expiry"],
                        schemas,
                        a["enterprise"],
                        ts,
                        event.seq,
                    ),
                )
            case "AuthorisationWithdrawn":
                db.execute(
                    "UPDATE consent_authorisations SET withdrawn_at = ? WHERE auth_id = ?",
                    (ts, a["authId"]),
                )
            case "QueryLogged":
                db.execute(
                    "INSERT OR REPLACE INTO consent_queries VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a["queryId"],
                        a["authId"],
                        a["subject"],
                        a["member"],
                        a["purpose"],
                        a["schema"],
                        a["queryHash"],
                        ts,
                        event.block_number,
                        event.tx_hash,
                        event.seq,
                    ),
                )
            case "ReportShared":
                db.execute(
                    "INSERT OR REPLACE INTO consent_report_shares VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a["queryId"],
                        a["ciphertextHash"],
                        a["sender"],
                        a["recipient"],
                        a["subject"],
                        a["recipientKey"],
                        ts,
                        event.seq,
                    ),
                )


class DisputesProjection(Projection):
    """Tables ``consent_disputes`` and ``consent_complaints`` from the Disputes contract's
    events."""

    name: ClassVar[str] = "consent_disputes"
    version: ClassVar[int] = 2
    contract: ClassVar[str] = "Disputes"
    handles: ClassVar[frozenset[str]] = frozenset(
        {"DisputeRaised", "DisputeRejected", "DisputeUpheld", "ComplaintFiled", "ComplaintResolved"}
    )
    tables: ClassVar[tuple[str, ...]] = ("consent_disputes", "consent_complaints")
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE consent_disputes (
            dispute_id INTEGER PRIMARY KEY,
            uid BLOB NOT NULL,
            attester TEXT NOT NULL,
            subject BLOB NOT NULL,
            reason_hash BLOB NOT NULL,
            raised_by TEXT NOT NULL,
            raised_at INTEGER NOT NULL,
            deadline INTEGER NOT NULL,
            status INTEGER NOT NULL,
            resolved_at INTEGER NOT NULL DEFAULT 0,
            resolver TEXT,
            late INTEGER NOT NULL DEFAULT 0,
            replaced_by BLOB,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX consent_disputes_open ON consent_disputes (status, attester, deadline)",
        "CREATE INDEX consent_disputes_uid ON consent_disputes (uid)",
        """CREATE TABLE consent_complaints (
            complaint_id INTEGER PRIMARY KEY,
            dispute_id INTEGER NOT NULL,
            uid BLOB NOT NULL,
            subject BLOB NOT NULL,
            reason_hash BLOB NOT NULL,
            filed_by TEXT NOT NULL,
            filed_at INTEGER NOT NULL,
            status INTEGER NOT NULL,
            resolved_at INTEGER NOT NULL DEFAULT 0,
            regulator TEXT,
            reply_hash BLOB,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX consent_complaints_status ON consent_complaints (status, complaint_id)",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        """Fold one Disputes event into the table."""
        a, ts = event.args, event.block_timestamp
        match event.name:
            case "DisputeRaised":
                db.execute(
                    "INSERT OR REPLACE INTO consent_disputes (dispute_id, uid, attester, subject,"
                    " reason_hash, raised_by, raised_at, deadline, status, seq)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a["disputeId"],
                        a["uid"],
                        a["attester"],
                        a["subject"],
                        a["reasonHash"],
                        a["raisedBy"],
                        ts,
                        a["deadline"],
                        int(DisputeStatus.OPEN),
                        event.seq,
                    ),
                )
            case "DisputeRejected" | "DisputeUpheld":
                upheld = event.name == "DisputeUpheld"
                replaced = a.get("replacedBy") if upheld else None
                db.execute(
                    "UPDATE consent_disputes SET status = ?, resolved_at = ?, resolver = ?,"
                    " late = ?, replaced_by = ? WHERE dispute_id = ?",
                    (
                        int(DisputeStatus.UPHELD if upheld else DisputeStatus.REJECTED),
                        ts,
                        a["resolver"],
                        int(bool(a["late"])),
                        None if not replaced or replaced == bytes(32) else replaced,
                        a["disputeId"],
                    ),
                )
            case "ComplaintFiled":
                db.execute(
                    "INSERT OR REPLACE INTO consent_complaints (complaint_id, dispute_id, uid,"
                    " subject, reason_hash, filed_by, filed_at, status, seq)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a["complaintId"],
                        a["disputeId"],
                        a["uid"],
                        a["subject"],
                        a["reasonHash"],
                        a["filedBy"],
                        ts,
                        int(ComplaintStatus.OPEN),
                        event.seq,
                    ),
                )
            case "ComplaintResolved":
                upheld = bool(a["upheld"])
                db.execute(
                    "UPDATE consent_complaints SET status = ?, resolved_at = ?, regulator = ?,"
                    " reply_hash = ? WHERE complaint_id = ?",
                    (
                        int(ComplaintStatus.UPHELD if upheld else ComplaintStatus.REJECTED),
                        ts,
                        a["regulator"],
                        a["replyHash"],
                        a["complaintId"],
                    ),
                )


# -- queries ----------------------------------------------------------------------------

_QUERY_COLUMNS = (
    "query_id, auth_id, subject, member, purpose, schema, query_hash, queried_at,"
    " block_number, tx_hash"
)
_DISPUTE_COLUMNS = (
    "dispute_id, uid, attester, subject, reason_hash, raised_by, raised_at, deadline,"
    " status, resolved_at, resolver, late, replaced_by"
)


def queries_of_subject(db: sqlite3.Connection, subject: bytes) -> list[QueryEntry]:
    """Who queried the enterprise ``subject``, when and why, in chain order."""
    rows = db.execute(
        f"SELECT {_QUERY_COLUMNS} FROM consent_queries WHERE subject = ? ORDER BY seq",
        (bytes(subject),),
    ).fetchall()
    return [_query(r) for r in rows]


def queries_by_member(db: sqlite3.Connection, member: str) -> list[QueryEntry]:
    """Every query the member made, in chain order (what a regulator inspects)."""
    rows = db.execute(
        f"SELECT {_QUERY_COLUMNS} FROM consent_queries WHERE member = ? ORDER BY seq",
        (to_checksum_address(member),),
    ).fetchall()
    return [_query(r) for r in rows]


def authorisations_of_subject(db: sqlite3.Connection, subject: bytes) -> list[AuthorisationEntry]:
    """Every authorisation the enterprise gave, in chain order."""
    rows = db.execute(
        "SELECT auth_id, subject, member, purpose, expiry, schemas, enterprise, granted_at,"
        " withdrawn_at FROM consent_authorisations WHERE subject = ? ORDER BY seq",
        (bytes(subject),),
    ).fetchall()
    return [
        AuthorisationEntry(
            auth_id=r[0],
            subject=r[1],
            member=r[2],
            purpose=QueryPurpose(r[3]),
            expiry=r[4],
            schemas=tuple(bytes.fromhex(s[2:]) for s in json.loads(r[5])),
            enterprise=r[6],
            granted_at=r[7],
            withdrawn_at=r[8],
        )
        for r in rows
    ]


def report_shares(db: sqlite3.Connection, query_id: bytes) -> list[ReportShareEntry]:
    """The reports recorded as shared in answer to a query."""
    rows = db.execute(
        "SELECT query_id, ciphertext_hash, sender, recipient, subject, recipient_key, shared_at"
        " FROM consent_report_shares WHERE query_id = ? ORDER BY seq",
        (bytes(query_id),),
    ).fetchall()
    return [ReportShareEntry(*r) for r in rows]


def disputes(
    db: sqlite3.Connection,
    *,
    attester: str | None = None,
    status: DisputeStatus | None = None,
) -> list[DisputeEntry]:
    """Disputes, of one attester and in one status when given, in order of raising."""
    clauses: list[str] = []
    params: list[object] = []
    if attester is not None:
        clauses.append("attester = ?")
        params.append(to_checksum_address(attester))
    if status is not None:
        clauses.append("status = ?")
        params.append(int(status))
    where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
    rows = db.execute(
        f"SELECT {_DISPUTE_COLUMNS} FROM consent_disputes{where} ORDER BY dispute_id", params
    ).fetchall()
    return [_dispute(r) for r in rows]


def dispute(db: sqlite3.Connection, dispute_id: int) -> DisputeEntry | None:
    """One dispute as its events left it, or None."""
    row = db.execute(
        f"SELECT {_DISPUTE_COLUMNS} FROM consent_disputes WHERE dispute_id = ?", (dispute_id,)
    ).fetchone()
    return None if row is None else _dispute(row)


def overdue_disputes(
    db: sqlite3.Connection, now: int, *, attester: str | None = None
) -> list[DisputeEntry]:
    """Disputes open at ``now`` with their deadline reached (art. 25), per member if given."""
    return [d for d in disputes(db, attester=attester, status=DisputeStatus.OPEN) if d.overdue(now)]


_COMPLAINT_COLUMNS = (
    "complaint_id, dispute_id, uid, subject, reason_hash, filed_by, filed_at, status,"
    " resolved_at, regulator, reply_hash"
)


def complaints(
    db: sqlite3.Connection, *, status: ComplaintStatus | None = None
) -> list[ComplaintEntry]:
    """Complaints, in one status when given, in order of filing (the regulator's list)."""
    where, params = ("", ()) if status is None else (" WHERE status = ?", (int(status),))
    rows = db.execute(
        f"SELECT {_COMPLAINT_COLUMNS} FROM consent_complaints{where} ORDER BY complaint_id",
        params,
    ).fetchall()
    return [_complaint(r) for r in rows]


def complaint(db: sqlite3.Connection, complaint_id: int) -> ComplaintEntry | None:
    """One complaint as its events left it, or None."""
    row = db.execute(
        f"SELECT {_COMPLAINT_COLUMNS} FROM consent_complaints WHERE complaint_id = ?",
        (complaint_id,),
    ).fetchone()
    return None if row is None else _complaint(row)


def _complaint(r: tuple[Any, ...]) -> ComplaintEntry:
    return ComplaintEntry(
        complaint_id=r[0],
        dispute_id=r[1],
        uid=r[2],
        subject=r[3],
        reason_hash=r[4],
        filed_by=r[5],
        filed_at=r[6],
        status=ComplaintStatus(r[7]),
        resolved_at=r[8],
        regulator=r[9],
        reply_hash=r[10],
    )


def _query(r: tuple[Any, ...]) -> QueryEntry:
    return QueryEntry(
        query_id=r[0],
        auth_id=r[1],
        subject=r[2],
        member=r[3],
        purpose=QueryPurpose(r[4]),
        schema=r[5],
        query_hash=r[6],
        queried_at=r[7],
        block_number=r[8],
        tx_hash=r[9],
    )


def _dispute(r: tuple[Any, ...]) -> DisputeEntry:
    return DisputeEntry(
        dispute_id=r[0],
        uid=r[1],
        attester=r[2],
        subject=r[3],
        reason_hash=r[4],
        raised_by=r[5],
        raised_at=r[6],
        deadline=r[7],
        status=DisputeStatus(r[8]),
        resolved_at=r[9],
        resolver=r[10],
        late=bool(r[11]),
        replaced_by=r[12],
    )


# -- a stand-in for the event index -----------------------------------------------------


class ConsentLog(ProjectionLog):
    """An event index holding only the consent projections (in memory by default).

    :meth:`follow` reads every block since the last call (from the deployment
    block on); the lists then answer from SQLite, not from the chain.
    """

    def __init__(self, ledger: Ledger, path: str = ":memory:") -> None:
        super().__init__(ledger, [AuthorisationsProjection(), DisputesProjection()], path)

    def queries_of_subject(self, subject: bytes) -> list[QueryEntry]:
        """Who queried the enterprise ``subject`` (after :meth:`follow`)."""
        return self.read(queries_of_subject, subject)

    def queries_by_member(self, member: str) -> list[QueryEntry]:
        """Every query the member made (after :meth:`follow`)."""
        return self.read(queries_by_member, member)

    def authorisations_of_subject(self, subject: bytes) -> list[AuthorisationEntry]:
        """Every authorisation the enterprise gave (after :meth:`follow`)."""
        return self.read(authorisations_of_subject, subject)

    def report_shares(self, query_id: bytes) -> list[ReportShareEntry]:
        """The reports shared in answer to a query (after :meth:`follow`)."""
        return self.read(report_shares, query_id)

    def overdue_disputes(self, now: int, *, attester: str | None = None) -> list[DisputeEntry]:
        """Disputes overdue at ``now`` (after :meth:`follow`)."""
        return self.read(overdue_disputes, now, attester=attester)

    def open_complaints(self) -> list[ComplaintEntry]:
        """Complaints awaiting a regulator (after :meth:`follow`)."""
        return self.read(complaints, status=ComplaintStatus.OPEN)
