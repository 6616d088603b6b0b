"""The README's benchmark tables are rendered from the runs kept in benchmarks/, never typed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from scripts.cli import app
from scripts.readme_tables import (
    BENCHMARKS,
    README,
    ReadmeTablesError,
    StaleReadme,
    UnlabelledFigure,
    kept_runs,
    render_all,
    update_readme,
)


def test_the_committed_readme_matches_the_kept_runs() -> None:
    assert update_readme(check=True) is False
    result = CliRunner().invoke(app, ["bench", "readme", "--check"])
    assert result.exit_code == 0, result.output


@pytest.fixture
def world(tmp_path: Path) -> tuple[Path, Path]:
    # The newest whole run alone: each test adds the gas-only runs it needs.
    bench = tmp_path / "benchmarks"
    bench.mkdir()
    newest_whole = sorted(BENCHMARKS.glob("bench-all-*.json"))[-1]
    shutil.copy(newest_whole, bench / newest_whole.name)
    readme = tmp_path / "README.md"
    readme.write_text(README.read_text(encoding="utf-8"), encoding="utf-8")
    return readme, bench


def _whole(bench: Path) -> dict[str, object]:
    path = sorted(bench.glob("bench-all-*.json"))[-1]
    doc: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _whole_gas(bench: Path) -> dict[str, object]:
    """A copy of the newest whole run's gas figures, to edit into a gas-only run."""
    gas = _whole(bench)["gas"]
    assert isinstance(gas, dict)
    return dict(gas)


def test_a_hand_edited_figure_is_caught_and_rewritten(world: tuple[Path, Path]) -> None:
    readme, bench = world
    gas = _whole(bench)["gas"]
    assert isinstance(gas, dict)
    shown = f"{gas['attest_gas']:,}"
    readme.write_text(
        readme.read_text(encoding="utf-8").replace(f"| {shown} |", "| 1 |", 1), encoding="utf-8"
    )
    with pytest.raises(StaleReadme):
        update_readme(check=True, readme=readme, benchmarks=bench)
    assert update_readme(readme=readme, benchmarks=bench) is True
    assert update_readme(check=True, readme=readme, benchmarks=bench) is False


def test_a_newer_gas_run_supplies_the_gas_figures(world: tuple[Path, Path]) -> None:
    _, bench = world
    gas = _whole_gas(bench)
    gas["attest_gas"] = 12_345
    (bench / "bench-gas-2999-01-01.json").write_text(json.dumps(gas), encoding="utf-8")
    whole, newest_gas = kept_runs(bench)
    assert newest_gas.path.name == "bench-gas-2999-01-01.json"
    assert whole.path.name.startswith("bench-all-")
    blocks = render_all(bench)
    assert "| 12,345 | `attest_gas` |" in blocks["gas"]
    assert "bench-gas-2999-01-01.json" in blocks["performance"]
    # An older gas-only run than the whole run is not taken.
    (bench / "bench-gas-2999-01-01.json").rename(bench / "bench-gas-1999-01-01.json")
    assert kept_runs(bench)[1].path.name.startswith("bench-all-")
    # Nor one a day older in the same year: the whole date decides, not its year.
    year, month, day = whole.path.stem.rsplit("-", 3)[-3:]
    (bench / "bench-gas-1999-01-01.json").rename(bench / f"bench-gas-{year}-01-01.json")
    if (month, day[:2]) != ("01", "01"):
        assert kept_runs(bench)[1].path.name.startswith("bench-all-")


def test_a_figure_without_a_label_stops_the_rendering(world: tuple[Path, Path]) -> None:
    _, bench = world
    gas = _whole_gas(bench)
    gas["mystery_gas"] = 1
    (bench / "bench-gas-2999-01-01.json").write_text(json.dumps(gas), encoding="utf-8")
    with pytest.raises(UnlabelledFigure, match="mystery_gas"):
        render_all(bench)


def test_a_readme_without_its_markers_is_refused(world: tuple[Path, Path]) -> None:
    readme, bench = world
    readme.write_text("# nothing marked\n", encoding="utf-8")
    with pytest.raises(ReadmeTablesError, match="no marked block"):
        update_readme(readme=readme, benchmarks=bench)


def test_a_kept_scale_audit_is_stated_clean_or_with_its_mismatches(tmp_path: Path) -> None:
    from scripts.readme_tables import render_scale

    bench = tmp_path / "benchmarks"
    bench.mkdir()
    sizes = sorted(BENCHMARKS.glob("bench-scale-20*.json"))[-1]
    shutil.copy(sizes, bench / sizes.name)
    once_path = sorted(BENCHMARKS.glob("bench-scale-1m-*.json"))[-1]
    once = json.loads(once_path.read_text(encoding="utf-8"))
    audit = once["runs"][0]["audit"]
    (bench / "bench-scale-1m-audit-2099-01-01.json").write_text(json.dumps(once))
    clean = render_scale(bench)
    assert f"{audit['view_calls']:,} eth_calls" in clean
    assert clean.rstrip().endswith("batches): clean.")
    once["runs"][0]["audit"] = {**audit, "ok": False, "mismatches": 3}
    (bench / "bench-scale-1m-audit-2099-01-01.json").write_text(json.dumps(once))
    assert render_scale(bench).rstrip().endswith("batches): 3 mismatches.")
    del once["runs"][0]["audit"]
    (bench / "bench-scale-1m-audit-2099-01-01.json").write_text(json.dumps(once))
    assert "Audited after the run" not in render_scale(bench)


def _mix_run(accepted: int, p99: float, anchor: float, rate: float | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "accepted_per_s": accepted,
        "requests_per_s": accepted // 3,
        "p50_accept_ms": p99 / 4,
        "p99_accept_ms": p99,
        "p99_anchor_ms": anchor,
        "refused": {"RateLimited": 2},
        "errors": 0,
        "keys": 15,
        "batch_size": 20,
        "seconds": 8.0,
        "clients": 32,
    }
    if rate is not None:
        run |= {
            "offered_requests_per_s": rate,
            "offered_submissions_per_s": round(rate * 2.9),
            "p99_accept_ms_after_warmup": p99 / 2,
        }
    return run


def test_the_mix_curve_states_the_most_accepted_and_the_highest_load_the_latencies_held_at(
    tmp_path: Path,
) -> None:
    from scripts.readme_tables import render_api_curve

    assert "No `credit-chain bench api --mix --curve` run" in render_api_curve(tmp_path)
    doc: dict[str, Any] = {
        "engine": "revm",
        "machine": {"load_average_at_start": [0.4, 0.5, 0.6]},
        "closed_loop": _mix_run(700, 300.0, 2500.0),
        "open_loops": [
            _mix_run(290, 30.0, 400.0, rate=100),
            _mix_run(580, 45.0, 900.0, rate=200),
            _mix_run(690, 800.0, 2600.0, rate=300),
        ],
    }
    (tmp_path / "bench-api-curve-2099-01-01.json").write_text(json.dumps(doc))
    text = render_api_curve(tmp_path)
    assert "| closed loop, 32 clients | 700 (233) |" in text
    assert "offered 300 requests/s (870 submissions/s)" in text
    assert "at most 700 with the admission bound (missed);" in text
    assert "held up to 580 accepted/s offered" in text  # not at 300 requests/s: 800 ms
    assert "| 2, 0 |" in text  # what was refused by name is counted, not hidden
    assert "no admission bound, load average" in text
    # A run with the bound, beside a kept run of the same load without it.
    doc["admission_bound_s"] = 1.0
    (tmp_path / "bench-api-curve-2099-01-01.json").write_text(json.dumps(doc))
    unbounded = {
        **doc,
        "admission_bound_s": 0.0,
        "closed_loop": _mix_run(1100, 150.0, 12000.0),
        "open_loops": [_mix_run(700, 9000.0, 9500.0, rate=300)],
    }
    (tmp_path / "bench-api-unbounded-2099-01-01.json").write_text(json.dumps(unbounded))
    text = render_api_curve(tmp_path)
    assert "admission bound 1 s, load average" in text
    assert (
        "| the same, offered 300 requests/s, no admission bound "
        "(`benchmarks/bench-api-unbounded-2099-01-01.json`) | 700 (233) | "
    ) in text
    assert (
        "| the same closed loop, no admission bound "
        "(`benchmarks/bench-api-unbounded-2099-01-01.json`) | 1,100 (366) | "
    ) in text
    # What the intake takes with nothing refused is stated beside, not as the target's figure.
    assert "at most 700 with the admission bound (missed), and 1,100 with no bound" in text
    assert "held up to 580 accepted/s offered" in text  # the unbounded run is no target row
    (tmp_path / "bench-api-unbounded-2099-01-01.json").unlink()
    doc["closed_loop"] = _mix_run(1200, 60.0, 900.0)
    doc["open_loops"] = [_mix_run(690, 800.0, 2600.0, rate=300)]
    (tmp_path / "bench-api-curve-2099-01-01.json").write_text(json.dumps(doc))
    text = render_api_curve(tmp_path)
    assert "at most 1,200 with the admission bound (met);" in text
    assert "held at no offered rate measured" in text
