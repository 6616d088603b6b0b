"""Shared fixtures: chains of both kinds, a deployed consortium, development keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger_client import Chain, Keyring, Ledger, deploy
from ledger_client.chain.backends import ENGINE_VARIABLE
from ledger_client.chain.local_node import AnvilNotStarted, running_anvil

REPO_ROOT = Path(__file__).resolve().parent.parent

# The suite runs on revm unless told otherwise (CREDIT_CHAIN_ENGINE=pyevm runs all of it
# on py-evm): the same blocks and gas (tests/ledger_client/test_engines.py compares every
# operation `bench gas` measures) in far less time. Set here, before any test connects, and
# in the environment, so the CLI and servers a test starts run on the same engine and can
# open the stores it wrote. Every conformance class still runs on py-evm by name
# (tests/conformance.py).
os.environ.setdefault(ENGINE_VARIABLE, "revm")


@pytest.fixture(scope="session")
def anvil_url() -> Iterator[str]:
    """A real anvil node on a free loopback port, stopped by pid at the end of the session."""
    try:
        with running_anvil() as url:
            yield url
    except AnvilNotStarted as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def geth_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """The five cities' geth Clique network (a block a second), its nodes' URLs; every
    node stopped by pid when the module's tests are done, not left running through the
    rest of the suite. Not period 0: several sealers sealing on demand stall when the
    in-turn one has signed too recently, until another transaction comes."""
    from ledger_client.chain.network import GETH, Network

    if not GETH.exists():
        pytest.fail(f"geth is not built ({GETH} is missing): run `make geth` (needs go and gcc)")
    net = Network(tmp_path_factory.mktemp("geth-network"))
    try:
        net.up(nodes=5, period=1)
        yield net.urls
    finally:
        net.down()


@pytest.fixture
def keyring() -> Keyring:
    """Deterministic development keys."""
    return Keyring("tests")


#: The genesis time of a chain opened by :func:`connect_pinned`.
PINNED_GENESIS = 1_767_225_600


def connect_pinned(engine: str, data_dir: Path | None, cache_bytes: int | None) -> Chain:
    """An embedded chain with a pinned clock (a fixed genesis, 2 s blocks), so that two
    chains given the same transactions mine the same blocks; kept in ``data_dir`` if given."""
    from ledger_client import connect

    if data_dir is None:
        return connect(engine, genesis_timestamp=PINNED_GENESIS, block_time=2)
    return connect(
        engine,
        data_dir=data_dir,
        cache_bytes=cache_bytes,
        genesis_timestamp=PINNED_GENESIS,
        block_time=2,
    )


def deploy_for_tests(chain: Chain, keyring: Keyring) -> Ledger:
    """A fresh deployment with the test keyring's regulator, funded."""
    regulator = keyring.account("regulator")
    chain.fund(regulator.address)
    return deploy(chain, regulator)


def deploy_with_bank(chain: Chain, keyring: Keyring) -> Ledger:
    """:func:`deploy_for_tests`, and the keyring's bank funded and admitted as an attester."""
    from ledger_client import Role

    ledger = deploy_for_tests(chain, keyring)
    bank = keyring.account("bank")
    chain.fund(bank.address)
    regulator = keyring.account("regulator")
    ledger.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", Role.ATTESTER)
    return ledger


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
