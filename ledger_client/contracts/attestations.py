"""The attestation contract: schemas, attestations, signed attestations, Merkle batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_hash.auto import keccak

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.merkle import anchored_batch_id
from ledger_client.attestations.records import Schema, record_hash, record_subject
from ledger_client.contracts.base import Call, ContractFacade, TxResult
from ledger_client.errors import LedgerConnectionError
from ledger_client.identity.eip712 import Domain, recover_typed, sign_typed
from ledger_client.types import (
    AttestationFields,
    AttestationInfo,
    AttestRequest,
    BatchEntry,
    BatchInfo,
    Hash32,
    RegisteredSchema,
    SubjectId,
    Validity,
)

if TYPE_CHECKING:
    from ledger_client.attestations.signed_records import SignedRecord

ZERO32 = bytes(32)
EIP712_NAME = "YRD Credit Attestations"
EIP712_VERSION = "1"
ATTEST_TYPES: dict[str, list[dict[str, str]]] = {
    "Attest": [
        {"name": "schema", "type": "bytes32"},
        {"name": "subject", "type": "bytes32"},
        {"name": "dataHash", "type": "bytes32"},
        {"name": "expiry", "type": "uint40"},
        {"name": "refUID", "type": "bytes32"},
        {"name": "attester", "type": "address"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def schema_id(schema: Schema) -> bytes:
    """The on-chain id of a schema: keccak256(abi.encode(name, layout, revocable))."""
    return keccak(
        abi_encode(["string", "string", "bool"], [schema.name, schema.layout, schema.revocable])
    )


def compute_uid(
    schema: bytes,
    fields: AttestationFields,
    attester: str,
    attested_at: int,
    expiry: int,
) -> bytes:
    """The UID the contract gives an attestation (see ``IAttestations.attest``)."""
    return keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "bytes32", "address", "uint256", "uint256"],
            [
                schema,
                bytes(fields.subject),
                bytes(fields.data_hash),
                fields.ref_uid,
                to_checksum_address(attester),
                attested_at,
                expiry,
            ],
        )
    )


def batch_record_id(batch_id: bytes, leaf: bytes) -> bytes:
    """A batch record's id: keccak256(abi.encode(batchId, leaf)), disjoint from UIDs."""
    return keccak(bytes(batch_id) + bytes(leaf))


@dataclass(frozen=True)
class BatchRecordRef:
    """A record of a batch as the chain resolves it from its ingredients."""

    record_id: bytes  # keccak256(abi.encode(batchId, leaf)): what disputes and status name
    attester: str  # the batch's attester (unsigned) or the record's signer (signed)
    subject: bytes  # the enterprise it is about


@dataclass(frozen=True)
class Attested:
    """A mined attestation."""

    uid: bytes
    tx: TxResult

    @property
    def gas_used(self) -> int:
        """Gas the transaction used."""
        return self.tx.gas_used


@dataclass(frozen=True)
class Anchored:
    """A mined batch anchor."""

    batch_id: bytes
    tx: TxResult


class AttestationsContract(ContractFacade):
    """Typed calls to ``Attestations.sol``."""

    contract_name: ClassVar[str] = "Attestations"

    @property
    def domain(self) -> Domain:
        """The EIP-712 domain of delegated attestations on this deployment."""
        return Domain(EIP712_NAME, EIP712_VERSION, self.chain.chain_id, self.address)

    # -- schemas ------------------------------------------------------------------
    def register_schema(self, regulator: LocalAccount, schema: Schema) -> bytes:
        """Register ``schema`` (regulator only); return its id."""
        result = self._send(
            regulator, "registerSchema", schema.name, schema.layout, schema.revocable
        )
        registered: bytes = result.event("SchemaRegistered").args["schema"]
        return registered

    def schema(self, schema: bytes | Schema) -> RegisteredSchema | None:
        """A registered schema by id (or by its Python definition), or None."""
        sid = schema_id(schema) if isinstance(schema, Schema) else schema
        ((revocable, index, registered_at, regulator, name, layout),) = self._read("schema", sid)
        if index == 0:
            return None
        return RegisteredSchema(sid, name, layout, revocable, index, registered_at, regulator)

    def schemas(self) -> list[RegisteredSchema]:
        """Every registered schema, in registration order."""
        (count,) = self._read("schemaCount")
        out = []
        for i in range(1, count + 1):
            (sid,) = self._read("schemaAt", i)
            s = self.schema(sid)
            if s is not None:
                out.append(s)
        return out

    # -- attestations -------------------------------------------------------------
    def attest(
        self,
        attester: LocalAccount,
        schema: bytes | Schema,
        subject: SubjectId | bytes,
        data_hash: Hash32 | bytes,
        *,
        expiry: int = 0,
        ref_uid: bytes = ZERO32,
    ) -> Attested:
        """Attest to a record's hash about ``subject`` (attester role)."""
        sid = schema_id(schema) if isinstance(schema, Schema) else schema
        result = self._send(
            attester, "attest", sid, bytes(subject), bytes(data_hash), expiry, ref_uid
        )
        return Attested(result.event("Attested").args["uid"], result)

    def attest_record(
        self,
        attester: LocalAccount,
        schema: Schema,
        record: Mapping[str, object],
        *,
        expiry: int = 0,
        ref_uid: bytes = ZERO32,
    ) -> Attested:
        """Validate ``record`` against ``schema``, hash it, and attest to the hash.

        The record's ``subject`` field names the enterprise; the record itself
        never leaves this process.
        """
        data_hash = record_hash(schema, record)
        subject = record_subject(record)
        return self.attest(attester, schema, subject, data_hash, expiry=expiry, ref_uid=ref_uid)

    def sign_attest_request(
        self, attester: LocalAccount, request: AttestRequest, nonce: int, deadline: int
    ) -> bytes:
        """The attester's EIP-712 signature of ``request``, for anyone to relay."""
        return sign_typed(
            attester,
            self.domain,
            ATTEST_TYPES,
            "Attest",
            attest_message(request, attester.address, nonce, deadline),
        )

    def recover_attest_signer(
        self, request: AttestRequest, attester: str, nonce: int, deadline: int, signature: bytes
    ) -> str:
        """Who signed ``request`` (off-chain check before relaying)."""
        return recover_typed(
            signature,
            self.domain,
            ATTEST_TYPES,
            "Attest",
            attest_message(request, attester, nonce, deadline),
        )

    def attest_by_sig(
        self,
        relayer: LocalAccount,
        request: AttestRequest,
        *,
        attester: str,
        nonce: int,
        deadline: int,
        signature: bytes,
    ) -> Attested:
        """Relay a signed attestation; the chain records ``attester`` as its author."""
        call = self.attest_by_sig_call(request, attester, nonce, deadline, signature)
        result = self.send_call(relayer, call)
        return Attested(result.event("Attested").args["uid"], result)

    def attest_by_sig_call(
        self, request: AttestRequest, attester: str, nonce: int, deadline: int, signature: bytes
    ) -> Call:
        """``attestBySig`` of a signed attestation, encoded: what a relayer sends."""
        req = (
            request.schema,
            bytes(request.subject),
            bytes(request.data_hash),
            request.expiry,
            request.ref_uid,
        )
        return self._call("attestBySig", req, attester, nonce, deadline, signature)

    def signed_record_call(self, record: SignedRecord) -> Call:
        """``attestBySig`` of one signed record, encoded."""
        return self.attest_by_sig_call(
            record.request, record.signer, record.nonce, record.deadline, record.signature
        )

    def revoke_call(self, uid: bytes, reason: bytes = ZERO32) -> Call:
        """``revoke``, encoded: its attester or a regulator signs it."""
        return self._call("revoke", bytes(uid), bytes(reason))

    def revoke(self, revoker: LocalAccount, uid: bytes, reason: bytes = ZERO32) -> TxResult:
        """Revoke an attestation (its attester, or a regulator); ``reason`` is a 32-byte code."""
        return self.send_call(revoker, self.revoke_call(uid, reason))

    def replace_call(
        self, old_uid: bytes, old: AttestationFields, data_hash: Hash32 | bytes, expiry: int = 0
    ) -> Call:
        """``replace``, encoded: the attester corrects a record."""
        fields = (bytes(old.subject), bytes(old.data_hash), bytes(old.ref_uid))
        return self._call("replace", bytes(old_uid), fields, bytes(data_hash), expiry)

    def replace(
        self,
        attester: LocalAccount,
        old_uid: bytes,
        old: AttestationFields,
        data_hash: Hash32 | bytes,
        *,
        expiry: int = 0,
    ) -> Attested:
        """Replace an attestation with a corrected record of the same schema and subject."""
        result = self.send_call(attester, self.replace_call(old_uid, old, data_hash, expiry))
        return Attested(result.event("Attested").args["uid"], result)

    # -- batches ------------------------------------------------------------------
    def anchor_batch(
        self,
        attester: LocalAccount,
        schema: bytes | Schema,
        root: bytes,
        count: int,
        *,
        expiry: int = 0,
    ) -> Anchored:
        """Anchor ``count`` records of one schema as one Merkle root (attester role)."""
        sid = schema_id(schema) if isinstance(schema, Schema) else schema
        result = self._send(attester, "anchorBatch", sid, root, count, expiry)
        return Anchored(anchored_batch_id(result.event("BatchAnchored").args), result)

    def anchor_signed_batch(
        self,
        relayer: LocalAccount,
        schema: bytes | Schema,
        records: Sequence[SignedRecord],
        *,
        expiry: int = 0,
        gas: int | None = None,
    ) -> Anchored:
        """Anchor, as a relayer, records each signed by its own attester (relayer role).

        The chain spends each record's nonce, checks its deadline and signer, and builds the
        root over ``[r.leaf() for r in records]`` in this order (``merkle.MerkleTree``).
        """
        sid = schema_id(schema) if isinstance(schema, Schema) else schema
        call = self.signed_batch_call(sid, records, expiry=expiry)
        result = self.send_call(relayer, call, gas=gas)
        return Anchored(anchored_batch_id(result.event("BatchAnchored").args), result)

    def signed_batch_call(
        self, schema: bytes, records: Sequence[SignedRecord], *, expiry: int = 0
    ) -> Call:
        """``anchorSignedBatch`` of ``records`` (one schema and expiry), encoded."""
        hashes, claims = signed_batch_args(records)
        return self._call("anchorSignedBatch", bytes(schema), expiry, hashes, claims)

    def revoke_batch_record_call(
        self, batch_id: bytes, entry: BatchEntry, proof: Sequence[bytes], reason: bytes = ZERO32
    ) -> Call:
        """``revokeBatchRecord``, encoded: the record's attester or a regulator signs it."""
        return self._call(
            "revokeBatchRecord", bytes(batch_id), entry.as_tuple(), list(proof), bytes(reason)
        )

    def replace_batch_record_call(
        self,
        batch_id: bytes,
        entry: BatchEntry,
        proof: Sequence[bytes],
        data_hash: Hash32 | bytes,
        expiry: int = 0,
    ) -> Call:
        """``replaceBatchRecord``, encoded: the record's attester corrects it."""
        return self._call(
            "replaceBatchRecord",
            bytes(batch_id),
            entry.as_tuple(),
            list(proof),
            bytes(data_hash),
            expiry,
        )

    def revoke_batch_record(
        self,
        revoker: LocalAccount,
        batch_id: bytes,
        entry: BatchEntry,
        proof: Sequence[bytes],
        reason: bytes = ZERO32,
    ) -> TxResult:
        """Revoke one record of a batch (its attester or a regulator), leaving the others."""
        return self.send_call(
            revoker, self.revoke_batch_record_call(batch_id, entry, proof, reason)
        )

    def replace_batch_record(
        self,
        attester: LocalAccount,
        batch_id: bytes,
        entry: BatchEntry,
        proof: Sequence[bytes],
        data_hash: Hash32 | bytes,
        *,
        expiry: int = 0,
    ) -> Attested:
        """Correct one record of a batch (its attester): a new attestation referring to it."""
        call = self.replace_batch_record_call(batch_id, entry, proof, data_hash, expiry)
        result = self.send_call(attester, call)
        return Attested(result.event("Attested").args["uid"], result)

    # -- reads --------------------------------------------------------------------
    def validity(self, uid: bytes, block: int | str = "latest") -> Validity:
        """Whether an attestation is in force, and if not, why."""
        (v,) = self._read("validity", uid, block=block)
        return Validity(v)

    def batch_record_validity(
        self,
        batch_id: bytes,
        entry: BatchEntry,
        proof: Sequence[bytes],
        block: int | str = "latest",
    ) -> Validity:
        """Whether a record of a batch is in force (UNKNOWN when it is not in the batch)."""
        (v,) = self._read(
            "batchRecordValidity", batch_id, entry.as_tuple(), list(proof), block=block
        )
        return Validity(v)

    def batch_record(
        self, batch_id: bytes, entry: BatchEntry, proof: Sequence[bytes]
    ) -> BatchRecordRef:
        """The record's id, attester and subject; AttestationsNotInBatch when it is not there."""
        record_id, attester, subject = self._read(
            "batchRecord", batch_id, entry.as_tuple(), list(proof)
        )
        return BatchRecordRef(record_id, to_checksum_address(attester), subject)

    def record_status(self, uid: bytes) -> tuple[int, bytes | None]:
        """(revokedAt, replacedBy) of an attestation or a batch record's id."""
        ((_, _, _, revoked_at, _, replaced_by),) = self._read("attestation", uid)
        return int(revoked_at), None if replaced_by == ZERO32 else replaced_by

    def attestation(self, uid: bytes, block: int | str = "latest") -> AttestationInfo | None:
        """The stored facts of an attestation, or None when there is none."""
        ((attester, attested_at, expiry, revoked_at, schema, replaced_by),) = self._read(
            "attestation", uid, block=block
        )
        if int(attester, 16) == 0:
            return None
        return AttestationInfo(
            uid=uid,
            attester=attester,
            attested_at=attested_at,
            expiry=expiry,
            revoked_at=revoked_at,
            schema=schema,
            replaced_by=None if replaced_by == ZERO32 else replaced_by,
        )

    def batch(self, batch_id: bytes) -> BatchInfo | None:
        """The facts of a batch, or None when there is none.

        The chain stores one slot per batch, keyed by its id (``batch_id_of(root,
        anchorer)``): anchorer, time, expiry, schema and whether it is signed; the root and
        count come from its BatchAnchored event, found in the block mined at its time.
        """
        ((anchorer, anchored_at, expiry, signed, schema),) = self._read("batch", batch_id)
        if int(anchorer, 16) == 0:
            return None
        root, count = self._anchored_root_and_count(batch_id, int(anchored_at))
        return BatchInfo(batch_id, anchorer, anchored_at, expiry, count, signed, schema, root)

    def _anchored_root_and_count(self, batch_id: bytes, anchored_at: int) -> tuple[bytes, int]:
        """A batch's root and count, from its BatchAnchored event in the block mined at its
        time."""
        backend = self.chain.backend
        latest = backend.block_number()
        lo, hi = 0, latest
        while lo < hi:  # block times never decrease: the first block at anchored_at
            mid = (lo + hi) // 2
            if backend.block(mid).timestamp < anchored_at:
                lo = mid + 1
            else:
                hi = mid
        # A node may mine several blocks in one second (anvil does): read them all.
        block = lo
        while block <= latest and backend.block(block).timestamp == anchored_at:
            for receipt in backend.receipts_in_block(block):
                for event in self.decode_events(receipt):
                    if event.name == "BatchAnchored" and anchored_batch_id(event.args) == bytes(
                        batch_id
                    ):
                        return bytes(event.args["root"]), int(event.args["count"])
            block += 1
        raise LedgerConnectionError(
            f"batch 0x{bytes(batch_id).hex()} has no BatchAnchored event at {anchored_at}"
        )

    def matches(self, uid: bytes, fields: AttestationFields) -> bool:
        """True when ``uid`` is an attestation committing to ``fields``."""
        (ok,) = self._read(
            "matches", uid, (bytes(fields.subject), bytes(fields.data_hash), fields.ref_uid)
        )
        return bool(ok)

    def nonce_used(self, attester: str, nonce: int) -> bool:
        """True when ``attester`` has used ``nonce`` for a signed attestation."""
        (used,) = self._read("nonceUsed", attester, nonce)
        return bool(used)

    # -- disputes hook (written by Disputes.sol) ------------------------------------
    def dispute_deadline(self, uid: bytes) -> int:
        """The deadline of the record's open dispute (UNIX seconds); 0 when none is open."""
        (deadline,) = self._read("disputeDeadline", uid)
        return int(deadline)


def attest_message(
    request: AttestRequest, attester: str, nonce: int, deadline: int
) -> dict[str, Any]:
    return {
        "schema": request.schema,
        "subject": bytes(request.subject),
        "dataHash": bytes(request.data_hash),
        "expiry": request.expiry,
        "refUID": request.ref_uid,
        "attester": to_checksum_address(attester),
        "nonce": nonce,
        "deadline": deadline,
    }


def signed_batch_args(records: Sequence[SignedRecord]) -> tuple[list[bytes], list[int]]:
    """``anchorSignedBatch``'s (recordHashes, claims) for ``records``, in order.

    A record whose nonce or deadline does not fit a claim raises ``NotBatchable``.
    """
    return [bytes(r.record_hash()) for r in records], [r.claim() for r in records]


def signed_batch_gas(records: Sequence[SignedRecord]) -> int:
    """A gas limit that covers ``anchorSignedBatch`` of ``records``: a base, each record's
    calldata, hashing and event data, a nonce word per run of one (signer, word) (a fresh
    storage slot at worst) and a consortium call per run of one signer."""
    words = signers = 0
    last_word: tuple[str, int] | None = None
    last_signer: str | None = None
    for r in records:
        if (r.signer, r.nonce >> 8) != last_word:
            words, last_word = words + 1, (r.signer, r.nonce >> 8)
        if r.signer != last_signer:
            signers, last_signer = signers + 1, r.signer
    return 120_000 + 4_000 * len(records) + 25_000 * words + 6_000 * signers
