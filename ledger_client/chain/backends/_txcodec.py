"""Signing and encoding of the client's own transactions, without eth-account's generality.

eth-account validates and normalises a transaction dict through several layers
before it signs, which costs more than revm takes to run the transaction. The
client signs only EIP-1559 transactions it built itself, so this module encodes
exactly those with a minimal RLP encoder and signs with coincurve (libsecp256k1,
RFC 6979 nonces, as eth-keys uses): the bytes are the ones eth-account produces
(a test compares them), at a fraction of the time.
"""

from __future__ import annotations

import functools
from typing import Any

from coincurve import PrivateKey
from eth_hash.auto import keccak

RlpItem = bytes | int | list[Any]


def _length_prefix(length: int, offset: int) -> bytes:
    if length < 56:
        return bytes([offset + length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([offset + 55 + len(size)]) + size


def rlp_encode(item: RlpItem) -> bytes:
    """RLP of bytes, non-negative ints (big-endian, no leading zeros) and nested lists."""
    if isinstance(item, int):
        if item < 0:
            raise ValueError(f"RLP encodes no negative integer ({item})")
        item = item.to_bytes((item.bit_length() + 7) // 8, "big") if item else b""
    if isinstance(item, bytes | bytearray):
        if len(item) == 1 and item[0] < 0x80:
            return bytes(item)
        return _length_prefix(len(item), 0x80) + bytes(item)
    payload = b"".join(rlp_encode(x) for x in item)
    return _length_prefix(len(payload), 0xC0) + payload


@functools.lru_cache(maxsize=1024)
def _private_key(secret: bytes) -> PrivateKey:
    return PrivateKey(secret)


def sign_hash(secret: bytes, digest: bytes) -> bytes:
    """The 65-byte signature (r, s, v = 27 + y parity; low s) of a 32-byte ``digest``: the
    bytes eth-account's ``unsafe_sign_hash`` gives, without its layers."""
    signature = _private_key(secret).sign_recoverable(digest, hasher=None)
    return signature[:64] + bytes([27 + signature[64]])


def sign_dynamic_fee_tx(
    secret: bytes,
    *,
    chain_id: int,
    nonce: int,
    max_priority_fee_per_gas: int,
    max_fee_per_gas: int,
    gas: int,
    to: str | None,
    value: int,
    data: bytes,
) -> tuple[bytes, bytes]:
    """An EIP-1559 (type 2) transaction signed with ``secret``: (raw bytes, hash)."""
    fields: list[RlpItem] = [
        chain_id,
        nonce,
        max_priority_fee_per_gas,
        max_fee_per_gas,
        gas,
        bytes.fromhex(to[2:]) if to else b"",
        value,
        data,
        [],  # access list: the client never sends one
    ]
    digest = keccak(b"\x02" + rlp_encode(fields))
    signature = _private_key(secret).sign_recoverable(digest, hasher=None)
    r, s, y_parity = signature[:32], signature[32:64], signature[64]
    raw = b"\x02" + rlp_encode(
        [*fields, y_parity, int.from_bytes(r, "big"), int.from_bytes(s, "big")]
    )
    return raw, keccak(raw)


def rlp_decode(data: bytes) -> RlpItem:
    """The item ``data`` encodes: bytes, or nested lists of bytes (integers stay bytes)."""
    item, end = _decode_at(data, 0)
    if end != len(data):
        raise ValueError(f"RLP has {len(data) - end} trailing bytes")
    return item


def _decode_at(data: bytes, pos: int) -> tuple[RlpItem, int]:
    if pos >= len(data):
        raise ValueError("RLP ends early")
    first = data[pos]
    if first < 0x80:
        return data[pos : pos + 1], pos + 1
    if first < 0xC0:
        start, length = _span(data, pos, first - 0x80)
        return data[start : start + length], start + length
    start, length = _span(data, pos, first - 0xC0)
    items: list[Any] = []
    at, end = start, start + length
    while at < end:
        item, at = _decode_at(data, at)
        items.append(item)
    if at != end:
        raise ValueError("RLP list overruns its length")
    return items, end


def _span(data: bytes, pos: int, short: int) -> tuple[int, int]:
    # (start of the payload, its length) for a string or list header at ``pos``.
    if short <= 55:
        start, length = pos + 1, short
    else:
        size = short - 55
        start = pos + 1 + size
        length = int.from_bytes(data[pos + 1 : start], "big")
    if start + length > len(data):
        raise ValueError("RLP ends early")
    return start, length
