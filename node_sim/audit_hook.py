"""The auditor's verdict at the end of a run.

MERGE HOOK (issue 8 meets issue 7): the auditor is ``ledger_client.audit.audit_ledger``
on main (``audit_ledger(ledger, out_dir) -> AuditResult`` with ``.ok`` and ``.report``,
writing ``report.json`` and ``report.html`` to ``out_dir``). This branch was cut
before it landed, so the entry point is looked up by name: with it, a run's
verdict is the auditor's; without it, the run says the auditor is not available.
This is the only place a simulation calls the auditor.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from ledger_client import Ledger

#: The name of the audit entry point in ``ledger_client.audit``.
ENTRY_POINT = "audit_ledger"


def audit_available() -> bool:
    """True when this build has the auditor's entry point."""
    from ledger_client import audit

    return callable(getattr(audit, ENTRY_POINT, None))


def audit_verdict(ledger: Ledger, out_dir: Path | None = None) -> dict[str, Any] | None:
    """Run the auditor over ``ledger`` and return its verdict, or None without an auditor.

    The auditor's own report (``report.json``, ``report.html``, its event index)
    is written to ``out_dir``; without one, to a temporary directory removed after.
    The verdict keeps what a simulation report shows: clean or not, the breaches
    counted by name, and where the auditor's report is.
    """
    from ledger_client import audit

    entry = getattr(audit, ENTRY_POINT, None)
    if not callable(entry):
        return None
    if out_dir is None:
        with tempfile.TemporaryDirectory(prefix="credit-chain-sim-audit-") as tmp:
            return _verdict(entry(ledger, Path(tmp)), None)
    return _verdict(entry(ledger, out_dir), out_dir)


def _verdict(result: Any, out_dir: Path | None) -> dict[str, Any]:
    report: dict[str, Any] = dict(getattr(result, "report", {}) or {})
    return {
        "ok": bool(result.ok),
        "verdict": report.get("verdict", "clean" if result.ok else "breaches found"),
        "breach_counts": dict(report.get("breach_counts", {})),
        "events": (report.get("totals") or {}).get("events"),
        "report": str(out_dir / "report.html") if out_dir is not None else None,
    }
