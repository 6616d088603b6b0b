"""Confirmation depth: the setting, its defaults, and depth counted on a chain."""

from __future__ import annotations

import pytest

from ledger_client import Keyring, LedgerValueError, connect
from ledger_client.chain.finality import CONFIRMATIONS_ENV, Finality, clique_safe_depth


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
