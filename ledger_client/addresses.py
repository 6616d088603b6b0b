"""Checksum addresses (EIP-55), remembered.

eth_utils' ``to_checksum_address`` hashes and re-cases the address on every call: about
40 µs, and the intake and the worker call it for every signer, target and counterparty
they read (measured under the API's mix: 11% of the time the server held the GIL). A
consortium has few addresses, so each is worked out once and remembered (bounded).
"""

from __future__ import annotations

from functools import lru_cache

from eth_typing import ChecksumAddress
from eth_utils.address import to_checksum_address as _to_checksum_address

#: Addresses remembered at most (a member, an enterprise, a contract each take one entry).
REMEMBERED = 1 << 16


@lru_cache(maxsize=REMEMBERED)
def to_checksum_address(value: str | bytes) -> ChecksumAddress:
    """``value`` (hex, any case, or 20 bytes) as a checksum address; ``ValueError`` when it
    is not an address (a refusal is not remembered: ``lru_cache`` keeps only results)."""
    return _to_checksum_address(value)
