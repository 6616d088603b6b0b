"""Anchoring many records as one Merkle root, and proving one of them later.

An unsigned batch's leaf is ``keccak256(keccak256(subject ‖ dataHash))`` — the
double hash of ``abi.encode(bytes32 subject, bytes32 dataHash)``; a signed batch's
is ``keccak256(keccak256(recordHash ‖ claim))`` (``signed_records.signed_leaf``),
whose tree the chain builds itself. Either way the contract computes a leaf from
the record's ingredients (:class:`~ledger_client.types.BatchEntry`), never takes
it as given, so an inner node never passes for a record. Leaves keep the batch's
order; see :mod:`ledger_client.attestations.merkle`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount

from ledger_client.attestations.merkle import MerkleTree, leaf_hash, verify_proof
from ledger_client.attestations.records import RecordError, Schema, record_hash, record_subject
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.attestations import AttestationsContract
from ledger_client.contracts.base import TxResult
from ledger_client.errors import LedgerValueError
from ledger_client.types import BatchEntry, Hash32

#: The most records one batch may hold (the contract's MAX_BATCH): a tree of depth 16,
#: so a record's proof is at most 16 hashes.
MAX_BATCH = 65_536


def batch_leaf(subject: bytes, data_hash: bytes) -> Hash32:
    """The leaf of a record in a batch."""
    if len(subject) != 32 or len(data_hash) != 32:
        raise LedgerValueError("a batch leaf takes a 32-byte subject and a 32-byte record hash")
    return leaf_hash(subject + data_hash)  # == abi.encode(bytes32, bytes32)


@dataclass(frozen=True)
class PreparedBatch:
    """Records validated and hashed, and their tree, ready to anchor."""

    schema: Schema
    subjects: tuple[bytes, ...]
    data_hashes: tuple[bytes, ...]
    tree: MerkleTree

    def __len__(self) -> int:
        return len(self.subjects)


@dataclass(frozen=True)
class AnchoredBatch:
    """A batch on chain, with what is needed to prove any of its records."""

    batch_id: bytes
    prepared: PreparedBatch
    tx: TxResult

    @property
    def root(self) -> bytes:
        """The Merkle root anchored."""
        return self.prepared.tree.root

    def leaf(self, index: int) -> bytes:
        """The leaf of record ``index``."""
        return self.prepared.tree.leaf(index)

    def proof(self, index: int) -> list[bytes]:
        """The inclusion proof of record ``index``."""
        return list(self.prepared.tree.proof(index))

    def entry(self, index: int) -> BatchEntry:
        """The ingredients of record ``index`` (what the chain needs to find it)."""
        p = self.prepared
        return BatchEntry(p.subjects[index], p.data_hashes[index])

    def proof_for(self, index: int) -> BatchProof:
        """What the holder of record ``index`` keeps to prove it later."""
        return BatchProof(self.batch_id, index, self.proof(index))


@dataclass(frozen=True)
class AnchoredSignedBatch:
    """A signed batch on chain: its records in tree order, and their tree."""

    batch_id: bytes
    records: tuple[SignedRecord, ...]
    tree: MerkleTree
    tx: TxResult

    @property
    def root(self) -> bytes:
        """The Merkle root the chain computed."""
        return self.tree.root

    def entry(self, index: int) -> BatchEntry:
        """The ingredients of record ``index``."""
        return self.records[index].entry()

    def proof(self, index: int) -> list[bytes]:
        """The inclusion proof of record ``index``."""
        return list(self.tree.proof(index))

    def proof_for(self, index: int) -> BatchProof:
        """What the holder of record ``index`` keeps: the proof and the signed record."""
        return BatchProof(self.batch_id, index, self.proof(index), self.records[index].to_dict())


def signed_batch_tree(records: Sequence[SignedRecord]) -> MerkleTree:
    """The tree ``anchorSignedBatch`` builds over ``records`` (leaf i = records[i].leaf())."""
    return MerkleTree([r.leaf() for r in records])


def anchor_signed_records(
    attestations: AttestationsContract,
    relayer: LocalAccount,
    records: Sequence[SignedRecord],
    *,
    gas: int | None = None,
) -> AnchoredSignedBatch:
    """Anchor records signed by their attesters as one signed batch (relayer role).

    Every record must share the schema and expiry it was signed with, and refUID 0.
    """
    if not records:
        raise LedgerValueError("a batch needs at least one record")
    first = records[0].request
    for i, r in enumerate(records):
        q = r.request
        if q.schema != first.schema or q.expiry != first.expiry or q.ref_uid != bytes(32):
            raise LedgerValueError(
                f"record {i} was not signed for this batch's schema and expiry with refUID 0"
            )
    tree = signed_batch_tree(records)
    anchored = attestations.anchor_signed_batch(
        relayer, first.schema, records, expiry=first.expiry, gas=gas
    )
    return AnchoredSignedBatch(anchored.batch_id, tuple(records), tree, anchored.tx)


@dataclass(frozen=True)
class BatchProof:
    """Where a record sits in an anchored batch, as the anchoring client hands it out."""

    batch_id: bytes
    index: int  # position of the record in the batch
    proof: list[bytes]  # sibling hashes, leaf to root
    #: For a signed batch: the attester's signed record the leaf commits to.
    signed_record: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The proof file's JSON form."""
        doc: dict[str, Any] = {
            "batch_id": "0x" + self.batch_id.hex(),
            "index": self.index,
            "proof": ["0x" + p.hex() for p in self.proof],
        }
        if self.signed_record is not None:
            doc["signed_record"] = self.signed_record
        return doc

    @classmethod
    def from_dict(cls, doc: Mapping[str, Any]) -> BatchProof:
        """Read the JSON form; malformed input is a LedgerValueError naming the field."""
        try:
            return cls(
                batch_id=_hex32(doc["batch_id"], "batch_id"),
                index=int(doc["index"]),
                proof=[_hex32(p, "proof") for p in doc["proof"]],
                signed_record=doc.get("signed_record"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise LedgerValueError(f"malformed batch proof: {exc}") from exc

    @classmethod
    def load(cls, path: Path | str) -> BatchProof:
        """Read a proof file."""
        try:
            return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError) as exc:
            raise LedgerValueError(f"cannot read the proof file {path}: {exc}") from exc


def _hex32(value: object, what: str) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 66:
        raise ValueError(f"{what} must be 0x and 64 hex digits, got {value!r}")
    return bytes.fromhex(value[2:])


def prepare_batch(schema: Schema, records: Sequence[Mapping[str, object]]) -> PreparedBatch:
    """Validate each record against ``schema``, hash it, and build the tree.

    A bad record raises the schema's named error with the record's position.
    """
    if not records:
        raise LedgerValueError("a batch needs at least one record")
    if len(records) > MAX_BATCH:
        raise LedgerValueError(f"a batch holds at most {MAX_BATCH:,} records, not {len(records):,}")
    subjects: list[bytes] = []
    hashes: list[bytes] = []
    for i, record in enumerate(records):
        try:
            hashes.append(record_hash(schema, record))
            subjects.append(record_subject(record))
        except RecordError as exc:
            exc.add_note(f"record {i} of the batch")
            raise
    tree = MerkleTree([batch_leaf(s, h) for s, h in zip(subjects, hashes, strict=True)])
    return PreparedBatch(schema, tuple(subjects), tuple(hashes), tree)


def anchor_records(
    attestations: AttestationsContract,
    attester: LocalAccount,
    schema: Schema,
    records: Sequence[Mapping[str, object]],
    *,
    expiry: int = 0,
) -> AnchoredBatch:
    """Validate, hash and tree ``records``, then anchor the root in one transaction."""
    prepared = prepare_batch(schema, records)
    anchored = attestations.anchor_batch(
        attester, schema, prepared.tree.root, len(prepared), expiry=expiry
    )
    return AnchoredBatch(anchored.batch_id, prepared, anchored.tx)


def verify_batch_record(
    subject: bytes, data_hash: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """True when the record (subject, hash) is in the batch with ``root``."""
    return verify_proof(batch_leaf(subject, data_hash), proof, root)
