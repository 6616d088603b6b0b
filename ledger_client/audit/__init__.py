"""The auditor's toolkit: verify a record against the chain, audit the whole ledger.

Nothing here trusts whoever runs the API: every check reads the chain itself.
"""

from __future__ import annotations

from ..batches import BatchProof
from .verify import Check, Verification, verify_record

__all__ = ["BatchProof", "Check", "Verification", "verify_record"]
