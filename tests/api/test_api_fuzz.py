"""Schemathesis against a real server's own OpenAPI schema: no 500s, every status the server
answers documented for its operation, every body and content type as documented.

The server is ``credit-chain serve`` on loopback, on a data directory set up first with
members of several roles, bound enterprises, a few records, and an API key each for a bank
(attester), a financier, an enterprise and an auditor (read-only). Every generated request
carries one of those keys in turn, so fuzzing reaches past authentication.

Bounded: ``API_FUZZ_EXAMPLES`` examples per operation in the fuzzing phase (default 30),
plus schemathesis's example and coverage phases (boundary values, every missing or
malformed field); ``API_FUZZ_SEED`` fixes the seed (default 20261124).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.pytest.lazy import get_all_tests
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from harness.api_process import start_server
from ledger_client import Keyring, Role
from tests.api_world import DAY, open_world

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "30"))
SEED = int(os.environ.get("API_FUZZ_SEED", "20261124"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
ROLES = ("bank", "financier", "enterprise", "auditor")


@dataclass
class Server:
    url: str
    keys: dict[str, str]  # API key by role
    log: Path


def _prepare(data_dir: Path) -> dict[str, str]:
    """The deployment: members of every role, enterprises, a few records, and the keys."""
    with open_world(data_dir) as w:
        regulator = w["regulator"]
        financier = Keyring("api-fuzz").account("financier")
        w.service.chain.fund(financier.address)
        w.ledger.consortium.admit_member(
            regulator, financier.address, "Fuzz Factoring", "Jiaxing", Role.FINANCIER
        )
        keys = {
            "bank": w.keys["bank-a"],
            "financier": w.service.keys.issue(financier.address, label="financier"),
            "enterprise": w.keys["tier1"],
            "auditor": w.keys["auditor"],
        }
        # Records for the listings to return: an attestation and a receivable.
        loan = w.ledger.schemas["loan-repayment"]
        w.ledger.attestations.attest(w["bank-a"], loan, w.subjects["tier1"], b"\x01" * 32)
        r = w.ledger.receivables
        due = w.service.chain.now() + 60 * DAY
        invoice, contract = b"\x02" * 32, b"\x03" * 32
        args = (w["tier1"].address, 1_000_000, due, contract, [invoice])
        w.write(
            "/v1/receivables",
            "core",
            {
                "supplier": w["tier1"].address,
                "amount_fen": 1_000_000,
                "due_date": due,
                "contract_hash": "0x" + contract.hex(),
                "invoice_commitments": ["0x" + invoice.hex()],
                **w.signed("core", r, "issue", *args),
            },
        )
    return keys


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("fuzz")
    keys = _prepare(data_dir)
    log = data_dir / "server.log"
    proc, port = start_server(data_dir, log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        yield Server(url, keys, log)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope="module")
def api_schema(server: Server) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "base-url": server.url,
            "request-timeout": 30,
            "generation": {"max-examples": EXAMPLES, "mode": "all", "database": "none"},
            "phases": {"stateful": {"enabled": False}},
        }
    )
    return schemathesis.openapi.from_url(f"{server.url}/openapi.json", config=config, timeout=10)


@pytest.fixture(scope="module")
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def _check(case: Any, server: Server, session: requests.Session, counts: dict[str, int]) -> None:
    """One generated request, with the next role's key: 4xx with the one error body, or the
    documented success; never a 500, an undocumented status, or a body off its schema."""
    role = ROLES[counts["cases"] % len(ROLES)]
    counts["cases"] += 1
    headers = {k: v for k, v in (case.headers or {}).items() if k.lower() != "x-api-key"}
    case.headers = {**headers, "X-API-Key": server.keys[role]}
    response = case.call(session=session)
    counts[str(response.status_code)] = counts.get(str(response.status_code), 0) + 1
    case.validate_response(response, checks=CHECKS)
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("error"), str), (role, body)
        assert isinstance(body.get("detail"), str), (role, body)


#: Server-sent event streams: a response is open until the client goes (or a minute passes),
#: which a request-and-validate fuzzer cannot read to its end. Their inputs (the key alone)
#: and their events are tested in tests/api/test_console_browser.py.
STREAMS = frozenset({"GET /v1/console/heads"})


@pytest.mark.slow
def test_fuzz_every_operation(api_schema: Any, server: Server, session: requests.Session) -> None:
    """Every operation of the schema, through schemathesis's example, coverage and fuzzing
    phases. (``schemathesis.pytest.from_fixture`` would do the same, but 4.32.5 reaches for
    pytest's private ``Node._nodeid``, gone in pytest 9.2: the operations' tests are driven
    here instead, every failure collected before the verdict.)"""
    counts: dict[str, int] = {"cases": 0}
    failures: list[str] = []
    operations = 0
    started = time.monotonic()
    for result in get_all_tests(
        schema=api_schema, test_func=_check, settings=None, given_kwargs={}
    ):
        if not isinstance(result, Ok):
            failures.append(f"schema error: {result.err()}")
            continue
        operation, test = result.ok()
        if operation.label in STREAMS:
            continue
        operations += 1
        try:
            test(server=server, session=session, counts=counts)
        except (Exception, FailureGroup) as exc:  # note it, go on with the next operation
            failures.append(f"{operation.label}: {exc}")
    elapsed = time.monotonic() - started
    print(
        f"fuzzed {operations} operations, {counts['cases']} requests in {elapsed:.0f} s: {counts}"
    )
    assert operations >= 40
    assert not failures, (
        "\n\n".join(failures) + "\n\nserver log:\n" + server.log.read_text()[-5000:]
    )
