"""Encrypted cross-region report sharing, tied to the query trail, on both backends."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.records import canonical_json, validate_record
from ledger_client.consent.credit_reports import (
    RecipientKeyMissing,
    ReportAttestationMismatch,
    ReportNotForRecipient,
    ReportNotRecorded,
    ReportSubjectMismatch,
    receive_report,
    report_context,
    share_report,
)
from ledger_client.consent.sharing import (
    EncryptionKeyPair,
    ReportContentMismatch,
    ReportTampered,
    ReportWrongKey,
    SealedReport,
    open_report,
)
from ledger_client.contracts.authorisations import Queried, SignedAuthorisation, query_hash
from ledger_client.errors import (
    AuthorisationsDuplicateShare,
    AuthorisationsExpired,
    AuthorisationsInvalidShare,
    AuthorisationsNoEncryptionKey,
    AuthorisationsRecipientNotQuerier,
    AuthorisationsUnknownQuery,
    AuthorisationsWithdrawn,
    ConsortiumMemberSuspended,
    ConsortiumUnauthorized,
)
from ledger_client.types import AttestationFields, QueryPurpose, Validity
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain
from tests.consent_fixtures import NANJING_SUBJECT, ConsentFixtures, ConsentWorld

LOAN = QueryPurpose.LOAN_APPROVAL


def _tamper(sealed: SealedReport, position: int = 0) -> SealedReport:
    ct = bytearray(sealed.ciphertext)
    ct[position] ^= 0x01
    return dataclasses.replace(sealed, ciphertext=bytes(ct))


class ReportsConformance(ConsentFixtures):
    """A Hangzhou bureau answers a Shanghai bank's authorised query with a sealed report."""

    @pytest.fixture
    def bank_keys(self, world: ConsentWorld) -> EncryptionKeyPair:
        keys = EncryptionKeyPair.generate()
        world.ledger.consortium.publish_encryption_key(world.shanghai_bank, keys.public_bytes)
        return keys

    @pytest.fixture
    def query(self, world: ConsentWorld, bank_keys: EncryptionKeyPair) -> Queried:
        signed = world.authorise()
        return self._query(world, signed, 1)

    def _query(self, world: ConsentWorld, signed: SignedAuthorisation, n: int) -> Queried:
        return world.ledger.authorisations.log_query(
            world.shanghai_bank,
            signed.auth_id,
            LOAN,
            query_hash({"application": f"SH-{n}"}),
        )

    def _report(self, world: ConsentWorld) -> bytes:
        """The record as the bureau holds it: its canonical JSON, whose hash is attested."""
        return canonical_json(validate_record(world.schema, world.record))

    def _receive(
        self,
        world: ConsentWorld,
        keys: EncryptionKeyPair,
        query: Queried,
        sealed: SealedReport,
        *,
        recipient: LocalAccount | None = None,
        uid: bytes | None = None,
        fields: AttestationFields | None = None,
    ) -> bytes:
        received = receive_report(
            world.ledger,
            (recipient or world.shanghai_bank).address,
            keys,
            query_id=query.query_id,
            sealed=sealed,
            uid=uid or world.uid,
            fields=fields or world.fields,
        )
        return received.report

    # -- the flow -------------------------------------------------------------------
    def test_share_and_receive(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        report = self._report(world)
        shared = share_report(
            world.ledger, world.hangzhou_bureau, query.query_id, world.shanghai_bank.address, report
        )
        ev = shared.tx.event("ReportShared")
        assert ev.args == {
            "queryId": query.query_id,
            "sender": world.hangzhou_bureau.address,
            "recipient": world.shanghai_bank.address,
            "subject": world.fields.subject,
            "ciphertextHash": shared.sealed.ciphertext_hash,
            "recipientKey": bank_keys.public_bytes,
        }
        # Off chain, the envelope travels as bytes; on chain there is only its hash.
        wire = shared.sealed.to_bytes()
        assert report not in wire
        received = receive_report(
            world.ledger,
            world.shanghai_bank.address,
            bank_keys,
            query_id=query.query_id,
            sealed=SealedReport.from_bytes(wire),
            uid=world.uid,
            fields=world.fields,
        )
        assert received.report == report
        assert keccak256(received.report) == world.fields.data_hash
        assert received.sender == world.hangzhou_bureau.address
        assert received.validity is Validity.VALID
        assert received.authorisation.member == world.shanghai_bank.address
        record = world.ledger.authorisations.report_share(
            query.query_id, shared.sealed.ciphertext_hash
        )
        assert record is not None
        assert record.sender == world.hangzhou_bureau.address

    def test_a_disputed_record_arrives_marked_disputed(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        d = world.ledger.disputes
        d.relay_dispute(
            world.hangzhou_bureau,
            d.sign_dispute(world.enterprise, world.uid, world.fields, keccak256(b"wrong grade")),
        )
        shared = share_report(
            world.ledger,
            world.hangzhou_bureau,
            query.query_id,
            world.shanghai_bank.address,
            self._report(world),
        )
        received = receive_report(
            world.ledger,
            world.shanghai_bank.address,
            bank_keys,
            query_id=query.query_id,
            sealed=shared.sealed,
            uid=world.uid,
            fields=world.fields,
        )
        assert received.validity is Validity.DISPUTED

    # -- tampering and wrong keys: named errors, never garbage -----------------------
    def test_tampered_in_transit(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        shared = share_report(
            world.ledger,
            world.hangzhou_bureau,
            query.query_id,
            world.shanghai_bank.address,
            self._report(world),
        )
        tampered = _tamper(shared.sealed, 5)
        with pytest.raises(ReportNotRecorded) as info:
            self._receive(world, bank_keys, query, tampered)
        assert info.value.ciphertext_hash == tampered.ciphertext_hash

    def test_tampered_envelope_recorded_as_is_fails_authentication(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        # Even a sender that records the altered envelope's hash gets nothing past GCM.
        shared = share_report(
            world.ledger,
            world.hangzhou_bureau,
            query.query_id,
            world.shanghai_bank.address,
            self._report(world),
        )
        for position in (0, len(shared.sealed.ciphertext) - 1):  # the text, the tag
            tampered = _tamper(shared.sealed, position)
            world.ledger.authorisations.record_report_share(
                world.hangzhou_bureau,
                query.query_id,
                world.shanghai_bank.address,
                tampered.ciphertext_hash,
            )
            with pytest.raises(ReportTampered):
                self._receive(world, bank_keys, query, tampered)

    def test_wrong_key(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        shared = share_report(
            world.ledger,
            world.hangzhou_bureau,
            query.query_id,
            world.shanghai_bank.address,
            self._report(world),
        )
        with pytest.raises(ReportWrongKey):
            self._receive(world, EncryptionKeyPair.generate(), query, shared.sealed)

    def test_context_binds_the_query(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        shared = share_report(
            world.ledger,
            world.hangzhou_bureau,
            query.query_id,
            world.shanghai_bank.address,
            self._report(world),
        )
        other_query = b"\x01" * 32
        with pytest.raises(ReportTampered):
            open_report(
                shared.sealed,
                bank_keys,
                context=report_context(
                    world.ledger,
                    other_query,
                    world.hangzhou_bureau.address,
                    world.shanghai_bank.address,
                ),
            )

    def test_report_that_is_not_the_attested_record(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        shared = share_report(
            world.ledger,
            world.hangzhou_bureau,
            query.query_id,
            world.shanghai_bank.address,
            self._report(world).replace(b'"grade":"', b'"grade":"X'),
        )
        with pytest.raises(ReportContentMismatch) as info:
            self._receive(world, bank_keys, query, shared.sealed)
        assert info.value.expected == world.fields.data_hash

    def test_attestation_claims_are_checked(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        shared = share_report(
            world.ledger,
            world.hangzhou_bureau,
            query.query_id,
            world.shanghai_bank.address,
            self._report(world),
        )
        wrong_fields = AttestationFields(world.fields.subject, keccak256(b"other"))
        with pytest.raises(ReportAttestationMismatch):
            self._receive(world, bank_keys, query, shared.sealed, fields=wrong_fields)
        # A genuine record, but about another enterprise than the one that authorised.
        other = world.ledger.attestations.attest(
            world.hangzhou_bureau, world.schema, NANJING_SUBJECT, keccak256(b"nanjing")
        )
        with pytest.raises(ReportSubjectMismatch):
            self._receive(
                world,
                bank_keys,
                query,
                shared.sealed,
                uid=other.uid,
                fields=AttestationFields(NANJING_SUBJECT, keccak256(b"nanjing")),
            )
        with pytest.raises(ReportNotForRecipient):
            self._receive(world, bank_keys, query, shared.sealed, recipient=world.nanjing_bank)

    # -- what the contract refuses ----------------------------------------------------
    def test_share_refusals(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried
    ) -> None:
        auths = world.ledger.authorisations
        bureau, bank = world.hangzhou_bureau, world.shanghai_bank.address
        with pytest.raises(AuthorisationsUnknownQuery):
            auths.record_report_share(bureau, b"\x02" * 32, bank, b"\x03" * 32)
        with pytest.raises(AuthorisationsRecipientNotQuerier) as info:
            auths.record_report_share(
                bureau, query.query_id, world.nanjing_bank.address, b"\x03" * 32
            )
        assert info.value.member == bank
        with pytest.raises(ConsortiumUnauthorized):  # an auditor holds no records to share
            auths.record_report_share(world.auditor, query.query_id, bank, b"\x03" * 32)
        with pytest.raises(AuthorisationsInvalidShare):
            auths.record_report_share(bureau, query.query_id, bank, bytes(32))
        auths.record_report_share(bureau, query.query_id, bank, b"\x03" * 32)
        with pytest.raises(AuthorisationsDuplicateShare):
            auths.record_report_share(bureau, query.query_id, bank, b"\x03" * 32)
        world.ledger.consortium.suspend_member(world.regulator, bank)
        with pytest.raises(ConsortiumMemberSuspended):
            auths.record_report_share(bureau, query.query_id, bank, b"\x04" * 32)

    def test_no_key_no_share(self, world: ConsentWorld) -> None:
        signed = world.authorise()
        query = self._query(world, signed, 1)
        with pytest.raises(RecipientKeyMissing):
            share_report(
                world.ledger,
                world.hangzhou_bureau,
                query.query_id,
                world.shanghai_bank.address,
                b"{}",
            )
        with pytest.raises(AuthorisationsNoEncryptionKey):
            world.ledger.authorisations.record_report_share(
                world.hangzhou_bureau, query.query_id, world.shanghai_bank.address, b"\x03" * 32
            )

    def test_no_share_after_withdrawal_or_expiry(
        self, world: ConsentWorld, bank_keys: EncryptionKeyPair
    ) -> None:
        auths, chain = world.ledger.authorisations, world.ledger.chain
        withdrawn = world.authorise()
        q1 = self._query(world, withdrawn, 1)
        auths.withdraw_by_sig(
            world.shanghai_bank, auths.sign_withdrawal(world.enterprise, withdrawn.auth_id)
        )
        with pytest.raises(AuthorisationsWithdrawn):
            share_report(
                world.ledger, world.hangzhou_bureau, q1.query_id, world.shanghai_bank.address, b"r"
            )
        lapsing = world.authorise(world.request(days=1))
        q2 = self._query(world, lapsing, 2)
        chain.advance_time(2 * 86_400)
        with pytest.raises(AuthorisationsExpired):
            share_report(
                world.ledger, world.hangzhou_bureau, q2.query_id, world.shanghai_bank.address, b"r"
            )

    def test_gas(self, world: ConsentWorld, bank_keys: EncryptionKeyPair, query: Queried) -> None:
        shared = share_report(
            world.ledger,
            world.hangzhou_bureau,
            query.query_id,
            world.shanghai_bank.address,
            self._report(world),
        )
        assert shared.tx.gas_used <= 75_000


class TestReportsEmbedded(EmbeddedChain, ReportsConformance):
    """The embedded chain."""


class TestReportsRevm(RevmChain, ReportsConformance):
    """On the embedded chain's revm engine."""


class TestReportsAnvil(AnvilChain, ReportsConformance):
    """A real anvil node."""
