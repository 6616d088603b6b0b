"""``credit-chain bench scale``: each size in its own process, fitted and extrapolated."""

from __future__ import annotations

import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger_client.chain.batch_read import BatchReader, ViewCall
from ledger_client.errors import ContractRevert
from scripts.bench_scale import audit_one, fit_affine, fit_power_law, measure_one
from scripts.cli import app


def test_the_fits_recover_known_laws() -> None:
    xs = [1e4, 3e4, 1e5, 3e5]
    fit = fit_power_law(xs, [2.0 * x**1.1 for x in xs])
    assert fit is not None
    assert math.isclose(fit[0], 2.0, rel_tol=1e-9)
    assert math.isclose(fit[1], 1.1, rel_tol=1e-9)
    line = fit_affine(xs, [150.0 + 0.5 * x for x in xs])
    assert line is not None
    assert math.isclose(line[0], 150.0, rel_tol=1e-9)
    assert math.isclose(line[1], 0.5, rel_tol=1e-9)
    assert fit_power_law([1e4], [3.0]) is None
    assert fit_affine([1e4, 1e4], [3.0, 4.0]) is None


@pytest.mark.slow
def test_bench_scale_measures_each_size_and_names_what_bounds_it() -> None:
    sizes = ["--size", "120", "--size", "240", "--size", "480"]
    result = CliRunner().invoke(
        app,
        ["bench", "scale", *sizes, "--days", "12", "--flow-sample", "5", "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    runs = doc["runs"]
    assert [r["enterprises"] for r in runs] == [120, 240, 480]
    for r in runs:
        assert r["records"] > 0
        assert r["transactions"] > r["batches"] > 0
        assert r["peak_rss_bytes"] > 0
        assert r["disk_bytes"] > 0
        assert r["largest_batch"] <= 65_536
        assert r["attacks_succeeded"] == 0
    # More enterprises, more records: the world grows with them.
    assert runs[0]["records"] < runs[1]["records"] < runs[2]["records"]
    assert set(doc["extrapolated"]) == {"1,000,000 x 12 days", "10,000,000 x 12 days"}
    for row in doc["extrapolated"].values():
        assert row["bound_by"] in row["stage_seconds"]
    assert doc["engine_check"]["same"] is True
    assert doc["engine_check"]["pyevm_gas"] == doc["engine_check"]["revm_gas"] > 0


def test_a_scale_run_audits_clean_and_a_doctored_batch_view_is_caught(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = measure_one(120, 12, seed=7, flow_sample=5, engine="revm", out=tmp_path, audit=True)
    audit = run["audit"]
    assert audit["ok"] is True, audit
    assert audit["mismatches"] == 0
    assert audit["breach_counts"] == {}
    # Every batch the run anchored, and every record in them, is the audit's too.
    assert audit["batches"] == run["batches"] > 0
    assert audit["batch_records"] == run["records"]
    assert audit["events"] > audit["batches"]
    assert 0 < audit["blocks"] <= run["blocks"]
    assert audit["view_calls"] < audit["views_read"]  # many views to an eth_call
    # The whole (reopening the chain included) holds the audit's own total; 0.1 s rounding.
    assert audit["seconds"] + 0.05 >= audit["timing"]["total_s"] > 0
    # The run's disk figure is the run's: the audit's index and report came after it.
    assert (tmp_path / "audit" / "report.json").exists()

    # A node that answers one batch's view with another anchoring time.
    real = BatchReader.read_raw
    lied: list[str] = []

    def lying(
        self: BatchReader, calls: Sequence[ViewCall], encoded: Sequence[bytes] | None = None
    ) -> list[bytes | ContractRevert]:
        answers = real(self, calls, encoded)
        for i, call in enumerate(calls):
            answer = answers[i]
            if not lied and call.fn.name == "batch" and isinstance(answer, bytes):
                # (attester, anchoredAt, ...): the last byte of anchoredAt's word.
                answers[i] = answer[:63] + bytes([answer[63] ^ 1]) + answer[64:]
                lied.append(call.args[0].hex())
        return answers

    monkeypatch.setattr(BatchReader, "read_raw", lying)
    shutil.rmtree(tmp_path / "audit")  # a re-audit would compare only what changed since
    doctored = audit_one(tmp_path, "revm")
    assert len(lied) == 1
    assert doctored["ok"] is False
    assert doctored["mismatches"] == 1
    assert doctored["breach_counts"] == {"StateMismatch": 1}
