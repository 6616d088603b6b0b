"""Records of batches: listed from the event index; revoked and corrected by their attester.

A batch record is named by its ingredients and proof (the chain computes its leaf from
them, never takes one as given) and known by its record id,
keccak256(abi.encode(batch_id, leaf)). Its attester is the batch's for an unsigned batch and
the record's signer for a signed one: never the relayer that anchored it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ledger_client.contracts.attestations import batch_record_id
from ledger_client.index import BatchRecord
from ledger_client.types import BatchEntry
from pipeline.operations import BatchRecordTarget as Target
from pipeline.operations import ReplaceBatchRecord, RevokeBatchRecord
from pipeline.service import Service

from ..deps import CallerDep, ServiceDep, WriterDep
from ..models import (
    BatchRecordIn,
    BatchRecordPublic,
    BatchRecordReplacementCreate,
    BatchRecordRevocationCreate,
    BatchRecordsPublic,
    BatchRecordTarget,
    Hex32,
    SubmissionPublic,
)
from ..writes import WRITE_ROUTE, IdempotencyHeader, relay

router = APIRouter(prefix="/v1/batch-records", tags=["attestations"])


@router.get("", response_model=BatchRecordsPublic)
def list_batch_records(
    service: ServiceDep,
    _: CallerDep,
    *,
    subject: Hex32 | None = None,
    data_hash: Hex32 | None = None,
    batch_id: Hex32 | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> BatchRecordsPublic:
    """Records anchored in signed batches, by subject, record hash or batch, paged (by batch,
    then position). ``GET /v1/submissions/{id}/proof`` gives a record's proof."""
    records = service.index.batch_records(
        subject=subject, data_hash=data_hash, batch_id=batch_id, limit=limit, offset=offset
    )
    return BatchRecordsPublic(data=[_public(r) for r in records], limit=limit, offset=offset)


@router.post("/revoke", **WRITE_ROUTE)
def revoke_batch_record(
    body: BatchRecordRevocationCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Revoke one record of a batch: ``revokeBatchRecord`` signed by the record's attester (the
    signer, for a signed batch) or a regulator, relayed through the Forwarder."""
    request = RevokeBatchRecord(resolve_batch_record(service, body), _b(body.reason))
    operation = "attestations.revoke_batch_record"
    return relay(
        response, service, caller, idempotency_key, body, operation=operation, request=request
    )


@router.post("/replace", **WRITE_ROUTE)
def replace_batch_record(
    body: BatchRecordReplacementCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Correct one record of a batch: ``replaceBatchRecord`` signed by its attester. Anchored,
    the result names the new ``uid``, whose reference is the record id."""
    target = resolve_batch_record(service, body)
    request = ReplaceBatchRecord(target, _b(body.data_hash), body.expiry)
    operation = "attestations.replace_batch_record"
    return relay(
        response, service, caller, idempotency_key, body, operation=operation, request=request
    )


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


def entry_of(record: BatchRecordIn) -> BatchEntry:
    """The ingredients as the client types them."""
    return BatchEntry(
        _b(record.subject),
        _b(record.data_hash),
        record.attester,
        record.nonce,
        record.deadline,
        bytes.fromhex(record.signature[2:]),
    )


def resolve_batch_record(service: Service, target: BatchRecordTarget) -> Target:
    """The record as the chain finds it (AttestationsUnknownBatch / AttestationsNotInBatch by
    name when it does not), with the call's arguments."""
    batch_id = _b(target.batch_id)
    entry = entry_of(target.record)
    proof = [_b(p) for p in target.proof]
    ref = service.ledger.attestations.batch_record(batch_id, entry, proof)
    return Target(batch_id, entry, proof, ref)


def _public(r: BatchRecord) -> BatchRecordPublic:
    return BatchRecordPublic(
        batch_id="0x" + r.batch_id.hex(),
        index=r.index,
        subject="0x" + r.subject.hex(),
        data_hash="0x" + r.data_hash.hex(),
        leaf="0x" + r.leaf.hex(),
        record_id="0x" + (r.record_id or batch_record_id(r.batch_id, r.leaf)).hex(),
        revoked_at=r.revoked_at,
        replaced_by="0x" + r.replaced_by.hex() if r.replaced_by else None,
    )
