"""Benchmarks behind ``credit-chain bench``: gas per operation and throughput.

Speed targets live here, never in timed tests. Every figure is measured on a
fresh embedded chain in this process when the command runs.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

from ledger_client import Keyring, Ledger, Role, connect, deploy
from ledger_client.batches import anchor_records, verify_batch_record
from ledger_client.contracts.attestations import schema_id
from ledger_client.records import sample_record
from ledger_client.types import AttestationFields, AttestRequest

BENCH_SEED = "credit-chain-bench"


def _fresh_ledger() -> tuple[Ledger, Keyring]:
    chain = connect("embedded")
    ring = Keyring(BENCH_SEED)
    regulator = ring.account("regulator")
    chain.fund(regulator.address)
    ledger = deploy(chain, regulator)
    bank = ring.account("bank")
    chain.fund(bank.address)
    ledger.consortium.admit_member(regulator, bank.address, "Bench Bank", "Shanghai", Role.ATTESTER)
    return ledger, ring


def _records(ledger: Ledger, name: str, n: int, seed: int = 1) -> list[dict[str, object]]:
    schema = ledger.schemas[name]
    rng = random.Random(seed)
    return [
        sample_record(schema, rng, overrides={"subject": "0x" + rng.randbytes(32).hex()})
        for _ in range(n)
    ]


def bench_gas(batch_size: int = 1_000) -> dict[str, Any]:
    """Gas of each attestation operation, measured once each on a fresh chain."""
    ledger, ring = _fresh_ledger()
    a = ledger.attestations
    bank = ring.account("bank")
    loan = ledger.schemas["loan-repayment"]
    subject = b"\x5a" * 32
    first = a.attest(bank, loan, subject, b"\x01" * 32)
    # The second attest is the steady state: every later one costs the same.
    second = a.attest(bank, loan, subject, b"\x02" * 32)
    revoke = a.revoke(bank, first.uid)
    replace = a.replace(bank, second.uid, AttestationFields(subject, b"\x02" * 32), b"\x03" * 32)
    relayer = ring.account("relayer")
    ledger.chain.fund(relayer.address)
    req = AttestRequest(schema_id(loan), subject, b"\x04" * 32)
    deadline = ledger.chain.now() + 3_600
    sig = a.sign_attest_request(bank, req, nonce=1, deadline=deadline)
    by_sig = a.attest_by_sig(
        relayer, req, attester=bank.address, nonce=1, deadline=deadline, signature=sig
    )
    batch = anchor_records(a, bank, loan, _records(ledger, "loan-repayment", batch_size))
    revoke_leaf = a.revoke_batch_record(bank, batch.batch_id, batch.leaf(7), batch.proof(7))
    from node_sim.bench_receivables import receivable_gas

    return {
        **receivable_gas(),
        "attest_gas": second.gas_used,
        "attest_first_gas": first.gas_used,
        "attest_by_sig_gas": by_sig.gas_used,
        "revoke_gas": revoke.gas_used,
        "replace_gas": replace.gas_used,
        "batch_size": batch_size,
        "batch_anchor_gas": batch.tx.gas_used,
        "batch_gas_per_record": round(batch.tx.gas_used / batch_size, 1),
        "batch_record_revoke_gas": revoke_leaf.gas_used,
        "reference_eas_attest_gas": 201_043,
        "reference_eas_multi_timestamp_gas_per_item": 24_775,
    }


def _best_of(repeats: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeats))


def bench_throughput(records: int = 100_000, proofs: int = 20_000) -> dict[str, Any]:
    """Records anchored per second end to end, and proof verifications per second.

    End to end means: validate each record against its schema, hash it, build the
    tree, anchor the root in one transaction, and store the tree in the event
    index (SQLite on disk) so any record's proof can be served later. Verifying
    one record means fetching its proof from the index and checking it.
    """
    import tempfile
    from pathlib import Path

    from ledger_client.index import EventIndex

    ledger, ring = _fresh_ledger()
    bank = ring.account("bank")
    schema = ledger.schemas["loan-repayment"]
    data = _records(ledger, "loan-repayment", records)
    small_size = min(1_000, records)
    with tempfile.TemporaryDirectory(prefix="credit-chain-bench-") as tmp:
        index = EventIndex(Path(tmp) / "index.sqlite", ledger)
        t0 = time.perf_counter()
        batch = anchor_records(ledger.attestations, bank, schema, data)
        pairs = list(zip(batch.prepared.subjects, batch.prepared.data_hashes, strict=True))
        index.store_batch_tree(batch.batch_id, batch.prepared.tree, pairs, check=False)
        anchored_s = time.perf_counter() - t0
        small = anchor_records(ledger.attestations, bank, schema, data[:small_size])
        small_pairs = list(zip(small.prepared.subjects, small.prepared.data_hashes, strict=True))
        index.store_batch_tree(small.batch_id, small.prepared.tree, small_pairs, check=False)

        subjects, hashes, root = batch.prepared.subjects, batch.prepared.data_hashes, batch.root
        rng = random.Random(3)
        picks = [rng.randrange(records) for _ in range(proofs)]
        all_proofs = {i: index.batch_proof(batch.batch_id, i) for i in set(picks)}

        def verify_all() -> float:
            t = time.perf_counter()
            for i in picks:
                if not verify_batch_record(subjects[i], hashes[i], all_proofs[i], root):
                    raise AssertionError(f"proof {i} failed")
            return time.perf_counter() - t

        verify_s = _best_of(3, verify_all)

        def per_record(anchored: Any, size: int) -> float:
            p = anchored.prepared
            idx = [rng.randrange(size) for _ in range(2_000)]
            t = time.perf_counter()
            for i in idx:
                proof = index.batch_proof(anchored.batch_id, i)
                if not verify_batch_record(p.subjects[i], p.data_hashes[i], proof, anchored.root):
                    raise AssertionError(f"proof {i} failed")
            return (time.perf_counter() - t) / len(idx)

        at_small = statistics.median(per_record(small, small_size) for _ in range(3))
        at_big = statistics.median(per_record(batch, records) for _ in range(3))
        index.close()
    return {
        "records": records,
        "records_per_s": round(records / anchored_s),
        "anchor_seconds": round(anchored_s, 3),
        "proofs_per_s": round(proofs / verify_s),
        f"verify_one_record_us_at_{small_size}": round(at_small * 1e6, 1),
        f"verify_one_record_us_at_{records}": round(at_big * 1e6, 1),
        "verify_cost_ratio": round(at_big / at_small, 2),
    }


def bench_api(seconds: float = 10.0, clients: int = 32, records: int = 30_000) -> dict[str, Any]:
    """Accepted submissions per second and latencies of a real server on loopback.

    The server runs in its own process, on a fresh data directory; the load comes
    from this process (32 concurrent connections by default), bounded in count and
    time. Anchor latency is read from the server's journal: accepted to anchored.
    """
    import os
    import shutil
    import socket
    import subprocess
    import sys
    import tempfile
    from pathlib import Path

    import httpx

    from api.config import Settings
    from api.db import ApiDatabase
    from api.service import Service
    from ledger_client.contracts.attestations import schema_id as sid

    from .loadgen import make_bodies, run_load

    data_dir = Path(tempfile.mkdtemp(prefix="credit-chain-bench-api-"))
    try:
        service = Service.open(Settings(data_dir=data_dir), start_worker=False)
        bank = Keyring(BENCH_SEED).account("bank")
        service.chain.fund(bank.address)
        service.ledger.consortium.admit_member(
            service.keyring.account("regulator"),
            bank.address,
            "Bench Bank",
            "Shanghai",
            Role.ATTESTER,
        )
        key = service.keys.issue(bank.address, label="bench")
        loan = service.ledger.schemas["loan-repayment"]
        bodies = make_bodies(
            bank,
            service.separator,
            loan,
            sid(loan),
            records,
            first_nonce=1,
            deadline=service.chain.now() + 86_400,
        )
        service.close()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        # The benchmark measures capacity, so the per-key rate limit is lifted.
        env = {
            **os.environ,
            "CREDIT_CHAIN_RATE_PER_S": "1e9",
            "CREDIT_CHAIN_RATE_BURST": "1000000000",
        }
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "scripts.cli",
                "serve",
                "--data-dir",
                str(data_dir),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            load = run_load(url, key, bodies, clients=clients, duration_s=seconds)
            drain_deadline = time.monotonic() + 60
            while time.monotonic() < drain_deadline:
                if httpx.get(f"{url}/ready", timeout=5).json().get("pending") == 0:
                    break
                time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(timeout=30)
        db = ApiDatabase(data_dir / "api.sqlite")
        rows = db.query(
            "SELECT updated_at - created_at AS s FROM submissions WHERE status = 'anchored'"
        )
        counts = {
            r["status"]: r["n"]
            for r in db.query("SELECT status, count(*) AS n FROM submissions GROUP BY status")
        }
        db.close()
        anchor_ms = sorted(r["s"] * 1000 for r in rows)
        p99_anchor = (
            anchor_ms[min(len(anchor_ms) - 1, int(0.99 * len(anchor_ms)))] if anchor_ms else 0.0
        )
        return {
            "clients": clients,
            "seconds": round(load.seconds, 2),
            "accepted": len(load.accepted),
            "accepted_per_s": round(load.accepted_per_s),
            "p50_accept_ms": round(load.percentile_ms(50), 1),
            "p99_accept_ms": round(load.percentile_ms(99), 1),
            "p99_anchor_ms": round(p99_anchor, 1),
            "anchored": counts.get("anchored", 0),
            "rejected": counts.get("rejected", 0),
            "pending_after_drain": counts.get("pending", 0),
            "refused": load.refused,
            "errors": load.errors,
        }
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def bench_sim(days: int = 90, enterprises: int = 5_000, seed: int = 7) -> dict[str, Any]:
    """Wall time of the Yangtze Delta scenario on the embedded chain, and what it wrote.

    The run keeps its chain on disk, as ``credit-chain simulate --out`` does (in a
    temporary directory, removed afterwards); the report is not rendered.
    """
    import shutil
    import tempfile
    from pathlib import Path

    from node_sim.simulation import Simulation, SimulationConfig

    out = Path(tempfile.mkdtemp(prefix="credit-chain-bench-sim-"))
    try:
        config = SimulationConfig(days=days, enterprises=enterprises, seed=seed, out=out)
        t0 = time.perf_counter()
        result = Simulation(config).run()
        seconds = time.perf_counter() - t0
        if result.ledger is not None:
            result.ledger.chain.close()
    finally:
        shutil.rmtree(out, ignore_errors=True)
    s = result.summary
    return {
        "enterprises": enterprises,
        "days": days,
        "seed": seed,
        "seconds": round(seconds, 1),
        "setup_seconds": result.timing["setup_s"],
        "records": s["records"]["total"],
        "transactions": s["transactions"],
        "transactions_per_s": round(s["transactions"] / seconds, 1),
        "blocks": s["blocks"],
        "gas": s["gas"],
        "queries": s["consent"]["queries"],
        "receivables": s["receivables"]["issued"],
        "attacks_refused": sum(t["refused"] for t in s["attacks"].values()),
        "attacks_attempted": sum(t["attempted"] for t in s["attacks"].values()),
    }
