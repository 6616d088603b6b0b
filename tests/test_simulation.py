"""The scenario simulator: repeatable, and every attack refused by name."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from ledger_client import Manifest, attach, connect
from node_sim.adversaries import ATTACKS
from node_sim.simulation import SimulationConfig, run_simulation
from scripts.cli import app


def test_same_seed_same_figures() -> None:
    config = SimulationConfig(days=12, enterprises=40, seed=11)
    first = run_simulation(config).summary
    second = run_simulation(config).summary
    assert first == second
    other = run_simulation(SimulationConfig(days=12, enterprises=40, seed=12)).summary
    assert other != first


def test_every_adversarial_behaviour_is_tried_and_refused() -> None:
    result = run_simulation(SimulationConfig(days=30, enterprises=30, seed=3, adversary_rate=1.0))
    attacks = result.summary["attacks"]
    assert set(attacks) == set(ATTACKS)
    for kind, tally in attacks.items():
        expected = ATTACKS[kind][1]
        assert tally["attempted"] > 0, kind
        assert tally["refused"] == tally["attempted"], (kind, tally)
        assert tally["accepted"] == 0
        assert tally["errors"] == {expected: tally["attempted"]}


def test_the_suspension_fault_holds_records_back_until_reinstatement() -> None:
    result = run_simulation(SimulationConfig(days=30, enterprises=60, seed=5))
    kinds = [f["kind"] for f in result.summary["faults"]]
    assert kinds == ["member_suspended", "member_reinstated"]
    assert result.summary["records"]["total"] > 0


def test_simulate_command_keeps_a_ledger_others_can_open(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app, ["simulate", "--days", "5", "--enterprises", "20", "--out", str(out), "--json"]
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["config"]["days"] == 5
    page = (out / "report.html").read_text()
    assert page.count("<svg") == 5  # every chart is inline: the page needs nothing else
    assert 'src="http' not in page  # nothing fetched from elsewhere
    assert "<link" not in page
    assert "attacks refused by a named error; 0 accepted" in page
    chain = connect("embedded", data_dir=out / "chain")
    ledger = attach(chain, Manifest.load(out / "manifest.json"))
    assert len(ledger.consortium.members()) == summary["members"]
    assert chain.backend.block_number() == summary["blocks"]
    chain.close()
