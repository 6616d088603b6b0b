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


def test_an_open_loop_offers_the_stated_rate_and_says_so() -> None:
    # Bounded: 20 requests a second for 4 s (80 of the 160 writes), then the drain.
    doc = bench_api_mix(seconds=4.0, writes=160, rate=20.0)
    assert doc["mode"] == "open loop"
    assert (doc["offered_requests_per_s"], doc["offered_requests"]) == (20.0, 80)
    assert doc["errors"] == 0
    assert doc["refused"] == {}
    assert doc["requests_accepted"] == 80
    ops = doc["operations"]
    batches = ops["attestations.batch"]["accepted_requests"]
    # A batch request makes BATCH_SIZE submissions; every other request one.
    assert doc["submissions_accepted"] == 80 - batches + BATCH_SIZE * batches
    assert doc["offered_submissions_per_s"] == round(20 * doc["submissions_accepted"] / 80)
    assert doc["anchored"] == doc["submissions_accepted"]
    assert doc["pending_after_drain"] == 0
    assert 0 < doc["p50_accept_ms_after_warmup"] <= doc["p99_accept_ms_after_warmup"]
    assert doc["warmup_s"] == 2.0
    assert "clients" not in doc  # a closed loop's figure, not this run's
