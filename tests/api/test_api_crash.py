"""A real server under sustained load from separate processes, killed with SIGKILL and
restarted on the same data directory five times: nothing accepted is lost, nothing is
anchored twice, and no block written before a kill is rewritten."""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from eth_account.signers.local import LocalAccount

import sdk
from harness.api_process import start_server
from ledger_client import Keyring, Role, connect
from ledger_client.attestations.merkle import keccak256
from ledger_client.chain.local_node import free_port
from ledger_client.contracts.attestations import schema_id
from pipeline.config import Settings
from pipeline.service import Service, development_regulator
from scripts.loadgen import Item, attestation_items, make_bodies, read_accepted, write_items

REPO = Path(__file__).resolve().parent.parent.parent
CYCLES = 5
SEED = 20_261_124  # the kill moments are random, and the same on every run
KILL_AFTER_S = (1.0, 3.0)  # after the first acknowledgement of the cycle's load
REPLAYS = 20  # keys acknowledged in earlier cycles, sent again each cycle
ATTESTATIONS, ISSUES = 15_000, 3_000  # more than five cycles can send, however fast
#: Under load, each key is held to 600 requests a second (the load retries a 429 with its
#: key): at most about 2,800 records a cycle, so the records never run out before a kill.
LIMITED = {"CREDIT_CHAIN_RATE_PER_S": "600", "CREDIT_CHAIN_RATE_BURST": "600"}


def _start(
    data_dir: Path, port: int, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    proc, _ = start_server(data_dir, port=port, env=env, log=log, ready_timeout_s=120)
    return proc


def _load(
    url: str, key: str, bodies: Path, out: Path, *, clients: int, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    """The load generator in a process of its own, retrying unanswered requests by key."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.loadgen",
            "--url",
            url,
            "--bodies",
            str(bodies),
            "--out",
            str(out),
            "--clients",
            str(clients),
            "--duration",
            "60",
            "--retry",
        ],
        cwd=REPO,
        env={**os.environ, "CREDIT_CHAIN_API_KEY": key},
        stdout=log,
        stderr=log,
    )


def _block_hashes(data_dir: Path) -> list[str]:
    chain = connect("embedded", data_dir=data_dir / "chain")
    try:
        return [chain.backend.block(n).hash for n in range(chain.backend.block_number() + 1)]
    finally:
        chain.close()


def _journal_counts(data_dir: Path, ids: set[str]) -> tuple[dict[str, int], int]:
    """Statuses of the acknowledged submissions, and how many transactions were journaled
    but not settled (what the restart must finish), read while the server is down."""
    conn = sqlite3.connect(str(data_dir / "api.sqlite"))
    try:
        rows = conn.execute("SELECT id, status FROM submissions").fetchall()
        (unsettled,) = conn.execute("SELECT count(*) FROM anchors WHERE state = 'sent'").fetchone()
    finally:
        conn.close()
    counts: dict[str, int] = {}
    for sub_id, status in rows:
        if sub_id in ids:
            counts[status] = counts.get(status, 0) + 1
    return counts, int(unsettled)


@pytest.mark.slow
def test_kill_9_under_load_five_times_loses_nothing_and_duplicates_nothing(
    tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    # Set the deployment up once: a bank, its API key, signed records to send.
    settings = Settings(data_dir=data)
    service = Service.open(settings, start_worker=False)
    regulator = development_regulator(settings)
    bank = Keyring("crash-test").account("bank")
    service.chain.fund(bank.address)
    service.ledger.consortium.admit_member(regulator, bank.address, "Bank", "Hefei", Role.ATTESTER)
    key = service.keys.issue(bank.address)
    # Relayed writes too: a core enterprise issues receivables, each its own signed call.
    registrar, core, supplier = (Keyring("crash-test").account(n) for n in ("reg", "core", "sup"))
    service.chain.fund(registrar.address)
    service.ledger.consortium.admit_member(
        regulator, registrar.address, "Reg", "Hefei", Role.REGISTRAR
    )
    for n, ent in enumerate((core, supplier)):
        service.ledger.consortium.bind_enterprise(registrar, ent.address, bytes([n + 1]) * 32)
    core_key = service.keys.issue(core.address)
    issues = _signed_issues(service, core, supplier.address, ISSUES)
    loan = service.ledger.schemas["loan-repayment"]
    records = attestation_items(
        make_bodies(
            bank,
            service.separator,
            loan,
            schema_id(loan),
            ATTESTATIONS,
            first_nonce=1,
            deadline=service.chain.now() + 86_400,
        )
    )
    service.close()

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    kills, picks = random.Random(SEED), random.Random(SEED + 1)  # apart: kills never vary
    acked: dict[str, str] = {}  # idempotency key -> the submission id the server answered
    new_once: set[str] = set()  # keys answered 202 (a new submission): once each at most
    before_kills: list[list[str]] = []  # the chain's block hashes after each kill
    ready_s: list[float] = []
    for cycle in range(1, CYCLES + 1):
        t0 = time.monotonic()
        server = _start(data, port, tmp_path / "server.log", LIMITED)
        ready_s.append(time.monotonic() - t0)
        # On from where the last cycle stopped: every body not yet acknowledged (the ones
        # in flight at the kill keep their Idempotency-Key), and a few acknowledged
        # keys again, which must be answered with the same id.
        replays = picks.sample(sorted(acked), min(REPLAYS, len(acked)))
        files = []
        for name, items, api_key, clients in (
            ("records", records, key, 16),
            ("issues", issues, core_key, 2),
        ):
            bodies, out = tmp_path / f"{name}-{cycle}.jsonl", tmp_path / f"{name}-{cycle}.out"
            keyed = {x.key: x for x in items}
            again = [keyed[k] for k in replays if k in keyed]
            write_items(bodies, again + [x for x in items if x.key not in acked])
            files.append((bodies, out, api_key, clients))
        with (tmp_path / "load.log").open("ab") as log:
            loads = [_load(url, k, b, o, clients=c, log=log) for b, o, k, c in files]
            deadline = time.monotonic() + 60
            while not all(read_accepted(o) for _, o, _, _ in files):
                assert time.monotonic() < deadline, "the load got no acknowledgement"
                time.sleep(0.02)
            delay = kills.uniform(*KILL_AFTER_S)
            time.sleep(delay)
            assert all(p.poll() is None for p in loads), "the load ran out before the kill"
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
            for p in loads:
                p.send_signal(signal.SIGTERM)
            assert [p.wait(timeout=60) for p in loads] == [0] * len(loads)
        lines = [x for _, o, _, _ in files for x in read_accepted(o)]
        earlier = dict(acked)
        for line in lines:
            k, sub_id = line["key"], line["id"]
            # A retried key is answered with the id it was first given, never a new one.
            assert acked.setdefault(k, sub_id) == sub_id, line
            if line["status"] == 202:
                assert k not in new_once, f"{k} was accepted as new twice"
                new_once.add(k)
            if k in replays:
                assert line["status"] == 200, line
        assert len(set(acked.values())) == len(acked)  # no two keys share a submission
        fresh = {k for k in acked if k not in earlier}
        # Journaled in flight at the last kill, unanswered, then found by the retry.
        in_flight = sum(x["status"] == 200 and x["key"] not in earlier for x in lines)
        assert all(any(x["key"] == k for x in lines) for k in replays)
        before_kills.append(_block_hashes(data))
        status, unsettled = _journal_counts(data, set(acked.values()))
        print(
            f"\ncycle {cycle}: ready in {ready_s[-1]:.2f} s at block {len(before_kills[-1]) - 1}, "
            f"killed {delay:.2f} s into the load; accepted {len(fresh)} "
            f"({sum(k.startswith('load-') for k in fresh)} records, "
            f"{sum(k.startswith('i') for k in fresh)} receivables; {in_flight} of them "
            f"journaled in flight and answered on retry), {len(replays)} replays same id; "
            f"of {len(acked)} acknowledged: {status.get('anchored', 0)} anchored, "
            f"{status.get('pending', 0)} pending; {unsettled} transactions journaled, unsettled"
        )

    # A last restart: everything acknowledged gets anchored, once.
    t0 = time.monotonic()
    server = _start(data, port, tmp_path / "server.log")
    ready_s.append(time.monotonic() - t0)
    try:
        deadline = time.monotonic() + 180
        with httpx.Client(base_url=url, timeout=10) as http:
            while http.get("/ready").json()["pending"]:
                assert time.monotonic() < deadline, "still pending after 180 s"
                time.sleep(0.2)
        drained_s = time.monotonic() - t0
        statuses: dict[str, dict[str, Any]] = {}
        for api_key in (key, core_key):
            with httpx.Client(base_url=url, headers={"X-API-Key": api_key}, timeout=10) as http:
                for k, sub_id in acked.items():
                    if k.startswith("load-") == (api_key == key):
                        statuses[k] = http.get(f"/v1/submissions/{sub_id}").json()
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(
        f"final restart: ready in {ready_s[-1]:.2f} s, nothing pending after {drained_s:.2f} s; "
        f"ready times {', '.join(f'{s:.2f}' for s in ready_s)} s"
    )

    assert len(statuses) == len(acked)
    assert {d["status"] for d in statuses.values()} == {"anchored"}, statuses
    assert all(statuses[k]["id"] == sub_id for k, sub_id in acked.items())
    relayed = {k: d for k, d in statuses.items() if not k.startswith("load-")}
    assert relayed, "no relayed write was accepted"
    receivable_ids = [d["result"]["receivable_id"] for d in relayed.values()]
    assert len(set(receivable_ids)) == len(relayed)  # one receivable per accepted write
    after = _block_hashes(data)
    for hashes in before_kills:
        assert after[: len(hashes)] == hashes  # no restart rewrote a block

    # Exactly once: every anchored record names one place on chain, and no two share it.
    places = [
        d["result"].get("uid") or (d["result"]["batch_id"], d["result"]["index"])
        for k, d in statuses.items()
        if k.startswith("load-")
    ]
    assert len(places) == len(set(places))
    settings = Settings(data_dir=data)
    service = Service.open(settings, start_worker=False)
    regulator = development_regulator(settings)
    try:
        anchors = service.db.query(
            "SELECT tx_hash, state, kind, (SELECT count(*) FROM submissions s"
            " WHERE s.anchor_id = anchors.id) AS carried FROM anchors"
        )
        assert {a["state"] for a in anchors} == {"done"}
        anchored = records_on_chain = batches = 0
        for n in range(service.chain.backend.block_number() + 1):
            for receipt in service.chain.backend.receipts_in_block(n):
                events = service.ledger.attestations.decode_events(receipt)
                anchored += sum(e.name in ("Attested", "BatchAnchored") for e in events)
                batches += sum(e.name == "BatchAnchored" for e in events)
                records_on_chain += sum(
                    1 if e.name == "Attested" else int(e.args["count"])
                    for e in events
                    if e.name in ("Attested", "BatchAnchored")
                )
                events = service.ledger.receivables.decode_events(receipt)
                anchored += sum(e.name == "ReceivableIssued" for e in events)
        # One on-chain record, batch or receivable per journaled transaction, and per request
        # of a journaled executeBatch: none sent twice.
        assert anchored == sum(a["carried"] if a["kind"] == "relays" else 1 for a in anchors)
        # Everything journaled is anchored: also the writes journaled just before a kill and
        # never answered (the client's retry with its key finds them).
        journaled = service.db.query("SELECT id, operation, status FROM submissions")
        assert {r["status"] for r in journaled} == {"anchored"}
        assert set(acked.values()) <= {r["id"] for r in journaled}
        # One record on chain per journaled record, one receivable per journaled issue.
        assert records_on_chain == sum(r["operation"] == "attestations.attest" for r in journaled)
        issued = [r for r in journaled if r["operation"] == "receivables.issue"]
        assert service.ledger.receivables.receivable_count() == len(issued)
        # The event index the listings read saw each event once, and keeps each batch's
        # tree once (a tree stored again after a crash replaces nothing).
        index = service.index
        names = ("Attested", "BatchAnchored", "ReceivableIssued")
        assert sum(index.count_events(name=n) for n in names) == anchored
        trees = sqlite3.connect(str(data / "index.sqlite"))
        try:
            assert trees.execute("SELECT count(*) FROM batch_trees").fetchone() == (batches,)
            (leaves,) = trees.execute("SELECT count(*) FROM batch_records").fetchone()
        finally:
            trees.close()
        assert leaves == records_on_chain - index.count_events(name="Attested")
    finally:
        service.close()


def _signed_issues(service: Service, core: LocalAccount, supplier: str, count: int) -> list[Item]:
    """``count`` receivables the core enterprise signs up front (the SDK's bodies, kept to
    post later)."""
    client = sdk.Client(
        deployment=sdk.Deployment.from_manifest(service.ledger.manifest),
        account=core,
        clock=service.chain.now,
        lifetime_s=86_400,
    )
    due = service.chain.now() + 90 * 86_400
    with client.prepared() as writes:
        for n in range(count):
            invoice, contract = keccak256(f"crash invoice {n}".encode()), keccak256(b"contract")
            client.issue_receivable(
                supplier, 1_000 + n, due, contract_hash=contract, invoice_commitments=[invoice]
            )
    return [Item(w.path, f"i{n}", w.body) for n, w in enumerate(writes)]
