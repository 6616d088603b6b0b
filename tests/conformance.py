"""The backends every conformance class runs on.

A conformance class holds a contract's rules as tests; each backend has a
subclass that mixes in one of these to supply the ``chain`` fixture, so the
embedded chain on each of its engines (py-evm and revm, each named, whatever the
suite's default), a real anvil node and the five-city geth network pass the very
same tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import Chain, Keyring, Ledger, Role, connect
from tests.conftest import deploy_for_tests


class LedgerFixtures:
    """A fresh deployment per test, and the keys acting on it."""

    @pytest.fixture
    def chain(self) -> Iterator[Chain]:
        raise NotImplementedError  # supplied by EmbeddedChain, RevmChain or AnvilChain

    @pytest.fixture
    def ledger(self, chain: Chain, keyring: Keyring) -> Ledger:
        return deploy_for_tests(chain, keyring)

    @pytest.fixture
    def regulator(self, keyring: Keyring) -> LocalAccount:
        return keyring.account("regulator")

    def _member(
        self, ledger: Ledger, keyring: Keyring, label: str, roles: Role, city: str = "Hefei"
    ) -> LocalAccount:
        """Admit (and fund) a member institution called ``label``."""
        acct = keyring.account(label)
        ledger.chain.fund(acct.address)
        ledger.consortium.admit_member(
            keyring.account("regulator"), acct.address, label, city, roles
        )
        return acct

    def reconnect(self, chain: Chain) -> Chain:
        """A second, independent client of the same chain."""
        raise NotImplementedError


class EmbeddedChain:
    """The embedded chain on py-evm (eth-tester): a fresh chain per test.

    Named, not the default: the suite runs on revm (tests/conftest.py), and every
    conformance class keeps passing on py-evm as well. ``engine`` is also what a class
    that opens its chain in the API or a subprocess names in ``CREDIT_CHAIN_ENGINE``.
    """

    engine: ClassVar[str] = "pyevm"

    @pytest.fixture
    def chain(self) -> Iterator[Chain]:
        chain = connect(self.engine)
        yield chain
        chain.close()

    def reconnect(self, chain: Chain) -> Chain:
        # The embedded chain lives in this process: a new client on the same backend.
        return Chain(chain.backend)


class RevmChain(EmbeddedChain):
    """The embedded chain on the revm engine: a fresh chain per test."""

    engine: ClassVar[str] = "revm"


class RevmOnDiskChain(EmbeddedChain):
    """The revm engine kept on disk, reading its state on demand through its state
    server, with a cache bound so small that revm is recreated after nearly every
    block, and only the last few blocks held in memory: each test then also checks
    that nothing lives only in the EVM's memory, and reads old blocks from the file."""

    engine: ClassVar[str] = "revm"
    cache_bytes: ClassVar[int] = 4096

    @pytest.fixture
    def chain(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Chain]:
        from ledger_client.chain.backends import revm

        monkeypatch.setattr(revm, "HELD_BLOCKS", 3)
        chain = connect(self.engine, data_dir=tmp_path / "chain", cache_bytes=self.cache_bytes)
        yield chain
        chain.close()


class AnvilChain:
    """A real anvil node, one per session, reverted to a snapshot after each test."""

    pytestmark = pytest.mark.anvil

    @pytest.fixture
    def chain(self, anvil_url: str) -> Iterator[Chain]:
        chain = connect(anvil_url)
        snap = chain.snapshot()
        yield chain
        chain.revert(snap)
        chain.close()

    def reconnect(self, chain: Chain) -> Chain:
        return connect(chain.backend.describe())


class GethChain:
    """The five cities' geth Clique network: a fresh deployment per test, no snapshots.

    geth has no ``evm_snapshot``, no clock to move and no mining on request, so only
    conformance classes that need none of those run here; each test's deployment is
    new, so tests do not see each other's contracts. A deployment is some thirty
    transactions in series, a block (one second) each, so a test costs half a minute:
    the subset is test_chain's, the journal rules a reorg puts to the test.
    """

    pytestmark: ClassVar[list[pytest.MarkDecorator]] = [pytest.mark.geth, pytest.mark.slow]

    @pytest.fixture
    def chain(self, request: pytest.FixtureRequest, geth_network: list[str]) -> Iterator[Chain]:
        reason = GETH_LEFT_OUT.get(request.node.originalname)
        if reason is not None:
            pytest.skip(f"not on a Clique network: {reason}")
        self.other_node = geth_network[1]
        chain = connect(geth_network[0])
        yield chain
        chain.close()

    def reconnect(self, chain: Chain) -> Chain:
        # Another city's node: what one client sent, the others' nodes carry.
        return connect(self.other_node)


#: Conformance tests that cannot hold on a Clique network, and why.
GETH_LEFT_OUT = {
    "test_a_prepared_transaction_sent_twice_is_mined_once": (
        "it checks that no block follows the second send, and Clique seals a block every "
        "period whether or not transactions come (the once-only part: test_chain's others)"
    ),
}
