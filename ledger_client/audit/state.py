"""The ledger's state as an auditor rebuilds it from events, and what a breach is.

Everything here is plain data: the replay (:mod:`.replay`) folds events into
it, the comparison (:mod:`.compare`) checks it against the contracts' views,
and the report (:mod:`.report`) draws it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "BREACHES",
    "AgreementState",
    "AttestationState",
    "AuthorisationState",
    "BatchState",
    "Breach",
    "ComplaintState",
    "DisputeState",
    "EventLike",
    "EventRef",
    "ExposureState",
    "FacilityState",
    "LedgerState",
    "MemberState",
    "PartState",
    "PledgeState",
    "QueryState",
    "ReceivableState",
    "SchemaState",
    "ShareState",
]

#: Every breach the audit names, and what it means. The first six are the
#: invariants of the issue; the others are what a faithful replay must also hold.
BREACHES: dict[str, str] = {
    "QueryWithoutAuthorisation": "a query logged (or a report shared) without an authorisation "
    "in force for that member, subject, purpose and schema at its block",
    "PartsDoNotAddUp": "the parts of a receivable do not add up to its face value, or an amount "
    "moved is not the part's amount",
    "DoubleFinancing": "a receivable part financed while a financing of it was still in force",
    "InvoiceReused": "a debtor's invoice commitment backing a second receivable while it still "
    "backs one",
    "DisputeOverdue": "a dispute (异议) resolved after its 20-day deadline, or still open past it",
    "DisputeReraised": "a record disputed again after its dispute was rejected: the subject's "
    "remedy was a complaint to the regulator (投诉), not a second dispute",
    "WriteBySuspendedMember": "a write by, or naming, a member while it was suspended",
    "WriteWithoutRole": "a write by an account that was not a member holding the role it needs "
    "(a complaint resolved by a non-regulator among them), or an enterprise's act by an account "
    "not bound to that enterprise",
    "UnknownReference": "an event naming an attestation, batch, schema, authorisation, query, "
    "dispute, receivable or enterprise that no earlier event created",
    "IdMismatch": "an id that is not the hash (or sequence number) of the fields it commits to",
    "IllegalTransition": "a state change the rules forbid (revoking twice, moving a settled "
    "part, a deadline or flag that does not follow from the block's time, ...)",
    "DoublePledge": "an asset that takes one pledge at a time (a receivable, patent, trademark "
    "or equity share) pledged while another pledge of it was in force, or a receivable both "
    "pledged and financed",
    "ExposureAboveJointLimit": "a draw that took the participants' joint exposure to an "
    "enterprise (every participant's balance with it, recomputed from the draws and "
    "repayments, balances from before the agreement included) past the joint limit of its "
    "agreement in force",
    "ScoreMismatch": "an attested credit score that its records and published model, as its "
    "bundle gives them, do not recompute: another model, other records, a record not as "
    "attested, or any field of the score (grade, PD, points, reason codes) different",
    "RecordNotAuthorised": "a credit score built on a record its scorer neither held nor "
    "queried under the enterprise's authorisation in force at the score's time",
    "RecordRevoked": "a credit score built on a record already revoked when it was attested",
    "ScoreNotRecomputed": "a credit score in force for which the score bundles handed to the "
    "auditor hold no bundle: it cannot be recomputed",
    "StateMismatch": "the contract's own view disagrees with the state rebuilt from the events",
    "ManifestWiringMismatch": "a contract the manifest names was built with another consortium, "
    "forwarder, disputes or attestations contract, schema, grace period or EIP-712 domain than "
    "the manifest implies: another deployment, none of whose records the audit vouches for",
}


class EventLike(Protocol):
    """What the replay reads from an event: :class:`~ledger_client.index.IndexedEvent` fits."""

    @property
    def contract(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def args(self) -> dict[str, Any]: ...
    @property
    def block_number(self) -> int: ...
    @property
    def block_timestamp(self) -> int: ...
    @property
    def tx_hash(self) -> str: ...
    @property
    def log_index(self) -> int: ...


@dataclass(frozen=True, slots=True)
class EventRef:
    """Where an event is: enough to find the transaction that caused something."""

    tx_hash: str
    block: int
    log_index: int
    timestamp: int
    event: str  # "Contract.Event"

    @classmethod
    def of(cls, event: EventLike) -> EventRef:
        """The reference of ``event``."""
        return cls(
            event.tx_hash,
            event.block_number,
            event.log_index,
            event.block_timestamp,
            f"{event.contract}.{event.name}",
        )


@dataclass(frozen=True, slots=True)
class Breach:
    """One broken rule, with the transaction that caused it."""

    name: str  # one of BREACHES
    detail: str  # a sentence saying what was found
    tx_hash: str
    block: int
    log_index: int
    event: str  # "Contract.Event" of the event that caused it

    @classmethod
    def at(cls, name: str, detail: str, ref: EventRef) -> Breach:
        """A breach caused by the event at ``ref``."""
        return cls(name, detail, ref.tx_hash, ref.block, ref.log_index, ref.event)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {
            "name": self.name,
            "detail": self.detail,
            "tx_hash": self.tx_hash,
            "block": self.block,
            "log_index": self.log_index,
            "event": self.event,
        }


# -- the entities ---------------------------------------------------------------------
# Each keeps ``last``: the event that last changed it, named when the chain disagrees.


@dataclass(slots=True)
class MemberState:
    """A member institution."""

    account: str
    name: str
    city: int
    roles: int
    admitted_at: int
    last: EventRef
    suspended: bool = False
    changed_at: int = 0
    encryption_key: bytes = bytes(32)
    suspended_at: int = 0  # UNIX seconds of the current suspension


@dataclass(slots=True)
class SchemaState:
    """A registered schema."""

    schema_id: bytes
    name: str
    layout: str
    revocable: bool
    index: int
    registered_at: int
    regulator: str
    last: EventRef


@dataclass(slots=True)
class AttestationState:
    """A single attestation."""

    uid: bytes
    schema: bytes
    subject: bytes
    attester: str
    data_hash: bytes
    expiry: int
    ref_uid: bytes
    attested_at: int
    city: int  # the attester's city when it attested (0: not a member)
    last: EventRef
    revoked_at: int = 0
    replaced_by: bytes = bytes(32)
    dispute_deadline: int = 0  # of the open dispute; 0 when none is open
    ever_disputed: bool = False


@dataclass(slots=True)
class BatchState:
    """A Merkle batch of records."""

    batch_id: bytes
    schema: bytes
    attester: str
    root: bytes
    count: int
    expiry: int
    anchored_at: int
    city: int
    last: EventRef
    signed: bool = False
    revoked_leaves: dict[bytes, int] = field(default_factory=dict)  # record id -> revoked at


@dataclass(slots=True)
class BatchRecordState:
    """A record of a batch, known by its id (keccak256(abi.encode(batchId, leaf))).

    A signed batch's records are all known from the leaves the chain checked (its
    SignedBatchAnchored event); an unsigned batch's leaves stay off chain, so its record
    appears here when an event first names it.
    """

    record_id: bytes
    batch_id: bytes  # 0 while only an event without the batch named it (an unsigned batch's)
    attester: str  # the signer (signed batch) or the batch's anchorer (unsigned)
    last: EventRef
    signed: bool = False
    nonce: int = 0  # signed batch: the nonce its signer spent on it
    deadline: int = 0  # signed batch: the signature's deadline
    revoked_at: int = 0
    replaced_by: bytes = bytes(32)
    dispute_deadline: int = 0  # of the open dispute; 0 when none is open
    ever_disputed: bool = False


@dataclass(slots=True)
class AuthorisationState:
    """An enterprise's authorisation of a member to query its credit."""

    auth_id: bytes
    subject: bytes
    member: str
    purpose: int
    expiry: int
    schemas: tuple[bytes, ...]
    enterprise: str
    granted_at: int
    last: EventRef
    withdrawn_at: int = 0


@dataclass(slots=True)
class QueryState:
    """A logged credit query."""

    query_id: bytes
    auth_id: bytes
    subject: bytes
    member: str
    purpose: int
    schema: bytes
    query_hash: bytes
    queried_at: int
    last: EventRef


@dataclass(slots=True)
class ShareState:
    """A report shared in answer to a query."""

    query_id: bytes
    ciphertext_hash: bytes
    sender: str
    recipient: str
    shared_at: int
    last: EventRef


@dataclass(slots=True)
class DisputeState:
    """A dispute (异议) over an attestation."""

    dispute_id: int
    uid: bytes
    attester: str
    subject: bytes
    raised_at: int
    deadline: int
    raised_by: str
    raised: EventRef
    last: EventRef
    status: int = 1  # IDisputes.DisputeStatus: 1 open, 2 rejected, 3 upheld
    resolved_at: int = 0
    resolver: str = ""
    complained: bool = False  # its subject complained of it to the regulator


@dataclass(slots=True)
class ComplaintState:
    """A complaint (投诉) to the regulator of a dispute's rejection or overdue silence."""

    complaint_id: int
    dispute_id: int
    filed_at: int
    filed_by: str
    last: EventRef
    status: int = 1  # IDisputes.ComplaintStatus: 1 open, 2 rejected, 3 upheld
    resolved_at: int = 0
    regulator: str = ""


@dataclass(slots=True)
class ReceivableState:
    """The terms of an issued receivable."""

    root: bytes
    debtor: bytes
    face_value: int
    due_date: int
    issued_at: int
    contract_hash: bytes
    invoices: tuple[bytes, ...]  # the invoice commitments it was issued with
    last: EventRef
    part_count: int = 1


@dataclass(slots=True)
class PartState:
    """A receivable part: the issued receivable itself (part 0) or one split off it."""

    part_id: bytes
    root: bytes
    parent: bytes  # zero for the issue itself
    holder: bytes
    amount: int
    tier: int  # depth in the split lineage: 1 for the first holder
    created_at: int
    last: EventRef
    status: int = 1  # IReceivables.Status: 1 pending ... 6 overdue
    financier: str = ""  # while financed
    advance: int = 0
    discount_bps: int = 0
    financed: EventRef | None = None  # the financing in force
    ever_financed: bool = False
    financed_amount: int = 0  # the part's amount when it was (last) financed
    default_uid: bytes = bytes(32)
    #: bank -> (holder that asked it, least advance, highest discount bps, expiry)
    requests: dict[str, tuple[bytes, int, int, int]] = field(default_factory=dict)


@dataclass(slots=True)
class PledgeState:
    """A registration in the collateral registry, as its events left it."""

    asset_id: bytes
    kind: int  # CollateralKind code; 5 (movables) takes several pledges
    key: bytes
    pledgee: str
    expiry: int  # UNIX seconds
    released: bool
    ref: EventRef  # its registration

    def in_force(self, at: int) -> bool:
        """Registered, not released and not lapsed at ``at``."""
        return not self.released and self.expiry > at


@dataclass(slots=True)
class FacilityState:
    """A credit facility, as its events left it."""

    subject: bytes
    lender: str
    limit: int  # fen
    drawn: int  # fen outstanding
    expiry: int  # UNIX seconds
    kind: int  # FacilityKind code
    last: EventRef
    status: int = 1  # ICreditFacilities.FacilityStatus: 1 open, 2 closed


@dataclass(slots=True)
class AgreementState:
    """A joint credit agreement, as its events left it."""

    subject: bytes
    lead: str
    joint_limit: int  # fen
    participants: int
    last: EventRef
    joined: int = 1  # the lead joins by proposing
    accepted: bool = False
    status: int = 1  # ICreditFacilities.AgreementStatus: 1 proposed, 2 active, 3 ended


@dataclass(slots=True)
class ExposureState:
    """An enterprise's exposure: what every lender has outstanding with it, and the joint
    agreement in force (its joint figure recomputed from the participants' balances)."""

    last: EventRef
    total: int = 0  # fen
    joint: int = 0  # fen
    joint_limit: int = 0  # fen
    agreement: int = 0
    flagged: bool = False


@dataclass(slots=True)
class LedgerState:
    """Everything the events say, folded."""

    members: dict[str, MemberState] = field(default_factory=dict)  # by checksum account
    member_order: list[str] = field(default_factory=list)
    enterprises: dict[bytes, str] = field(default_factory=dict)  # subject -> account
    accounts: dict[str, bytes] = field(default_factory=dict)  # account -> subject
    schemas: dict[bytes, SchemaState] = field(default_factory=dict)
    attestations: dict[bytes, AttestationState] = field(default_factory=dict)
    batches: dict[bytes, BatchState] = field(default_factory=dict)
    batch_records: dict[bytes, BatchRecordState] = field(default_factory=dict)  # by record id
    #: (signer, nonce) -> the event of the signed batch that spent it.
    batch_nonces: dict[tuple[str, int], EventRef] = field(default_factory=dict)
    authorisations: dict[bytes, AuthorisationState] = field(default_factory=dict)
    queries: dict[bytes, QueryState] = field(default_factory=dict)
    shares: dict[tuple[bytes, bytes], ShareState] = field(default_factory=dict)
    disputes: dict[int, DisputeState] = field(default_factory=dict)
    open_disputes: dict[bytes, int] = field(default_factory=dict)  # uid -> dispute id
    record_disputes: dict[bytes, int] = field(default_factory=dict)  # uid -> its last dispute
    complaints: dict[int, ComplaintState] = field(default_factory=dict)
    receivables: dict[bytes, ReceivableState] = field(default_factory=dict)  # by root id
    parts: dict[bytes, PartState] = field(default_factory=dict)
    #: keccak256(abi.encode(debtor, commitment)) -> root, while live
    invoices: dict[bytes, bytes] = field(default_factory=dict)
    invoices_seen: dict[bytes, bytes] = field(default_factory=dict)  # ever, incl. released
    pledges: dict[bytes, PledgeState] = field(default_factory=dict)  # by pledge id
    #: asset id -> the pledge id of its exclusive pledge registered last
    asset_pledges: dict[bytes, bytes] = field(default_factory=dict)
    #: subject -> (agreement, joint limit in fen) of its joint agreement in force
    joint_limits: dict[bytes, tuple[int, int]] = field(default_factory=dict)
    #: agreement -> its participant banks, as proposed
    agreement_banks: dict[int, frozenset[str]] = field(default_factory=dict)
    #: (subject, lender) -> fen the lender has outstanding with the enterprise, from the
    #: draws and repayments: the joint exposure is recomputed from these, not read from
    #: the events' own ``joint`` figure
    lent: dict[tuple[bytes, str], int] = field(default_factory=dict)
    facilities: dict[bytes, FacilityState] = field(default_factory=dict)  # by facility id
    agreements: dict[int, AgreementState] = field(default_factory=dict)
    exposures: dict[bytes, ExposureState] = field(default_factory=dict)  # by subject
    events: int = 0
    first_block: int = 0
    last_block: int = 0
    last_timestamp: int = 0

    @property
    def records(self) -> int:
        """Credit records: single attestations plus every record of every batch."""
        return len(self.attestations) + sum(b.count for b in self.batches.values())
