"""A crash mid-round, on the embedded chain: the worker journaled a round's transactions
and died after the chain mined some of them but before it settled any. ``recover()`` finds
what was mined, sends the rest together (one block) in nonce order, and settles each once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.service import Service
from pipeline.worker import _ATTEST, TOGETHER_MAX, AnchorWorker
from tests.pipeline.test_worker_reorg import _journal_one, bank_service


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = bank_service(tmp_path)
    yield svc
    svc.close()


def test_recover_finds_what_was_mined_and_mines_the_rest_in_one_block(service: Service) -> None:
    s = service
    subs = []
    for nonce in range(3):
        sub = s.journal.get(_journal_one(s, nonce))
        assert sub is not None
        subs.append(sub)
    txs = []
    assert _ATTEST.journaled is not None
    for sub in subs:
        call = _ATTEST.call(s.ledger, _ATTEST.journaled.load(sub.payload))
        txs.append(s.chain.prepare(s.relayer, call.to, call.data))
    s.journal.begin_anchors(
        "single", [(tx, [sub.id], None) for sub, tx in zip(subs, txs, strict=True)]
    )
    first = s.chain.send_prepared(txs[0])  # mined before the crash, never settled
    before = [s.journal.get(sub.id) for sub in subs]
    assert [x.status if x else None for x in before] == ["pending"] * 3

    assert AnchorWorker(s).recover() == 3
    settled = [s.journal.get(sub.id) for sub in subs]
    assert [x.status if x else None for x in settled] == ["anchored"] * 3
    results = [x.result for x in settled if x is not None and x.result is not None]
    assert len(results) == 3
    assert [r["tx_hash"] for r in results] == [tx.tx_hash for tx in txs]
    assert results[0]["block"] == first.block_number  # found, not sent again
    assert results[1]["block"] == results[2]["block"] == first.block_number + 1
    assert s.chain.backend.block_number() == first.block_number + 1
    # Each record carried once: three distinct attestations.
    assert len({r["uid"] for r in results}) == 3
    assert AnchorWorker(s).recover() == 0  # nothing left journaled


def test_a_backlog_goes_in_blocks_of_at_most_together_max(service: Service) -> None:
    """Transactions sent together hold the chain's lock while they run, and every read of
    the chain waits for it: a backlog is cut into blocks of at most TOGETHER_MAX."""
    s = service
    count = TOGETHER_MAX + 5
    subs = [s.journal.get(_journal_one(s, nonce)) for nonce in range(count)]
    assert all(sub is not None for sub in subs)
    assert _ATTEST.journaled is not None
    txs = []
    for sub in subs:
        assert sub is not None
        call = _ATTEST.call(s.ledger, _ATTEST.journaled.load(sub.payload))
        txs.append(s.chain.prepare(s.relayer, call.to, call.data))
    s.journal.begin_anchors(
        "single",
        [(tx, [sub.id], None) for sub, tx in zip(subs, txs, strict=True) if sub is not None],
    )
    head = s.chain.backend.block_number()

    assert AnchorWorker(s).recover() == count
    settled = [s.journal.get(sub.id) for sub in subs if sub is not None]
    blocks = [x.result["block"] for x in settled if x is not None and x.result is not None]
    assert len(blocks) == count
    assert blocks == [head + 1] * TOGETHER_MAX + [head + 2] * 5
