"""What the event index and its projections share: events as stored, projections, errors."""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from ledger_client.chain.abi import EventABI, split_tuple_type
from ledger_client.errors import LedgerError

__all__ = [
    "BatchTreeMismatch",
    "BatchTreeNotStored",
    "EventIndexClosed",
    "EventIndexError",
    "IndexDeploymentMismatch",
    "IndexFormatError",
    "IndexedEvent",
    "Projection",
    "ProjectionError",
]


class EventIndexError(LedgerError):
    """Root of the event index's errors."""


class IndexDeploymentMismatch(EventIndexError, ValueError):
    """The index file was built for another deployment than the one it is opened with."""


class IndexFormatError(EventIndexError, ValueError):
    """The file is not an event index this version of the client can read."""


class EventIndexClosed(EventIndexError, RuntimeError):
    """The index was used after :meth:`~ledger_client.index.EventIndex.close`."""


class ProjectionError(EventIndexError, ValueError):
    """A projection is malformed, or registered twice under one name."""


class BatchTreeNotStored(EventIndexError, LookupError):
    """No Merkle tree is stored for this batch (``store_batch_tree`` was never called)."""

    def __init__(self, batch_id: bytes) -> None:
        self.batch_id = batch_id
        super().__init__(f"no Merkle tree is stored for batch 0x{batch_id.hex()}")


class BatchTreeMismatch(EventIndexError, ValueError):
    """A batch tree does not fit its records, its anchored batch, or a tree already stored."""

    def __init__(self, batch_id: bytes, reason: str) -> None:
        self.batch_id = batch_id
        self.reason = reason
        super().__init__(f"batch 0x{batch_id.hex()}: {reason}")


@dataclass(frozen=True, slots=True)
class IndexedEvent:
    """A decoded event of one of the deployment's contracts, as the index holds it."""

    seq: int  # position in the index; ascending seq is chain order
    contract: str  # the manifest's name of the emitting contract, e.g. "Attestations"
    name: str  # the Solidity event name, e.g. "Attested"
    args: dict[str, Any]  # decoded arguments by name, typed as abi.Event gives them
    address: str  # checksum address of the emitting contract
    block_number: int
    block_timestamp: int  # UNIX seconds
    tx_hash: str  # 0x-prefixed
    tx_index: int  # the transaction's position in its block
    log_index: int  # as the node reports it


class Projection(ABC):
    """Typed tables kept up to date from events, as they arrive or replayed from the index.

    A subclass names the contract and events it reads, the tables it owns and
    the SQL that creates them, and applies one event at a time. The index calls
    :meth:`apply` exactly once per event, in chain order, inside the write
    transaction that stores the event; a projection registered late (or whose
    :attr:`version` changed) is rebuilt by replaying the stored events, so
    ``apply`` must depend on nothing but the tables and the event.

    Register it with :meth:`EventIndex.register
    <ledger_client.index.EventIndex.register>` or the ``projections`` argument
    of :class:`~ledger_client.index.EventIndex`.
    """

    #: Unique name; the index records each projection's version and progress under it.
    name: ClassVar[str]
    #: Bump when the tables or :meth:`apply` change: the index then drops and rebuilds them.
    version: ClassVar[int] = 1
    #: The manifest's name of the contract whose events this reads, e.g. ``"Receivables"``.
    contract: ClassVar[str]
    #: The event names this reads.
    handles: ClassVar[frozenset[str]]
    #: The tables this owns: dropped on a rebuild, so nothing else may live in them.
    tables: ClassVar[tuple[str, ...]]
    #: One SQL statement each: create :attr:`tables` and their indexes.
    tables_sql: ClassVar[tuple[str, ...]]

    @abstractmethod
    def apply(self, db: sqlite3.Connection, event: IndexedEvent) -> None:
        """Fold ``event`` (one of :attr:`handles`) into the tables, through ``db``.

        Do not commit or roll back: the index owns the transaction.
        """


# -- event arguments as JSON -----------------------------------------------------------
#
# The events table keeps arguments as JSON so that it stays readable by any
# SQLite tool: bytes as 0x-hex, tuples as arrays. The ABI types turn them back
# into the values abi.Event gives, so a replay feeds projections what live
# ingestion did.


def args_to_json(value: Any) -> Any:
    """``value`` with bytes as 0x-hex and tuples as lists, ready for ``json.dumps``."""
    if isinstance(value, bytes | bytearray):
        return "0x" + bytes(value).hex()
    if isinstance(value, dict):
        return {k: args_to_json(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [args_to_json(v) for v in value]
    return value


def stored_types(event: EventABI) -> tuple[tuple[str, str], ...]:
    """(name, type) of each argument as it is stored: indexed dynamic values are hashes."""
    out = []
    for name, is_indexed, typ in zip(event.names, event.indexed, event.types, strict=True):
        hashed = is_indexed and (typ in ("string", "bytes") or typ.endswith("]") or typ[0] == "(")
        out.append((name, "bytes32" if hashed else typ))
    return tuple(out)


def args_from_json(types: Sequence[tuple[str, str]], doc: Mapping[str, Any]) -> dict[str, Any]:
    """The typed arguments of an event from their stored JSON object."""
    return {name: _from_json(typ, doc[name]) for name, typ in types}


def _from_json(typ: str, value: Any) -> Any:
    if typ.endswith("]"):
        inner = typ[: typ.rindex("[")]
        return tuple(_from_json(inner, v) for v in value)
    if typ.startswith("("):
        return tuple(_from_json(t, v) for t, v in zip(split_tuple_type(typ), value, strict=True))
    if typ.startswith("bytes"):
        return bytes.fromhex(str(value).removeprefix("0x"))
    return value
