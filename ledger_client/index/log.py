"""An event index holding only some projections: the base of the per-contract logs."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Concatenate, ParamSpec, TypeVar

from .base import Projection
from .event_index import EventIndex

if TYPE_CHECKING:
    from ..deployment import Ledger

P = ParamSpec("P")
R = TypeVar("R")


class ProjectionLog:
    """An :class:`EventIndex` of a few projections (in memory by default).

    :meth:`follow` indexes every block since the last call (from the deployment
    block on); the subclasses' lists then answer from SQLite, not from the chain.
    """

    def __init__(
        self, ledger: Ledger, projections: Sequence[Projection], path: str = ":memory:"
    ) -> None:
        self.ledger = ledger
        self.index = EventIndex(path, ledger, projections=list(projections))

    def follow(self) -> int:
        """Index every new block; return the last block read."""
        self.index.sync()
        return self.index.cursor

    def read(
        self,
        query: Callable[Concatenate[sqlite3.Connection, P], R],
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> R:
        """Run one of the projection's query functions on the index, locked."""
        with self.index.reading() as db:
            return query(db, *args, **kwargs)

    def close(self) -> None:
        """Close the index."""
        self.index.close()
