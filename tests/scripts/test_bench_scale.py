"""``credit-chain bench scale``: each size in its own process, fitted and extrapolated."""

from __future__ import annotations

import json
import math

import pytest
from typer.testing import CliRunner

from scripts.bench_scale import fit_affine, fit_power_law
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
