"""Every EIP-712 message the chain accepts is bound to its chain, its contract and one use.

For each kind of signed write (an attestation, an enterprise's authorisation,
its withdrawal, its dispute and its complaint): a signature made for another chain id or for
another contract recovers to someone else and is refused; the malleable twin
of a valid signature (s replaced by n - s) is refused; and a replayed one is
refused. Run on the embedded chain and on anvil.
"""

from __future__ import annotations

import dataclasses

import pytest

from ledger_client.contracts.authorisations import (
    AUTHORISE_TYPES,
    WITHDRAW_TYPES,
    SignedAuthorisation,
    SignedWithdrawal,
    authorise_message,
)
from ledger_client.contracts.disputes import (
    FILE_COMPLAINT_TYPES,
    RAISE_DISPUTE_TYPES,
    SignedComplaint,
    SignedDispute,
    complaint_message,
    dispute_message,
)
from ledger_client.errors import (
    AuthorisationsNonceUsed,
    AuthorisationsWrongSigner,
    DisputesNonceUsed,
    DisputesWrongSigner,
    ECDSAInvalidSignatureS,
)
from ledger_client.identity.eip712 import Domain, sign_typed
from ledger_client.types import Hash32
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain
from tests.consent_fixtures import ConsentFixtures, ConsentWorld

N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


def malleable_twin(signature: bytes) -> bytes:
    """The other valid signature of the same message: (r, n - s, v flipped)."""
    s = int.from_bytes(signature[32:64], "big")
    return signature[:32] + (N - s).to_bytes(32, "big") + bytes([55 - signature[64]])


def elsewhere(domain: Domain, other_contract: str) -> list[Domain]:
    """The same domain on another chain, and on another contract."""
    return [
        dataclasses.replace(domain, chain_id=domain.chain_id + 1),
        dataclasses.replace(domain, verifying_contract=other_contract),
    ]


class SignatureSafety(ConsentFixtures):
    """The refusals every backend must show."""

    def test_authorisation(self, world: ConsentWorld) -> None:
        a = world.ledger.authorisations
        bank = world.shanghai_bank
        good = a.sign_authorisation(world.enterprise, world.request(), nonce=1)
        for domain in elsewhere(a.domain, world.ledger.disputes.address):
            message = authorise_message(good.request, good.enterprise, 2, good.deadline)
            sig = sign_typed(world.enterprise, domain, AUTHORISE_TYPES, "Authorise", message)
            forged = SignedAuthorisation(good.request, good.enterprise, 2, good.deadline, sig)
            with pytest.raises(AuthorisationsWrongSigner):
                a.authorise(bank, forged)
        twin = dataclasses.replace(good, signature=malleable_twin(good.signature))
        with pytest.raises(ECDSAInvalidSignatureS):
            a.authorise(bank, twin)
        a.authorise(bank, good)
        with pytest.raises(AuthorisationsNonceUsed):
            a.authorise(bank, good)

    def test_withdrawal(self, world: ConsentWorld) -> None:
        a = world.ledger.authorisations
        bank = world.shanghai_bank
        auth_id = a.authorise(bank, a.sign_authorisation(world.enterprise, world.request())).auth_id
        good = a.sign_withdrawal(world.enterprise, auth_id)
        for domain in elsewhere(a.domain, world.ledger.disputes.address):
            message = {"authId": bytes(auth_id), "deadline": good.deadline}
            sig = sign_typed(world.enterprise, domain, WITHDRAW_TYPES, "Withdraw", message)
            forged = SignedWithdrawal(good.auth_id, good.enterprise, good.deadline, sig)
            with pytest.raises(AuthorisationsWrongSigner):
                a.withdraw_by_sig(bank, forged)
        with pytest.raises(ECDSAInvalidSignatureS):
            a.withdraw_by_sig(
                bank, dataclasses.replace(good, signature=malleable_twin(good.signature))
            )

    def test_dispute(self, world: ConsentWorld) -> None:
        d = world.ledger.disputes
        relayer = world.nanjing_bank
        reason = b"\x33" * 32
        good = d.sign_dispute(world.enterprise, world.uid, world.fields, reason, nonce=5)
        for domain in elsewhere(d.domain, world.ledger.authorisations.address):
            message = dispute_message(world.uid, reason, good.enterprise, 6, good.deadline)
            sig = sign_typed(world.enterprise, domain, RAISE_DISPUTE_TYPES, "RaiseDispute", message)
            forged = SignedDispute(
                good.uid, good.fields, good.reason_hash, good.enterprise, 6, good.deadline, sig
            )
            with pytest.raises(DisputesWrongSigner):
                d.relay_dispute(relayer, forged)
        with pytest.raises(ECDSAInvalidSignatureS):
            d.relay_dispute(
                relayer, dataclasses.replace(good, signature=malleable_twin(good.signature))
            )
        raised = d.relay_dispute(relayer, good)
        d.reject(world.hangzhou_bureau, raised.dispute_id, b"\x44" * 32)
        with pytest.raises(DisputesNonceUsed):
            d.relay_dispute(relayer, good)

    def test_complaint(self, world: ConsentWorld) -> None:
        d = world.ledger.disputes
        relayer = world.nanjing_bank
        reason = Hash32(b"\x35" * 32)
        signed = d.sign_dispute(world.enterprise, world.uid, world.fields, reason, nonce=7)
        dispute_id = d.relay_dispute(relayer, signed).dispute_id
        d.reject(world.hangzhou_bureau, dispute_id, b"\x44" * 32)
        good = d.sign_complaint(world.enterprise, dispute_id, reason, nonce=8)
        for domain in elsewhere(d.domain, world.ledger.authorisations.address):
            message = complaint_message(dispute_id, reason, good.enterprise, 9, good.deadline)
            sig = sign_typed(
                world.enterprise, domain, FILE_COMPLAINT_TYPES, "FileComplaint", message
            )
            forged = SignedComplaint(dispute_id, reason, good.enterprise, 9, good.deadline, sig)
            with pytest.raises(DisputesWrongSigner):
                d.relay_complaint(relayer, forged)
        # The enterprise's signed dispute is no complaint: another type, another digest.
        as_dispute = dispute_message(world.uid, reason, good.enterprise, 10, good.deadline)
        sig = sign_typed(
            world.enterprise, d.domain, RAISE_DISPUTE_TYPES, "RaiseDispute", as_dispute
        )
        with pytest.raises(DisputesWrongSigner):
            d.relay_complaint(relayer, dataclasses.replace(good, nonce=10, signature=sig))
        with pytest.raises(ECDSAInvalidSignatureS):
            d.relay_complaint(
                relayer, dataclasses.replace(good, signature=malleable_twin(good.signature))
            )
        d.relay_complaint(relayer, good)
        with pytest.raises(DisputesNonceUsed):
            d.relay_complaint(relayer, good)


class TestSignatureSafetyEmbedded(EmbeddedChain, SignatureSafety):
    """On the embedded chain."""


class TestSignatureSafetyRevm(RevmChain, SignatureSafety):
    """On the embedded chain's revm engine."""


class TestSignatureSafetyAnvil(AnvilChain, SignatureSafety):
    """On a real anvil node."""
