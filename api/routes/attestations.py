"""Attestations: signed submissions (single and batch), revocation and replacement (relayed
signed calls), reads by UID, and listings by subject, attester and schema (event index)."""

from __future__ import annotations

import hashlib
import json
from typing import Annotated

from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Query, Response, status

from ledger_client.errors import AttestationsInvalidExpiry
from ledger_client.index import IndexedAttestation
from ledger_client.signed_records import SignedRecord
from ledger_client.types import AttestRequest, Validity

from ..deps import Caller, CallerDep, ServiceDep, WriterDep
from ..errors import (
    ApiError,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    KeyMemberMismatch,
    NotFound,
    SignatureMismatch,
    SignatureTooShortLived,
    SignerNotAllowed,
    error_responses,
)
from ..journal import NewSubmission, Submission
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
from ..relay import WRITE_ROUTE, IdempotencyHeader, submission_public, submit_forward
from ..service import Service
from .schemas import resolve_schema

router = APIRouter(prefix="/v1/attestations", tags=["attestations"])
Limit = Annotated[int, Query(ge=1, le=500, description="rows per page")]
Offset = Annotated[int, Query(ge=0, le=10**9, description="rows to skip")]


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
    if body.expiry and body.expiry <= now:
        # The contract's own rule and named error, at once: journaled, the record would only
        # be rejected later by the worker.
        raise AttestationsInvalidExpiry(expiry=body.expiry, now=now)
    if not service.may_attest(record.signer):
        raise SignerNotAllowed(
            "the signer is not an attester in good standing", signer=record.signer
        )
    return record


def _body_hash(body: SignedAttestationCreate) -> str:
    return hashlib.sha256(
        json.dumps(body.model_dump(by_alias=True), sort_keys=True).encode()
    ).hexdigest()


def _new(key: str, body: SignedAttestationCreate, record: SignedRecord) -> NewSubmission:
    return NewSubmission(
        key, _body_hash(body), "attestation", record.signer, record.nonce, record.to_dict()
    )


def _journaled(
    service: Service, caller: Caller, keyed: list[tuple[str, SignedAttestationCreate]]
) -> list[Submission] | None:
    """The submissions already journaled under these keys with these bodies, or None.

    Looked up only when a check refuses a request: a retry of an accepted write must
    find its submission (200, the same id) even when, since it was accepted, its
    signature came within the margin of its deadline (a slow restart) or its signer
    was suspended. A refusal would tell the client it was not taken, and a client that
    signs it again with a fresh nonce gets the record anchored twice.
    """
    found = []
    for key, body in keyed:
        hit = service.journal.find(caller.member, key)
        if hit is None:
            return None
        sub, stored = hit
        if stored != _body_hash(body):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different body",
                idempotency_key=key,
                submission_id=sub.id,
            )
        found.append(sub)
    return found


@router.post(
    "",
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
    if not idempotency_key:
        raise IdempotencyKeyRequired("writes need an Idempotency-Key header")
    # Runs on the event loop: the checks are CPU-only (about 0.3 ms) and the journal
    # is awaited, so a request never takes a thread-pool hop.
    try:
        record = _checked(service, caller.member, body)
    except ApiError:
        again = _journaled(service, caller, [(idempotency_key, body)])
        if again is None:
            raise
        response.status_code = status.HTTP_200_OK
        return submission_public(again[0])
    ((sub, new),) = await service.journal.accept_many_async(
        caller.member, [_new(idempotency_key, body, record)]
    )
    if new:
        if service.worker is not None:
            service.worker.wake()
    else:
        response.status_code = status.HTTP_200_OK
    return submission_public(sub)


@router.post(
    "/batch",
    response_model=SubmissionsPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=error_responses(403, 404, 409),
)
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
    try:
        records = [_checked(service, caller.member, item) for item in body.attestations]
    except ApiError:
        keyed = [(f"{idempotency_key}:{i}", item) for i, item in enumerate(body.attestations)]
        again = _journaled(service, caller, keyed)
        if again is None:
            raise
        return SubmissionsPublic(data=[submission_public(s) for s in again], count=len(again))
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


@router.post(
    "/{uid}/revoke",
    response_model=SubmissionPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=WRITE_ROUTE["responses"],
)
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
    sub, new = submit_forward(
        service,
        caller,
        idempotency_key,
        body,
        operation="attestations.revoke",
        target=service.ledger.attestations,
        fn="revoke",
        args=(bytes.fromhex(uid[2:]), bytes.fromhex(body.reason[2:])),
        acts_on=uid,
    )
    if not new:
        response.status_code = status.HTTP_200_OK
    return submission_public(sub)


@router.post(
    "/{uid}/replace",
    response_model=SubmissionPublic,
    status_code=status.HTTP_202_ACCEPTED,
    responses=WRITE_ROUTE["responses"],
)
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
    old = body.old
    fields = tuple(bytes.fromhex(h[2:]) for h in (old.subject, old.data_hash, old.ref_uid))
    sub, new = submit_forward(
        service,
        caller,
        idempotency_key,
        body,
        operation="attestations.replace",
        target=service.ledger.attestations,
        fn="replace",
        args=(bytes.fromhex(uid[2:]), fields, bytes.fromhex(body.data_hash[2:]), body.expiry),
        acts_on=uid,
    )
    if not new:
        response.status_code = status.HTTP_200_OK
    return submission_public(sub)


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
