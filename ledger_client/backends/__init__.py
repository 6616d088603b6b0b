"""Backends: one implementation per kind of chain, behind :class:`Backend`.

``embedded`` is eth-tester with py-evm in this process (the default for tests,
demos and simulations); ``rpc`` is any Ethereum JSON-RPC node (anvil locally, a
consortium network of Besu or geth nodes). Each translates its own exceptions
into the client's at this boundary, so nothing above it knows which it has.
"""

from __future__ import annotations

from .base import Backend, BlockInfo, Receipt
from .embedded import EmbeddedBackend
from .rpc import RpcBackend

__all__ = ["Backend", "BlockInfo", "EmbeddedBackend", "Receipt", "RpcBackend", "open_backend"]


def open_backend(target: str = "embedded", **options: object) -> Backend:
    """A backend for ``target``: ``"embedded"`` or a node's ``http(s)://`` URL."""
    if target == "embedded":
        return EmbeddedBackend(**options)  # type: ignore[arg-type]
    if target.startswith(("http://", "https://")):
        return RpcBackend(target, **options)  # type: ignore[arg-type]
    from ..exceptions import LedgerConnectionError

    raise LedgerConnectionError(
        f"unknown chain {target!r}: use 'embedded' or a JSON-RPC URL such as http://127.0.0.1:8545"
    )
