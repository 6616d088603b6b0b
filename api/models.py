"""Request and response models, a family per resource."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

Hex32 = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{64}$", examples=["0x" + "ab" * 32])]
Address = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{40}$", examples=["0x" + "12" * 20])]
Signature = Annotated[str, Field(pattern=r"^0x[0-9a-fA-F]{130}$")]
Uint256 = Annotated[int, Field(ge=0, lt=2**256)]
Uint40 = Annotated[int, Field(ge=0, lt=2**40)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    kind: str
    status: str = Field(description="pending, anchored or rejected")
    signer: str
    nonce: str
    created_at: float
    updated_at: float
    result: dict[str, Any] | None = Field(
        default=None,
        description="anchored: uid, or batch_id and index; rejected: the named error",
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


class BatchProofIn(_Strict):
    """A batched record's position and proof, as ``ProofPublic`` gave it."""

    batch_id: Hex32
    index: int = Field(ge=0)
    root: Hex32 | None = Field(default=None, description="informational: the chain's root is used")
    proof: list[Hex32] = Field(max_length=64)
    signed_record: dict[str, Any] | None = None


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
