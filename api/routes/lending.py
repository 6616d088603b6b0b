"""Lending (issue 17): the collateral registry, credit facilities and joint credit agreements.

Every write is the acting bank's own signed call, relayed through the Forwarder, one row of
the write pipeline (:mod:`pipeline.operations`). Two carry another party's signed consent:
a pledge, the pledgor's EIP-712 ``Pledge`` (the pledgee bank registers it), and the
acceptance of a joint agreement, the enterprise's ``AcceptAgreement`` (any member relays
it); a forgery is refused at the door with the contract's own error
(``CollateralWrongSigner``, ``JointAgreementWrongSigner``).

Reads: a pledge, every registration on an asset (search before lending: by asset id, or by
kind and key, or for a patent or trademark by issuing authority and registration number),
a facility, a joint agreement and its participants, and an enterprise's exposure, which the
chain shows only to regulators and to members holding the enterprise's authorisation in
force (``FacilityExposureNotAuthorised``, 403, otherwise).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from ledger_client.addresses import to_checksum_address
from ledger_client.index.lending import agreement_entry, facility_entry
from ledger_client.lending.collateral import (
    CollateralKind,
    Pledge,
    PledgeTerms,
    SignedPledge,
    ip_key,
)
from ledger_client.lending.facilities import FacilityKind, SignedAcceptance
from ledger_client.types import Hash32, SubjectId
from pipeline.errors import NotFound
from pipeline.operations import (
    AmendFacility,
    AmendPledge,
    OnAgreement,
    OnFacility,
    OnPledge,
    ProposeAgreement,
    RegisterFacility,
    ReportOverdue,
)

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
from ..lending_models import (
    AgreementAcceptance,
    AgreementCreate,
    AgreementPublic,
    AssetPublic,
    CollateralKindName,
    ExposurePublic,
    FacilityAmendment,
    FacilityAmount,
    FacilityCreate,
    FacilityPublic,
    FacilityWrite,
    OverdueReport,
    ParticipationPublic,
    PledgeAmendment,
    PledgeCreate,
    PledgePublic,
)
from ..models import Hex32, SignedWrite, SubmissionPublic
from ..writes import WRITE_ROUTE, IdempotencyHeader, relay
from .receivables import FilterRequired

collateral_router = APIRouter(prefix="/v1/collateral", tags=["lending"])
facilities_router = APIRouter(prefix="/v1/facilities", tags=["lending"])
agreements_router = APIRouter(prefix="/v1/agreements", tags=["lending"])
exposures_router = APIRouter(prefix="/v1/exposures", tags=["lending"])
AgreementNo = Annotated[int, Path(ge=1, lt=2**32, description="the joint agreement's number")]
ZERO32 = b"\0" * 32


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


def _h(raw: bytes) -> str:
    return "0x" + bytes(raw).hex()


# -- writes -------------------------------------------------------------------------------
# Every write is one shape: a signed body (and perhaps an id in the path), mapped to the
# table's domain request, handed to the intake. A row below is one route.


@dataclass(frozen=True)
class _WriteRoute:
    router: APIRouter
    path: str
    name: str
    body: type[SignedWrite]
    operation: str
    to_request: Callable[[Any, Any], object]  # (the path's id or None, body) -> request
    doc: str
    path_param: tuple[str, Any] | None = None  # the path's id: its name and type


def _pledge(_: None, b: PledgeCreate) -> SignedPledge:
    terms = PledgeTerms(
        CollateralKind.parse(b.kind), Hash32(_b(b.key)), b.secured_amount_fen, b.expiry
    )
    # The pledgee is the bank that signs the call: the consent names it, the chain checks it.
    return SignedPledge(
        terms,
        to_checksum_address(b.signer),
        b.rank,
        to_checksum_address(b.pledgor),
        b.consent_deadline,
        _b(b.consent_signature),
    )


_PLEDGE_ID = ("pledge_id", Hex32)
_AGREEMENT = ("agreement", AgreementNo)

_WRITES: tuple[_WriteRoute, ...] = (
    _WriteRoute(
        collateral_router,
        "/pledges",
        "pledge_collateral",
        PledgeCreate,
        "collateral.pledge",
        _pledge,
        "Register a pledge (质押登记) to the signing bank with the pledgor's signed consent. "
        "Anchored, the result names the ``pledge_id``. An exclusive asset (a receivable, "
        "patent, trademark or equity share) pledged in force already, or a receivable "
        "financed, is refused with 409 ``CollateralAlreadyPledged``; a consent not signed by "
        "the pledgor with 403 ``CollateralWrongSigner``.",
    ),
    _WriteRoute(
        collateral_router,
        "/pledges/{pledge_id}/amend",
        "amend_pledge",
        PledgeAmendment,
        "collateral.amend",
        lambda pid, b: AmendPledge(_b(pid), b.secured_amount_fen, b.expiry),
        "Change a pledge's amount secured and term: ``amend`` signed by its pledgee.",
        _PLEDGE_ID,
    ),
    _WriteRoute(
        collateral_router,
        "/pledges/{pledge_id}/release",
        "release_pledge",
        SignedWrite,
        "collateral.release",
        lambda pid, _: OnPledge(_b(pid)),
        "Release a pledge: ``release`` signed by its pledgee; anyone else is refused with "
        "403 ``CollateralNotPledgee``.",
        _PLEDGE_ID,
    ),
    _WriteRoute(
        facilities_router,
        "",
        "register_facility",
        FacilityCreate,
        "facilities.register",
        lambda _, b: RegisterFacility(
            SubjectId(_b(b.subject)),
            _b(b.contract_hash),
            FacilityKind.parse(b.kind),
            b.limit_fen,
            b.expiry,
            [_b(p) for p in b.pledge_ids],
        ),
        "Record a facility (授信) the signing bank grants an enterprise, secured by pledges "
        "in force to it. Anchored, the result names the ``facility_id`` "
        "(keccak256(abi.encode(subject, lender, contract_hash))).",
    ),
    _WriteRoute(
        facilities_router,
        "/draw",
        "draw",
        FacilityAmount,
        "facilities.draw",
        lambda _, b: OnFacility(SubjectId(_b(b.subject)), _b(b.contract_hash), b.amount_fen),
        "Record a draw on the signing lender's facility. Past the facility's limit: 409 "
        "``FacilityLimitExceeded``; past the joint limit of the enterprise's joint agreement "
        "(the participants' draws together): 409 ``JointLimitExceeded``; while an overdue "
        "holds the agreement: 409 ``JointAgreementOnHold``.",
    ),
    _WriteRoute(
        facilities_router,
        "/repay",
        "repay",
        FacilityAmount,
        "facilities.repay",
        lambda _, b: OnFacility(SubjectId(_b(b.subject)), _b(b.contract_hash), b.amount_fen),
        "Record a repayment on the signing lender's facility.",
    ),
    _WriteRoute(
        facilities_router,
        "/amend",
        "amend_facility",
        FacilityAmendment,
        "facilities.amend",
        lambda _, b: AmendFacility(
            SubjectId(_b(b.subject)), _b(b.contract_hash), b.limit_fen, b.expiry
        ),
        "Change the signing lender's facility's limit (at least what is drawn) and expiry.",
    ),
    _WriteRoute(
        facilities_router,
        "/close",
        "close_facility",
        FacilityWrite,
        "facilities.close",
        lambda _, b: OnFacility(SubjectId(_b(b.subject)), _b(b.contract_hash)),
        "Close the signing lender's facility once nothing is outstanding.",
    ),
    _WriteRoute(
        facilities_router,
        "/overdue",
        "report_overdue",
        OverdueReport,
        "facilities.report_overdue",
        lambda _, b: ReportOverdue(
            SubjectId(_b(b.subject)), _b(b.contract_hash), b.amount_fen, b.days_overdue
        ),
        "Report an overdue on the signing lender's facility; when the lender takes part in "
        "the enterprise's joint agreement, the agreement is put on hold until the lead bank "
        "clears it.",
    ),
    _WriteRoute(
        agreements_router,
        "",
        "propose_agreement",
        AgreementCreate,
        "agreements.propose",
        lambda _, b: ProposeAgreement(
            SubjectId(_b(b.subject)),
            b.joint_limit_fen,
            [to_checksum_address(p) for p in b.participants],
            list(b.shares_bps),
        ),
        "Propose a joint agreement (联合授信); the signer is its lead bank. Anchored, the "
        "result names its number as ``agreement``.",
    ),
    _WriteRoute(
        agreements_router,
        "/{agreement}/join",
        "join_agreement",
        SignedWrite,
        "agreements.join",
        lambda no, _: OnAgreement(no),
        "Join a proposed agreement: ``joinAgreement`` signed by a participant.",
        _AGREEMENT,
    ),
    _WriteRoute(
        agreements_router,
        "/{agreement}/accept",
        "accept_agreement",
        AgreementAcceptance,
        "agreements.accept",
        lambda no, b: SignedAcceptance(no, b.consent_deadline, _b(b.consent_signature)),
        "Relay the enterprise's signed acceptance (any member's signed call carries it); once "
        "every participant joined and the enterprise accepted, the joint limit binds. An "
        "acceptance not signed by the enterprise's bound account: 403 "
        "``JointAgreementWrongSigner``.",
        _AGREEMENT,
    ),
    _WriteRoute(
        agreements_router,
        "/{agreement}/clear-flag",
        "clear_flag",
        SignedWrite,
        "agreements.clear_flag",
        lambda no, _: OnAgreement(no),
        "Clear an overdue's hold on the agreement: ``clearFlag`` signed by the lead bank.",
        _AGREEMENT,
    ),
    _WriteRoute(
        agreements_router,
        "/{agreement}/end",
        "end_agreement",
        SignedWrite,
        "agreements.end",
        lambda no, _: OnAgreement(no),
        "End an active agreement not on hold: ``endAgreement`` signed by the lead bank.",
        _AGREEMENT,
    ),
)


def _write_route(row: _WriteRoute) -> Callable[..., SubmissionPublic]:
    def route(**kw: Any) -> SubmissionPublic:
        ref = kw[row.path_param[0]] if row.path_param else None
        body = kw["body"]
        return relay(
            kw["response"],
            kw["service"],
            kw["caller"],
            kw["idempotency_key"],
            body,
            operation=row.operation,
            request=row.to_request(ref, body),
        )

    keyword = inspect.Parameter.KEYWORD_ONLY
    params = [
        inspect.Parameter("body", keyword, annotation=row.body),
        inspect.Parameter("service", keyword, annotation=ServiceDep),
        inspect.Parameter("caller", keyword, annotation=WriterDep),
        inspect.Parameter("response", keyword, annotation=Response),
        inspect.Parameter("idempotency_key", keyword, annotation=IdempotencyHeader, default=None),
    ]
    if row.path_param is not None:
        name, annotation = row.path_param
        params.insert(0, inspect.Parameter(name, keyword, annotation=annotation))
    # FastAPI reads the parameters from the signature: the row's body model and path id.
    signature = inspect.Signature(params, return_annotation=SubmissionPublic)
    route.__signature__ = signature  # type: ignore[attr-defined]
    route.__name__ = route.__qualname__ = row.name
    route.__doc__ = row.doc
    return route


for _row in _WRITES:
    _row.router.post(_row.path, **WRITE_ROUTE)(_write_route(_row))


# -- reads: the collateral registry -------------------------------------------------------


def _pledge_public(p: Pledge) -> PledgePublic:
    return PledgePublic(
        pledge_id=_h(p.pledge_id),
        asset_id=_h(p.asset_id),
        rank=p.rank,
        kind=p.kind.name.lower(),  # type: ignore[arg-type]
        pledgee=p.pledgee,
        expiry=p.expiry,
        released=p.released,
        in_force=p.in_force,
    )


def _asset_public(service: ServiceDep, asset: bytes) -> AssetPublic:
    registry = service.ledger.collateral
    found = registry.asset(asset)
    return AssetPublic(
        asset_id=_h(asset),
        kind=found.kind.name.lower() if found.kind else None,  # type: ignore[arg-type]
        registrations=found.registrations,
        pledgee=found.pledgee,
        expiry=found.expiry,
        pledges=[_pledge_public(p) for p in registry.registrations(asset)],
    )


@collateral_router.get(
    "/pledges/{pledge_id}", response_model=PledgePublic, responses=error_responses(404)
)
def get_pledge(pledge_id: Hex32, service: ServiceDep, _: CallerDep) -> PledgePublic:
    """A pledge, as the registry holds it."""
    found = service.ledger.collateral.pledge_of(_b(pledge_id))
    if found is None:
        raise NotFound(f"no pledge {pledge_id}", pledge_id=pledge_id)
    return _pledge_public(found)


@collateral_router.get("/assets/{asset_id}", response_model=AssetPublic)
def get_asset(asset_id: Hex32, service: ServiceDep, _: CallerDep) -> AssetPublic:
    """An asset by id and every registration on it in priority order (none: never pledged)."""
    return _asset_public(service, _b(asset_id))


@collateral_router.get("/assets", response_model=AssetPublic)
def search_asset(
    service: ServiceDep,
    _: CallerDep,
    *,
    kind: Annotated[CollateralKindName, Query(description="what the asset is")],
    key: Annotated[Hex32 | None, Query(description="the asset's key, as a pledge names it")] = None,
    authority: Annotated[
        str | None,
        Query(max_length=64, description="patent or trademark: the issuing authority, e.g. CNIPA"),
    ] = None,
    number: Annotated[
        str | None,
        Query(max_length=64, description="patent or trademark: the registration number"),
    ] = None,
) -> AssetPublic:
    """Search before lending: an asset by kind and key, or a patent or trademark by its
    issuing authority and registration number (the national register's identifiers), with
    every registration on it in priority order."""
    code = CollateralKind.parse(kind)
    by_number = authority is not None or number is not None
    if (key is not None) == by_number:
        raise FilterRequired("give either key, or authority and number")
    if key is not None:
        raw = _b(key)
    else:
        if code not in (CollateralKind.PATENT, CollateralKind.TRADEMARK):
            raise FilterRequired("authority and number name a patent or a trademark only")
        if authority is None or number is None:
            raise FilterRequired("give both authority and number")
        raw = ip_key(authority, number)
    return _asset_public(service, PledgeTerms(code, Hash32(raw), 1, 0).asset_id)


# -- reads: facilities, agreements, exposure ------------------------------------------------


@facilities_router.get(
    "/{facility_id}", response_model=FacilityPublic, responses=error_responses(404)
)
def get_facility(facility_id: Hex32, service: ServiceDep, _: CallerDep) -> FacilityPublic:
    """A facility: limit, drawn, expiry, kind and status from the chain; subject, lender and
    the pledges securing it from the event index."""
    found = service.ledger.facilities.facility(_b(facility_id))
    if found is None:
        raise NotFound(f"no facility {facility_id}", facility_id=facility_id)
    with service.index.reading() as db:
        entry = facility_entry(db, _b(facility_id))
    return FacilityPublic(
        facility_id=facility_id,
        limit_fen=found.limit,
        drawn_fen=found.drawn,
        expiry=found.expiry,
        kind=found.kind.name.lower(),  # type: ignore[arg-type]
        status=found.status.name.lower(),  # type: ignore[arg-type]
        subject=_h(entry.subject) if entry else None,
        lender=entry.lender if entry else None,
        pledge_ids=[_h(p) for p in entry.pledge_ids] if entry else [],
    )


@agreements_router.get(
    "/{agreement}", response_model=AgreementPublic, responses=error_responses(404)
)
def get_agreement(agreement: AgreementNo, service: ServiceDep, _: CallerDep) -> AgreementPublic:
    """A joint agreement from the chain, with each participant's share and whether it joined
    (the participants as its proposal named them, from the event index)."""
    facilities = service.ledger.facilities
    found = facilities.agreement(agreement)
    if found is None:
        raise NotFound(f"no joint agreement {agreement}", agreement=agreement)
    with service.index.reading() as db:
        entry = agreement_entry(db, agreement)
    banks = entry.participants if entry else ()
    participants = []
    for bank in banks:
        share, joined = facilities.participation(agreement, bank)
        participants.append(ParticipationPublic(bank=bank, share_bps=share, joined=joined))
    return AgreementPublic(
        agreement=agreement,
        subject=_h(found.subject),
        lead=found.lead,
        joint_limit_fen=found.joint_limit,
        joined=found.joined,
        accepted=found.accepted,
        status=found.status.name.lower(),  # type: ignore[arg-type]
        participants=participants,
    )


@exposures_router.get("/{subject}", response_model=ExposurePublic, responses=error_responses(403))
def get_exposure(
    subject: Hex32,
    service: ServiceDep,
    caller: CallerDep,
    *,
    auth_id: Annotated[
        Hex32 | None,
        Query(description="the enterprise's authorisation of the caller's member, in force"),
    ] = None,
) -> ExposurePublic:
    """An enterprise's exposure across lenders and under its joint agreement, as the chain
    shows it to the caller's member: a regulator always, a member under the enterprise's
    authorisation ``auth_id`` in force (the same consent as a credit query). Anyone else is
    refused by the contract: 403 ``FacilityExposureNotAuthorised``."""
    e = service.ledger.facilities.exposure(
        caller.member, _b(subject), _b(auth_id) if auth_id else ZERO32
    )
    return ExposurePublic(
        subject=subject,
        total_fen=e.total,
        joint_fen=e.joint,
        joint_limit_fen=e.joint_limit,
        agreement=e.agreement,
        flagged=e.flagged,
    )
