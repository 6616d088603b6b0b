"""Request and response models of lending: the collateral registry, credit facilities and
joint credit agreements (a family per resource, as in :mod:`api.models`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .models import Address, Fen, Hex32, Signature, SignedWrite, Uint40, Uint256

CollateralKindName = Literal["receivable", "patent", "trademark", "equity", "movable"]
FacilityKindName = Literal["loan", "guarantee", "bill_acceptance", "letter_of_credit", "factoring"]

_BANK = "0x" + "b1" * 20
_FIRM = "0x" + "e1" * 20
_SIG = "0x" + "5a" * 65
_SUBJECT = "0x" + "5b" * 32
_CONTRACT = "0x" + "c0" * 32
_SIGNED: dict[str, Any] = {
    "signer": _BANK,
    "nonce": 1,
    "deadline": 1_767_225_600,
    "signature": _SIG,
}


def _example(**fields: Any) -> ConfigDict:
    example: dict[str, Any] = {**fields, **_SIGNED}
    return ConfigDict(extra="forbid", json_schema_extra={"examples": [example]})


# -- the collateral registry ------------------------------------------------------------------


class PledgeCreate(SignedWrite):
    """Register a pledge: the pledgee bank's signed call (``signer`` is the pledgee) carrying
    the pledgor's signed consent, EIP-712 ``Pledge(uint8 kind, bytes32 key, address pledgee,
    uint64 securedAmount, uint40 expiry, uint32 rank, uint256 deadline)`` in the
    CollateralRegistry's domain (``GET /v1/typed-data``: domains)."""

    kind: CollateralKindName
    key: Hex32 = Field(
        description="the asset's key: a receivable part's id; for a patent or trademark "
        "keccak256(abi.encode(keccak256(AUTHORITY), keccak256(NUMBER))); for equity "
        "keccak256(abi.encode(company subject, share reference)); for movables the hash of "
        "the document describing them"
    )
    secured_amount_fen: Fen = Field(gt=0)
    expiry: Uint40 = Field(description="UNIX seconds: the pledge lapses at this second")
    rank: int = Field(
        ge=0, lt=2**32, description="the asset's registration count when the pledgor signed"
    )
    pledgor: Address = Field(description="the pledging enterprise's bound account, which signs")
    consent_deadline: Uint256 = Field(description="UNIX seconds: the consent is void after it")
    consent_signature: Signature = Field(description="the pledgor's signature of Pledge")

    model_config = _example(
        kind="patent",
        key="0x" + "7e" * 32,
        secured_amount_fen=500_000_000,
        expiry=1_798_761_600,
        rank=0,
        pledgor=_FIRM,
        consent_deadline=1_767_225_600,
        consent_signature=_SIG,
    )


class PledgeAmendment(SignedWrite):
    """Change a pledge's amount secured and term (its pledgee)."""

    secured_amount_fen: Fen = Field(gt=0)
    expiry: Uint40

    model_config = _example(secured_amount_fen=300_000_000, expiry=1_830_297_600)


class PledgePublic(BaseModel):
    """A registration, as the registry holds it."""

    pledge_id: str
    asset_id: str
    rank: int = Field(description="registration order on the asset: 0 ranks first")
    kind: CollateralKindName
    pledgee: str
    expiry: int
    released: bool
    in_force: bool = Field(description="registered, not released, not lapsed")


class AssetPublic(BaseModel):
    """An asset and every registration on it, in priority order (search before lending)."""

    asset_id: str
    kind: CollateralKindName | None = Field(description="null when never registered")
    registrations: int = Field(description="registrations ever made on it (the next rank)")
    pledgee: str | None = Field(
        description="an exclusive asset's pledgee of its pledge in force; else null"
    )
    expiry: int
    pledges: list[PledgePublic]


# -- credit facilities ----------------------------------------------------------------------


class FacilityCreate(SignedWrite):
    """Record a facility the signing bank grants an enterprise."""

    subject: Hex32 = Field(description="the enterprise's subject id")
    contract_hash: Hex32 = Field(description="keccak256 of the credit contract")
    kind: FacilityKindName
    limit_fen: Fen = Field(gt=0)
    expiry: Uint40 = Field(description="UNIX seconds: no draw from this second on")
    pledge_ids: list[Hex32] = Field(
        default_factory=list,
        max_length=32,
        description="pledges securing it, each in force with the signer as pledgee",
    )

    model_config = _example(
        subject=_SUBJECT,
        contract_hash=_CONTRACT,
        kind="loan",
        limit_fen=1_000_000_000,
        expiry=1_798_761_600,
        pledge_ids=["0x" + "7e" * 28 + "00000000"],
    )


class FacilityWrite(SignedWrite):
    """The signing lender's facility to ``subject`` under ``contract_hash`` (close)."""

    subject: Hex32
    contract_hash: Hex32

    model_config = _example(subject=_SUBJECT, contract_hash=_CONTRACT)


class FacilityAmount(FacilityWrite):
    """A draw or a repayment on the signing lender's facility."""

    amount_fen: Fen = Field(gt=0)

    model_config = _example(subject=_SUBJECT, contract_hash=_CONTRACT, amount_fen=200_000_000)


class FacilityAmendment(FacilityWrite):
    """A new limit (at least what is drawn) and expiry."""

    limit_fen: Fen = Field(gt=0)
    expiry: Uint40

    model_config = _example(
        subject=_SUBJECT, contract_hash=_CONTRACT, limit_fen=800_000_000, expiry=1_830_297_600
    )


class OverdueReport(FacilityWrite):
    """An overdue on the signing lender's facility."""

    amount_fen: Fen = Field(gt=0)
    days_overdue: int = Field(ge=1, lt=2**32)

    model_config = _example(
        subject=_SUBJECT, contract_hash=_CONTRACT, amount_fen=50_000_000, days_overdue=30
    )


class FacilityPublic(BaseModel):
    """A facility: the chain's state, and from the event index who and what it names."""

    facility_id: str
    limit_fen: int
    drawn_fen: int = Field(description="fen outstanding")
    expiry: int
    kind: FacilityKindName
    status: Literal["open", "closed"]
    subject: str | None = Field(description="from the event index; null until indexed")
    lender: str | None
    pledge_ids: list[str]


# -- joint credit agreements ------------------------------------------------------------------


class AgreementCreate(SignedWrite):
    """Propose a joint agreement (联合授信): the signer is the lead bank and one of the
    participants; shares add up to 10,000 basis points."""

    subject: Hex32
    joint_limit_fen: Fen = Field(gt=0)
    participants: list[Address] = Field(min_length=2, max_length=16)
    shares_bps: list[int] = Field(min_length=2, max_length=16)

    model_config = _example(
        subject=_SUBJECT,
        joint_limit_fen=2_000_000_000,
        participants=[_BANK, "0x" + "b2" * 20],
        shares_bps=[6_000, 4_000],
    )


class AgreementAcceptance(SignedWrite):
    """The enterprise's acceptance, EIP-712 ``AcceptAgreement(uint32 agreement, bytes32
    subject, address lead, uint64 jointLimit, uint256 deadline)`` in the CreditFacilities
    domain, signed by its bound account and relayed in a member's signed call."""

    consent_deadline: Uint256
    consent_signature: Signature

    model_config = _example(consent_deadline=1_767_225_600, consent_signature=_SIG)


class ParticipationPublic(BaseModel):
    """A bank's place in a joint agreement."""

    bank: str
    share_bps: int
    joined: bool


class AgreementPublic(BaseModel):
    """A joint agreement and its participants."""

    agreement: int
    subject: str
    lead: str
    joint_limit_fen: int
    joined: int = Field(description="banks that joined, the lead included")
    accepted: bool = Field(description="the enterprise signed")
    status: Literal["proposed", "active", "ended"]
    participants: list[ParticipationPublic]


class ExposurePublic(BaseModel):
    """An enterprise's exposure as the chain keeps it."""

    subject: str
    total_fen: int = Field(description="outstanding across every lender")
    joint_fen: int = Field(description="outstanding under the joint agreement in force")
    joint_limit_fen: int = Field(description="0 when no agreement is in force")
    agreement: int = Field(description="the agreement in force; 0 when none")
    flagged: bool = Field(description="an overdue put the agreement on hold")
