"""``credit-chain bench all``: one JSON document with every benchmark and its references.

Only the document's shape and the deterministic figures (gas) are asserted here:
speed targets live in the benchmark commands, never in timed tests.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from ledger_client.chain.backends import default_engine
from scripts.bench_reference import _main
from scripts.cli import app

runner = CliRunner()

# The quick run takes about 30 s on a quiet machine (a minute on a busy one), and its
# reference section starts an anvil node of its own.
pytestmark = [pytest.mark.slow, pytest.mark.anvil]

SECTIONS = ("gas", "throughput", "api", "api_mix", "sim", "restart", "audit", "reference", "scale")


@pytest.fixture(scope="module")
def quick() -> dict[str, Any]:
    result = runner.invoke(app, ["bench", "all", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_bench_all_prints_every_section_and_the_machine(quick: dict[str, Any]) -> None:
    assert set(quick) == {*SECTIONS, "machine", "engine", "targets", "run"}
    assert quick["engine"] == default_engine()  # the engine every section's chain ran on
    machine = quick["machine"]
    assert machine["cpu_count"] >= 1
    assert machine["python"]
    assert machine["platform"]
    for dist in ("web3", "eth-tester", "py-evm", "solc", "anvil", "eas-contracts"):
        assert machine["versions"][dist]
    assert quick["run"]["quick"] is True
    assert set(quick["run"]["seconds"]) == set(SECTIONS)


def test_bench_all_figures_are_positive(quick: dict[str, Any]) -> None:
    assert quick["throughput"]["records_per_s"] > 0
    assert quick["throughput"]["proofs_per_s"] > 0
    assert quick["api"]["accepted"] > 0
    assert quick["api"]["accepted_per_s"] > 0
    assert quick["api_mix"]["accepted_per_s"] > 0
    assert set(quick["api_mix"]["operations"]) == set(quick["api_mix"]["mix"])
    assert quick["sim"]["seconds"] > 0
    assert quick["sim"]["records"] > 0
    assert quick["restart"]["restart_s"] > 0
    assert quick["restart"]["same_proof"] is True
    assert quick["audit"]["records"] > 0
    assert [r["enterprises"] for r in quick["scale"]["runs"]] == [200, 400, 800, 1_600]
    assert all(r["records"] > 0 and r["peak_rss_bytes"] > 0 for r in quick["scale"]["runs"])
    ref = quick["reference"]
    for path in ("eth_tester_naive_web3", "eth_tester_naive_web3_pure_python"):
        assert ref["minimal_contract_tx_per_s"][path]["tx_per_s"] > 0
    for where in ("eth_tester_ours", "anvil_ours"):
        assert ref["minimal_contract_tx_per_s"][where]["tx_per_s"] > 0
        assert ref["attest_tx_per_s"][where]["tx_per_s"] > 0


def test_bench_all_gas_equals_bench_gas(quick: dict[str, Any]) -> None:
    result = runner.invoke(app, ["bench", "gas", "--json"])
    assert result.exit_code == 0, result.output
    assert quick["gas"] == json.loads(result.stdout)
    # Our attest costs the same on anvil: the same EVM rules, the same gas.
    attest = quick["reference"]["attest_tx_per_s"]
    assert attest["eth_tester_ours"]["attest_gas"] == quick["gas"]["attest_gas"]
    assert attest["anvil_ours"]["attest_gas"] == quick["gas"]["attest_gas"]


def test_bench_all_measures_eas_on_both_chains(quick: dict[str, Any]) -> None:
    eas = quick["reference"]["eas"]
    assert eas["package"] == "@ethereum-attestation-service/eas-contracts@1.9.0"
    for build in ("compiled_here", "published_bytecode"):
        on_tester, on_anvil = eas["eth_tester"][build], eas["anvil"][build]
        assert on_tester == on_anvil
        assert on_tester["attest_gas"] > quick["gas"]["attest_gas"]
        assert on_tester["attest_one_word_gas"] < on_tester["attest_gas"]
        assert on_tester["multi_timestamp_items"] == 100
        per_item = on_tester["multi_timestamp_gas"] / 100
        assert on_tester["multi_timestamp_gas_per_item"] == round(per_item, 1)
        assert per_item > quick["gas"]["batch_gas_per_record"]
    assert eas["quoted_in_issue"] == {"attest_gas": 201_043, "multi_timestamp_gas_per_item": 24_775}


def test_bench_all_sets_each_figure_beside_its_target(quick: dict[str, Any]) -> None:
    targets = {(t["section"], t["figure"]): t for t in quick["targets"]}
    assert set(targets) >= {
        ("gas", "attest_gas"),
        ("gas", "batch_gas_per_record"),
        ("throughput", "records_per_s"),
        ("throughput", "proofs_per_s"),
        ("api", "accepted_per_s"),
        ("api", "p99_accept_ms"),
        ("api", "p99_anchor_ms"),
        ("api_mix", "accepted_per_s"),
        ("api_mix", "p99_accept_ms"),
        ("api_mix", "p99_anchor_ms"),
        ("restart", "restart_s"),
        ("sim", "seconds"),
    }
    for (section, figure), t in targets.items():
        assert t["value"] == quick[section][figure]
        assert isinstance(t["met"], bool)
        # Gas is exact and measured at full size even in a quick run; rates are not.
        assert t["comparable"] is (section == "gas")
    assert targets["gas", "attest_gas"]["met"] is True
    assert targets["gas", "batch_gas_per_record"]["met"] is True


def test_bench_all_table_with_sections_skipped() -> None:
    skip = [arg for s in SECTIONS if s != "gas" for arg in ("--skip", s)]
    result = runner.invoke(app, ["bench", "all", "--quick", *skip])
    assert result.exit_code == 0, result.output
    assert "gas of one attestation" in result.output
    assert "credit-chain bench all --json" in result.output


def test_bench_all_refuses_an_unknown_section() -> None:
    result = runner.invoke(app, ["bench", "all", "--skip", "nonsense"])
    assert result.exit_code == 1
    assert "nonsense" in result.output


def test_reference_module_usage() -> None:
    with pytest.raises(SystemExit, match="usage"):
        _main([])
