"""Clique's deadlock, made on purpose on the five cities' network, and broken.

Clique lets a sealer seal one block of any three (five sealers). Three sealers cut off
from the other two can end on two branches of equal difficulty where every sealer
that may extend a branch is on the other: no block is sealed again, and a node never
syncs a branch no heavier than its own. The partition test met it in CI (Hangzhou and
Hefei on one block 290, Jiaxing on another, 60 s without a block). Here the sealers
are driven one block at a time (every other sealer paused) into exactly that state;
``Network.stalls`` must find it, and ``credit-chain network unstall`` must end it with
the network sealing again on one branch. Every wait is bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ledger_client.chain.network import CITIES, Network, Stall, _rpc
from tests.network_support import cli_json, five_city_network, wait_for

pytestmark = [pytest.mark.geth, pytest.mark.slow]

#: The roles of the construction: X's sealer, the sealer of the block before the fork
#: (on X too), Y's sealer, and the sealer before that, outside the three.
C, D, E, A = "Hangzhou", "Hefei", "Jiaxing", "Shanghai"
#: Seconds a single running sealer may take for its block (period 1 s, wiggle ≤ 1.5 s).
SEAL_S = 20.0


@pytest.fixture(scope="module")
def net(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    with five_city_network(tmp_path_factory.mktemp("stall-network")) as network:
        yield network


def head(net: Network, city: str) -> int:
    return int(_rpc(net.node(city).url, "eth_blockNumber", []), 16)


def block(net: Network, city: str, number: int) -> dict[str, str]:
    found = _rpc(net.node(city).url, "eth_getBlockByNumber", [hex(number), False])
    assert found is not None, (city, number)
    return {k: str(v) for k, v in found.items() if isinstance(v, str)}


def sealer(net: Network, city: str, number: int) -> str:
    signer = str(_rpc(net.node(city).url, "clique_getSigner", [hex(number)])).lower()
    return next(n.city for n in net.state.nodes if n.signer.lower() == signer)


def in_turn(net: Network, number: int) -> str:
    """Clique's in-turn sealer of block ``number``: the sealers sorted by address, in turn."""
    ordered = sorted(net.state.nodes, key=lambda n: n.signer.lower())
    return ordered[number % len(ordered)].city


def quiet(net: Network) -> None:
    """Until no node's head moves for longer than a sealer waits, and every node holds
    the same head block. Blocks sealers had begun before they were paused still land,
    two of them can be at one height, and with every sealer paused nothing resolves
    that fork: ``unstall`` does (the tool under test, here only as a precondition)."""
    deadline = time.monotonic() + 60.0
    last = [head(net, c) for c in CITIES]
    while True:
        time.sleep(net.stall_window_s() / 2)
        now = [head(net, c) for c in CITIES]
        if now == last:
            break
        assert time.monotonic() < deadline, f"the paused network still sealing: {now}"
        last = now
    net.unstall()
    top = head(net, C)
    assert {block(net, c, top)["hash"] for c in CITIES} == {block(net, C, top)["hash"]}


def seal_one(net: Network, city: str) -> int:
    """With every other sealer paused, let ``city`` seal the next block, and wait until
    every node holds it; its number."""
    nxt = head(net, city) + 1
    net.resume_sealing(city)
    try:
        wait_for(
            lambda: head(net, city) >= nxt,
            f"{city} sealing block {nxt}",
            SEAL_S,
            state=lambda: {
                "heads": {c: head(net, c) for c in CITIES},
                "sealers": {n: sealer(net, city, n) for n in range(max(1, nxt - 4), nxt)},
            },
        )
    finally:
        net.pause_sealing(city)
    wait_for(lambda: all(head(net, c) >= nxt for c in CITIES), f"every node holding {nxt}")
    assert sealer(net, city, nxt) == city
    return nxt


def plan(last_two: Sequence[str], start: int, net: Network) -> list[str]:
    """Sealers of the blocks from ``start`` on, ending with A then D at some height h, such
    that each may seal (none sealed either of the two blocks before its own) and block
    h + 1 is in turn for neither C nor E: their forked blocks are then both out of turn,
    of equal difficulty."""

    def extend(done: list[str], blocks_left: int) -> list[str] | None:
        if blocks_left == 0:
            return done
        for city in CITIES:
            if city not in (done[-2:] if len(done) >= 2 else done):
                found = extend([*done, city], blocks_left - 1)
                if found is not None:
                    return found
        return None

    for fillers in range(6):
        h = start + fillers + 1  # A seals h - 1, D seals h
        if in_turn(net, h + 1) in (C, E):
            continue
        prefix = extend(list(last_two), fillers)
        if prefix is None:
            continue
        sequence = [*prefix, A, D]
        if all(s not in sequence[i - 2 : i] for i, s in enumerate(sequence) if i >= 2):
            return sequence[2:]
    raise AssertionError("no schedule of sealers reaches the deadlock")  # pragma: no cover


def test_a_clique_deadlock_among_three_sealers_is_found_and_broken(
    net: Network, tmp_path: Path
) -> None:
    net.wait_peered()
    for city in CITIES:
        net.pause_sealing(city)
    quiet(net)
    g = head(net, C)
    schedule = plan([sealer(net, C, g - 1), sealer(net, C, g)], g + 1, net)
    for city in schedule:
        seal_one(net, city)
    h = head(net, C)
    assert (sealer(net, C, h - 1), sealer(net, C, h)) == (A, D)

    # C seals h + 1 with D beside it; E seals its own h + 1 alone. Both out of turn.
    net.partition([[C, D], [E], [A, "Nanjing"]])
    net.resume_sealing(C)
    net.resume_sealing(E)
    try:
        wait_for(lambda: head(net, C) > h and head(net, E) > h and head(net, D) > h, "the fork")
    finally:
        net.pause_sealing(C)
        net.pause_sealing(E)
    x, y = block(net, C, h + 1), block(net, E, h + 1)
    assert x["hash"] != y["hash"]
    assert x["difficulty"] == y["difficulty"] == "0x1", (x, y)
    assert block(net, D, h + 1)["hash"] == x["hash"]

    # Joined again and every sealer of the three running: no block, ever.
    net.partition([[C, D, E], [A, "Nanjing"]])
    net.wait_peered()
    for city in (C, D, E):
        net.resume_sealing(city)
    assert net.stalls() == [
        Stall((C, D, E), h + 1, dict(sorted({x["hash"]: (C, D), y["hash"]: (E,)}.items())))
    ]
    assert head(net, C) == head(net, E) == h + 1

    # The operator's command: the heavier (here: more held) branch stays, E is rewound.
    repaired = cli_json("network", "unstall", "--dir", str(net.dir), "--json")["repaired"]
    assert repaired == [
        {
            "group": [C, D, E],
            "height": h + 1,
            "kept": x["hash"],
            "kept_by": [C, D],
            "rewound": {E: {"dropped_from": h + 1, "branch": y["hash"]}},
        }
    ]
    wait_for(lambda: min(head(net, c) for c in (C, D, E)) >= h + 3, "the three sealing again")
    for city in (C, D, E):
        assert block(net, city, h + 1)["hash"] == x["hash"], city
    assert net.stalls() == []

    net.heal()
    for city in CITIES:
        net.resume_sealing(city)
    net.wait_peered()
    net.wait_converged()
