"""The auditor's toolkit: verify a record against the chain, audit the whole ledger.

Nothing here trusts whoever runs the API: every check reads the chain itself.

* :func:`verify_record` checks one record against its attestation (or its batch
  and Merkle proof).
* :func:`audit_ledger` replays every event of a deployment through an
  independent model of the rules (:class:`Replay`), reports each breach with
  the transaction that caused it, compares the rebuilt state with the
  contracts' views, and writes ``report.json`` and ``report.html``.
* :func:`audit_scores` recomputes attested credit scores from the bundles their
  scorers hand over (:func:`load_score_bundles`); :func:`audit_ledger` runs it.
* :func:`check_invoice_openings` checks the invoices debtors disclose behind
  their salted commitments: no invoice behind two receivables.
"""

from __future__ import annotations

from ledger_client.attestations.batches import BatchProof
from ledger_client.audit.compare import Comparison, compare_with_chain
from ledger_client.audit.engine import AuditResult, audit_events, audit_ledger
from ledger_client.audit.invoices import InvoiceFinding, InvoiceOpening, check_invoice_openings
from ledger_client.audit.replay import Replay
from ledger_client.audit.scores import ScoreEvidence, audit_scores, load_score_bundles
from ledger_client.audit.state import BREACHES, Breach, EventRef, LedgerState
from ledger_client.audit.verify import Check, Verification, verify_record

__all__ = [
    "BREACHES",
    "AuditResult",
    "BatchProof",
    "Breach",
    "Check",
    "Comparison",
    "EventRef",
    "InvoiceFinding",
    "InvoiceOpening",
    "LedgerState",
    "Replay",
    "ScoreEvidence",
    "Verification",
    "audit_events",
    "audit_ledger",
    "audit_scores",
    "check_invoice_openings",
    "compare_with_chain",
    "load_score_bundles",
    "verify_record",
]
