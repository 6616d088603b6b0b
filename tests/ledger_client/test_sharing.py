"""Encrypted cross-region sharing of credit reports (ledger_client.consent.sharing)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from eth_hash.auto import keccak
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger_client.consent.sharing import (
    FIXED_BYTES,
    FORMAT_VERSION,
    MAGIC,
    EncryptionKeyPair,
    InvalidEncryptionKey,
    InvalidSharingInput,
    ReportContentMismatch,
    ReportHashMismatch,
    ReportMalformed,
    ReportTampered,
    ReportWrongKey,
    SealedReport,
    SharingError,
    key_fingerprint,
    open_report,
    seal_report,
)
from ledger_client.errors import LedgerError, LedgerValueError

REPORT = json.dumps(
    {"subject": "0x" + "ab" * 32, "schema": "loan-repayment", "overdue_days": 0, "城市": "合肥"},
    ensure_ascii=False,
    separators=(",", ":"),
    sort_keys=True,
).encode()
CONTEXT = b"query-log:42|from:Shanghai Bank|to:Hefei Bank"

# Key pairs are made once: generation is cheap, but fixed keys keep failures reproducible.
RECIPIENT = EncryptionKeyPair.from_private_bytes(bytes(range(32)))
STRANGER = EncryptionKeyPair.from_private_bytes(bytes(range(32, 64)))
SEALED = seal_report(REPORT, RECIPIENT.public_bytes, context=CONTEXT)
WIRE = SEALED.to_bytes()

# The error an altered envelope may legitimately produce, depending on which byte changed.
REFUSED = (ReportTampered, ReportWrongKey, ReportMalformed)

# X25519 points of small order: with any of them as a key, the shared secret is all zero.
LOW_ORDER_POINTS = [bytes(32), (1).to_bytes(32, "little")]


def _flip(data: bytes, bit: int) -> bytes:
    out = bytearray(data)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _open_wire(wire: bytes, **kwargs: Any) -> bytes:
    return open_report(SealedReport.from_bytes(wire), RECIPIENT, context=CONTEXT, **kwargs)


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("plaintext", [b"", b"x", REPORT, bytes(range(256)) * 40])
@pytest.mark.parametrize("context", [b"", CONTEXT])
def test_round_trip(plaintext: bytes, context: bytes) -> None:
    sealed = seal_report(plaintext, RECIPIENT.public_bytes, context=context)
    assert open_report(sealed, RECIPIENT, context=context) == plaintext
    again = SealedReport.from_bytes(sealed.to_bytes())
    assert again == sealed
    assert open_report(again, RECIPIENT, context=context) == plaintext


def test_round_trip_through_json_dict() -> None:
    as_json = json.dumps(SEALED.to_dict())
    restored = SealedReport.from_dict(json.loads(as_json))
    assert restored == SEALED
    assert restored.ciphertext_hash == SEALED.ciphertext_hash
    assert open_report(restored, RECIPIENT, context=CONTEXT) == REPORT


def test_dict_accepts_hex_without_prefix() -> None:
    bare = {k: v[2:] if isinstance(v, str) else v for k, v in SEALED.to_dict().items()}
    assert SealedReport.from_dict(bare) == SEALED


def test_serialisation_layout() -> None:
    assert WIRE[:4] == MAGIC
    assert WIRE[4] == FORMAT_VERSION
    assert WIRE[5:37] == key_fingerprint(RECIPIENT.public_bytes) == RECIPIENT.fingerprint
    assert WIRE[37:69] == SEALED.ephemeral_public_key
    assert len(WIRE) == FIXED_BYTES + len(REPORT) + 16
    assert int.from_bytes(WIRE[FIXED_BYTES - 4 : FIXED_BYTES], "big") == len(REPORT) + 16
    assert SEALED.to_bytes() == WIRE  # deterministic


def test_ciphertext_hash_is_keccak_of_serialisation() -> None:
    assert SEALED.ciphertext_hash == keccak(WIRE)
    assert len(SEALED.ciphertext_hash) == 32


def test_two_seals_of_the_same_report_differ() -> None:
    a = seal_report(REPORT, RECIPIENT.public_bytes, context=CONTEXT)
    b = seal_report(REPORT, RECIPIENT.public_bytes, context=CONTEXT)
    assert a.ephemeral_public_key != b.ephemeral_public_key
    assert a.wrap_nonce != b.wrap_nonce
    assert a.payload_nonce != b.payload_nonce
    assert a.wrapped_key != b.wrapped_key
    assert a.ciphertext != b.ciphertext
    assert a.ciphertext_hash != b.ciphertext_hash
    assert open_report(a, RECIPIENT, context=CONTEXT) == open_report(b, RECIPIENT, context=CONTEXT)


def test_key_pair_from_private_bytes() -> None:
    fresh = EncryptionKeyPair.generate()
    again = EncryptionKeyPair.from_private_bytes(fresh.private_bytes)
    assert again.public_bytes == fresh.public_bytes
    assert again == fresh
    assert len(fresh.public_bytes) == len(fresh.private_bytes) == 32
    assert fresh.private_bytes.hex() not in repr(fresh)


# --------------------------------------------------------------------------- refusals


def test_wrong_key_is_refused() -> None:
    with pytest.raises(ReportWrongKey, match="fingerprint") as info:
        open_report(SEALED, STRANGER, context=CONTEXT)
    assert info.value.sealed_for == RECIPIENT.fingerprint
    assert info.value.key == STRANGER.fingerprint


def test_relabelled_fingerprint_is_tampering_not_wrong_key() -> None:
    # An attacker who points the envelope at another key gets past the
    # fingerprint check but not authentication: the header is associated data.
    relabelled = dataclasses.replace(SEALED, recipient_fingerprint=STRANGER.fingerprint)
    with pytest.raises(ReportTampered):
        open_report(relabelled, STRANGER, context=CONTEXT)


@pytest.mark.parametrize("context", [b"", b"query-log:43|from:Shanghai Bank|to:Hefei Bank"])
def test_context_mismatch_is_tampering(context: bytes) -> None:
    with pytest.raises(ReportTampered, match="context"):
        open_report(SEALED, RECIPIENT, context=context)


def test_every_single_bit_flip_is_refused() -> None:
    # Exhaustive over a short envelope; the property test below samples longer ones.
    sealed = seal_report(b'{"grade":"A"}', RECIPIENT.public_bytes, context=CONTEXT)
    wire = sealed.to_bytes()
    for bit in range(len(wire) * 8):
        with pytest.raises(REFUSED):
            _open_wire(_flip(wire, bit))


@settings(max_examples=150, deadline=None)
@given(
    plaintext=st.binary(max_size=300),
    context=st.binary(max_size=40),
    data=st.data(),
)
def test_bit_flip_anywhere_is_refused(
    plaintext: bytes, context: bytes, data: st.DataObject
) -> None:
    wire = seal_report(plaintext, RECIPIENT.public_bytes, context=context).to_bytes()
    bit = data.draw(st.integers(0, len(wire) * 8 - 1), label="bit")
    with pytest.raises(REFUSED):
        open_report(SealedReport.from_bytes(_flip(wire, bit)), RECIPIENT, context=context)


def test_non_canonical_ephemeral_key_is_refused() -> None:
    # X25519 ignores a public key's top bit, so this flip leaves the shared
    # secret unchanged: only binding the key's bytes catches it.
    with pytest.raises(ReportTampered):
        _open_wire(_flip(WIRE, (37 + 31) * 8 + 7))


@pytest.mark.parametrize("point", LOW_ORDER_POINTS)
def test_low_order_ephemeral_key_is_refused(point: bytes) -> None:
    forged = dataclasses.replace(SEALED, ephemeral_public_key=point)
    with pytest.raises(ReportTampered, match="ephemeral"):
        open_report(forged, RECIPIENT, context=CONTEXT)


def test_swapped_ciphertext_from_another_envelope_is_tampering() -> None:
    other = seal_report(b"another report", RECIPIENT.public_bytes, context=CONTEXT)
    spliced = dataclasses.replace(SEALED, ciphertext=other.ciphertext)
    with pytest.raises(ReportTampered, match="report ciphertext"):
        open_report(spliced, RECIPIENT, context=CONTEXT)


# --------------------------------------------------------------------------- on-chain checks


def test_expected_hash_matches() -> None:
    assert _open_wire(WIRE, expected_hash=SEALED.ciphertext_hash) == REPORT


def test_expected_hash_mismatch() -> None:
    other = seal_report(REPORT, RECIPIENT.public_bytes, context=CONTEXT)
    with pytest.raises(ReportHashMismatch) as info:
        open_report(SEALED, RECIPIENT, context=CONTEXT, expected_hash=other.ciphertext_hash)
    assert info.value.expected == other.ciphertext_hash
    assert info.value.actual == SEALED.ciphertext_hash


def test_expected_hash_is_checked_before_the_key() -> None:
    with pytest.raises(ReportHashMismatch):
        open_report(SEALED, STRANGER, context=CONTEXT, expected_hash=bytes(32))


@settings(max_examples=50, deadline=None)
@given(bit=st.integers(0, len(WIRE) * 8 - 1))
def test_flipped_envelope_never_matches_recorded_hash(bit: int) -> None:
    with pytest.raises((ReportHashMismatch, ReportMalformed)):
        _open_wire(_flip(WIRE, bit), expected_hash=SEALED.ciphertext_hash)


def test_expected_plaintext_hash_matches() -> None:
    assert _open_wire(WIRE, expected_plaintext_hash=keccak(REPORT)) == REPORT


def test_expected_plaintext_hash_mismatch() -> None:
    # The sender sealed a genuine envelope, but not of the record attested on chain.
    attested = keccak(REPORT.replace(b'"overdue_days":0', b'"overdue_days":90'))
    with pytest.raises(ReportContentMismatch, match="dataHash") as info:
        _open_wire(WIRE, expected_plaintext_hash=attested)
    assert info.value.expected == attested
    assert info.value.actual == keccak(REPORT)


# --------------------------------------------------------------------------- malformed input


def _with_length(wire: bytes, length: int) -> bytes:
    return wire[: FIXED_BYTES - 4] + length.to_bytes(4, "big") + wire[FIXED_BYTES:]


@pytest.mark.parametrize(
    ("wire", "message"),
    [
        (b"", "truncated"),
        (WIRE[: FIXED_BYTES - 1], "truncated"),
        (WIRE[:-1], "length"),
        (WIRE + b"\x00", "length"),
        (b"XDCR" + WIRE[4:], "magic"),
        (WIRE[:4] + bytes([2]) + WIRE[5:], "version"),
        (WIRE[:4] + bytes([0]) + WIRE[5:], "version"),
        (_with_length(WIRE, len(WIRE)), "length"),
        (_with_length(WIRE[:FIXED_BYTES], 0), "ciphertext"),
        (_with_length(WIRE[: FIXED_BYTES + 15], 15), "ciphertext"),
    ],
)
def test_malformed_bytes(wire: bytes, message: str) -> None:
    with pytest.raises(ReportMalformed, match=message):
        SealedReport.from_bytes(wire)


def test_from_bytes_rejects_non_bytes() -> None:
    # A wrong type on purpose (hence the type: ignore): the runtime check is under test.
    with pytest.raises(ReportMalformed, match="expected bytes"):
        SealedReport.from_bytes(WIRE.hex())  # type: ignore[arg-type]


def test_from_bytes_accepts_bytearray() -> None:
    assert SealedReport.from_bytes(bytearray(WIRE)) == SEALED


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("version", 2),
        ("version", True),
        ("recipient_fingerprint", bytes(8)),
        ("ephemeral_public_key", bytes(33)),
        ("wrap_nonce", bytes(16)),
        ("wrapped_key", bytes(40)),
        ("payload_nonce", "00" * 12),
        ("ciphertext", b""),
        ("ciphertext", bytearray(32)),
    ],
)
def test_malformed_fields(field: str, value: Any) -> None:
    with pytest.raises(ReportMalformed, match=field):
        dataclasses.replace(SEALED, **{field: value})


def _dict_with(**changes: Any) -> dict[str, Any]:
    d: dict[str, Any] = dict(SEALED.to_dict())
    d.update(changes)
    return {k: v for k, v in d.items() if v is not None}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_dict_with(ciphertext=None), "missing"),
        (_dict_with(sender="Shanghai Bank"), "unexpected"),
        (_dict_with(wrap_nonce="0xzz" + "00" * 11), "hex"),
        (_dict_with(wrap_nonce="0x" + "0" * 23), "hex"),
        (_dict_with(wrap_nonce="0x" + "00 " * 12), "hex"),
        (_dict_with(wrap_nonce=12), "hex string"),
        (_dict_with(wrap_nonce="0x" + "00" * 11), "wrap_nonce"),
        (_dict_with(version=2), "version"),
        (_dict_with(version="1"), "version"),
    ],
)
def test_malformed_dict(data: dict[str, Any], message: str) -> None:
    with pytest.raises(ReportMalformed, match=message):
        SealedReport.from_dict(data)


def test_from_dict_rejects_non_mapping() -> None:
    # A wrong type on purpose (hence the type: ignore): the runtime check is under test.
    with pytest.raises(ReportMalformed, match="mapping"):
        SealedReport.from_dict(SEALED.to_bytes())  # type: ignore[arg-type]


@pytest.mark.parametrize("key", [b"", bytes(31), bytes(33), "00" * 32])
def test_seal_rejects_bad_public_key_length(key: Any) -> None:
    with pytest.raises(InvalidEncryptionKey, match="public key"):
        seal_report(REPORT, key)


@pytest.mark.parametrize("point", LOW_ORDER_POINTS)
def test_seal_rejects_low_order_public_key(point: bytes) -> None:
    with pytest.raises(InvalidEncryptionKey, match="low-order"):
        seal_report(REPORT, point)


@pytest.mark.parametrize("key", [bytes(31), bytes(33), bytearray(32)])
def test_private_key_length_is_checked(key: Any) -> None:
    with pytest.raises(InvalidEncryptionKey, match="private key"):
        EncryptionKeyPair.from_private_bytes(key)


def test_key_fingerprint_checks_length() -> None:
    with pytest.raises(InvalidEncryptionKey):
        key_fingerprint(bytes(31))


@pytest.mark.parametrize("name", ["expected_hash", "expected_plaintext_hash"])
@pytest.mark.parametrize("value", [bytes(31), "0x" + "00" * 32])
def test_open_rejects_bad_expected_hash(name: str, value: Any) -> None:
    with pytest.raises(InvalidSharingInput, match=name):
        open_report(SEALED, RECIPIENT, context=CONTEXT, **{name: value})


def test_seal_rejects_text_plaintext() -> None:
    # A wrong type on purpose (hence the type: ignore): the runtime check is under test.
    with pytest.raises(InvalidSharingInput, match="plaintext"):
        seal_report(REPORT.decode(), RECIPIENT.public_bytes)  # type: ignore[arg-type]


def test_open_rejects_wrong_argument_types() -> None:
    # Wrong types on purpose (hence the type: ignores): the runtime check is under test.
    with pytest.raises(InvalidSharingInput, match="SealedReport"):
        open_report(WIRE, RECIPIENT)  # type: ignore[arg-type]
    with pytest.raises(InvalidSharingInput, match="EncryptionKeyPair"):
        open_report(SEALED, RECIPIENT.private_bytes)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        InvalidSharingInput,
        InvalidEncryptionKey,
        ReportMalformed,
        ReportHashMismatch,
        ReportWrongKey,
        ReportTampered,
        ReportContentMismatch,
    ],
)
def test_every_error_is_a_sharing_error(error: type[Exception]) -> None:
    assert issubclass(error, SharingError)
    assert issubclass(error, LedgerValueError)
    assert issubclass(error, LedgerError)
    assert issubclass(error, ValueError)
