"""Query authorisations (授权查询): an enterprise's signed grant, its withdrawal, and reads.

An authorisation is signed by the enterprise's bound account (EIP-712
``Authorise``) and usually handed in by the member it authorises; a withdrawal
is the enterprise's signed call of ``withdraw(authId)``, handed in with the
enterprise's own key or by the member it names (the ``Submitters`` of :mod:`pipeline.operations`).
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from ledger_client.addresses import to_checksum_address
from ledger_client.contracts.authorisations import AuthorisationRequest, SignedAuthorisation
from ledger_client.index.consent import AuthorisationEntry, authorisations_of_subject
from ledger_client.types import Authorisation, QueryPurpose
from pipeline.errors import NotFound
from pipeline.intake import oversees, submit_authorisation
from pipeline.operations import WithdrawAuthorisation
from pipeline.service import Service

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
from ..models import (
    AuthorisationCreate,
    AuthorisationPublic,
    AuthorisationsPublic,
    Hex32,
    SignedWrite,
    SubmissionPublic,
    purpose_name,
)
from ..writes import WRITE_ROUTE, IdempotencyHeader, answer, relay
from .schemas import resolve_schema

router = APIRouter(prefix="/v1/authorisations", tags=["authorisations"])


@router.post("", **WRITE_ROUTE)
def create_authorisation(
    body: AuthorisationCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Relay an enterprise's signed authorisation (``authoriseBySig``); anchored, the result
    names its ``auth_id`` (``keccak256(enterprise, nonce)``)."""
    signed = SignedAuthorisation(
        AuthorisationRequest(
            member=to_checksum_address(body.member),
            purpose=QueryPurpose.parse(body.purpose),
            expiry=body.expiry,
            schemas=tuple(resolve_schema(service, ref).schema_id for ref in body.schemas),
        ),
        enterprise=to_checksum_address(body.enterprise),
        nonce=body.nonce,
        deadline=body.deadline,
        signature=bytes.fromhex(body.signature[2:]),
    )
    body_json = body.model_dump(mode="json")
    return answer(
        response, submit_authorisation(service, caller, idempotency_key, body_json, signed)
    )


@router.get("", response_model=AuthorisationsPublic)
def list_authorisations(
    subject: Hex32, service: ServiceDep, caller: CallerDep
) -> AuthorisationsPublic:
    """The authorisations an enterprise gave: all of them for the enterprise itself, a
    regulator or an auditor; for another member, those given to that member."""
    raw = bytes.fromhex(subject[2:])
    with service.index.reading() as db:
        entries = authorisations_of_subject(db, raw)
    if service.ledger.consortium.account_of(raw) != caller.member and not oversees(service, caller):
        entries = [e for e in entries if e.member == caller.member]
    now = service.chain_time()
    data = [_from_index(e, now) for e in entries]
    return AuthorisationsPublic(data=data, count=len(data))


@router.get("/{auth_id}", response_model=AuthorisationPublic, responses=error_responses(404))
def get_authorisation(auth_id: Hex32, service: ServiceDep, _: CallerDep) -> AuthorisationPublic:
    """An authorisation as the chain holds it, with its schema limit and signer from the index."""
    found = _authorisation(service, auth_id)
    with service.index.reading() as db:
        entries = authorisations_of_subject(db, found.subject)
    entry = next((e for e in entries if e.auth_id == found.auth_id), None)
    return AuthorisationPublic(
        auth_id=auth_id,
        subject="0x" + bytes(found.subject).hex(),
        member=found.member,
        purpose=purpose_name(found.purpose),
        expiry=found.expiry,
        withdrawn_at=found.withdrawn_at,
        schema_limited=found.schema_limited,
        schemas=["0x" + s.hex() for s in entry.schemas] if entry else None,
        enterprise=entry.enterprise if entry else None,
        in_force=found.withdrawn_at == 0 and service.chain_time() < found.expiry,
    )


@router.post("/{auth_id}/withdraw", **WRITE_ROUTE)
def withdraw_authorisation(
    auth_id: Hex32,
    body: SignedWrite,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Withdraw an authorisation: ``withdraw(authId)`` signed by the enterprise's current
    account, handed in with its own key or by the member the authorisation names."""
    request = WithdrawAuthorisation(bytes.fromhex(auth_id[2:]))
    operation = "authorisations.withdraw"
    return relay(
        response, service, caller, idempotency_key, body, operation=operation, request=request
    )


def _authorisation(service: Service, auth_id: str) -> Authorisation:
    found = service.ledger.authorisations.authorisation(bytes.fromhex(auth_id[2:]))
    if found is None:
        raise NotFound(f"no authorisation {auth_id}", auth_id=auth_id)
    return found


def _from_index(e: AuthorisationEntry, now: int) -> AuthorisationPublic:
    return AuthorisationPublic(
        auth_id="0x" + e.auth_id.hex(),
        subject="0x" + e.subject.hex(),
        member=to_checksum_address(e.member),
        purpose=purpose_name(e.purpose),
        expiry=e.expiry,
        withdrawn_at=e.withdrawn_at,
        schema_limited=bool(e.schemas),
        schemas=["0x" + s.hex() for s in e.schemas],
        enterprise=e.enterprise,
        in_force=e.in_force(now),
    )
