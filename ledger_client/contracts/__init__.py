"""Typed facades, one per contract."""

from __future__ import annotations

from .base import ContractFacade, TxResult
from .consortium import ConsortiumContract
from .receivables import ReceivablesContract

__all__ = ["ConsortiumContract", "ContractFacade", "ReceivablesContract", "TxResult"]
