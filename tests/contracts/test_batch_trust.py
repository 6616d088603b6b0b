"""Signed batches and batch records: three attacks on their trust, end to end.

A relayer re-anchoring a bank's signed record (after attestBySig, after revocation, twice,
late, from a suspended signer, with a rewritten claim); an inner node of a batch's tree
passed for a record; a batched record its subject cannot dispute or its signer cannot
revoke, while the relayer that anchored it could. Each attack goes through the public
client (raw transactions where the client would refuse), on both backends, and meets the
chain's named refusal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import Keyring, Ledger, Role
from ledger_client.attestations.batches import (
    AnchoredSignedBatch,
    BatchProof,
    anchor_records,
    anchor_signed_records,
)
from ledger_client.attestations.merkle import MerkleTree, keccak256
from ledger_client.attestations.records import record_hash, sample_record
from ledger_client.attestations.signed_records import (
    NotBatchable,
    SignedRecord,
    batch_claim,
    domain_separator,
    signed_leaf,
)
from ledger_client.audit import verify_record
from ledger_client.contracts.attestations import batch_record_id, schema_id
from ledger_client.errors import (
    AttestationsNonceUsed,
    AttestationsNotAttester,
    AttestationsNotInBatch,
    AttestationsSignatureExpired,
    ConsortiumMemberSuspended,
    DisputesNotCorrected,
    DisputesNotResolver,
    DisputesNotSubject,
)
from ledger_client.types import AttestationFields, AttestRequest, BatchEntry, Validity
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain
from tests.consent_fixtures import HANGZHOU_SUBJECT, ConsentFixtures, ConsentWorld

REASON = keccak256("该笔贷款已于到期日前结清。".encode())


@dataclass
class BatchWorld:
    """The consent world plus a relay account that also holds the attester role."""

    world: ConsentWorld
    relayer: LocalAccount  # relayer + attester: the strongest relayer an attacker could hold

    @property
    def ledger(self) -> Ledger:
        return self.world.ledger

    @property
    def bank(self) -> LocalAccount:
        return self.world.shanghai_bank

    def sign(self, nonce: int, *, seed: int = 0, deadline: int | None = None) -> SignedRecord:
        """The Shanghai bank's signed record about the Hangzhou enterprise."""
        w = self.world
        record = sample_record(
            w.schema, random.Random(seed or nonce), {"subject": HANGZHOU_SUBJECT}
        )
        request = AttestRequest(w.schema_id, HANGZHOU_SUBJECT, record_hash(w.schema, record))
        a = self.ledger.attestations
        when = self.ledger.chain.now() + 3_600 if deadline is None else deadline
        return SignedRecord.sign(self.bank, domain_separator(a.domain), request, nonce, when)

    def anchor(self, records: list[SignedRecord]) -> AnchoredSignedBatch:
        return anchor_signed_records(self.ledger.attestations, self.relayer, records)


class BatchTrustConformance(ConsentFixtures):
    """The rules of signed batches and batch records as every backend must show them."""

    @pytest.fixture
    def bw(self, world: ConsentWorld, keyring: Keyring) -> BatchWorld:
        relayer = self._member(
            world.ledger, keyring, "relay:api", Role.RELAYER | Role.ATTESTER, "Shanghai"
        )
        return BatchWorld(world, relayer)

    # -- a signed record is anchorable once, in any form, before its deadline -----------------
    def test_relayed_then_revoked_record_cannot_be_batched(self, bw: BatchWorld) -> None:
        a = bw.ledger.attestations
        signed = bw.sign(11)
        r = signed.request
        uid = a.attest_by_sig(
            bw.relayer,
            r,
            attester=signed.signer,
            nonce=signed.nonce,
            deadline=signed.deadline,
            signature=signed.signature,
        ).uid
        a.revoke(bw.bank, uid)
        with pytest.raises(AttestationsNonceUsed) as used:
            bw.anchor([bw.sign(12), signed])
        assert (used.value.attester, used.value.nonce) == (bw.bank.address, 11)

    def test_record_anchored_in_one_batch_only(self, bw: BatchWorld) -> None:
        a = bw.ledger.attestations
        first = bw.anchor([bw.sign(1), bw.sign(2), bw.sign(3)])
        assert a.batch_record_validity(first.batch_id, first.entry(1), first.proof(1)) is (
            Validity.VALID
        )
        again = first.records[1]
        with pytest.raises(AttestationsNonceUsed) as used:
            bw.anchor([bw.sign(4), again])
        assert used.value.nonce == 2
        with pytest.raises(AttestationsNonceUsed):
            bw.anchor([bw.sign(5), bw.sign(5)])  # twice in one batch
        # Nor as a single afterwards: the nonce is the same bitmap's.
        r = again.request
        with pytest.raises(AttestationsNonceUsed):
            a.attest_by_sig(
                bw.relayer,
                r,
                attester=again.signer,
                nonce=again.nonce,
                deadline=again.deadline,
                signature=again.signature,
            )
        # The failed batches spent nothing: nonce 4 still anchors.
        bw.anchor([bw.sign(4)])

    def test_late_record_refused(self, bw: BatchWorld) -> None:
        late = bw.sign(21, deadline=bw.ledger.chain.now() + 60)
        bw.ledger.chain.advance_time(3_600)
        with pytest.raises(AttestationsSignatureExpired) as expired:
            bw.anchor([bw.sign(22), late])
        assert expired.value.deadline == late.deadline

    def test_suspended_signer_refused(self, bw: BatchWorld) -> None:
        records = [bw.sign(31), bw.sign(32)]
        bw.ledger.consortium.suspend_member(bw.world.regulator, bw.bank.address)
        with pytest.raises(ConsortiumMemberSuspended) as suspended:
            bw.anchor(records)
        assert suspended.value.account == bw.bank.address

    def test_rewritten_claim_or_junk_record_never_verifies(self, bw: BatchWorld) -> None:
        a = bw.ledger.attestations
        real = bw.sign(41, deadline=bw.ledger.chain.now() + 600)
        junk_owner = bw.sign(42)
        # The relayer rewrites the real record's deadline (a day later) and nonce in its claim,
        # and anchors a junk record hash under the bank's name with nonce 43.
        forged_claim = batch_claim(real.signer, 1_041, real.deadline + 86_400)
        junk_hash = keccak256(b"not a record the bank signed")
        hashes = [bytes(real.record_hash()), bytes(junk_owner.record_hash()), junk_hash]
        claims = [forged_claim, junk_owner.claim(), batch_claim(real.signer, 43, real.deadline)]
        batch_id = (
            a._send(  # a raw transaction: the client would never build these leaves
                bw.relayer, "anchorSignedBatch", schema_id(bw.world.schema), 0, hashes, claims
            )
            .event("SignedBatchAnchored")
            .args["batchId"]
        )
        tree = MerkleTree([signed_leaf(h, c) for h, c in zip(hashes, claims, strict=True)])
        anchored = a.batch(batch_id)
        assert anchored is not None
        assert anchored.root == tree.root
        tampered = BatchEntry(
            real.request.subject,
            real.request.data_hash,
            real.signer,
            1_041,
            real.deadline + 86_400,
            real.signature,
        )
        for entry in (real.entry(), tampered):
            assert a.batch_record_validity(batch_id, entry, tree.proof(0)) is Validity.UNKNOWN
            with pytest.raises(AttestationsNotInBatch):
                a.revoke_batch_record(bw.bank, batch_id, entry, tree.proof(0))
        junk = BatchEntry(bytes(32), junk_hash, real.signer, 43, real.deadline, real.signature)
        assert a.batch_record_validity(batch_id, junk, tree.proof(2)) is Validity.UNKNOWN
        # The honest record in the same batch verifies.
        assert a.batch_record_validity(batch_id, junk_owner.entry(), tree.proof(1)) is (
            Validity.VALID
        )
        # The auditor's verify_record says no for the rewritten claim.
        w = bw.world
        record = sample_record(w.schema, random.Random(41), {"subject": HANGZHOU_SUBJECT})
        doc = {**real.to_dict(), "nonce": 1_041, "deadline": real.deadline + 86_400}
        check = verify_record(
            bw.ledger, b"", record, BatchProof(batch_id, 0, list(tree.proof(0)), doc)
        )
        assert not check.ok
        # The real record can still be relayed once (nonce 41 was never spent by the forgery).
        a.attest_by_sig(
            bw.relayer,
            real.request,
            attester=real.signer,
            nonce=real.nonce,
            deadline=real.deadline,
            signature=real.signature,
        )

    def test_client_refuses_unbatchable_nonce(self, bw: BatchWorld) -> None:
        with pytest.raises(NotBatchable):
            bw.anchor([bw.sign(2**56)])

    # -- an inner node never passes for a record ---------------------------------------------
    @pytest.mark.parametrize("size", [2, 3, 5, 8])
    def test_inner_nodes_are_no_records(self, bw: BatchWorld, size: int) -> None:
        a, w = bw.ledger.attestations, bw.world
        signed = bw.anchor([bw.sign(100 + i) for i in range(size)])
        records = [
            sample_record(w.schema, random.Random(200 + i), {"subject": HANGZHOU_SUBJECT})
            for i in range(size)
        ]
        unsigned = anchor_records(a, bw.bank, w.schema, records)
        sig = signed.records[0]
        for batch_id, tree in (
            (signed.batch_id, signed.tree),
            (unsigned.batch_id, unsigned.prepared.tree),
        ):
            for k in range(1, len(tree.levels)):
                for j, node in enumerate(tree.levels[k]):
                    proof = _node_proof(tree, k, j)
                    below = tree.levels[k - 1]
                    left = below[2 * j] if 2 * j < len(below) else node
                    right = below[2 * j + 1] if 2 * j + 1 < len(below) else node
                    tries = [
                        BatchEntry(node, node),
                        BatchEntry(left, right),
                        BatchEntry(right, left),
                        BatchEntry(node, bytes(32)),
                        BatchEntry(left, right, sig.signer, sig.nonce, sig.deadline, sig.signature),
                    ]
                    for entry in tries:
                        assert a.batch_record_validity(batch_id, entry, proof) is Validity.UNKNOWN
                    with pytest.raises(AttestationsNotInBatch):
                        a.revoke_batch_record(bw.bank, batch_id, tries[1], proof)
        # Every real record still verifies.
        for i in range(size):
            assert a.batch_record_validity(signed.batch_id, signed.entry(i), signed.proof(i)) is (
                Validity.VALID
            )

    # -- every batched record is its subject's to dispute and its signer's to answer ----------
    def test_subject_disputes_a_batched_record(self, bw: BatchWorld) -> None:
        a, d, w = bw.ledger.attestations, bw.ledger.disputes, bw.world
        batch = bw.anchor([bw.sign(51), bw.sign(52), bw.sign(53)])
        entry, proof = batch.entry(1), batch.proof(1)
        ref = a.batch_record(batch.batch_id, entry, proof)
        assert ref.attester == bw.bank.address  # the signer, not the relayer
        assert ref.record_id == batch_record_id(batch.batch_id, batch.tree.leaf(1))
        fields = AttestationFields(entry.subject, entry.data_hash)
        # A stranger (another bound enterprise) cannot.
        stranger = d.sign_dispute(w.other_enterprise, ref.record_id, fields, REASON)
        with pytest.raises(DisputesNotSubject):
            d.relay_batch_record_dispute(w.nanjing_bank, batch.batch_id, entry, proof, stranger)
        # The subject signs; a member relays.
        signed = d.sign_dispute(w.enterprise, ref.record_id, fields, REASON)
        raised = d.relay_batch_record_dispute(w.nanjing_bank, batch.batch_id, entry, proof, signed)
        dispute = d.dispute(raised.dispute_id)
        assert dispute is not None
        assert (dispute.uid, dispute.attester) == (ref.record_id, bw.bank.address)
        assert a.batch_record_validity(batch.batch_id, entry, proof) is Validity.DISPUTED
        # The relayer, attester role and all, cannot answer it, revoke or correct the record.
        with pytest.raises(DisputesNotResolver):
            d.reject(bw.relayer, raised.dispute_id, REASON)
        with pytest.raises(AttestationsNotAttester) as not_attester:
            a.revoke_batch_record(bw.relayer, batch.batch_id, entry, proof)
        assert not_attester.value.attester == bw.bank.address
        with pytest.raises(AttestationsNotAttester):
            a.replace_batch_record(bw.relayer, batch.batch_id, entry, proof, b"\x01" * 32)
        # Upholding needs the record corrected first; the signing bank revokes, then upholds.
        with pytest.raises(DisputesNotCorrected):
            d.uphold(bw.bank, raised.dispute_id)
        a.revoke_batch_record(bw.bank, batch.batch_id, entry, proof)
        assert a.batch_record_validity(batch.batch_id, entry, proof) is Validity.REVOKED
        d.uphold(bw.bank, raised.dispute_id)
        # Directly, with gas, on another record of the batch.
        bw.ledger.chain.fund(w.enterprise.address)
        direct = d.raise_batch_record_dispute(
            w.enterprise, batch.batch_id, batch.entry(2), batch.proof(2), REASON
        )
        raised_directly = d.dispute(direct.dispute_id)
        assert raised_directly is not None
        assert raised_directly.attester == bw.bank.address

    def test_signer_corrects_and_regulator_revokes(self, bw: BatchWorld) -> None:
        a, w = bw.ledger.attestations, bw.world
        batch = bw.anchor([bw.sign(61), bw.sign(62)])
        entry, proof = batch.entry(0), batch.proof(0)
        record_id = a.batch_record(batch.batch_id, entry, proof).record_id
        corrected = a.replace_batch_record(bw.bank, batch.batch_id, entry, proof, b"\x07" * 32)
        made = corrected.tx.event("Attested").args
        assert (made["refUID"], made["attester"], made["subject"]) == (
            record_id,
            bw.bank.address,
            bytes(HANGZHOU_SUBJECT),
        )
        assert corrected.tx.event("Replaced").args["oldUid"] == record_id
        assert a.batch_record_validity(batch.batch_id, entry, proof) is Validity.REPLACED
        assert a.record_status(record_id) == (0, corrected.uid)
        a.revoke_batch_record(w.regulator, batch.batch_id, batch.entry(1), batch.proof(1))
        assert a.batch_record_validity(batch.batch_id, batch.entry(1), batch.proof(1)) is (
            Validity.REVOKED
        )
        # Another attester (not the signer) cannot.
        with pytest.raises(AttestationsNotAttester):
            a.revoke_batch_record(w.nanjing_bank, batch.batch_id, batch.entry(0), proof)


def _node_proof(tree: MerkleTree, level: int, index: int) -> list[bytes]:
    """The proof of node ``index`` of ``level``: its siblings from that level up."""
    siblings: list[bytes] = []
    for nodes in tree.levels[level:-1]:
        if index ^ 1 < len(nodes):
            siblings.append(nodes[index ^ 1])
        index >>= 1
    return siblings


class TestBatchTrustEmbedded(EmbeddedChain, BatchTrustConformance):
    pass


class TestBatchTrustRevm(RevmChain, BatchTrustConformance):
    """On the embedded chain's revm engine."""


class TestBatchTrustAnvil(AnvilChain, BatchTrustConformance):
    pass
