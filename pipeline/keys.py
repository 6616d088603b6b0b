"""API keys: one or more per member, stored hashed, revocable; auditors' keys read only.

Every request reads its key's row from ``api.sqlite`` (an indexed lookup on a
connection of its own, which in WAL mode never waits for the journal's
writes), so a key revoked by any process, ``credit-chain keys revoke`` included,
is refused on the very next request: nothing is cached.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from ledger_client import Role

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


class KeyStore:
    """Issue, look up and revoke API keys."""

    def __init__(self, db: ApiDatabase) -> None:
        # Lookups (one a request) read through the database's per-thread connections: the
        # writer's is held while the journal commits (an fsync), and a reader in WAL mode
        # needs no lock of the writer's, nor of another reader's.
        self._db = db

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
        return key

    def lookup(self, key: str) -> ApiKey | None:
        """The key's record as stored now (revoked ones too), or None when unknown."""
        rows = self._db.query(f"SELECT {_COLUMNS} FROM api_keys WHERE key_hash = ?", (_hash(key),))
        return _key(rows[0]) if rows else None

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
