"""Who pledged what to whom, and who lent how much to whom: projections of the lending events.

The chain answers for one pledge, asset, facility or agreement; lists per pledgor,
lender or enterprise, exposure by lender and the flagged agreements are read from the
events (``CollateralRegistry.sol``, ``CreditFacilities.sol``), folded into SQLite tables.
Amounts are kept as 8-byte big-endian blobs (SQLite integers stop at 2**63 - 1) and
summed here.

:class:`CollateralProjection` and :class:`FacilitiesProjection` are
:class:`~ledger_client.index.EventIndex` projections; :class:`LendingLog` is an event
index holding just these two.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from ledger_client.addresses import to_checksum_address
from ledger_client.index.base import IndexedEvent, Projection
from ledger_client.index.log import ProjectionLog
from ledger_client.types import Hash32, SubjectId

if TYPE_CHECKING:
    from ledger_client.deployment import Ledger

__all__ = [
    "AgreementEntry",
    "CollateralProjection",
    "FacilitiesProjection",
    "FacilityEntry",
    "LendingLog",
    "PledgeEntry",
    "agreement_entry",
    "agreements_not_ended",
    "agreements_of_subject",
    "exposure_by_lender",
    "facilities_of_subject",
    "facility_entry",
    "flagged_agreements",
    "pledges_of_asset",
    "pledges_of_pledgor",
]


def _blob(amount: int) -> bytes:
    return int(amount).to_bytes(8, "big")


def _int(stored: bytes) -> int:
    return int.from_bytes(stored, "big")


@dataclass(frozen=True, slots=True)
class PledgeEntry:
    """A registration as its events left it."""

    pledge_id: Hash32
    asset_id: Hash32
    kind: int  # CollateralKind code
    pledgor: SubjectId
    pledgee: str
    secured_amount: int  # fen
    expiry: int  # UNIX seconds
    released: bool
    registered_at: int  # UNIX seconds


@dataclass(frozen=True, slots=True)
class FacilityEntry:
    """A facility as its events left it."""

    facility_id: Hash32
    subject: SubjectId
    lender: str
    kind: int  # FacilityKind code
    limit: int  # fen
    drawn: int  # fen outstanding
    expiry: int
    closed: bool
    pledge_ids: tuple[Hash32, ...]


@dataclass(frozen=True, slots=True)
class AgreementEntry:
    """A joint agreement as its events left it."""

    agreement: int
    subject: SubjectId
    lead: str
    joint_limit: int  # fen
    participants: tuple[str, ...]
    status: str  # proposed, active, ended
    flagged: bool
    joint_exposure: int = 0  # fen the participants have outstanding, as the chain last counted


class CollateralProjection(Projection):
    """Table ``pledges``."""

    name: ClassVar[str] = "collateral"
    contract: ClassVar[str] = "CollateralRegistry"
    handles: ClassVar[frozenset[str]] = frozenset(
        {"CollateralPledged", "PledgeAmended", "PledgeReleased"}
    )
    tables: ClassVar[tuple[str, ...]] = ("pledges",)
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE pledges (
            pledge_id BLOB PRIMARY KEY,
            asset_id BLOB NOT NULL,
            kind INTEGER NOT NULL,
            pledgor BLOB NOT NULL,
            pledgee TEXT NOT NULL,
            secured_amount BLOB NOT NULL,
            expiry INTEGER NOT NULL,
            released INTEGER NOT NULL DEFAULT 0,
            registered_at INTEGER NOT NULL,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX pledges_asset ON pledges (asset_id, pledge_id)",
        "CREATE INDEX pledges_pledgor ON pledges (pledgor, seq)",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        """Fold one CollateralRegistry event into the table."""
        a = event.args
        match event.name:
            case "CollateralPledged":
                db.execute(
                    "INSERT OR REPLACE INTO pledges (pledge_id, asset_id, kind, pledgor, pledgee,"
                    " secured_amount, expiry, registered_at, seq) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        bytes(a["pledgeId"]),
                        bytes(a["assetId"]),
                        int(a["kind"]),
                        bytes(a["pledgor"]),
                        to_checksum_address(a["pledgee"]),
                        _blob(a["securedAmount"]),
                        int(a["expiry"]),
                        event.block_timestamp,
                        event.seq,
                    ),
                )
            case "PledgeAmended":
                db.execute(
                    "UPDATE pledges SET secured_amount = ?, expiry = ? WHERE pledge_id = ?",
                    (_blob(a["securedAmount"]), int(a["expiry"]), bytes(a["pledgeId"])),
                )
            case "PledgeReleased":
                db.execute(
                    "UPDATE pledges SET released = 1 WHERE pledge_id = ?", (bytes(a["pledgeId"]),)
                )


class FacilitiesProjection(Projection):
    """Tables ``facilities`` and ``joint_agreements``.

    An agreement's joint exposure is the chain's own figure: ``JointAgreementActivated``
    opens it at the participants' balances and every draw or repayment on the enterprise
    reports it after the change (``joint``), so utilisation needs no sum over facilities.
    """

    name: ClassVar[str] = "facilities"
    version: ClassVar[int] = 2
    contract: ClassVar[str] = "CreditFacilities"
    handles: ClassVar[frozenset[str]] = frozenset(
        {
            "FacilityRegistered",
            "FacilityDrawn",
            "FacilityRepaid",
            "FacilityAmended",
            "FacilityClosed",
            "JointAgreementProposed",
            "JointAgreementActivated",
            "JointAgreementFlagged",
            "JointAgreementFlagCleared",
            "JointAgreementEnded",
        }
    )
    tables: ClassVar[tuple[str, ...]] = ("facilities", "joint_agreements")
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE facilities (
            facility_id BLOB PRIMARY KEY,
            subject BLOB NOT NULL,
            lender TEXT NOT NULL,
            kind INTEGER NOT NULL,
            credit_limit BLOB NOT NULL,
            drawn BLOB NOT NULL,
            expiry INTEGER NOT NULL,
            closed INTEGER NOT NULL DEFAULT 0,
            pledge_ids TEXT NOT NULL,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX facilities_subject ON facilities (subject, seq)",
        "CREATE INDEX facilities_lender ON facilities (lender, seq)",
        """CREATE TABLE joint_agreements (
            agreement INTEGER PRIMARY KEY,
            subject BLOB NOT NULL,
            lead TEXT NOT NULL,
            joint_limit BLOB NOT NULL,
            participants TEXT NOT NULL,
            status TEXT NOT NULL,
            flagged INTEGER NOT NULL DEFAULT 0,
            joint_exposure BLOB NOT NULL DEFAULT x'0000000000000000'
        )""",
        "CREATE INDEX joint_agreements_subject ON joint_agreements (subject, status)",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        """Fold one CreditFacilities event into the tables."""
        a = event.args
        match event.name:
            case "FacilityRegistered":
                pledges = json.dumps(["0x" + bytes(p).hex() for p in a["pledgeIds"]])
                db.execute(
                    "INSERT OR REPLACE INTO facilities (facility_id, subject, lender, kind,"
                    " credit_limit, drawn, expiry, pledge_ids, seq) VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        bytes(a["facilityId"]),
                        bytes(a["subject"]),
                        to_checksum_address(a["lender"]),
                        int(a["kind"]),
                        _blob(a["limit"]),
                        _blob(0),
                        int(a["expiry"]),
                        pledges,
                        event.seq,
                    ),
                )
            case "FacilityDrawn" | "FacilityRepaid":
                db.execute(
                    "UPDATE facilities SET drawn = ? WHERE facility_id = ?",
                    (_blob(a["drawn"]), bytes(a["facilityId"])),
                )
                db.execute(
                    "UPDATE joint_agreements SET joint_exposure = ?"
                    " WHERE subject = ? AND status = 'active'",
                    (_blob(a["joint"]), bytes(a["subject"])),
                )
            case "FacilityAmended":
                db.execute(
                    "UPDATE facilities SET credit_limit = ?, expiry = ? WHERE facility_id = ?",
                    (_blob(a["limit"]), int(a["expiry"]), bytes(a["facilityId"])),
                )
            case "FacilityClosed":
                db.execute(
                    "UPDATE facilities SET closed = 1 WHERE facility_id = ?",
                    (bytes(a["facilityId"]),),
                )
            case "JointAgreementProposed":
                banks = [to_checksum_address(p) for p in a["participants"]]
                db.execute(
                    "INSERT OR REPLACE INTO joint_agreements (agreement, subject, lead,"
                    " joint_limit, participants, status) VALUES (?,?,?,?,?,'proposed')",
                    (
                        int(a["agreement"]),
                        bytes(a["subject"]),
                        to_checksum_address(a["lead"]),
                        _blob(a["jointLimit"]),
                        json.dumps(banks),
                    ),
                )
            case "JointAgreementActivated":
                db.execute(
                    "UPDATE joint_agreements SET status = 'active', joint_exposure = ?"
                    " WHERE agreement = ?",
                    (_blob(a["joint"]), int(a["agreement"])),
                )
            case "JointAgreementEnded":
                self._set(db, a["agreement"], "status = 'ended'")
            case "JointAgreementFlagged":
                self._set(db, a["agreement"], "flagged = 1")
            case "JointAgreementFlagCleared":
                self._set(db, a["agreement"], "flagged = 0")

    @staticmethod
    def _set(db: sqlite3.Connection, agreement: int, assignment: str) -> None:
        db.execute(
            f"UPDATE joint_agreements SET {assignment} WHERE agreement = ?",
            (int(agreement),),
        )


# -- queries ---------------------------------------------------------------------------------
_PLEDGE_COLUMNS = (
    "pledge_id, asset_id, kind, pledgor, pledgee, secured_amount, expiry, released, registered_at"
)


def _pledge(r: tuple[Any, ...]) -> PledgeEntry:
    pid, aid, kind, pledgor, pledgee, amount, expiry, released, at = r
    return PledgeEntry(
        Hash32(bytes(pid)),
        Hash32(bytes(aid)),
        int(kind),
        SubjectId(bytes(pledgor)),
        str(pledgee),
        _int(amount),
        int(expiry),
        bool(released),
        int(at),
    )


def pledges_of_asset(db: sqlite3.Connection, asset_id: bytes) -> list[PledgeEntry]:
    """Every registration on an asset, in priority order (search before lending)."""
    rows = db.execute(
        f"SELECT {_PLEDGE_COLUMNS} FROM pledges WHERE asset_id = ? ORDER BY pledge_id",
        (bytes(asset_id),),
    )
    return [_pledge(r) for r in rows]


def pledges_of_pledgor(db: sqlite3.Connection, pledgor: bytes) -> list[PledgeEntry]:
    """Every pledge an enterprise consented to, oldest first."""
    rows = db.execute(
        f"SELECT {_PLEDGE_COLUMNS} FROM pledges WHERE pledgor = ? ORDER BY seq",
        (bytes(pledgor),),
    )
    return [_pledge(r) for r in rows]


_FACILITY_COLUMNS = (
    "facility_id, subject, lender, kind, credit_limit, drawn, expiry, closed, pledge_ids"
)


def _facility(r: tuple[Any, ...]) -> FacilityEntry:
    fid, subj, lender, kind, limit, drawn, expiry, closed, pledges = r
    return FacilityEntry(
        Hash32(bytes(fid)),
        SubjectId(bytes(subj)),
        str(lender),
        int(kind),
        _int(limit),
        _int(drawn),
        int(expiry),
        bool(closed),
        tuple(Hash32(bytes.fromhex(p[2:])) for p in json.loads(pledges)),
    )


def facilities_of_subject(db: sqlite3.Connection, subject: bytes) -> list[FacilityEntry]:
    """Every facility granted to an enterprise, oldest first."""
    rows = db.execute(
        f"SELECT {_FACILITY_COLUMNS} FROM facilities WHERE subject = ? ORDER BY seq",
        (bytes(subject),),
    )
    return [_facility(r) for r in rows]


def facility_entry(db: sqlite3.Connection, facility_id: bytes) -> FacilityEntry | None:
    """A facility as its events left it, or None when not indexed."""
    row = db.execute(
        f"SELECT {_FACILITY_COLUMNS} FROM facilities WHERE facility_id = ?", (bytes(facility_id),)
    ).fetchone()
    return _facility(row) if row is not None else None


def exposure_by_lender(db: sqlite3.Connection, subject: bytes) -> dict[str, int]:
    """Fen outstanding to an enterprise, by lender."""
    out: dict[str, int] = defaultdict(int)
    for f in facilities_of_subject(db, subject):
        out[f.lender] += f.drawn
    return dict(out)


_AGREEMENT_COLUMNS = (
    "agreement, subject, lead, joint_limit, participants, status, flagged, joint_exposure"
)


def _agreements(rows: Iterable[tuple[Any, ...]]) -> list[AgreementEntry]:
    return [
        AgreementEntry(
            int(no),
            SubjectId(bytes(subject)),
            str(lead),
            _int(limit),
            tuple(json.loads(participants)),
            str(status),
            bool(flagged),
            _int(exposure),
        )
        for no, subject, lead, limit, participants, status, flagged, exposure in rows
    ]


def flagged_agreements(db: sqlite3.Connection) -> list[AgreementEntry]:
    """Joint agreements in force that an overdue flagged."""
    return _agreements(
        db.execute(
            f"SELECT {_AGREEMENT_COLUMNS} FROM joint_agreements"
            " WHERE flagged = 1 AND status = 'active' ORDER BY agreement"
        )
    )


def agreement_entry(db: sqlite3.Connection, agreement: int) -> AgreementEntry | None:
    """A joint agreement as its events left it (its participants), or None when not indexed."""
    found = _agreements(
        db.execute(
            f"SELECT {_AGREEMENT_COLUMNS} FROM joint_agreements WHERE agreement = ?", (agreement,)
        )
    )
    return found[0] if found else None


def agreements_of_subject(db: sqlite3.Connection, subject: bytes) -> list[AgreementEntry]:
    """Every joint agreement proposed for an enterprise, oldest first."""
    return _agreements(
        db.execute(
            f"SELECT {_AGREEMENT_COLUMNS} FROM joint_agreements WHERE subject = ?"
            " ORDER BY agreement",
            (bytes(subject),),
        )
    )


def agreements_not_ended(db: sqlite3.Connection, limit: int = 500) -> list[AgreementEntry]:
    """Joint agreements proposed or in force, the most recent ``limit`` of them, by number."""
    return _agreements(
        db.execute(
            f"SELECT {_AGREEMENT_COLUMNS} FROM joint_agreements WHERE status != 'ended'"
            " ORDER BY agreement DESC LIMIT ?",
            (limit,),
        )
    )


class LendingLog(ProjectionLog):
    """An event index holding only the lending projections (in memory by default)."""

    def __init__(self, ledger: Ledger, path: str = ":memory:") -> None:
        super().__init__(ledger, [CollateralProjection(), FacilitiesProjection()], path)

    def pledges_of_asset(self, asset_id: bytes) -> list[PledgeEntry]:
        """Every registration on an asset (after :meth:`follow`)."""
        return self.read(pledges_of_asset, asset_id)

    def pledges_of_pledgor(self, pledgor: bytes) -> list[PledgeEntry]:
        """Every pledge an enterprise consented to (after :meth:`follow`)."""
        return self.read(pledges_of_pledgor, pledgor)

    def facilities_of_subject(self, subject: bytes) -> list[FacilityEntry]:
        """Every facility granted to an enterprise (after :meth:`follow`)."""
        return self.read(facilities_of_subject, subject)

    def exposure_by_lender(self, subject: bytes) -> dict[str, int]:
        """Fen outstanding to an enterprise by lender (after :meth:`follow`)."""
        return self.read(exposure_by_lender, subject)

    def flagged_agreements(self) -> list[AgreementEntry]:
        """Joint agreements in force flagged by an overdue (after :meth:`follow`)."""
        return self.read(flagged_agreements)
