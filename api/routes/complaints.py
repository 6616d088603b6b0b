"""Complaints (投诉, art. 26 of 《征信业管理条例》): after a dispute's rejection, or its
silence past the 20-day deadline, the enterprise complains to the regulator.

A record is disputed once: a second dispute of it after a rejection is refused
(``DisputesAlreadyAnswered``); this is the remedy instead. The complaint is the
enterprise's signed call of ``fileComplaint``, handed in with its own key or by
the member that attested the record, as for a dispute; only a regulator
resolves it (``resolveComplaint``). Reads are open to every key, as for disputes.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Response

from ledger_client.index.consent import ComplaintEntry, complaint, complaints
from ledger_client.types import ComplaintStatus
from pipeline.errors import NotFound
from pipeline.operations import FileComplaint, ResolveComplaint

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
from ..models import (
    ComplaintCreate,
    ComplaintPublic,
    ComplaintResolution,
    ComplaintsPublic,
    SubmissionPublic,
)
from ..writes import WRITE_ROUTE, IdempotencyHeader, relay

router = APIRouter(prefix="/v1/complaints", tags=["complaints"])
ComplaintId = Annotated[int, Path(ge=1, lt=2**256, description="the complaint's number")]


@router.post("", **WRITE_ROUTE)
def file_complaint(
    body: ComplaintCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Complain of a dispute's answer: ``fileComplaint`` signed by the record's subject's
    bound account. Anchored, the result names the ``complaint_id``."""
    request = FileComplaint(body.dispute_id, bytes.fromhex(body.reason_hash[2:]))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="complaints.file",
        request=request,
    )


@router.get("", response_model=ComplaintsPublic)
def list_complaints(
    service: ServiceDep,
    _: CallerDep,
    *,
    status: Literal["open", "rejected", "upheld"] | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> ComplaintsPublic:
    """Complaints in order of filing, in one status when given; ``status=open`` is the
    regulator's list of those awaiting it."""
    wanted = ComplaintStatus[status.upper()] if status else None
    with service.index.reading() as db:
        entries = complaints(db, status=wanted)
    page = entries[offset : offset + limit]
    return ComplaintsPublic(
        data=[_from_index(e) for e in page], count=len(entries), limit=limit, offset=offset
    )


@router.get("/{complaint_id}", response_model=ComplaintPublic, responses=error_responses(404))
def get_complaint(complaint_id: ComplaintId, service: ServiceDep, _: CallerDep) -> ComplaintPublic:
    """A complaint as the chain holds it, with who filed it and why from the index."""
    found = service.ledger.disputes.complaint(complaint_id)
    if found is None:
        raise NotFound(f"no complaint {complaint_id}", complaint_id=complaint_id)
    with service.index.reading() as db:
        entry = complaint(db, complaint_id)
    return ComplaintPublic(
        complaint_id=complaint_id,
        dispute_id=found.dispute_id,
        uid="0x" + entry.uid.hex() if entry else None,
        subject="0x" + entry.subject.hex() if entry else None,
        reason_hash="0x" + entry.reason_hash.hex() if entry else None,
        filed_by=entry.filed_by if entry else None,
        filed_at=found.filed_at,
        status=found.status.name.lower(),
        resolved_at=found.resolved_at,
        regulator=entry.regulator if entry else None,
        reply_hash="0x" + entry.reply_hash.hex() if entry and entry.reply_hash else None,
    )


@router.post("/{complaint_id}/resolve", **WRITE_ROUTE)
def resolve_complaint(
    complaint_id: ComplaintId,
    body: ComplaintResolution,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Resolve a complaint: ``resolveComplaint`` signed by a regulator (anyone else is
    refused by the chain, ``DisputesNotRegulator``)."""
    request = ResolveComplaint(complaint_id, body.upheld, bytes.fromhex(body.reply_hash[2:]))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="complaints.resolve",
        request=request,
    )


def _from_index(e: ComplaintEntry) -> ComplaintPublic:
    return ComplaintPublic(
        complaint_id=e.complaint_id,
        dispute_id=e.dispute_id,
        uid="0x" + e.uid.hex(),
        subject="0x" + e.subject.hex(),
        reason_hash="0x" + e.reason_hash.hex(),
        filed_by=e.filed_by,
        filed_at=e.filed_at,
        status=e.status.name.lower(),
        resolved_at=e.resolved_at,
        regulator=e.regulator,
        reply_hash="0x" + e.reply_hash.hex() if e.reply_hash else None,
    )
