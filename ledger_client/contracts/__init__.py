"""Typed facades, one per contract."""

from __future__ import annotations

from .attestations import AttestationsContract
from .base import ContractFacade, TxResult
from .consortium import ConsortiumContract

__all__ = ["AttestationsContract", "ConsortiumContract", "ContractFacade", "TxResult"]
