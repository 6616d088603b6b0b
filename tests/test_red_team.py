"""How the red team counts: a refusal only by a named error of the chain or the API, a
success as a breach, a refusal by another name as unexpected."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from node_sim import adversaries
from node_sim.adversaries import ATTACKS, AttackClass, AttackContext, attacks_for, attempt
from node_sim.simulation import Simulation, SimulationConfig


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
    assert list(tally["errors"]) == ["unnamed LedgerConnectionError: the node went away"]


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
