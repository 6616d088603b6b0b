"""The auditor's verdict at the end of a run.

MERGE HOOK (issue 8 / the audit branch): the auditor (``credit-chain audit``,
``ledger_client.audit``) is built on another branch. This is the one place a
simulation calls it. When ``ledger_client.audit`` offers an entry point named
in :data:`ENTRY_POINTS`, it is called with the run's :class:`Ledger` and its
answer becomes the report's "auditor's verdict"; until then the run says the
auditor is not available. Wire the real name here when the branches merge.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ledger_client import Ledger

#: Names the audit entry point may have in ``ledger_client.audit``, tried in order.
ENTRY_POINTS = ("audit_ledger", "run_audit", "audit")


def audit_verdict(ledger: Ledger) -> dict[str, Any] | None:
    """The auditor's verdict on ``ledger`` as a JSON-ready dict, or None without an auditor.

    A verdict object is turned into a dict by its ``to_dict()``, or as a dataclass.
    """
    from ledger_client import audit

    for name in ENTRY_POINTS:
        entry = getattr(audit, name, None)
        if callable(entry):
            verdict = entry(ledger)
            return _as_dict(verdict)
    return None


def _as_dict(verdict: Any) -> dict[str, Any]:
    if isinstance(verdict, dict):
        return verdict
    to_dict = getattr(verdict, "to_dict", None)
    if callable(to_dict):
        out = to_dict()
        if isinstance(out, dict):
            return out
    if dataclasses.is_dataclass(verdict) and not isinstance(verdict, type):
        return dataclasses.asdict(verdict)
    return {"verdict": str(verdict)}
