"""Queries per enterprise, per bank and per receivable, from the receivables projection."""

from __future__ import annotations

import pytest

from ledger_client import Chain, Keyring
from ledger_client.index.receivables import ReceivablesLog
from ledger_client.types import ReceivableStatus as S
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain
from tests.receivables_world import DAY, World, build_world


class ReceivablesIndexConformance:
    """The projection agrees with the chain, on every backend."""

    @pytest.fixture
    def w(self, chain: Chain, keyring: Keyring) -> World:
        return build_world(chain, keyring)

    def test_holdings_payables_financings_and_history(self, w: World) -> None:
        log = ReceivablesLog(w.ledger)
        rid = w.issue(1_000_000, days=30)
        p1 = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 300_000).receivable_id
        p2 = w.rc.transfer_part(w.tier2, p1, w.tier3.address, 100_000).receivable_id
        other = w.issue(50_000, days=30, debtor=w.other_core, supplier=w.tier2)
        w.request_financing(w.tier2, p1, w.bank_a.address)
        w.rc.finance(w.bank_a, p1, 190_000, 350)
        w.request_financing(w.tier3, p2, w.bank_b.address)
        w.rc.finance(w.bank_b, p2, 95_000, 300)
        w.rc.release_financing(w.bank_b, p2)
        w.request_financing(w.tier3, p2, w.bank_a.address)
        w.rc.finance(w.bank_a, p2, 96_000, 250)
        pending = w.issue(7_000, days=30, accept=False)
        log.follow()

        tier2 = log.holdings(w.subject(w.tier2))
        assert [(e.id, e.amount_fen, e.status) for e in tier2] == [
            (p1, 200_000, S.FINANCED),
            (other, 50_000, S.ACTIVE),
        ]
        assert [e.id for e in log.holdings(w.subject(w.tier1))] == [rid]  # pending excluded
        everything = log.holdings(w.subject(w.tier1), outstanding_only=False)
        assert [e.id for e in everything] == [rid, pending]
        owed = log.payables(w.subject(w.core))
        assert [(e.id, e.amount_fen) for e in owed] == [
            (rid, 700_000),
            (p1, 200_000),
            (p2, 100_000),
        ]
        assert sum(e.amount_fen for e in owed) == 1_000_000
        assert [e.id for e in log.payables(w.subject(w.other_core))] == [other]

        bank_a = log.financings_of_bank(w.bank_a.address)
        assert [(f.id, f.advance_fen, f.discount_bps, f.live) for f in bank_a] == [
            (p1, 190_000, 350, True),
            (p2, 96_000, 250, True),
        ]
        bank_b = log.financings_of_bank(w.bank_b.address)
        assert [(f.id, f.live) for f in bank_b] == [(p2, False)]
        assert bank_b[0].released_at > 0
        assert log.financings_of_bank(w.bank_b.address, live_only=True) == []
        tier3 = log.financings_of_enterprise(w.subject(w.tier3))
        assert [f.financier for f in tier3] == [w.bank_b.address, w.bank_a.address]

        names = [e.name for e in log.history(p2)]
        assert names == [
            "ReceivableSplit",
            "FinancingRequested",
            "ReceivableFinanced",
            "FinancingReleased",
            "FinancingRequested",
            "ReceivableFinanced",
        ]
        # a split is in the history of the part split and of the new part, not of the issue
        assert [e.name for e in log.history(rid)] == [
            "ReceivableIssued",
            "ReceivableAccepted",
            "ReceivableSplit",
        ]
        assert log.history(p1)[0].args["id"] == "0x" + rid.hex()

        # settlement and default, then every part agrees with the chain
        w.chain.advance_time(31 * DAY)
        w.rc.settle(w.core, [rid, p1])
        w.chain.advance_time(20 * DAY)
        w.rc.mark_overdue(w.bank_a, p2)
        log.follow()
        assert [e.id for e in log.payables(w.subject(w.core))] == [p2]
        settled = {f.id: f.settled_at > 0 for f in log.financings_of_bank(w.bank_a.address)}
        assert settled == {p1: True, p2: False}
        for pid in w.rc.parts(rid):
            on_chain, indexed = w.rc.receivable(pid), log.part(pid)
            assert on_chain is not None
            assert indexed is not None
            assert (indexed.holder, indexed.amount_fen, indexed.status, indexed.financier) == (
                on_chain.holder,
                on_chain.amount_fen,
                on_chain.status,
                on_chain.financier,
            )
            assert indexed.default_attestation == on_chain.default_attestation
            assert indexed.parent == on_chain.parent

    def test_amounts_across_the_whole_uint64_range(self, w: World) -> None:
        # SQLite's integers are signed 64-bit; the contract's amounts are uint64. An amount
        # of 2**63 or more, kept as an integer, stopped the index at its block for good.
        log = ReceivablesLog(w.ledger)
        top = 2**64 - 1
        rid = w.issue(top, days=30)
        part = w.rc.transfer_part(w.tier1, rid, w.tier2.address, 2**63).receivable_id
        small = w.issue(5, days=30, debtor=w.other_core)
        w.request_financing(w.tier2, part, w.bank_a.address, min_advance=2**63 - 1)
        w.rc.finance(w.bank_a, part, 2**63 - 1, 100)
        log.follow()
        assert [(e.id, e.amount_fen) for e in log.payables(w.subject(w.core))] == [
            (rid, top - 2**63),
            (part, 2**63),
        ]
        assert [e.amount_fen for e in log.payables(w.subject(w.other_core))] == [5]
        assert log.part(small) is not None
        (financing,) = log.financings_of_bank(w.bank_a.address)
        assert (financing.amount_fen, financing.advance_fen) == (2**63, 2**63 - 1)


class TestReceivablesIndexEmbedded(EmbeddedChain, ReceivablesIndexConformance):
    """The embedded chain: a fresh eth-tester chain per test."""


class TestReceivablesIndexRevm(RevmChain, ReceivablesIndexConformance):
    """On the embedded chain's revm engine."""


class TestReceivablesIndexAnvil(AnvilChain, ReceivablesIndexConformance):
    """A real anvil node: one per session, reverted to a snapshot after each test."""
