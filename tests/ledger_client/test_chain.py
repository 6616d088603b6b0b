"""Transactions prepared, journaled and sent exactly once, on every backend."""

from __future__ import annotations

import pytest

from ledger_client import Keyring, Ledger, Role
from ledger_client.errors import ConsortiumUnauthorized
from tests.conformance import AnvilChain, EmbeddedChain, GethChain, LedgerFixtures, RevmChain


class ChainConformance(LedgerFixtures):
    """Prepared transactions as every backend must carry them."""

    def test_a_prepared_transaction_sent_twice_is_mined_once(
        self, ledger: Ledger, keyring: Keyring
    ) -> None:
        regulator = keyring.account("regulator")
        bank = keyring.account("bank")
        data = ledger.consortium.codec.fn("admitMember").encode([bank.address, "B", 2, 1])
        tx = ledger.chain.prepare(regulator, ledger.consortium.address, data)
        first = ledger.chain.send_prepared(tx)
        head = ledger.chain.backend.block_number()
        again = ledger.chain.send_prepared(tx)  # e.g. after a crash, from the journal
        assert again == first
        assert ledger.chain.backend.block_number() == head
        assert first.tx_hash == tx.tx_hash

    def test_a_prepared_transaction_survives_a_new_client(
        self, ledger: Ledger, keyring: Keyring
    ) -> None:
        regulator = keyring.account("regulator")
        data = ledger.consortium.codec.fn("admitMember").encode(
            [keyring.account("bank").address, "B", 2, 1]
        )
        tx = ledger.chain.prepare(regulator, ledger.consortium.address, data)
        # The process that prepared it died before sending; another client sends it.
        other = self.reconnect(ledger.chain)
        receipt = other.send_prepared(tx)
        assert receipt.status == 1
        assert ledger.consortium.has_role(keyring.account("bank").address, Role.ATTESTER)

    def test_a_prepared_revert_is_named(self, ledger: Ledger, keyring: Keyring) -> None:
        stranger = keyring.account("stranger")
        ledger.chain.fund(stranger.address)
        data = ledger.consortium.codec.fn("suspendMember").encode([stranger.address, bytes(32)])
        tx = ledger.chain.prepare(stranger, ledger.consortium.address, data)
        with pytest.raises(ConsortiumUnauthorized) as info:
            ledger.chain.send_prepared(tx)
        assert info.value.tx_hash == tx.tx_hash


class TestChainEmbedded(EmbeddedChain, ChainConformance):
    """On the embedded chain."""


class TestChainRevm(RevmChain, ChainConformance):
    """On the embedded chain's revm engine."""


class TestChainAnvil(AnvilChain, ChainConformance):
    """On a real anvil node."""


def test_a_transaction_resent_after_a_snapshot_revert_runs_again() -> None:
    # py-evm keeps the abandoned block's index entries: the same signed transaction,
    # sent again after a revert, must execute again rather than look already mined.
    from ledger_client import connect
    from tests.conftest import deploy_for_tests

    chain = connect("embedded")
    ring = Keyring("revert")
    ledger = deploy_for_tests(chain, ring)
    regulator, bank = ring.account("regulator"), ring.account("bank")
    snap = chain.snapshot()
    data = ledger.consortium.codec.fn("admitMember").encode([bank.address, "B", 2, 1])
    first = chain.send_prepared(chain.prepare(regulator, ledger.consortium.address, data))
    chain.revert(snap)
    assert ledger.consortium.member(bank.address) is None
    again = chain.prepare(regulator, ledger.consortium.address, data)
    assert again.tx_hash == first.tx_hash
    assert chain.backend.receipt_if_mined(again.tx_hash) is None
    chain.send_prepared(again)
    assert ledger.consortium.member(bank.address) is not None


class TestChainGeth(GethChain, ChainConformance):
    """On the five cities' geth Clique network."""
