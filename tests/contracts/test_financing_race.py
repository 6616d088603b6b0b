"""A financing request withdrawn while a bank finances it: both in one block, in both orders.

The holder's ``withdrawFinancingRequest`` and the bank's ``finance`` of the same
part reach the node unmined and are mined together. Exactly one takes effect;
the other is refused by the chain by name (``ReceivablesNoFinancingRequest``:
the request it needed is gone); and the receivables index and the auditor
agree with the chain afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger_client import Chain, ContractRevert, Keyring
from ledger_client.audit.engine import audit_ledger
from ledger_client.chain.connection import PreparedTx
from ledger_client.errors import ReceivablesAlreadyFinanced, ReceivablesNoFinancingRequest
from ledger_client.index.receivables import ReceivablesLog
from ledger_client.types import ReceivableStatus as S
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain
from tests.receivables_world import World, build_world

ADVANCE_FEN = 950_000_00
DISCOUNT_BPS = 300


def _in_one_block(chain: Chain, txs: list[PreparedTx]) -> dict[str, ContractRevert | None]:
    """Send ``txs`` unmined in this order, mine them in one block; each one's refusal or None."""
    backend = chain.backend
    backend.set_automine(False)
    try:
        for tx in txs:
            backend.send_raw_transaction(tx.raw)
        backend.mine()
    finally:
        backend.set_automine(True)
    blocks = {backend.wait_for_receipt(tx.tx_hash).block_number for tx in txs}
    assert len(blocks) == 1, "the two transactions were not mined in one block"
    outcome: dict[str, ContractRevert | None] = {}
    for tx in txs:
        try:
            chain.send_prepared(tx)  # mined already: its receipt, or its named refusal
            outcome[tx.tx_hash] = None
        except ContractRevert as exc:
            outcome[tx.tx_hash] = exc
    return outcome


class FinancingRaceConformance:
    """The race, on every backend."""

    @pytest.fixture
    def w(self, chain: Chain, keyring: Keyring) -> World:
        return build_world(chain, keyring)

    @pytest.mark.parametrize("first", ["withdrawal", "financing"])
    def test_withdrawal_and_financing_in_one_block(
        self, w: World, first: str, tmp_path: Path
    ) -> None:
        rid = w.issue()
        w.rc.request_financing(
            w.tier1,
            rid,
            w.bank_a.address,
            min_advance_fen=ADVANCE_FEN,
            max_discount_bps=DISCOUNT_BPS,
            expires_at=w.chain.now() + 7 * 86_400,
        )
        codec = w.rc.codec
        withdrawal = w.chain.prepare(
            w.tier1,
            w.rc.address,
            codec.fn("withdrawFinancingRequest").encode([rid, w.bank_a.address]),
        )
        financing = w.chain.prepare(
            w.bank_a,
            w.rc.address,
            codec.fn("finance").encode([rid, ADVANCE_FEN, DISCOUNT_BPS]),
        )
        ordered = [withdrawal, financing] if first == "withdrawal" else [financing, withdrawal]

        outcome = _in_one_block(w.chain, ordered)

        winner, loser = ordered  # the node mines them in the order they arrived
        won = first == "financing"
        assert outcome[winner.tx_hash] is None
        refusal = outcome[loser.tx_hash]
        assert isinstance(refusal, ReceivablesNoFinancingRequest), refusal
        assert (refusal.id, refusal.financier) == (rid, w.bank_a.address)

        part = w.rc.receivable(rid)
        assert part is not None
        log = ReceivablesLog(w.ledger)
        log.follow()
        history = [e.name for e in log.history(rid)]
        financings = log.financings_of_bank(w.bank_a.address)
        if won:
            assert (part.status, part.financier) == (S.FINANCED, w.bank_a.address)
            assert history[-2:] == ["FinancingRequested", "ReceivableFinanced"]
            assert [(f.id, f.advance_fen, f.live) for f in financings] == [(rid, ADVANCE_FEN, True)]
        else:
            assert (part.status, part.financier) == (S.ACTIVE, None)
            assert history[-2:] == ["FinancingRequested", "FinancingRequestWithdrawn"]
            assert financings == []
        assert log.holdings(w.subject(w.tier1))[0].status == part.status
        # Nor can the bank finance it afterwards: it is financed, or the request is gone.
        again = (
            ReceivablesAlreadyFinanced if first == "financing" else ReceivablesNoFinancingRequest
        )
        with pytest.raises(again):
            w.rc.finance(w.bank_a, rid, ADVANCE_FEN, DISCOUNT_BPS)

        audit = audit_ledger(w.ledger, tmp_path / "audit", full=True)
        assert audit.ok, [str(b) for b in audit.breaches]


class TestFinancingRaceEmbedded(EmbeddedChain, FinancingRaceConformance):
    """The embedded chain."""


class TestFinancingRaceRevm(RevmChain, FinancingRaceConformance):
    """On the embedded chain's revm engine."""


class TestFinancingRaceAnvil(AnvilChain, FinancingRaceConformance):
    """A real anvil node."""
