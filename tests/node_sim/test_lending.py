"""Lending in the simulation: joint agreements across the cities, loans secured by pledges,
the red team's lending attacks refused by the contracts by name, and the audit of it all
(clean; a forged event or a doctored view makes its rule fire)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ledger_client import Ledger
from ledger_client.audit import Replay
from ledger_client.audit.compare import compare_with_chain
from ledger_client.audit.state import Breach
from ledger_client.index import EventIndex, IndexedEvent
from ledger_client.lending import CollateralKind
from node_sim.adversaries import ATTACKS, AttackClass, AttackContext, attempt
from node_sim.simulation import Simulation, SimulationConfig, SimulationResult, run_simulation

LENDING_ATTACKS = (
    "joint_limit_overdraw",
    "joint_limit_split_draws",
    "double_pledge",
    "pledge_financed_receivable",
    "release_by_non_pledgee",
)
#: Every lending write the flows make, by the name the summary counts it under.
LENDING_WRITES = {
    "pledge",
    "release_pledge",
    "register_facility",
    "draw",
    "repay",
    "close_facility",
    "report_overdue",
    "propose_agreement",
    "join_agreement",
    "accept_agreement",
    "clear_flag",
    "end_agreement",
}


@pytest.fixture(scope="module")
def lending_run(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """A month of lending, every day an attack (the least tried classes first)."""
    out = tmp_path_factory.mktemp("lending-run")
    config = SimulationConfig(
        days=30,
        enterprises=120,
        seed=6,
        adversary_rate=1.0,
        attacks_per_day=4,
        late_dispute_rate=0,
        out=out,
    )
    return run_simulation(config)


@pytest.fixture(scope="module")
def events(lending_run: SimulationResult, tmp_path_factory: pytest.TempPathFactory) -> list[Any]:
    """The run's events, as the auditor reads them."""
    assert lending_run.ledger is not None
    path = tmp_path_factory.mktemp("lending-index") / "index.sqlite"
    with EventIndex(path, lending_run.ledger) as index:
        index.sync()
        return list(index.events())


def ledger_of(run: SimulationResult) -> Ledger:
    assert run.ledger is not None
    return run.ledger


def test_the_lending_flows_run_across_the_cities(lending_run: SimulationResult) -> None:
    s = lending_run.summary
    n = s["lending"]
    assert n["agreements"] >= 2
    assert n["agreements_ended"] >= 1
    assert n["agreements_flagged"] >= 1
    assert n["flags_cleared"] >= 1
    assert n["overdues_reported"] >= n["agreements_flagged"]
    assert all(f["lead"] != f["reporter"] for f in n["flags"])  # a participant's overdue
    assert {"patent", "receivable"} <= set(n["pledges"])
    assert set(n["pledges"]) <= {k.name.lower() for k in CollateralKind}
    assert n["pledges_released"] > 0
    assert n["facilities_closed"] > 0
    assert n["outstanding_fen"] == n["drawn_fen"] - n["repaid_fen"] > 0
    exposure = n["exposure_by_city_lender"]
    assert sum(fen for by in exposure.values() for fen in by.values()) == n["outstanding_fen"]
    # Syndicated: some enterprise owes banks of more than one city.
    assert any(len(by) > 1 for by in exposure.values())
    made = {op for op in s["channels"] if op in LENDING_WRITES}
    assert made == LENDING_WRITES
    assert all(s["channels"][op] == {"chain": s["operations"][op]} for op in made)


def test_the_same_seed_lends_the_same() -> None:
    config = SimulationConfig(days=10, enterprises=60, seed=3, adversary_rate=0)
    first = run_simulation(config).summary["lending"]
    assert first["agreements"] > 0
    assert first == run_simulation(config).summary["lending"]


def test_every_lending_attack_is_refused_by_the_contract_by_name(
    lending_run: SimulationResult,
) -> None:
    attacks = lending_run.summary["attacks"]
    for kind in LENDING_ATTACKS:
        tally, attack = attacks[kind], ATTACKS[kind]
        assert attack.door == "chain"
        assert tally["attempted"] > 0, kind
        assert tally["succeeded"] == 0, (kind, tally)
        assert tally["refused"] == tally["attempted"], (kind, tally)
        assert tally["refused_unexpectedly"] == 0, (kind, tally)
        assert set(tally["errors"]) == set(attack.refused_by), (kind, tally)


def test_the_run_audits_clean_comparing_the_lending_views(
    lending_run: SimulationResult, events: list[Any]
) -> None:
    assert lending_run.audit is not None
    assert lending_run.audit["ok"], lending_run.audit
    ledger = ledger_of(lending_run)
    replay = replay_of(ledger)
    assert replay.run(events) == []
    head = ledger.chain.backend.block_number()
    comparison = compare_with_chain(ledger, replay.state, head)
    assert comparison.mismatches == []
    compared = comparison.compared
    for kind in ("pledges", "pledged assets", "facilities", "joint agreements", "exposures"):
        assert compared.get(kind, 0) > 0, (kind, compared)
    assert compared["joint agreements"] == lending_run.summary["lending"]["agreements"]


def _forge(event: Any, **args: Any) -> Any:
    """A copy of ``event`` with some arguments changed, as a doctored copy of the ledger's
    events would carry it (same transaction, one log further)."""
    assert isinstance(event, IndexedEvent)
    return dataclasses.replace(event, args={**event.args, **args}, log_index=event.log_index + 1000)


def _after(events: list[Any], anchor: Any, forged: Any) -> list[Any]:
    at = events.index(anchor) + 1
    return [*events[:at], forged, *events[at:]]


def replay_of(ledger: Ledger) -> Replay:
    """The auditor's replay of ``ledger`` (as ``audit_ledger`` sets it up)."""
    r = ledger.receivables
    return Replay(
        grace_period=r.grace_period(),
        receivables_address=r.address,
        default_schema=bytes(r.default_schema()),
    )


def _audit(run: SimulationResult, events: list[Any]) -> list[Breach]:
    ledger = ledger_of(run)
    replay = replay_of(ledger)
    breaches = replay.run(events)
    comparison = compare_with_chain(ledger, replay.state, ledger.chain.backend.block_number())
    return [*breaches, *comparison.mismatches]


def test_a_forged_second_pledge_of_a_patent_is_a_double_pledge(
    lending_run: SimulationResult, events: list[Any]
) -> None:
    pledged = next(
        e
        for e in events
        if e.name == "CollateralPledged" and int(e.args["kind"]) == CollateralKind.PATENT
    )
    rival = next(
        e.args["lender"]
        for e in events
        if e.name == "FacilityRegistered" and e.args["lender"] != pledged.args["pledgee"]
    )
    pid = (int.from_bytes(pledged.args["pledgeId"]) + 1).to_bytes(32, "big")
    forged = _forge(pledged, pledgeId=pid, pledgee=rival)
    found = _audit(lending_run, _after(events, pledged, forged))
    double = [b for b in found if b.name == "DoublePledge"]
    assert len(double) == 1
    assert double[0].tx_hash == pledged.tx_hash
    # The chain has no such registration: the comparison says so too.
    assert any(b.name == "StateMismatch" and f"0x{pid.hex()}" in b.detail for b in found)


def test_a_forged_draw_past_the_joint_limit_is_caught_and_mismatches_the_views(
    lending_run: SimulationResult, events: list[Any]
) -> None:
    activated = next(e for e in events if e.name == "JointAgreementActivated")
    subject = activated.args["subject"]
    drawn = next(
        e
        for e in events
        if e.name == "FacilityDrawn"
        and e.args["subject"] == subject
        and events.index(e) > events.index(activated)
    )
    over = int(activated.args["jointLimit"])
    forged = _forge(drawn, amount=over)
    found = _audit(lending_run, _after(events, drawn, forged))
    # The forged draw first; the participants' later draws, on top of it, after it.
    over_limit = [b for b in found if b.name == "ExposureAboveJointLimit"]
    assert over_limit
    assert over_limit[0].tx_hash == drawn.tx_hash
    mismatched = [b.detail for b in found if b.name == "StateMismatch"]
    facility = "0x" + bytes(drawn.args["facilityId"]).hex()
    assert any(facility in d and "drawn" in d for d in mismatched), mismatched
    assert any(f"exposure of 0x{bytes(subject).hex()}" in d for d in mismatched), mismatched


def test_a_doctored_active_pledgee_view_is_a_state_mismatch(
    lending_run: SimulationResult, events: list[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A node that answers ``activePledgee`` with another bank (say, to let a rival finance a
    pledged receivable) disagrees with the events: the comparison names the asset."""
    ledger = ledger_of(lending_run)
    registry = ledger.collateral
    select = registry.codec.fn("activePledgee").encode([bytes(32)])[:4]
    impostor = "0x" + "77" * 20
    real_call = type(ledger.chain).call

    def doctored(self: Any, to: Any, data: bytes, **kw: Any) -> bytes:
        out: bytes = real_call(self, to, data, **kw)
        if to == registry.address and data[:4] == select:
            return bytes(12) + bytes.fromhex(impostor[2:])
        return out

    monkeypatch.setattr(type(ledger.chain), "call", doctored)
    found = _audit(lending_run, events)
    assert found
    assert {b.name for b in found} == {"StateMismatch"}
    assert all("activePledgee" in b.detail and impostor in b.detail for b in found)


def test_lending_is_one_switch() -> None:
    s = run_simulation(SimulationConfig(days=6, enterprises=40, seed=3, lending=False)).summary
    assert s["lending"]["agreements"] == 0
    assert not set(s["channels"]) & LENDING_WRITES


def test_the_report_and_summary_json_carry_the_lending_figures(
    lending_run: SimulationResult,
) -> None:
    out = lending_run.config.out
    assert out is not None
    summary = json.loads((out / "summary.json").read_text())
    assert summary["lending"] == lending_run.summary["lending"]
    page = (out / "report.html").read_text()
    for chart in (
        "Exposure by city and lender",
        "Collateral mix by kind",
        "Flagged agreements: days on hold",
    ):
        assert chart in page, chart
    for flag in summary["lending"]["flags"]:
        assert f"#{flag['agreement']} {flag['enterprise_city']}" in page


def test_a_lending_attack_the_chain_let_through_would_be_a_breach(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The count does not trust the class: a release the chain accepts (here the pledgee's
    own, under the class's name) is counted as a success, a breach."""
    sim = Simulation(SimulationConfig(days=8, enterprises=60, seed=3, adversary_rate=0))
    sim.run()
    ctx = sim.attack_context(7)
    assert ctx.lending is not None
    (loan, *_) = ctx.lending.pledged()

    def release_as_pledgee(ctx: AttackContext) -> None:
        ctx.ledger.collateral.release(ctx.account(loan.line.bank), loan.pledge_id)

    attack = AttackClass(
        "release_by_non_pledgee", "chain", release_as_pledgee, ("CollateralNotPledgee",)
    )
    monkeypatch.setitem(ATTACKS, attack.name, attack)
    attempt(attack.name, ctx, sim.metrics)
    tally = sim.metrics.attacks[attack.name]
    assert (tally.attempted, tally.refused, tally.succeeded) == (1, 0, 1)
