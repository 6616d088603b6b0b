"""Request and response models, a family per resource."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ledger_client.types import QueryPurpose

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=["0x" + "ab" * 32])]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x" + "12" * 20])]
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]
Uint256 = Annotated[int, Field(ge=0, lt=2**256)]
Uint40 = Annotated[int, Field(ge=0, lt=2**40)]
Uint48 = Annotated[int, Field(ge=0, lt=2**48)]
#: An amount in fen: the contracts hold uint64.
Fen = Annotated[int, Field(ge=0, lt=2**64, description="an amount in fen (CNY cents), a uint64")]
ZERO32 = "0x" + "00" * 32


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorPublic(BaseModel):
    """The one error body: the error's name, a sentence, and fields naming what was wrong
    (a contract's named error keeps its arguments, a validation error lists ``errors``)."""

    error: str = Field(description="the error's name, e.g. ReceivablesAlreadyFinanced")
    detail: str = Field(description="one sentence saying what was wrong")

    model_config = ConfigDict(extra="allow")


class SignedAttestationCreate(_Strict):
    """An attestation signed by its attester (EIP-712 ``Attest``), for the API to relay."""

    schema_ref: str = Field(
        alias="schema",
        min_length=1,
        max_length=80,
        description="schema name (e.g. loan-repayment) or 0x schema id",
    )
    subject: Hex32 = Field(description="the enterprise's subject id")
    data_hash: Hex32 = Field(description="keccak256 of the canonical off-chain record")
    expiry: Uint40 = 0
    ref_uid: Hex32 = "0x" + "00" * 32
    signer: Address = Field(description="the attesting member; must be the API key's member")
    nonce: Uint256
    deadline: Uint40 = Field(description="UNIX seconds after which the signature is void")
    signature: Signature

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SignedAttestationsCreate(_Strict):
    """Many signed attestations at once."""

    attestations: list[SignedAttestationCreate] = Field(min_length=1, max_length=1_000)


class SubmissionPublic(BaseModel):
    """A submission and where it stands."""

    id: str
    kind: str = Field(description="how it is relayed: attestation, authorise or forward")
    operation: str = Field(description="what it does, e.g. receivables.finance")
    status: str = Field(description="pending, anchored or rejected")
    signer: str
    nonce: str
    created_at: float
    updated_at: float
    result: dict[str, Any] | None = Field(
        default=None,
        description="anchored: uid, or batch_id and index, or (a relayed write) its "
        "transaction, the events it caused and what it made; rejected: the named error",
    )


class SubmissionsPublic(BaseModel):
    """Submissions made by one request."""

    data: list[SubmissionPublic]
    count: int


class MemberPublic(BaseModel):
    """A member institution."""

    account: str
    name: str
    city: str
    roles: list[str]
    suspended: bool
    admitted_at: int
    encryption_key: str | None = Field(description="X25519 public key, 0x hex, once published")


class MembersPublic(BaseModel):
    """Members, one page."""

    data: list[MemberPublic]
    count: int


class SchemaPublic(BaseModel):
    """A registered schema."""

    id: str
    name: str
    layout: str
    revocable: bool
    index: int
    registered_at: int


class SchemasPublic(BaseModel):
    """Every registered schema."""

    data: list[SchemaPublic]
    count: int


class AttestationPublic(BaseModel):
    """An attestation as the chain holds it."""

    uid: str
    attester: str
    attested_at: int
    expiry: int
    revoked_at: int
    schema_id: str = Field(alias="schema")
    replaced_by: str | None
    validity: str = Field(description="VALID, REVOKED, EXPIRED, REPLACED or UNKNOWN")

    model_config = ConfigDict(populate_by_name=True)


class ProofPublic(BaseModel):
    """Where a batched record sits, and what proves it."""

    batch_id: str
    index: int
    root: str
    proof: list[str]
    signed_record: dict[str, Any] = Field(description="the signed record the leaf commits to")
    record_id: str = Field(
        description="keccak256(abi.encode(batch_id, leaf)): the id its subject disputes and "
        "its signer revokes or corrects it by"
    )
    record: BatchRecordIn = Field(description="the record's ingredients, as the chain takes them")


class BatchRecordIn(_Strict):
    """A batch record's ingredients (``IAttestations.BatchRecord``): the chain computes its
    leaf from them. For an unsigned batch only subject and data_hash count."""

    subject: Hex32
    data_hash: Hex32
    attester: Address = Field(default="0x" + "00" * 20, description="signed batch: the signer")
    nonce: Annotated[int, Field(ge=0, lt=2**56)] = 0
    deadline: Uint40 = 0
    signature: Annotated[str, Field(pattern=r"^0x([0-9a-fA-F]{130})?$")] = "0x"


class BatchRecordTarget(_Strict):
    """Which record of which batch: its ingredients and inclusion proof."""

    batch_id: Hex32
    record: BatchRecordIn
    proof: list[Hex32] = Field(max_length=64)


class BatchProofIn(_Strict):
    """A batched record's position and proof, as ``ProofPublic`` gave it."""

    batch_id: Hex32
    index: int = Field(ge=0)
    root: Hex32 | None = Field(default=None, description="informational: the chain's root is used")
    proof: list[Hex32] = Field(max_length=64)
    signed_record: dict[str, Any] | None = None
    record_id: Hex32 | None = Field(default=None, description="informational")
    record: BatchRecordIn | None = Field(
        default=None, description="informational: the ingredients are rebuilt from the record"
    )


class ScoreRecordCheck(_Strict):
    """A credit-score record, as its scorer handed it to the enterprise, to open against the
    score's attestation."""

    record: dict[str, Any] = Field(description="the off-chain credit-score record (JSON object)")


class VerifyCreate(_Strict):
    """A record to check against the chain: by its UID, or by its batch proof."""

    uid: Hex32 | None = None
    record: dict[str, Any]
    proof: BatchProofIn | None = None


class CheckPublic(BaseModel):
    """One verification step."""

    name: str
    ok: bool
    detail: str


class VerificationPublic(BaseModel):
    """Every check made about a record."""

    uid: str
    ok: bool
    checks: list[CheckPublic]


class HealthPublic(BaseModel):
    """Liveness and readiness."""

    status: str
    block: int | None = None
    pending: int | None = None
    detail: str | None = None


# -- relayed writes -----------------------------------------------------------------------


class SignedWrite(_Strict):
    """Who signs a write: an EIP-712 ``ForwardRequest`` of the chain's Forwarder.

    The request is ``from = signer``, ``to =`` the contract the operation calls,
    ``nonce``, ``deadline``, and ``data =`` the calldata of the call this body
    describes; the Python client builds and signs it
    (``ledger.forwarder.sign_call(signer, ledger.receivables.finance_call(...))``).
    """

    signer: Address = Field(description="the acting party: a member, or an enterprise's account")
    nonce: Uint256 = Field(description="any number the signer has not used with the Forwarder")
    deadline: Uint48 = Field(description="UNIX seconds after which the request is void")
    signature: Signature


class RevocationCreate(SignedWrite):
    """Revoke an attestation (its attester, or a regulator)."""

    reason: Hex32 = Field(default=ZERO32, description="a reason code or a decision's hash")


class AttestationFieldsIn(_Strict):
    """The fields an attestation's UID commits to."""

    subject: Hex32
    data_hash: Hex32
    ref_uid: Hex32 = ZERO32


class ReplacementCreate(SignedWrite):
    """Replace an attestation with a corrected record (its attester)."""

    old: AttestationFieldsIn = Field(description="the fields the old UID commits to")
    data_hash: Hex32 = Field(description="keccak256 of the corrected record")
    expiry: Uint40 = 0


class AttestationsPublic(BaseModel):
    """Attestations, one page."""

    data: list[AttestationPublic]
    count: int = Field(description="how many match, over every page")
    limit: int
    offset: int


class IndexedAttestationPublic(AttestationPublic):
    """An attestation as its events left it."""

    subject: str
    data_hash: str
    ref_uid: str
    block: int
    tx_hash: str


class IndexedAttestationsPublic(BaseModel):
    """Attestations, one page, from the event index."""

    data: list[IndexedAttestationPublic]
    count: int = Field(description="how many match, over every page")
    limit: int
    offset: int


class BatchRecordPublic(BaseModel):
    """One record of a signed batch the API anchored."""

    batch_id: str
    index: int
    subject: str
    data_hash: str
    leaf: str
    record_id: str  # keccak256(abi.encode(batch_id, leaf))
    revoked_at: int
    replaced_by: str | None = None  # the correcting attestation's UID, once corrected


class BatchRecordsPublic(BaseModel):
    """Batched records, one page."""

    data: list[BatchRecordPublic]
    limit: int
    offset: int


# -- authorisations and the query trail ---------------------------------------------------

Purpose = Annotated[
    int | str,
    Field(
        description="1 loan-approval, 2 post-loan-management, 3 guarantee-review, "
        "4 receivables-financing, 5 counterparty-review (code or name)"
    ),
]


def purpose_name(purpose: QueryPurpose) -> str:
    """The purpose as the API names it, e.g. ``loan-approval``."""
    return purpose.name.lower().replace("_", "-")


class AuthorisationCreate(_Strict):
    """An enterprise's signed authorisation (EIP-712 ``Authorise`` of Authorisations)."""

    member: Address = Field(description="the member that may query")
    purpose: Purpose
    expiry: Uint40 = Field(description="UNIX seconds; the authorisation lapses at this second")
    schemas: list[Annotated[str, Field(min_length=1, max_length=80)]] = Field(
        default_factory=list, max_length=32, description="schema names or ids; empty for all"
    )
    enterprise: Address = Field(description="the enterprise's bound account, which signed")
    nonce: Uint256
    deadline: Uint40
    signature: Signature


class AuthorisationPublic(BaseModel):
    """An authorisation as the chain holds it."""

    auth_id: str
    subject: str
    member: str
    purpose: str
    expiry: int
    withdrawn_at: int
    schema_limited: bool
    schemas: list[str] | None = Field(default=None, description="the limit, from the index")
    enterprise: str | None = Field(default=None, description="who signed it, from the index")
    in_force: bool


class AuthorisationsPublic(BaseModel):
    """Authorisations of one enterprise."""

    data: list[AuthorisationPublic]
    count: int


class QueryCreate(SignedWrite):
    """Log a credit query under an authorisation (the authorised member)."""

    auth_id: Hex32
    purpose: Purpose
    query_hash: Hex32 = Field(description="keccak256 of the member's off-chain query record")
    schema_ref: str = Field(
        default=ZERO32,
        alias="schema",
        max_length=80,
        description="the schema queried (name or id); zero for a full report",
    )

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class QueryPublic(BaseModel):
    """One logged credit query (查询留痕)."""

    query_id: str
    auth_id: str
    subject: str
    member: str
    purpose: str
    schema_id: str = Field(alias="schema")
    query_hash: str
    queried_at: int
    block: int
    tx_hash: str

    model_config = ConfigDict(populate_by_name=True)


class QueriesPublic(BaseModel):
    """Logged queries, one page."""

    data: list[QueryPublic]
    count: int
    limit: int
    offset: int


class ReportShareCreate(SignedWrite):
    """Record a report shared off chain in answer to a query (the sending attester)."""

    recipient: Address = Field(description="the member that made the query")
    ciphertext_hash: Hex32 = Field(description="keccak256 of the sealed envelope")


class ReportSharePublic(BaseModel):
    """A report recorded as shared."""

    query_id: str
    ciphertext_hash: str
    sender: str
    recipient: str
    subject: str
    recipient_key: str
    shared_at: int


class ReportSharesPublic(BaseModel):
    """Reports shared in answer to one query."""

    data: list[ReportSharePublic]
    count: int


# -- disputes -----------------------------------------------------------------------------


class DisputeCreate(SignedWrite):
    """Dispute an attestation (signed by the subject's bound account)."""

    uid: Hex32
    fields: AttestationFieldsIn = Field(description="the fields the UID commits to")
    reason_hash: Hex32 = Field(description="keccak256 of the off-chain statement")


class DisputeRejection(SignedWrite):
    """Reject a dispute: the record stands (its attester, or a regulator)."""

    reason_hash: Hex32 = Field(description="keccak256 of the written answer")


class DisputeUpholding(SignedWrite):
    """Uphold a dispute once the record is revoked or replaced (attester or regulator)."""

    reply_hash: Hex32 = ZERO32


class DisputePublic(BaseModel):
    """A dispute (异议)."""

    dispute_id: int
    uid: str
    attester: str
    subject: str | None
    reason_hash: str | None
    raised_by: str | None
    raised_at: int | None
    deadline: int
    status: str
    overdue: bool
    resolved_at: int
    resolver: str | None
    late: bool | None
    replaced_by: str | None


class DisputesPublic(BaseModel):
    """Disputes, one page."""

    data: list[DisputePublic]
    count: int
    limit: int
    offset: int


class ComplaintCreate(SignedWrite):
    """Complain to the regulator of a dispute's rejection, or of its silence once overdue
    (signed by the record's subject's bound account)."""

    dispute_id: int = Field(ge=1, lt=2**64, description="the dispute complained of")
    reason_hash: Hex32 = Field(description="keccak256 of the off-chain statement")


class ComplaintResolution(SignedWrite):
    """Resolve a complaint (a regulator): upheld once the record is revoked or replaced,
    else rejected, the record standing."""

    upheld: bool
    reply_hash: Hex32 = Field(description="keccak256 of the regulator's written reply")


class ComplaintPublic(BaseModel):
    """A complaint (投诉) to the regulator."""

    complaint_id: int
    dispute_id: int
    uid: str | None
    subject: str | None
    reason_hash: str | None
    filed_by: str | None
    filed_at: int
    status: str
    resolved_at: int
    regulator: str | None
    reply_hash: str | None


class ComplaintsPublic(BaseModel):
    """Complaints, one page."""

    data: list[ComplaintPublic]
    count: int
    limit: int
    offset: int


# -- receivables --------------------------------------------------------------------------


class ReceivableCreate(SignedWrite):
    """Issue a receivable to a supplier (signed by the debtor, a core enterprise)."""

    supplier: Address
    amount_fen: Fen
    due_date: Uint40 = Field(description="UNIX seconds of maturity; in the future")
    contract_hash: Hex32
    invoice_commitments: list[Hex32] = Field(
        min_length=1,
        max_length=32,
        description="keccak256(abi.encode(invoiceHash, salt)) per invoice, the salt kept by the "
        "debtor; the chain keys each by its debtor, so no one else can take it",
    )


class ReceivableRejection(SignedWrite):
    """Reject a pending receivable (its supplier), releasing the invoice commitments listed."""

    released_invoices: list[Hex32] = Field(default_factory=list, max_length=32)


class ReceivableSplitCreate(SignedWrite):
    """Split an amount off a part into a new part held by ``to`` (the holder)."""

    to: Address
    amount_fen: Fen


class ReceivableTransferCreate(SignedWrite):
    """Transfer a whole part to ``to`` (the holder)."""

    to: Address


class FinancingRequestCreate(SignedWrite):
    """Ask a bank to finance a part on the holder's terms (the holder)."""

    financier: Address
    min_advance_fen: Fen = Field(description="the least advance the holder agrees to")
    max_discount_bps: int = Field(
        ge=0, lt=2**16, description="the highest discount rate the holder agrees to; <= 10,000"
    )
    expires_at: Uint40 = Field(description="UNIX seconds: the last moment the bank may finance")


class FinancingWithdrawal(SignedWrite):
    """Withdraw a request to a bank (the holder)."""

    financier: Address


class FinancingCreate(SignedWrite):
    """Finance a part the holder asked this bank to finance, within its terms (the bank)."""

    advance_fen: Fen
    discount_bps: int = Field(ge=0, lt=2**16, description="basis points; at most 10,000")


class SettlementCreate(SignedWrite):
    """Settle parts at or after maturity (the debtor)."""

    ids: list[Hex32] = Field(min_length=1, max_length=256)


class ReceivablePublic(BaseModel):
    """A receivable or part, as the chain holds it."""

    id: str
    label: str = Field(description="R7 for the 7th receivable, R7.2 for its 2nd part")
    root: str
    parent: str | None
    debtor: str
    holder: str
    amount_fen: int
    due_date: int
    status: str
    financier: str | None
    advance_fen: int | None = Field(description="fen advanced; null in listings")
    discount_bps: int | None = Field(description="basis points; null in listings")
    default_attestation: str | None


class ReceivablesPublic(BaseModel):
    """Parts, one page, from the event index."""

    data: list[ReceivablePublic]
    count: int
    limit: int
    offset: int


class PartsPublic(BaseModel):
    """Parts of one receivable, one page, in split order, as the chain holds them."""

    root: str
    data: list[ReceivablePublic]
    count: int = Field(description="parts of the receivable, the issue included")
    limit: int
    offset: int
    max_parts: int = Field(description="the most parts a receivable can have")


class LineagePublic(BaseModel):
    """A part and its ancestors, back to the issued receivable."""

    id: str
    lineage: list[str]


class ReceivableEventPublic(BaseModel):
    """One event in a part's history."""

    name: str
    args: dict[str, Any]
    block: int
    timestamp: int
    tx_hash: str


class ReceivableHistoryPublic(BaseModel):
    """Every event of one part."""

    id: str
    data: list[ReceivableEventPublic]
    count: int


class FinancingPublic(BaseModel):
    """A financing as its events left it."""

    id: str
    financier: str
    holder: str
    debtor: str
    amount_fen: int
    advance_fen: int
    discount_bps: int
    due_date: int
    financed_at: int
    released_at: int
    settled_at: int
    live: bool
    tx_hash: str


class FinancingsPublic(BaseModel):
    """Financings, one page."""

    data: list[FinancingPublic]
    count: int
    limit: int
    offset: int


class DeploymentPublic(BaseModel):
    """What a client needs to sign writes for this deployment."""

    chain_id: int
    contracts: dict[str, str] = Field(description="contract name -> address")
    forwarder_domain: dict[str, Any] = Field(description="EIP-712 domain of ForwardRequest")
    relayer: str = Field(description="the member account that relays and pays the gas")


class BatchRecordRevocationCreate(SignedWrite, BatchRecordTarget):
    """Revoke one record of a batch (its attester: the signer of a signed batch's record; or
    a regulator): ``revokeBatchRecord`` signed as a ForwardRequest."""

    reason: Hex32 = Field(default=ZERO32, description="a reason code or a decision's hash")


class BatchRecordReplacementCreate(SignedWrite, BatchRecordTarget):
    """Correct one record of a batch (its attester): ``replaceBatchRecord``."""

    data_hash: Hex32 = Field(description="keccak256 of the corrected record")
    expiry: Uint40 = 0


class BatchRecordDisputeCreate(SignedWrite, BatchRecordTarget):
    """Dispute one record of a batch (signed by its subject's bound account)."""

    reason_hash: Hex32 = Field(description="keccak256 of the off-chain statement")


# -- onboarding: the regulator's and registrars' writes -------------------------------------


#: A city as ``MemberPublic`` names it.
CityName = Literal["Shanghai", "Nanjing", "Hangzhou", "Hefei", "Jiaxing"]
#: A role as ``MemberPublic`` names it.
RoleName = Literal["attester", "financier", "registrar", "auditor", "regulator", "relayer"]
RoleNames = Annotated[
    list[RoleName],
    Field(min_length=1, max_length=6, description='the roles, e.g. ["attester", "financier"]'),
]


class MemberAdmission(SignedWrite):
    """Admit a member institution: ``admitMember`` signed by a regulator."""

    account: Address = Field(description="the institution's signing account")
    name: str = Field(min_length=1, max_length=200, description="its public name")
    city: CityName
    roles: RoleNames


class MemberSuspension(SignedWrite):
    """Suspend a member from the next block on: ``suspendMember`` signed by a regulator."""

    reason: Hex32 = Field(default=ZERO32, description="a reason code or a decision's hash")


class MemberRoles(SignedWrite):
    """Replace a member's roles: ``setRoles`` signed by a regulator."""

    roles: RoleNames


class EnterpriseBinding(SignedWrite):
    """Bind an enterprise's account to its subject id: ``bindEnterprise`` signed by a
    registrar."""

    account: Address = Field(description="the enterprise's account (not a member's)")
    subject: Hex32 = Field(description="the enterprise's subject id")


class EnterpriseRebinding(SignedWrite):
    """Move an enterprise's subject id to a new account (a lost or rotated key):
    ``rebindEnterprise`` signed by a registrar."""

    account: Address = Field(description="the enterprise's new account (not a member's)")


class ScoreDeposit(_Strict):
    """The off-chain ``credit-score`` record of a score the caller attested."""

    record: dict[str, Any] = Field(
        description="the credit-score record whose hash the attestation carries"
    )
    ref_uid: Hex32 = Field(default=ZERO32, description="the attestation's refUID, if it has one")


class ScoreReasonPublic(BaseModel):
    """One reason code: the feature that cost the score most, and what it measures."""

    code: str
    meaning: str


class ScorePublic(BaseModel):
    """An attested credit score of an enterprise, with the reason codes behind it."""

    uid: str
    subject: str
    attester: str = Field(description="the scoring member")
    attested_at: int
    validity: str = Field(description="the score attestation's validity now, e.g. VALID")
    grade: str
    pd_basis_points: int
    points: int
    model_hash: str
    scored_date: str
    reason_codes: list[str] = Field(description="worst first")
    reasons: list[ScoreReasonPublic]
    record: dict[str, Any] = Field(description="the credit-score record as attested")


class ScoresPublic(BaseModel):
    """An enterprise's attested scores, oldest first."""

    data: list[ScorePublic]
    count: int
