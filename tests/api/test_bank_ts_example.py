"""The TypeScript bank (``examples/bank-ts``) against a real ``credit-chain serve``.

A world is set up through the API (members, an enterprise bound by the subject
id of its USCC, a receivable issued and accepted), then served on 127.0.0.1;
It is compiled with the pinned ``tsc`` in strict mode first (a type error fails the test),
then ``node examples/bank-ts/dist/bank.js`` gets only the URL, the bank's API key and
signing key, the holder's signing key, the receivable's id, the enterprise's
USCC and the subject key. What it says it did is then checked through the API
with another member's key: the attestation is the bank's, about the subject id
the registrar bound; the receivable is financed by the bank.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
from eth_hash.auto import keccak

from harness.api_process import start_server, stop_server
from ledger_client import Keyring
from ledger_client.identity.uscc import generate_uscc, subject_id
from tests.api_world import DAY, ApiWorld, open_world
from tests.conftest import REPO_ROOT

EXAMPLE_DIR = REPO_ROOT / "examples" / "bank-ts"
TSC = REPO_ROOT / "node_modules" / ".bin" / "tsc"
TSC_TIMEOUT_S = 120
#: The whole example: vectors, five writes anchored, two verifications. Generous: a loaded
#: machine; the example bounds each of its own waits too.
NODE_TIMEOUT_S = 180
AMOUNT_FEN = 2_000_000


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


def _receivable(w: ApiWorld) -> str:
    """A receivable the core enterprise issued to tier 1, accepted: tier 1 holds it."""
    r = w.ledger.receivables
    due = w.service.chain.now() + 90 * DAY
    invoice = "0x" + keccak(b"bank-ts invoice 2025-0001").hex()
    contract = "0x" + keccak(b"bank-ts framework contract").hex()
    args = (w["tier1"].address, AMOUNT_FEN, due, _b(contract), [_b(invoice)])
    body = {
        "supplier": w["tier1"].address,
        "amount_fen": AMOUNT_FEN,
        "due_date": due,
        "contract_hash": contract,
        "invoice_commitments": [invoice],
        **w.signed("core", r, "issue", *args),
    }
    rid: str = w.write("/v1/receivables", "core", body)["receivable_id"]
    w.write(f"/v1/receivables/{rid}/accept", "tier1", w.signed("tier1", r, "accept", _b(rid)))
    return rid


def _compile() -> Path:
    """``tsc -p examples/bank-ts``: strict, into the example's git-ignored ``dist/``."""
    if not TSC.is_file() or not (REPO_ROOT / "node_modules" / "ethers" / "package.json").is_file():
        pytest.fail("typescript or ethers is not installed: run `make setup` (npm ci)")
    run = subprocess.run(
        [str(TSC), "-p", str(EXAMPLE_DIR)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=TSC_TIMEOUT_S,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    return EXAMPLE_DIR / "dist" / "bank.js"


def test_the_typescript_bank_signs_submits_polls_and_verifies(tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH: the TypeScript example needs node 20")
    example = _compile()
    subject_key = keccak(b"bank-ts consortium subject key")
    uscc = generate_uscc(random.Random("bank-ts"), division="310115")
    subject = subject_id(uscc, subject_key)
    with open_world(tmp_path) as w:
        enterprise = Keyring("bank-ts").account("shanghai-enterprise")
        w.ledger.consortium.bind_enterprise(w["bureau"], enterprise.address, subject)
        receivable = _receivable(w)
        bank, holder = w["bank-a"], w["tier1"]
        keys = {"bank": w.keys["bank-a"], "other": w.keys["bank-b"]}
    proc, port = start_server(tmp_path, log=tmp_path / "server.log")
    url = f"http://127.0.0.1:{port}"
    try:
        run = subprocess.run(
            [node, str(example)],
            cwd=REPO_ROOT,
            env={
                "PATH": "/usr/bin:/bin",
                "CREDIT_API_URL": url,
                "BANK_API_KEY": keys["bank"],
                "BANK_PRIVATE_KEY": "0x" + bytes(bank.key).hex(),
                "HOLDER_PRIVATE_KEY": "0x" + bytes(holder.key).hex(),
                "RECEIVABLE_ID": receivable,
                "ENTERPRISE_USCC": uscc,
                "CREDIT_CHAIN_SUBJECT_KEY": subject_key.hex(),
            },
            capture_output=True,
            text=True,
            timeout=NODE_TIMEOUT_S,  # on expiry subprocess.run kills node by its pid
            check=False,
        )
        assert run.returncode == 0, run.stderr
        summary: dict[str, Any] = json.loads(run.stdout)

        def get(path: str) -> Any:
            r = requests.get(url + path, headers={"X-API-Key": keys["other"]}, timeout=10)
            assert r.status_code == 200, r.text
            return r.json()

        attested = get(f"/v1/attestations/{summary['attestation']['uid']}")
        part = get(f"/v1/receivables/{receivable}")
        listed = get(f"/v1/attestations?subject=0x{subject.hex()}")
    finally:
        stop_server(proc)
    assert summary["vectors"] == {"records": 33, "subjects": 8}
    assert summary["attestation"]["subject"] == "0x" + subject.hex()
    assert (attested["attester"], attested["validity"]) == (bank.address, "VALID")
    assert [a["data_hash"] for a in listed["data"]] == [summary["attestation"]["data_hash"]]
    assert summary["financing_request"]["events"] == ["FinancingRequested"]
    assert summary["financing"]["events"] == ["ReceivableFinanced"]
    assert (part["status"], part["financier"], part["holder"]) == (
        "financed",
        bank.address,
        w.subject("tier1"),
    )
    assert part["advance_fen"] == AMOUNT_FEN * 85 // 100
    assert "hash-match" in summary["verified"]
    assert summary["tampered_refused"] == ["hash-match"]
