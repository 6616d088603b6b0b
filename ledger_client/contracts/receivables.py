"""The receivables contract: issue, accept, split, transfer, finance, settle, default.

Enterprises sign with their own bound accounts and are named by account here;
the chain records them by subject id. Banks sign with their member accounts.
Every refusal arrives as the contract's named error, e.g.
``ReceivablesAlreadyFinanced(id=0x…, financier=0x…)``.

The ``receivable-default`` attestation the contract writes when a part is
marked overdue commits to ``keccak256(abi.encode(bytes32 debtor, bytes32
receivableId, uint64 amountFen, uint40 dueDate, uint32 daysOverdue))``: the
schema's fields in layout order, the due date in UNIX seconds.
:func:`default_data_hash` recomputes it; :func:`default_record` gives the
off-chain record with the due date as a calendar date in China Standard Time.

Invoices go on chain as commitments: :func:`invoice_commitment` of the
invoice's hash and a 32-byte salt the debtor keeps (:func:`new_invoice_salt`).
The chain keys each by its debtor (:func:`invoice_key`), so no other
enterprise can squat on a debtor's invoice; the debtor hands the salt to a bank
or an auditor who wants to check an invoice behind a receivable.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.attestations import schema_id
from ledger_client.contracts.base import Call, ContractFacade, TxResult
from ledger_client.errors import LedgerValueError
from ledger_client.types import (
    FinancingTerms,
    Hash32,
    Receivable,
    ReceivableBalance,
    ReceivableId,
    ReceivableStatus,
    ReceivableTerms,
    SubjectId,
)

__all__ = [
    "CHINA_STANDARD_TIME",
    "DEFAULT_GRACE_PERIOD",
    "MAX_PARTS",
    "DefaultTx",
    "ReceivableTx",
    "ReceivablesContract",
    "default_data_hash",
    "default_record",
    "invoice_commitment",
    "invoice_key",
    "new_invoice_salt",
    "receivable_label",
    "root_of",
    "schema_id",
]

#: Seconds after the due date before an unpaid part can be marked overdue, as deployed.
DEFAULT_GRACE_PERIOD = 15 * 86_400
#: The time zone a due date is a calendar date in (UTC+8).
CHINA_STANDARD_TIME = datetime.timezone(datetime.timedelta(hours=8), "CST")

#: The most parts a receivable can have, the issue included (``Receivables._MAX_PARTS``).
MAX_PARTS = 256

_PART_BITS = 24
_UINT64_MAX = 2**64 - 1
_UINT40_MAX = 2**40 - 1
_ZERO32 = bytes(32)


@dataclass(frozen=True)
class ReceivableTx(TxResult):
    """A receivable transaction and the receivable it created or acted on."""

    receivable_id: ReceivableId  # the new receivable (issue), new part (split), or the one acted on


@dataclass(frozen=True)
class DefaultTx(ReceivableTx):
    """A part marked overdue, and the default attested about its debtor."""

    attestation: Hash32  # UID of the receivable-default attestation
    days_overdue: int  # whole days since the due date


def default_data_hash(
    debtor: SubjectId | bytes,
    receivable_id: ReceivableId | bytes,
    amount_fen: int,
    due_date: int,
    days_overdue: int,
) -> Hash32:
    """The dataHash of the receivable-default attestation ``markOverdue`` makes."""
    return keccak256(
        abi_encode(
            ["bytes32", "bytes32", "uint64", "uint40", "uint32"],
            [bytes(debtor), bytes(receivable_id), amount_fen, due_date, days_overdue],
        )
    )


def default_record(
    debtor: SubjectId | bytes,
    receivable_id: ReceivableId | bytes,
    amount_fen: int,
    due_date: int,
    days_overdue: int,
) -> dict[str, object]:
    """The off-chain ``receivable-default`` record (schema field names and types)."""
    day = datetime.datetime.fromtimestamp(due_date, CHINA_STANDARD_TIME).date()
    return {
        "subject": "0x" + bytes(debtor).hex(),
        "receivableId": "0x" + bytes(receivable_id).hex(),
        "amountFen": amount_fen,
        "dueDate": day.isoformat(),
        "daysOverdue": days_overdue,
    }


def new_invoice_salt() -> bytes:
    """A fresh 32-byte salt for an invoice commitment; the debtor keeps it with the invoice."""
    return secrets.token_bytes(32)


def invoice_commitment(invoice_hash: bytes, salt: bytes) -> Hash32:
    """What a debtor issues against: ``keccak256(abi.encode(invoiceHash, salt))``.

    Without the salt nobody can tell which invoice a commitment stands for, nor
    predict the commitment from the invoice."""
    return keccak256(
        abi_encode(
            ["bytes32", "bytes32"], [_hash32(invoice_hash, "invoice hash"), _hash32(salt, "salt")]
        )
    )


def invoice_key(debtor: SubjectId | bytes, commitment: bytes) -> Hash32:
    """Where the chain records a commitment: ``keccak256(abi.encode(debtor, commitment))``."""
    return keccak256(
        abi_encode(
            ["bytes32", "bytes32"],
            [_hash32(debtor, "debtor subject"), _hash32(commitment, "invoice commitment")],
        )
    )


def receivable_label(receivable_id: ReceivableId | bytes) -> str:
    """A short readable name: ``R7`` for the 7th issued receivable, ``R7.2`` for its 2nd part."""
    n = int.from_bytes(bytes(receivable_id), "big")
    seq, part = n >> _PART_BITS, n & ((1 << _PART_BITS) - 1)
    return f"R{seq}" if part == 0 else f"R{seq}.{part}"


def _fen(value: int, what: str) -> int:
    # The ABI type bounds the value; the contract's rules (e.g. not zero) stay on chain.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _UINT64_MAX:
        raise LedgerValueError(f"{what} must be an int of fen, 0 <= n < 2**64; got {value!r}")
    return value


def _bps(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**16:
        raise LedgerValueError(f"discount must be basis points < 65536; got {value!r}")
    return value


def _hash32(value: bytes, what: str) -> bytes:
    b = bytes(value)
    if len(b) != 32:
        raise LedgerValueError(f"{what} must be 32 bytes; got {len(b)}")
    return b


class ReceivablesContract(ContractFacade):
    """Typed calls to ``Receivables.sol``."""

    contract_name: ClassVar[str] = "Receivables"

    # -- calls, encoded and not sent (what a party signs as a ForwardRequest) --------------
    def issue_call(
        self,
        supplier: str,
        amount_fen: int,
        due_date: int,
        *,
        contract_hash: bytes,
        invoice_commitments: Sequence[bytes],
    ) -> Call:
        """``issue``: the debtor issues a receivable to ``supplier``."""
        if not 0 <= due_date <= _UINT40_MAX:
            raise LedgerValueError(f"due date must be UNIX seconds < 2**40; got {due_date!r}")
        return self._call(
            "issue",
            supplier,
            _fen(amount_fen, "amount"),
            due_date,
            _hash32(contract_hash, "contract hash"),
            [_hash32(h, "invoice commitment") for h in invoice_commitments],
        )

    def settle_call(self, ids: Sequence[ReceivableId | bytes]) -> Call:
        """``settle``: the debtor pays the listed parts at or after maturity."""
        return self._call("settle", [bytes(i) for i in ids])

    def accept_call(self, receivable_id: ReceivableId | bytes) -> Call:
        """``accept``: the supplier accepts a pending receivable."""
        return self._call("accept", bytes(receivable_id))

    def reject_call(
        self, receivable_id: ReceivableId | bytes, release_invoices: Sequence[bytes] = ()
    ) -> Call:
        """``reject``: the supplier rejects it, releasing the invoice commitments listed."""
        return self._call("reject", bytes(receivable_id), [bytes(h) for h in release_invoices])

    def split_call(self, receivable_id: ReceivableId | bytes, to: str, amount_fen: int) -> Call:
        """``split``: the holder passes ``amount_fen`` of a part to ``to`` as a new part."""
        return self._call("split", bytes(receivable_id), to, _fen(amount_fen, "amount"))

    def transfer_call(self, receivable_id: ReceivableId | bytes, to: str) -> Call:
        """``transfer``: the holder passes a whole part to ``to``."""
        return self._call("transfer", bytes(receivable_id), to)

    def request_financing_call(
        self,
        receivable_id: ReceivableId | bytes,
        financier: str,
        *,
        min_advance_fen: int,
        max_discount_bps: int,
        expires_at: int,
    ) -> Call:
        """``requestFinancing``: the holder asks a bank to finance a part on its terms."""
        if not 0 <= expires_at <= _UINT40_MAX:
            raise LedgerValueError(f"expiry must be UNIX seconds < 2**40; got {expires_at!r}")
        return self._call(
            "requestFinancing",
            bytes(receivable_id),
            financier,
            _fen(min_advance_fen, "minimum advance"),
            _bps(max_discount_bps),
            expires_at,
        )

    def withdraw_financing_request_call(
        self, receivable_id: ReceivableId | bytes, financier: str
    ) -> Call:
        """``withdrawFinancingRequest``: the holder withdraws a request to a bank."""
        return self._call("withdrawFinancingRequest", bytes(receivable_id), financier)

    def finance_call(
        self, receivable_id: ReceivableId | bytes, advance_fen: int, discount_bps: int
    ) -> Call:
        """``finance``: the bank finances a part it was asked to, within the terms."""
        return self._call(
            "finance", bytes(receivable_id), _fen(advance_fen, "advance"), _bps(discount_bps)
        )

    def release_financing_call(self, receivable_id: ReceivableId | bytes) -> Call:
        """``releaseFinancing``: the bank releases a repaid financing."""
        return self._call("releaseFinancing", bytes(receivable_id))

    def mark_overdue_call(self, receivable_id: ReceivableId | bytes) -> Call:
        """``markOverdue``: the payee marks an unpaid part overdue past the grace period."""
        return self._call("markOverdue", bytes(receivable_id))

    # -- the debtor -----------------------------------------------------------------
    def issue_receivable(
        self,
        debtor: LocalAccount,
        supplier: str,
        amount_fen: int,
        due_date: int,
        *,
        contract_hash: bytes,
        invoice_commitments: Sequence[bytes],
    ) -> ReceivableTx:
        """Issue a receivable of ``amount_fen`` due at ``due_date`` (UNIX s) to ``supplier``,
        backed by :func:`invoice_commitment` s of its invoices."""
        call = self.issue_call(
            supplier,
            amount_fen,
            due_date,
            contract_hash=contract_hash,
            invoice_commitments=invoice_commitments,
        )
        result = self.send_call(debtor, call)
        return self._with_id(result, result.event("ReceivableIssued").args["id"])

    def settle(self, debtor: LocalAccount, ids: Sequence[ReceivableId | bytes]) -> TxResult:
        """Settle the listed parts at or after maturity: each is paid to its payee."""
        return self.send_call(debtor, self.settle_call(ids))

    def settle_all(self, debtor: LocalAccount, receivable_id: ReceivableId | bytes) -> TxResult:
        """Settle every outstanding part of the receivable ``receivable_id`` belongs to."""
        due = [r.id for r in self.parts_of(receivable_id) if r.status.outstanding]
        return self.settle(debtor, due)

    # -- the supplier and every later holder --------------------------------------------
    def accept(self, supplier: LocalAccount, receivable_id: ReceivableId | bytes) -> TxResult:
        """Accept a pending receivable."""
        return self.send_call(supplier, self.accept_call(receivable_id))

    def reject(
        self,
        supplier: LocalAccount,
        receivable_id: ReceivableId | bytes,
        release_invoices: Sequence[bytes] = (),
    ) -> TxResult:
        """Reject a pending receivable, releasing the invoice commitments listed for a new issue."""
        return self.send_call(supplier, self.reject_call(receivable_id, release_invoices))

    def transfer(
        self, holder: LocalAccount, receivable_id: ReceivableId | bytes, to: str
    ) -> ReceivableTx:
        """Transfer a whole part to the enterprise with account ``to``."""
        result = self.send_call(holder, self.transfer_call(receivable_id, to))
        return self._with_id(result, bytes(receivable_id))

    def transfer_part(
        self, holder: LocalAccount, receivable_id: ReceivableId | bytes, to: str, amount_fen: int
    ) -> ReceivableTx:
        """Split ``amount_fen`` off a part into a new part held by ``to``; returns the new part."""
        result = self.send_call(holder, self.split_call(receivable_id, to, amount_fen))
        return self._with_id(result, result.event("ReceivableSplit").args["child"])

    split = transfer_part

    def request_financing(
        self,
        holder: LocalAccount,
        receivable_id: ReceivableId | bytes,
        financier: str,
        *,
        min_advance_fen: int,
        max_discount_bps: int,
        expires_at: int,
    ) -> TxResult:
        """Ask the bank ``financier`` to finance a part for at least ``min_advance_fen`` at a
        discount of at most ``max_discount_bps``, until ``expires_at`` (UNIX s)."""
        call = self.request_financing_call(
            receivable_id,
            financier,
            min_advance_fen=min_advance_fen,
            max_discount_bps=max_discount_bps,
            expires_at=expires_at,
        )
        return self.send_call(holder, call)

    def withdraw_financing_request(
        self, holder: LocalAccount, receivable_id: ReceivableId | bytes, financier: str
    ) -> TxResult:
        """Withdraw a request to a bank."""
        return self.send_call(
            holder, self.withdraw_financing_request_call(receivable_id, financier)
        )

    # -- banks ----------------------------------------------------------------------
    def finance(
        self,
        financier: LocalAccount,
        receivable_id: ReceivableId | bytes,
        advance_fen: int,
        discount_bps: int,
    ) -> ReceivableTx:
        """Finance a part the holder asked this bank to finance, within the request's terms;
        the bank becomes its payee."""
        result = self.send_call(
            financier, self.finance_call(receivable_id, advance_fen, discount_bps)
        )
        return self._with_id(result, bytes(receivable_id))

    def release_financing(
        self, financier: LocalAccount, receivable_id: ReceivableId | bytes
    ) -> TxResult:
        """Release a financing once repaid: the holder is the payee again."""
        return self.send_call(financier, self.release_financing_call(receivable_id))

    # -- payees ---------------------------------------------------------------------
    def mark_overdue(self, payee: LocalAccount, receivable_id: ReceivableId | bytes) -> DefaultTx:
        """Mark a part overdue after due date plus grace; attests a default about the debtor."""
        result = self.send_call(payee, self.mark_overdue_call(receivable_id))
        args = result.event("ReceivableMarkedOverdue").args
        return DefaultTx(
            receipt=result.receipt,
            events=result.events,
            receivable_id=ReceivableId(bytes(receivable_id)),
            attestation=Hash32(args["attestation"]),
            days_overdue=int(args["daysOverdue"]),
        )

    # -- reads ----------------------------------------------------------------------
    def receivable(
        self, receivable_id: ReceivableId | bytes, block: int | str = "latest"
    ) -> Receivable | None:
        """A receivable or part, or None when there is none."""
        (v,) = self._read("receivable", bytes(receivable_id), block=block)
        return _receivable(bytes(receivable_id), v)

    def terms(self, receivable_id: ReceivableId | bytes) -> ReceivableTerms | None:
        """The terms of the receivable a part belongs to, or None."""
        (v,) = self._read("terms", bytes(receivable_id))
        debtor, face, due, issued, part_count, invoice_count, contract_hash = v
        if debtor == _ZERO32:
            return None
        return ReceivableTerms(
            id=root_of(receivable_id),
            debtor=SubjectId(debtor),
            face_value_fen=face,
            due_date=due,
            issued_at=issued,
            part_count=part_count,
            invoice_count=invoice_count,
            contract_hash=Hash32(contract_hash),
        )

    def parts(
        self, receivable_id: ReceivableId | bytes, offset: int = 0, limit: int = MAX_PARTS
    ) -> list[ReceivableId]:
        """Ids of up to ``limit`` parts of the receivable from the ``offset``-th, in split
        order (the issue is the 0th); the defaults give them all."""
        if offset < 0 or limit < 0:
            raise LedgerValueError(f"offset and limit must be >= 0; got {offset}, {limit}")
        (ids,) = self._read("parts", bytes(receivable_id), offset, limit)
        return [ReceivableId(i) for i in ids]

    def iter_parts(
        self, receivable_id: ReceivableId | bytes, page: int = 64
    ) -> Iterator[Receivable]:
        """Every part of the receivable, read from the chain a page of ids at a time."""
        for offset in range(0, MAX_PARTS, page):  # a receivable has at most MAX_PARTS parts
            ids = self.parts(receivable_id, offset, page)
            for i in ids:
                r = self.receivable(i)
                if r is not None:
                    yield r
            if len(ids) < page:
                return

    def parts_of(self, receivable_id: ReceivableId | bytes) -> list[Receivable]:
        """Every part of the receivable (at most :data:`MAX_PARTS`), read from the chain."""
        return list(self.iter_parts(receivable_id))

    def lineage(self, receivable_id: ReceivableId | bytes) -> list[ReceivableId]:
        """The part, its parent, ... back to the issued receivable."""
        (ids,) = self._read("lineage", bytes(receivable_id))
        return [ReceivableId(i) for i in ids]

    def balance(self, receivable_id: ReceivableId | bytes) -> ReceivableBalance:
        """How the parts of the receivable add up."""
        ((face, total, outstanding, paid),) = self._read("balanceOf", bytes(receivable_id))
        return ReceivableBalance(face, total, outstanding, paid)

    def receivable_of_invoice(
        self, debtor: SubjectId | bytes, commitment: bytes
    ) -> ReceivableId | None:
        """The receivable of ``debtor`` (a subject id) an invoice commitment backs, or None."""
        (rid,) = self._read(
            "receivableOfInvoice",
            _hash32(debtor, "debtor subject"),
            _hash32(commitment, "invoice commitment"),
        )
        return None if rid == _ZERO32 else ReceivableId(rid)

    def financing_requested(self, receivable_id: ReceivableId | bytes, financier: str) -> bool:
        """True when the current holder has asked ``financier`` to finance the part and the
        request has not expired."""
        (ok,) = self._read("financingRequested", bytes(receivable_id), financier)
        return bool(ok)

    def financing_request(
        self, receivable_id: ReceivableId | bytes, financier: str
    ) -> FinancingTerms | None:
        """The terms the current holder asked ``financier`` for (expired ones included), or None."""
        ((advance, bps, expires),) = self._read("financingRequest", bytes(receivable_id), financier)
        if expires == 0:
            return None
        return FinancingTerms(advance, bps, expires)

    def max_parts(self) -> int:
        """The most parts a receivable can have, the issue included."""
        (n,) = self._read("maxParts")
        return int(n)

    def receivable_count(self) -> int:
        """How many receivables were issued."""
        (n,) = self._read("receivableCount")
        return int(n)

    def grace_period(self) -> int:
        """Seconds after the due date before an unpaid part can be marked overdue."""
        (s,) = self._read("gracePeriod")
        return int(s)

    def default_schema(self) -> Hash32:
        """The schema id of the defaults this contract attests."""
        (s,) = self._read("defaultSchema")
        return Hash32(s)

    def attestations_address(self) -> str:
        """The attestation contract defaults go to."""
        (a,) = self._read("attestations")
        return str(a)

    def _with_id(self, result: TxResult, receivable_id: bytes) -> ReceivableTx:
        return ReceivableTx(result.receipt, result.events, ReceivableId(bytes(receivable_id)))


def root_of(receivable_id: ReceivableId | bytes) -> ReceivableId:
    """The issued receivable a part belongs to."""
    n = int.from_bytes(bytes(receivable_id), "big")
    return ReceivableId(((n >> _PART_BITS) << _PART_BITS).to_bytes(32, "big"))


def _receivable(rid: bytes, v: tuple[Any, ...]) -> Receivable | None:
    (
        root,
        parent,
        debtor,
        holder,
        amount,
        due,
        status,
        financier,
        advance,
        discount,
        default_uid,
    ) = v
    if status == ReceivableStatus.NONE:
        return None
    return Receivable(
        id=ReceivableId(rid),
        root=ReceivableId(root),
        parent=None if root == rid else ReceivableId(parent),
        debtor=SubjectId(debtor),
        holder=SubjectId(holder),
        amount_fen=amount,
        due_date=due,
        status=ReceivableStatus(status),
        financier=None if int(financier, 16) == 0 else to_checksum_address(financier),
        advance_fen=advance,
        discount_bps=discount,
        default_attestation=None if default_uid == _ZERO32 else Hash32(default_uid),
    )
