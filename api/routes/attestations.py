"""Attestations: signed submissions (single and batch), and reads by UID."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Header, Response, status

from ledger_client.signed_records import SignedRecord
from ledger_client.types import AttestRequest

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import (
    IdempotencyKeyRequired,
    KeyMemberMismatch,
    NotFound,
    SignatureMismatch,
    SignatureTooShortLived,
    SignerNotAllowed,
)
from ..journal import NewSubmission, Submission
from ..models import (
    AttestationPublic,
    Hex32,
    SignedAttestationCreate,
    SignedAttestationsCreate,
    SubmissionPublic,
    SubmissionsPublic,
)
from ..service import Service
from .schemas import resolve_schema

router = APIRouter(prefix="/v1/attestations", tags=["attestations"])
IdempotencyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="the same key twice: one record"),
]


def submission_public(sub: Submission) -> SubmissionPublic:
    """The public view of a journaled submission."""
    return SubmissionPublic(
        id=sub.id,
        kind=sub.kind,
        status=sub.status,
        signer=sub.signer,
        nonce=str(sub.nonce),
        created_at=sub.created_at,
        updated_at=sub.updated_at,
        result=sub.result,
    )


def _checked(service: Service, caller_member: str, body: SignedAttestationCreate) -> SignedRecord:
    schema = resolve_schema(service, body.schema_ref)
    record = SignedRecord(
        AttestRequest(
            schema=schema.schema_id,
            subject=bytes.fromhex(body.subject[2:]),
            data_hash=bytes.fromhex(body.data_hash[2:]),
            expiry=body.expiry,
            ref_uid=bytes.fromhex(body.ref_uid[2:]),
        ),
        signer=to_checksum_address(body.signer),
        nonce=body.nonce,
        deadline=body.deadline,
        signature=bytes.fromhex(body.signature[2:]),
    )
    if record.signer != caller_member:
        raise KeyMemberMismatch(
            "the API key's member cannot submit records signed by another member",
            key_member=caller_member,
            signer=record.signer,
        )
    if not record.signed_by_signer(service.separator):
        raise SignatureMismatch(
            "the signature was not made by the signer it names",
            signer=record.signer,
            recovered=record.recover(service.separator),
        )
    now = service.chain_time()
    if record.deadline < now + service.settings.signature_margin_s:
        raise SignatureTooShortLived(
            f"the signature must stay valid at least {service.settings.signature_margin_s} s "
            "after it is accepted",
            deadline=record.deadline,
            now=now,
        )
    if not service.may_attest(record.signer):
        raise SignerNotAllowed(
            "the signer is not an attester in good standing", signer=record.signer
        )
    return record


def _new(key: str, body: SignedAttestationCreate, record: SignedRecord) -> NewSubmission:
    body_hash = hashlib.sha256(
        json.dumps(body.model_dump(by_alias=True), sort_keys=True).encode()
    ).hexdigest()
    return NewSubmission(
        key, body_hash, "attestation", record.signer, record.nonce, record.to_dict()
    )


@router.post(
    "",
    response_model=SubmissionPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={200: {"description": "the same Idempotency-Key again: the same submission"}},
)
async def submit_attestation(
    body: SignedAttestationCreate,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Journal a signed attestation; the worker relays it (singly or in a signed batch)."""
    if not idempotency_key:
        raise IdempotencyKeyRequired("writes need an Idempotency-Key header")
    # Runs on the event loop: the checks are CPU-only (about 0.3 ms) and the journal
    # is awaited, so a request never takes a thread-pool hop.
    record = _checked(service, caller.member, body)
    ((sub, new),) = await service.journal.accept_many_async(
        caller.member, [_new(idempotency_key, body, record)]
    )
    if new:
        if service.worker is not None:
            service.worker.wake()
    else:
        response.status_code = status.HTTP_200_OK
    return submission_public(sub)


@router.post("/batch", response_model=SubmissionsPublic, status_code=status.HTTP_202_ACCEPTED)
def submit_attestations(
    body: SignedAttestationsCreate,
    service: ServiceDep,
    caller: WriterDep,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionsPublic:
    """Journal many signed attestations; item i is journaled under ``<key>:<i>``.

    Every item is checked before any is journaled: one bad item refuses the request.
    """
    if not idempotency_key:
        raise IdempotencyKeyRequired("writes need an Idempotency-Key header")
    records = [_checked(service, caller.member, item) for item in body.attestations]
    accepted = service.journal.accept_many(
        caller.member,
        [
            _new(f"{idempotency_key}:{i}", item, record)
            for i, (item, record) in enumerate(zip(body.attestations, records, strict=True))
        ],
    )
    subs = [sub for sub, _ in accepted]
    if service.worker is not None:
        service.worker.wake()
    return SubmissionsPublic(data=[submission_public(s) for s in subs], count=len(subs))


@router.get("/{uid}", response_model=AttestationPublic)
def get_attestation(uid: Hex32, service: ServiceDep, _: CallerDep) -> AttestationPublic:
    """An attestation as the chain holds it, with its validity now."""
    raw = bytes.fromhex(uid[2:])
    info = service.ledger.attestations.attestation(raw)
    if info is None:
        raise NotFound(f"no attestation {uid}", uid=uid)
    return AttestationPublic(
        uid=uid,
        attester=info.attester,
        attested_at=info.attested_at,
        expiry=info.expiry,
        revoked_at=info.revoked_at,
        schema="0x" + info.schema.hex(),
        replaced_by="0x" + info.replaced_by.hex() if info.replaced_by else None,
        validity=service.ledger.attestations.validity(raw).name,
    )
