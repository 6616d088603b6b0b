"""Supply-chain receivables (应收账款): every operation a relayed signed call, and reads.

The debtor (a core enterprise) issues and settles; the supplier accepts or
rejects; a holder splits, transfers and asks banks for financing; a bank
finances and releases; the payee marks a part overdue. Each is the acting
party's own signed call of ``Receivables.sol``, relayed through the
Forwarder. Enterprises hand theirs in with their own key, except a request
for financing, which the bank it names may hand in (the ``Submitters`` of
:mod:`pipeline.operations`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from ledger_client.addresses import to_checksum_address
from ledger_client.contracts.receivables import MAX_PARTS, receivable_label
from ledger_client.index.receivables import (
    FinancingEntry,
    PartEntry,
    financings_of_bank,
    financings_of_enterprise,
    history,
    holdings,
    payables,
)
from ledger_client.types import Receivable
from pipeline.errors import NotFound, PipelineError
from pipeline.operations import (
    FinanceReceivable,
    IssueReceivable,
    OnReceivable,
    RejectReceivable,
    RequestFinancing,
    SettleReceivables,
    SplitReceivable,
    TransferReceivable,
    WithdrawFinancingRequest,
)

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
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
from ..writes import WRITE_ROUTE, IdempotencyHeader, relay

router = APIRouter(prefix="/v1/receivables", tags=["receivables"])
financings_router = APIRouter(prefix="/v1/financings", tags=["receivables"])
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


class FilterRequired(PipelineError):
    """A listing needs exactly one of its filters."""

    kind = "invalid"


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


# -- writes ---------------------------------------------------------------------------------
# Every write is one shape: a signed body, mapped to the table's domain request, handed to the
# intake. A row below is its path, its body model, its operation, and the mapping.

#: (path, function name, body model, operation, body -> domain request, docstring) of the
#: writes on a receivable named in the path.
_ON_PART: tuple[
    tuple[str, str, type[SignedWrite], str, Callable[[bytes, Any], object], str], ...
] = (
    (
        "/{receivable_id}/accept",
        "accept_receivable",
        SignedWrite,
        "receivables.accept",
        lambda rid, _: OnReceivable(rid),
        "Accept a pending receivable: ``accept`` signed by the supplier.",
    ),
    (
        "/{receivable_id}/reject",
        "reject_receivable",
        ReceivableRejection,
        "receivables.reject",
        lambda rid, b: RejectReceivable(rid, [_b(h) for h in b.released_invoices]),
        "Reject a pending receivable, releasing the invoices listed: ``reject`` signed by the "
        "supplier.",
    ),
    (
        "/{receivable_id}/split",
        "split_receivable",
        ReceivableSplitCreate,
        "receivables.split",
        lambda rid, b: SplitReceivable(rid, to_checksum_address(b.to), b.amount_fen),
        "Split an amount off a part into a new part held by ``to``: ``split`` signed by the "
        "holder. Anchored, the result names the new part's ``receivable_id``.",
    ),
    (
        "/{receivable_id}/transfer",
        "transfer_receivable",
        ReceivableTransferCreate,
        "receivables.transfer",
        lambda rid, b: TransferReceivable(rid, to_checksum_address(b.to)),
        "Transfer a whole part to ``to``: ``transfer`` signed by the holder.",
    ),
    (
        "/{receivable_id}/financing-requests",
        "request_financing",
        FinancingRequestCreate,
        "receivables.request_financing",
        lambda rid, b: RequestFinancing(
            rid,
            to_checksum_address(b.financier),
            b.min_advance_fen,
            b.max_discount_bps,
            b.expires_at,
        ),
        "Ask a bank to finance a part on the holder's terms (least advance, highest discount, "
        "expiry): ``requestFinancing`` signed by the holder, handed in with its own key or by "
        "the bank it asks, which cannot alter the terms it signed.",
    ),
    (
        "/{receivable_id}/financing-requests/withdraw",
        "withdraw_financing_request",
        FinancingWithdrawal,
        "receivables.withdraw_financing_request",
        lambda rid, b: WithdrawFinancingRequest(rid, to_checksum_address(b.financier)),
        "Withdraw a request to a bank: ``withdrawFinancingRequest`` signed by the holder.",
    ),
    (
        "/{receivable_id}/finance",
        "finance_receivable",
        FinancingCreate,
        "receivables.finance",
        lambda rid, b: FinanceReceivable(rid, b.advance_fen, b.discount_bps),
        "Finance a part the holder asked this bank to finance: ``finance`` signed by the bank. "
        "Terms outside the holder's request are refused with 403 ``ReceivablesTermsNotAgreed``, "
        "an expired request with 409 ``ReceivablesFinancingRequestExpired``, a part financed "
        "already with 409 ``ReceivablesAlreadyFinanced``.",
    ),
    (
        "/{receivable_id}/release",
        "release_financing",
        SignedWrite,
        "receivables.release",
        lambda rid, _: OnReceivable(rid),
        "Release a financing once repaid: ``releaseFinancing`` signed by the bank.",
    ),
    (
        "/{receivable_id}/mark-overdue",
        "mark_overdue",
        SignedWrite,
        "receivables.mark_overdue",
        lambda rid, _: OnReceivable(rid),
        "Mark a part overdue past its due date and the grace period: ``markOverdue`` signed by "
        "its payee. Anchored, the result names the default ``attestation`` about the debtor.",
    ),
)


def _on_part_route(
    name: str,
    body_model: type[SignedWrite],
    operation: str,
    to_request: Callable[[bytes, Any], object],
    doc: str,
) -> Callable[..., SubmissionPublic]:
    def route(
        receivable_id: Hex32,
        body: SignedWrite,
        *,
        service: ServiceDep,
        caller: WriterDep,
        response: Response,
        idempotency_key: IdempotencyHeader = None,
    ) -> SubmissionPublic:
        request = to_request(_b(receivable_id), body)
        return relay(
            response, service, caller, idempotency_key, body, operation=operation, request=request
        )

    # The body's model is the row's: FastAPI reads it from the annotation.
    route.__annotations__["body"] = body_model
    route.__name__ = route.__qualname__ = name
    route.__doc__ = doc
    return route


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
    request = IssueReceivable(
        to_checksum_address(body.supplier),
        body.amount_fen,
        body.due_date,
        _b(body.contract_hash),
        [_b(h) for h in body.invoice_commitments],
    )
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="receivables.issue",
        request=request,
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
    request = SettleReceivables([_b(i) for i in body.ids])
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="receivables.settle",
        request=request,
    )


for _path, _name, _model, _operation, _to_request, _doc in _ON_PART:
    router.post(_path, **WRITE_ROUTE)(_on_part_route(_name, _model, _operation, _to_request, _doc))


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
