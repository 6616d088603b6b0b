"""Encrypted cross-region sharing of credit reports between member institutions.

A bank in one city shares a credit report (the canonical JSON of an off-chain
record) with a bank in another city. The report never goes on chain (数据不出库):
it travels off chain as a :class:`SealedReport` envelope, and only the
envelope's :attr:`~SealedReport.ciphertext_hash` and the recipient are logged
on chain against the query that asked for it.

Sealing is hybrid encryption to the recipient's published X25519 key:

1. the report is encrypted with AES-256-GCM under a fresh random 32-byte data key;
2. an ephemeral X25519 key pair is made and agreed with the recipient's public key;
3. HKDF-SHA256 turns the shared secret into a key-encryption key, with
   :data:`KDF_INFO` followed by the ephemeral and the recipient public keys as info;
4. the data key is encrypted (wrapped) with AES-256-GCM under that key.

Both GCM operations take as associated data the envelope's header (format
version, recipient fingerprint, ephemeral public key) and the caller's
``context``, for instance the query-log id, sender and recipient, so that an
envelope opens only under the query it was sealed for.

Typical use::

    recipient = EncryptionKeyPair.generate()          # public_bytes published on chain
    sealed = seal_report(report, recipient.public_bytes, context=query_context)
    wire = sealed.to_bytes()                           # sent off chain
    on_chain_hash = sealed.ciphertext_hash             # logged on chain
    ...
    report = open_report(SealedReport.from_bytes(wire), recipient,
                         context=query_context, expected_hash=on_chain_hash,
                         expected_plaintext_hash=attestation_data_hash)

Every failure raises a subclass of :class:`SharingError`; :func:`open_report`
never returns bytes it has not authenticated.
"""

from __future__ import annotations

import os
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, TypedDict

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_hash.auto import keccak

from ledger_client.errors import LedgerValueError

__all__ = [
    "FIXED_BYTES",
    "FORMAT_VERSION",
    "KDF_INFO",
    "MAGIC",
    "MAX_PLAINTEXT_BYTES",
    "EncryptionKeyPair",
    "InvalidEncryptionKey",
    "InvalidSharingInput",
    "ReportContentMismatch",
    "ReportHashMismatch",
    "ReportMalformed",
    "ReportTampered",
    "ReportWrongKey",
    "SealedReport",
    "SealedReportDict",
    "SharingError",
    "key_fingerprint",
    "open_report",
    "seal_report",
]

#: First bytes of every serialised envelope ("Yangtze Delta Credit Report").
MAGIC: Final = b"YDCR"
#: The envelope format this module writes and reads.
FORMAT_VERSION: Final = 1
#: HKDF info prefix; a new format version gets a new string, so keys never cross versions.
KDF_INFO: Final = b"yangtze-credit-chain/report-sharing/v1/x25519-hkdf-sha256/aes-256-gcm-kek"

KEY_BYTES: Final = 32  # X25519 keys, AES-256 keys, fingerprints and hashes
NONCE_BYTES: Final = 12  # GCM's standard 96-bit nonce
TAG_BYTES: Final = 16
WRAPPED_KEY_BYTES: Final = KEY_BYTES + TAG_BYTES
#: AES-GCM allows at most 2^36 - 32 bytes of plaintext; the envelope's u32 length
#: field is the tighter bound.
MAX_PLAINTEXT_BYTES: Final = 0xFFFF_FFFF - TAG_BYTES

# magic | version u8 | recipient fingerprint | ephemeral public key
_HEADER = struct.Struct(f">{len(MAGIC)}sB{KEY_BYTES}s{KEY_BYTES}s")
# wrap nonce | wrapped data key | payload nonce | ciphertext length u32
_BODY = struct.Struct(f">{NONCE_BYTES}s{WRAPPED_KEY_BYTES}s{NONCE_BYTES}sI")
#: Bytes of a serialised envelope before its ciphertext.
FIXED_BYTES: Final = _HEADER.size + _BODY.size

# Distinct associated-data labels keep the two GCM operations from being
# interchangeable even though they already use different keys.
_AAD_WRAP: Final = b"\x01"
_AAD_PAYLOAD: Final = b"\x02"
_HEX: Final = re.compile(r"[0-9a-fA-F]*")


# --------------------------------------------------------------------------- errors
# Named after the condition, like the package's other errors (InvalidUSCC), hence N818.


class SharingError(LedgerValueError):
    """A credit report could not be sealed or opened."""


class InvalidSharingInput(SharingError):
    """An argument to the sharing API was rejected before any cryptography ran."""


class InvalidEncryptionKey(InvalidSharingInput):
    """An X25519 key has the wrong length or is unusable (a low-order point)."""

    def __init__(self, what: str, reason: str) -> None:
        self.what = what
        self.reason = reason
        super().__init__(f"invalid {what}: {reason}")


class ReportMalformed(SharingError):
    """Bytes or a dict do not form a well-formed envelope of a supported version."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"malformed sealed report: {reason}")


class ReportHashMismatch(SharingError):
    """The envelope is not the one recorded on chain: its keccak256 differs."""

    def __init__(self, expected: bytes, actual: bytes) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"sealed report hash 0x{actual.hex()} does not match the recorded 0x{expected.hex()}"
        )


class ReportWrongKey(SharingError):
    """The envelope was sealed to a different recipient key than the one opening it."""

    def __init__(self, sealed_for: bytes, key: bytes) -> None:
        self.sealed_for = sealed_for
        self.key = key
        super().__init__(
            f"sealed report is for the key with fingerprint 0x{sealed_for.hex()}, not 0x{key.hex()}"
        )


class ReportTampered(SharingError):
    """Authentication failed: the envelope was altered, or the context differs."""

    def __init__(self, stage: str) -> None:
        self.stage = stage
        super().__init__(
            f"sealed report failed authentication at the {stage}: the envelope was altered "
            "or is opened under a different context than it was sealed with"
        )


class ReportContentMismatch(SharingError):
    """The decrypted report is not the record attested on chain (its dataHash differs)."""

    def __init__(self, expected: bytes, actual: bytes) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"decrypted report hashes to 0x{actual.hex()}, "
            f"but the attestation's dataHash is 0x{expected.hex()}"
        )


# --------------------------------------------------------------------------- keys


def key_fingerprint(public_key: bytes) -> bytes:
    """keccak256 of a 32-byte X25519 public key, as an envelope names its recipient.

    A contract can compute the same value from the key a member published.
    """
    _check_public_key(public_key, "public key")
    return keccak(public_key)


class EncryptionKeyPair:
    """A member institution's X25519 key pair for receiving shared credit reports.

    ``public_bytes`` is what the member publishes on chain; ``private_bytes``
    must be kept by the member alone.
    """

    __slots__ = ("_private", "_public")

    def __init__(self, private_key: X25519PrivateKey) -> None:
        self._private = private_key
        self._public = private_key.public_key().public_bytes_raw()

    @classmethod
    def generate(cls) -> EncryptionKeyPair:
        """A new random key pair."""
        return cls(X25519PrivateKey.generate())

    @classmethod
    def from_private_bytes(cls, private_bytes: bytes) -> EncryptionKeyPair:
        """The key pair of a 32-byte raw X25519 private key.

        Raises :class:`InvalidEncryptionKey` if it is not 32 bytes.
        """
        if not isinstance(private_bytes, bytes) or len(private_bytes) != KEY_BYTES:
            raise InvalidEncryptionKey("X25519 private key", _length_problem(private_bytes))
        return cls(X25519PrivateKey.from_private_bytes(private_bytes))

    @property
    def public_bytes(self) -> bytes:
        """The 32-byte raw public key."""
        return self._public

    @property
    def private_bytes(self) -> bytes:
        """The 32-byte raw private key."""
        return self._private.private_bytes_raw()

    @property
    def fingerprint(self) -> bytes:
        """keccak256 of :attr:`public_bytes` (see :func:`key_fingerprint`)."""
        return keccak(self._public)

    def _agree(self, peer_public_key: bytes) -> bytes:
        # The X25519 shared secret with a peer; ValueError for a low-order point.
        return self._private.exchange(X25519PublicKey.from_public_bytes(peer_public_key))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EncryptionKeyPair):
            return NotImplemented
        return self._public == other._public

    def __hash__(self) -> int:
        return hash(self._public)

    def __repr__(self) -> str:
        # Never the private key: reprs end up in logs.
        return f"EncryptionKeyPair(public=0x{self._public.hex()})"


# --------------------------------------------------------------------------- envelope


class SealedReportDict(TypedDict):
    """A :class:`SealedReport` as JSON: the version and 0x-prefixed hex strings."""

    version: int
    recipient_fingerprint: str
    ephemeral_public_key: str
    wrap_nonce: str
    wrapped_key: str
    payload_nonce: str
    ciphertext: str


@dataclass(frozen=True)
class SealedReport:
    """An encrypted credit report addressed to one recipient key.

    Serialised (:meth:`to_bytes`), version 1 is, in order and without padding::

        magic                  4   b"YDCR"
        version                1   1
        recipient_fingerprint 32   keccak256 of the recipient's X25519 public key
        ephemeral_public_key  32   the sender's one-time X25519 public key
        wrap_nonce            12   GCM nonce of the wrapped data key
        wrapped_key           48   the data key under the key-encryption key, + tag
        payload_nonce         12   GCM nonce of the report
        ciphertext_length      4   big-endian length of the next field
        ciphertext             n   the report under the data key, + 16-byte tag

    Construction checks every length and raises :class:`ReportMalformed`.
    """

    version: int
    recipient_fingerprint: bytes
    ephemeral_public_key: bytes
    wrap_nonce: bytes
    wrapped_key: bytes
    payload_nonce: bytes
    ciphertext: bytes

    def __post_init__(self) -> None:
        if type(self.version) is not int or self.version != FORMAT_VERSION:
            raise ReportMalformed(
                f"unsupported format version {self.version!r} (this client reads {FORMAT_VERSION})"
            )
        for name, size in (
            ("recipient_fingerprint", KEY_BYTES),
            ("ephemeral_public_key", KEY_BYTES),
            ("wrap_nonce", NONCE_BYTES),
            ("wrapped_key", WRAPPED_KEY_BYTES),
            ("payload_nonce", NONCE_BYTES),
        ):
            value = getattr(self, name)
            if not isinstance(value, bytes) or len(value) != size:
                raise ReportMalformed(f"{name}: expected {size} bytes, {_length_problem(value)}")
        if not isinstance(self.ciphertext, bytes):
            raise ReportMalformed(
                f"ciphertext: expected bytes, got {type(self.ciphertext).__name__}"
            )
        if not TAG_BYTES <= len(self.ciphertext) <= MAX_PLAINTEXT_BYTES + TAG_BYTES:
            raise ReportMalformed(
                f"ciphertext: {len(self.ciphertext)} bytes, expected at least the "
                f"{TAG_BYTES}-byte tag and at most {MAX_PLAINTEXT_BYTES + TAG_BYTES}"
            )

    def __repr__(self) -> str:
        return (
            f"SealedReport(version={self.version}, "
            f"recipient_fingerprint=0x{self.recipient_fingerprint.hex()}, "
            f"ciphertext={len(self.ciphertext)} bytes, "
            f"ciphertext_hash=0x{self.ciphertext_hash.hex()})"
        )

    @property
    def header(self) -> bytes:
        """The serialised header (magic, version, fingerprint, ephemeral key).

        Bound as associated data into both GCM operations.
        """
        return _pack_header(self.version, self.recipient_fingerprint, self.ephemeral_public_key)

    def to_bytes(self) -> bytes:
        """The envelope's canonical serialisation (the layout in the class docstring)."""
        body = _BODY.pack(
            self.wrap_nonce, self.wrapped_key, self.payload_nonce, len(self.ciphertext)
        )
        return self.header + body + self.ciphertext

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> SealedReport:
        """Parse :meth:`to_bytes` output; raises :class:`ReportMalformed` on any deviation."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ReportMalformed(f"expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) < FIXED_BYTES:
            raise ReportMalformed(
                f"truncated: {len(data)} bytes, fewer than the {FIXED_BYTES}-byte fixed part"
            )
        magic, version, fingerprint, ephemeral = _HEADER.unpack_from(data, 0)
        if magic != MAGIC:
            raise ReportMalformed(f"bad magic 0x{magic.hex()}, expected 0x{MAGIC.hex()}")
        if version != FORMAT_VERSION:
            raise ReportMalformed(
                f"unsupported format version {version} (this client reads {FORMAT_VERSION})"
            )
        wrap_nonce, wrapped_key, payload_nonce, length = _BODY.unpack_from(data, _HEADER.size)
        ciphertext = data[FIXED_BYTES:]
        if len(ciphertext) != length:
            raise ReportMalformed(
                f"ciphertext length field says {length} bytes but {len(ciphertext)} follow"
            )
        return cls(
            version=version,
            recipient_fingerprint=fingerprint,
            ephemeral_public_key=ephemeral,
            wrap_nonce=wrap_nonce,
            wrapped_key=wrapped_key,
            payload_nonce=payload_nonce,
            ciphertext=ciphertext,
        )

    def to_dict(self) -> SealedReportDict:
        """The envelope as a JSON-friendly dict of 0x-prefixed hex strings."""
        return SealedReportDict(
            version=self.version,
            recipient_fingerprint="0x" + self.recipient_fingerprint.hex(),
            ephemeral_public_key="0x" + self.ephemeral_public_key.hex(),
            wrap_nonce="0x" + self.wrap_nonce.hex(),
            wrapped_key="0x" + self.wrapped_key.hex(),
            payload_nonce="0x" + self.payload_nonce.hex(),
            ciphertext="0x" + self.ciphertext.hex(),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SealedReport:
        """Parse :meth:`to_dict` output (``0x`` prefixes optional).

        Raises :class:`ReportMalformed` on a missing or extra key, bad hex or bad length.
        """
        if not isinstance(data, Mapping):
            raise ReportMalformed(f"expected a mapping, got {type(data).__name__}")
        expected = set(SealedReportDict.__annotations__)
        if set(data) != expected:
            missing = sorted(expected - set(data))
            extra = sorted(set(data) - expected)
            raise ReportMalformed(f"keys differ: missing {missing}, unexpected {extra}")
        return cls(
            version=data["version"],
            recipient_fingerprint=_from_hex(data, "recipient_fingerprint"),
            ephemeral_public_key=_from_hex(data, "ephemeral_public_key"),
            wrap_nonce=_from_hex(data, "wrap_nonce"),
            wrapped_key=_from_hex(data, "wrapped_key"),
            payload_nonce=_from_hex(data, "payload_nonce"),
            ciphertext=_from_hex(data, "ciphertext"),
        )

    @property
    def ciphertext_hash(self) -> bytes:
        """keccak256 of :meth:`to_bytes`: the value logged on chain for this envelope."""
        return keccak(self.to_bytes())


# --------------------------------------------------------------------------- seal / open


def seal_report(
    plaintext: bytes, recipient_public_key: bytes, *, context: bytes = b""
) -> SealedReport:
    """Encrypt a credit report so that only the holder of the recipient's key can read it.

    ``recipient_public_key`` is the recipient's 32-byte X25519 public key as
    published on chain. ``context`` is authenticated but not encrypted: pass
    the same bytes to :func:`open_report` (e.g. query-log id, sender and
    recipient) so the envelope cannot be replayed under another query. Each
    call uses a fresh data key, ephemeral key and nonces, so sealing the same
    report twice gives different envelopes.

    Raises :class:`InvalidEncryptionKey` for a key that is not 32 bytes or is a
    low-order point, :class:`InvalidSharingInput` for non-bytes input or a
    report over :data:`MAX_PLAINTEXT_BYTES`.
    """
    _check_bytes(plaintext, "plaintext")
    _check_bytes(context, "context")
    if len(plaintext) > MAX_PLAINTEXT_BYTES:
        raise InvalidSharingInput(
            f"plaintext of {len(plaintext)} bytes exceeds {MAX_PLAINTEXT_BYTES} bytes"
        )
    _check_public_key(recipient_public_key, "recipient public key")
    recipient = X25519PublicKey.from_public_bytes(recipient_public_key)

    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = ephemeral.public_key().public_bytes_raw()
    try:
        shared = ephemeral.exchange(recipient)
    except ValueError:
        # OpenSSL refuses an all-zero shared secret, which only a low-order
        # point produces; such a key would let anyone read the report.
        raise InvalidEncryptionKey(
            "recipient public key", "it is a low-order X25519 point"
        ) from None

    data_key = AESGCM.generate_key(bit_length=256)
    fingerprint = keccak(recipient_public_key)
    wrap_nonce = os.urandom(NONCE_BYTES)
    payload_nonce = os.urandom(NONCE_BYTES)
    header = _pack_header(FORMAT_VERSION, fingerprint, ephemeral_public)
    kek = _derive_kek(shared, ephemeral_public, recipient_public_key)
    # The data key is wrapped with AES-GCM rather than AES key wrap (RFC 3394/5649):
    # key wrap takes no associated data, so it could not bind the context and the
    # header, and GCM is the primitive the payload needs anyway. The key-encryption
    # key is used exactly once (fresh ephemeral key per envelope), so the random
    # nonce's 12 bytes are the whole cost over key wrap's 8-byte check value.
    wrapped_key = AESGCM(kek).encrypt(wrap_nonce, data_key, header + _AAD_WRAP + bytes(context))
    ciphertext = AESGCM(data_key).encrypt(
        payload_nonce, bytes(plaintext), header + _AAD_PAYLOAD + bytes(context)
    )
    return SealedReport(
        version=FORMAT_VERSION,
        recipient_fingerprint=fingerprint,
        ephemeral_public_key=ephemeral_public,
        wrap_nonce=wrap_nonce,
        wrapped_key=wrapped_key,
        payload_nonce=payload_nonce,
        ciphertext=ciphertext,
    )


def open_report(
    sealed: SealedReport,
    recipient: EncryptionKeyPair,
    *,
    context: bytes = b"",
    expected_hash: bytes | None = None,
    expected_plaintext_hash: bytes | None = None,
) -> bytes:
    """Decrypt and authenticate a sealed credit report; returns the report bytes.

    Checks, in this order, raising the first that fails:

    - ``expected_hash`` (the ciphertext hash logged on chain), if given, equals
      ``sealed.ciphertext_hash``, else :class:`ReportHashMismatch`;
    - the envelope names ``recipient``'s key, else :class:`ReportWrongKey`;
    - both GCM operations authenticate under ``context``, else :class:`ReportTampered`;
    - ``expected_plaintext_hash`` (the attestation's on-chain dataHash), if
      given, equals keccak256 of the report, else :class:`ReportContentMismatch`.

    Raises :class:`InvalidSharingInput` if an expected hash is not 32 bytes.
    """
    if not isinstance(sealed, SealedReport):
        raise InvalidSharingInput(f"sealed: expected a SealedReport, got {type(sealed).__name__}")
    if not isinstance(recipient, EncryptionKeyPair):
        raise InvalidSharingInput(
            f"recipient: expected an EncryptionKeyPair, got {type(recipient).__name__}"
        )
    _check_bytes(context, "context")
    if expected_hash is not None:
        _check_hash(expected_hash, "expected_hash")
    if expected_plaintext_hash is not None:
        _check_hash(expected_plaintext_hash, "expected_plaintext_hash")

    if expected_hash is not None:
        actual_hash = sealed.ciphertext_hash
        if actual_hash != expected_hash:
            raise ReportHashMismatch(expected=bytes(expected_hash), actual=actual_hash)
    if sealed.recipient_fingerprint != recipient.fingerprint:
        raise ReportWrongKey(sealed_for=sealed.recipient_fingerprint, key=recipient.fingerprint)

    header = sealed.header
    try:
        shared = recipient._agree(sealed.ephemeral_public_key)
    except ValueError:
        # An honest sender never produces a low-order ephemeral key.
        raise ReportTampered("ephemeral public key") from None
    kek = _derive_kek(shared, sealed.ephemeral_public_key, recipient.public_bytes)
    try:
        data_key = AESGCM(kek).decrypt(
            sealed.wrap_nonce, sealed.wrapped_key, header + _AAD_WRAP + bytes(context)
        )
    except InvalidTag:
        raise ReportTampered("wrapped data key") from None
    try:
        plaintext = AESGCM(data_key).decrypt(
            sealed.payload_nonce, sealed.ciphertext, header + _AAD_PAYLOAD + bytes(context)
        )
    except InvalidTag:
        raise ReportTampered("report ciphertext") from None

    if expected_plaintext_hash is not None:
        actual = keccak(plaintext)
        if actual != expected_plaintext_hash:
            raise ReportContentMismatch(expected=bytes(expected_plaintext_hash), actual=actual)
    return plaintext


# --------------------------------------------------------------------------- helpers


def _pack_header(version: int, fingerprint: bytes, ephemeral_public: bytes) -> bytes:
    return _HEADER.pack(MAGIC, version, fingerprint, ephemeral_public)


def _derive_kek(shared: bytes, ephemeral_public: bytes, recipient_public: bytes) -> bytes:
    # The raw public-key bytes go into the info, not just the shared secret:
    # X25519 ignores the top bit of a public key, so two encodings give the same
    # secret, and binding the bytes makes any change to them fail authentication.
    return HKDF(
        algorithm=hashes.SHA256(),
        length=KEY_BYTES,
        salt=None,
        info=KDF_INFO + ephemeral_public + recipient_public,
    ).derive(shared)


def _check_public_key(public_key: object, what: str) -> None:
    if not isinstance(public_key, bytes) or len(public_key) != KEY_BYTES:
        raise InvalidEncryptionKey(f"{what} (X25519)", _length_problem(public_key))


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes) or len(value) != KEY_BYTES:
        raise InvalidSharingInput(f"{what} must be a 32-byte hash, {_length_problem(value)}")


def _check_bytes(value: object, what: str) -> None:
    if not isinstance(value, bytes | bytearray | memoryview):
        raise InvalidSharingInput(f"{what}: expected bytes, got {type(value).__name__}")


def _length_problem(value: object) -> str:
    if isinstance(value, bytes):
        return f"got {len(value)} bytes"
    return f"got {type(value).__name__}"


def _from_hex(data: Mapping[str, Any], name: str) -> bytes:
    value = data[name]
    if not isinstance(value, str):
        raise ReportMalformed(f"{name}: expected a hex string, got {type(value).__name__}")
    text = value[2:] if value[:2] in ("0x", "0X") else value
    # bytes.fromhex would also accept spaces; the dict form is as strict as the bytes.
    if len(text) % 2 or not _HEX.fullmatch(text):
        raise ReportMalformed(f"{name}: not an even-length hex string")
    return bytes.fromhex(text)
