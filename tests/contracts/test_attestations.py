"""Credit attestations: schemas, attest, revoke, replace, expiry, signed attestations, batches.

One conformance class, run on the embedded chain and on anvil.
"""

from __future__ import annotations

import random

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from ledger_client import Keyring, Ledger, Role
from ledger_client.attestations.batches import (
    MAX_BATCH,
    anchor_records,
    batch_leaf,
    prepare_batch,
    verify_batch_record,
)
from ledger_client.attestations.merkle import MerkleTree, batch_id_of
from ledger_client.attestations.records import (
    RecordFieldMissing,
    Schema,
    record_hash,
    sample_record,
)
from ledger_client.contracts.attestations import (
    ATTEST_TYPES,
    attest_message,
    compute_uid,
    schema_id,
)
from ledger_client.errors import (
    AttestationsAlreadyReplaced,
    AttestationsAlreadyRevoked,
    AttestationsBatchTooLarge,
    AttestationsDuplicate,
    AttestationsFieldsMismatch,
    AttestationsInvalidBatch,
    AttestationsInvalidExpiry,
    AttestationsInvalidRecord,
    AttestationsNonceUsed,
    AttestationsNotAttester,
    AttestationsNotInBatch,
    AttestationsNotRevocable,
    AttestationsSignatureExpired,
    AttestationsUnknown,
    AttestationsUnknownBatch,
    AttestationsUnknownReference,
    AttestationsWrongSigner,
    ConsortiumMemberSuspended,
    ConsortiumUnauthorized,
    ECDSAInvalidSignatureS,
    LedgerValueError,
    SchemaRegistryAlreadyRegistered,
    SchemaRegistryInvalidSchema,
    SchemaRegistryUnknownSchema,
)
from ledger_client.identity.eip712 import Domain, SignatureError, recover_typed, sign_typed
from ledger_client.types import AttestationFields, AttestRequest, BatchEntry, SubjectId, Validity
from tests.conformance import AnvilChain, EmbeddedChain, LedgerFixtures, RevmChain, RevmOnDiskChain

SUBJECT = SubjectId(bytes.fromhex("5a" * 32))
N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class AttestationsConformance(LedgerFixtures):
    """The attestation rules as every backend must show them."""

    @pytest.fixture
    def bank(self, ledger: Ledger, keyring: Keyring, regulator: LocalAccount) -> LocalAccount:
        return self._member(ledger, keyring, "bank", Role.ATTESTER | Role.FINANCIER)

    @pytest.fixture
    def loan(self, ledger: Ledger) -> Schema:
        return ledger.schemas["loan-repayment"]

    def _record(self, schema: Schema, seed: int = 1) -> dict[str, object]:
        return sample_record(
            schema, random.Random(seed), overrides={"subject": "0x" + SUBJECT.hex()}
        )

    # -- schemas ------------------------------------------------------------------
    def test_deploy_registers_the_shipped_schemas(self, ledger: Ledger) -> None:
        on_chain = {s.name: s for s in ledger.attestations.schemas()}
        assert set(on_chain) == set(ledger.schemas)
        for name, schema in ledger.schemas.items():
            assert on_chain[name].schema_id == schema_id(schema)
            assert on_chain[name].layout == schema.layout
            assert on_chain[name].revocable == schema.revocable

    def test_schema_registration_rules(
        self, ledger: Ledger, regulator: LocalAccount, bank: LocalAccount, loan: Schema
    ) -> None:
        fresh = Schema.from_layout(
            "esg-score", "bytes32 subject,uint score", title="ESG score", revocable=True
        )
        with pytest.raises(ConsortiumUnauthorized):
            ledger.attestations.register_schema(bank, fresh)
        sid = ledger.attestations.register_schema(regulator, fresh)
        assert sid == schema_id(fresh)
        with pytest.raises(SchemaRegistryAlreadyRegistered) as info:
            ledger.attestations.register_schema(regulator, loan)
        assert info.value.schema == schema_id(loan)
        codec = ledger.attestations.codec.fn("registerSchema")
        with pytest.raises(SchemaRegistryInvalidSchema):
            ledger.chain.transact(
                regulator, ledger.attestations.address, codec.encode(["", "uint x", True])
            )

    # -- attest -------------------------------------------------------------------
    def test_attest_a_record(self, ledger: Ledger, bank: LocalAccount, loan: Schema) -> None:
        record = self._record(loan)
        made = ledger.attestations.attest_record(bank, loan, record)
        data_hash = record_hash(loan, record)
        ev = made.tx.event("Attested")
        assert ev.args == {
            "uid": made.uid,
            "schema": schema_id(loan),
            "subject": SUBJECT,
            "attester": bank.address,
            "dataHash": data_hash,
            "expiry": 0,
            "refUID": bytes(32),
        }
        info = ledger.attestations.attestation(made.uid)
        assert info is not None
        assert (info.attester, info.expiry, info.revoked_at, info.replaced_by) == (
            bank.address,
            0,
            0,
            None,
        )
        assert info.attested_at == ledger.chain.backend.block(made.tx.block_number).timestamp
        fields = AttestationFields(SUBJECT, data_hash)
        assert made.uid == compute_uid(schema_id(loan), fields, bank.address, info.attested_at, 0)
        assert ledger.attestations.matches(made.uid, fields)
        assert not ledger.attestations.matches(made.uid, AttestationFields(SUBJECT, bytes(32)))
        assert ledger.attestations.validity(made.uid) is Validity.VALID
        assert ledger.attestations.validity(b"\x01" * 32) is Validity.UNKNOWN
        assert ledger.attestations.attestation(b"\x01" * 32) is None
        assert made.gas_used <= 60_000

    def test_attest_refusals(
        self,
        ledger: Ledger,
        keyring: Keyring,
        regulator: LocalAccount,
        bank: LocalAccount,
        loan: Schema,
    ) -> None:
        a = ledger.attestations
        data = b"\x11" * 32
        with pytest.raises(SchemaRegistryUnknownSchema):
            a.attest(bank, b"\x99" * 32, SUBJECT, data)
        with pytest.raises(AttestationsInvalidRecord):
            a.attest(bank, loan, bytes(32), data)
        with pytest.raises(AttestationsInvalidRecord):
            a.attest(bank, loan, SUBJECT, bytes(32))
        now = ledger.chain.now()
        with pytest.raises(AttestationsInvalidExpiry) as info:
            a.attest(bank, loan, SUBJECT, data, expiry=now - 1)
        assert info.value.expiry == now - 1
        with pytest.raises(AttestationsUnknownReference):
            a.attest(bank, loan, SUBJECT, data, ref_uid=b"\x42" * 32)
        auditor = self._member(ledger, keyring, "auditor", Role.AUDITOR)
        with pytest.raises(ConsortiumUnauthorized):
            a.attest(auditor, loan, SUBJECT, data)
        ledger.consortium.suspend_member(regulator, bank.address)
        with pytest.raises(ConsortiumMemberSuspended):
            a.attest(bank, loan, SUBJECT, data)
        with pytest.raises(RecordFieldMissing):
            a.attest_record(bank, loan, {"subject": "0x" + SUBJECT.hex()})

    def test_expiry(self, ledger: Ledger, bank: LocalAccount, loan: Schema) -> None:
        expiry = ledger.chain.now() + 1_000
        made = ledger.attestations.attest(bank, loan, SUBJECT, b"\x11" * 32, expiry=expiry)
        assert ledger.attestations.validity(made.uid) is Validity.VALID
        ledger.chain.advance_time(999 - (ledger.chain.now() - (expiry - 1_000)))
        assert ledger.chain.now() == expiry - 1
        assert ledger.attestations.validity(made.uid) is Validity.VALID
        ledger.chain.advance_time(1)
        assert ledger.attestations.validity(made.uid) is Validity.EXPIRED

    # -- revoke -------------------------------------------------------------------
    def test_revoke(
        self,
        ledger: Ledger,
        keyring: Keyring,
        regulator: LocalAccount,
        bank: LocalAccount,
        loan: Schema,
    ) -> None:
        a = ledger.attestations
        first = a.attest(bank, loan, SUBJECT, b"\x11" * 32)
        second = a.attest(bank, loan, SUBJECT, b"\x12" * 32)
        other = self._member(ledger, keyring, "other-bank", Role.ATTESTER)
        with pytest.raises(AttestationsNotAttester) as info:
            a.revoke(other, first.uid)
        assert (info.value.caller, info.value.attester) == (other.address, bank.address)
        result = a.revoke(bank, first.uid, b"wrong-amount".ljust(32, b"\0"))
        assert result.event("Revoked").args["revoker"] == bank.address
        assert a.validity(first.uid) is Validity.REVOKED
        with pytest.raises(AttestationsAlreadyRevoked):
            a.revoke(bank, first.uid)
        a.revoke(regulator, second.uid)  # a regulator may revoke anyone's
        assert a.validity(second.uid) is Validity.REVOKED
        with pytest.raises(AttestationsUnknown):
            a.revoke(bank, b"\x07" * 32)
        default = ledger.schemas["receivable-default"]
        permanent = a.attest(bank, default, SUBJECT, b"\x13" * 32)
        with pytest.raises(AttestationsNotRevocable) as nr:
            a.revoke(bank, permanent.uid)
        assert nr.value.schema == schema_id(default)

    # -- replace ------------------------------------------------------------------
    def test_replace(
        self, ledger: Ledger, keyring: Keyring, bank: LocalAccount, loan: Schema
    ) -> None:
        a = ledger.attestations
        old = a.attest(bank, loan, SUBJECT, b"\x11" * 32)
        fields = AttestationFields(SUBJECT, b"\x11" * 32)
        with pytest.raises(AttestationsFieldsMismatch):
            a.replace(bank, old.uid, AttestationFields(b"\x66" * 32, b"\x11" * 32), b"\x21" * 32)
        other = self._member(ledger, keyring, "other-bank", Role.ATTESTER)
        with pytest.raises(AttestationsNotAttester):
            a.replace(other, old.uid, fields, b"\x21" * 32)
        new = a.replace(bank, old.uid, fields, b"\x21" * 32)
        assert new.tx.event("Replaced").args == {
            "oldUid": old.uid,
            "newUid": new.uid,
            "attester": bank.address,
        }
        assert new.tx.event("Attested").args["refUID"] == old.uid
        assert new.tx.event("Attested").args["subject"] == SUBJECT
        assert a.validity(old.uid) is Validity.REPLACED
        assert a.validity(new.uid) is Validity.VALID
        info = a.attestation(old.uid)
        assert info is not None
        assert info.replaced_by == new.uid
        with pytest.raises(AttestationsAlreadyReplaced) as ar:
            a.replace(bank, old.uid, fields, b"\x22" * 32)
        assert ar.value.replacedBy == new.uid
        a.revoke(bank, new.uid)
        with pytest.raises(AttestationsAlreadyRevoked):
            a.replace(
                bank, new.uid, AttestationFields(SUBJECT, b"\x21" * 32, old.uid), b"\x23" * 32
            )

    # -- delegated ----------------------------------------------------------------
    def test_signed_attestation_relayed_by_anyone(
        self, ledger: Ledger, keyring: Keyring, bank: LocalAccount, loan: Schema
    ) -> None:
        a = ledger.attestations
        relayer = keyring.account("relayer")
        ledger.chain.fund(relayer.address)
        request = AttestRequest(schema_id(loan), SUBJECT, b"\x31" * 32)
        deadline = ledger.chain.now() + 3_600
        sig = a.sign_attest_request(bank, request, nonce=7, deadline=deadline)
        assert a.recover_attest_signer(request, bank.address, 7, deadline, sig) == bank.address
        made = a.attest_by_sig(
            relayer, request, attester=bank.address, nonce=7, deadline=deadline, signature=sig
        )
        assert made.tx.event("Attested").args["attester"] == bank.address
        assert a.nonce_used(bank.address, 7)
        with pytest.raises(AttestationsNonceUsed) as used:
            a.attest_by_sig(
                relayer, request, attester=bank.address, nonce=7, deadline=deadline, signature=sig
            )
        assert used.value.nonce == 7

    def test_signed_attestation_refusals(
        self, ledger: Ledger, keyring: Keyring, bank: LocalAccount, loan: Schema
    ) -> None:
        a = ledger.attestations
        relayer = keyring.account("relayer")
        ledger.chain.fund(relayer.address)
        request = AttestRequest(schema_id(loan), SUBJECT, b"\x32" * 32)
        deadline = ledger.chain.now() + 3_600
        impostor = keyring.account("impostor")
        # The impostor signs a message that names the bank as its attester.
        forged = sign_typed(
            impostor,
            a.domain,
            ATTEST_TYPES,
            "Attest",
            attest_message(request, bank.address, 1, deadline),
        )
        with pytest.raises(AttestationsWrongSigner) as ws:
            a.attest_by_sig(
                relayer,
                request,
                attester=bank.address,
                nonce=1,
                deadline=deadline,
                signature=forged,
            )
        assert ws.value.signer == impostor.address
        past = ledger.chain.now() - 1
        late = a.sign_attest_request(bank, request, nonce=2, deadline=past)
        with pytest.raises(AttestationsSignatureExpired):
            a.attest_by_sig(
                relayer, request, attester=bank.address, nonce=2, deadline=past, signature=late
            )
        # A signature for another chain, or another contract, recovers to someone else.
        for domain in (
            Domain(a.domain.name, "1", ledger.chain.chain_id + 1, a.address),
            Domain(a.domain.name, "1", ledger.chain.chain_id, ledger.consortium.address),
        ):
            other = sign_typed(
                bank,
                domain,
                ATTEST_TYPES,
                "Attest",
                attest_message(request, bank.address, 3, deadline),
            )
            with pytest.raises(AttestationsWrongSigner):
                a.attest_by_sig(
                    relayer,
                    request,
                    attester=bank.address,
                    nonce=3,
                    deadline=deadline,
                    signature=other,
                )
        # The malleable twin (s' = n - s, v flipped) of a valid signature is refused.
        good = a.sign_attest_request(bank, request, nonce=4, deadline=deadline)
        s = int.from_bytes(good[32:64], "big")
        twin = good[:32] + (N - s).to_bytes(32, "big") + bytes([55 - good[64]])
        with pytest.raises(ECDSAInvalidSignatureS):
            a.attest_by_sig(
                relayer, request, attester=bank.address, nonce=4, deadline=deadline, signature=twin
            )
        with pytest.raises(SignatureError, match="high-s"):
            a.recover_attest_signer(request, bank.address, 4, deadline, twin)

    # -- batches ------------------------------------------------------------------
    def test_batch_anchor_prove_and_revoke_one_record(
        self, ledger: Ledger, keyring: Keyring, bank: LocalAccount, loan: Schema
    ) -> None:
        a = ledger.attestations
        rng = random.Random(5)
        records = [
            sample_record(loan, rng, overrides={"subject": "0x" + rng.randbytes(32).hex()})
            for _ in range(37)
        ]
        batch = anchor_records(a, bank, loan, records)
        info = a.batch(batch.batch_id)
        assert info is not None
        assert (info.anchorer, info.count, info.root, info.schema) == (
            bank.address,
            37,
            batch.root,
            schema_id(loan),
        )
        for i in (0, 17, 36):
            assert (
                a.batch_record_validity(batch.batch_id, batch.entry(i), batch.proof(i))
                is Validity.VALID
            )
            s, h = batch.prepared.subjects[i], batch.prepared.data_hashes[i]
            assert verify_batch_record(s, h, batch.proof(i), batch.root)
        wrong = BatchEntry(SUBJECT, b"\x00" * 31 + b"\x01")
        assert a.batch_record_validity(batch.batch_id, wrong, batch.proof(3)) is Validity.UNKNOWN
        with pytest.raises(AttestationsNotInBatch):
            a.revoke_batch_record(bank, batch.batch_id, wrong, batch.proof(3))
        other = self._member(ledger, keyring, "other-bank", Role.ATTESTER)
        with pytest.raises(AttestationsNotAttester):
            a.revoke_batch_record(other, batch.batch_id, batch.entry(3), batch.proof(3))
        a.revoke_batch_record(bank, batch.batch_id, batch.entry(3), batch.proof(3))
        assert (
            a.batch_record_validity(batch.batch_id, batch.entry(3), batch.proof(3))
            is Validity.REVOKED
        )
        assert (
            a.batch_record_validity(batch.batch_id, batch.entry(4), batch.proof(4))
            is Validity.VALID
        )
        with pytest.raises(AttestationsAlreadyRevoked):
            a.revoke_batch_record(bank, batch.batch_id, batch.entry(3), batch.proof(3))
        with pytest.raises(AttestationsUnknownBatch):
            a.revoke_batch_record(bank, b"\x08" * 32, batch.entry(3), batch.proof(3))
        with pytest.raises(AttestationsInvalidBatch):
            a.anchor_batch(bank, loan, batch.root, 0)
        assert a.batch(b"\x08" * 32) is None

    def test_a_copied_root_cannot_block_its_anchorer(
        self, ledger: Ledger, keyring: Keyring, bank: LocalAccount, loan: Schema
    ) -> None:
        """The front-running attack: a member copies a rival's root from the pool and has it
        mined first. The id binds the anchorer, so the rival's anchor still lands, under
        its own id; the copy is the copier's batch, whose records name the copier."""
        a = ledger.attestations
        records = [self._record(loan, 1), self._record(loan, 2)]
        prepared = prepare_batch(loan, records)
        copier = self._member(ledger, keyring, "copycat-bank", Role.ATTESTER)
        copied = a.anchor_batch(copier, loan, prepared.tree.root, len(prepared))
        batch = anchor_records(a, bank, loan, records)  # the victim's, mined after the copy
        assert batch.root == prepared.tree.root
        assert batch.batch_id == batch_id_of(batch.root, bank.address) != copied.batch_id
        info = a.batch(batch.batch_id)
        assert info is not None
        assert (info.anchorer, info.count, info.signed, info.root) == (
            bank.address,
            2,
            False,
            batch.root,
        )
        entry, proof = batch.entry(0), batch.proof(0)
        assert a.batch_record_validity(batch.batch_id, entry, proof) is Validity.VALID
        assert a.batch_record(batch.batch_id, entry, proof).attester == bank.address
        assert a.batch_record(copied.batch_id, entry, proof).attester == copier.address
        # The victim's proof names the victim's batch only: a record id is per batch.
        assert a.batch_record(batch.batch_id, entry, proof).record_id != (
            a.batch_record(copied.batch_id, entry, proof).record_id
        )
        # Each account anchors a root once; again is refused, under the batch's id.
        for who, bid in ((bank, batch.batch_id), (copier, copied.batch_id)):
            with pytest.raises(AttestationsDuplicate) as refused:
                a.anchor_batch(who, loan, batch.root, 2)
            assert refused.value.fields["uid"] == bid

    def test_largest_batch_proves_its_last_record(
        self, ledger: Ledger, bank: LocalAccount, loan: Schema
    ) -> None:
        """65,536 records (a tree of depth 16) in one anchor; one more is refused."""
        a = ledger.attestations
        rng = random.Random(16)
        pairs = [(rng.randbytes(32), rng.randbytes(32)) for _ in range(MAX_BATCH)]
        tree = MerkleTree([batch_leaf(s, h) for s, h in pairs])
        with pytest.raises(AttestationsBatchTooLarge):
            a.anchor_batch(bank, loan, tree.root, MAX_BATCH + 1)
        with pytest.raises(LedgerValueError, match="at most 65,536"):
            prepare_batch(loan, [{}] * (MAX_BATCH + 1))
        anchored = a.anchor_batch(bank, loan, tree.root, MAX_BATCH)
        last = MAX_BATCH - 1
        proof = list(tree.proof(last))
        entry = BatchEntry(*pairs[last])
        assert len(proof) == 16
        assert verify_batch_record(entry.subject, entry.data_hash, proof, tree.root)
        assert a.batch_record_validity(anchored.batch_id, entry, proof) is Validity.VALID
        assert a.batch_record(anchored.batch_id, entry, proof).attester == bank.address
        info = a.batch(anchored.batch_id)
        assert info is not None
        assert info.count == MAX_BATCH
        wrong = BatchEntry(pairs[last][0], pairs[last - 1][1])
        assert a.batch_record_validity(anchored.batch_id, wrong, proof) is Validity.UNKNOWN

    def test_batch_expiry(self, ledger: Ledger, bank: LocalAccount, loan: Schema) -> None:
        a = ledger.attestations
        record = self._record(loan)
        batch = anchor_records(a, bank, loan, [record], expiry=ledger.chain.now() + 50)
        assert batch.proof(0) == []
        assert a.batch_record_validity(batch.batch_id, batch.entry(0), []) is Validity.VALID
        ledger.chain.advance_time(100)
        assert a.batch_record_validity(batch.batch_id, batch.entry(0), []) is Validity.EXPIRED


class TestAttestationsEmbedded(EmbeddedChain, AttestationsConformance):
    """The attestation rules on the embedded chain."""


class TestAttestationsRevm(RevmChain, AttestationsConformance):
    """On the embedded chain's revm engine."""


class TestAttestationsRevmOnDisk(RevmOnDiskChain, AttestationsConformance):
    """On the revm engine reading its state from disk on demand."""


class TestAttestationsAnvil(AnvilChain, AttestationsConformance):
    """The attestation rules on a real anvil node."""


def test_eip712_recovery_checks_length() -> None:
    acct = Account.create()
    domain = Domain("X", "1", 1, "0x" + "11" * 20)
    types = {"M": [{"name": "v", "type": "uint256"}]}
    sig = sign_typed(acct, domain, types, "M", {"v": 1})
    assert recover_typed(sig, domain, types, "M", {"v": 1}) == acct.address
    with pytest.raises(SignatureError, match="65 bytes"):
        recover_typed(sig[:64], domain, types, "M", {"v": 1})
