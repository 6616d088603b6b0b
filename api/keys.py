"""API keys: one or more per member, stored hashed, revocable; auditors' keys read only."""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from eth_utils.address import to_checksum_address

from .db import ApiDatabase

KEY_PREFIX = "ccak_"


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


class KeyStore:
    """Issue, look up and revoke API keys."""

    def __init__(self, db: ApiDatabase) -> None:
        self._db = db
        self._cache: dict[str, ApiKey] = {}

    def issue(self, member: str, *, read_only: bool = False, label: str = "") -> str:
        """A new key for ``member``; the only time the key itself is seen."""
        key = KEY_PREFIX + secrets.token_urlsafe(32)
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, NULL)",
                (_hash(key), to_checksum_address(member), int(read_only), label, time.time()),
            )
        return key

    def lookup(self, key: str) -> ApiKey | None:
        """The key's record, or None when unknown or revoked."""
        h = _hash(key)
        cached = self._cache.get(h)
        if cached is not None:
            return cached
        rows = self._db.query("SELECT * FROM api_keys WHERE key_hash = ?", (h,))
        if not rows or rows[0]["revoked_at"] is not None:
            return None
        r = rows[0]
        found = ApiKey(
            r["key_hash"],
            r["member"],
            bool(r["read_only"]),
            r["label"],
            r["created_at"],
            r["revoked_at"],
        )
        self._cache[h] = found
        return found

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
        self._cache.pop(h, None)
        return cur.rowcount > 0

    def list(self) -> list[ApiKey]:
        """Every key issued, revoked ones too."""
        return [
            ApiKey(
                r["key_hash"],
                r["member"],
                bool(r["read_only"]),
                r["label"],
                r["created_at"],
                r["revoked_at"],
            )
            for r in self._db.query("SELECT * FROM api_keys ORDER BY created_at")
        ]
