"""The off-chain half of "one invoice, one financing": invoices behind their commitments.

The chain sees only a debtor's salted invoice commitments, keyed by the debtor
(``IReceivables.issue``), so it refuses the same commitment twice but cannot
link one invoice re-issued under a fresh salt. An auditor (or a bank before
financing) collects the openings, ``(debtor, commitment, invoice hash, salt)``,
that debtors hand over, and :func:`check_invoice_openings` checks them against
the replayed ledger: each opening must open its commitment and name a
commitment the debtor issued against, and no invoice may stand behind two
receivables while both back it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eth_abi.abi import encode as abi_encode

from ledger_client.attestations.merkle import keccak256
from ledger_client.audit.replay import invoice_key
from ledger_client.audit.state import LedgerState
from ledger_client.contracts.receivables import receivable_label

__all__ = ["InvoiceFinding", "InvoiceOpening", "check_invoice_openings"]


@dataclass(frozen=True, slots=True)
class InvoiceOpening:
    """What a debtor hands an auditor for one commitment it issued against."""

    debtor: bytes  # subject id of the debtor
    commitment: bytes  # keccak256(abi.encode(invoiceHash, salt)), as issued
    invoice_hash: bytes  # keccak256 of the invoice document
    salt: bytes  # the 32 bytes the debtor kept


@dataclass(frozen=True, slots=True)
class InvoiceFinding:
    """One thing the openings show wrong."""

    name: str  # "InvoiceReused", "OpeningMismatch" or "NotIssued"
    detail: str  # a sentence saying what was found
    receivables: tuple[bytes, ...]  # the receivables concerned (issued ids)


def check_invoice_openings(
    state: LedgerState, openings: Iterable[InvoiceOpening]
) -> list[InvoiceFinding]:
    """Check ``openings`` against the replayed ``state``; an empty list when all hold.

    ``InvoiceReused``: one invoice hash opens commitments of two receivables that
    both still hold it (a rejection's release ends a hold, as on chain).
    ``OpeningMismatch``: the invoice hash and salt do not open the commitment.
    ``NotIssued``: the debtor never issued against the commitment.
    """
    findings: list[InvoiceFinding] = []
    backed_by: dict[bytes, bytes] = {}  # invoice hash -> the live receivable it backs
    for o in openings:
        key = invoice_key(o.debtor, o.commitment)
        ever = state.invoices_seen.get(key)
        if ever is None:
            findings.append(
                InvoiceFinding(
                    "NotIssued",
                    f"debtor 0x{o.debtor.hex()} never issued against commitment "
                    f"0x{o.commitment.hex()}",
                    (),
                )
            )
            continue
        opened = keccak256(abi_encode(["bytes32", "bytes32"], [o.invoice_hash, o.salt]))
        if opened != o.commitment:
            findings.append(
                InvoiceFinding(
                    "OpeningMismatch",
                    f"invoice 0x{o.invoice_hash.hex()} and its salt do not open the commitment "
                    f"behind {receivable_label(ever)}",
                    (ever,),
                )
            )
            continue
        live = state.invoices.get(key)
        if live is None:
            continue  # released by a rejection: it backs nothing now
        first = backed_by.setdefault(o.invoice_hash, live)
        if first != live:
            findings.append(
                InvoiceFinding(
                    "InvoiceReused",
                    f"invoice 0x{o.invoice_hash.hex()} backs {receivable_label(first)} and, "
                    f"under another salt, {receivable_label(live)}",
                    (first, live),
                )
            )
    return findings
