"""Backends: one implementation per kind of chain, behind :class:`Backend`.

``embedded`` is a chain in this process, on one of two engines: eth-tester with
py-evm (:class:`EmbeddedBackend`, ``pyevm``) or revm (:class:`RevmBackend`,
``revm``), which mine the same blocks at the same gas; the environment variable
``CREDIT_CHAIN_ENGINE`` picks the engine ``embedded`` means (revm unless set: the
same blocks, receipts and gas as py-evm, many times faster; py-evm is the reference
the conformance classes compare it with),
except for a chain already kept in a data directory: its store names the engine
that wrote it, and only that engine can read it.
``rpc`` is any Ethereum JSON-RPC node (anvil locally, a consortium network of
Besu or geth nodes). Each translates its own exceptions into the client's at
this boundary, so nothing above it knows which it has.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from ledger_client.chain.backends.base import Backend, BlockInfo, KnownTransaction, Receipt
from ledger_client.chain.backends.embedded import EmbeddedBackend
from ledger_client.chain.backends.rpc import RpcBackend

__all__ = [
    "ENGINES",
    "Backend",
    "BlockInfo",
    "EmbeddedBackend",
    "KnownTransaction",
    "Receipt",
    "RpcBackend",
    "default_engine",
    "open_backend",
    "stored_engine",
]

#: The engines of the embedded chain, by the name a target or the setting gives.
ENGINES = ("pyevm", "revm")
#: The engine of a new embedded chain when the setting names none: revm mines the same
#: blocks at the same gas as py-evm (tests/ledger_client/test_engines.py) many times faster.
DEFAULT_ENGINE = "revm"
#: The environment variable naming the engine ``"embedded"`` runs on.
ENGINE_VARIABLE = "CREDIT_CHAIN_ENGINE"


def default_engine() -> str:
    """The engine ``"embedded"`` means here: ``$CREDIT_CHAIN_ENGINE``, else ``revm``."""
    from ledger_client.errors import LedgerConnectionError

    engine = os.environ.get(ENGINE_VARIABLE, "").strip().lower() or DEFAULT_ENGINE
    if engine not in ENGINES:
        raise LedgerConnectionError(
            f"{ENGINE_VARIABLE}={engine!r} names no embedded engine: "
            f"use one of {', '.join(ENGINES)}"
        )
    return engine


def stored_engine(data_dir: str | Path) -> str | None:
    """The engine whose chain store ``data_dir`` holds, or None when it holds none."""
    from ledger_client.chain.backends._revm_store import REVM_STORE_FORMAT
    from ledger_client.chain.backends._store import STORE_FORMAT

    path = Path(data_dir) / "chain.sqlite"
    if not path.is_file():
        return None
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT v FROM meta WHERE k = 'format'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None  # not a store (or not yet one): the engine's own open says what is wrong
    found = str(row[0]) if row else ""
    return {STORE_FORMAT: "pyevm", REVM_STORE_FORMAT: "revm"}.get(found)


def open_backend(target: str = "embedded", **options: object) -> Backend:
    """A backend for ``target``: ``"embedded"``, ``"pyevm"``, ``"revm"`` or a node's URL.

    ``"embedded"`` with a ``data_dir`` that already holds a chain opens it on the engine
    that wrote it (the setting chooses the engine of a new chain only); a named engine is
    held to its name, and refuses another engine's store.
    """
    if target == "embedded":
        data_dir = options.get("data_dir")
        kept = stored_engine(data_dir) if isinstance(data_dir, (str, Path)) else None
        target = kept or default_engine()
    if target == "pyevm":
        return EmbeddedBackend(**options)  # type: ignore[arg-type]
    if target == "revm":
        from ledger_client.chain.backends.revm import RevmBackend

        return RevmBackend(**options)  # type: ignore[arg-type]
    if target.startswith(("http://", "https://")):
        return RpcBackend(target, **options)  # type: ignore[arg-type]
    from ledger_client.errors import LedgerConnectionError

    raise LedgerConnectionError(
        f"unknown chain {target!r}: use 'embedded', 'pyevm', 'revm' or a JSON-RPC URL "
        "such as http://127.0.0.1:8545"
    )
