"""Where the console reads from: the API's running service, or a deployment attached by its
manifest for an auditor without an API (``credit-chain console --manifest``)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

from ledger_client.deployment import Ledger
from ledger_client.index import EventIndex
from pipeline.service import Service, index_projections

__all__ = ["ConsoleSource", "ManifestSource", "ServiceSource"]

#: How often the read-only console reads new blocks into its index, at most, seconds.
SYNC_EVERY_S = 1.0


class ConsoleSource(Protocol):
    """What the console's reads need: the event index, the ledger and the chain's clock."""

    @property
    def index(self) -> EventIndex: ...

    @property
    def ledger(self) -> Ledger: ...

    @property
    def finality(self) -> str: ...

    def chain_time(self) -> int: ...

    def head(self) -> int: ...

    def pending(self) -> int | None: ...


class ServiceSource:
    """The API's service: its index follows every block the service sees."""

    def __init__(self, service: Service) -> None:
        self.service = service

    @property
    def index(self) -> EventIndex:
        return self.service.index

    @property
    def ledger(self) -> Ledger:
        return self.service.ledger

    @property
    def finality(self) -> str:
        # The embedded chain and a single anvil seal each block final; the five-city Clique
        # network's blocks are final once a majority of sealers built on them.
        return "instant" if self.service.settings.rpc is None else "clique majority"

    def chain_time(self) -> int:
        return self.service.chain_time()

    def head(self) -> int:
        return self.service.chain.backend.block_number()

    def pending(self) -> int | None:
        return self.service.journal.counts().get("pending", 0)


class ManifestSource:
    """A deployment attached by its manifest, read into an index of its own; no journal."""

    def __init__(self, ledger: Ledger, index_path: Path) -> None:
        self._ledger = ledger
        self._index = EventIndex(
            index_path,
            ledger,
            projections=index_projections(),
        )
        self._index.sync()
        self._synced = time.monotonic()
        self._lock = threading.Lock()

    @property
    def index(self) -> EventIndex:
        return self._index

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    @property
    def finality(self) -> str:
        return "read-only view of " + self._ledger.manifest.network

    def _catch_up(self) -> None:
        # The pages poll; each poll reads the blocks mined since, at most once a second.
        with self._lock:
            if time.monotonic() - self._synced >= SYNC_EVERY_S:
                self._index.sync()
                self._synced = time.monotonic()

    def chain_time(self) -> int:
        self._catch_up()
        backend = self._ledger.chain.backend
        return backend.block(backend.block_number()).timestamp

    def head(self) -> int:
        return self._ledger.chain.backend.block_number()

    def pending(self) -> int | None:
        return None

    def close(self) -> None:
        self._index.close()
