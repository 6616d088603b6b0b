"""Benchmarks behind ``credit-chain bench``: gas per operation and throughput.

Speed targets live here, never in timed tests. Every figure is measured on a
fresh embedded chain in this process when the command runs.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger_client import Keyring, Ledger, Role, connect, deploy
from ledger_client.attestations.batches import (
    MAX_BATCH,
    anchor_records,
    anchor_signed_records,
    batch_leaf,
    verify_batch_record,
)
from ledger_client.attestations.merkle import MerkleTree
from ledger_client.attestations.records import record_hash, record_subject, sample_record
from ledger_client.attestations.signed_records import SignedRecord, domain_separator
from ledger_client.contracts.attestations import schema_id, signed_batch_gas
from ledger_client.types import AttestationFields, AttestRequest, BatchEntry, Validity

from .machine import machine_info

if TYPE_CHECKING:
    from eth_account.signers.local import LocalAccount

    from pipeline.service import Service

BENCH_SEED = "credit-chain-bench"


#: ``bench gas`` runs on embedded chains with a pinned clock (a fixed genesis time, one
#: second per block), so every UID, hence every byte of calldata, hence every gas figure,
#: is the same on every run: a zero byte of calldata costs 4 gas and any other byte 16,
#: so a UID that holds the wall-clock time would move a revocation's gas by 12 now and then.
GAS_CLOCK: dict[str, int] = {"genesis_timestamp": 1_767_225_600, "block_time": 1}


def _fresh_ledger(pinned_clock: bool = False, engine: str = "embedded") -> tuple[Ledger, Keyring]:
    chain = connect(engine, **GAS_CLOCK) if pinned_clock else connect(engine)
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


def bench_gas(batch_size: int = 1_000, engine: str = "embedded") -> dict[str, Any]:
    """Gas of each attestation operation, measured once each on a fresh chain.

    ``engine`` is the chain: ``"embedded"`` (the default engine), ``"pyevm"``, ``"revm"``
    or a node's URL; every engine must give the same figures.
    """
    ledger, ring = _fresh_ledger(pinned_clock=True, engine=engine)
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
    revoke_leaf = a.revoke_batch_record(bank, batch.batch_id, batch.entry(7), batch.proof(7))
    largest = _largest_batch_gas(ledger, bank)
    signed = _signed_batch_gas(ledger, ring, relayer)
    from scripts.bench_receivables import receivable_gas

    ledger.chain.close()
    eas = _eas_batch_reference(engine)
    receivables_chain = connect(engine, **GAS_CLOCK)
    receivables = receivable_gas(receivables_chain)
    receivables_chain.close()
    from scripts.bench_lending import lending_gas

    lending_chain = connect(engine, **GAS_CLOCK)
    lending = lending_gas(lending_chain)
    lending_chain.close()
    return {
        **receivables,
        **lending,
        **relayed_gas(engine),
        "attest_gas": second.gas_used,
        "attest_first_gas": first.gas_used,
        "attest_by_sig_gas": by_sig.gas_used,
        "revoke_gas": revoke.gas_used,
        "replace_gas": replace.gas_used,
        "batch_size": batch_size,
        "batch_anchor_gas": batch.tx.gas_used,
        "batch_gas_per_record": round(batch.tx.gas_used / batch_size, 1),
        "batch_record_revoke_gas": revoke_leaf.gas_used,
        **largest,
        **eas,
        **signed,
    }


def _largest_batch_gas(ledger: Ledger, bank: LocalAccount) -> dict[str, Any]:
    """The anchor of the largest batch (MAX_BATCH records, a tree of depth 16), and its
    last record's proof checked on chain. The records are (subject, hash) pairs: what a
    record holds does not change the anchor's gas, and hashing 65,536 real records would
    time the canonical JSON, not the chain."""
    rng = random.Random(MAX_BATCH)
    pairs = [(rng.randbytes(32), rng.randbytes(32)) for _ in range(MAX_BATCH)]
    tree = MerkleTree([batch_leaf(s, h) for s, h in pairs])
    a = ledger.attestations
    anchored = a.anchor_batch(bank, ledger.schemas["loan-repayment"], tree.root, MAX_BATCH)
    last = BatchEntry(*pairs[-1])
    if a.batch_record_validity(anchored.batch_id, last, tree.proof(MAX_BATCH - 1)) != (
        Validity.VALID
    ):
        raise RuntimeError("the largest batch's last record does not verify on chain")
    return {
        "batch_max_size": MAX_BATCH,
        "batch_max_anchor_gas": anchored.tx.gas_used,
        "batch_max_gas_per_record": round(anchored.tx.gas_used / MAX_BATCH, 2),
    }


def _eas_batch_reference(engine: str, items: int = 100) -> dict[str, Any]:
    """EAS on the same engine in the same run: ``timestamp`` of one root (the fair match
    of our batch anchor: one word stored, though without a role, schema or duplicate
    check), ``multiTimestamp`` per item (one stored word per record) and ``attest``."""
    from .bench_reference import BENCH_SEED, compile_reference, eas_gas

    contracts = compile_reference()["contracts"]
    chain = connect(engine, **GAS_CLOCK)
    try:
        signer = Keyring(BENCH_SEED).account("reference")
        chain.fund(signer.address)
        eas = eas_gas(
            chain,
            signer,
            contracts["SchemaRegistry"]["bytecode"],
            contracts["EAS"]["bytecode"],
            items,
        )
    finally:
        chain.close()
    return {
        "eas_attest_gas": eas["attest_gas"],
        "eas_timestamp_one_gas": eas["timestamp_one_gas"],
        "eas_multi_timestamp_items": eas["multi_timestamp_items"],
        "eas_multi_timestamp_gas_per_item": eas["multi_timestamp_gas_per_item"],
    }


def _signed_batch_gas(ledger: Ledger, ring: Keyring, relayer: LocalAccount) -> dict[str, Any]:
    """Gas per record of ``anchorSignedBatch`` at 100 and 1,000 records, with the chain
    spending each record's nonce: one bank's consecutive nonces (as the API orders a batch:
    256 nonces share a storage word) and scattered 56-bit nonces (a fresh word each)."""
    a = ledger.attestations
    regulator = ring.account("regulator")
    ledger.consortium.admit_member(
        regulator, relayer.address, "Bench Relay", "Shanghai", Role.RELAYER
    )
    bank = ring.account("bank")
    loan = ledger.schemas["loan-repayment"]
    separator = domain_separator(a.domain)
    rng = random.Random(7)
    out: dict[str, Any] = {}
    next_nonce = 1_000
    for size in (100, 1_000):
        for layout in ("consecutive", "scattered"):
            deadline = ledger.chain.now() + 3_600
            records = []
            for i, record in enumerate(_records(ledger, "loan-repayment", size, seed=size)):
                nonce = next_nonce + i if layout == "consecutive" else rng.getrandbits(56)
                request = AttestRequest(
                    schema_id(loan), record_subject(record), record_hash(loan, record)
                )
                records.append(SignedRecord.sign(bank, separator, request, nonce, deadline))
            next_nonce += size
            anchored = anchor_signed_records(a, relayer, records, gas=signed_batch_gas(records))
            out[f"signed_batch_{size}_{layout}_gas_per_record"] = round(
                anchored.tx.gas_used / size, 1
            )
    return out


def _best_of(repeats: int, fn: Callable[[], float]) -> float:
    return min(fn() for _ in range(repeats))


def bench_throughput(records: int = 100_000, proofs: int = 20_000) -> dict[str, Any]:
    """Records anchored per second end to end, and proof verifications per second.

    End to end means: validate each record against its schema, hash it, build the
    tree, anchor the root in one transaction per MAX_BATCH records (65,536: 100,000
    records are two batches), and store the trees in the event index (SQLite on disk)
    so any record's proof can be served later. Verifying one record means fetching its
    proof from the index and checking it; "at N" verifies in the largest batch of a
    ledger of N records.
    """
    import tempfile
    from pathlib import Path

    from ledger_client.index import EventIndex

    ledger, ring = _fresh_ledger()
    bank = ring.account("bank")
    schema = ledger.schemas["loan-repayment"]
    data = _records(ledger, "loan-repayment", records)
    small_size = min(1_000, records)
    # Another seed: the small batch's root must differ from every chunk's (a root is
    # anchored once).
    small_data = _records(ledger, "loan-repayment", small_size, seed=2)
    with tempfile.TemporaryDirectory(prefix="credit-chain-bench-") as tmp:
        index = EventIndex(Path(tmp) / "index.sqlite", ledger)
        t0 = time.perf_counter()
        # A batch holds at most MAX_BATCH records: a larger ledger is anchored in chunks.
        chunks = []
        for start in range(0, records, MAX_BATCH):
            chunk = anchor_records(
                ledger.attestations, bank, schema, data[start : start + MAX_BATCH]
            )
            pairs = list(zip(chunk.prepared.subjects, chunk.prepared.data_hashes, strict=True))
            index.store_batch_tree(chunk.batch_id, chunk.prepared.tree, pairs, check=False)
            chunks.append(chunk)
        anchored_s = time.perf_counter() - t0
        batch = chunks[0]  # the largest batch
        small = anchor_records(ledger.attestations, bank, schema, small_data)
        small_pairs = list(zip(small.prepared.subjects, small.prepared.data_hashes, strict=True))
        index.store_batch_tree(small.batch_id, small.prepared.tree, small_pairs, check=False)

        rng = random.Random(3)
        picks = [divmod(rng.randrange(records), MAX_BATCH) for _ in range(proofs)]
        all_proofs = {(c, i): index.batch_proof(chunks[c].batch_id, i) for c, i in set(picks)}

        def verify_all() -> float:
            t = time.perf_counter()
            for c, i in picks:
                p = chunks[c].prepared
                proof = all_proofs[(c, i)]
                if not verify_batch_record(p.subjects[i], p.data_hashes[i], proof, p.tree.root):
                    raise AssertionError(f"proof {i} of batch {c} failed")
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
        at_big = statistics.median(per_record(batch, len(batch.prepared)) for _ in range(3))
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
    import tempfile

    from ledger_client.contracts.attestations import schema_id as sid
    from pipeline.db import ApiDatabase

    from .loadgen import LoadResult, make_bodies, run_load, serve_load_and_drain

    # The data directory inside a scratch one that also holds the regulator's key file.
    data_dir = Path(tempfile.mkdtemp(prefix="credit-chain-bench-api-")) / "api"
    try:
        service, bank, key = _bench_service(data_dir)
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
        # The benchmark measures capacity, so the per-key rate limit is lifted.
        env = {
            **os.environ,
            "CREDIT_CHAIN_RATE_PER_S": "1e9",
            "CREDIT_CHAIN_RATE_BURST": "1000000000",
        }

        def load_it(url: str) -> LoadResult:
            return run_load(url, key, bodies, clients=clients, duration_s=seconds)

        load = serve_load_and_drain(data_dir, load_it, env)
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
        shutil.rmtree(data_dir.parent, ignore_errors=True)


# -- audit: replay and audit a ledger of ~100k records ---------------------------------------


def _audit_activity(
    sim: Any, *, singles: int, authorisations: int, queries: int, receivables: int, disputes: int
) -> dict[str, int]:
    """Add single attestations, consent, disputes and receivables to a simulated ledger."""
    from ledger_client.attestations.records import record_hash
    from ledger_client.contracts.authorisations import AuthorisationRequest, query_hash
    from ledger_client.types import QueryPurpose

    ledger, ring, rng = sim.ledger, sim.ring, random.Random(11)
    chain, a = ledger.chain, ledger.attestations
    banks = [ring.account(f"bank:{c}") for c in ("shanghai", "nanjing", "hangzhou", "hefei")]
    people = sim.population
    loan = ledger.schemas["loan-repayment"]
    made: list[tuple[bytes, Any, bytes, bytes]] = []  # uid, attester, subject, record hash
    for i in range(singles):
        ent = people[i % len(people)]
        subject = sim.subjects[ent.spec.label]
        record = sample_record(loan, rng, overrides={"subject": "0x" + subject.hex()})
        bank = banks[i % len(banks)]
        data_hash = record_hash(loan, record)
        made.append((a.attest(bank, loan, subject, data_hash).uid, bank, subject, data_hash))
    auth_ids = []
    for i in range(authorisations):
        ent = people[i % len(people)]
        bank = banks[i % len(banks)]
        request = AuthorisationRequest(
            bank.address, QueryPurpose.LOAN_APPROVAL, chain.now() + 365 * 86_400
        )
        signed = ledger.authorisations.sign_authorisation(ring.account(ent.spec.label), request)
        auth_ids.append((ledger.authorisations.authorise(bank, signed).auth_id, bank))
    for i in range(queries):
        auth_id, bank = auth_ids[i % len(auth_ids)]
        ledger.authorisations.log_query(
            bank, auth_id, QueryPurpose.LOAN_APPROVAL, query_hash({"query": i})
        )
    for i in range(disputes):
        uid, attester, about, digest = made[i]
        owner = ring.account(people[i % len(people)].spec.label)  # whom single i is about
        d = ledger.disputes
        signed_dispute = d.sign_dispute(
            owner, uid, AttestationFields(about, digest), rng.randbytes(32)
        )
        raised = d.relay_dispute(attester, signed_dispute)
        d.reject(attester, raised.dispute_id, rng.randbytes(32))
    r = ledger.receivables
    for i in range(receivables):
        debtor, supplier, tier2 = (
            ring.account(people[(3 * i + k) % len(people)].spec.label) for k in range(3)
        )
        for ent in (debtor, supplier, tier2):
            chain.fund(ent.address, 10**18)
        bank = banks[i % len(banks)]
        issued = r.issue_receivable(
            debtor,
            supplier.address,
            1_000_000,
            chain.now() + 90 * 86_400,
            contract_hash=rng.randbytes(32),
            invoice_commitments=[rng.randbytes(32)],
        )
        r.accept(supplier, issued.receivable_id)
        part = r.split(supplier, issued.receivable_id, tier2.address, 400_000).receivable_id
        r.request_financing(
            tier2,
            part,
            bank.address,
            min_advance_fen=390_000,
            max_discount_bps=400,
            expires_at=chain.now() + 7 * 86_400,
        )
        r.finance(bank, part, 390_000, 400)
    return {
        "single_attestations_added": singles,
        "authorisations": authorisations,
        "queries": queries,
        "disputes": disputes,
        "receivables": receivables,
    }


def bench_audit(
    enterprises: int = 11_000,
    days: int = 90,
    singles: int = 1_000,
    queries: int = 1_000,
    receivables: int = 200,
) -> dict[str, Any]:
    """Build a ~100k-record ledger on the embedded chain; time a full audit and a re-audit."""
    import tempfile
    from pathlib import Path

    from ledger_client.audit import audit_ledger, compare_with_chain
    from node_sim.simulation import Simulation, SimulationConfig

    started = time.perf_counter()
    # Credit records only: the consent and receivables activity is added below in the
    # measured amounts, and the run's own audit (the thing being timed) is left out.
    sim = Simulation(
        SimulationConfig(
            days=days,
            enterprises=enterprises,
            seed=7,
            adversary_rate=0.0,
            flows=False,
            audit=False,
        )
    )
    sim.run()
    extra = _audit_activity(
        sim,
        singles=singles,
        authorisations=max(1, queries // 4),
        queries=queries,
        receivables=receivables,
        disputes=min(50, singles),
    )
    ledger = sim.ledger
    assert ledger is not None
    build_s = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        mark = time.perf_counter()
        first = audit_ledger(ledger, out)
        audit_s = time.perf_counter() - mark
        # New writes since the audit: a day's worth of single attestations.
        bank = sim.ring.account("bank:shanghai")
        loan = ledger.schemas["loan-repayment"]
        rng = random.Random(5)
        for _ in range(100):
            ledger.attestations.attest(bank, loan, rng.randbytes(32), rng.randbytes(32))
        mark = time.perf_counter()
        second = audit_ledger(ledger, out)
        reaudit_s = time.perf_counter() - mark
    # The same comparison with one eth_call per view, as before views were batched: the
    # ratio of the two, measured on one ledger in one run, is what batching saves.
    assert first.state is not None
    assert first.comparison is not None
    mark = time.perf_counter()
    one_by_one = compare_with_chain(ledger, first.state, first.comparison.block, views_per_call=1)
    single_s = time.perf_counter() - mark
    assert one_by_one.views == first.comparison.views
    assert len(one_by_one.mismatches) == len(first.comparison.mismatches)
    report = first.report
    return {
        "records": report["totals"]["records"],
        "events": report["totals"]["events"],
        "blocks": report["audited"]["block"],
        "batches": report["totals"]["batches"],
        "single_attestations": report["totals"]["attestations"],
        **extra,
        "audit_seconds": round(audit_s, 2),
        "audit_breakdown_s": report["timing"],
        "view_calls": report["comparison"]["view_calls"],
        "views_read": report["comparison"]["views_read"],
        "compare_one_call_per_view_s": round(single_s, 2),
        "one_call_per_view_calls": one_by_one.calls,
        "breaches": len(first.breaches),
        "reaudit_seconds": round(reaudit_s, 2),
        "reaudit_blocks_read": second.report["index"]["blocks_read"],
        "reaudit_view_calls": second.report["comparison"]["view_calls"],
        "reaudit_views_read": second.report["comparison"]["views_read"],
        "reaudit_breaches": len(second.breaches),
        "target_audit_seconds": 60,
        "build_seconds": round(build_s, 1),
    }


def bench_restart(records: int = 100_000, singles: int = 1_000) -> dict[str, Any]:
    """Seconds for ``credit-chain serve`` to come back on a data directory holding
    ``records`` anchored records (all but ``singles`` in signed batches).

    The records are journaled and anchored in this process by the API's own worker,
    as a server would; then a real server is started on the directory and timed from
    process start to ``/ready``. It must find the same chain: the head block's hash,
    a single record's UID and a batched record's proof are compared before and after.
    """
    import shutil
    import tempfile
    from pathlib import Path

    import httpx

    from pipeline.journal import NewSubmission
    from pipeline.worker import AnchorWorker

    from .loadgen import make_bodies

    # The data directory inside a scratch one that also holds the regulator's key file.
    data_dir = Path(tempfile.mkdtemp(prefix="credit-chain-bench-restart-")) / "api"
    try:
        t0 = time.perf_counter()
        service, bank, key = _bench_service(data_dir)
        loan = service.ledger.schemas["loan-repayment"]
        worker = AnchorWorker(service)
        deadline = service.chain.now() + 30 * 86_400
        chunk = 10_000
        for start in range(0, records, chunk):
            bodies = make_bodies(
                bank,
                service.separator,
                loan,
                schema_id(loan),
                min(chunk, records - start),
                first_nonce=start + 1,
                deadline=deadline,
                seed=start + 1,
            )
            service.journal.accept_many(
                bank.address,
                [
                    NewSubmission(
                        f"restart-{body['nonce']}",
                        str(body["nonce"]),
                        "attestation",
                        bank.address,
                        int(str(body["nonce"])),
                        _signed_record_doc(body, schema_id(loan)),
                    )
                    for body in bodies
                ],
            )
            if start == 0:  # the first ones one by one: attestBySig, a UID each
                for sub in service.journal.pending(singles):
                    worker._anchor_single(sub)
            while worker.anchor_pending():
                pass
        seed_s = time.perf_counter() - t0
        head = service.chain.backend.block()
        single = service.db.query(
            "SELECT id, result FROM submissions WHERE result LIKE '%\"uid\"%' LIMIT 1"
        )
        batched = service.db.query(
            "SELECT id FROM submissions WHERE result LIKE '%batch_id%' ORDER BY rowid DESC LIMIT 1"
        )
        counts = service.journal.counts()
        place = service.journal.get(batched[0]["id"])
        assert place is not None
        assert place.result is not None
        proof_before = [
            "0x" + p.hex()
            for p in service.index.batch_proof(place.result["batch_id"], place.result["index"])
        ]
        service.close()
        sizes = {
            name: round((data_dir / rel).stat().st_size / 2**20, 1)
            for name, rel in (
                ("chain_mb", "chain/chain.sqlite"),
                ("index_mb", "index.sqlite"),
                ("journal_mb", "api.sqlite"),
            )
        }
        url, server, restart_s = _start_server(data_dir)
        try:
            with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=30) as http:
                ready = http.get("/ready").json()
                uid = json.loads(single[0]["result"])["uid"] if single else None
                same_uid = uid is None or http.get(f"/v1/attestations/{uid}").status_code == 200
                proof_after = http.get(f"/v1/submissions/{batched[0]['id']}/proof").json()
        finally:
            server.terminate()
            server.wait(timeout=30)
        reopened = connect("embedded", data_dir=data_dir / "chain")
        same_head = reopened.backend.block(head.number).hash == head.hash
        reopened.close()
        return {
            "records": records,
            "singles": singles,
            "anchored": counts.get("anchored", 0),
            "blocks": head.number,
            **sizes,
            "seed_s": round(seed_s, 1),
            "restart_s": round(restart_s, 2),
            "ready_block": ready.get("block"),
            "same_head_hash": same_head,
            "same_uid": same_uid,
            "same_proof": proof_after.get("proof") == proof_before,
        }
    finally:
        shutil.rmtree(data_dir.parent, ignore_errors=True)


def _signed_record_doc(body: dict[str, object], schema: bytes) -> dict[str, object]:
    """The journal's form of a signed record (``SignedRecord.to_dict``) from a request body."""
    return {
        "schema": "0x" + schema.hex(),
        "subject": body["subject"],
        "data_hash": body["data_hash"],
        "expiry": 0,
        "ref_uid": "0x" + "00" * 32,
        "signer": body["signer"],
        "nonce": body["nonce"],
        "deadline": body["deadline"],
        "signature": body["signature"],
    }


def _start_server(
    data_dir: Path, env: dict[str, str] | None = None
) -> tuple[str, subprocess.Popen[bytes], float]:
    """``credit-chain serve`` on ``data_dir`` and a free loopback port: its URL, its process,
    and the seconds from start to ``/ready`` answering 200."""
    from harness.api_process import start_server
    from ledger_client.errors import LedgerConnectionError

    started = time.perf_counter()
    try:
        server, port = start_server(data_dir, env=env, ready_timeout_s=120)
    except LedgerConnectionError as e:
        raise RuntimeError(f"the server on {data_dir} did not start: {e}") from e
    return f"http://127.0.0.1:{port}", server, time.perf_counter() - started


def _bench_service(data_dir: Path) -> tuple[Service, LocalAccount, str]:
    """An API service on ``data_dir`` (worker not started), a bank admitted as an
    attester, and the bank's API key."""
    from pipeline.config import Settings
    from pipeline.service import Service, development_regulator

    settings = Settings(data_dir=data_dir)
    service = Service.open(settings, start_worker=False)
    bank = Keyring(BENCH_SEED).account("bank")
    service.chain.fund(bank.address)
    service.ledger.consortium.admit_member(
        development_regulator(settings), bank.address, "Bench Bank", "Shanghai", Role.ATTESTER
    )
    return service, bank, service.keys.issue(bank.address, label="bench")


def relayed_gas(engine: str = "embedded") -> dict[str, int]:
    """Gas of each write relayed through the Forwarder, as the API sends it.

    Steady state: each signer has relayed before, so its nonce word is warm (the first
    request of every 256 consecutive nonces writes a new slot, +17,100 gas once).
    ``relayed_overhead_gas`` is a relayed revocation minus the same revocation sent
    directly: signature, nonce, trust check and call.
    """
    from ledger_client.attestations.merkle import keccak256
    from ledger_client.contracts.authorisations import AuthorisationRequest
    from ledger_client.types import QueryPurpose
    from pipeline.worker import RELAYS_PER_TX

    ledger, ring = _fresh_ledger(pinned_clock=True, engine=engine)
    chain, fw = ledger.chain, ledger.forwarder
    regulator, bank = ring.account("regulator"), ring.account("bank")
    bureau, relayer = ring.account("bureau"), ring.account("relayer")
    for acct in (bureau, relayer):
        chain.fund(acct.address)
    ledger.consortium.admit_member(
        regulator, bureau.address, "Bench Bureau", "Hangzhou", Role.ATTESTER | Role.REGISTRAR
    )
    ledger.consortium.set_roles(regulator, bank.address, Role.ATTESTER | Role.FINANCIER)
    ledger.consortium.publish_encryption_key(bank, b"\x42" * 32)
    core, tier1, tier2 = (ring.account(n) for n in ("core", "tier1", "tier2"))
    for n, ent in enumerate((core, tier1, tier2)):
        ledger.consortium.bind_enterprise(bureau, ent.address, keccak256(f"relay-{n}".encode()))
    a, auth, d, rc = ledger.attestations, ledger.authorisations, ledger.disputes, ledger.receivables
    loan = ledger.schemas["loan-repayment"]
    subject = keccak256(b"relay-0")  # core's subject
    uids = [a.attest(bureau, loan, subject, keccak256(bytes([n]))).uid for n in range(6)]
    gas: dict[str, int] = {}

    # Each signer's nonces run on from a 256-aligned start, as the client's own do, but a
    # start fixed by the signer (not random), so the calldata, hence the gas, repeats.
    nonces: dict[str, int] = {}

    def relay(name: str | None, signer: Any, target: Any, fn: str, *args: Any) -> Any:
        start = int.from_bytes(keccak256(signer.address.encode())[:7], "big") << 8
        nonce = nonces[signer.address] = nonces.get(signer.address, start - 1) + 1
        result = fw.relay(relayer, fw.sign(signer, target, fn, *args, nonce=nonce), target)
        if name is not None:
            gas[f"relayed_{name}_gas"] = result.gas_used
        return result

    # Warm-up, unmeasured: every signer relays once (its nonce word is written), and the
    # enterprises appear on the receivables contract (their party numbers are assigned).
    due = chain.now() + 30 * 86_400
    invoices = iter(keccak256(f"relay-invoice-{n}".encode()) for n in range(10))
    for who in (bank, bureau):
        relay(
            None,
            who,
            a,
            "attest",
            schema_id(loan),
            subject,
            keccak256(who.address.encode()),
            0,
            bytes(32),
        )
    first = relay(
        None, core, rc, "issue", tier1.address, 10_000, due, keccak256(b"c"), [next(invoices)]
    )
    rid0 = first.event("ReceivableIssued").args["id"]
    relay(None, tier1, rc, "accept", rid0)
    part0 = relay(None, tier1, rc, "split", rid0, tier2.address, 1_000).event("ReceivableSplit")
    relay(None, tier2, rc, "transfer", part0.args["child"], tier1.address)
    relay(None, regulator, a, "revoke", uids[5], bytes(32))  # the regulator's nonce word
    direct = a.revoke(bureau, uids[0]).gas_used
    relay("revoke", bureau, a, "revoke", uids[1], bytes(32))
    gas["relayed_overhead_gas"] = gas["relayed_revoke_gas"] - direct
    # A round as the API's worker relays it: RELAYS_PER_TX revocations in one executeBatch,
    # per request (its share of the transaction's 21,000 included, as a single relay's is).
    batched = [
        a.attest(bureau, loan, subject, keccak256(b"batched-%d" % n)).uid
        for n in range(RELAYS_PER_TX)
    ]
    signed = []
    for uid in batched:
        nonce = nonces[bureau.address] = nonces[bureau.address] + 1
        signed.append(fw.sign(bureau, a, "revoke", uid, bytes(32), nonce=nonce))
    receipt, each = fw.relay_batch(relayer, signed)
    refused = [x.refusal for x in each if x.refusal is not None]
    if refused:
        raise RuntimeError(f"a batched revocation was refused: {refused[0]!r}")
    gas["relayed_batch_revoke_gas_per_request"] = receipt.gas_used // RELAYS_PER_TX
    fields = (subject, keccak256(bytes([2])), bytes(32))
    relay("replace", bureau, a, "replace", uids[2], fields, keccak256(b"corrected"), 0)
    # consent
    request = AuthorisationRequest(
        bank.address, QueryPurpose.LOAN_APPROVAL, chain.now() + 86_400 * 90
    )
    auth_id = auth.authorise(relayer, auth.sign_authorisation(core, request, nonce=1)).auth_id
    qid = (
        relay("log_query", bank, auth, "logQuery", auth_id, 1, keccak256(b"q"), bytes(32))
        .event("QueryLogged")
        .args["queryId"]
    )
    relay(
        "record_report_share",
        bureau,
        auth,
        "recordReportShare",
        qid,
        bank.address,
        keccak256(b"ct"),
    )
    relay("withdraw_authorisation", core, auth, "withdraw", auth_id)
    fields3 = (subject, keccak256(bytes([3])), bytes(32))
    raised = relay("raise_dispute", core, d, "raiseDispute", uids[3], fields3, keccak256(b"why"))
    dispute_id = raised.event("DisputeRaised").args["disputeId"]
    relay("reject_dispute", bureau, d, "rejectDispute", dispute_id, keccak256(b"answer"))
    complained = relay("file_complaint", core, d, "fileComplaint", dispute_id, keccak256(b"c"))
    complaint_id = complained.event("ComplaintFiled").args["complaintId"]
    relay(
        "resolve_complaint",
        regulator,
        d,
        "resolveComplaint",
        complaint_id,
        False,
        keccak256(b"the record stands"),
    )
    # receivables
    issued = relay(
        "receivable_issue",
        core,
        rc,
        "issue",
        tier1.address,
        1_000_000,
        due,
        keccak256(b"c"),
        [next(invoices)],
    )
    rid = issued.event("ReceivableIssued").args["id"]
    relay("receivable_accept", tier1, rc, "accept", rid)
    part = (
        relay("receivable_split", tier1, rc, "split", rid, tier2.address, 400_000)
        .event("ReceivableSplit")
        .args["child"]
    )
    relay("receivable_transfer", tier2, rc, "transfer", part, tier1.address)
    week = chain.now() + 7 * 86_400
    terms = (390_000, 400, week)
    relay("receivable_finance_request", tier1, rc, "requestFinancing", part, bank.address, *terms)
    relay("receivable_finance", bank, rc, "finance", part, 390_000, 400)
    relay("receivable_release", bank, rc, "releaseFinancing", part)
    chain.advance_time(31 * 86_400)
    relay("receivable_settle_one", core, rc, "settle", [rid])
    chain.advance_time(15 * 86_400)
    relay("receivable_mark_overdue", tier1, rc, "markOverdue", part)
    chain.close()
    return gas


# -- simulation --------------------------------------------------------------------------


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
        "attacks_succeeded": sum(t["succeeded"] for t in s["attacks"].values()),
    }


# -- bench engines: the embedded chain's engines against each other and anvil ------------


def bench_engines(count: int = 500, rounds: int = 3, anvil: bool = True) -> dict[str, Any]:
    """Single-transaction ``attest`` per second through the client, on each engine.

    Each round measures py-evm, revm and (with ``anvil``) a fresh anvil node one after
    the other, ``count`` attestations each on a fresh deployment, so a busy machine
    slows all of them alike; the median round of each is reported, with the ratios of
    the medians. The steady attest's gas is reported per engine: it must be one figure.
    """
    from .bench_reference import attest_tx_per_s

    engines = ["pyevm", "revm"]
    runs: dict[str, list[dict[str, Any]]] = {e: [] for e in engines}
    if anvil:
        from ledger_client.chain.local_node import ANVIL, running_anvil

        anvil = ANVIL.exists()
    if anvil:
        runs["anvil"] = []
    for _ in range(rounds):
        for engine in engines:
            chain = connect(engine)
            try:
                runs[engine].append(attest_tx_per_s(chain, count))
            finally:
                chain.close()
        if anvil:
            with running_anvil() as url:
                node = connect(url)
                try:
                    runs["anvil"].append(attest_tx_per_s(node, count))
                finally:
                    node.close()
    median = {k: statistics.median(r["tx_per_s"] for r in v) for k, v in runs.items()}
    out: dict[str, Any] = {
        "operation": "attest, one transaction per block, signed by the client",
        "count": count,
        "rounds": rounds,
        "tx_per_s": {k: round(v, 1) for k, v in median.items()},
        "attest_gas": {k: v[0]["attest_gas"] for k, v in runs.items()},
        "runs": {k: [r["tx_per_s"] for r in v] for k, v in runs.items()},
        "revm_over_pyevm": round(median["revm"] / median["pyevm"], 2),
    }
    if "anvil" in median:
        out["revm_over_anvil"] = round(median["revm"] / median["anvil"], 2)
        out["pyevm_over_anvil"] = round(median["pyevm"] / median["anvil"], 2)
    return out


# -- bench all: every benchmark, the reference figures and the targets in one document ------

#: Sizes of each benchmark in ``bench all`` (the defaults of the single commands) and in
#: ``bench all --quick`` (a bounded smoke run for tests; its rates are not comparable).
#: Gas is measured at full size in both: it is exact, and quick to measure.
FULL_SIZES: dict[str, dict[str, Any]] = {
    "gas": {"batch_size": 1_000},
    "throughput": {"records": 100_000, "proofs": 20_000},
    "api": {"seconds": 10.0, "clients": 32, "records": 30_000},
    "api_mix": {"seconds": 20.0, "clients": 32, "writes": 20_000},
    "sim": {"days": 90, "enterprises": 5_000},
    "restart": {"records": 100_000, "singles": 1_000},
    "audit": {"enterprises": 11_000, "days": 90, "singles": 1_000, "queries": 1_000},
    "reference": {"tx_count": 200, "items": 100},
    # The dedicated `bench scale` measures the issue's sizes (an hour or more); here the
    # same fit over sizes a few minutes allow, so `bench all` stays runnable.
    "scale": {"sizes": (2_000, 4_000, 8_000, 16_000), "days": 365, "flow_sample": 50},
}
QUICK_SIZES: dict[str, dict[str, Any]] = {
    "gas": {"batch_size": 1_000},
    "throughput": {"records": 5_000, "proofs": 2_000},
    "api": {"seconds": 2.0, "clients": 8, "records": 3_000},
    "api_mix": {"seconds": 2.0, "clients": 8, "writes": 300},
    "sim": {"days": 5, "enterprises": 50},
    "restart": {"records": 1_000, "singles": 20},
    "audit": {"enterprises": 50, "days": 5, "singles": 20, "queries": 20, "receivables": 5},
    "reference": {"tx_count": 30, "items": 100},
    "scale": {
        "sizes": (200, 400, 800, 1_600),
        "days": 30,
        "flow_sample": 10,
        "engine_check": False,
    },
}
SECTIONS = (
    "gas", "throughput", "api", "api_mix", "sim", "restart", "audit", "reference", "scale",
)  # fmt: skip

#: The targets the issues set: (section, figure, comparison, target, what it measures).
TARGETS: tuple[tuple[str, str, str, float, str], ...] = (
    ("gas", "attest_gas", "<=", 60_000, "gas of one attestation"),
    ("gas", "batch_gas_per_record", "<=", 500, "gas per record, batch of 1,000"),
    ("gas", "batch_anchor_gas", "<=", 56_000, "gas of one batch anchor (one root)"),
    ("gas", "batch_max_gas_per_record", "<=", 1, "gas per record, batch of 65,536"),
    ("gas", "pledge_gas", "<=", 90_000, "gas of a pledge registration"),
    ("gas", "facility_register_gas", "<=", 80_000, "gas of a facility registration"),
    ("gas", "facility_draw_gas", "<=", 60_000, "gas of a draw"),
    ("gas", "joint_limit_check_gas", "<=", 10_000, "gas the joint-limit check adds to a draw"),
    ("throughput", "records_per_s", ">=", 5_000, "records anchored per second, end to end"),
    ("throughput", "proofs_per_s", ">=", 20_000, "proof verifications per second"),
    ("throughput", "verify_cost_ratio", "<=", 2, "verify one record at 100k vs at 1k"),
    ("api", "accepted_per_s", ">=", 500, "API accepted submissions per second"),
    ("api", "p99_accept_ms", "<=", 50, "API p99 accept latency (ms)"),
    ("api", "p99_anchor_ms", "<=", 2_000, "API p99 accept to anchored (ms)"),
    ("api_mix", "accepted_per_s", ">=", 1_000, "API accepted/s under the consortium's mix"),
    ("api_mix", "p99_accept_ms", "<=", 50, "API p99 accept latency under the mix (ms)"),
    ("api_mix", "p99_anchor_ms", "<=", 2_000, "API p99 accept to anchored under the mix (ms)"),
    ("restart", "restart_s", "<=", 10, "API restart with 100k anchored records (s)"),
    ("sim", "seconds", "<=", 300, "simulation 5,000 enterprises x 90 days (s)"),
    ("audit", "audit_seconds", "<=", 60, "full audit of a ~100k-record ledger (s)"),
)


def _check_targets(doc: dict[str, Any], quick: bool) -> list[dict[str, Any]]:
    """Each figure the issues set a target for, beside its target. A quick run's figures
    are not comparable (smaller sizes), except gas, which is measured at full size."""
    out = []
    for section, key, op, target, what in TARGETS:
        value = doc.get(section, {}).get(key)
        if value is None:
            continue
        met = value <= target if op == "<=" else value >= target
        out.append(
            {
                "section": section,
                "figure": key,
                "what": what,
                "value": value,
                "op": op,
                "target": target,
                "met": met,
                "comparable": not quick or section == "gas",
            }
        )
    return out


def bench_all(
    quick: bool = False,
    skip: tuple[str, ...] = (),
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every benchmark in this process, one after the other, as one JSON document.

    ``quick`` runs bounded sizes (a smoke test: rates and latencies are not comparable
    with the targets, which are for the full sizes). ``skip`` leaves sections out.
    """
    from .bench_api_mix import bench_api_mix
    from .bench_reference import bench_reference
    from .bench_scale import bench_scale

    unknown = set(skip) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown section(s) {sorted(unknown)}; sections: {', '.join(SECTIONS)}")
    sizes = QUICK_SIZES if quick else FULL_SIZES
    runners: dict[str, Callable[..., dict[str, Any]]] = {
        "gas": bench_gas,
        "throughput": bench_throughput,
        "api": bench_api,
        "api_mix": bench_api_mix,
        "sim": bench_sim,
        "restart": bench_restart,
        "audit": bench_audit,
        "reference": bench_reference,
        "scale": bench_scale,
    }
    from ledger_client.chain.backends import default_engine

    # The engine every section's "embedded" chain ran on (a section naming its own, as the
    # scale section does revm and the engine check both, says so in its own output).
    doc: dict[str, Any] = {"machine": machine_info(), "engine": default_engine()}
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    for section in SECTIONS:
        if section in skip:
            continue
        if progress is not None:
            progress(section)
        t0 = time.perf_counter()
        doc[section] = runners[section](**sizes[section])
        seconds[section] = round(time.perf_counter() - t0, 1)
    doc["targets"] = _check_targets(doc, quick)
    doc["run"] = {
        "command": "credit-chain bench all --json" + (" --quick" if quick else ""),
        "quick": quick,
        "sizes": {k: v for k, v in sizes.items() if k not in skip},
        "skipped": sorted(skip),
        "seconds": seconds,
        "total_seconds": round(time.perf_counter() - started, 1),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }
    return doc
