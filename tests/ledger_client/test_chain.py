"""Transactions prepared, journaled and sent exactly once, on every backend."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path

import pytest
from eth_account.signers.local import LocalAccount

from ledger_client import Keyring, Ledger, Role
from ledger_client.chain.backends import Receipt
from ledger_client.chain.connection import PreparedTx
from ledger_client.errors import (
    ConsortiumAlreadyMember,
    ConsortiumUnauthorized,
    TransactionError,
)
from tests.conformance import (
    AnvilChain,
    EmbeddedChain,
    GethChain,
    LedgerFixtures,
    RevmChain,
    RevmOnDiskChain,
)


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


class TestChainRevmOnDisk(RevmOnDiskChain, ChainConformance):
    """On the revm engine reading its state from disk on demand."""


class TestChainAnvil(AnvilChain, ChainConformance):
    """On a real anvil node."""


def _admissions(
    ledger: Ledger, regulator: LocalAccount, members: Sequence[str]
) -> list[PreparedTx]:
    """The regulator's consecutive transactions admitting ``members`` in this order."""
    fn = ledger.consortium.codec.fn("admitMember")
    return [
        ledger.chain.prepare(regulator, ledger.consortium.address, fn.encode([m, f"M{i}", 2, 1]))
        for i, m in enumerate(members)
    ]


class SentTogetherConformance(LedgerFixtures):
    """Transactions sent together: one block on an in-process chain, each its own outcome."""

    def test_each_keeps_its_receipt_and_a_revert_sinks_no_neighbour(
        self, ledger: Ledger, keyring: Keyring
    ) -> None:
        regulator = keyring.account("regulator")
        a, b = keyring.account("a").address, keyring.account("b").address
        # The second admits ``a`` again: refused because the first, just before it in
        # the same block, admitted her; the third goes on regardless.
        txs = _admissions(ledger, regulator, [a, a, b])
        outcomes = ledger.chain.send_prepared_together(txs)
        first, refused, third = outcomes
        assert isinstance(first, Receipt)
        assert first.status == 1
        assert isinstance(third, Receipt)
        assert third.status == 1
        assert isinstance(refused, ConsortiumAlreadyMember)
        assert refused.tx_hash == txs[1].tx_hash
        assert [first.tx_hash, third.tx_hash] == [txs[0].tx_hash, txs[2].tx_hash]
        for receipt in (first, third):
            assert receipt.logs
            assert {log.tx_hash for log in receipt.logs} == {receipt.tx_hash}
        assert ledger.consortium.member(a) is not None
        assert ledger.consortium.member(b) is not None
        mined = [ledger.chain.backend.receipt_if_mined(tx.tx_hash) for tx in txs]
        assert all(r is not None for r in mined)
        if ledger.chain.backend.in_process:
            assert len({r.block_number for r in mined if r is not None}) == 1
            block = ledger.chain.backend.block(first.block_number)
            assert list(block.transactions) == [tx.tx_hash for tx in txs]
        # The next transaction takes the next nonce: none was skipped or reused.
        after = _admissions(ledger, regulator, [keyring.account("c").address])
        assert after[0].nonce == txs[-1].nonce + 1
        assert isinstance(ledger.chain.send_prepared(after[0]), Receipt)

    def test_gas_is_what_each_uses_alone(self, ledger: Ledger, keyring: Keyring) -> None:
        # Cold and warm access are per transaction: the second admission reads the
        # member slot the first wrote just before it in the block, and must pay for it
        # as cold as when it is alone (a warm read would be 2,000 gas cheaper).
        regulator = keyring.account("regulator")
        members = [keyring.account(n).address for n in ("a", "a", "b", "c")]
        snap = ledger.chain.snapshot()
        alone: list[int] = []
        for tx in _admissions(ledger, regulator, members):
            with contextlib.suppress(ConsortiumAlreadyMember):
                ledger.chain.send_prepared(tx)
            receipt = ledger.chain.backend.receipt_if_mined(tx.tx_hash)
            assert receipt is not None
            alone.append(receipt.gas_used)
        ledger.chain.revert(snap)
        txs = _admissions(ledger, regulator, members)
        ledger.chain.send_prepared_together(txs)
        together = []
        for tx in txs:
            receipt = ledger.chain.backend.receipt_if_mined(tx.tx_hash)
            assert receipt is not None
            together.append(receipt.gas_used)
        assert together == alone

    def test_one_mined_already_is_found_not_sent_again(
        self, ledger: Ledger, keyring: Keyring
    ) -> None:
        # After a crash the journal holds a round whose first transaction was mined.
        regulator = keyring.account("regulator")
        txs = _admissions(ledger, regulator, [keyring.account(n).address for n in "ab"])
        first = ledger.chain.send_prepared(txs[0])
        outcomes = ledger.chain.send_prepared_together(txs)
        assert outcomes[0] == first
        second = outcomes[1]
        assert isinstance(second, Receipt)
        assert second.status == 1
        again = ledger.chain.send_prepared_together(txs)  # all mined: nothing is sent
        assert again == outcomes

    def test_a_block_holds_what_fits_its_gas_limit_and_the_rest_follow(
        self, ledger: Ledger, keyring: Keyring
    ) -> None:
        # Each may use nearly a whole block's gas: after the first is in, the next does
        # not fit (gas used so far plus its limit), so each goes in a block of its own.
        regulator = keyring.account("regulator")
        fn = ledger.consortium.codec.fn("admitMember")
        near_limit = 29_990_000  # the block limit is 30,029,122 on both engines
        txs = [
            ledger.chain.prepare(
                regulator,
                ledger.consortium.address,
                fn.encode([keyring.account(n).address, n, 2, 1]),
                gas=near_limit,
            )
            for n in ("a", "b", "c")
        ]
        outcomes = ledger.chain.send_prepared_together(txs)
        receipts = [o for o in outcomes if isinstance(o, Receipt)]
        assert [r.status for r in receipts] == [1, 1, 1]
        blocks = [r.block_number for r in receipts]
        assert blocks == sorted(set(blocks))  # in order, one block each
        for name in ("a", "b", "c"):
            assert ledger.consortium.member(keyring.account(name).address) is not None


class TestSentTogetherEmbedded(EmbeddedChain, SentTogetherConformance):
    """On the embedded chain."""


class TestSentTogetherRevm(RevmChain, SentTogetherConformance):
    """On the embedded chain's revm engine."""


class TestSentTogetherRevmOnDisk(RevmOnDiskChain, SentTogetherConformance):
    """On the revm engine reading its state from disk on demand."""


class TestSentTogetherAnvil(AnvilChain, SentTogetherConformance):
    """On a real anvil node."""


@pytest.mark.parametrize("engine", ["pyevm", "revm"])
def test_a_refused_transaction_sends_its_error_back_and_no_block_for_it(engine: str) -> None:
    # A nonce the chain does not expect yet: an in-process chain refuses it outright
    # (a node would hold it back instead), and the client reads its nonce afresh.
    from ledger_client import connect
    from tests.conftest import deploy_for_tests

    chain = connect(engine)
    ring = Keyring("together")
    ledger = deploy_for_tests(chain, ring)
    regulator = ring.account("regulator")
    txs = _admissions(ledger, regulator, [ring.account(n).address for n in "ab"])
    head = chain.backend.block_number()
    [outcome] = chain.send_prepared_together(txs[1:])
    assert isinstance(outcome, TransactionError)
    assert chain.backend.block_number() == head
    retry = _admissions(ledger, regulator, [ring.account("a").address])
    assert retry[0].nonce == txs[0].nonce
    [receipt] = chain.send_prepared_together(retry)
    assert isinstance(receipt, Receipt)
    assert receipt.status == 1
    chain.close()


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


@pytest.mark.parametrize("engine", ["pyevm", "revm"])
def test_a_block_sent_together_is_on_disk_when_its_receipts_are_seen(
    engine: str, tmp_path: Path
) -> None:
    # What the worker settles from these receipts must survive a crash: the one block
    # is written to the chain's store before send_prepared_together returns.
    from ledger_client import connect
    from tests.conftest import deploy_for_tests

    chain = connect(engine, data_dir=tmp_path)
    ring = Keyring("together-disk")
    ledger = deploy_for_tests(chain, ring)
    regulator = ring.account("regulator")
    txs = _admissions(ledger, regulator, [ring.account(n).address for n in "abc"])
    outcomes = chain.send_prepared_together(txs)
    chain.close()
    reopened = connect(engine, data_dir=tmp_path)
    try:
        assert [reopened.backend.receipt_if_mined(tx.tx_hash) for tx in txs] == outcomes
        assert len({r.block_number for r in outcomes if isinstance(r, Receipt)}) == 1
    finally:
        reopened.close()
