"""Attestations: signed submissions (single and batch), revocation and replacement (relayed
signed calls), reads by UID, and listings by subject, attester and schema (event index)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response, status

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.index import IndexedAttestation
from ledger_client.types import AttestationFields, AttestRequest, Validity
from pipeline.errors import NotFound
from pipeline.intake import submit_record, submit_records
from pipeline.operations import ReplaceAttestation, RevokeAttestation
from pipeline.service import Service

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
from ..models import (
    Address,
    AttestationPublic,
    Hex32,
    IndexedAttestationPublic,
    IndexedAttestationsPublic,
    ReplacementCreate,
    RevocationCreate,
    SignedAttestationCreate,
    SignedAttestationsCreate,
    SubmissionPublic,
    SubmissionsPublic,
)
from ..writes import WRITE_ROUTE, IdempotencyHeader, admitted_batch, relay, submission_public
from .schemas import resolve_schema

router = APIRouter(prefix="/v1/attestations", tags=["attestations"])
Limit = Annotated[int, Query(ge=1, le=500, description="rows per page")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="rows to skip")]


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


def _record(service: Service, body: SignedAttestationCreate) -> SignedRecord:
    """The signed record a body carries (an unknown schema: ``NotFound``)."""
    schema = resolve_schema(service, body.schema_ref)
    return SignedRecord(
        AttestRequest(
            schema=schema.schema_id,
            subject=_b(body.subject),
            data_hash=_b(body.data_hash),
            expiry=body.expiry,
            ref_uid=_b(body.ref_uid),
        ),
        signer=to_checksum_address(body.signer),
        nonce=body.nonce,
        deadline=body.deadline,
        signature=_b(body.signature),
    )


def _dump(body: SignedAttestationCreate) -> dict[str, Any]:
    return body.model_dump(by_alias=True)


@router.post(
    "",
    dependencies=WRITE_ROUTE["dependencies"],
    response_model=SubmissionPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=WRITE_ROUTE["responses"],
)
async def submit_attestation(
    body: SignedAttestationCreate,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Journal a signed attestation; the worker relays it (singly or in a signed batch)."""
    sub, new = await submit_record(
        service, caller, idempotency_key, _dump(body), lambda: _record(service, body)
    )
    if not new:
        response.status_code = status.HTTP_200_OK
    return submission_public(sub)


@router.post(
    "/batch",
    dependencies=[Depends(admitted_batch)],
    response_model=SubmissionsPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        200: {"description": "the same Idempotency-Key again: the same submissions"},
        **error_responses(403, 404, 409),
    },
)
def submit_attestations(
    body: SignedAttestationsCreate,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionsPublic:
    """Journal many signed attestations; item i is journaled under ``<key>:<i>``. 202 when
    any is new, 200 when the whole request was journaled before (a retry), as a single
    write answers.

    Every item is checked before any is journaled: one bad item refuses the request.
    """

    def build(item: SignedAttestationCreate) -> Callable[[], SignedRecord]:
        return lambda: _record(service, item)

    items: list[tuple[Mapping[str, Any], Callable[[], SignedRecord]]] = [
        (_dump(item), build(item)) for item in body.attestations
    ]
    subs, new = submit_records(service, caller, idempotency_key, items)
    if not new:
        response.status_code = status.HTTP_200_OK
    return SubmissionsPublic(data=[submission_public(s) for s in subs], count=len(subs))


@router.get("", response_model=IndexedAttestationsPublic, responses=error_responses(404))
def list_attestations(
    service: ServiceDep,
    _: CallerDep,
    *,
    subject: Hex32 | None = None,
    attester: Address | None = None,
    schema: Annotated[str | None, Query(max_length=80, description="name or id")] = None,
    since: Annotated[int | None, Query(ge=0, lt=2**40, description="attested at or after")] = None,
    until: Annotated[int | None, Query(ge=0, lt=2**40, description="attested before")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    newest_first: bool = False,
) -> IndexedAttestationsPublic:
    """Attestations made one by one (each with a UID), by subject, attester and schema, paged.

    Records anchored in signed batches have no UID: see ``GET /v1/batch-records``.
    """
    schema_id = resolve_schema(service, schema).schema_id if schema else None
    who = to_checksum_address(attester) if attester else None
    index = service.index
    rows = index.attestations(
        subject=subject,
        attester=who,
        schema=schema_id,
        since=since,
        until=until,
        limit=limit,
        offset=offset,
        newest_first=newest_first,
    )
    count = index.count_attestations(
        subject=subject, attester=who, schema=schema_id, since=since, until=until
    )
    now = service.chain_time()
    return IndexedAttestationsPublic(
        data=[indexed_public(service, a, now) for a in rows],
        count=count,
        limit=limit,
        offset=offset,
    )


def indexed_public(service: Service, a: IndexedAttestation, now: int) -> IndexedAttestationPublic:
    """An indexed attestation with its validity at chain time ``now`` (disputes included)."""
    return IndexedAttestationPublic(
        uid="0x" + a.uid.hex(),
        attester=a.attester,
        attested_at=a.attested_at,
        expiry=a.expiry,
        revoked_at=a.revoked_at,
        schema="0x" + a.schema.hex(),
        replaced_by="0x" + a.replaced_by.hex() if a.replaced_by else None,
        validity=indexed_validity(service, a, now).name,
        subject="0x" + a.subject.hex(),
        data_hash="0x" + a.data_hash.hex(),
        ref_uid="0x" + a.ref_uid.hex(),
        block=a.block_number,
        tx_hash=a.tx_hash,
    )


def indexed_validity(service: Service, a: IndexedAttestation, now: int) -> Validity:
    """What ``IAttestations.validity`` answers, from the index: open disputes come after
    revocation and replacement, before expiry, as on chain."""
    if a.revoked_at:
        return Validity.REVOKED
    if a.replaced_by is not None:
        return Validity.REPLACED
    with service.index.reading() as db:
        row = db.execute(
            "SELECT deadline FROM consent_disputes WHERE uid = ? AND status = 1", (a.uid,)
        ).fetchone()
    if row is not None:
        return Validity.DISPUTED if now < row[0] else Validity.DISPUTE_OVERDUE
    return a.validity(now)


@router.post("/{uid}/revoke", **WRITE_ROUTE)
def revoke_attestation(
    uid: Hex32,
    body: RevocationCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Revoke an attestation: a call of ``revoke(uid, reason)`` signed by its attester or a
    regulator, relayed through the Forwarder."""
    request = RevokeAttestation(_b(uid), _b(body.reason))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="attestations.revoke",
        request=request,
    )


@router.post("/{uid}/replace", **WRITE_ROUTE)
def replace_attestation(
    uid: Hex32,
    body: ReplacementCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Replace an attestation with a corrected record: ``replace(uid, old, dataHash, expiry)``
    signed by its attester. Anchored, the result names the new ``uid``."""
    old = AttestationFields(_b(body.old.subject), _b(body.old.data_hash), _b(body.old.ref_uid))
    request = ReplaceAttestation(_b(uid), old, _b(body.data_hash), body.expiry)
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="attestations.replace",
        request=request,
    )


@router.get("/{uid}", response_model=AttestationPublic, responses=error_responses(404))
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
