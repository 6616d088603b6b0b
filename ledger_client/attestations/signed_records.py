"""Records signed by their own attester, for relaying one by one or in a signed batch.

The signature is the attester's EIP-712 ``Attest`` over the record (the same
message ``attestBySig`` takes), so one signature serves either path. The
digest is computed here directly (domain separator precomputed, keccak256 of
ABI-encoded words) because the API checks every submission on its accept path,
where eth-account's general typed-data encoder is too slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from coincurve import PublicKey
from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak
from eth_typing import Hash32 as EthHash32

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.merkle import leaf_hash
from ledger_client.errors import LedgerValueError
from ledger_client.identity.eip712 import Domain, SignatureError
from ledger_client.types import AttestRequest, BatchEntry, Hash32

#: A record that goes into a signed batch packs its nonce and deadline into one claim word
#: (``IAttestations.anchorSignedBatch``): nonce < 2**56, deadline < 2**40.
MAX_BATCH_NONCE = (1 << 56) - 1
MAX_BATCH_DEADLINE = (1 << 40) - 1


class NotBatchable(LedgerValueError):
    """A signed record's nonce or deadline does not fit a signed batch's claim word."""

    def __init__(self, nonce: int, deadline: int) -> None:
        self.nonce = nonce
        self.deadline = deadline
        super().__init__(
            f"a record in a signed batch needs nonce < 2**56 and deadline < 2**40, got nonce "
            f"{nonce} and deadline {deadline}"
        )


_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
ATTEST_TYPEHASH = keccak(
    b"Attest(bytes32 schema,bytes32 subject,bytes32 dataHash,uint40 expiry,bytes32 refUID,"
    b"address attester,uint256 nonce,uint256 deadline)"
)


def domain_separator(domain: Domain) -> bytes:
    """The EIP-712 domain separator (what the contract's ``domainSeparator()`` returns)."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            [
                _DOMAIN_TYPEHASH,
                keccak(domain.name.encode()),
                keccak(domain.version.encode()),
                domain.chain_id,
                to_checksum_address(domain.verifying_contract),
            ],
        )
    )


def attest_digest(
    separator: bytes, request: AttestRequest, attester: str, nonce: int, deadline: int
) -> bytes:
    """The digest an attester signs for ``request``."""
    struct = keccak(
        abi_encode(
            ["bytes32"] * 4 + ["uint40", "bytes32", "address", "uint256", "uint256"],
            [
                ATTEST_TYPEHASH,
                request.schema,
                bytes(request.subject),
                bytes(request.data_hash),
                request.expiry,
                request.ref_uid,
                to_checksum_address(attester),
                nonce,
                deadline,
            ],
        )
    )
    return keccak(b"\x19\x01" + separator + struct)


def recover(digest: bytes, signature: bytes) -> str:
    """The address that signed ``digest``; malformed and high-s signatures are refused."""
    return to_checksum_address(recover_address_bytes(digest, signature))


def recover_address_bytes(digest: bytes, signature: bytes) -> bytes:
    """The 20-byte address that signed ``digest`` (no checksum: the API's hot path)."""
    if len(signature) != 65:
        raise SignatureError(f"a signature has 65 bytes, got {len(signature)}")
    s = int.from_bytes(signature[32:64], "big")
    v = signature[64]
    if s > _SECP256K1_N // 2:
        raise SignatureError("high-s signature refused (malleable form)")
    if v not in (27, 28):
        raise SignatureError(f"signature v must be 27 or 28, got {v}")
    try:
        # coincurve directly: the same libsecp256k1 eth-keys would reach, without
        # the object layers around it (half the time per recovery).
        public = PublicKey.from_signature_and_message(
            signature[:64] + bytes([v - 27]), digest, hasher=None
        ).format(compressed=False)
    except (ValueError, TypeError) as exc:
        raise SignatureError(f"unrecoverable signature: {exc}") from exc
    return keccak(public[1:])[-20:]


@dataclass(frozen=True)
class SignedRecord:
    """A record hash about a subject, signed by its attester (EIP-712 ``Attest``)."""

    request: AttestRequest  # schema, subject, record hash, expiry, refUID
    signer: str  # the attester, checksum address
    nonce: int
    deadline: int  # UNIX seconds
    signature: bytes  # 65 bytes, low s

    @classmethod
    def sign(
        cls,
        signer: LocalAccount,
        separator: bytes,
        request: AttestRequest,
        nonce: int,
        deadline: int,
    ) -> SignedRecord:
        """Sign ``request`` as ``signer``."""
        digest = attest_digest(separator, request, signer.address, nonce, deadline)
        sig = signer.unsafe_sign_hash(EthHash32(digest))
        return cls(request, signer.address, nonce, deadline, bytes(sig.signature))

    def recover(self, separator: bytes) -> str:
        """Who really signed it."""
        return recover(
            attest_digest(separator, self.request, self.signer, self.nonce, self.deadline),
            self.signature,
        )

    def signed_by_signer(self, separator: bytes) -> bool:
        """True when the signature is the named signer's (the fast check)."""
        digest = attest_digest(separator, self.request, self.signer, self.nonce, self.deadline)
        return recover_address_bytes(digest, self.signature) == bytes.fromhex(self.signer[2:])

    @property
    def batchable(self) -> bool:
        """True when its nonce and deadline fit a signed batch's claim word."""
        return 0 <= self.nonce <= MAX_BATCH_NONCE and 0 <= self.deadline <= MAX_BATCH_DEADLINE

    def record_hash(self) -> Hash32:
        """keccak256(abi.encode(subject, dataHash, keccak256(signature))): its record hash."""
        return signed_record_hash(
            bytes(self.request.subject), bytes(self.request.data_hash), self.signature
        )

    def claim(self) -> int:
        """signer << 96 | deadline << 56 | nonce; :class:`NotBatchable` when they do not fit."""
        return batch_claim(self.signer, self.nonce, self.deadline)

    def leaf(self) -> Hash32:
        """Its leaf in a signed batch, as the chain computes it from (record hash, claim)."""
        return signed_leaf(self.record_hash(), self.claim())

    def entry(self) -> BatchEntry:
        """Its ingredients, which the chain needs to find it in a signed batch."""
        r = self.request
        return BatchEntry(
            bytes(r.subject),
            bytes(r.data_hash),
            self.signer,
            self.nonce,
            self.deadline,
            self.signature,
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (hex strings)."""
        r = self.request
        return {
            "schema": "0x" + r.schema.hex(),
            "subject": "0x" + bytes(r.subject).hex(),
            "data_hash": "0x" + bytes(r.data_hash).hex(),
            "expiry": r.expiry,
            "ref_uid": "0x" + r.ref_uid.hex(),
            "signer": self.signer,
            "nonce": self.nonce,
            "deadline": self.deadline,
            "signature": "0x" + self.signature.hex(),
        }

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> SignedRecord:
        """Read the JSON form."""
        return cls(
            AttestRequest(
                schema=bytes.fromhex(doc["schema"][2:]),
                subject=bytes.fromhex(doc["subject"][2:]),
                data_hash=bytes.fromhex(doc["data_hash"][2:]),
                expiry=int(doc["expiry"]),
                ref_uid=bytes.fromhex(doc["ref_uid"][2:]),
            ),
            signer=to_checksum_address(doc["signer"]),
            nonce=int(doc["nonce"]),
            deadline=int(doc["deadline"]),
            signature=bytes.fromhex(doc["signature"][2:]),
        )


def signed_record_hash(subject: bytes, data_hash: bytes, signature: bytes) -> Hash32:
    """keccak256(abi.encode(subject, dataHash, keccak256(signature)))."""
    return Hash32(keccak(bytes(subject) + bytes(data_hash) + keccak(bytes(signature))))


def batch_claim(signer: str, nonce: int, deadline: int) -> int:
    """The claim word of a signed batch's record: signer << 96 | deadline << 56 | nonce."""
    if not (0 <= nonce <= MAX_BATCH_NONCE and 0 <= deadline <= MAX_BATCH_DEADLINE):
        raise NotBatchable(nonce, deadline)
    return int(signer, 16) << 96 | deadline << 56 | nonce


def split_claim(claim: int) -> tuple[str, int, int]:
    """(signer, nonce, deadline) of a claim word."""
    signer = to_checksum_address((claim >> 96).to_bytes(20, "big"))
    return signer, claim & MAX_BATCH_NONCE, (claim >> 56) & MAX_BATCH_DEADLINE


def signed_leaf(record_hash: bytes, claim: int) -> Hash32:
    """keccak256(keccak256(abi.encode(recordHash, claim))): a signed batch's leaf."""
    return leaf_hash(bytes(record_hash) + claim.to_bytes(32, "big"))
