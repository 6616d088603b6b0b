"""The static-analysis gate: slither finds no high or medium issue in contracts/.

Slither runs from its own virtual environment (``make tools``); these tests never skip: a
missing slither fails them, with the command that installs it. One test runs the same gate on
a deliberately bad contract (tests/data/slither_bad) to show that the gate can fail.
"""

from __future__ import annotations

from typing import Any

import pytest

from scripts import slither_gate
from scripts.slither_gate import Finding, SlitherError, blocking, main, parse_findings, run_slither

BAD_TARGET = "tests/data/slither_bad"


def _require_slither() -> None:
    if not slither_gate.SLITHER.is_file():
        pytest.fail(f"slither is missing at {slither_gate.SLITHER}: run `make tools`")


def test_contracts_have_no_high_or_medium_finding(capsys: pytest.CaptureFixture[str]) -> None:
    _require_slither()
    status = main(["contracts"])
    out = capsys.readouterr()
    assert status == 0, f"slither gate refused contracts/:\n{out.out}{out.err}"
    assert "slither gate passed on contracts: 0 high/medium finding(s)" in out.out


@pytest.fixture(scope="module")
def bad_findings() -> list[Finding]:
    _require_slither()
    return run_slither(BAD_TARGET)


def test_gate_catches_a_deliberately_bad_contract(bad_findings: list[Finding]) -> None:
    refused = {(f.check, f.impact) for f in blocking(bad_findings)}
    assert ("unused-return", "Medium") in refused  # join() drops the registry's id
    assert ("incorrect-equality", "Medium") in refused  # drained() tests a balance with ==
    assert ("arbitrary-send-eth", "High") in refused  # pay() sends the balance to anyone
    assert all(f.files == ("tests/data/slither_bad/Bad.sol",) for f in bad_findings)


def test_gate_honours_a_suppression_at_its_line(bad_findings: list[Finding]) -> None:
    unused = [f for f in bad_findings if f.check == "unused-return"]
    assert len(unused) == 1
    assert "join()" in unused[0].description
    assert not any("joinQuietly" in f.description for f in bad_findings)


def test_low_findings_do_not_fail_the_gate(bad_findings: list[Finding]) -> None:
    low = [f for f in bad_findings if f.impact == "Low"]
    assert low, "missing-zero-check on pay(to) is expected"
    assert not blocking(low)


def test_gate_exits_non_zero_and_prints_each_finding(capsys: pytest.CaptureFixture[str]) -> None:
    _require_slither()
    assert main([BAD_TARGET]) == 1
    out = capsys.readouterr().out
    assert "slither gate FAILED on tests/data/slither_bad: 3 high/medium finding(s)" in out
    assert "[High/" in out
    assert "arbitrary-send-eth" in out
    assert "unused-return" in out
    assert "Bad.sol#20" in out


def test_a_target_slither_cannot_analyse_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    _require_slither()
    with pytest.raises(SlitherError, match="no report"):
        run_slither("tests/data/no_such_directory")
    assert main(["tests/data/no_such_directory"]) == 2
    assert "slither gate: slither printed no report" in capsys.readouterr().err


def test_missing_slither_fails_with_the_command_that_installs_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(slither_gate, "SLITHER", slither_gate.TOOLS_VENV / "bin" / "no-slither")
    with pytest.raises(SlitherError, match=r"run `make tools`"):
        run_slither()
    assert main([]) == 2
    assert "make tools" in capsys.readouterr().err


def _result(impact: str, *files: str) -> dict[str, Any]:
    return {
        "check": "some-check",
        "impact": impact,
        "confidence": "High",
        "description": "something",
        "elements": [{"source_mapping": {"filename_relative": f}} for f in files],
    }


def test_findings_only_in_dependencies_do_not_count() -> None:
    report = {
        "success": True,
        "error": None,
        "results": {
            "detectors": [
                _result("High", "node_modules/@openzeppelin/contracts/utils/math/Math.sol"),
                _result("Medium", "contracts/Forwarder.sol", "node_modules/@openzeppelin/x.sol"),
                _result("Informational", "contracts/Forwarder.sol"),
            ]
        },
    }
    found = parse_findings(report)
    assert [f.in_dependencies for f in found] == [True, False, False]
    assert [f.impact for f in blocking(found)] == ["Medium"]


def test_a_failed_report_is_an_error() -> None:
    with pytest.raises(SlitherError, match="compilation failed"):
        parse_findings({"success": False, "error": "compilation failed", "results": {}})
    assert parse_findings({"success": True, "error": None, "results": {}}) == []
