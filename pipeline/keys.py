"""API keys: one or more per member, stored hashed, revocable; auditors' keys read only.

A key revoked by any process, ``credit-chain keys revoke`` included, is refused on the
very next request. Every request needs its key's row, but reading it from
``api.sqlite`` on each one cost the server a third of its event loop's time (measured
under the API's mix): a read hands the GIL away, and the loop waits for it behind the
worker. So a lookup is remembered, and every change to the keys by any process
(:meth:`KeyStore.issue`, :meth:`KeyStore.revoke`) bumps a generation counter in a small
file beside the database that every process maps into memory
(:class:`KeyGeneration`): a lookup reads the counter (a memory read, no system call)
and reads the row again whenever it changed. The change is committed before the
counter moves, and the counter is read before the row, so no request after a
revocation returns can be served from before it. A row edited by hand, not through
the store, is read again within :data:`REMEMBER_S`.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ledger_client import Role
from ledger_client.addresses import to_checksum_address

from .db import ApiDatabase
from .errors import ReadOnlyKeyNotAuditor

KEY_PREFIX = "ccak_"
#: The roles an account needs for a read-only (auditor's) key.
OVERSIGHT_ROLES = Role.AUDITOR | Role.REGULATOR


@dataclass(frozen=True)
class ApiKey:
    """What a key stands for."""

    key_hash: str
    member: str  # checksum address of the member it acts for
    read_only: bool
    label: str
    created_at: float
    revoked_at: float | None


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _key(r: sqlite3.Row | tuple[object, ...]) -> ApiKey:
    return ApiKey(
        str(r[0]),
        str(r[1]),
        bool(r[2]),
        str(r[3]),
        float(r[4]),  # type: ignore[arg-type]
        None if r[5] is None else float(r[5]),  # type: ignore[arg-type]
    )


_COLUMNS = "key_hash, member, read_only, label, created_at, revoked_at"


#: How long a remembered lookup stands without the generation moving, seconds: what a hand
#: edit of the table (not through :class:`KeyStore`) waits at most to be seen.
REMEMBER_S = 1.0
#: Lookups remembered at most; more (unknown keys tried in bulk, say) start afresh.
REMEMBERED = 4_096
#: The generation counter's file, beside ``api.sqlite``.
GENERATION_FILE = "api-keys.generation"


class KeyGeneration:
    """A counter of changes to the keys, in a file every process maps into memory.

    Reading it is a memory read (no system call, the GIL kept); bumping it takes the
    file's lock, so two processes changing keys at once both move it.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < 8:
            os.ftruncate(self._fd, 8)  # zeros: generation 0 (a no-op if another made it)
        self._map = mmap.mmap(self._fd, 8)  # shared: every process sees every write

    def read(self) -> int:
        """The generation now."""
        return int.from_bytes(self._map[:8], "little")

    def bump(self) -> None:
        """Move to the next generation (after the change is committed)."""
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            self._map[:8] = ((self.read() + 1) % 2**64).to_bytes(8, "little")
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


class KeyStore:
    """Issue, look up and revoke API keys."""

    def __init__(self, db: ApiDatabase) -> None:
        # Lookups not remembered read through the database's per-thread connections: the
        # writer's is held while the journal commits (an fsync), and a reader in WAL mode
        # needs no lock of the writer's, nor of another reader's.
        self._db = db
        self.generation = KeyGeneration(db.path.parent / GENERATION_FILE)
        # key hash -> (generation read before the row, when, the row or None)
        self._remembered: dict[str, tuple[int, float, ApiKey | None]] = {}
        self._remembered_lock = threading.Lock()

    def issue(
        self,
        member: str,
        *,
        read_only: bool = False,
        label: str = "",
        roles_of: Callable[[str], Role] | None = None,
    ) -> str:
        """A new key for ``member``; the only time the key itself is seen.

        A read-only key is an auditor's: ``roles_of`` (the account's roles in good
        standing, read from the chain) must give the auditor or regulator role, or
        :class:`ReadOnlyKeyNotAuditor` is raised and nothing is stored.
        """
        account = to_checksum_address(member)
        if read_only:
            if roles_of is None:
                raise TypeError("a read-only key needs roles_of to check the account's roles")
            roles = roles_of(account)
            if not roles & OVERSIGHT_ROLES:
                raise ReadOnlyKeyNotAuditor(
                    f"read-only keys are for auditors and regulators; {account} holds "
                    f"{', '.join(roles.names()) or 'no role in good standing'}",
                    member=account,
                    roles=roles.names(),
                )
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                (_hash(key), account, int(read_only), label, time.time()),
            )
        self.generation.bump()  # a lookup of it remembered as unknown is read again
        return key

    def lookup(self, key: str) -> ApiKey | None:
        """The key's record as stored now (revoked ones too), or None when unknown: as
        remembered while no process changed any key (and for :data:`REMEMBER_S` at most),
        else read again."""
        key_hash = _hash(key)
        generation = self.generation.read()  # before the row: a change after it misses
        now = time.monotonic()
        found = self._remembered.get(key_hash)
        if found is not None and found[0] == generation and now - found[1] < REMEMBER_S:
            return found[2]
        rows = self._db.query(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,))
        record = _key(rows[0]) if rows else None
        with self._remembered_lock:
            if len(self._remembered) >= REMEMBERED:
                self._remembered.clear()
            self._remembered[key_hash] = (generation, now, record)
        return record

    def revoke(self, key_or_hash: str) -> bool:
        """Revoke a key (given itself or its hash); True when one was revoked."""
        h = (
            key_or_hash
            if len(key_or_hash) == 64 and not key_or_hash.startswith(KEY_PREFIX)
            else _hash(key_or_hash)
        )
        with self._db.transaction() as conn:
            cur = conn.execute(
                "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL",
                (time.time(), h),
            )
        self.generation.bump()  # committed first: every process reads the row again
        return cur.rowcount > 0

    def list(self) -> list[ApiKey]:
        """Every key issued, revoked ones too."""
        return [
            _key(r) for r in self._db.query(f"SELECT {_COLUMNS} FROM api_keys ORDER BY created_at")
        ]

    def close(self) -> None:
        """Close the database it reads (a store of its own, as the command line opens;
        a service's store shares the service's database, which the service closes)."""
        self._db.close()
        self.generation.close()
