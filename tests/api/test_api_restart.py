"""`credit-chain bench restart` end to end, small: a real server comes back on its data
directory with the same chain (the 100k-record figure is a benchmark, not a timed test)."""

from __future__ import annotations

import pytest

from scripts.bench import bench_restart


@pytest.mark.slow
def test_serve_restarts_on_the_same_chain() -> None:
    figures = bench_restart(records=600, singles=20)
    assert figures["anchored"] == 600
    assert figures["same_head_hash"]
    assert figures["same_uid"]
    assert figures["same_proof"]
    assert figures["ready_block"] == figures["blocks"]
    assert figures["restart_s"] > 0
