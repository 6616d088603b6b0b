"""The revm chain's store on disk: blocks, receipts, the transaction index and state.

Unlike py-evm's key-value store, revm keeps no trie and no history, so this store
holds them itself, in SQLite: one row per block (its header, its receipts and the
state it overwrote, which is what a snapshot revert and a call at an old block
undo), one row per transaction, and the latest state (accounts and storage
slots). Each block is written in one SQLite transaction, so a crash leaves the
store at a block boundary.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger_client.errors import LedgerConnectionError
from ledger_client.sqlite_rows import delete_keys, insert_rows

#: The format of this store; py-evm's store is format "1" in the same file name, so
#: opening one with the other engine fails on this tag rather than misreading it.
REVM_STORE_FORMAT = "revm-1"

AccountRow = tuple[bytes, int, int, bytes, bytes | None]  # address, balance, nonce, code hash, code


class RevmStore:
    """A SQLite file holding a revm chain: blocks, transactions, accounts and storage."""

    def __init__(self, path: Path, *, durable: bool = False) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL survives a killed process; FULL also a power cut, at an fsync per block.
        self._conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        self._conn.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
        found = self.meta().get("format")
        if found is not None and found != REVM_STORE_FORMAT:
            # Another engine's store (py-evm's is format "1"): refused before a table
            # of this one is added to it.
            self._conn.close()
            raise LedgerConnectionError(
                f"{path} holds a chain store of format {found!r}, "
                f"the revm engine reads format {REVM_STORE_FORMAT}"
            )
        self._conn.executescript(
            """
            CREATE TABLE IF NOT EXISTS revm_blocks (
                number INTEGER PRIMARY KEY, header BLOB NOT NULL,
                receipts BLOB NOT NULL, undo BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS revm_txs (
                hash BLOB PRIMARY KEY, number INTEGER NOT NULL, idx INTEGER NOT NULL,
                raw BLOB NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS revm_accounts (
                address BLOB PRIMARY KEY, balance TEXT NOT NULL, nonce INTEGER NOT NULL,
                code_hash BLOB NOT NULL, code BLOB) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS revm_storage (
                address BLOB NOT NULL, slot BLOB NOT NULL, value BLOB NOT NULL,
                PRIMARY KEY (address, slot)) WITHOUT ROWID;
            """
        )

    def meta(self) -> dict[str, str]:
        """The store's metadata (format, chain id, genesis hash); empty for a new file."""
        return dict(self._conn.execute("SELECT k, v FROM meta").fetchall())

    def blocks(self) -> Iterator[tuple[int, bytes, bytes, bytes]]:
        """Every block in order: number, header, receipts and undo records."""
        yield from self._conn.execute(
            "SELECT number, header, receipts, undo FROM revm_blocks ORDER BY number"
        )

    def _one(self, sql: str, params: tuple[object, ...]) -> Any:
        # One row (or None), read under the lock the writer holds.
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def block_count(self) -> int:
        """How many blocks the store holds (they are numbered from 0 without gaps)."""
        row = self._one("SELECT MAX(number) FROM revm_blocks", ())
        return 0 if row[0] is None else int(row[0]) + 1

    def block(self, number: int) -> tuple[bytes, bytes, bytes]:
        """One block's header, receipts and undo records."""
        row = self._one(
            "SELECT header, receipts, undo FROM revm_blocks WHERE number = ?", (number,)
        )
        if row is None:
            raise LedgerConnectionError(f"{self.path} holds no block {number}")
        return bytes(row[0]), bytes(row[1]), bytes(row[2])

    def transaction(self, tx_hash: bytes) -> tuple[int, int, bytes] | None:
        """Where a mined transaction is (block number, index) and its signed bytes."""
        row = self._one("SELECT number, idx, raw FROM revm_txs WHERE hash = ?", (tx_hash,))
        return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]))

    def transactions(self) -> Iterator[tuple[bytes, int, int, bytes]]:
        """Every mined transaction: hash, block number, index in the block, signed bytes."""
        yield from self._conn.execute("SELECT hash, number, idx, raw FROM revm_txs")

    def accounts(self) -> Iterator[AccountRow]:
        """The latest state's accounts."""
        for address, balance, nonce, code_hash, code in self._conn.execute(
            "SELECT address, balance, nonce, code_hash, code FROM revm_accounts"
        ):
            yield address, int(balance), nonce, code_hash, code

    def account(self, address: bytes) -> tuple[int, int, bytes] | None:
        """One account of the latest state: balance, nonce, code hash; None if none."""
        row = self._one(
            "SELECT balance, nonce, code_hash FROM revm_accounts WHERE address = ?", (address,)
        )
        return None if row is None else (int(row[0]), int(row[1]), bytes(row[2]))

    def code(self, address: bytes) -> bytes | None:
        """The code of an account of the latest state, None if it has none."""
        row = self._one("SELECT code FROM revm_accounts WHERE address = ?", (address,))
        return None if row is None or row[0] is None else bytes(row[0])

    def storage(self) -> Iterator[tuple[bytes, bytes, bytes]]:
        """The latest state's storage slots: address, slot, value (32-byte big-endian)."""
        yield from self._conn.execute("SELECT address, slot, value FROM revm_storage")

    def write_blocks(
        self,
        blocks: list[tuple[int, bytes, bytes, bytes]],
        txs: list[tuple[bytes, int, int, bytes]],
        *,
        accounts: list[AccountRow],
        dropped_accounts: list[bytes],
        storage: list[tuple[bytes, bytes, bytes]],
        meta: dict[str, str] | None = None,
        drop_after: int | None = None,
    ) -> None:
        """Write mined blocks and the state they left, in one transaction.

        With ``drop_after``, first forget the blocks after that number and their
        transactions (a snapshot revert), so the store never holds the state of one
        chain with the blocks of another.
        """
        with self._lock:
            c = self._conn
            c.execute("BEGIN")
            try:
                if drop_after is not None:
                    c.execute("DELETE FROM revm_blocks WHERE number > ?", (drop_after,))
                    c.execute("DELETE FROM revm_txs WHERE number > ?", (drop_after,))
                # A statement a table, not a row: see ledger_client.sqlite_rows.
                insert_rows(c, "INSERT OR REPLACE INTO revm_blocks", blocks)
                insert_rows(c, "INSERT OR REPLACE INTO revm_txs", txs)
                insert_rows(
                    c,
                    "INSERT OR REPLACE INTO revm_accounts",
                    [(a, str(b), n, h, code) for a, b, n, h, code in accounts],
                )
                delete_keys(c, "revm_accounts", "address", dropped_accounts)
                insert_rows(c, "INSERT OR REPLACE INTO revm_storage", storage)
                if meta:
                    insert_rows(c, "INSERT OR REPLACE INTO meta", list(meta.items()))
                c.execute("COMMIT")
            except BaseException:
                c.execute("ROLLBACK")
                raise

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()
