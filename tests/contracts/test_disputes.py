"""Disputes (异议) and their 20-day deadline (art. 25 of 《征信业管理条例》), on both backends."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import Keyring, Role
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.disputes import DISPUTE_RESOLUTION_PERIOD, fields_tuple
from ledger_client.deployment import create_address
from ledger_client.errors import (
    AttestationsNotDisputes,
    ConsortiumMemberSuspended,
    DisputesAlreadyAnswered,
    DisputesAlreadyCorrected,
    DisputesAlreadyOpen,
    DisputesComplaintExists,
    DisputesComplaintNotOpen,
    DisputesFieldsMismatch,
    DisputesInvalidReason,
    DisputesNonceUsed,
    DisputesNotComplainable,
    DisputesNotCorrected,
    DisputesNotDisputable,
    DisputesNotOpen,
    DisputesNotRegulator,
    DisputesNotResolver,
    DisputesNotSubject,
    DisputesSignatureExpired,
    DisputesUnknown,
    DisputesUnknownAttestation,
    DisputesUnknownComplaint,
    DisputesWrongSigner,
)
from ledger_client.index.consent import ConsentLog, complaints, disputes
from ledger_client.types import AttestationFields, ComplaintStatus, DisputeStatus, Validity
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain
from tests.consent_fixtures import HANGZHOU_SUBJECT, NANJING_SUBJECT, ConsentFixtures, ConsentWorld

#: A call a test expects the contract to refuse.
Attempt = Callable[[], object]

REASON = keccak256("我司2023年纳税信用等级应为A级，见复评决定书。".encode())
ANSWER = keccak256("经核查，原记录无误。".encode())
#: A plain attest cost 57,638 gas before the disputes hook (57,616 with it, in this branch).
#: The ceiling leaves room for solc's constant optimiser computing the address mask instead
#: of pushing it (+48, see Attestations.sol) but not for a storage read (+2,100) or write.
ATTEST_GAS_CEILING = 58_000


class DisputesConformance(ConsentFixtures):
    """The rules of disputes as every backend must show them."""

    def _raise(self, world: ConsentWorld, reason: bytes = REASON) -> int:
        """The enterprise signs a dispute of the record; the Hangzhou bureau relays it."""
        d = world.ledger.disputes
        signed = d.sign_dispute(world.enterprise, world.uid, world.fields, reason)
        return d.relay_dispute(world.hangzhou_bureau, signed).dispute_id

    # -- raising --------------------------------------------------------------------
    def test_subject_raises_a_signed_dispute(self, world: ConsentWorld) -> None:
        d, att = world.ledger.disputes, world.ledger.attestations
        signed = d.sign_dispute(world.enterprise, world.uid, world.fields, REASON)
        assert d.recover_dispute_signer(signed) == world.enterprise.address
        raised = d.relay_dispute(world.shanghai_bank, signed)  # anyone may relay
        now = world.ledger.chain.backend.block(raised.tx.block_number).timestamp
        assert raised.dispute_id == 1
        assert raised.tx.event("DisputeRaised").args == {
            "disputeId": 1,
            "uid": world.uid,
            "attester": world.hangzhou_bureau.address,
            "subject": HANGZHOU_SUBJECT,
            "reasonHash": REASON,
            "deadline": now + DISPUTE_RESOLUTION_PERIOD,
            "raisedBy": world.enterprise.address,
        }
        dispute = d.dispute(1)
        assert dispute is not None
        assert (dispute.uid, dispute.attester, dispute.status, dispute.resolved_at) == (
            world.uid,
            world.hangzhou_bureau.address,
            DisputeStatus.OPEN,
            0,
        )
        assert dispute.raised_at == now
        assert d.open_dispute(world.uid) == 1
        assert d.dispute_count() == 1
        assert att.dispute_deadline(world.uid) == dispute.deadline
        assert att.validity(world.uid) is Validity.DISPUTED
        assert world.ledger.chain.backend.balance(world.enterprise.address) == 0

    def test_replayed_dispute_signature(self, world: ConsentWorld) -> None:
        d = world.ledger.disputes
        signed = d.sign_dispute(world.enterprise, world.uid, world.fields, REASON)
        d.relay_dispute(world.hangzhou_bureau, signed)
        d.reject(world.hangzhou_bureau, 1, ANSWER)
        with pytest.raises(DisputesNonceUsed) as info:
            d.relay_dispute(world.hangzhou_bureau, signed)  # would reopen it
        assert info.value.nonce == signed.nonce
        assert d.nonce_used(world.enterprise.address, signed.nonce)

    def test_signature_checks(self, world: ConsentWorld) -> None:
        d, chain = world.ledger.disputes, world.ledger.chain
        signed = d.sign_dispute(world.enterprise, world.uid, world.fields, REASON)
        other_reason = type(signed)(
            signed.uid,
            signed.fields,
            ANSWER,
            signed.enterprise,
            signed.nonce,
            signed.deadline,
            signed.signature,
        )
        with pytest.raises(DisputesWrongSigner):
            d.relay_dispute(world.hangzhou_bureau, other_reason)
        stale = d.sign_dispute(
            world.enterprise, world.uid, world.fields, REASON, deadline=chain.now() + 5
        )
        chain.advance_time(6)
        with pytest.raises(DisputesSignatureExpired):
            d.relay_dispute(world.hangzhou_bureau, stale)

    def test_only_the_subject_may_dispute(self, world: ConsentWorld, keyring: Keyring) -> None:
        d = world.ledger.disputes
        # Another enterprise, with the record's true fields: not its record.
        other = d.sign_dispute(world.other_enterprise, world.uid, world.fields, REASON)
        with pytest.raises(DisputesNotSubject) as info:
            d.relay_dispute(world.hangzhou_bureau, other)
        assert info.value.caller == world.other_enterprise.address
        # ... nor by claiming the record is about itself: the UID does not commit to that.
        lying = AttestationFields(NANJING_SUBJECT, world.fields.data_hash)
        with pytest.raises(DisputesFieldsMismatch):
            d.relay_dispute(
                world.hangzhou_bureau,
                d.sign_dispute(world.other_enterprise, world.uid, lying, REASON),
            )
        # A member institution is not the subject; an unbound stranger neither.
        with pytest.raises(DisputesNotSubject) as info:
            d.raise_dispute(world.shanghai_bank, world.uid, world.fields, REASON)
        assert info.value.caller == world.shanghai_bank.address
        stranger = keyring.account("stranger")
        with pytest.raises(DisputesNotSubject) as info:
            d.relay_dispute(
                world.hangzhou_bureau, d.sign_dispute(stranger, world.uid, world.fields, REASON)
            )
        assert info.value.caller == stranger.address

    def test_direct_dispute_needs_gas_only(self, world: ConsentWorld) -> None:
        world.ledger.chain.fund(world.enterprise.address)
        raised = world.ledger.disputes.raise_dispute(
            world.enterprise, world.uid, world.fields, REASON
        )
        assert raised.tx.event("DisputeRaised").args["raisedBy"] == world.enterprise.address

    def test_refusals_on_raising(self, world: ConsentWorld) -> None:
        d = world.ledger.disputes
        with pytest.raises(DisputesInvalidReason):
            self._raise(world, bytes(32))
        with pytest.raises(DisputesUnknownAttestation):
            d.relay_dispute(
                world.hangzhou_bureau,
                d.sign_dispute(world.enterprise, b"\x05" * 32, world.fields, REASON),
            )
        first = self._raise(world)
        with pytest.raises(DisputesAlreadyOpen) as info:
            self._raise(world)
        assert info.value.disputeId == first
        assert info.value.kind == "conflict"

    def test_revoked_or_replaced_records_cannot_be_disputed(self, world: ConsentWorld) -> None:
        att = world.ledger.attestations
        replacement = att.replace(
            world.hangzhou_bureau, world.uid, world.fields, keccak256(b"corrected")
        )
        with pytest.raises(DisputesNotDisputable) as info:
            self._raise(world)
        assert info.value.validity == Validity.REPLACED
        att.revoke(world.hangzhou_bureau, replacement.uid)
        fields = AttestationFields(HANGZHOU_SUBJECT, keccak256(b"corrected"), world.uid)
        d = world.ledger.disputes
        with pytest.raises(DisputesNotDisputable) as info:
            d.relay_dispute(
                world.hangzhou_bureau,
                d.sign_dispute(world.enterprise, replacement.uid, fields, REASON),
            )
        assert info.value.validity == Validity.REVOKED

    def test_an_expired_record_can_be_disputed_and_shows_disputed(
        self, world: ConsentWorld
    ) -> None:
        chain, att, d = world.ledger.chain, world.ledger.attestations, world.ledger.disputes
        data_hash = keccak256(b"overdue record, kept five years")
        lapsing = att.attest(
            world.hangzhou_bureau,
            world.schema,
            HANGZHOU_SUBJECT,
            data_hash,
            expiry=chain.now() + 86_400,
        )
        chain.advance_time(2 * 86_400)
        assert att.validity(lapsing.uid) is Validity.EXPIRED
        fields = AttestationFields(HANGZHOU_SUBJECT, data_hash)
        raised = d.relay_dispute(
            world.hangzhou_bureau, d.sign_dispute(world.enterprise, lapsing.uid, fields, REASON)
        )
        assert att.validity(lapsing.uid) is Validity.DISPUTED  # an open dispute shows first
        d.reject(world.hangzhou_bureau, raised.dispute_id, ANSWER)
        assert att.validity(lapsing.uid) is Validity.EXPIRED

    # -- the deadline ---------------------------------------------------------------
    def test_twenty_day_boundary(self, world: ConsentWorld) -> None:
        chain, d, att = world.ledger.chain, world.ledger.disputes, world.ledger.attestations
        dispute_id = self._raise(world)
        dispute = d.dispute(dispute_id)
        assert dispute is not None
        assert dispute.deadline == dispute.raised_at + 20 * 86_400
        chain.advance_time(dispute.deadline - 1 - chain.now())  # a block at deadline - 1 s
        last_second = chain.backend.block_number()
        assert att.validity(world.uid, block=last_second) is Validity.DISPUTED
        assert d.overdue_disputes(block=last_second) == []
        chain.advance_time(1)  # a block at the deadline: overdue from this second on
        assert att.validity(world.uid) is Validity.DISPUTE_OVERDUE
        overdue = d.overdue_disputes(world.hangzhou_bureau.address)
        assert [x.dispute_id for x in overdue] == [dispute_id]
        assert overdue[0].overdue(chain.now())
        assert d.overdue_disputes(world.shanghai_bank.address) == []
        assert [x.dispute_id for x in d.overdue_disputes()] == [dispute_id]
        # Late is still answerable, and marked late.
        rejected = d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        assert rejected.event("DisputeRejected").args["late"] is True
        assert d.overdue_disputes() == []
        assert att.validity(world.uid) is Validity.VALID

    def test_regulator_lists_overdue_disputes_per_member_from_events(
        self, world: ConsentWorld
    ) -> None:
        chain = world.ledger.chain
        first = self._raise(world)
        chain.advance_time(10 * 86_400)
        bank_record = world.ledger.attestations.attest(
            world.shanghai_bank, world.schema, HANGZHOU_SUBJECT, keccak256(b"bank record")
        )
        fields = AttestationFields(HANGZHOU_SUBJECT, keccak256(b"bank record"))
        d = world.ledger.disputes
        second = d.relay_dispute(
            world.hangzhou_bureau,
            d.sign_dispute(world.enterprise, bank_record.uid, fields, REASON),
        ).dispute_id
        chain.advance_time(15 * 86_400)  # the first is overdue, the second not yet
        log = ConsentLog(world.ledger)
        log.follow()
        now = chain.now()
        assert [x.dispute_id for x in log.overdue_disputes(now)] == [first]
        assert [
            x.dispute_id for x in log.overdue_disputes(now, attester=world.shanghai_bank.address)
        ] == []
        chain.advance_time(10 * 86_400)
        log.follow()
        bank_overdue = log.overdue_disputes(chain.now(), attester=world.shanghai_bank.address)
        assert [x.dispute_id for x in bank_overdue] == [second]
        assert bank_overdue[0].reason_hash == REASON
        log.close()

    # -- resolving ------------------------------------------------------------------
    def test_attester_rejects_with_a_reason(self, world: ConsentWorld) -> None:
        d = world.ledger.disputes
        dispute_id = self._raise(world)
        with pytest.raises(DisputesInvalidReason):
            d.reject(world.hangzhou_bureau, dispute_id, bytes(32))
        rejected = d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        assert rejected.event("DisputeRejected").args == {
            "disputeId": dispute_id,
            "uid": world.uid,
            "resolver": world.hangzhou_bureau.address,
            "reasonHash": ANSWER,
            "late": False,
        }
        dispute = d.dispute(dispute_id)
        assert dispute is not None
        assert dispute.status is DisputeStatus.REJECTED
        assert dispute.resolved_at > 0
        assert d.open_dispute(world.uid) is None
        assert world.ledger.attestations.dispute_deadline(world.uid) == 0
        assert world.ledger.attestations.validity(world.uid) is Validity.VALID
        with pytest.raises(DisputesNotOpen) as info:
            d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        assert info.value.status == DisputeStatus.REJECTED
        # Answered: the remedy is a complaint to the regulator, not a second dispute.
        with pytest.raises(DisputesAlreadyAnswered) as answered:
            self._raise(world, keccak256(b"new evidence"))
        assert answered.value.fields == {"uid": world.uid, "disputeId": dispute_id}

    def test_who_may_resolve(self, world: ConsentWorld) -> None:
        d = world.ledger.disputes
        dispute_id = self._raise(world)
        for outsider in (world.shanghai_bank, world.auditor):
            with pytest.raises(DisputesNotResolver) as info:
                d.reject(outsider, dispute_id, ANSWER)
            assert info.value.attester == world.hangzhou_bureau.address
        world.ledger.chain.fund(world.enterprise.address)
        with pytest.raises(DisputesNotResolver):
            d.reject(world.enterprise, dispute_id, ANSWER)  # not its own judge
        with pytest.raises(DisputesUnknown):
            d.reject(world.hangzhou_bureau, 99, ANSWER)
        world.ledger.consortium.suspend_member(world.regulator, world.hangzhou_bureau.address)
        with pytest.raises(ConsortiumMemberSuspended):
            d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        # With the attester suspended, the regulator answers.
        d.reject(world.regulator, dispute_id, ANSWER)

    def test_upheld_by_revocation(self, world: ConsentWorld) -> None:
        d, att = world.ledger.disputes, world.ledger.attestations
        dispute_id = self._raise(world)
        with pytest.raises(DisputesNotCorrected):
            d.uphold(world.hangzhou_bureau, dispute_id)
        att.revoke(world.hangzhou_bureau, world.uid, REASON)
        # A rejection would say the record stands; once revoked it does not.
        with pytest.raises(DisputesAlreadyCorrected) as refused:
            d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        assert refused.value.fields == {"disputeId": dispute_id, "uid": world.uid}
        upheld = d.uphold(world.hangzhou_bureau, dispute_id, ANSWER)
        assert upheld.event("DisputeUpheld").args == {
            "disputeId": dispute_id,
            "uid": world.uid,
            "resolver": world.hangzhou_bureau.address,
            "replacedBy": bytes(32),
            "replyHash": ANSWER,
            "late": False,
        }
        dispute = d.dispute(dispute_id)
        assert dispute is not None
        assert dispute.status is DisputeStatus.UPHELD
        assert att.validity(world.uid) is Validity.REVOKED

    def test_upheld_by_replacement_links_the_correction(self, world: ConsentWorld) -> None:
        d, att = world.ledger.disputes, world.ledger.attestations
        dispute_id = self._raise(world)
        # While the dispute is open, Revoked and Replaced still take precedence.
        corrected = att.replace(
            world.hangzhou_bureau, world.uid, world.fields, keccak256(b"grade A")
        )
        assert att.validity(world.uid) is Validity.REPLACED
        with pytest.raises(DisputesAlreadyCorrected):
            d.reject(world.regulator, dispute_id, ANSWER)
        upheld = d.uphold(world.regulator, dispute_id)  # a regulator may resolve too
        assert upheld.event("DisputeUpheld").args["replacedBy"] == corrected.uid
        assert att.validity(corrected.uid) is Validity.VALID
        log = ConsentLog(world.ledger)
        log.follow()
        with log.index.reading() as db:
            (entry,) = disputes(db, attester=world.hangzhou_bureau.address)
        assert (entry.status, entry.replaced_by, entry.resolver) == (
            DisputeStatus.UPHELD,
            corrected.uid,
            world.regulator.address,
        )
        assert log.overdue_disputes(world.ledger.chain.now() + 30 * 86_400) == []
        log.close()

    def test_only_the_disputes_contract_writes_the_hook(self, world: ConsentWorld) -> None:
        att = world.ledger.attestations
        data = att.codec.fn("setDisputeDeadline").encode([world.uid, 1])
        with pytest.raises(AttestationsNotDisputes) as info:
            world.ledger.chain.transact(world.regulator, att.address, data)
        assert info.value.caller == world.regulator.address

    # -- a record is disputed once; then the remedy is a complaint (art. 25, 26) ----------
    def _forwarded(self, world: ConsentWorld, signer: LocalAccount, fn: str, *args: Any) -> Any:
        """``signer``'s call of ``Disputes.fn`` signed as a ForwardRequest, relayed by a
        funded stranger: the door the API uses."""
        relayer = Keyring("disputes-relayer").account("relayer")
        world.ledger.chain.fund(relayer.address)
        fw, d = world.ledger.forwarder, world.ledger.disputes
        return fw.relay(relayer, fw.sign(signer, d, fn, *args), d)

    def test_reraise_after_rejection_is_refused_on_every_path(self, world: ConsentWorld) -> None:
        d, att, chain = world.ledger.disputes, world.ledger.attestations, world.ledger.chain
        dispute_id = self._raise(world)
        d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        again = keccak256(b"the same grounds, once more")
        chain.fund(world.enterprise.address)
        attempts: dict[str, Attempt] = {
            "direct": lambda: d.raise_dispute(world.enterprise, world.uid, world.fields, again),
            "signed": lambda: d.relay_dispute(
                world.shanghai_bank,
                d.sign_dispute(world.enterprise, world.uid, world.fields, again),
            ),
            "forwarded": lambda: self._forwarded(
                world,
                world.enterprise,
                "raiseDispute",
                world.uid,
                fields_tuple(world.fields),
                again,
            ),
        }
        for path, attempt in attempts.items():
            with pytest.raises(DisputesAlreadyAnswered) as info:
                attempt()
            assert info.value.fields == {"uid": world.uid, "disputeId": dispute_id}, path
        assert d.dispute_count() == 1
        assert d.open_dispute(world.uid) is None
        assert att.validity(world.uid) is Validity.VALID  # not Disputed again at anyone's gas

    def test_a_late_rejection_is_final_too_and_grounds_for_a_complaint(
        self, world: ConsentWorld
    ) -> None:
        d, chain = world.ledger.disputes, world.ledger.chain
        dispute_id = self._raise(world)
        chain.advance_time(DISPUTE_RESOLUTION_PERIOD + 1)
        late = d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        assert late.event("DisputeRejected").args["late"] is True
        with pytest.raises(DisputesAlreadyAnswered):
            self._raise(world)
        lateness = keccak256("答复超过二十日。".encode())
        filed = d.relay_complaint(
            world.hangzhou_bureau, d.sign_complaint(world.enterprise, dispute_id, lateness)
        )
        assert filed.tx.event("ComplaintFiled").args["reasonHash"] == lateness

    def test_a_corrected_record_may_be_disputed_anew(self, world: ConsentWorld) -> None:
        d, att = world.ledger.disputes, world.ledger.attestations
        dispute_id = self._raise(world)
        corrected = att.replace(world.hangzhou_bureau, world.uid, world.fields, keccak256(b"B"))
        d.uphold(world.hangzhou_bureau, dispute_id, ANSWER)
        with pytest.raises(DisputesNotDisputable) as info:
            self._raise(world)  # the old UID: corrected, not disputable
        assert info.value.validity == Validity.REPLACED
        fields = AttestationFields(HANGZHOU_SUBJECT, keccak256(b"B"), world.uid)
        anew = d.relay_dispute(
            world.hangzhou_bureau, d.sign_dispute(world.enterprise, corrected.uid, fields, REASON)
        )
        assert anew.dispute_id == dispute_id + 1
        assert att.validity(corrected.uid) is Validity.DISPUTED

    def test_complaint_after_rejection_resolved_by_the_regulator(self, world: ConsentWorld) -> None:
        d, att = world.ledger.disputes, world.ledger.attestations
        dispute_id = self._raise(world)
        d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        signed = d.sign_complaint(world.enterprise, dispute_id, REASON)
        assert d.recover_complaint_signer(signed) == world.enterprise.address
        filed = d.relay_complaint(world.hangzhou_bureau, signed)
        assert filed.complaint_id == 1
        assert filed.tx.event("ComplaintFiled").args == {
            "complaintId": 1,
            "disputeId": dispute_id,
            "uid": world.uid,
            "subject": HANGZHOU_SUBJECT,
            "reasonHash": REASON,
            "filedBy": world.enterprise.address,
        }
        complaint = d.complaint(1)
        assert complaint is not None
        assert (complaint.dispute_id, complaint.status, complaint.resolved_at) == (
            dispute_id,
            ComplaintStatus.OPEN,
            0,
        )
        assert [c.complaint_id for c in d.open_complaints()] == [1]
        assert d.complaint_count() == 1
        disputed = d.dispute(dispute_id)
        assert disputed is not None
        assert (disputed.complained, disputed.subject) == (True, HANGZHOU_SUBJECT)
        assert att.validity(world.uid) is Validity.VALID  # a complaint does not mark the record
        with pytest.raises(DisputesComplaintExists) as exists:
            d.relay_complaint(
                world.hangzhou_bureau, d.sign_complaint(world.enterprise, dispute_id, ANSWER)
            )
        assert exists.value.disputeId == dispute_id
        # Upheld only once the record is corrected; the regulator revokes it itself.
        with pytest.raises(DisputesNotCorrected):
            d.resolve_complaint(world.regulator, 1, True, ANSWER)
        with pytest.raises(DisputesInvalidReason):
            d.resolve_complaint(world.regulator, 1, False, bytes(32))
        att.revoke(world.regulator, world.uid, ANSWER)
        with pytest.raises(DisputesAlreadyCorrected):
            d.resolve_complaint(world.regulator, 1, False, ANSWER)
        resolved = d.resolve_complaint(world.regulator, 1, True, ANSWER)
        assert resolved.event("ComplaintResolved").args == {
            "complaintId": 1,
            "disputeId": dispute_id,
            "regulator": world.regulator.address,
            "upheld": True,
            "replyHash": ANSWER,
        }
        assert [e.name for e in resolved.events] == ["ComplaintResolved"]  # dispute was closed
        complaint = d.complaint(1)
        assert complaint is not None
        assert complaint.status is ComplaintStatus.UPHELD
        assert complaint.resolved_at > 0
        assert d.open_complaints() == []
        with pytest.raises(DisputesComplaintNotOpen) as info:
            d.resolve_complaint(world.regulator, 1, True, ANSWER)
        assert info.value.status == ComplaintStatus.UPHELD
        with pytest.raises(DisputesUnknownComplaint):
            d.resolve_complaint(world.regulator, 2, True, ANSWER)
        log = ConsentLog(world.ledger)
        log.follow()
        with log.index.reading() as db:
            (entry,) = complaints(db)
        assert (entry.status, entry.regulator, entry.reply_hash, entry.filed_by) == (
            ComplaintStatus.UPHELD,
            world.regulator.address,
            ANSWER,
            world.enterprise.address,
        )
        assert log.open_complaints() == []
        log.close()

    def test_complaint_of_an_overdue_silence_answers_the_dispute(self, world: ConsentWorld) -> None:
        d, att, chain = world.ledger.disputes, world.ledger.attestations, world.ledger.chain
        dispute_id = self._raise(world)
        dispute = d.dispute(dispute_id)
        assert dispute is not None
        with pytest.raises(DisputesNotComplainable) as early:
            d.relay_complaint(
                world.hangzhou_bureau, d.sign_complaint(world.enterprise, dispute_id, REASON)
            )
        assert early.value.fields == {"disputeId": dispute_id, "status": DisputeStatus.OPEN}
        chain.advance_time(dispute.deadline - chain.now())
        filed = d.relay_complaint(
            world.hangzhou_bureau, d.sign_complaint(world.enterprise, dispute_id, REASON)
        )
        assert att.validity(world.uid) is Validity.DISPUTE_OVERDUE
        rejected = d.resolve_complaint(world.regulator, filed.complaint_id, False, ANSWER)
        assert [e.name for e in rejected.events] == ["DisputeRejected", "ComplaintResolved"]
        assert rejected.event("DisputeRejected").args == {
            "disputeId": dispute_id,
            "uid": world.uid,
            "resolver": world.regulator.address,
            "reasonHash": ANSWER,
            "late": True,
        }
        answered = d.dispute(dispute_id)
        assert answered is not None
        assert answered.status is DisputeStatus.REJECTED
        assert att.validity(world.uid) is Validity.VALID
        with pytest.raises(DisputesNotOpen):
            d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        with pytest.raises(DisputesAlreadyAnswered):
            self._raise(world)

    def test_complaint_refusals(self, world: ConsentWorld) -> None:
        d, att, chain = world.ledger.disputes, world.ledger.attestations, world.ledger.chain

        def complain(dispute_id: int, reason: bytes = REASON) -> int:
            signed = d.sign_complaint(world.enterprise, dispute_id, reason)
            return d.relay_complaint(world.hangzhou_bureau, signed).complaint_id

        with pytest.raises(DisputesUnknown):
            complain(7)
        upheld = self._raise(world)
        att.revoke(world.hangzhou_bureau, world.uid, ANSWER)
        d.uphold(world.hangzhou_bureau, upheld)
        with pytest.raises(DisputesNotComplainable) as info:
            complain(upheld)
        assert info.value.status == DisputeStatus.UPHELD
        other = att.attest(world.hangzhou_bureau, world.schema, HANGZHOU_SUBJECT, keccak256(b"o"))
        fields = AttestationFields(HANGZHOU_SUBJECT, keccak256(b"o"))
        rejected = d.relay_dispute(
            world.hangzhou_bureau, d.sign_dispute(world.enterprise, other.uid, fields, REASON)
        ).dispute_id
        d.reject(world.hangzhou_bureau, rejected, ANSWER)
        with pytest.raises(DisputesInvalidReason):
            complain(rejected, bytes(32))
        # The signed path's checks (other chain, contract, type, malleable twin: see
        # test_signature_safety.py).
        signed = d.sign_complaint(world.enterprise, rejected, REASON)
        forged = type(signed)(
            signed.dispute_id,
            ANSWER,
            signed.enterprise,
            signed.nonce,
            signed.deadline,
            signed.signature,
        )
        with pytest.raises(DisputesWrongSigner):
            d.relay_complaint(world.hangzhou_bureau, forged)
        stale = d.sign_complaint(world.enterprise, rejected, REASON, deadline=chain.now() + 5)
        chain.advance_time(6)
        with pytest.raises(DisputesSignatureExpired):
            d.relay_complaint(world.hangzhou_bureau, stale)
        d.relay_complaint(world.hangzhou_bureau, signed)
        with pytest.raises(DisputesNonceUsed):
            d.relay_complaint(world.hangzhou_bureau, signed)

    # -- attacks: strangers and the wrong resolver ------------------------------------------
    def test_a_stranger_cannot_dispute_a_record_in_good_standing(
        self, world: ConsentWorld, keyring: Keyring
    ) -> None:
        d, att, chain = world.ledger.disputes, world.ledger.attestations, world.ledger.chain
        assert att.validity(world.uid) is Validity.VALID
        unbound = keyring.account("stranger:unbound")

        def attempts(s: LocalAccount) -> dict[str, Attempt]:
            """``s`` raising a dispute of the record on each path."""
            return {
                "direct": lambda: d.raise_dispute(s, world.uid, world.fields, REASON),
                "signed": lambda: d.relay_dispute(
                    world.shanghai_bank, d.sign_dispute(s, world.uid, world.fields, REASON)
                ),
                "forwarded": lambda: self._forwarded(
                    world, s, "raiseDispute", world.uid, fields_tuple(world.fields), REASON
                ),
            }

        for stranger in (world.other_enterprise, unbound):  # bound to another subject; unbound
            chain.fund(stranger.address)
            for path, attempt in attempts(stranger).items():
                with pytest.raises(DisputesNotSubject) as info:
                    attempt()
                assert info.value.fields == {"uid": world.uid, "caller": stranger.address}, path
        assert d.dispute_count() == 0
        assert att.validity(world.uid) is Validity.VALID

    def test_only_the_subject_may_complain(self, world: ConsentWorld, keyring: Keyring) -> None:
        d, chain = world.ledger.disputes, world.ledger.chain
        dispute_id = self._raise(world)
        d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        unbound = keyring.account("stranger:unbound")

        def attempts(s: LocalAccount) -> dict[str, Attempt]:
            """``s`` filing a complaint of the answer on each path."""
            return {
                "direct": lambda: d.file_complaint(s, dispute_id, REASON),
                "signed": lambda: d.relay_complaint(
                    world.shanghai_bank, d.sign_complaint(s, dispute_id, REASON)
                ),
                "forwarded": lambda: self._forwarded(world, s, "fileComplaint", dispute_id, REASON),
            }

        for stranger in (world.other_enterprise, unbound, world.hangzhou_bureau):
            chain.fund(stranger.address)
            for path, attempt in attempts(stranger).items():
                with pytest.raises(DisputesNotSubject) as info:
                    attempt()
                assert info.value.fields == {"uid": world.uid, "caller": stranger.address}, path
        assert d.complaint_count() == 0
        # A subject that moved to a new key complains with it; its old key is refused.
        moved = keyring.account("enterprise:hangzhou:new")
        world.ledger.consortium.rebind_enterprise(
            world.hangzhou_bureau, HANGZHOU_SUBJECT, moved.address
        )
        with pytest.raises(DisputesNotSubject):
            d.relay_complaint(
                world.shanghai_bank, d.sign_complaint(world.enterprise, dispute_id, REASON)
            )
        d.relay_complaint(world.shanghai_bank, d.sign_complaint(moved, dispute_id, REASON))

    def test_only_a_regulator_resolves_a_complaint(
        self, world: ConsentWorld, keyring: Keyring
    ) -> None:
        d, att, chain = world.ledger.disputes, world.ledger.attestations, world.ledger.chain
        dispute_id = self._raise(world)
        d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        complaint_id = d.relay_complaint(
            world.hangzhou_bureau, d.sign_complaint(world.enterprise, dispute_id, REASON)
        ).complaint_id
        chain.fund(world.enterprise.address)
        # The attester (who would judge its own answer), another member, an auditor, the
        # enterprise: each refused by name, directly and through the Forwarder.
        for outsider in (
            world.hangzhou_bureau,
            world.shanghai_bank,
            world.auditor,
            world.enterprise,
        ):
            with pytest.raises(DisputesNotRegulator) as info:
                d.resolve_complaint(outsider, complaint_id, False, ANSWER)
            assert info.value.fields == {"complaintId": complaint_id, "caller": outsider.address}
            with pytest.raises(DisputesNotRegulator):
                self._forwarded(world, outsider, "resolveComplaint", complaint_id, False, ANSWER)
        # A regulator suspended is no regulator.
        second = self._member(world.ledger, keyring, "regulator:2", Role.REGULATOR, "Shanghai")
        world.ledger.consortium.suspend_member(world.regulator, second.address)
        with pytest.raises(DisputesNotRegulator):
            d.resolve_complaint(second, complaint_id, False, ANSWER)
        complaint = d.complaint(complaint_id)
        assert complaint is not None
        assert complaint.status is ComplaintStatus.OPEN
        att.revoke(world.regulator, world.uid, ANSWER)
        self._forwarded(world, world.regulator, "resolveComplaint", complaint_id, True, ANSWER)
        complaint = d.complaint(complaint_id)
        assert complaint is not None
        assert complaint.status is ComplaintStatus.UPHELD

    def test_gas(self, world: ConsentWorld) -> None:
        d, att = world.ledger.disputes, world.ledger.attestations
        # The hook adds nothing to a plain attest.
        attested = att.attest(
            world.hangzhou_bureau, world.schema, HANGZHOU_SUBJECT, keccak256(b"gas")
        )
        assert attested.gas_used <= ATTEST_GAS_CEILING
        world.ledger.chain.fund(world.enterprise.address)
        raised = d.raise_dispute(world.enterprise, world.uid, world.fields, REASON)
        rejected = d.reject(world.hangzhou_bureau, raised.dispute_id, ANSWER)
        complained = d.relay_complaint(
            world.hangzhou_bureau, d.sign_complaint(world.enterprise, raised.dispute_id, REASON)
        )
        att.revoke(world.regulator, world.uid, ANSWER)
        resolved = d.resolve_complaint(world.regulator, complained.complaint_id, True, ANSWER)
        second = att.attest(
            world.hangzhou_bureau, world.schema, HANGZHOU_SUBJECT, keccak256(b"second")
        )
        relayed = d.relay_dispute(
            world.hangzhou_bureau,
            d.sign_dispute(
                world.enterprise,
                second.uid,
                AttestationFields(HANGZHOU_SUBJECT, keccak256(b"second")),
                REASON,
            ),
        )
        att.revoke(world.hangzhou_bureau, second.uid)
        upheld = d.uphold(world.hangzhou_bureau, relayed.dispute_id)
        # Three slots (the subject is kept for a complaint) and the record's dispute id.
        assert raised.tx.gas_used <= 200_000  # the first dispute also starts the counter
        assert relayed.tx.gas_used <= 200_000
        assert rejected.gas_used <= 60_000  # reads the record: a corrected one cannot be rejected
        assert upheld.gas_used <= 60_000
        assert complained.tx.gas_used <= 120_000  # relayed; the first complaint starts its counter
        assert resolved.gas_used <= 60_000


@pytest.mark.parametrize("nonce", [0, 1, 127, 128, 255, 256, 65_535, 2**24])
def test_create_address_is_the_evms(nonce: int) -> None:
    # deploy() gives Attestations the address Disputes will get; py-evm's rule decides it.
    from eth._utils.address import generate_contract_address
    from eth_typing import Address

    sender = "0x" + "ab" * 20
    expected = generate_contract_address(Address(bytes.fromhex("ab" * 20)), nonce)
    assert create_address(sender, nonce).lower() == "0x" + expected.hex()


class TestDisputesEmbedded(EmbeddedChain, DisputesConformance):
    """The embedded chain, where each transaction's block is one second after the last."""

    def test_resolution_at_the_last_second_is_on_time(self, world: ConsentWorld) -> None:
        chain, d = world.ledger.chain, world.ledger.disputes
        dispute_id = self._raise(world)
        dispute = d.dispute(dispute_id)
        assert dispute is not None
        chain.advance_time(dispute.deadline - 2 - chain.now())
        rejected = d.reject(world.hangzhou_bureau, dispute_id, ANSWER)
        assert chain.backend.block(rejected.block_number).timestamp == dispute.deadline - 1
        assert rejected.event("DisputeRejected").args["late"] is False
        data_hash = keccak256(b"another record")
        other = world.ledger.attestations.attest(
            world.hangzhou_bureau, world.schema, HANGZHOU_SUBJECT, data_hash
        )
        second = d.relay_dispute(
            world.hangzhou_bureau,
            d.sign_dispute(
                world.enterprise,
                other.uid,
                AttestationFields(HANGZHOU_SUBJECT, data_hash),
                REASON,
            ),
        ).dispute_id
        again = d.dispute(second)
        assert again is not None
        chain.advance_time(again.deadline - 1 - chain.now())
        late = d.reject(world.hangzhou_bureau, second, ANSWER)
        assert chain.backend.block(late.block_number).timestamp == again.deadline
        assert late.event("DisputeRejected").args["late"] is True


class TestDisputesRevm(RevmChain, DisputesConformance):
    """On the embedded chain's revm engine."""


class TestDisputesAnvil(AnvilChain, DisputesConformance):
    """A real anvil node."""
