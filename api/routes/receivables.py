"""Supply-chain receivables (应收账款): every operation a relayed signed call, and reads.

The debtor (a core enterprise) issues and settles; the supplier accepts or
rejects; a holder splits, transfers and asks banks for financing; a bank
finances and releases; the payee marks a part overdue. Each is the acting
party's own signed call of ``Receivables.sol``, relayed through the
Forwarder. Enterprises hand theirs in with their own key, except a request
for financing, which the bank it names may hand in (``api/relay.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from eth_utils.address import to_checksum_address
from fastapi import APIRouter, Query, Response

from ledger_client.contracts.receivables import MAX_PARTS, receivable_label
from ledger_client.index_receivables import (
    FinancingEntry,
    PartEntry,
    financings_of_bank,
    financings_of_enterprise,
    history,
    holdings,
    payables,
)
from ledger_client.types import Receivable

from ..deps import Caller, CallerDep, ServiceDep, WriterDep
from ..errors import ApiError, NotFound, error_responses
from ..journal import Submission
from ..models import (
    Address,
    FinancingCreate,
    FinancingPublic,
    FinancingRequestCreate,
    FinancingsPublic,
    FinancingWithdrawal,
    Hex32,
    LineagePublic,
    PartsPublic,
    ReceivableCreate,
    ReceivableEventPublic,
    ReceivableHistoryPublic,
    ReceivablePublic,
    ReceivableRejection,
    ReceivableSplitCreate,
    ReceivablesPublic,
    ReceivableTransferCreate,
    SettlementCreate,
    SignedWrite,
    SubmissionPublic,
)
from ..relay import WRITE_ROUTE, IdempotencyHeader, answer, submit_forward
from ..service import Service

router = APIRouter(prefix="/v1/receivables", tags=["receivables"])
financings_router = APIRouter(prefix="/v1/financings", tags=["receivables"])
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


class FilterRequired(ApiError):
    """A listing needs exactly one of its filters."""

    status = 422


def _relay(
    service: Service,
    caller: Caller,
    key: str | None,
    body: SignedWrite,
    *,
    operation: str,
    fn: str,
    args: tuple[Any, ...],
    acts_on: str = "",
    counterparty: str | None = None,
) -> tuple[Submission, bool]:
    return submit_forward(
        service,
        caller,
        key,
        body,
        operation=f"receivables.{operation}",
        target=service.ledger.receivables,
        fn=fn,
        args=args,
        acts_on=acts_on,
        counterparty=counterparty,
    )


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


# -- writes ---------------------------------------------------------------------------------


@router.post("", **WRITE_ROUTE)
def issue_receivable(
    body: ReceivableCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Issue a receivable to a supplier: ``issue`` signed by the debtor's bound account.
    Anchored, the result names the new ``receivable_id``."""
    args = (
        to_checksum_address(body.supplier),
        body.amount_fen,
        body.due_date,
        _b(body.contract_hash),
        [_b(h) for h in body.invoice_commitments],
    )
    return answer(
        response,
        _relay(service, caller, idempotency_key, body, operation="issue", fn="issue", args=args),
    )


@router.post("/settlements", **WRITE_ROUTE)
def settle_receivables(
    body: SettlementCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Settle parts at or after maturity: ``settle(ids)`` signed by the debtor."""
    args = ([_b(i) for i in body.ids],)
    return answer(
        response,
        _relay(service, caller, idempotency_key, body, operation="settle", fn="settle", args=args),
    )


@router.post("/{receivable_id}/accept", **WRITE_ROUTE)
def accept_receivable(
    receivable_id: Hex32,
    body: SignedWrite,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Accept a pending receivable: ``accept`` signed by the supplier."""
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="accept",
        fn="accept",
        args=(_b(receivable_id),),
        acts_on=receivable_id,
    )
    return answer(response, submitted)


@router.post("/{receivable_id}/reject", **WRITE_ROUTE)
def reject_receivable(
    receivable_id: Hex32,
    body: ReceivableRejection,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Reject a pending receivable, releasing the invoices listed: ``reject`` signed by the
    supplier."""
    args = (_b(receivable_id), [_b(h) for h in body.released_invoices])
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="reject",
        fn="reject",
        args=args,
        acts_on=receivable_id,
    )
    return answer(response, submitted)


@router.post("/{receivable_id}/split", **WRITE_ROUTE)
def split_receivable(
    receivable_id: Hex32,
    body: ReceivableSplitCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Split an amount off a part into a new part held by ``to``: ``split`` signed by the
    holder. Anchored, the result names the new part's ``receivable_id``."""
    args = (_b(receivable_id), to_checksum_address(body.to), body.amount_fen)
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="split",
        fn="split",
        args=args,
        acts_on=receivable_id,
    )
    return answer(response, submitted)


@router.post("/{receivable_id}/transfer", **WRITE_ROUTE)
def transfer_receivable(
    receivable_id: Hex32,
    body: ReceivableTransferCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Transfer a whole part to ``to``: ``transfer`` signed by the holder."""
    args = (_b(receivable_id), to_checksum_address(body.to))
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="transfer",
        fn="transfer",
        args=args,
        acts_on=receivable_id,
    )
    return answer(response, submitted)


@router.post("/{receivable_id}/financing-requests", **WRITE_ROUTE)
def request_financing(
    receivable_id: Hex32,
    body: FinancingRequestCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Ask a bank to finance a part on the holder's terms (least advance, highest discount,
    expiry): ``requestFinancing`` signed by the holder, handed in with its own key or by the
    bank it asks, which cannot alter the terms it signed."""
    financier = to_checksum_address(body.financier)
    args = (
        _b(receivable_id),
        financier,
        body.min_advance_fen,
        body.max_discount_bps,
        body.expires_at,
    )
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="request_financing",
        fn="requestFinancing",
        args=args,
        acts_on=receivable_id,
        counterparty=financier,
    )
    return answer(response, submitted)


@router.post("/{receivable_id}/financing-requests/withdraw", **WRITE_ROUTE)
def withdraw_financing_request(
    receivable_id: Hex32,
    body: FinancingWithdrawal,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Withdraw a request to a bank: ``withdrawFinancingRequest`` signed by the holder."""
    financier = to_checksum_address(body.financier)
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="withdraw_financing_request",
        fn="withdrawFinancingRequest",
        args=(_b(receivable_id), financier),
        acts_on=receivable_id,
        counterparty=financier,
    )
    return answer(response, submitted)


@router.post("/{receivable_id}/finance", **WRITE_ROUTE)
def finance_receivable(
    receivable_id: Hex32,
    body: FinancingCreate,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Finance a part the holder asked this bank to finance: ``finance`` signed by the bank.
    Terms outside the holder's request are refused with 403 ``ReceivablesTermsNotAgreed``, an
    expired request with 409 ``ReceivablesFinancingRequestExpired``, a part financed already
    with 409 ``ReceivablesAlreadyFinanced``."""
    args = (_b(receivable_id), body.advance_fen, body.discount_bps)
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="finance",
        fn="finance",
        args=args,
        acts_on=receivable_id,
    )
    return answer(response, submitted)


@router.post("/{receivable_id}/release", **WRITE_ROUTE)
def release_financing(
    receivable_id: Hex32,
    body: SignedWrite,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Release a financing once repaid: ``releaseFinancing`` signed by the bank."""
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="release",
        fn="releaseFinancing",
        args=(_b(receivable_id),),
        acts_on=receivable_id,
    )
    return answer(response, submitted)


@router.post("/{receivable_id}/mark-overdue", **WRITE_ROUTE)
def mark_overdue(
    receivable_id: Hex32,
    body: SignedWrite,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Mark a part overdue past its due date and the grace period: ``markOverdue`` signed by
    its payee. Anchored, the result names the default ``attestation`` about the debtor."""
    submitted = _relay(
        service,
        caller,
        idempotency_key,
        body,
        operation="mark_overdue",
        fn="markOverdue",
        args=(_b(receivable_id),),
        acts_on=receivable_id,
    )
    return answer(response, submitted)


# -- reads ----------------------------------------------------------------------------------


@router.get("", response_model=ReceivablesPublic)
def list_receivables(
    service: ServiceDep,
    _: CallerDep,
    *,
    holder: Annotated[Hex32 | None, Query(description="subject id: what it holds")] = None,
    debtor: Annotated[Hex32 | None, Query(description="subject id: what it owes")] = None,
    outstanding: Annotated[bool, Query(description="only parts still owed")] = True,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ReceivablesPublic:
    """What an enterprise holds (``holder``) or owes (``debtor``), from the event index."""
    if (holder is None) == (debtor is None):
        raise FilterRequired("give exactly one of holder and debtor")
    with service.index.reading() as db:
        if holder is not None:
            parts = holdings(db, _b(holder), outstanding_only=outstanding)
        else:
            assert debtor is not None
            parts = payables(db, _b(debtor), outstanding_only=outstanding)
    page = parts[offset : offset + limit]
    return ReceivablesPublic(
        data=[_from_index(p) for p in page], count=len(parts), limit=limit, offset=offset
    )


@router.get("/{receivable_id}", response_model=ReceivablePublic, responses=error_responses(404))
def get_receivable(receivable_id: Hex32, service: ServiceDep, _: CallerDep) -> ReceivablePublic:
    """A receivable or part, as the chain holds it."""
    found = service.ledger.receivables.receivable(_b(receivable_id))
    if found is None:
        raise NotFound(f"no receivable {receivable_id}", receivable_id=receivable_id)
    return _from_chain(found)


@router.get("/{receivable_id}/parts", response_model=PartsPublic, responses=error_responses(404))
def get_parts(
    receivable_id: Hex32,
    service: ServiceDep,
    _: CallerDep,
    *,
    limit: Annotated[int, Query(ge=1, le=MAX_PARTS)] = 64,
    offset: Annotated[int, Query(ge=0, lt=MAX_PARTS)] = 0,
) -> PartsPublic:
    """One page of the parts of the receivable a part belongs to, in split order (the issue
    first), read from the chain; a receivable has at most ``max_parts`` parts."""
    rc = service.ledger.receivables
    terms = rc.terms(_b(receivable_id))
    if terms is None:
        raise NotFound(f"no receivable {receivable_id}", receivable_id=receivable_id)
    page = [r for r in (rc.receivable(i) for i in rc.parts(terms.id, offset, limit)) if r]
    return PartsPublic(
        root="0x" + bytes(terms.id).hex(),
        data=[_from_chain(r) for r in page],
        count=terms.part_count,
        limit=limit,
        offset=offset,
        max_parts=MAX_PARTS,
    )


@router.get(
    "/{receivable_id}/lineage", response_model=LineagePublic, responses=error_responses(404)
)
def get_lineage(receivable_id: Hex32, service: ServiceDep, _: CallerDep) -> LineagePublic:
    """The part, its parent, ... back to the issued receivable (read from the chain)."""
    if service.ledger.receivables.receivable(_b(receivable_id)) is None:
        raise NotFound(f"no receivable {receivable_id}", receivable_id=receivable_id)
    ids = service.ledger.receivables.lineage(_b(receivable_id))
    return LineagePublic(id=receivable_id, lineage=["0x" + bytes(i).hex() for i in ids])


@router.get(
    "/{receivable_id}/history",
    response_model=ReceivableHistoryPublic,
    responses=error_responses(404),
)
def get_history(receivable_id: Hex32, service: ServiceDep, _: CallerDep) -> ReceivableHistoryPublic:
    """Every event of one part, in chain order (a split appears under parent and child)."""
    with service.index.reading() as db:
        events = history(db, _b(receivable_id))
    if not events:
        raise NotFound(f"no receivable {receivable_id}", receivable_id=receivable_id)
    data = [
        ReceivableEventPublic(
            name=e.name, args=e.args, block=e.block_number, timestamp=e.timestamp, tx_hash=e.tx_hash
        )
        for e in events
    ]
    return ReceivableHistoryPublic(id=receivable_id, data=data, count=len(data))


@financings_router.get("", response_model=FinancingsPublic)
def list_financings(
    service: ServiceDep,
    _: CallerDep,
    *,
    holder: Annotated[Hex32 | None, Query(description="subject id of the financed")] = None,
    financier: Annotated[Address | None, Query(description="the bank")] = None,
    live: Annotated[bool, Query(description="only those still owed to the bank")] = False,
    limit: Limit = 100,
    offset: Offset = 0,
) -> FinancingsPublic:
    """The financings an enterprise obtained (``holder``) or a bank made (``financier``)."""
    if (holder is None) == (financier is None):
        raise FilterRequired("give exactly one of holder and financier")
    with service.index.reading() as db:
        if holder is not None:
            entries = financings_of_enterprise(db, _b(holder))
            if live:
                entries = [e for e in entries if e.live]
        else:
            assert financier is not None
            entries = financings_of_bank(db, to_checksum_address(financier), live_only=live)
    page = entries[offset : offset + limit]
    return FinancingsPublic(
        data=[_financing(e) for e in page], count=len(entries), limit=limit, offset=offset
    )


def _from_chain(r: Receivable) -> ReceivablePublic:
    return ReceivablePublic(
        id="0x" + bytes(r.id).hex(),
        label=receivable_label(r.id),
        root="0x" + bytes(r.root).hex(),
        parent="0x" + bytes(r.parent).hex() if r.parent is not None else None,
        debtor="0x" + bytes(r.debtor).hex(),
        holder="0x" + bytes(r.holder).hex(),
        amount_fen=r.amount_fen,
        due_date=r.due_date,
        status=r.status.name.lower(),
        financier=r.financier,
        advance_fen=r.advance_fen,
        discount_bps=r.discount_bps,
        default_attestation=(
            "0x" + bytes(r.default_attestation).hex() if r.default_attestation else None
        ),
    )


def _from_index(p: PartEntry) -> ReceivablePublic:
    return ReceivablePublic(
        id="0x" + bytes(p.id).hex(),
        label=receivable_label(p.id),
        root="0x" + bytes(p.root).hex(),
        parent="0x" + bytes(p.parent).hex() if p.parent is not None else None,
        debtor="0x" + bytes(p.debtor).hex(),
        holder="0x" + bytes(p.holder).hex(),
        amount_fen=p.amount_fen,
        due_date=p.due_date,
        status=p.status.name.lower(),
        financier=p.financier,
        advance_fen=None,
        discount_bps=None,
        default_attestation=(
            "0x" + bytes(p.default_attestation).hex() if p.default_attestation else None
        ),
    )


def _financing(e: FinancingEntry) -> FinancingPublic:
    return FinancingPublic(
        id="0x" + bytes(e.id).hex(),
        financier=e.financier,
        holder="0x" + bytes(e.holder).hex(),
        debtor="0x" + bytes(e.debtor).hex(),
        amount_fen=e.amount_fen,
        advance_fen=e.advance_fen,
        discount_bps=e.discount_bps,
        due_date=e.due_date,
        financed_at=e.financed_at,
        released_at=e.released_at,
        settled_at=e.settled_at,
        live=e.live,
        tx_hash=e.tx_hash,
    )
