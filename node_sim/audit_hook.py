"""The auditor's verdict at the end of a run.

The auditor (``ledger_client.audit.audit_ledger``, what ``credit-chain audit``
runs) replays every event of the run's ledger through its own model of the
rules and compares the result with the contracts' views; its verdict goes
into the run's summary and report.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from ledger_client import Ledger
from ledger_client.audit import audit_ledger


def audit_verdict(ledger: Ledger, out_dir: Path | None = None) -> dict[str, Any]:
    """Audit ``ledger``; with ``out_dir``, its report is kept there (``audit/``).

    Returns a JSON-ready verdict: whether the ledger holds every rule, how many
    breaches of each kind were found, and the first few with their transaction.
    """
    if out_dir is not None:
        result = audit_ledger(ledger, out_dir / "audit")
    else:
        with tempfile.TemporaryDirectory(prefix="credit-chain-sim-audit-") as tmp:
            result = audit_ledger(ledger, tmp, write=False)
    kinds = Counter(b.name for b in result.breaches)
    return {
        "ok": result.ok,
        "breaches": len(result.breaches),
        "by_kind": dict(sorted(kinds.items())),
        "first": [
            {"name": b.name, "detail": b.detail, "tx_hash": b.tx_hash, "block": b.block}
            for b in result.breaches[:10]
        ],
    }
