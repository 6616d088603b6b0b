"""The Forwarder on both backends: any party's signed call, relayed by anyone, exactly once."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import Keyring, Ledger
from ledger_client.attestations.merkle import keccak256
from ledger_client.chain.artifacts import load_artifacts
from ledger_client.contracts.forwarder import ForwardRequest, SignedForwardRequest
from ledger_client.errors import (
    AttestationsNotAttester,
    ConsortiumNotEnterprise,
    ContractRevert,
    DisputesNotResolver,
    ForwarderBatchLengthMismatch,
    ForwarderBatchOutOfGas,
    ForwarderExpired,
    ForwarderNonceUsed,
    ForwarderUntrustedTarget,
    ForwarderWrongSigner,
    ReceivablesAlreadyFinanced,
    TransactionError,
)
from ledger_client.identity.eip712 import SignatureError
from ledger_client.types import Validity
from tests.conformance import AnvilChain, EmbeddedChain, LedgerFixtures, RevmChain
from tests.consent_fixtures import ConsentFixtures, ConsentWorld
from tests.receivables_world import World, build_world

_SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
LOAN = "loan-repayment"


def _attest_request(world: ConsentWorld, digest: bytes) -> SignedForwardRequest:
    """The bureau's signed request to attest ``digest`` about the world's subject."""
    ledger = world.ledger
    return ledger.forwarder.sign(
        world.hangzhou_bureau,
        ledger.attestations,
        "attest",
        world.schema_id,
        world.fields.subject,
        digest,
        0,
        bytes(32),
    )


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

    def test_a_batch_carries_out_or_refuses_each_request_on_its_own(
        self, world: ConsentWorld, relayer: LocalAccount
    ) -> None:
        ledger, fw, bureau = world.ledger, world.ledger.forwarder, world.hangzhou_bureau
        schema, subject = world.schema, world.fields.subject
        other = ledger.attestations.attest(bureau, schema, subject, keccak256(b"other")).uid
        good = fw.sign(bureau, ledger.attestations, "revoke", world.uid, bytes(32))
        not_attester = fw.sign(world.shanghai_bank, ledger.attestations, "revoke", other, bytes(32))
        replayed = good  # the same request again, in the same batch
        expired = fw.sign(
            bureau, ledger.attestations, "revoke", other, bytes(32), deadline=ledger.chain.now()
        )
        claimed = fw.request(bureau.address, ledger.attestations, "revoke", other, bytes(32))
        forged = SignedForwardRequest(
            claimed,
            fw.sign_request(
                world.shanghai_bank,
                dataclasses.replace(claimed, sender=world.shanghai_bank.address),
            ).signature,
        )
        attested = fw.sign(
            bureau,
            ledger.attestations,
            "attest",
            world.schema_id,
            subject,
            keccak256(b"n"),
            0,
            bytes(32),
        )
        ledger.chain.advance_time(5)
        batch = [good, not_attester, replayed, expired, forged, attested]
        _, out = fw.relay_batch(relayer, batch)
        assert [x.index for x in out] == list(range(len(batch)))
        assert out[0].refusal is None
        assert [e.name for e in out[0].events(ledger.attestations)] == ["Revoked"]
        assert out[0].events(ledger.attestations)[0].args["revoker"] == bureau.address
        refusal = out[1].refusal
        assert isinstance(refusal, AttestationsNotAttester)
        assert (refusal.caller, refusal.attester) == (world.shanghai_bank.address, bureau.address)
        assert isinstance(out[2].refusal, ForwarderNonceUsed)
        assert isinstance(out[3].refusal, ForwarderExpired)
        assert isinstance(out[4].refusal, ForwarderWrongSigner)
        assert out[4].refusal.claimed == bureau.address
        assert all(x.logs == () for x in out[1:5])  # a refused request's effects are undone
        assert out[5].refusal is None
        (made,) = out[5].events(ledger.attestations)
        assert (made.name, made.args["attester"]) == ("Attested", bureau.address)
        # Effects: the good ones only; the refused ones' nonces stay unused.
        assert ledger.attestations.validity(world.uid) is Validity.REVOKED
        assert ledger.attestations.validity(other) is Validity.VALID
        assert ledger.forwarder.nonce_used(bureau.address, good.request.nonce)
        assert not ledger.forwarder.nonce_used(
            world.shanghai_bank.address, not_attester.request.nonce
        )
        assert not ledger.forwarder.nonce_used(bureau.address, expired.request.nonce)
        # A refused request is relayed later, once it can be: the bureau's own, in time.
        again = fw.sign(bureau, ledger.attestations, "revoke", other, bytes(32))
        assert fw.relay_batch(relayer, [again])[1][0].refusal is None
        assert ledger.attestations.validity(other) is Validity.REVOKED

    def test_a_batch_with_a_signature_short_is_refused_whole_by_name(
        self, world: ConsentWorld, relayer: LocalAccount
    ) -> None:
        ledger, fw = world.ledger, world.ledger.forwarder
        signed = fw.sign(world.hangzhou_bureau, ledger.attestations, "revoke", world.uid, bytes(32))
        data = fw.codec.fn("executeBatch").encode(
            [[signed.request.as_tuple()] * 2, [signed.signature]]
        )
        with pytest.raises(ForwarderBatchLengthMismatch) as info:
            ledger.chain.transact(relayer, fw.address, data, gas=fw.batch_gas(2))
        assert (info.value.requests, info.value.signatures) == (2, 1)
        assert not fw.nonce_used(world.hangzhou_bureau.address, signed.request.nonce)

    def test_a_batch_short_of_gas_is_undone_whole(
        self, world: ConsentWorld, relayer: LocalAccount
    ) -> None:
        ledger, fw, bureau = world.ledger, world.ledger.forwarder, world.hangzhou_bureau

        def attests(first: int) -> list[SignedForwardRequest]:
            return [_attest_request(world, keccak256(bytes([first + n]))) for n in range(3)]

        data = fw.execute_batch_data(attests(0))
        full = ledger.chain.transact(relayer, fw.address, data, gas=fw.batch_gas(3)).gas_used
        fresh = attests(10)
        with pytest.raises((ForwarderBatchOutOfGas, TransactionError)):
            ledger.chain.transact(
                relayer, fw.address, fw.execute_batch_data(fresh), gas=full * 2 // 3
            )
        assert not any(fw.nonce_used(bureau.address, x.request.nonce) for x in fresh)


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


class GasStarvation(ConsentFixtures, LedgerFixtures):
    """The relayer sets a batch's gas. Attack: pick the gas so that a good request's call
    runs out while the batch goes on, making the request look refused by its target. The
    strongest place is the batch's last request, and a dear one (a dispute, about 200,000
    gas), as what its starved call hands back is then enough to report it. Every gas limit
    from the first that runs code to enough is tried, every 37 gas around each point where
    the outcome changes: the batch either carries out every (good) request or is undone
    whole, never with one reported refused."""

    calldata_floor: ClassVar[bool] = False  # whether the chain prices calldata by EIP-7623

    def test_no_gas_limit_makes_a_good_request_look_refused(
        self, world: ConsentWorld, keyring: Keyring
    ) -> None:
        ledger, fw, bureau = world.ledger, world.ledger.forwarder, world.hangzhou_bureau
        relayer = keyring.account("relayer")
        ledger.chain.fund(relayer.address)
        made = iter(range(10**6))

        def batch() -> list[SignedForwardRequest]:
            """Two records attested and a dispute raised of a third: three good requests."""
            hashes = [keccak256(next(made).to_bytes(8, "big")) for _ in range(3)]
            disputed = ledger.attestations.attest(
                bureau, world.schema_id, world.fields.subject, hashes[2]
            ).uid
            attests = [_attest_request(world, digest) for digest in hashes[:2]]
            fields = (world.fields.subject, hashes[2], bytes(32))
            dispute = fw.sign(
                world.enterprise, ledger.disputes, "raiseDispute", disputed, fields, hashes[0]
            )
            return [*attests, dispute]

        def attempt(gas: int) -> int:
            """Send a fresh batch with ``gas``; how much gas it used (0: undone whole, or
            refused by the node)."""
            signed = batch()
            try:
                receipt = ledger.chain.transact(
                    relayer, fw.address, fw.execute_batch_data(signed), gas=gas
                )
            except (ContractRevert, TransactionError):
                assert not any(fw.nonce_used(x.request.sender, x.request.nonce) for x in signed)
                return 0
            out = fw.batch_outcomes(receipt, 3)
            refused = [x.refusal for x in out if x.refusal is not None]
            assert refused == [], f"gas {gas}: a good request reported refused: {refused}"
            return receipt.gas_used

        used = attempt(fw.batch_gas(3))
        assert used > 0
        # From the first gas that runs any code: the intrinsic gas of a batch's calldata,
        # plus one (below it a node refuses the transaction, or anvil keeps it unmined).
        data = fw.execute_batch_data(batch())
        nonzero = sum(1 for byte in data if byte)
        intrinsic = 21_000 + 16 * nonzero + 4 * (len(data) - nonzero)
        if self.calldata_floor:  # EIP-7623: at least 10 gas a token, 4 tokens a nonzero byte
            intrinsic = max(intrinsic, 21_000 + 10 * (len(data) + 3 * nonzero))
        coarse = list(range(intrinsic + 1, used + 20_000, 1_000))
        carried = [attempt(g) > 0 for g in coarse]
        assert not carried[0]
        assert carried[-1]
        tried = len(coarse)
        for i in range(1, len(coarse)):
            if carried[i] != carried[i - 1]:  # around each change: every 37 gas
                for g in range(coarse[i - 1], coarse[i] + 1, 37):
                    attempt(g)
                    tried += 1
        assert tried < 1_000  # bounded


class TestGasStarvationRevm(RevmChain, GasStarvation):
    pass


class TestGasStarvationAnvil(AnvilChain, GasStarvation):
    calldata_floor = True  # anvil runs Prague
