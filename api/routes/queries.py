"""The query trail (查询留痕): logging a credit query, who queried whom, shared reports.

A member logs its query under an authorisation with its own signed call of
``logQuery``; a report sent in answer is recorded by its ciphertext hash
(``recordReportShare``, signed by the sending attester). Who queried an
enterprise is shown to that enterprise, to regulators and to auditors; what a
member queried, to that member, to regulators and to auditors.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from ledger_client.addresses import to_checksum_address
from ledger_client.index.consent import (
    QueryEntry,
    queries_by_member,
    queries_of_subject,
    report_shares,
)
from ledger_client.types import QueryPurpose
from pipeline.errors import NotPermitted, PipelineError
from pipeline.intake import oversees
from pipeline.operations import LogQuery, ShareReport

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
from ..models import (
    ZERO32,
    Address,
    Hex32,
    QueriesPublic,
    QueryCreate,
    QueryPublic,
    ReportShareCreate,
    ReportSharePublic,
    ReportSharesPublic,
    SubmissionPublic,
    purpose_name,
)
from ..writes import WRITE_ROUTE, IdempotencyHeader, relay
from .schemas import resolve_schema

router = APIRouter(prefix="/v1/queries", tags=["query trail"])


class QueryFilterRequired(PipelineError):
    """A listing of queries needs exactly one of subject and member."""

    kind = "invalid"


@router.post("", **WRITE_ROUTE)
def log_query(
    body: QueryCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Log a credit query under an authorisation: ``logQuery`` signed by the authorised
    member. Anchored, the result names its ``query_id``."""
    schema = (
        bytes(32)
        if body.schema_ref in ("", ZERO32)
        else resolve_schema(service, body.schema_ref).schema_id
    )
    request = LogQuery(
        bytes.fromhex(body.auth_id[2:]),
        QueryPurpose.parse(body.purpose),
        bytes.fromhex(body.query_hash[2:]),
        schema,
    )
    return relay(
        response, service, caller, idempotency_key, body, operation="queries.log", request=request
    )


@router.get("", response_model=QueriesPublic, responses=error_responses(403))
def list_queries(
    service: ServiceDep,
    caller: CallerDep,
    *,
    subject: Hex32 | None = None,
    member: Address | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> QueriesPublic:
    """Who queried an enterprise (``subject``), or what a member queried (``member``), in
    chain order."""
    if (subject is None) == (member is None):
        raise QueryFilterRequired("give exactly one of subject and member")
    if subject is not None:
        raw = bytes.fromhex(subject[2:])
        if service.ledger.consortium.account_of(raw) != caller.member and not oversees(
            service, caller
        ):
            raise NotPermitted(
                "who queried an enterprise is shown to it, to regulators and to auditors",
                subject=subject,
            )
        with service.index.reading() as db:
            entries = queries_of_subject(db, raw)
    else:
        assert member is not None
        who = to_checksum_address(member)
        if who != caller.member and not oversees(service, caller):
            raise NotPermitted(
                "a member's queries are shown to it, to regulators and to auditors",
                member=who,
            )
        with service.index.reading() as db:
            entries = queries_by_member(db, who)
    page = entries[offset : offset + limit]
    return QueriesPublic(
        data=[_public(e) for e in page], count=len(entries), limit=limit, offset=offset
    )


@router.post("/{query_id}/report-shares", **WRITE_ROUTE)
def record_report_share(
    query_id: Hex32,
    body: ReportShareCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Record that the signer sent the querying member a sealed report in answer to a query:
    ``recordReportShare`` signed by the sending attester."""
    request = ShareReport(
        bytes.fromhex(query_id[2:]),
        to_checksum_address(body.recipient),
        bytes.fromhex(body.ciphertext_hash[2:]),
    )
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="queries.share_report",
        request=request,
    )


@router.get("/{query_id}/report-shares", response_model=ReportSharesPublic)
def list_report_shares(query_id: Hex32, service: ServiceDep, _: CallerDep) -> ReportSharesPublic:
    """The reports recorded as shared in answer to a query."""
    with service.index.reading() as db:
        shares = report_shares(db, bytes.fromhex(query_id[2:]))
    data = [
        ReportSharePublic(
            query_id="0x" + s.query_id.hex(),
            ciphertext_hash="0x" + s.ciphertext_hash.hex(),
            sender=s.sender,
            recipient=s.recipient,
            subject="0x" + s.subject.hex(),
            recipient_key="0x" + s.recipient_key.hex(),
            shared_at=s.shared_at,
        )
        for s in shares
    ]
    return ReportSharesPublic(data=data, count=len(data))


def _public(e: QueryEntry) -> QueryPublic:
    return QueryPublic(
        query_id="0x" + e.query_id.hex(),
        auth_id="0x" + e.auth_id.hex(),
        subject="0x" + e.subject.hex(),
        member=e.member,
        purpose=purpose_name(e.purpose),
        schema="0x" + e.schema.hex(),
        query_hash="0x" + e.query_hash.hex(),
        queried_at=e.queried_at,
        block=e.block_number,
        tx_hash=e.tx_hash,
    )
