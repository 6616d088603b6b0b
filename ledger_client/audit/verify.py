"""Verify one credit record against the chain.

Given the off-chain record and its UID (or, for a batched record, the batch id
and an inclusion proof), the verifier recomputes the record's hash, finds the
block the attestation was made in (a binary search on the stored attestation
time), reads the ``Attested`` (or ``BatchAnchored``) event from that block's
receipts, and checks: that the record fits its schema, that its hash is the
one attested about that subject, that the attester was a member in good
standing with the attester role when it attested, that the record is still in
force, and, for a batch, that the proof holds on chain.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ledger_client.attestations.batches import BatchProof, batch_leaf
from ledger_client.attestations.merkle import (
    MerkleTree,
    anchored_batch_id,
    batch_id_of,
    verify_proof,
)
from ledger_client.attestations.records import RecordError, Schema, record_hash, record_subject
from ledger_client.attestations.signed_records import (
    SignedRecord,
    domain_separator,
    signed_leaf,
    split_claim,
)
from ledger_client.chain.abi import Event
from ledger_client.contracts.attestations import batch_record_id
from ledger_client.deployment import Ledger
from ledger_client.errors import LedgerValueError
from ledger_client.types import BatchEntry, BatchInfo, Role, Validity


@dataclass(frozen=True)
class Check:
    """One verification step and its outcome."""

    name: str  # e.g. "hash-match"
    ok: bool
    detail: str  # a sentence saying what was found


@dataclass(frozen=True)
class Verification:
    """Every check made about one record."""

    uid: str  # 0x-hex UID or batch id
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every check held."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        """The checks that did not hold."""
        return [c for c in self.checks if not c.ok]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form."""
        return {
            "uid": self.uid,
            "ok": self.ok,
            "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in self.checks],
        }


def verify_record(
    ledger: Ledger,
    uid: bytes,
    record: Mapping[str, object],
    proof: BatchProof | None = None,
) -> Verification:
    """Check ``record`` against the attestation ``uid`` (or the batch in ``proof``).

    Raises ManifestWiringMismatch, vouching for nothing, when the deployment's contracts
    are not wired as its manifest says (an Attestations copy trusting another forwarder
    could hold any record in any bank's name).
    """
    ledger.ensure_wired()
    if proof is not None:
        return _verify_batched(ledger, record, proof)
    result = Verification("0x" + uid.hex())
    a = ledger.attestations
    info = a.attestation(uid)
    if info is None:
        result.checks.append(Check("attestation-found", False, "no attestation has this UID"))
        return result
    block, event = _event_at(ledger, info.attested_at, "Attested", lambda e: e.args["uid"] == uid)
    result.checks.append(
        Check(
            "attestation-found",
            event is not None,
            f"attested by {info.attester} in block {block}"
            if event
            else f"no Attested event for this UID in block {block}",
        )
    )
    if event is None:
        return result
    schema = _schema_of(ledger, info.schema)
    data_hash = _check_record(result, schema, record)
    if data_hash is not None:
        subject = _subject(record)
        same = data_hash == event.args["dataHash"] and subject == event.args["subject"]
        result.checks.append(
            Check(
                "hash-match",
                same,
                "the record's hash is the one attested about this subject"
                if same
                else _mismatch(data_hash, subject, event),
            )
        )
    _check_standing(result, ledger, info.attester, block)
    state = a.validity(uid)
    result.checks.append(_validity_check(state, info.replaced_by))
    return result


def _verify_batched(
    ledger: Ledger, record: Mapping[str, object], proof: BatchProof
) -> Verification:
    result = Verification("0x" + proof.batch_id.hex())
    a = ledger.attestations
    info = a.batch(proof.batch_id)
    if info is None:
        result.checks.append(Check("attestation-found", False, "no batch has this id"))
        return result
    block, _ = _event_at(
        ledger,
        info.anchored_at,
        "BatchAnchored",
        lambda e: anchored_batch_id(e.args) == bytes(proof.batch_id),
    )
    result.checks.append(
        Check(
            "attestation-found",
            True,
            f"batch of {info.count} anchored by {info.anchorer} in block {block}",
        )
    )
    schema = _schema_of(ledger, info.schema)
    data_hash = _check_record(result, schema, record)
    if data_hash is None:
        return result
    # The leaf is computed here from the record's ingredients, never taken from the proof.
    if info.signed:
        signed = _check_signature(
            result, ledger, info, proof, subject=_subject(record), data_hash=data_hash
        )
        if signed is None:
            return result
        if not _check_anchoring(result, ledger, info, block, signed):
            return result
        author, leaf, entry = signed.signer, signed.leaf(), signed.entry()
    else:
        author, entry = info.anchorer, BatchEntry(_subject(record), data_hash)
        leaf = batch_leaf(entry.subject, entry.data_hash)
    # As the chain does: the proof's root, with the anchorer, must make the batch's id.
    in_tree = verify_proof(leaf, proof.proof, info.root) and (
        batch_id_of(info.root, info.anchorer) == bytes(info.batch_id)
    )
    result.checks.append(
        Check(
            "merkle-proof",
            in_tree,
            f"record {proof.index} is in the batch (root 0x{info.root.hex()[:16]}…)"
            if in_tree
            else "the proof does not lead from this record to the batch's root: the record "
            "was altered or the proof forged",
        )
    )
    if not in_tree:
        return result
    _check_standing(result, ledger, author, block)
    state = a.batch_record_validity(proof.batch_id, entry, proof.proof)
    replaced_by = None
    if state is Validity.REPLACED:
        replaced_by = a.record_status(batch_record_id(proof.batch_id, leaf))[1]
    result.checks.append(_validity_check(state, replaced_by))
    return result


def _check_signature(
    result: Verification,
    ledger: Ledger,
    info: BatchInfo,
    proof: BatchProof,
    *,
    subject: bytes,
    data_hash: bytes,
) -> SignedRecord | None:
    """A signed batch's leaf commits to its attester's signature: check that signature."""
    if proof.signed_record is None:
        result.checks.append(
            Check("signature", False, "a signed batch's record needs its signed_record to verify")
        )
        return None
    try:
        signed = SignedRecord.from_dict(proof.signed_record)
        signer = signed.recover(domain_separator(ledger.attestations.domain))
    except (KeyError, TypeError, ValueError, LedgerValueError) as exc:
        result.checks.append(Check("signature", False, f"the signed record is malformed: {exc}"))
        return None
    r = signed.request
    problems = []
    if signer != signed.signer:
        problems.append(
            f"the signature is not {signed.signer}'s for this nonce and deadline "
            f"(it recovers to {signer})"
        )
    if bytes(r.subject) != subject or bytes(r.data_hash) != data_hash:
        problems.append("the signed record is not this record")
    if r.schema != info.schema or r.expiry != info.expiry or r.ref_uid != bytes(32):
        problems.append("the signed record's schema, expiry or reference is not the batch's")
    if not signed.batchable:
        problems.append("its nonce or deadline does not fit a signed batch's claim")
    result.checks.append(
        Check(
            "signature",
            not problems,
            "; ".join(problems) or f"signed by {signed.signer} (EIP-712 Attest)",
        )
    )
    return None if problems else signed


def _check_anchoring(
    result: Verification, ledger: Ledger, info: BatchInfo, block: int, signed: SignedRecord
) -> bool:
    """The record was anchored in time, once: its claim is among those the chain checked."""
    anchored = _event_in_block(
        ledger, block, "SignedBatchAnchored", lambda e: e.args["batchId"] == bytes(info.batch_id)
    )
    problems = []
    if anchored is None:
        problems.append(f"no SignedBatchAnchored event for this batch in block {block}")
    else:
        hashes = [bytes(h) for h in anchored.args["recordHashes"]]
        claims = [int(c) for c in anchored.args["claims"]]
        rebuilt = MerkleTree([signed_leaf(h, c) for h, c in zip(hashes, claims, strict=True)])
        if rebuilt.root != info.root:
            problems.append("the batch's root is not the tree of the leaves the chain checked")
        mine = (bytes(signed.record_hash()), signed.claim())
        if sum(1 for h_c in zip(hashes, claims, strict=True) if h_c == mine) != 1:
            problems.append("the record is not once among the batch's checked leaves")
        same_nonce = [c for c in claims if split_claim(c)[:2] == (signed.signer, signed.nonce)]
        if len(same_nonce) > 1:
            problems.append(f"nonce {signed.nonce} of {signed.signer} was anchored twice")
    if signed.deadline < info.anchored_at:
        problems.append(
            f"anchored late: at {info.anchored_at}, past its deadline {signed.deadline}"
        )
    result.checks.append(
        Check(
            "anchored-once-in-time",
            not problems,
            "; ".join(problems)
            or f"nonce {signed.nonce} spent by this batch, before its deadline {signed.deadline}",
        )
    )
    return not problems


def _schema_of(ledger: Ledger, schema_id: bytes) -> Schema | None:
    registered = ledger.attestations.schema(schema_id)
    if registered is None:
        return None
    # The layout registered on chain is the authority, not a local copy of it.
    return Schema.from_layout(
        registered.name, registered.layout, title=registered.name, revocable=registered.revocable
    )


def _check_record(
    result: Verification, schema: Schema | None, record: Mapping[str, object]
) -> bytes | None:
    if schema is None:
        result.checks.append(Check("schema-valid", False, "the attestation's schema is unknown"))
        return None
    try:
        data_hash = record_hash(schema, record)
        record_subject(record)
    except RecordError as exc:
        result.checks.append(Check("schema-valid", False, str(exc)))
        return None
    result.checks.append(Check("schema-valid", True, f"the record fits schema {schema.name}"))
    return data_hash


def _subject(record: Mapping[str, object]) -> bytes:
    return record_subject(record)


def _mismatch(data_hash: bytes, subject: bytes, event: Event) -> str:
    if subject != event.args["subject"]:
        return "the record names another subject than the one attested"
    return (
        f"the record hashes to 0x{data_hash.hex()[:16]}…, the chain holds "
        f"0x{event.args['dataHash'].hex()[:16]}…: the document was altered"
    )


def _check_standing(result: Verification, ledger: Ledger, attester: str, block: int) -> None:
    # The state the attesting transaction met: the end of the block before it.
    member = ledger.consortium.member(attester, block=block - 1)
    ok = ledger.consortium.has_role(attester, Role.ATTESTER, block=block - 1)
    if member is None:
        detail = "the attester was not a member"
    elif member.suspended:
        detail = f"{member.name} was suspended"
    elif not ok:
        detail = f"{member.name} did not hold the attester role"
    else:
        detail = f"{member.name} ({member.city.label}) was an attester in good standing"
    result.checks.append(Check("attester-in-good-standing", ok, detail))


def _validity_check(state: Validity, replaced_by: bytes | None) -> Check:
    if state is Validity.VALID:
        return Check("validity", True, "the record is in force")
    if state is Validity.DISPUTE_OVERDUE:
        return Check(
            "validity",
            False,
            "the record is disputed, and its dispute is open past the 20-day deadline",
        )
    extra = f" by 0x{replaced_by.hex()}" if replaced_by else ""
    return Check("validity", False, f"the record is {state.name.lower()}{extra}")


def _event_at(
    ledger: Ledger, timestamp: int, name: str, match: Callable[[Event], bool]
) -> tuple[int, Event | None]:
    """The block, mined at ``timestamp``, holding the attestations contract's event ``name``
    that ``match`` picks, and the event; the first block of that second and None when no
    block of it does. A node may mine several blocks in one second (anvil does): each is
    read, not only the first."""
    backend = ledger.chain.backend
    lo, hi = ledger.manifest.deploy_block, backend.block_number()
    while lo < hi:  # block times never decrease: the first block at ``timestamp``
        mid = (lo + hi) // 2
        if backend.block(mid).timestamp < timestamp:
            lo = mid + 1
        else:
            hi = mid
    latest = backend.block_number()
    block = lo
    while block <= latest and backend.block(block).timestamp == timestamp:
        event = _event_in_block(ledger, block, name, match)
        if event is not None:
            return block, event
        block += 1
    return lo, None


def _event_in_block(
    ledger: Ledger, block: int, name: str, match: Callable[[Event], bool]
) -> Event | None:
    codec = ledger.attestations.codec
    for receipt in ledger.chain.backend.receipts_in_block(block):
        for log in receipt.logs:
            if log.address.lower() != ledger.attestations.address.lower():
                continue
            event = codec.decode_log(log)
            if event is not None and event.name == name and match(event):
                return event
    return None
