"""`credit-chain bench score`: the figures it reports, on a small world."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from node_sim.credit_world import REGIMES
from scripts.bench_score import bench_score, score_report
from scripts.cli import app


@pytest.mark.slow  # fits nine scorecards and a boosted model
def test_bench_score_reports_every_figure() -> None:
    doc = bench_score(enterprises=2_000, seed=4, levels=(0.1, 0.7), rounds=20, timed=2_000)
    assert doc["held_out"] > 400
    assert doc["held_out_defaults"] > 0
    for regime in REGIMES:
        for metric in ("auc", "ks", "brier"):
            low, high = doc[f"{regime}_{metric}_ci"]
            assert low <= high
        assert 0.5 < doc[f"{regime}_auc"] <= 1.0
        assert doc[f"{regime}_model_hash"].startswith("0x")
    # The two record-only regimes share a feature specification, the sci-tech one does not.
    assert doc["local_feature_spec_hash"] == doc["shared_feature_spec_hash"]
    assert doc["scitech_feature_spec_hash"] != doc["shared_feature_spec_hash"]
    assert [r["cross_city_mean"] for r in doc["uplift_by_cross_city_share"]] == [0.1, 0.7]
    grades = doc["decisions"]["shared"]["by_grade"]
    assert sum(g["enterprises"] for g in grades) == doc["held_out"]
    assert doc["score_enterprises"] == 2_000
    assert doc["score_seconds"] > 0
    assert doc["verify_one_ms"] > 0
    assert {p["name"] for p in doc["world_parameters"]} >= {"12-month default rate, all stages"}
    fpr, tpr = doc["curves"]["scitech"]["roc"]
    assert fpr[0] == tpr[0] == 0.0
    assert fpr[-1] == tpr[-1] == 1.0
    assert len(doc["curves"]["local"]["calibration"][0]) == 10
    page = score_report(doc)
    assert page.count("<svg") == 2
    assert "ROC, held-out enterprises" in page
    assert "Calibration by PD decile" in page


def test_bench_score_command_holds_out_at_least_2000_enterprises() -> None:
    """30 % are held out, so the command takes no fewer than 7,000."""
    result = CliRunner().invoke(app, ["bench", "score", "--enterprises", "100", "--json"])
    assert result.exit_code != 0
    assert "7000" in result.output.replace(",", "")
