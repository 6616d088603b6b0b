"""A real server under load, killed with SIGKILL and restarted: nothing accepted is lost."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from eth_account.signers.local import LocalAccount

from api.config import Settings
from api.service import Service
from ledger_client import Keyring, Role, connect
from ledger_client.contracts.attestations import schema_id
from ledger_client.merkle import keccak256
from scripts.loadgen import make_bodies, run_load

REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(data_dir: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
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
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/ready", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read().decode() if proc.stderr else "server died")
        time.sleep(0.1)
    proc.kill()
    raise AssertionError("the server did not become ready")


def _block_hashes(data_dir: Path) -> list[str]:
    chain = connect("embedded", data_dir=data_dir / "chain")
    try:
        return [chain.backend.block(n).hash for n in range(chain.backend.block_number() + 1)]
    finally:
        chain.close()


@pytest.mark.slow
def test_kill_9_under_load_loses_nothing_and_duplicates_nothing(tmp_path: Path) -> None:
    # Set the deployment up once: a bank, its API key, signed records to send.
    service = Service.open(Settings(data_dir=tmp_path), start_worker=False)
    bank = Keyring("crash-test").account("bank")
    service.chain.fund(bank.address)
    service.ledger.consortium.admit_member(
        service.keyring.account("regulator"), bank.address, "Bank", "Hefei", Role.ATTESTER
    )
    key = service.keys.issue(bank.address)
    # Relayed writes too: a core enterprise issues receivables, each its own signed call.
    registrar, core, supplier = (Keyring("crash-test").account(n) for n in ("reg", "core", "sup"))
    service.chain.fund(registrar.address)
    service.ledger.consortium.admit_member(
        service.keyring.account("regulator"), registrar.address, "Reg", "Hefei", Role.REGISTRAR
    )
    for n, ent in enumerate((core, supplier)):
        service.ledger.consortium.bind_enterprise(registrar, ent.address, bytes([n + 1]) * 32)
    core_key = service.keys.issue(core.address)
    issues = _signed_issues(service, core, supplier.address, 400)
    loan = service.ledger.schemas["loan-repayment"]
    bodies = make_bodies(
        bank,
        service.separator,
        loan,
        schema_id(loan),
        3_000,
        first_nonce=1,
        deadline=service.chain.now() + 86_400,
    )
    service.close()

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = _start(tmp_path, port)
    stop = threading.Event()
    killer = threading.Timer(2.0, lambda: (os.kill(server.pid, signal.SIGKILL), stop.set()))
    killer.start()
    relayed: list[str] = []
    relayer = threading.Thread(target=_post_issues, args=(url, core_key, issues, stop, relayed))
    relayer.start()
    load = run_load(url, key, bodies, clients=16, duration_s=20, stop=stop)
    killer.join()
    relayer.join()
    server.wait(timeout=30)
    assert load.accepted, "nothing was accepted before the kill"
    assert relayed, "no relayed write was accepted before the kill"

    before = _block_hashes(tmp_path)
    server = _start(tmp_path, port)
    try:
        deadline = time.monotonic() + 120
        statuses: dict[str, dict[str, object]] = {}
        with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=10) as http:
            while time.monotonic() < deadline:
                statuses = {s: http.get(f"/v1/submissions/{s}").json() for s in load.accepted}
                if all(d["status"] != "pending" for d in statuses.values()):
                    break
                time.sleep(0.5)
        with httpx.Client(base_url=url, headers={"X-API-Key": core_key}, timeout=10) as http:
            while time.monotonic() < deadline:
                issued = {s: http.get(f"/v1/submissions/{s}").json() for s in relayed}
                if all(d["status"] != "pending" for d in issued.values()):
                    break
                time.sleep(0.5)
    finally:
        os.kill(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    assert {d["status"] for d in statuses.values()} == {"anchored"}, statuses
    assert {d["status"] for d in issued.values()} == {"anchored"}, issued
    receivable_ids = [d["result"]["receivable_id"] for d in issued.values()]
    assert len(set(receivable_ids)) == len(relayed)  # one receivable per accepted write
    after = _block_hashes(tmp_path)
    assert after[: len(before)] == before  # the restart rewrote no block

    # Exactly once: every anchored submission names one place on chain, and no two share it.
    places = [
        d["result"].get("uid") or (d["result"]["batch_id"], d["result"]["index"])  # type: ignore[union-attr]
        for d in statuses.values()
    ]
    assert len(places) == len(set(places))
    service = Service.open(Settings(data_dir=tmp_path), start_worker=False)
    try:
        anchors = service.db.query("SELECT tx_hash, state FROM anchors")
        assert {a["state"] for a in anchors} == {"done"}
        anchored = 0
        for n in range(service.chain.backend.block_number() + 1):
            for receipt in service.chain.backend.receipts_in_block(n):
                events = service.ledger.attestations.decode_events(receipt)
                anchored += sum(e.name in ("Attested", "BatchAnchored") for e in events)
                events = service.ledger.receivables.decode_events(receipt)
                anchored += sum(e.name == "ReceivableIssued" for e in events)
        # One on-chain record, batch or receivable per journaled transaction: none sent twice.
        assert anchored == len(anchors)
        # A write journaled just before the kill may never have been answered; it is
        # anchored all the same (the client's retry with its key finds it).
        journaled = service.db.query(
            "SELECT id, status FROM submissions WHERE operation = 'receivables.issue'"
        )
        assert {r["status"] for r in journaled} == {"anchored"}
        assert set(relayed) <= {r["id"] for r in journaled}
        assert service.ledger.receivables.receivable_count() == len(journaled)
    finally:
        service.close()


def _signed_issues(
    service: Service, core: LocalAccount, supplier: str, count: int
) -> list[dict[str, object]]:
    """``count`` receivables the core enterprise signs up front, as the API takes them."""
    rc, fw = service.ledger.receivables, service.ledger.forwarder
    due, deadline = service.chain.now() + 90 * 86_400, service.chain.now() + 86_400
    bodies = []
    for n in range(count):
        invoice, contract = keccak256(f"crash invoice {n}".encode()), keccak256(b"contract")
        args = (supplier, 1_000 + n, due, contract, [invoice])
        signed = fw.sign(core, rc, "issue", *args, deadline=deadline)
        bodies.append(
            {
                "supplier": supplier,
                "amount_fen": 1_000 + n,
                "due_date": due,
                "contract_hash": "0x" + contract.hex(),
                "invoice_hashes": ["0x" + invoice.hex()],
                "signer": core.address,
                "nonce": signed.request.nonce,
                "deadline": deadline,
                "signature": "0x" + signed.signature.hex(),
            }
        )
    return bodies


def _post_issues(
    url: str, key: str, bodies: list[dict[str, object]], stop: threading.Event, out: list[str]
) -> None:
    """Post the issues one after another until the server dies; note each one accepted."""
    with httpx.Client(base_url=url, headers={"X-API-Key": key}, timeout=10) as http:
        for n, body in enumerate(bodies):
            if stop.is_set():
                return
            try:
                r = http.post("/v1/receivables", json=body, headers={"Idempotency-Key": f"i{n}"})
            except httpx.HTTPError:
                return
            if r.status_code in (200, 202):
                out.append(r.json()["id"])
