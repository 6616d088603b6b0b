"""Confirmation depth: the setting, its defaults, and depth counted on a chain."""

from __future__ import annotations

import pytest

from ledger_client import Keyring, LedgerValueError, connect
from ledger_client.chain.finality import CONFIRMATIONS_ENV, Finality, Settled, clique_safe_depth
from ledger_client.errors import AttestationsUnknown
from tests.conftest import deploy_for_tests


def test_clique_safe_depth_is_a_majority_of_sealers() -> None:
    assert [clique_safe_depth(n) for n in (1, 2, 3, 4, 5, 7)] == [1, 2, 2, 3, 3, 4]
    with pytest.raises(LedgerValueError, match="at least one sealer"):
        clique_safe_depth(0)


def test_one_node_is_final_at_once_and_depth_counts_blocks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(CONFIRMATIONS_ENV, raising=False)
    chain = connect("embedded")
    sender = Keyring("finality").account("member")
    chain.fund(sender.address)
    receipt = chain.transact(sender, sender.address, b"")
    finality = Finality(chain)
    assert finality.depth == 1
    assert finality.confirmations(receipt) == 1
    assert finality.wait_anchored(receipt) == receipt
    chain.transact(sender, sender.address, b"")
    assert finality.confirmations(receipt) == 2
    deep = Finality(chain, depth=3)
    assert not deep.is_anchored(receipt)
    chain.close()


def test_the_setting_overrides_and_bad_values_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = connect("embedded")
    monkeypatch.setenv(CONFIRMATIONS_ENV, "6")
    assert Finality(chain).depth == 6
    monkeypatch.setenv(CONFIRMATIONS_ENV, "six")
    with pytest.raises(LedgerValueError, match="not a whole number"):
        Finality(chain)
    monkeypatch.setenv(CONFIRMATIONS_ENV, "0")
    with pytest.raises(LedgerValueError, match="1 or more"):
        Finality(chain)
    with pytest.raises(LedgerValueError, match="1 or more"):
        Finality(chain, depth=0)
    chain.close()


def test_what_a_reorg_dropped_is_sent_again_once_and_settled(keyring: Keyring) -> None:
    """The reorg, end to end on the embedded chain: three mined transactions (two transfers
    and a reverted revocation) lose their blocks and leave no pool behind them, as a node
    that never saw the winning branch's parent would. Settling sends each again from its
    own signed bytes; a second settlement sends nothing: never lost, never doubled."""
    chain = connect("embedded")
    ledger = deploy_for_tests(chain, keyring)
    regulator, sender = keyring.account("regulator"), keyring.account("member")
    chain.fund(sender.address)
    nonce = chain.backend.nonce(sender.address)
    chain.keep_sent()
    fork = chain.backend.snapshot()
    first = chain.transact(sender, sender.address, b"", value=1)
    second = chain.transact(sender, sender.address, b"", value=2)
    with pytest.raises(AttestationsUnknown):
        ledger.attestations.revoke(regulator, b"\x01" * 32)
    sent = chain.take_sent()
    assert [t.tx_hash for t in sent[:2]] == [first.tx_hash, second.tx_hash]
    assert len(sent) == 3
    assert chain.take_sent() == []
    chain.backend.revert(fork)  # the reorg: the three blocks are gone, and their transactions
    assert [chain.backend.receipt_if_mined(t.tx_hash) for t in sent] == [None] * 3
    assert chain.backend.nonce(sender.address) == nonce
    finality = Finality(chain)
    assert finality.settle(sent) == Settled(settled=3, resent=3)
    receipts = [chain.backend.receipt_if_mined(t.tx_hash) for t in sent]
    assert [r.status if r else None for r in receipts] == [1, 1, 0]
    assert chain.backend.nonce(sender.address) == nonce + 2
    assert finality.settle(sent) == Settled(settled=3, resent=0)
    assert chain.backend.nonce(sender.address) == nonce + 2
    chain.close()
