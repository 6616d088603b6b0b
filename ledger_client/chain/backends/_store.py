"""The embedded chain's database on disk.

py-evm keeps the whole chain (headers, bodies, receipts, state tries) in one
key-value store. :class:`TrackingMemoryDB` is that store in memory, noting
which keys each block changed; :class:`ChainStore` writes exactly those keys
to SQLite after every block, in one transaction. Reopening loads the store
and rebuilds the chain on it: block hashes, receipts and state are the ones
that were mined, because nothing is executed again.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from eth.db.backends.memory import MemoryDB

STORE_FORMAT = "1"


class TrackingMemoryDB(MemoryDB):
    """py-evm's in-memory key-value store, remembering what changed since the last flush."""

    def __init__(self, kv_store: dict[bytes, bytes] | None = None) -> None:
        super().__init__(kv_store if kv_store is not None else {})
        self.changed: set[bytes] = set()
        self.deleted: set[bytes] = set()

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.kv_store[key] = value
        self.changed.add(key)
        self.deleted.discard(key)

    def __delitem__(self, key: bytes) -> None:
        del self.kv_store[key]
        self.deleted.add(key)
        self.changed.discard(key)


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

    def is_empty(self) -> bool:
        """True when no chain was ever written here."""
        row = self._conn.execute("SELECT v FROM meta WHERE k = 'format'").fetchone()
        return row is None

    def meta(self) -> dict[str, str]:
        """The store's metadata (format, chain id, genesis hash)."""
        return dict(self._conn.execute("SELECT k, v FROM meta").fetchall())

    def load(self) -> dict[bytes, bytes]:
        """Every key and value of the stored chain."""
        return dict(self._conn.execute("SELECT k, v FROM kv").fetchall())

    def flush(self, db: TrackingMemoryDB, meta: dict[str, str] | None = None) -> int:
        """Write the keys ``db`` changed since the last flush; return how many."""
        if not db.changed and not db.deleted and not meta:
            return 0
        changed, deleted = db.changed, db.deleted
        db.changed, db.deleted = set(), set()
        kv = db.kv_store
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", [(k, kv[k]) for k in changed]
                )
                self._conn.executemany("DELETE FROM kv WHERE k = ?", [(k,) for k in deleted])
                if meta:
                    self._conn.executemany(
                        "INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)", list(meta.items())
                    )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                db.changed |= changed
                db.deleted |= deleted
                raise
        return len(changed) + len(deleted)

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()
