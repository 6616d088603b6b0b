"""The built-in projections: consortium members and enterprises, schemas, attestations, batches.

Each is also the model for a new contract's projection: a :class:`Projection`
subclass naming its contract, events and tables, an ``apply`` that folds one
event into those tables, and frozen dataclasses for what its queries return.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from typing import Any, ClassVar

from ..attestations.merkle import anchored_batch_id
from ..types import City, Role, Validity
from .base import IndexedEvent, Projection

__all__ = [
    "AttestationsProjection",
    "BatchRecord",
    "BatchesProjection",
    "ConsortiumProjection",
    "IndexedAttestation",
    "IndexedBatch",
    "IndexedEnterprise",
    "IndexedMember",
    "SchemasProjection",
    "builtin_projections",
]

ZERO32 = bytes(32)


# -- what the queries return ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IndexedMember:
    """A member institution as its events left it."""

    account: str  # checksum address
    name: str  # the institution's public name
    city: City
    roles: Role
    suspended: bool  # true while suspended
    suspension_reason: bytes | None  # the 32-byte reason of the current suspension
    encryption_key: bytes  # X25519 public key; empty until published
    admitted_at: int  # UNIX seconds
    changed_at: int  # UNIX seconds of the last change of roles or standing
    admitted_by: str  # the regulator that admitted it

    @property
    def in_good_standing(self) -> bool:
        """Admitted and not suspended."""
        return not self.suspended


@dataclass(frozen=True, slots=True)
class IndexedEnterprise:
    """The current binding of an enterprise's subject id to its account."""

    subject: bytes  # keyed hash of the USCC
    account: str  # the account it signs with now
    registrar: str  # the member that made the current binding
    bound_at: int  # UNIX seconds of the current binding


@dataclass(frozen=True, slots=True)
class IndexedAttestation:
    """An attestation with every fact its events carried."""

    uid: bytes
    schema: bytes  # schema id
    subject: bytes  # the enterprise's subject id
    attester: str  # the member that made it
    data_hash: bytes  # keccak256 of the off-chain record
    expiry: int  # UNIX seconds; 0 for none
    ref_uid: bytes  # the attestation it refers to, or 32 zero bytes
    attested_at: int  # UNIX seconds (block time)
    block_number: int
    tx_hash: str
    revoked_at: int  # UNIX seconds; 0 while not revoked
    revoker: str | None  # who revoked it
    revocation_reason: bytes | None  # the 32-byte reason given
    replaced_by: bytes | None  # UID of its replacement, if replaced

    def validity(self, now: int) -> Validity:
        """What ``IAttestations.validity`` answers at chain time ``now``."""
        if self.revoked_at:
            return Validity.REVOKED
        if self.replaced_by is not None:
            return Validity.REPLACED
        if self.expiry and self.expiry <= now:
            return Validity.EXPIRED
        return Validity.VALID


@dataclass(frozen=True, slots=True)
class IndexedBatch:
    """An anchored batch of records."""

    batch_id: bytes
    schema: bytes  # schema id of every record
    attester: str  # who anchored it: for a signed batch the relayer, no record's attester
    root: bytes  # Merkle root
    count: int  # records in the batch
    expiry: int  # UNIX seconds; 0 for none
    anchored_at: int  # UNIX seconds (block time)
    block_number: int
    tx_hash: str
    revoked_records: int  # records of it revoked one by one
    tree_stored: bool  # whether this index holds its tree (proofs available)


@dataclass(frozen=True, slots=True)
class BatchRecord:
    """One record of a batch whose tree this index stores."""

    batch_id: bytes
    index: int  # position in the batch: leaf ``index`` of the tree
    subject: bytes  # the enterprise's subject id
    data_hash: bytes  # keccak256 of the off-chain record
    leaf: bytes  # the Merkle leaf
    revoked_at: int  # UNIX seconds when revoked on chain; 0 while not
    record_id: bytes = b""  # keccak256(abi.encode(batch_id, leaf)): what disputes name
    replaced_by: bytes | None = None  # the correcting attestation's UID, once corrected


# -- projections ------------------------------------------------------------------------


class ConsortiumProjection(Projection):
    """Tables ``members`` and ``enterprises`` from the Consortium's events."""

    name: ClassVar[str] = "consortium"
    contract: ClassVar[str] = "Consortium"
    handles: ClassVar[frozenset[str]] = frozenset(
        {
            "MemberAdmitted",
            "MemberRolesChanged",
            "MemberSuspended",
            "MemberReinstated",
            "EncryptionKeyPublished",
            "EnterpriseBound",
            "EnterpriseRebound",
        }
    )
    tables: ClassVar[tuple[str, ...]] = ("members", "enterprises")
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE members (
            account TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            city INTEGER NOT NULL,
            roles INTEGER NOT NULL,
            suspended INTEGER NOT NULL DEFAULT 0,
            suspension_reason BLOB,
            encryption_key BLOB,
            admitted_at INTEGER NOT NULL,
            changed_at INTEGER NOT NULL,
            admitted_by TEXT NOT NULL,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX members_city ON members (city, seq)",
        """CREATE TABLE enterprises (
            subject BLOB PRIMARY KEY,
            account TEXT NOT NULL,
            registrar TEXT NOT NULL,
            bound_at INTEGER NOT NULL,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX enterprises_account ON enterprises (account)",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        a, ts = event.args, event.block_timestamp
        match event.name:
            case "MemberAdmitted":
                db.execute(
                    "INSERT OR REPLACE INTO members (account, name, city, roles, admitted_at,"
                    " changed_at, admitted_by, seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a["account"],
                        a["name"],
                        a["city"],
                        a["roles"],
                        ts,
                        ts,
                        a["regulator"],
                        event.seq,
                    ),
                )
            case "MemberRolesChanged":
                db.execute(
                    "UPDATE members SET roles = ?, changed_at = ? WHERE account = ?",
                    (a["roles"], ts, a["account"]),
                )
            case "MemberSuspended":
                db.execute(
                    "UPDATE members SET suspended = 1, suspension_reason = ?, changed_at = ?"
                    " WHERE account = ?",
                    (a["reason"], ts, a["account"]),
                )
            case "MemberReinstated":
                db.execute(
                    "UPDATE members SET suspended = 0, suspension_reason = NULL, changed_at = ?"
                    " WHERE account = ?",
                    (ts, a["account"]),
                )
            case "EncryptionKeyPublished":
                db.execute(
                    "UPDATE members SET encryption_key = ? WHERE account = ?",
                    (a["key"], a["account"]),
                )
            case "EnterpriseBound":
                db.execute(
                    "INSERT OR REPLACE INTO enterprises VALUES (?, ?, ?, ?, ?)",
                    (a["subject"], a["account"], a["registrar"], ts, event.seq),
                )
            case "EnterpriseRebound":
                db.execute(
                    "UPDATE enterprises SET account = ?, registrar = ?, bound_at = ?"
                    " WHERE subject = ?",
                    (a["newAccount"], a["registrar"], ts, a["subject"]),
                )


class SchemasProjection(Projection):
    """Table ``schemas`` from ``SchemaRegistered``."""

    name: ClassVar[str] = "schemas"
    contract: ClassVar[str] = "Attestations"
    handles: ClassVar[frozenset[str]] = frozenset({"SchemaRegistered"})
    tables: ClassVar[tuple[str, ...]] = ("schemas",)
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE schemas (
            schema_id BLOB PRIMARY KEY,
            name TEXT NOT NULL,
            layout TEXT NOT NULL,
            revocable INTEGER NOT NULL,
            idx INTEGER NOT NULL,
            registered_at INTEGER NOT NULL,
            regulator TEXT NOT NULL,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX schemas_name ON schemas (name)",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        a = event.args
        # Registration order is chain order, which is the order events arrive in.
        db.execute(
            "INSERT OR IGNORE INTO schemas VALUES"
            " (?, ?, ?, ?, (SELECT count(*) + 1 FROM schemas), ?, ?, ?)",
            (
                a["schema"],
                a["name"],
                a["layout"],
                a["revocable"],
                event.block_timestamp,
                a["regulator"],
                event.seq,
            ),
        )


class AttestationsProjection(Projection):
    """Table ``attestations`` from ``Attested``, ``Revoked`` and ``Replaced``."""

    name: ClassVar[str] = "attestations"
    contract: ClassVar[str] = "Attestations"
    handles: ClassVar[frozenset[str]] = frozenset({"Attested", "Revoked", "Replaced"})
    tables: ClassVar[tuple[str, ...]] = ("attestations",)
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE attestations (
            uid BLOB PRIMARY KEY,
            schema BLOB NOT NULL,
            subject BLOB NOT NULL,
            attester TEXT NOT NULL,
            data_hash BLOB NOT NULL,
            expiry INTEGER NOT NULL,
            ref_uid BLOB NOT NULL,
            attested_at INTEGER NOT NULL,
            block_number INTEGER NOT NULL,
            tx_hash TEXT NOT NULL,
            seq INTEGER NOT NULL,
            revoked_at INTEGER NOT NULL DEFAULT 0,
            revoker TEXT,
            revocation_reason BLOB,
            replaced_by BLOB
        )""",
        # Every listing is ordered by (attested_at, seq): these serve filter and order.
        "CREATE INDEX attestations_subject ON attestations (subject, attested_at, seq)",
        "CREATE INDEX attestations_attester ON attestations (attester, attested_at, seq)",
        "CREATE INDEX attestations_schema ON attestations (schema, attested_at, seq)",
        "CREATE INDEX attestations_time ON attestations (attested_at, seq)",
        "CREATE INDEX attestations_data_hash ON attestations (data_hash)",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        a = event.args
        match event.name:
            case "Attested":
                db.execute(
                    "INSERT OR IGNORE INTO attestations (uid, schema, subject, attester,"
                    " data_hash, expiry, ref_uid, attested_at, block_number, tx_hash, seq)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        a["uid"],
                        a["schema"],
                        a["subject"],
                        a["attester"],
                        a["dataHash"],
                        a["expiry"],
                        a["refUID"],
                        event.block_timestamp,
                        event.block_number,
                        event.tx_hash,
                        event.seq,
                    ),
                )
            case "Revoked":
                db.execute(
                    "UPDATE attestations SET revoked_at = ?, revoker = ?, revocation_reason = ?"
                    " WHERE uid = ?",
                    (event.block_timestamp, a["revoker"], a["reason"], a["uid"]),
                )
            case "Replaced":
                db.execute(
                    "UPDATE attestations SET replaced_by = ? WHERE uid = ?",
                    (a["newUid"], a["oldUid"]),
                )


class BatchesProjection(Projection):
    """Tables ``batches`` and ``batch_record_revocations`` from the batch events."""

    name: ClassVar[str] = "batches"
    contract: ClassVar[str] = "Attestations"
    handles: ClassVar[frozenset[str]] = frozenset(
        {"BatchAnchored", "BatchRecordRevoked", "Replaced"}
    )
    tables: ClassVar[tuple[str, ...]] = (
        "batches",
        "batch_record_revocations",
        "batch_record_replacements",
    )
    #: 2: revocations keyed by record id (keccak256(abi.encode(batchId, leaf))), not leaf.
    version: ClassVar[int] = 2
    tables_sql: ClassVar[tuple[str, ...]] = (
        """CREATE TABLE batches (
            batch_id BLOB PRIMARY KEY,
            schema BLOB NOT NULL,
            attester TEXT NOT NULL, -- the anchorer: for a signed batch the relayer
            root BLOB NOT NULL,
            count INTEGER NOT NULL,
            expiry INTEGER NOT NULL,
            anchored_at INTEGER NOT NULL,
            block_number INTEGER NOT NULL,
            tx_hash TEXT NOT NULL,
            seq INTEGER NOT NULL
        )""",
        "CREATE INDEX batches_attester ON batches (attester, anchored_at, seq)",
        "CREATE INDEX batches_schema ON batches (schema, anchored_at, seq)",
        "CREATE INDEX batches_time ON batches (anchored_at, seq)",
        """CREATE TABLE batch_record_revocations (
            batch_id BLOB NOT NULL,
            record_id BLOB NOT NULL,
            revoker TEXT NOT NULL,
            reason BLOB NOT NULL,
            revoked_at INTEGER NOT NULL,
            block_number INTEGER NOT NULL,
            tx_hash TEXT NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (batch_id, record_id)
        )""",
        # Replaced events whose old id is no attestation: a batch record's correction.
        """CREATE TABLE batch_record_replacements (
            record_id BLOB PRIMARY KEY,
            new_uid BLOB NOT NULL,
            attester TEXT NOT NULL,
            replaced_at INTEGER NOT NULL,
            block_number INTEGER NOT NULL,
            tx_hash TEXT NOT NULL,
            seq INTEGER NOT NULL
        )""",
    )

    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        a = event.args
        if event.name == "BatchAnchored":
            db.execute(
                "INSERT OR IGNORE INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    anchored_batch_id(a),
                    a["schema"],
                    a["anchorer"],
                    a["root"],
                    a["count"],
                    a["expiry"],
                    event.block_timestamp,
                    event.block_number,
                    event.tx_hash,
                    event.seq,
                ),
            )
        elif event.name == "Replaced":
            old = a["oldUid"]
            if db.execute("SELECT 1 FROM attestations WHERE uid = ?", (old,)).fetchone():
                return  # an attestation's replacement: the attestations projection has it
            db.execute(
                "INSERT OR IGNORE INTO batch_record_replacements VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    old,
                    a["newUid"],
                    a["attester"],
                    event.block_timestamp,
                    event.block_number,
                    event.tx_hash,
                    event.seq,
                ),
            )
        else:
            db.execute(
                "INSERT OR IGNORE INTO batch_record_revocations VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a["batchId"],
                    a["recordId"],
                    a["revoker"],
                    a["reason"],
                    event.block_timestamp,
                    event.block_number,
                    event.tx_hash,
                    event.seq,
                ),
            )


def builtin_projections() -> list[Projection]:
    """The projections every index keeps: the queries of :class:`EventIndex` read them."""
    return [
        ConsortiumProjection(),
        SchemasProjection(),
        AttestationsProjection(),
        BatchesProjection(),
    ]


# -- rows to records --------------------------------------------------------------------

MEMBER_COLUMNS = (
    "account, name, city, roles, suspended, suspension_reason, encryption_key,"
    " admitted_at, changed_at, admitted_by"
)


def member_from_row(row: tuple[Any, ...]) -> IndexedMember:
    """An :class:`IndexedMember` from a row of :data:`MEMBER_COLUMNS`."""
    account, name, city, roles, suspended, reason, key, admitted, changed, by = row
    return IndexedMember(
        account=account,
        name=name,
        city=City(city),
        roles=Role(roles),
        suspended=bool(suspended),
        suspension_reason=reason,
        encryption_key=key or b"",
        admitted_at=admitted,
        changed_at=changed,
        admitted_by=by,
    )


ATTESTATION_COLUMNS = (
    "uid, schema, subject, attester, data_hash, expiry, ref_uid, attested_at, block_number,"
    " tx_hash, revoked_at, revoker, revocation_reason, replaced_by"
)


def attestation_from_row(row: tuple[Any, ...]) -> IndexedAttestation:
    """An :class:`IndexedAttestation` from a row of :data:`ATTESTATION_COLUMNS`."""
    return IndexedAttestation(*row)


BATCH_COLUMNS = (
    "b.batch_id, b.schema, b.attester, b.root, b.count, b.expiry, b.anchored_at,"
    " b.block_number, b.tx_hash,"
    " (SELECT count(*) FROM batch_record_revocations r WHERE r.batch_id = b.batch_id),"
    " EXISTS (SELECT 1 FROM batch_trees t WHERE t.batch_id = b.batch_id)"
)


def batch_from_row(row: tuple[Any, ...]) -> IndexedBatch:
    """An :class:`IndexedBatch` from a row of :data:`BATCH_COLUMNS` (``batches AS b``)."""
    batch_id, schema, attester, root, count, expiry, anchored_at, block, tx, revoked, tree = row
    return IndexedBatch(
        batch_id=batch_id,
        schema=schema,
        attester=attester,
        root=root,
        count=count,
        expiry=expiry,
        anchored_at=anchored_at,
        block_number=block,
        tx_hash=tx,
        revoked_records=revoked,
        tree_stored=bool(tree),
    )
