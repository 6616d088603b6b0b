"""Typed facades, one per contract."""

from __future__ import annotations

from .attestations import AttestationsContract
from .authorisations import AuthorisationsContract
from .base import Call, ContractFacade, TxResult
from .consortium import ConsortiumContract
from .disputes import DisputesContract
from .forwarder import ForwarderContract
from .receivables import ReceivablesContract

__all__ = [
    "AttestationsContract",
    "AuthorisationsContract",
    "Call",
    "ConsortiumContract",
    "ContractFacade",
    "DisputesContract",
    "ForwarderContract",
    "ReceivablesContract",
    "TxResult",
]
