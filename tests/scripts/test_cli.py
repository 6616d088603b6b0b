"""The credit-chain command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ledger_client import Keyring, Manifest, attach, connect
from scripts.cli import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("compile", "deploy", "demo", "uscc"):
        assert command in result.output


def test_deploy_json_prints_a_manifest() -> None:
    result = runner.invoke(app, ["deploy", "--json"])
    assert result.exit_code == 0, result.output
    manifest = Manifest.from_dict(json.loads(result.stdout))
    assert manifest.network == "embedded"
    assert set(manifest.contracts) >= {"Consortium"}


@pytest.mark.anvil
def test_deploy_to_a_node_then_attach_from_the_manifest(anvil_url: str, tmp_path: Path) -> None:
    out, keys = tmp_path / "manifest.json", tmp_path / "keys.json"
    result = runner.invoke(
        app, ["deploy", "--rpc", anvil_url, "--out", str(out), "--keys", str(keys)]
    )
    assert result.exit_code == 0, result.output
    ledger = attach(connect(anvil_url), Manifest.load(out))
    regulator = Keyring.load(keys).account("regulator")
    assert ledger.consortium.members()[0].account == regulator.address


def test_deploy_to_an_unreachable_node_is_a_clear_error() -> None:
    result = runner.invoke(app, ["deploy", "--rpc", "http://127.0.0.1:9"])
    assert result.exit_code == 1
    assert "cannot reach" in result.output


def test_demo_json() -> None:
    result = runner.invoke(app, ["demo", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert {m["city"] for m in report["members"]} == {
        "Shanghai",
        "Nanjing",
        "Hangzhou",
        "Hefei",
        "Jiaxing",
    }
    errors = {r["error"] for r in report["refusals"]}
    assert {"InvalidUSCC", "ConsortiumMemberSuspended", "ConsortiumUnauthorized"} <= errors
    assert len(report["enterprises"]) == 10


def test_uscc_check() -> None:
    ok = runner.invoke(app, ["uscc", "check", "91350100M000100Y43", "--json"])
    assert ok.exit_code == 0
    assert json.loads(ok.stdout)["valid"] is True
    bad = runner.invoke(app, ["uscc", "check", "91350100M000100Y44", "--json"])
    assert bad.exit_code == 1
    assert "check character" in json.loads(bad.stdout)["reason"]


def test_bench_gas_json_has_the_issue_keys() -> None:
    result = runner.invoke(app, ["bench", "gas", "--batch-size", "20", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for key in ("attest_gas", "revoke_gas", "batch_gas_per_record"):
        assert isinstance(figures[key], int | float)
        assert figures[key] > 0


def test_bench_throughput_json_has_the_issue_keys() -> None:
    result = runner.invoke(
        app, ["bench", "throughput", "--records", "300", "--proofs", "200", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["records"] == 300
    for key in ("records_per_s", "proofs_per_s", "verify_cost_ratio"):
        assert figures[key] > 0


def test_deploy_into_a_data_dir_then_reopen(tmp_path: Path) -> None:
    result = runner.invoke(app, ["deploy", "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    chain = connect("embedded", data_dir=tmp_path)
    ledger = attach(chain, Manifest.load(tmp_path / "manifest.json"))
    regulator = Keyring.load(tmp_path / "keys.json").account("regulator")
    members = {m.account: m for m in ledger.consortium.members()}
    # The regulator, and the receivables contract (a member so it may attest defaults).
    assert set(members) == {regulator.address, ledger.receivables.address}
    chain.close()


def test_data_dir_with_rpc_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["deploy", "--rpc", "http://127.0.0.1:9", "--data-dir", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "--data-dir is for the embedded chain" in result.output


def test_bench_api_json_has_the_issue_keys() -> None:
    result = runner.invoke(
        app, ["bench", "api", "--seconds", "1", "--clients", "4", "--records", "200", "--json"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["accepted"] > 0
    assert figures["anchored"] == figures["accepted"]
    for key in ("accepted_per_s", "p99_accept_ms", "p99_anchor_ms"):
        assert figures[key] > 0


@pytest.mark.anvil
def test_demo_on_a_real_node(anvil_url: str) -> None:
    result = runner.invoke(app, ["demo", "--rpc", anvil_url, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert len(report["members"]) >= 11
    assert report["consent"]


def test_keys_issue_many_issues_a_key_a_line_in_order(tmp_path: Path) -> None:
    accounts = [Keyring("issue-many").account(f"party-{n}").address for n in range(3)]
    lines = "".join(f"{a} party-{n}\n" for n, a in enumerate(accounts)) + "\n"
    result = runner.invoke(
        app, ["keys", "issue-many", "--data-dir", str(tmp_path), "--json"], input=lines
    )
    assert result.exit_code == 0, result.output
    issued = json.loads(result.output)
    assert [(d["member"], d["label"]) for d in issued] == [
        (a, f"party-{n}") for n, a in enumerate(accounts)
    ]
    assert len({d["key"] for d in issued}) == 3
    listed = runner.invoke(app, ["keys", "list", "--data-dir", str(tmp_path), "--json"])
    assert sorted(k["member"] for k in json.loads(listed.output)) == sorted(accounts)
    bad = runner.invoke(
        app, ["keys", "issue-many", "--data-dir", str(tmp_path)], input="not-an-address x\n"
    )
    assert bad.exit_code == 1
    assert "line 1" in bad.output


def test_a_mix_curve_is_a_closed_loop_then_each_offered_rate_on_a_fresh_server() -> None:
    from scripts.bench_api_mix import bench_api_curve

    doc = bench_api_curve([40.0, 20.0], seconds=1.0, clients=4, writes=120, pause_s=0.0)
    assert doc["engine"] in ("revm", "pyevm")
    assert doc["closed_loop"]["mode"] == "closed loop"
    assert [r["offered_requests_per_s"] for r in doc["open_loops"]] == [20.0, 40.0]
    for run in (doc["closed_loop"], *doc["open_loops"]):
        assert run["submissions_accepted"] > 0
        assert run["errors"] == 0
        assert run["pending_after_drain"] == 0  # every accepted write was anchored


def test_a_curve_needs_the_mix_and_a_rate_and_one_run_takes_one_rate() -> None:
    for args, says in (
        (["--curve", "--rate", "10"], "--curve is for the consortium's mix"),
        (["--mix", "--curve"], "--curve is for the consortium's mix"),
        (["--mix", "--rate", "10", "--rate", "20"], "several make a curve (--curve)"),
    ):
        result = runner.invoke(app, ["bench", "api", *args])
        assert result.exit_code != 0
        assert says in result.output, result.output
