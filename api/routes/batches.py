"""Records of the signed batches the API anchored, from the event index."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from ledger_client.index import BatchRecord

from ..deps import CallerDep, ServiceDep
from ..models import BatchRecordPublic, BatchRecordsPublic, Hex32

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


def _public(r: BatchRecord) -> BatchRecordPublic:
    return BatchRecordPublic(
        batch_id="0x" + r.batch_id.hex(),
        index=r.index,
        subject="0x" + r.subject.hex(),
        data_hash="0x" + r.data_hash.hex(),
        leaf="0x" + r.leaf.hex(),
        revoked_at=r.revoked_at,
    )
