"""Disputes (异议): an enterprise disputes a record about it; the attester resolves it.

The dispute is the enterprise's signed call of ``raiseDispute``, handed in
with its own key or by the member that attested the record. The resolution
(``rejectDispute`` / ``upholdDispute``) is signed by the attester or a
regulator. Art. 25 gives 20 days: the deadline is ``raised_at + 20 days``.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from ledger_client.addresses import to_checksum_address
from ledger_client.index.consent import DisputeEntry, dispute, disputes
from ledger_client.types import AttestationFields, DisputeStatus
from pipeline.errors import NotFound
from pipeline.operations import AnswerDispute, RaiseBatchRecordDispute, RaiseDispute

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
from ..models import (
    Address,
    BatchRecordDisputeCreate,
    DisputeCreate,
    DisputePublic,
    DisputeRejection,
    DisputesPublic,
    DisputeUpholding,
    SubmissionPublic,
)
from ..writes import WRITE_ROUTE, IdempotencyHeader, relay
from .batches import resolve_batch_record

router = APIRouter(prefix="/v1/disputes", tags=["disputes"])
DisputeId = Annotated[int, Path(ge=1, lt=2**256, description="the dispute's number")]


@router.post("", **WRITE_ROUTE)
def raise_dispute(
    body: DisputeCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Dispute an attestation: ``raiseDispute`` signed by the subject's bound account. Anchored,
    the result names the ``dispute_id``."""
    f = body.fields
    fields = AttestationFields(_b(f.subject), _b(f.data_hash), _b(f.ref_uid))
    request = RaiseDispute(_b(body.uid), fields, _b(body.reason_hash))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="disputes.raise",
        request=request,
    )


@router.post("/batch-record", **WRITE_ROUTE)
def raise_batch_record_dispute(
    body: BatchRecordDisputeCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Dispute a record of a batch: ``raiseBatchRecordDispute`` signed by the subject's bound
    account. Its attester (the signer, for a signed batch) may hand it in. Anchored, the
    result names the ``dispute_id``; the dispute's uid is the record id."""
    target = resolve_batch_record(service, body)
    request = RaiseBatchRecordDispute(target, _b(body.reason_hash))
    operation = "disputes.raise_batch_record"
    return relay(
        response, service, caller, idempotency_key, body, operation=operation, request=request
    )


@router.get("", response_model=DisputesPublic)
def list_disputes(
    service: ServiceDep,
    _: CallerDep,
    *,
    attester: Address | None = None,
    status: Literal["open", "rejected", "upheld"] | None = None,
    overdue: Annotated[bool, Query(description="only open disputes past their deadline")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> DisputesPublic:
    """Disputes in order of raising, of one attester and in one status when given; with
    ``overdue``, the regulator's list of those open past their deadline."""
    wanted = DisputeStatus[status.upper()] if status else None
    if overdue:
        wanted = DisputeStatus.OPEN
    who = to_checksum_address(attester) if attester else None
    with service.index.reading() as db:
        entries = disputes(db, attester=who, status=wanted)
    now = service.chain_time()
    if overdue:
        entries = [e for e in entries if e.overdue(now)]
    page = entries[offset : offset + limit]
    return DisputesPublic(
        data=[_from_index(e, now) for e in page], count=len(entries), limit=limit, offset=offset
    )


@router.get("/{dispute_id}", response_model=DisputePublic, responses=error_responses(404))
def get_dispute(dispute_id: DisputeId, service: ServiceDep, _: CallerDep) -> DisputePublic:
    """A dispute as the chain holds it, with who raised it and why from the index."""
    found = service.ledger.disputes.dispute(dispute_id)
    if found is None:
        raise NotFound(f"no dispute {dispute_id}", dispute_id=dispute_id)
    with service.index.reading() as db:
        entry = dispute(db, dispute_id)
    now = service.chain_time()
    return DisputePublic(
        dispute_id=dispute_id,
        uid="0x" + bytes(found.uid).hex(),
        attester=found.attester,
        subject="0x" + entry.subject.hex() if entry else None,
        reason_hash="0x" + entry.reason_hash.hex() if entry else None,
        raised_by=entry.raised_by if entry else None,
        raised_at=entry.raised_at if entry else None,
        deadline=found.deadline,
        status=found.status.name.lower(),
        overdue=found.status is DisputeStatus.OPEN and now >= found.deadline,
        resolved_at=found.resolved_at,
        resolver=entry.resolver if entry else None,
        late=entry.late if entry and entry.resolved_at else None,
        replaced_by="0x" + entry.replaced_by.hex() if entry and entry.replaced_by else None,
    )


@router.post("/{dispute_id}/reject", **WRITE_ROUTE)
def reject_dispute(
    dispute_id: DisputeId,
    body: DisputeRejection,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Reject a dispute, the record standing: ``rejectDispute`` signed by the attester or a
    regulator."""
    request = AnswerDispute(dispute_id, _b(body.reason_hash))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="disputes.reject",
        request=request,
    )


@router.post("/{dispute_id}/uphold", **WRITE_ROUTE)
def uphold_dispute(
    dispute_id: DisputeId,
    body: DisputeUpholding,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Uphold a dispute once the record is revoked or replaced: ``upholdDispute`` signed by
    the attester or a regulator."""
    request = AnswerDispute(dispute_id, _b(body.reply_hash))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="disputes.uphold",
        request=request,
    )


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


def _from_index(e: DisputeEntry, now: int) -> DisputePublic:
    return DisputePublic(
        dispute_id=e.dispute_id,
        uid="0x" + e.uid.hex(),
        attester=e.attester,
        subject="0x" + e.subject.hex(),
        reason_hash="0x" + e.reason_hash.hex(),
        raised_by=e.raised_by,
        raised_at=e.raised_at,
        deadline=e.deadline,
        status=e.status.name.lower(),
        overdue=e.overdue(now),
        resolved_at=e.resolved_at,
        resolver=e.resolver,
        late=e.late if e.resolved_at else None,
        replaced_by="0x" + e.replaced_by.hex() if e.replaced_by else None,
    )
