"""``credit-chain bench network``: the client on the five cities' geth Clique network,
beside one anvil node and the embedded chain, in the same run.

Per chain: single-transaction ``attest`` per second (one bank, in series, each
waiting for its receipt) and records per second anchored in one batch (hashing,
tree and the anchoring transaction). On the network only: seconds from sending a
write to its block being N deep (anchored), and a partition of two cities from
three healed: the minority's blocks reorged away and the seconds to converge.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from eth_utils.crypto import keccak

from ledger_client import Chain, Keyring, connect
from ledger_client.attestations.batches import anchor_records
from ledger_client.chain.finality import Finality
from ledger_client.chain.local_node import ANVIL, running_anvil
from ledger_client.chain.network import GETH, Network

from .bench import BENCH_SEED, _records
from .bench_reference import bench_ledger

#: The partition benchmarked: two cities cut off from three.
MINORITY = ("Shanghai", "Nanjing")
MAJORITY = ("Hangzhou", "Hefei", "Jiaxing")
#: Bound of every wait, seconds.
WAIT_S = 120.0


def _client_figures(chain: Chain, attests: int, batch: int) -> dict[str, Any]:
    """attest/s in series and records/s of one batch, on a fresh deployment on ``chain``."""
    ledger, bank = bench_ledger(chain)
    loan = ledger.schemas["loan-repayment"]
    subject = b"\x5a" * 32
    t0 = time.perf_counter()
    for n in range(attests):
        ledger.attestations.attest(bank, loan, subject, keccak(n.to_bytes(8, "big")))
    attest_s = time.perf_counter() - t0
    records = _records(ledger, "loan-repayment", batch)
    t0 = time.perf_counter()
    anchor_records(ledger.attestations, bank, loan, records)
    batch_s = time.perf_counter() - t0
    return {
        "attest_tx": attests,
        "attest_tx_per_s": round(attests / attest_s, 2),
        "batch_records": batch,
        "batched_records_per_s": round(batch / batch_s, 1),
    }


def _time_to_anchored(chain: Chain, writes: int) -> dict[str, Any]:
    """Seconds from sending a transfer to its block being N deep, ``writes`` times."""
    finality = Finality(chain)
    sender = Keyring(BENCH_SEED).account("anchor-timer")
    chain.fund(sender.address, 10**18)
    seconds = []
    for _ in range(writes):
        t0 = time.perf_counter()
        tx = chain.prepare(sender, sender.address, b"")
        finality.send_anchored(tx, timeout_s=WAIT_S)
        seconds.append(time.perf_counter() - t0)
    return {
        "depth": finality.depth,
        "writes": writes,
        "median_s": round(statistics.median(seconds), 2),
        "max_s": round(max(seconds), 2),
    }


def _head(url: str) -> tuple[int, str]:
    chain = connect(url)
    try:
        block = chain.backend.block()
        return block.number, block.hash
    finally:
        chain.close()


def _hash_at(url: str, number: int) -> str | None:
    chain = connect(url)
    try:
        return chain.backend.block(number).hash if chain.backend.block_number() >= number else None
    finally:
        chain.close()


def _partition(net: Network, seconds: float) -> dict[str, Any]:
    """Cut two cities off for ``seconds``, heal, and time the convergence."""
    urls = {n.city: n.url for n in net.state.nodes}
    net.partition([list(MINORITY), list(MAJORITY)])
    at_cut = max(_head(urls[c])[0] for c in MINORITY)
    time.sleep(seconds)
    # The minority's own branch, block by block, as its nodes hold it before the heal.
    branch: set[tuple[int, str]] = set()
    for city in MINORITY:
        top = _head(urls[city])[0]
        for n in range(at_cut + 1, top + 1):
            found = _hash_at(urls[city], n)
            if found is not None:
                branch.add((n, found))
    majority_head = _head(urls[MAJORITY[0]])[0]
    healed_at = time.perf_counter()
    net.heal()
    deadline = time.monotonic() + WAIT_S
    while True:
        reference = _hash_at(urls[MAJORITY[0]], majority_head)
        if all(_hash_at(urls[c], majority_head) == reference for c in MINORITY):
            break
        if time.monotonic() > deadline:
            raise TimeoutError(f"the minority did not converge within {WAIT_S:.0f} s")
        time.sleep(0.05)
    converge_s = time.perf_counter() - healed_at
    reorged = sum(1 for n, h in branch if _hash_at(urls[MAJORITY[0]], n) != h)
    return {
        "cut_off": list(MINORITY),
        "partition_s": seconds,
        "minority_blocks_sealed": len(branch),
        "majority_blocks_sealed": majority_head - at_cut,
        "blocks_reorged": reorged,
        "converge_s": round(converge_s, 2),
    }


def bench_network(
    attests: int = 30, batch: int = 2_000, anchored: int = 10, partition_s: float = 10.0
) -> dict[str, Any]:
    """The figures above; the network is started in a temporary directory and stopped."""
    if not GETH.exists():
        raise FileNotFoundError(f"{GETH} is missing: `make geth` builds it")
    doc: dict[str, Any] = {"chains": {}}
    with tempfile.TemporaryDirectory(prefix="credit-chain-bench-net-") as tmp:
        net = Network(Path(tmp))
        try:
            t0 = time.perf_counter()
            net.up(nodes=5, period=1)
            doc["network"] = {
                "engine": "geth v1.13.15 Clique, 5 sealers on 127.0.0.1, period 1 s",
                "up_s": round(time.perf_counter() - t0, 2),
            }
            chain = connect(",".join(net.urls))
            try:
                doc["chains"]["geth-5-clique"] = _client_figures(chain, attests, batch)
                doc["anchored"] = _time_to_anchored(chain, anchored)
            finally:
                chain.close()
            doc["partition"] = _partition(net, partition_s)
        finally:
            net.down()
    if ANVIL.exists():
        with running_anvil() as url:
            node = connect(url)
            try:
                doc["chains"]["anvil"] = _client_figures(node, attests, batch)
            finally:
                node.close()
    else:
        doc["chains"]["anvil"] = f"not measured: {ANVIL} is missing"
    embedded = connect("embedded")
    try:
        doc["chains"]["embedded"] = _client_figures(embedded, attests, batch)
    finally:
        embedded.close()
    return doc
