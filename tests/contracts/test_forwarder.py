"""The Forwarder on both backends: any party's signed call, relayed by anyone, exactly once."""

from __future__ import annotations

import dataclasses

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import Keyring, Ledger
from ledger_client.attestations.merkle import keccak256
from ledger_client.chain.artifacts import load_artifacts
from ledger_client.contracts.forwarder import ForwardRequest, SignedForwardRequest
from ledger_client.errors import (
    AttestationsNotAttester,
    ConsortiumNotEnterprise,
    DisputesNotResolver,
    ForwarderExpired,
    ForwarderNonceUsed,
    ForwarderUntrustedTarget,
    ForwarderWrongSigner,
    ReceivablesAlreadyFinanced,
)
from ledger_client.identity.eip712 import SignatureError
from ledger_client.types import Validity
from tests.conformance import AnvilChain, EmbeddedChain, LedgerFixtures, RevmChain
from tests.consent_fixtures import ConsentFixtures, ConsentWorld
from tests.receivables_world import World, build_world

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
LOAN = "loan-repayment"


class ForwarderConformance(ConsentFixtures, LedgerFixtures):
    """What the Forwarder guarantees, on any chain."""

    @pytest.fixture
    def relayer(self, ledger: Ledger, keyring: Keyring) -> LocalAccount:
        acct = keyring.account("relayer")
        ledger.chain.fund(acct.address)
        return acct

    def test_the_target_sees_the_signer(self, world: ConsentWorld, relayer: LocalAccount) -> None:
        ledger, bureau = world.ledger, world.hangzhou_bureau
        signed = ledger.forwarder.sign(
            bureau, ledger.attestations, "revoke", world.uid, b"\x07" * 32
        )
        result = ledger.forwarder.relay(relayer, signed, ledger.attestations)
        revoked = result.event("Revoked").args
        assert revoked["revoker"] == bureau.address  # not the relayer, not the forwarder
        assert ledger.attestations.validity(world.uid) is Validity.REVOKED
        assert ledger.forwarder.nonce_used(bureau.address, signed.request.nonce)
        assert ledger.forwarder.separator == ledger.forwarder.domain_separator()

    def test_replay_is_refused_by_name(self, world: ConsentWorld, relayer: LocalAccount) -> None:
        ledger, bureau = world.ledger, world.hangzhou_bureau
        signed = ledger.forwarder.sign(bureau, ledger.attestations, "revoke", world.uid, bytes(32))
        ledger.forwarder.relay(relayer, signed)
        with pytest.raises(ForwarderNonceUsed) as info:
            ledger.forwarder.relay(relayer, signed)
        assert info.value.signer == bureau.address
        assert info.value.nonce == signed.request.nonce

    def test_expired_request(self, world: ConsentWorld, relayer: LocalAccount) -> None:
        ledger = world.ledger
        deadline = ledger.chain.now() + 10
        signed = ledger.forwarder.sign(
            world.hangzhou_bureau,
            ledger.attestations,
            "revoke",
            world.uid,
            bytes(32),
            deadline=deadline,
        )
        ledger.chain.advance_time(60)
        with pytest.raises(ForwarderExpired) as info:
            ledger.forwarder.relay(relayer, signed)
        assert info.value.deadline == deadline

    def test_forged_or_altered_requests(self, world: ConsentWorld, relayer: LocalAccount) -> None:
        ledger, bureau, bank = world.ledger, world.hangzhou_bureau, world.shanghai_bank
        fw = ledger.forwarder
        # Bank signs a request that claims to come from the bureau.
        claimed = fw.request(bureau.address, ledger.attestations, "revoke", world.uid, bytes(32))
        digest_signed = fw.sign_request(bank, dataclasses.replace(claimed, sender=bank.address))
        forged = SignedForwardRequest(claimed, digest_signed.signature)
        with pytest.raises(ForwarderWrongSigner) as info:
            fw.relay(relayer, forged)
        assert info.value.claimed == bureau.address
        # The bureau's own request with its calldata changed after signing.
        signed = fw.sign(bureau, ledger.attestations, "revoke", world.uid, bytes(32))
        other = ledger.attestations.codec.fn("revoke").encode([world.uid, b"\x01" * 32])
        altered = SignedForwardRequest(
            dataclasses.replace(signed.request, data=other), signed.signature
        )
        with pytest.raises(ForwarderWrongSigner):
            fw.relay(relayer, altered)
        # The malleable (high-s) twin of a good signature.
        sig = signed.signature
        s = int.from_bytes(sig[32:64], "big")
        twin = sig[:32] + (_SECP256K1_N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
        with pytest.raises(ForwarderWrongSigner) as high:
            fw.relay(relayer, SignedForwardRequest(signed.request, twin))
        assert int(high.value.signer, 16) == 0
        with pytest.raises(SignatureError):
            fw.sign_request(bank, signed.request)  # the client refuses to sign as another

    def test_the_targets_own_error_reaches_the_relayer(
        self, world: ConsentWorld, relayer: LocalAccount
    ) -> None:
        ledger = world.ledger
        bank = world.shanghai_bank
        signed = ledger.forwarder.sign(bank, ledger.attestations, "revoke", world.uid, bytes(32))
        with pytest.raises(AttestationsNotAttester) as info:
            ledger.forwarder.relay(relayer, signed)
        assert info.value.caller == bank.address
        assert info.value.attester == world.hangzhou_bureau.address
        # The failed relay used no nonce: the request can be relayed once allowed.
        assert not ledger.forwarder.nonce_used(bank.address, signed.request.nonce)
        with pytest.raises(AttestationsNotAttester):
            ledger.forwarder.check(relayer.address, signed)  # the dry run says the same

    def test_only_trusting_targets(self, world: ConsentWorld, relayer: LocalAccount) -> None:
        # Every contract of the deployment trusts the Forwarder. The targets that must be
        # refused: a real Consortium built to trust another forwarder (code that answers
        # isTrustedForwarder, with false), the Forwarder itself, and an account with no code.
        ledger = world.ledger
        art = load_artifacts().contract("Consortium")
        ctor = art.codec.encode_constructor(("Elsewhere", 1, relayer.address))
        elsewhere = ledger.chain.transact(relayer, None, art.bytecode + ctor).contract_address
        assert elsewhere is not None
        admit = ledger.consortium.admit_member_call(world.enterprise.address, "x", 1, 1).data
        for target, data in (
            (elsewhere, admit),
            (ledger.forwarder.address, b"\x12\x34"),
            (relayer.address, b"\x12\x34"),
        ):
            request = ForwardRequest(
                world.shanghai_bank.address, target, 1, ledger.chain.now() + 600, data
            )
            signed = ledger.forwarder.sign_request(world.shanghai_bank, request)
            with pytest.raises(ForwarderUntrustedTarget) as info:
                ledger.forwarder.relay(relayer, signed)
            assert info.value.to == target

    def test_an_enterprise_disputes_and_the_resolver_is_checked(
        self, world: ConsentWorld, relayer: LocalAccount
    ) -> None:
        ledger, fw = world.ledger, world.ledger.forwarder
        fields = (world.fields.subject, world.fields.data_hash, world.fields.ref_uid)
        raise_ = fw.sign(
            world.enterprise, ledger.disputes, "raiseDispute", world.uid, fields, b"\x09" * 32
        )
        raised = fw.relay(relayer, raise_, ledger.disputes).event("DisputeRaised").args
        assert raised["raisedBy"] == world.enterprise.address
        reject = fw.sign(
            world.nanjing_bank, ledger.disputes, "rejectDispute", raised["disputeId"], b"\x01" * 32
        )
        with pytest.raises(DisputesNotResolver):
            fw.relay(relayer, reject)
        reject = fw.sign(
            world.hangzhou_bureau,
            ledger.disputes,
            "rejectDispute",
            raised["disputeId"],
            b"\x01" * 32,
        )
        rejected = fw.relay(relayer, reject, ledger.disputes).event("DisputeRejected").args
        assert rejected["resolver"] == world.hangzhou_bureau.address

    def test_unordered_nonces(self, world: ConsentWorld, relayer: LocalAccount) -> None:
        ledger, fw, bureau = world.ledger, world.ledger.forwarder, world.hangzhou_bureau
        schema = world.schema
        uids = [
            ledger.attestations.attest(
                bureau, schema, world.fields.subject, keccak256(bytes([n]))
            ).uid
            for n in range(3)
        ]
        signed = [
            fw.sign(bureau, ledger.attestations, "revoke", uid, bytes(32), nonce=n)
            for uid, n in zip(uids, (900, 5, 2**200), strict=True)
        ]
        for s in reversed(signed):  # any order
            fw.relay(relayer, s)
        assert all(ledger.attestations.validity(u) is Validity.REVOKED for u in uids)

    def test_relayed_revoke_gas(self, world: ConsentWorld, relayer: LocalAccount) -> None:
        ledger, fw, bureau = world.ledger, world.ledger.forwarder, world.hangzhou_bureau
        uids = [
            ledger.attestations.attest(
                bureau, world.schema, world.fields.subject, keccak256(bytes([n]))
            ).uid
            for n in range(2)
        ]
        direct = ledger.attestations.revoke(bureau, uids[0]).gas_used
        relayed = fw.relay(
            relayer, fw.sign(bureau, ledger.attestations, "revoke", uids[1], bytes(32))
        )
        # The forwarder's share: signature, nonce word, trust check, call (at most a new slot).
        assert relayed.gas_used - direct < 40_000, (direct, relayed.gas_used)


class TestForwarderEmbedded(EmbeddedChain, ForwarderConformance):
    pass


class TestForwarderRevm(RevmChain, ForwarderConformance):
    """On the embedded chain's revm engine."""


class TestForwarderAnvil(AnvilChain, ForwarderConformance):
    pass


def test_receivables_relayed_double_financing_by_name(keyring: Keyring) -> None:
    from ledger_client import connect

    chain = connect("embedded")
    world: World = build_world(chain, keyring)
    ledger, fw = world.ledger, world.ledger.forwarder
    relayer = keyring.account("relayer")
    chain.fund(relayer.address)
    rid = world.issue()
    for bank in (world.bank_a, world.bank_b):
        terms = (1, 10_000, chain.now() + 7 * 86_400)
        fw.relay(
            relayer,
            fw.sign(world.tier1, ledger.receivables, "requestFinancing", rid, bank.address, *terms),
        )
    done = fw.relay(
        relayer,
        fw.sign(world.bank_a, ledger.receivables, "finance", rid, 500_000_00, 300),
        ledger.receivables,
    )
    assert done.event("ReceivableFinanced").args["financier"] == world.bank_a.address
    with pytest.raises(ReceivablesAlreadyFinanced) as info:
        fw.relay(relayer, fw.sign(world.bank_b, ledger.receivables, "finance", rid, 1, 0))
    assert info.value.financier == world.bank_a.address
    # A member's account is not an enterprise: it cannot issue through the forwarder either.
    with pytest.raises(ConsortiumNotEnterprise):
        fw.relay(
            relayer,
            fw.sign(
                world.bank_a,
                ledger.receivables,
                "issue",
                world.tier1.address,
                1,
                chain.now() + 86_400,
                b"\x01" * 32,
                [b"\x02" * 32],
            ),
        )
    chain.close()
