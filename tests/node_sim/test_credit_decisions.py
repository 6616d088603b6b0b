"""The simulated banks' credit decisions: by grade, deterministic by seed, in the report."""

from __future__ import annotations

from node_sim.credit_decisions import credit_decisions
from node_sim.report import render_report
from node_sim.simulation import SimulationConfig, run_simulation


def test_banks_decide_by_grade_and_the_same_seed_gives_the_same_figures() -> None:
    first = credit_decisions(5, 3_000)
    assert first == credit_decisions(5, 3_000)
    assert first["model_hash"] != credit_decisions(6, 3_000)["model_hash"]
    shared = first["decisions"]["shared"]
    assert sum(g["enterprises"] for g in shared["by_grade"]) == first["held_out"]
    assert sum(b["applicants"] for b in first["by_bank"].values()) == first["held_out"]
    assert sum(b["approved"] for b in first["by_bank"].values()) == shared["approved"]
    for g in shared["by_grade"]:
        assert g["approved"] in (0, g["enterprises"])  # the rule is the grade
    assert first["approved_grades"]
    assert max(first["approved_grades"]) <= 4
    for regime in ("local", "shared", "scitech"):
        assert 0.5 < first["auc"][regime] <= 1.0
        fpr, tpr = first["curves"][regime]["roc"]
        assert fpr[0] == tpr[0] == 0.0


def test_the_simulation_report_shows_the_decisions_and_charts() -> None:
    result = run_simulation(
        SimulationConfig(days=3, enterprises=20, seed=3, flows=False, audit=False,
                         credit_enterprises=3_000)
    )  # fmt: skip
    decisions = result.summary["credit_decisions"]
    assert decisions == credit_decisions(3, 3_000)
    page = render_report({**result.summary, "timing": result.timing, "audit": None})
    assert "Credit decisions: each city&#x27;s bank lends by grade" in page
    assert "ROC, held-out enterprises" in page
    assert "Calibration by PD decile" in page
    assert "Decisions by grade" in page
    assert "Losses avoided by sharing" in page
