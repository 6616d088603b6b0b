"""The API's own SQLite file (``api.sqlite``): API keys, the submission journal, and the
credit-score records members deposit for their enterprises to read.

WAL mode with ``synchronous=FULL``: a submission answered 202 is on disk
(fsync'd) before the answer leaves, so a killed server loses none. Reads go
through a connection of each reading thread's own: in WAL mode a reader needs
no lock of the writer's, so the intake's checks do not wait behind the fsync of
a commit (the journal's group commit, the worker settling a round).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash TEXT PRIMARY KEY,        -- sha256 of the key; the key itself is never stored
    member TEXT NOT NULL,             -- checksum address of the member it acts for
    read_only INTEGER NOT NULL,       -- 1 for auditors' keys
    label TEXT NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    caller TEXT NOT NULL,             -- the member whose key submitted it
    idempotency_key TEXT NOT NULL,
    body_hash TEXT NOT NULL,
    kind TEXT NOT NULL,               -- how it is relayed: attestation, authorise or forward
    operation TEXT NOT NULL,          -- what it does, e.g. receivables.finance
    signer TEXT NOT NULL,
    nonce_space TEXT NOT NULL,        -- whose nonces: attest (Attestations), forward, authorise
    nonce TEXT NOT NULL,              -- decimal; uint256 does not fit SQLite's integer
    payload TEXT NOT NULL,            -- JSON of the signed record or request
    status TEXT NOT NULL,             -- pending, anchored, rejected
    result TEXT,                      -- JSON: uid or batch position, or the named error
    anchor_id INTEGER,                -- the transaction carrying it, once one is prepared
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    UNIQUE (caller, idempotency_key),
    UNIQUE (signer, nonce_space, nonce)
);
CREATE INDEX IF NOT EXISTS submissions_pending ON submissions (status, anchor_id);
-- The submissions a transaction carries: read for every anchor the worker sends and
-- settles (without it, each such read scans the whole journal).
CREATE INDEX IF NOT EXISTS submissions_anchor ON submissions (anchor_id)
    WHERE anchor_id IS NOT NULL;
-- Relayed calls still pending per signer (a dry run cannot see their effects); partial, so
-- the attestation hot path never touches it.
CREATE INDEX IF NOT EXISTS submissions_relays_pending ON submissions (signer)
    WHERE status = 'pending' AND kind != 'attestation';
CREATE TABLE IF NOT EXISTS anchors (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,               -- single, batch, relays (executeBatch) or relay (one)
    tx_hash TEXT NOT NULL,
    sender TEXT NOT NULL,
    to_address TEXT NOT NULL,
    data BLOB NOT NULL,
    raw BLOB NOT NULL,                -- the signed transaction, re-sent as is after a crash
    nonce INTEGER NOT NULL,
    tree BLOB,                        -- a batch's Merkle levels, for proofs
    state TEXT NOT NULL,              -- sent, done, undone (relays undone whole)
    created_at REAL NOT NULL
);
-- Credit-score records (off chain) whose hash a member attested with the credit-score schema:
-- what the scored enterprise reads its grade and reason codes from (pipeline.scores).
CREATE TABLE IF NOT EXISTS credit_scores (
    uid BLOB PRIMARY KEY,             -- the score's attestation UID
    subject BLOB NOT NULL,            -- the enterprise's subject id
    attester TEXT NOT NULL,           -- checksum address of the scoring member
    record TEXT NOT NULL,             -- JSON of the credit-score record
    deposited_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS credit_scores_subject ON credit_scores (subject);
"""


class ApiDatabase:
    """The connection to ``api.sqlite``, shared by the key store and the journal."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.executescript(_SCHEMA)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._closed = False

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, committed (and fsync'd) on leaving."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
        """Rows of a read, as committed: on the calling thread's own connection."""
        reader: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if reader is None:
            reader = self._reader()
        cur = reader.execute(sql, params)
        cur.row_factory = sqlite3.Row
        return list(cur.fetchall())

    def _reader(self) -> sqlite3.Connection:
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
            # Autocommit: each read sees what is committed now, no snapshot is kept.
            reader = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            reader.execute("PRAGMA query_only=1")
            self._readers.append(reader)
        self._local.reader = reader
        return reader

    def close(self) -> None:
        """Close the file (every thread's reading connection too)."""
        with self._lock:
            self._closed = True
            for reader in self._readers:
                reader.close()
            self._readers.clear()
            self._conn.close()
