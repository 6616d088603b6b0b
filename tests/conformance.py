"""The backends every conformance class runs on.

A conformance class holds a contract's rules as tests; each backend has a
subclass that mixes in one of these to supply the ``chain`` fixture, so the
embedded chain (on the default engine, and on revm) and a real anvil node pass
the very same tests.
"""

from __future__ import annotations

from collections.abc import Iterator

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
    """The embedded chain: a fresh eth-tester chain per test."""

    @pytest.fixture
    def chain(self) -> Iterator[Chain]:
        chain = connect("embedded")
        yield chain
        chain.close()

    def reconnect(self, chain: Chain) -> Chain:
        # The embedded chain lives in this process: a new client on the same backend.
        return Chain(chain.backend)


class RevmChain:
    """The embedded chain on the revm engine: a fresh chain per test, whatever the default."""

    @pytest.fixture
    def chain(self) -> Iterator[Chain]:
        chain = connect("revm")
        yield chain
        chain.close()

    def reconnect(self, chain: Chain) -> Chain:
        return Chain(chain.backend)


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
