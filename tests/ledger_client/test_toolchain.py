"""The offline Solidity toolchain and the committed, generated artifacts."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ledger_client.chain import artifacts as artifacts_module
from ledger_client.chain.compiler import (
    ARTIFACTS_PATH,
    ERRORS_MODULE_PATH,
    GENERATED_BY,
    REPO_ROOT,
    SOLC_SETTINGS,
    SOLC_WRAPPER,
    CompileResult,
    compile_contracts,
    contract_sources,
    render_errors_module,
    sources_hash,
)
from ledger_client.errors import ArtifactsError


def _doc() -> dict[str, Any]:
    """The committed artifacts file, as JSON."""
    doc: dict[str, Any] = json.loads(ARTIFACTS_PATH.read_text(encoding="utf-8"))
    return doc


def test_wrapper_answers_version_like_native_solc() -> None:
    out = subprocess.run(
        [str(SOLC_WRAPPER), "--version"], capture_output=True, text=True, check=True
    )
    assert re.search(r"^Version: \d+\.\d+\.\d+\+commit\.[0-9a-f]{8}", out.stdout, re.M)


def test_wrapper_refuses_unknown_options() -> None:
    out = subprocess.run([str(SOLC_WRAPPER), "--bin"], capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "unsupported option" in out.stderr


def test_wrapper_output_over_64_kib_arrives_whole() -> None:
    # A piped stdout is cut at 64 KiB if the program exits before it drains.
    sources = {p: {"content": t} for p, t in contract_sources().items()}
    std_input = {
        "language": "Solidity",
        "sources": sources,
        "settings": {
            "remappings": SOLC_SETTINGS["remappings"],
            "outputSelection": {"*": {"*": ["*"], "": ["ast"]}},
        },
    }
    out = subprocess.run(
        [str(SOLC_WRAPPER), "--standard-json", "--base-path", str(REPO_ROOT)],
        input=json.dumps(std_input),
        capture_output=True,
        text=True,
        check=True,
    )
    assert len(out.stdout) > 256 * 1024
    parsed = json.loads(out.stdout)
    assert "Consortium" in parsed["contracts"]["contracts/Consortium.sol"]


def test_artifacts_say_what_generated_them() -> None:
    doc = _doc()
    assert doc["generated_by"] == GENERATED_BY
    assert doc["compiler"].startswith("0.8.")


def test_artifacts_are_not_stale() -> None:
    doc = _doc()
    current = set(contract_sources())
    listed = {s for s in doc["sources"] if s.startswith("contracts/")}
    assert current == listed, "a contract was added or removed since `make compile`"
    assert sources_hash(doc["sources"]) == doc["sources_hash"], (
        "contracts/ changed since the artifacts were generated: run `make compile`"
    )


def test_generated_error_classes_are_not_stale() -> None:
    doc = _doc()
    result = CompileResult(
        compiler=doc["compiler"],
        sources=doc["sources"],
        sources_hash=doc["sources_hash"],
        contracts=doc["contracts"],
    )
    assert ERRORS_MODULE_PATH.read_text(encoding="utf-8") == render_errors_module(result)


def test_recompiling_reproduces_the_committed_bytecode() -> None:
    result = compile_contracts()
    doc = _doc()
    assert result.sources_hash == doc["sources_hash"]
    assert sorted(result.contracts) == sorted(doc["contracts"])
    for name, art in result.contracts.items():
        assert art["bytecode"] == doc["contracts"][name]["bytecode"], name
        assert art["abi"] == doc["contracts"][name]["abi"], name


def test_missing_artifacts_are_a_named_error(tmp_path: Path) -> None:
    missing = tmp_path / "contracts.json"
    with pytest.raises(ArtifactsError, match="make compile"):
        artifacts_module.load_artifacts.__wrapped__(missing)
    missing.write_text("{not json")
    with pytest.raises(ArtifactsError, match="not valid JSON"):
        artifacts_module.load_artifacts.__wrapped__(missing)
    missing.write_text("{}")
    with pytest.raises(ArtifactsError, match="malformed"):
        artifacts_module.load_artifacts.__wrapped__(missing)
