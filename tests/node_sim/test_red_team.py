"""How the red team counts: a refusal only by a named error of the chain or the API, a
success as a breach, a refusal by another name as unexpected."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import sdk
from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.attestations import schema_id
from ledger_client.contracts.receivables import invoice_commitment, new_invoice_salt
from ledger_client.errors import ForwarderNonceUsed
from ledger_client.types import AttestationFields, AttestRequest
from node_sim import adversaries
from node_sim.adversaries import ATTACKS, AttackClass, AttackContext, attacks_for, attempt
from node_sim.simulation import Simulation, SimulationConfig
from tests.api_world import DAY, ApiWorld, error, open_world


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulation]:
    """A deployed world, before its first day."""
    s = Simulation(SimulationConfig(days=3, enterprises=20, seed=2))
    s.setup()
    yield s
    s.close()


def _try(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch, attack: AttackClass
) -> dict[str, object]:
    monkeypatch.setitem(ATTACKS, attack.name, attack)
    attempt(attack.name, sim.attack_context(0), sim.metrics)
    tally = sim.metrics.summary(1)["attacks"][attack.name]
    assert isinstance(tally, dict)
    return tally


def _honest_attestation(ctx: AttackContext) -> None:
    """A member attests a record about an enterprise: nothing for the chain to refuse."""
    bank = ctx.account(ctx.honest_attester)
    ctx.ledger.attestations.attest(bank, adversaries._loan(ctx), ctx.subject, ctx.rng.randbytes(32))


def test_an_attack_the_chain_lets_through_is_a_breach(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    tally = _try(
        sim,
        monkeypatch,
        AttackClass("lets_through", "chain", _honest_attestation, ("ConsortiumUnauthorized",)),
    )
    assert (tally["attempted"], tally["refused"], tally["succeeded"]) == (1, 0, 1)
    assert tally["errors"] == {}


def test_a_refusal_by_another_name_is_counted_as_unexpected(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The real forged-signature attack, told to expect the wrong name.
    attack = AttackClass(
        "wrong_name", "chain", adversaries.forged_attestation_signature, ("ForwarderNonceUsed",)
    )
    tally = _try(sim, monkeypatch, attack)
    assert (tally["attempted"], tally["refused"], tally["succeeded"]) == (1, 1, 0)
    assert tally["refused_unexpectedly"] == 1
    assert tally["errors"] == {"AttestationsWrongSigner": 1}


def test_an_error_that_is_no_named_refusal_is_not_counted_as_refused(
    sim: Simulation, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable(_: AttackContext) -> None:
        from ledger_client import LedgerConnectionError

        raise LedgerConnectionError("the node went away")

    tally = _try(sim, monkeypatch, AttackClass("unreachable", "chain", unreachable, ("X",)))
    assert (tally["attempted"], tally["refused"], tally["succeeded"]) == (1, 0, 0)
    errors = tally["errors"]
    assert isinstance(errors, dict)
    assert list(errors) == ["unnamed LedgerConnectionError: the node went away"]


def test_every_class_is_one_row_with_a_door_and_a_named_refusal() -> None:
    assert len(ATTACKS) == len(adversaries.ATTACK_CLASSES)
    for attack in ATTACKS.values():
        assert attack.door in ("chain", "api", "client"), attack.name
        assert attack.refused_by, attack.name
        assert attack.summary, attack.name
        assert attack.name.endswith("_via_api") == (attack.door == "api"), attack.name
    assert set(attacks_for(via_api=False)) < set(attacks_for(via_api=True))
    assert all(ATTACKS[k].door != "api" for k in attacks_for(via_api=False))


def test_an_api_door_is_not_offered_without_the_api(sim: Simulation) -> None:
    ctx = sim.attack_context(0)
    assert ctx.api is None
    assert not ATTACKS["forged_attestation_signature_via_api"].possible(ctx)
    assert ATTACKS["forged_attestation_signature"].possible(ctx)


# -- single attacks through the API's door (TestClient), each a real target --------------
@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiWorld]:
    with open_world(tmp_path) as world:
        yield world


def _record_about(api: ApiWorld, label: str) -> tuple[bytes, AttestationFields]:
    """A record in good standing that bank-a attested about ``label``."""
    fields = AttestationFields(api.subjects[label], keccak256(f"loan file of {label}".encode()))
    schema = api.ledger.schemas["loan-repayment"]
    made = api.ledger.attestations.attest(api["bank-a"], schema, fields.subject, fields.data_hash)
    return bytes(made.uid), fields


def test_a_stranger_disputing_a_record_through_the_api_is_refused_by_the_chain(
    api: ApiWorld,
) -> None:
    uid, fields = _record_about(api, "tier1")
    reason = keccak256(b"I object")
    # Another enterprise, with its own key, and the record's true fields.
    stranger = api.sdk_client("tier2")
    with pytest.raises(sdk.errors.DisputesNotSubject) as refused:
        stranger.raise_dispute(uid, fields, reason)
    assert refused.value.status == 403
    assert refused.value.caller == api["tier2"].address
    # The subject itself may: the record was in good standing.
    subject = api.sdk_client("tier1")
    assert subject.wait(subject.raise_dispute(uid, fields, reason)).made("dispute_id")


def test_a_replayed_forward_request_is_refused_through_the_api_and_on_chain(
    api: ApiWorld,
) -> None:
    commitment = invoice_commitment(keccak256(b"invoice"), new_invoice_salt())
    rid = api.write(
        "/v1/receivables",
        "core",
        {
            "supplier": api["tier1"].address,
            "amount_fen": 1_000_000,
            "due_date": api.service.chain_time() + 30 * DAY,
            "contract_hash": "0x" + keccak256(b"contract").hex(),
            "invoice_commitments": ["0x" + commitment.hex()],
            **api.signed(
                "core",
                api.ledger.receivables,
                "issue",
                api["tier1"].address,
                1_000_000,
                api.service.chain_time() + 30 * DAY,
                keccak256(b"contract"),
                [commitment],
            ),
        },
    )["receivable_id"]
    accept = api.signed("tier1", api.ledger.receivables, "accept", bytes.fromhex(rid[2:]))
    api.write(f"/v1/receivables/{rid}/accept", "tier1", accept)
    # The honest request, handed in by the bank it names: captured on the wire.
    expires_at = api.service.chain_time() + 7 * DAY
    signed = api.ledger.forwarder.sign(
        api["tier1"],
        api.ledger.receivables,
        "requestFinancing",
        bytes.fromhex(rid[2:]),
        api["bank-a"].address,
        900_000,
        500,
        expires_at,
    )
    body = {
        "financier": api["bank-a"].address,
        "min_advance_fen": 900_000,
        "max_discount_bps": 500,
        "expires_at": expires_at,
        **sdk.bodies.forward_fields(signed),
    }
    path = f"/v1/receivables/{rid}/financing-requests"
    api.write(path, "bank-a", body)
    # Again, under a new Idempotency-Key: by the same key, and by the holder's own.
    error(api.post(path, "bank-a", body, idem="replay-1"), 409, "NonceAlreadySubmitted")
    error(api.post(path, "tier1", body, idem="replay-2"), 409, "NonceAlreadySubmitted")
    # And on chain, as a raw transaction from anyone.
    with pytest.raises(ForwarderNonceUsed) as replay:
        api.ledger.forwarder.relay(api["bank-b"], signed)
    assert (replay.value.signer, replay.value.nonce) == (api["tier1"].address, signed.request.nonce)


def test_a_suspended_members_key_is_refused_by_name(api: ApiWorld) -> None:
    api.ledger.consortium.suspend_member(api["regulator"], api["bank-b"].address)
    api.service.refresh()
    schema = api.ledger.schemas["loan-repayment"]
    record = SignedRecord.sign(
        api["bank-b"],
        api.service.separator,
        AttestRequest(schema_id(schema), api.subjects["tier1"], keccak256(b"after suspension")),
        7,
        api.service.chain_time() + DAY,
    )
    body = sdk.bodies.attestation(schema.name, record)
    error(api.post("/v1/attestations", "bank-b", body), 403, "MemberSuspended")
