"""Who holds, owes and financed what: a projection of the receivables events.

The chain answers questions about one receivable (its parts, lineage and
balance are views of ``Receivables.sol``) but keeps no lists per enterprise or
bank: "what does this supplier hold", "what does this core enterprise owe",
"what has this bank financed" and "what happened to this part" are read from
the events, folded into SQLite tables.

:class:`ReceivablesProjection` is an :class:`~ledger_client.index.EventIndex`
projection: register it, then query with ``with index.reading() as db:
holdings(db, subject)``. :class:`ReceivablesLog` is an event index holding just
this projection, for callers that want the receivables lists and nothing else.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ledger_client.addresses import to_checksum_address
from ledger_client.index.base import IndexedEvent, Projection
from ledger_client.index.log import ProjectionLog
from ledger_client.types import Hash32, ReceivableId, ReceivableStatus, SubjectId

if TYPE_CHECKING:
    from ledger_client.deployment import Ledger

__all__ = [
    "FinancingEntry",
    "PartEntry",
    "ReceivableEvent",
    "ReceivablesLog",
    "ReceivablesProjection",
    "financings_of_bank",
    "financings_of_enterprise",
    "history",
    "holdings",
    "part",
    "payables",
]

_ZERO_ADDRESS = "0x" + "00" * 20
_OUTSTANDING = tuple(int(s) for s in ReceivableStatus if s.outstanding)


# -- what the queries return ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartEntry:
    """A receivable or part as its events left it."""

    id: ReceivableId
    root: ReceivableId  # the issued receivable
    parent: ReceivableId | None  # the part it was split from
    debtor: SubjectId
    holder: SubjectId
    amount_fen: int
    due_date: int  # UNIX seconds
    status: ReceivableStatus
    financier: str | None  # the bank that is its payee, while financed
    default_attestation: Hash32 | None  # once marked overdue
    issued_at: int  # UNIX seconds the part came into being (issue or split)


@dataclass(frozen=True, slots=True)
class FinancingEntry:
    """One financing of a part by a bank."""

    id: ReceivableId  # the part financed
    financier: str
    holder: SubjectId  # the enterprise that was financed
    debtor: SubjectId
    amount_fen: int  # the part's face amount
    advance_fen: int
    discount_bps: int
    due_date: int
    financed_at: int  # UNIX seconds
    released_at: int  # 0 while not released
    settled_at: int  # 0 while the debtor has not paid it
    tx_hash: str

    @property
    def live(self) -> bool:
        """Neither released nor settled: the bank is still owed."""
        return self.released_at == 0 and self.settled_at == 0


@dataclass(frozen=True, slots=True)
class ReceivableEvent:
    """One event in the history of a part."""

    name: str  # e.g. "ReceivableSplit"
    args: dict[str, Any]  # as decoded; bytes as 0x hex
    block_number: int
    timestamp: int  # UNIX seconds
    tx_hash: str


# -- the projection ---------------------------------------------------------------------


class ReceivablesProjection(Projection):
    """Tables ``receivable_parts``, ``receivable_financings`` and ``receivable_events``."""

    name: ClassVar[str] = "receivables"
    #: 2: amounts kept as 8-byte big-endian blobs (SQLite integers stop at 2**63 - 1).
    version: ClassVar[int] = 2
    contract: ClassVar[str] = "Receivables"
    handles: ClassVar[frozenset[str]] = frozenset(
        {
            "ReceivableIssued",
            "ReceivableAccepted",
            "ReceivableRejected",
            "ReceivableTransferred",
            "ReceivableSplit",
            "FinancingRequested",
            "FinancingRequestWithdrawn",
            "ReceivableFinanced",
            "FinancingReleased",
            "ReceivableSettled",
            "ReceivableMarkedOverdue",
        }
    )
    tables: ClassVar[tuple[str, ...]] = (
        "receivable_parts",
        "receivable_financings",
        "receivable_events",
    )
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE receivable_parts (
            id BLOB PRIMARY KEY,
            root BLOB NOT NULL,
            parent BLOB,
            debtor BLOB NOT NULL,
            holder BLOB NOT NULL,
            amount BLOB NOT NULL,
            due_date INTEGER NOT NULL,
            status INTEGER NOT NULL,
            financier TEXT,
            default_uid BLOB,
            issued_at INTEGER NOT NULL,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX receivable_parts_holder ON receivable_parts (holder, status, seq)",
        "CREATE INDEX receivable_parts_debtor ON receivable_parts (debtor, status, seq)",
        """CREATE TABLE receivable_financings (
            id BLOB NOT NULL,
            financier TEXT NOT NULL,
            holder BLOB NOT NULL,
            advance BLOB NOT NULL,
            discount_bps INTEGER NOT NULL,
            financed_at INTEGER NOT NULL,
            released_at INTEGER NOT NULL DEFAULT 0,
            settled_at INTEGER NOT NULL DEFAULT 0,
            tx_hash TEXT NOT NULL,
            seq INTEGER PRIMARY KEY
        )""",
        "CREATE INDEX receivable_financings_bank ON receivable_financings (financier, seq)",
        "CREATE INDEX receivable_financings_holder ON receivable_financings (holder, seq)",
        "CREATE INDEX receivable_financings_part ON receivable_financings (id, seq)",
        """CREATE TABLE receivable_events (
            seq INTEGER NOT NULL,
            id BLOB NOT NULL,
            name TEXT NOT NULL,
            args TEXT NOT NULL,
            block_number INTEGER NOT NULL,
            timestamp INTEGER NOT NULL,
            tx_hash TEXT NOT NULL,
            PRIMARY KEY (id, seq)
        )""",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        """Fold one Receivables event into the tables."""
        a, ts, rid = event.args, event.block_timestamp, bytes(event.args["id"])
        self._log(db, event, rid)
        match event.name:
            case "ReceivableIssued":
                db.execute(
                    "INSERT OR REPLACE INTO receivable_parts (id, root, parent, debtor, holder,"
                    " amount, due_date, status, issued_at, seq)"
                    " VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rid,
                        rid,
                        a["debtor"],
                        a["supplier"],
                        _fen(a["amount"]),
                        a["dueDate"],
                        int(ReceivableStatus.PENDING),
                        ts,
                        event.seq,
                    ),
                )
            case "ReceivableAccepted":
                self._status(db, rid, ReceivableStatus.ACTIVE)
            case "ReceivableRejected":
                self._status(db, rid, ReceivableStatus.REJECTED)
            case "ReceivableTransferred":
                db.execute("UPDATE receivable_parts SET holder = ? WHERE id = ?", (a["to"], rid))
            case "ReceivableSplit":
                child = bytes(a["child"])
                self._log(db, event, child)
                db.execute(
                    "UPDATE receivable_parts SET amount = ? WHERE id = ?",
                    (_fen(a["remaining"]), rid),
                )
                db.execute(
                    "INSERT OR REPLACE INTO receivable_parts (id, root, parent, debtor, holder,"
                    " amount, due_date, status, issued_at, seq)"
                    " SELECT ?, root, id, debtor, ?, ?, due_date, ?, ?, ?"
                    " FROM receivable_parts WHERE id = ?",
                    (
                        child,
                        a["to"],
                        _fen(a["amount"]),
                        int(ReceivableStatus.ACTIVE),
                        ts,
                        event.seq,
                        rid,
                    ),
                )
            case "ReceivableFinanced":
                self._status(db, rid, ReceivableStatus.FINANCED, financier=a["financier"])
                db.execute(
                    "INSERT INTO receivable_financings (id, financier, holder, advance,"
                    " discount_bps, financed_at, tx_hash, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        rid,
                        a["financier"],
                        a["holder"],
                        _fen(a["advance"]),
                        a["discountBps"],
                        ts,
                        event.tx_hash,
                        event.seq,
                    ),
                )
            case "FinancingReleased":
                db.execute(
                    "UPDATE receivable_parts SET financier = NULL, status = CASE status"
                    " WHEN ? THEN ? ELSE status END WHERE id = ?",
                    (int(ReceivableStatus.FINANCED), int(ReceivableStatus.ACTIVE), rid),
                )
                self._close_financing(db, rid, "released_at", ts)
            case "ReceivableSettled":
                self._status(db, rid, ReceivableStatus.PAID)
                if a["financier"] != _ZERO_ADDRESS and int(a["financier"], 16):
                    self._close_financing(db, rid, "settled_at", ts)
            case "ReceivableMarkedOverdue":
                db.execute(
                    "UPDATE receivable_parts SET status = ?, default_uid = ? WHERE id = ?",
                    (int(ReceivableStatus.OVERDUE), a["attestation"], rid),
                )

    @staticmethod
    def _log(db: sqlite3.Connection, event: IndexedEvent, rid: bytes) -> None:
        db.execute(
            "INSERT OR REPLACE INTO receivable_events VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event.seq,
                rid,
                event.name,
                json.dumps({k: _jsonable(v) for k, v in event.args.items()}, sort_keys=True),
                event.block_number,
                event.block_timestamp,
                event.tx_hash,
            ),
        )

    @staticmethod
    def _status(
        db: sqlite3.Connection, rid: bytes, status: ReceivableStatus, financier: str | None = None
    ) -> None:
        if financier is None:
            db.execute("UPDATE receivable_parts SET status = ? WHERE id = ?", (int(status), rid))
        else:
            db.execute(
                "UPDATE receivable_parts SET status = ?, financier = ? WHERE id = ?",
                (int(status), financier, rid),
            )

    @staticmethod
    def _close_financing(db: sqlite3.Connection, rid: bytes, column: str, ts: int) -> None:
        db.execute(
            f"UPDATE receivable_financings SET {column} = ? WHERE seq = ("
            "SELECT MAX(seq) FROM receivable_financings WHERE id = ?)",
            (ts, rid),
        )


def _fen(amount: int) -> bytes:
    """An amount as stored: 8 bytes, big-endian, so blobs sort as the numbers do.

    The contract's amounts are uint64; SQLite's integers are signed 64-bit, so an
    amount of 2**63 or more, kept as an integer, would stop the index at its block.
    """
    return int(amount).to_bytes(8, "big")


def _int(stored: bytes) -> int:
    return int.from_bytes(stored, "big")


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    return value


# -- queries ----------------------------------------------------------------------------

_PART_COLUMNS = (
    "id, root, parent, debtor, holder, amount, due_date, status, financier, default_uid, issued_at"
)
_FINANCING_COLUMNS = (
    "f.id, f.financier, f.holder, p.debtor, p.amount, f.advance, f.discount_bps, p.due_date,"
    " f.financed_at, f.released_at, f.settled_at, f.tx_hash"
)


def part(db: sqlite3.Connection, receivable_id: bytes) -> PartEntry | None:
    """One part as the events left it, or None."""
    row = db.execute(
        f"SELECT {_PART_COLUMNS} FROM receivable_parts WHERE id = ?", (bytes(receivable_id),)
    ).fetchone()
    return None if row is None else _part(row)


def holdings(
    db: sqlite3.Connection, holder: bytes, *, outstanding_only: bool = True
) -> list[PartEntry]:
    """What the enterprise ``holder`` holds: its parts still owed to it (or all), in order."""
    return _parts(db, "holder", holder, outstanding_only)


def payables(
    db: sqlite3.Connection, debtor: bytes, *, outstanding_only: bool = True
) -> list[PartEntry]:
    """What the core enterprise ``debtor`` owes: every outstanding part of its receivables."""
    return _parts(db, "debtor", debtor, outstanding_only)


def financings_of_enterprise(db: sqlite3.Connection, holder: bytes) -> list[FinancingEntry]:
    """Every financing the enterprise obtained, in chain order."""
    rows = db.execute(
        f"SELECT {_FINANCING_COLUMNS} FROM receivable_financings f"
        " JOIN receivable_parts p ON p.id = f.id WHERE f.holder = ? ORDER BY f.seq",
        (bytes(holder),),
    ).fetchall()
    return [_financing(r) for r in rows]


def financings_of_bank(
    db: sqlite3.Connection, financier: str, *, live_only: bool = False
) -> list[FinancingEntry]:
    """Every financing the bank made (only those still owed to it, if ``live_only``)."""
    rows = db.execute(
        f"SELECT {_FINANCING_COLUMNS} FROM receivable_financings f"
        " JOIN receivable_parts p ON p.id = f.id WHERE f.financier = ? ORDER BY f.seq",
        (to_checksum_address(financier),),
    ).fetchall()
    entries = [_financing(r) for r in rows]
    return [e for e in entries if e.live] if live_only else entries


def history(db: sqlite3.Connection, receivable_id: bytes) -> list[ReceivableEvent]:
    """Every event of one part in chain order (a split appears under parent and child)."""
    rows = db.execute(
        "SELECT name, args, block_number, timestamp, tx_hash FROM receivable_events"
        " WHERE id = ? ORDER BY seq",
        (bytes(receivable_id),),
    ).fetchall()
    return [ReceivableEvent(r[0], json.loads(r[1]), r[2], r[3], r[4]) for r in rows]


def _parts(
    db: sqlite3.Connection, column: str, subject: bytes, outstanding_only: bool
) -> list[PartEntry]:
    where = f"{column} = ?"
    params: list[object] = [bytes(subject)]
    if outstanding_only:
        where += f" AND status IN ({', '.join('?' * len(_OUTSTANDING))})"
        params.extend(_OUTSTANDING)
    rows = db.execute(
        f"SELECT {_PART_COLUMNS} FROM receivable_parts WHERE {where} ORDER BY root, id", params
    ).fetchall()
    return [_part(r) for r in rows]


def _part(r: tuple[Any, ...]) -> PartEntry:
    return PartEntry(
        id=ReceivableId(r[0]),
        root=ReceivableId(r[1]),
        parent=None if r[2] is None else ReceivableId(r[2]),
        debtor=SubjectId(r[3]),
        holder=SubjectId(r[4]),
        amount_fen=_int(r[5]),
        due_date=r[6],
        status=ReceivableStatus(r[7]),
        financier=r[8],
        default_attestation=None if r[9] is None else Hash32(r[9]),
        issued_at=r[10],
    )


def _financing(r: tuple[Any, ...]) -> FinancingEntry:
    return FinancingEntry(
        id=ReceivableId(r[0]),
        financier=r[1],
        holder=SubjectId(r[2]),
        debtor=SubjectId(r[3]),
        amount_fen=_int(r[4]),
        advance_fen=_int(r[5]),
        discount_bps=r[6],
        due_date=r[7],
        financed_at=r[8],
        released_at=r[9],
        settled_at=r[10],
        tx_hash=r[11],
    )


# -- a stand-in for the event index -----------------------------------------------------


class ReceivablesLog(ProjectionLog):
    """An event index holding only the receivables projection (in memory by default).

    :meth:`follow` indexes every block since the last call (from the deployment
    block on); the lists then answer from SQLite, not from the chain.
    """

    def __init__(self, ledger: Ledger, path: str = ":memory:") -> None:
        super().__init__(ledger, [ReceivablesProjection()], path)

    def holdings(self, holder: bytes, *, outstanding_only: bool = True) -> list[PartEntry]:
        """What the enterprise holds (after :meth:`follow`)."""
        return self.read(holdings, holder, outstanding_only=outstanding_only)

    def payables(self, debtor: bytes, *, outstanding_only: bool = True) -> list[PartEntry]:
        """What the core enterprise owes (after :meth:`follow`)."""
        return self.read(payables, debtor, outstanding_only=outstanding_only)

    def financings_of_enterprise(self, holder: bytes) -> list[FinancingEntry]:
        """Every financing the enterprise obtained (after :meth:`follow`)."""
        return self.read(financings_of_enterprise, holder)

    def financings_of_bank(
        self, financier: str, *, live_only: bool = False
    ) -> list[FinancingEntry]:
        """Every financing the bank made (after :meth:`follow`)."""
        return self.read(financings_of_bank, financier, live_only=live_only)

    def history(self, receivable_id: bytes) -> list[ReceivableEvent]:
        """Every event of one part (after :meth:`follow`)."""
        return self.read(history, receivable_id)

    def part(self, receivable_id: bytes) -> PartEntry | None:
        """One part as its events left it (after :meth:`follow`)."""
        return self.read(part, receivable_id)
