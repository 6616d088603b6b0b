"""What the demo did: a module of its own, so the demo's parts can fill it in without
importing the demo (no import cycle)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DemoReport"]


@dataclass
class DemoReport:
    """What the demo did, for tests and ``--json``."""

    manifest: dict[str, Any]
    members: list[dict[str, Any]] = field(default_factory=list)
    enterprises: list[dict[str, Any]] = field(default_factory=list)
    refusals: list[dict[str, str]] = field(default_factory=list)  # the error each refusal raised
    attestations: dict[str, Any] = field(default_factory=dict)
    consent: dict[str, Any] = field(default_factory=dict)  # the cross-region query flow
    transactions: int = 0
    gas_used: int = 0
    receivables: dict[str, Any] = field(default_factory=dict)  # the supply-chain part
