"""The scenario simulator: repeatable, every attack class tried and refused by name (by the
chain or the API, never by the simulator), through the API too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.rpc_bridge import EmbeddedRpcBridge
from ledger_client import (
    ContractRevert,
    Keyring,
    Manifest,
    attach,
    connect,
    deploy,
)
from ledger_client.chain.local_node import running_anvil
from node_sim.adversaries import ATTACKS, attacks_for
from node_sim.simulation import SimulationConfig, SimulationResult, run_simulation
from scripts.cli import app
from tests.node_sim.test_lending import LENDING_WRITES


@pytest.fixture(scope="module")
def adversarial_run(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """A run long and busy enough for every adversarial behaviour, defaults and late disputes."""
    out = tmp_path_factory.mktemp("adversarial-run")
    config = SimulationConfig(
        days=45,
        enterprises=200,
        seed=6,
        adversary_rate=1.0,
        attacks_per_day=4,  # the least tried first: every class, many times over
        out=out,
    )
    return run_simulation(config)


def assert_refused_by_name(attacks: dict[str, Any], classes: list[str]) -> None:
    """Every class was tried, through its door; every attempt was refused by the chain or
    the API with the class's own named error; none succeeded."""
    assert set(attacks) == set(classes)
    for kind, tally in attacks.items():
        attack = ATTACKS[kind]
        assert tally["door"] == attack.door, kind
        assert tally["attempted"] > 0, kind
        assert tally["succeeded"] == 0, (kind, tally)  # a breach
        assert tally["refused"] == tally["attempted"], (kind, tally)
        assert tally["refused_unexpectedly"] == 0, (kind, tally)
        assert set(tally["errors"]) <= set(attack.refused_by), (kind, tally)
        assert sum(tally["errors"].values()) == tally["attempted"], (kind, tally)


def assert_offered_refused_by_name(
    attacks: dict[str, Any], classes: list[str], not_offered: dict[str, str]
) -> None:
    """:func:`assert_refused_by_name` over ``classes`` but those ``not_offered`` (each with
    the reason the run need not offer its target); those, if tried, refused by name too."""
    assert set(not_offered) <= set(classes)
    offered = [k for k in classes if k not in not_offered]
    assert_refused_by_name({k: t for k, t in attacks.items() if k in offered}, offered)
    assert set(attacks) - set(offered) <= set(not_offered)
    for kind in set(attacks) - set(offered):
        assert_refused_by_name({kind: attacks[kind]}, [kind])


#: Classes a run on the chain alone need not offer, and why.
NOT_OFFERED_ON_THE_CHAIN = {
    # Signed records travel only through the API (its relay anchors them): a run without
    # it has none to capture (the run through the API tries it).
    "resealed_signed_record": "no signed records without the API",
}

#: Classes the short run through the API need not offer, and why.
NOT_OFFERED_THROUGH_THE_API = {
    # An application's authorisation lapses after 10 days: the 12 days of this run need
    # not offer one (the 45-day run does, and tries it).
    "query_after_expiry": "no authorisation lapses in 12 days",
    # Through the API the server builds the batches; the run holds no batch's tree (the
    # run on the chain alone anchors its own, and tries these).
    "inner_node_as_batch_record": "no batch tree held",
    "batch_record_revoked_by_another": "no batch tree held",
    "batch_dispute_by_stranger": "no batch tree held",
    # A dispute is answered 1 to 19 days after it is raised, a complaint filed days after
    # a rejection: 12 days need not offer a rejected dispute or an open complaint (the
    # 45-day run does, and tries both).
    "dispute_reraised_after_rejection": "no dispute rejected in 12 days",
    "complaint_resolved_by_attester": "no complaint open in 12 days",
    # A handful of requests for financing in 12 days, most financed at once: none need
    # wait overnight for its bank (the 45-day run has some, and tries it).
    "financing_below_terms": "no request waiting overnight in 12 days",
}


def test_same_seed_same_figures() -> None:
    config = SimulationConfig(days=12, enterprises=80, seed=11)
    first = run_simulation(config).summary
    second = run_simulation(config).summary
    assert first == second
    assert first["receivables"]["issued"] > 0
    assert first["consent"]["queries"] > 0
    other = run_simulation(SimulationConfig(days=12, enterprises=80, seed=12)).summary
    assert other != first


def test_every_attack_class_is_tried_and_refused_by_name(
    adversarial_run: SimulationResult,
) -> None:
    assert_offered_refused_by_name(
        adversarial_run.summary["attacks"], attacks_for(via_api=False), NOT_OFFERED_ON_THE_CHAIN
    )
    assert adversarial_run.summary["adversaries"] == attacks_for(via_api=False)


def test_the_flows_of_a_run_are_counted(adversarial_run: SimulationResult) -> None:
    s = adversarial_run.summary
    consent = s["consent"]
    assert consent["queries"] == sum(sum(days) for days in consent["queries_by_city_day"].values())
    assert 0 < consent["queries_cross_region"] < consent["queries"]
    assert consent["cross_region_share"] == round(
        consent["queries_cross_region"] / consent["queries"], 4
    )
    assert consent["reports_verified"] == consent["reports_shared"] == consent["queries"]
    assert consent["withdrawals"] > 0
    disputes = s["disputes"]
    assert disputes["raised"] > 0
    assert disputes["rejected"] + disputes["upheld"] + disputes["open"] == disputes["raised"]
    complaints = disputes["complaints"]  # after a rejection: a complaint, not a re-raise
    assert complaints["filed"] > 0
    assert complaints["upheld"] + complaints["rejected"] + complaints["open"] == complaints["filed"]
    assert complaints["filed"] <= disputes["rejected"]
    r = s["receivables"]
    assert r["accepted"] + r["rejected"] == r["issued"]
    assert sum(r["financed"].values()) > 0
    assert set(r["financed_fen"]) == {"tier 1", "tier 2", "tier 3"}
    assert r["settled_parts"] > 0
    assert s["supply_chains"]["core_enterprises"] > 0
    assert s["records"]["by_schema"]["credit-rating"] == consent["ratings_attested"]
    assert all(set(channels) == {"chain"} for channels in s["channels"].values())
    assert s["channels"]["suspend_member"] == s["channels"]["reinstate_member"] == {"chain": 1}
    assert sum(s["transactions_by_day"]) <= s["transactions"]


def test_receivables_default_onto_the_core_enterprise(adversarial_run: SimulationResult) -> None:
    s = adversarial_run.summary
    r = s["receivables"]
    assert r["defaults"] > 0
    assert r["defaulted_debtors"] > 0
    assert s["records"]["by_schema"]["receivable-default"] == r["defaults"]
    assert s["disputes"]["resolved_late"] > 0
    assert s["disputes"]["overdue"] >= s["disputes"]["resolved_late"]


def test_the_suspension_fault_holds_records_back_until_reinstatement() -> None:
    result = run_simulation(SimulationConfig(days=30, enterprises=60, seed=5))
    kinds = [f["kind"] for f in result.summary["faults"]]
    assert kinds == ["member_suspended", "member_reinstated"]
    assert result.summary["records"]["total"] > 0


def test_simulate_command_keeps_a_ledger_others_can_open(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        ["simulate", "--days", "16", "--enterprises", "80", "--out", str(out), "--json"],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["days"] == 16
    assert "audit" in summary
    page = (out / "report.html").read_text()
    for chart in (
        "Records written per day",
        "Credit queries logged per day",
        "Cross-region share of queries",
        "Financing advanced per supplier tier",
        "Receivables issued and parts defaulted per day",
        "Adversarial behaviour",
        "Transactions per simulated day",
        "Average gas per operation",
    ):
        assert chart in page, chart
    assert page.count("<svg") >= 9  # every chart is inline: the page needs nothing else
    assert 'src="http' not in page  # nothing fetched from elsewhere
    assert "<link" not in page
    assert "attacks refused by a named error of the chain or the API (0 by another name" in page
    assert "; 0 succeeded." in page
    chain = connect("embedded", data_dir=out / "chain")
    ledger = attach(chain, Manifest.load(out / "manifest.json"))
    assert len(ledger.consortium.members()) == summary["members"]
    assert chain.backend.block_number() == summary["blocks"]
    chain.close()


def test_simulate_prints_one_screen_of_figures(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--days",
            "6",
            "--enterprises",
            "40",
            "--adversary-rate",
            "1",
            "--late-dispute-rate",
            "0",
        ],
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) < 50
    for expected in (
        "records",
        "consent:",
        "disputes:",
        "receivables:",
        "credit decisions:",
        "auditor:",
    ):
        assert any(line.startswith(expected) for line in lines), expected
    assert "unregistered_attester" in result.output


@pytest.fixture(scope="module")
def api_run(tmp_path_factory: pytest.TempPathFactory) -> SimulationResult:
    """A run through a real ``credit-chain serve``, long enough for every attack class."""
    out = tmp_path_factory.mktemp("api-run")
    config = SimulationConfig(
        days=12,
        enterprises=120,
        seed=4,
        adversary_rate=1.0,
        attacks_per_day=len(ATTACKS),
        out=out,
        via_api=True,
    )
    return run_simulation(config)


@pytest.mark.timeout(600)
def test_a_run_through_a_real_api_server_anchors_everything_it_accepted(
    api_run: SimulationResult,
) -> None:
    s = api_run.summary
    api = s["api"]
    assert api["accepted"] > 0
    assert api["anchored"] == api["accepted"]
    assert api["lost"] == 0
    assert api["rejected_after_acceptance"] == {}
    assert api["refused_at_the_door"] == {}
    (restart,) = api["restarts"]
    assert restart["signal"] == "SIGKILL"
    assert restart["accepted_not_yet_settled"] > 0
    assert any(f["kind"] == "api_restarted" for f in s["faults"])
    assert s["channels"]["attest"].get("api", 0) > 0
    assert s["channels"]["request_financing"] == {"api": s["receivables"]["financing_requests"]}
    authorised = sum(s["consent"]["authorisations"].values())
    assert s["channels"]["authorise"] == {"api": authorised}
    assert s["gas_per_operation"].get("api_attest_by_sig") or s["gas_per_operation"].get(
        "api_anchor_signed_batch"
    )
    assert s["gas_per_operation"]["api_forward"] > 0
    # The ledger the API wrote to is the one kept in --out.
    out = api_run.config.out
    assert out is not None
    chain = connect("embedded", data_dir=out / "chain")
    assert chain.backend.block_number() == s["blocks"]
    chain.close()


#: Every write the flows make, by the name the summary counts it under.
FLOW_WRITES = {
    "attest",
    "anchor_batch",
    "attest_rating",
    "authorise",
    "log_query",
    "record_report_share",
    "withdraw_by_sig",
    "raise_dispute_by_sig",
    "reject_dispute",
    "uphold_dispute",
    "revoke",
    "file_complaint_by_sig",
    "resolve_complaint",
    "issue_receivable",
    "accept_receivable",
    "split_receivable",
    "request_financing",
    "finance_receivable",
    "settle_receivable",
    "mark_overdue_with_default",
}
#: The regulator's writes of the fault plan: a member suspended a third of the way through
#: and reinstated at two thirds.
FAULT_WRITES = {"suspend_member", "reinstate_member"}


@pytest.mark.timeout(600)
def test_through_the_api_every_write_of_every_flow_says_api_in_summary_json(
    api_run: SimulationResult,
) -> None:
    out = api_run.config.out
    assert out is not None
    channels = json.loads((out / "summary.json").read_text())["channels"]
    not_api = {op: c for op, c in channels.items() if set(c) != {"api"}}
    assert not not_api, f"went to the chain: {not_api}"
    # The run is long enough for the flows to make most kinds of write; each it made is
    # counted, and nothing else.
    assert set(channels) <= FLOW_WRITES | LENDING_WRITES | FAULT_WRITES | {"reject_receivable"}
    assert len(set(channels) & FLOW_WRITES) >= 12, sorted(channels)
    # The lending flows' writes too: pledges with the pledgor's consent, facilities, draws,
    # joint agreements proposed, joined and accepted by the enterprise's signature.
    lending = {"pledge", "register_facility", "draw", "repay"}
    lending |= {"propose_agreement", "join_agreement", "accept_agreement"}
    assert lending <= set(channels), sorted(channels)
    # The suspension and the reinstatement were signed by the regulator and handed in with
    # its key: once each, through the API.
    assert {op: channels.get(op) for op in FAULT_WRITES} == {op: {"api": 1} for op in FAULT_WRITES}
    assert all(n > 0 for c in channels.values() for n in c.values())


@pytest.mark.timeout(300)
def test_through_the_api_every_attack_class_is_tried_and_refused_by_name(
    api_run: SimulationResult,
) -> None:
    attacks = api_run.summary["attacks"]
    assert_offered_refused_by_name(attacks, attacks_for(via_api=True), NOT_OFFERED_THROUGH_THE_API)
    assert "resealed_signed_record" in attacks  # what the run on the chain alone cannot offer
    through_api = {k for k, t in attacks.items() if t["door"] == "api"}
    assert through_api == {a.name for a in ATTACKS.values() if a.door == "api"}
    assert len(through_api) >= 6


@pytest.fixture
def own_anvil() -> Iterator[str]:
    """An anvil of this test's own: a run funds its members from the node's first account."""
    with running_anvil() as url:
        yield url


@pytest.mark.anvil
def test_a_run_on_a_real_node(own_anvil: str) -> None:
    result = run_simulation(
        SimulationConfig(days=8, enterprises=60, seed=7, adversary_rate=1.0, rpc=own_anvil)
    )
    s = result.summary
    assert s["config"]["chain"] == own_anvil
    assert s["records"]["total"] > 0
    assert s["receivables"]["issued"] > 0
    for kind, tally in s["attacks"].items():
        assert tally["succeeded"] == 0, (kind, tally)
        assert set(tally["errors"]) <= set(ATTACKS[kind].refused_by), (kind, tally)
        assert sum(tally["errors"].values()) == tally["attempted"], (kind, tally)
    # The node's clock was already past day 0: the run started at its next midnight.
    assert result.ledger is not None
    assert result.ledger.chain.now() > 1_767_542_400


def test_the_bridge_serves_the_embedded_chain_with_named_reverts() -> None:
    chain = connect("embedded")
    ring = Keyring("bridge-test")
    regulator = ring.account("regulator")
    chain.fund(regulator.address)
    ledger = deploy(chain, regulator)
    bridge = EmbeddedRpcBridge(chain.backend).start()
    try:
        remote = attach(connect(bridge.url), ledger.manifest)
        bank = ring.account("bank")
        chain.fund(bank.address)
        remote.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", "attester")
        assert ledger.consortium.member(bank.address) is not None
        with pytest.raises(ContractRevert) as refused:
            remote.consortium.admit_member(bank, bank.address, "Bank", "Hefei", "attester")
        assert refused.value.error_name == "ConsortiumUnauthorized"
        assert remote.chain.backend.block_number() == chain.backend.block_number()
    finally:
        bridge.close()


def test_the_auditor_finds_no_breach_in_a_clean_run(tmp_path: Path) -> None:
    # Clean: no adversary, and every dispute answered within its 20 days. The
    # member suspension still happens: honest members hold their writes meanwhile.
    config = SimulationConfig(
        days=30, enterprises=200, seed=9, adversary_rate=0, late_dispute_rate=0, out=tmp_path
    )
    result = run_simulation(config)
    verdict: dict[str, Any] | None = result.audit
    assert verdict is not None
    assert verdict["ok"] is True, verdict
    assert result.summary["disputes"]["raised"] > 0
    assert (tmp_path / "audit" / "report.html").exists()


def test_the_auditor_counts_the_late_disputes_the_simulation_counted(
    adversarial_run: SimulationResult,
) -> None:
    verdict = adversarial_run.audit
    assert verdict is not None
    overdue = adversarial_run.summary["disputes"]["overdue"]
    assert overdue > 0
    # Refused attacks leave nothing on chain to object to; late answers to disputes do.
    assert verdict["breach_counts"] == {"DisputeOverdue": overdue}, verdict


def test_a_run_in_real_time_moves_no_clock_and_settles_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a chain whose clock only its sealers move (a geth or Besu network; here the
    embedded chain told so), the days are played back to back: the clock is never moved,
    nothing matures, and the run is clean."""
    from ledger_client.chain.backends.base import Backend
    from ledger_client.chain.backends.embedded import EmbeddedBackend
    from ledger_client.chain.backends.revm import RevmBackend

    moved: list[int] = []
    monkeypatch.setattr(Backend, "controls_clock", lambda self: False)
    for engine in (EmbeddedBackend, RevmBackend):
        monkeypatch.setattr(engine, "time_travel", lambda self, t: moved.append(t))
    result = run_simulation(
        SimulationConfig(days=20, enterprises=30, seed=7, adversary_rate=0.5, late_dispute_rate=0.5)
    )
    s = result.summary
    assert s["config"]["clock"] == "real time"
    assert moved == []
    assert s["receivables"]["issued"] > 0
    assert s["receivables"]["settled_parts"] == 0
    assert s["receivables"]["defaults"] == 0
    for kind, tally in s["attacks"].items():
        assert tally["succeeded"] == 0, (kind, tally)
    assert result.audit is not None
    assert result.audit["ok"], result.audit
