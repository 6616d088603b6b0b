"""Shared fixtures: chains of both kinds, a deployed consortium, development keys."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_client import Chain, Keyring, Ledger, connect, deploy
from ledger_client.exceptions import LedgerConnectionError

REPO_ROOT = Path(__file__).resolve().parent.parent
ANVIL = REPO_ROOT / "node_modules" / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """A real anvil node on a free loopback port, stopped by pid at the end of the session."""
    if not ANVIL.exists():
        pytest.fail(f"anvil is missing at {ANVIL}: run `make setup` (npm ci)")
    port = _free_port()
    proc = subprocess.Popen(
        [str(ANVIL), "--host", "127.0.0.1", "--port", str(port), "--silent"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            connect(url).close()
            break
        except LedgerConnectionError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"anvil did not start on port {port}: {err}")
            time.sleep(0.05)
    try:
        yield url
    finally:
        os.kill(proc.pid, 15)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture
def keyring() -> Keyring:
    """Deterministic development keys."""
    return Keyring("tests")


def deploy_for_tests(chain: Chain, keyring: Keyring) -> Ledger:
    """A fresh deployment with the test keyring's regulator, funded."""
    regulator = keyring.account("regulator")
    chain.fund(regulator.address)
    return deploy(chain, regulator)


# -- model-based tests: how many steps they ran -------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Iterator[None]:
    """Fail a run of every model machine whose steps add up to less than the floor."""
    yield
    from tests.model_support import FINISHED, MACHINES, STEP_COUNTS, min_total_steps

    total, floor = sum(STEP_COUNTS.values()), min_total_steps()
    if set(MACHINES) <= FINISHED and total < floor:
        session.testsfailed += 1
        session.config.stash[_STEP_FLOOR_MISSED] = (
            f"model-based steps: {total} in all, below the floor of {floor} "
            "(MODEL_MIN_TOTAL_STEPS; set it to 0 when shrinking MODEL_EXAMPLES on purpose)"
        )


_STEP_FLOOR_MISSED = pytest.StashKey[str]()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Per-machine and total counts of the model-based steps this run executed."""
    from tests.model_support import MACHINES, STEP_COUNTS

    if not STEP_COUNTS:
        return
    counts = ", ".join(f"{name} {STEP_COUNTS[name]}" for name in MACHINES)
    terminalreporter.write_sep("-", "model-based steps")
    terminalreporter.write_line(f"model-based steps: {counts}; total {sum(STEP_COUNTS.values())}")
    missed = terminalreporter.config.stash.get(_STEP_FLOOR_MISSED, None)
    if missed:
        terminalreporter.write_line(f"FAILED {missed}", red=True, bold=True)
