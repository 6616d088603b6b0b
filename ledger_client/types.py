"""Domain types of the credit chain, shared by every layer above the chain."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NewType

from eth_typing import ChecksumAddress

from ledger_client.errors import InvalidCity, InvalidPurpose, InvalidRole

#: A 32-byte hash (keccak256 unless said otherwise), as raw bytes.
Hash32 = NewType("Hash32", bytes)
#: The pseudonymous on-chain identity of an enterprise: a keyed hash of its USCC.
SubjectId = NewType("SubjectId", bytes)
#: A transaction hash, 0x-prefixed hex.
TxHash = NewType("TxHash", str)


class City(enum.IntEnum):
    """The five cities of the Yangtze Delta sci-tech finance reform zones.

    Values match ``Common.sol``; 0 is reserved for "no member".
    """

    SHANGHAI = 1
    NANJING = 2
    HANGZHOU = 3
    HEFEI = 4
    JIAXING = 5

    @property
    def label(self) -> str:
        """The city's English name, as printed in reports."""
        return self.name.capitalize()

    @property
    def chinese(self) -> str:
        """The city's name in Chinese."""
        return _CITY_ZH[self]

    @classmethod
    def parse(cls, value: object) -> City:
        """A city from its name (any case, English or Chinese) or number."""
        if isinstance(value, City):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                raise InvalidCity(value) from None
        if isinstance(value, str):
            key = value.strip()
            for city in cls:
                if key.upper() == city.name or key == city.chinese:
                    return city
        raise InvalidCity(value)


_CITY_ZH = {
    City.SHANGHAI: "上海",
    City.NANJING: "南京",
    City.HANGZHOU: "杭州",
    City.HEFEI: "合肥",
    City.JIAXING: "嘉兴",
}


class Role(enum.IntFlag):
    """Roles of a member institution, as the bit flags ``Common.sol`` stores."""

    ATTESTER = 1 << 0  # states credit facts about enterprises
    FINANCIER = 1 << 1  # finances receivables (a bank)
    REGISTRAR = 1 << 2  # binds enterprise accounts to their subject ids
    AUDITOR = 1 << 3  # reads and verifies the whole ledger
    REGULATOR = 1 << 4  # admits, suspends and reinstates members; registers schemas
    RELAYER = 1 << 5  # anchors other members' signed records in batches

    @classmethod
    def parse(cls, value: object) -> Role:
        """Roles from a flag, a number, a name or a comma-separated list of names."""
        if isinstance(value, Role):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            if value < 0 or value & ~_ALL_ROLES:
                raise InvalidRole(value)
            return cls(value)
        if isinstance(value, str):
            names = [n.strip() for n in value.split(",") if n.strip()]
            if not names:
                raise InvalidRole(value)
            return cls.parse(names)
        if isinstance(value, list | tuple | set | frozenset):
            roles = cls(0)
            for item in value:
                if isinstance(item, str):
                    try:
                        roles |= cls[item.strip().upper()]
                    except KeyError:
                        raise InvalidRole(item) from None
                else:
                    roles |= cls.parse(item)
            return roles
        raise InvalidRole(value)

    def names(self) -> list[str]:
        """The lower-case names of the roles set, in flag order."""
        return [r.name.lower() for r in Role if r in self and r.name]


_ALL_ROLES = sum(r.value for r in Role)


@dataclass(frozen=True, slots=True)
class Member:
    """A member institution of the consortium, as the chain holds it."""

    account: ChecksumAddress  # the institution's signing account
    name: str  # the institution's public name, e.g. "Bank of Shanghai (Pudong)"
    city: City  # where it is registered
    roles: Role  # what it may do
    suspended: bool  # true while a regulator has suspended it
    admitted_at: int  # UNIX seconds of admission
    encryption_key: bytes  # X25519 public key for shared reports; empty until published

    @property
    def in_good_standing(self) -> bool:
        """Admitted and not suspended."""
        return not self.suspended


@dataclass(frozen=True, slots=True)
class Enterprise:
    """An enterprise (data subject) bound to an account by a registrar."""

    account: ChecksumAddress  # the account the enterprise signs with
    subject: SubjectId  # keyed hash of its USCC; the code never goes on chain
    registrar: ChecksumAddress  # the member that bound it
    bound_at: int  # UNIX seconds


class Validity(enum.IntEnum):
    """What ``IAttestations.validity`` answers; the values match the Solidity enum."""

    UNKNOWN = 0  # no such attestation, or a proof that does not hold
    VALID = 1  # attested, in force
    REVOKED = 2  # revoked by its attester or a regulator
    EXPIRED = 3  # past its expiry
    REPLACED = 4  # superseded by a newer attestation that points back to it
    DISPUTED = 5  # its subject's dispute (异议) is open and not yet due
    DISPUTE_OVERDUE = 6  # a dispute is open past its 20-day deadline (art. 25)


@dataclass(frozen=True, slots=True)
class AttestationFields:
    """The fields of an attestation that its UID commits to but the chain does not store."""

    subject: bytes  # the enterprise's 32-byte subject id
    data_hash: bytes  # keccak256 of the canonical off-chain record
    ref_uid: bytes = bytes(32)  # an attestation it refers to, or 32 zero bytes


@dataclass(frozen=True, slots=True)
class AttestRequest:
    """What an attester signs (EIP-712 ``Attest``) for a delegated attestation."""

    schema: bytes  # schema id
    subject: bytes  # the enterprise's 32-byte subject id
    data_hash: bytes  # keccak256 of the canonical off-chain record
    expiry: int = 0  # UNIX seconds; 0 for none
    ref_uid: bytes = bytes(32)  # an attestation it refers to, or 32 zero bytes


@dataclass(frozen=True, slots=True)
class BatchEntry:
    """The ingredients of one record of a batch (``IAttestations.BatchRecord``), from which
    the contract computes its leaf: a leaf is never taken as given.

    For an unsigned batch only ``subject`` and ``data_hash`` count; for a signed batch the
    record's signer, the nonce and deadline it signed, and its signature.
    """

    subject: bytes  # the enterprise's 32-byte subject id
    data_hash: bytes  # keccak256 of the canonical off-chain record
    attester: str = "0x" + "00" * 20  # signed batch: the signer (checksum address)
    nonce: int = 0  # signed batch: < 2**56
    deadline: int = 0  # signed batch: UNIX seconds, < 2**40
    signature: bytes = b""  # signed batch: 65 bytes, low s

    def as_tuple(self) -> tuple[bytes, bytes, str, int, int, bytes]:
        """The ABI tuple of ``IAttestations.BatchRecord``."""
        return (
            bytes(self.subject),
            bytes(self.data_hash),
            self.attester,
            self.nonce,
            self.deadline,
            bytes(self.signature),
        )


@dataclass(frozen=True, slots=True)
class AttestationInfo:
    """What the chain stores about an attestation."""

    uid: bytes
    attester: ChecksumAddress  # the member that made it
    attested_at: int  # UNIX seconds
    expiry: int  # UNIX seconds; 0 for none
    revoked_at: int  # UNIX seconds; 0 while not revoked
    schema: bytes  # schema id
    replaced_by: bytes | None  # UID of its replacement, if replaced


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """What the chain stores about an anchored batch of records."""

    batch_id: bytes
    #: Who anchored it: the records' attester for an unsigned batch; for a signed batch the
    #: relayer, who is no record's attester (each record's attester is its signer).
    anchorer: ChecksumAddress
    anchored_at: int  # UNIX seconds
    expiry: int  # UNIX seconds; 0 for none
    count: int  # records in the batch
    signed: bool  # each leaf commits to its own attester's signature (a relayed batch)
    schema: bytes  # schema id of every record
    root: bytes  # Merkle root; the batch's id is keccak256(abi.encode(root, anchorer))


@dataclass(frozen=True, slots=True)
class RegisteredSchema:
    """A schema as registered on chain."""

    schema_id: bytes
    name: str  # e.g. "loan-repayment"
    layout: str  # canonical field layout
    revocable: bool
    index: int  # 1-based registration order
    registered_at: int  # UNIX seconds
    regulator: ChecksumAddress  # who registered it


# --- consent: query authorisation, the query trail and disputes (Authorisations.sol,
# --- Disputes.sol, and the validity values Attestations.sol reports) ----------------------


class QueryPurpose(enum.IntEnum):
    """Why a member queries an enterprise's credit (查询用途); codes of ``IAuthorisations.sol``."""

    LOAN_APPROVAL = 1  # 贷款审批
    POST_LOAN_MANAGEMENT = 2  # 贷后管理
    GUARANTEE_REVIEW = 3  # 担保资格审查
    RECEIVABLES_FINANCING = 4  # 应收账款融资审查
    COUNTERPARTY_REVIEW = 5  # 交易对手审查

    @property
    def label(self) -> str:
        """The purpose in words, e.g. ``"loan approval"``."""
        return self.name.lower().replace("_", " ")

    @property
    def chinese(self) -> str:
        """The purpose's Chinese term."""
        return _PURPOSE_ZH[self]

    @classmethod
    def parse(cls, value: object) -> QueryPurpose:
        """A purpose from its code, its name (``"loan-approval"``, any case) or its Chinese term."""
        if isinstance(value, QueryPurpose):
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            try:
                return cls(value)
            except ValueError:
                raise InvalidPurpose(value) from None
        if isinstance(value, str):
            key = value.strip().upper().replace("-", "_").replace(" ", "_")
            for purpose in cls:
                if key == purpose.name or value.strip() == purpose.chinese:
                    return purpose
        raise InvalidPurpose(value)


_PURPOSE_ZH = {
    QueryPurpose.LOAN_APPROVAL: "贷款审批",
    QueryPurpose.POST_LOAN_MANAGEMENT: "贷后管理",
    QueryPurpose.GUARANTEE_REVIEW: "担保资格审查",
    QueryPurpose.RECEIVABLES_FINANCING: "应收账款融资审查",
    QueryPurpose.COUNTERPARTY_REVIEW: "交易对手审查",
}


#: Seconds an attester has to answer a dispute: 20 days (art. 25; ``IDisputes.sol``).
DISPUTE_RESOLUTION_PERIOD = 20 * 86_400


class DisputeStatus(enum.IntEnum):
    """Where a dispute stands (``IDisputes.DisputeStatus``)."""

    NONE = 0  # no such dispute
    OPEN = 1  # raised, not yet resolved
    REJECTED = 2  # the record stands; the attester answered why
    UPHELD = 3  # the record was revoked or replaced


@dataclass(frozen=True, slots=True)
class Authorisation:
    """An enterprise's authorisation of a member to query its credit, as the chain holds it."""

    auth_id: Hash32  # keccak256(abi.encode(enterprise account, nonce))
    subject: SubjectId  # the enterprise it concerns
    member: ChecksumAddress  # the member institution that may query
    purpose: QueryPurpose  # what for
    expiry: int  # UNIX seconds; lapsed from this second on
    withdrawn_at: int  # UNIX seconds; 0 while not withdrawn
    schema_limited: bool  # true when only listed schemas may be queried

    def in_force(self, now: int) -> bool:
        """Neither withdrawn nor lapsed at ``now`` (UNIX seconds)."""
        return self.withdrawn_at == 0 and now < self.expiry


@dataclass(frozen=True, slots=True)
class Dispute:
    """A dispute (异议) over an attestation, as the chain holds it."""

    dispute_id: int  # 1, 2, ... in order of raising
    uid: Hash32  # the disputed attestation
    attester: ChecksumAddress  # who must answer it
    deadline: int  # raised_at + 20 days: the first overdue second (UNIX seconds)
    resolved_at: int  # UNIX seconds; 0 while open
    status: DisputeStatus
    subject: SubjectId  # the record's subject, whose bound account alone may complain
    complained: bool  # true once its subject complained of it (one complaint a dispute)

    @property
    def raised_at(self) -> int:
        """When it was raised (UNIX seconds): 20 days before its deadline."""
        return self.deadline - DISPUTE_RESOLUTION_PERIOD

    def overdue(self, now: int) -> bool:
        """Open at ``now`` with its deadline reached."""
        return self.status is DisputeStatus.OPEN and now >= self.deadline


class ComplaintStatus(enum.IntEnum):
    """Where a complaint (投诉) to the regulator stands (``IDisputes.ComplaintStatus``)."""

    NONE = 0  # no such complaint
    OPEN = 1  # filed, not yet resolved
    REJECTED = 2  # the regulator found the record stands
    UPHELD = 3  # the record was revoked or replaced


@dataclass(frozen=True, slots=True)
class Complaint:
    """A complaint to the regulator of a dispute's rejection or overdue silence (art. 26)."""

    complaint_id: int  # 1, 2, ... in order of filing
    dispute_id: int  # the dispute complained of
    filed_at: int  # UNIX seconds
    resolved_at: int  # UNIX seconds; 0 while open
    status: ComplaintStatus


# --- receivables (supply-chain finance) --------------------------------------------------------

#: A receivable or a part of one: ``seq << 24 | part`` as 32 bytes (see ``IReceivables.sol``).
ReceivableId = NewType("ReceivableId", bytes)


class ReceivableStatus(enum.IntEnum):
    """Where a receivable (or a part) stands; values match ``IReceivables.Status``."""

    NONE = 0  # no such receivable
    PENDING = 1  # issued, awaiting the supplier's acceptance
    REJECTED = 2  # refused by the supplier
    ACTIVE = 3  # accepted and held: may move, be financed, be settled
    FINANCED = 4  # a bank advanced against it and is its payee
    PAID = 5  # settled by the debtor
    OVERDUE = 6  # marked unpaid past due date plus grace; a default is on the debtor's record

    @property
    def outstanding(self) -> bool:
        """True while the debtor still owes it (accepted and not paid)."""
        return self in _OUTSTANDING


_OUTSTANDING = frozenset(
    {ReceivableStatus.ACTIVE, ReceivableStatus.FINANCED, ReceivableStatus.OVERDUE}
)


@dataclass(frozen=True, slots=True)
class Receivable:
    """A receivable or a part of one, as the chain holds it."""

    id: ReceivableId
    root: ReceivableId  # the issued receivable it belongs to (its own id for the issue)
    parent: ReceivableId | None  # the part it was split from; None for the issue itself
    debtor: SubjectId  # the core enterprise that owes it
    holder: SubjectId  # the enterprise holding it
    amount_fen: int  # CNY cents
    due_date: int  # UNIX seconds of maturity
    status: ReceivableStatus
    financier: ChecksumAddress | None  # the bank that financed it (None when not, or released)
    advance_fen: int  # what the bank advanced; 0 when not financed
    discount_bps: int  # the bank's discount rate in basis points; 0 when not financed
    default_attestation: Hash32 | None  # UID of the receivable-default attestation, once overdue

    @property
    def is_financed(self) -> bool:
        """True while a bank is its payee."""
        return self.financier is not None


@dataclass(frozen=True, slots=True)
class ReceivableTerms:
    """The terms of an issued receivable, shared by all its parts."""

    id: ReceivableId  # the issued receivable
    debtor: SubjectId
    face_value_fen: int  # what all parts add up to
    due_date: int  # UNIX seconds
    issued_at: int  # UNIX seconds
    part_count: int  # parts so far, the issued receivable included
    invoice_count: int  # invoice commitments it was issued with
    contract_hash: Hash32  # keccak256 of the trade contract


@dataclass(frozen=True, slots=True)
class ReceivableBalance:
    """How the parts of an issued receivable add up (partsTotal always equals face value)."""

    face_value_fen: int
    parts_total_fen: int  # sum over every part
    outstanding_fen: int  # sum over accepted, unpaid parts
    paid_fen: int  # sum over settled parts


@dataclass(frozen=True, slots=True)
class FinancingTerms:
    """What a holder's request lets one bank finance a part on (``IReceivables.FinancingTerms``)."""

    min_advance_fen: int  # the least advance the holder agreed to
    max_discount_bps: int  # the highest discount rate the holder agreed to
    expires_at: int  # UNIX seconds: the last moment the bank may finance on it
