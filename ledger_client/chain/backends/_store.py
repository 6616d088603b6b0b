"""The embedded chain's database on disk, read on demand.

py-evm keeps the whole chain (headers, bodies, receipts, state tries) in one
key-value store. :class:`ChainStore` is that store in a SQLite file;
:class:`StoreDB` is what py-evm reads and writes: a key is looked up in SQLite
the first time it is needed and kept in a cache bounded in bytes, so memory
stays flat however long the chain grows, and reopening reads only the keys the
head needs, not the whole store. Writes wait in memory until the block that
made them is flushed, in one SQLite transaction. Block hashes, receipts and
state after a restart are the ones that were mined: nothing is executed again.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path
from typing import Final

from eth.db.backends.base import BaseDB

from ledger_client.errors import LedgerConnectionError, LedgerValueError
from ledger_client.sqlite_rows import delete_keys, insert_rows

STORE_FORMAT = "1"

#: The cache's default bound: far below a long chain's store, and large enough
#: that the hot path (the head's state, the contracts' trie nodes) stays in it.
DEFAULT_CACHE_BYTES: Final = 64 * 2**20
#: The environment variable that sets the bound, in MiB, when the code does not.
CACHE_VARIABLE: Final = "CREDIT_CHAIN_STATE_CACHE_MB"
#: What a cached entry costs beyond its key's and value's bytes: two bytes
#: objects' headers (33 bytes each) and the ordered dict's slot and link (~100).
ENTRY_OVERHEAD: Final = 166

_MISSING: Final = object()


def cache_bytes_from_env() -> int:
    """The cache bound ``$CREDIT_CHAIN_STATE_CACHE_MB`` asks for, else the default."""
    raw = os.environ.get(CACHE_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_CACHE_BYTES
    try:
        mib = float(raw)
    except ValueError:
        mib = -1.0
    if mib <= 0:
        raise LedgerConnectionError(f"{CACHE_VARIABLE}={raw!r} is not a positive number of MiB")
    return int(mib * 2**20)


def entry_size(key: bytes, value: bytes | None) -> int:
    """The bytes one cached entry is counted for (``None``: a key known to be absent)."""
    return len(key) + (len(value) if value is not None else 0) + ENTRY_OVERHEAD


class ChainStore:
    """A SQLite file holding the embedded chain's key-value store."""

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL survives a killed process (the WAL is in the OS cache); FULL also
        # survives a power cut, at an fsync per block.
        self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._conn.execute("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL)")
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        #: Keys looked up in the file since it was opened (the cache's misses).
        self.reads = 0

    def is_empty(self) -> bool:
        """True when no chain was ever written here."""
        row = self._conn.execute("SELECT v FROM meta WHERE k = 'format'").fetchone()
        return row is None

    def meta(self) -> dict[str, str]:
        """The store's metadata (format, chain id, genesis hash)."""
        return dict(self._conn.execute("SELECT k, v FROM meta").fetchall())

    def get(self, key: bytes) -> bytes | None:
        """The value stored under ``key``, or ``None``."""
        with self._lock:
            self.reads += 1
            row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def key_count(self) -> int:
        """How many keys the file holds."""
        with self._lock:
            return int(self._conn.execute("SELECT count(*) FROM kv").fetchone()[0])

    def write(self, changes: dict[bytes, bytes | None], meta: dict[str, str] | None = None) -> None:
        """Apply ``changes`` (``None``: delete the key) and ``meta`` in one transaction."""
        puts = [(k, v) for k, v in changes.items() if v is not None]
        deletes = [k for k, v in changes.items() if v is None]
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                # A statement a chunk, not a key: see ledger_client.sqlite_rows.
                insert_rows(self._conn, "INSERT OR REPLACE INTO kv (k, v)", puts)
                delete_keys(self._conn, "kv", "k", deletes)
                if meta:
                    insert_rows(
                        self._conn, "INSERT OR REPLACE INTO meta (k, v)", list(meta.items())
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()


class StoreDB(BaseDB):
    """py-evm's key-value store over a :class:`ChainStore`, with a bounded LRU cache.

    A read looks at the writes not yet flushed, then the cache, then the file
    (remembering absent keys too: py-evm asks often whether a key exists). A
    write waits in ``pending`` until :meth:`flush`; once in the file it moves
    into the cache, replacing any older value there, so the cache never holds
    a value the file no longer has. Nothing else writes to the file while the
    chain is open, and eth-tester's snapshot revert only writes new keys
    (it moves the canonical head), so the cache cannot go stale.
    """

    def __init__(self, store: ChainStore, cache_bytes: int = DEFAULT_CACHE_BYTES) -> None:
        if cache_bytes < 0:
            raise LedgerValueError(f"a state cache of {cache_bytes} bytes is not a size")
        self.store = store
        self.cache_limit = cache_bytes
        self.pending: dict[bytes, bytes | None] = {}
        self._cache: OrderedDict[bytes, bytes | None] = OrderedDict()
        self._cache_bytes = 0

    @property
    def cache_bytes(self) -> int:
        """The bytes the cache's entries are counted for (at most ``cache_limit``)."""
        return self._cache_bytes

    def cached(self) -> Iterable[tuple[bytes, bytes | None]]:
        """The cache's entries, least recently used first (for tests and measurements)."""
        return list(self._cache.items())

    def _lookup(self, key: bytes) -> bytes | None:
        value = self.pending.get(key, _MISSING)
        if value is not _MISSING:
            return value  # type: ignore[return-value]
        cache = self._cache
        value = cache.get(key, _MISSING)
        if value is not _MISSING:
            cache.move_to_end(key)
            return value  # type: ignore[return-value]
        found = self.store.get(key)
        self._remember(key, found)
        return found

    def _remember(self, key: bytes, value: bytes | None) -> None:
        cache = self._cache
        old = cache.pop(key, _MISSING)
        if old is not _MISSING:
            self._cache_bytes -= entry_size(key, old)  # type: ignore[arg-type]
        cache[key] = value
        self._cache_bytes += entry_size(key, value)
        while self._cache_bytes > self.cache_limit and cache:
            evicted, gone = cache.popitem(last=False)
            self._cache_bytes -= entry_size(evicted, gone)

    def __getitem__(self, key: bytes) -> bytes:
        value = self._lookup(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.pending[key] = value

    def __delitem__(self, key: bytes) -> None:
        if self._lookup(key) is None:
            raise KeyError(key)
        self.pending[key] = None

    def _exists(self, key: bytes) -> bool:
        return self._lookup(key) is not None

    def flush(self, meta: dict[str, str] | None = None) -> int:
        """Write the pending writes (and ``meta``) in one transaction; return how many.

        When the write fails nothing is lost: the writes stay pending, visible to
        reads, and go with the next flush.
        """
        if not self.pending and not meta:
            return 0
        changes = self.pending
        self.store.write(changes, meta)
        self.pending = {}
        for key, value in changes.items():
            self._remember(key, value)
        return len(changes)
