"""``credit-chain bench api --mix``: a consortium's writes through a real server.

No figure is asserted against a target here (speed targets live in the benchmark); what
is asserted is that the mix is what the output says: every operation of the mix posted
by its own party's key, accepted, anchored and none rejected, with the per-operation
figures present and consistent with the totals.
"""

from __future__ import annotations

import pytest

from scripts.bench_api_mix import BATCH_SIZE, DEFAULT_MIX, bench_api_mix

pytestmark = pytest.mark.slow


def test_the_mix_is_posted_by_every_party_and_anchored() -> None:
    # Bounded: 160 writes at most, 60 s of load at most, then the drain (120 s at most).
    doc = bench_api_mix(seconds=60.0, clients=4, writes=160)
    ops = doc["operations"]
    assert set(ops) == set(DEFAULT_MIX)
    assert doc["keys"] == 15  # five banks and ten enterprises, each with its own key
    assert doc["refused"] == {}
    assert doc["errors"] == 0
    assert doc["rejected"] == {}
    assert doc["pending_after_drain"] == 0
    for op, figures in ops.items():
        assert figures["accepted_requests"] == figures["requests"], op
        assert figures["anchored"] == figures["signed"], op
        assert 0 < figures["p50_accept_ms"] <= figures["p99_accept_ms"], op
    assert ops["attestations.batch"]["signed"] == BATCH_SIZE * ops["attestations.batch"]["requests"]
    assert doc["anchored"] == doc["submissions_accepted"] == sum(f["signed"] for f in ops.values())
    assert doc["requests_accepted"] == sum(f["requests"] for f in ops.values())
