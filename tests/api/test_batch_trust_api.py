"""Batch records through the doors people use: the HTTP API (TestClient) and the
``credit-chain verify`` command in its own process.

A record the API folded into a signed batch gets a record id; its subject disputes it through
the API, a stranger cannot; its signing bank revokes and corrects it through the API, another
bank cannot. Every verifier refuses a copy whose claim the relayer rewrote, a junk record hash
under a real signer, and a revoked record.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import sdk
from ledger_client import Keyring, Manifest, Role, attach, connect
from ledger_client.attestations.batches import BatchProof, anchor_signed_records
from ledger_client.attestations.merkle import MerkleTree, keccak256
from ledger_client.attestations.records import Schema, record_hash, record_subject, sample_record
from ledger_client.attestations.signed_records import (
    SignedRecord,
    batch_claim,
    domain_separator,
    signed_leaf,
)
from ledger_client.contracts.attestations import schema_id
from ledger_client.types import AttestRequest, BatchEntry, Validity
from scripts.cli import app
from tests.api_world import ApiWorld, error, open_world

REASON = "0x" + keccak256("记录有误".encode()).hex()


@pytest.fixture
def w(tmp_path: Path) -> Iterator[ApiWorld]:
    with open_world(tmp_path) as world:
        yield world


def _records(w: ApiWorld, schema: Schema, n: int) -> list[dict[str, object]]:
    return [
        sample_record(schema, random.Random(i), overrides={"subject": w.subject("core")})
        for i in range(n)
    ]


def _signed_bodies(
    w: ApiWorld, n: int
) -> tuple[list[dict[str, object]], list[SignedRecord], list[dict[str, Any]]]:
    """``n`` records about the core enterprise signed by bank-a, and their request bodies."""
    loan = w.ledger.schemas["loan-repayment"]
    records = _records(w, loan, n)
    separator = domain_separator(w.ledger.attestations.domain)
    deadline = w.ledger.chain.now() + 3_600
    bodies, signed_records = [], []
    for i, record in enumerate(records):
        request = AttestRequest(schema_id(loan), record_subject(record), record_hash(loan, record))
        signed = SignedRecord.sign(w["bank-a"], separator, request, 500 + i, deadline)
        signed_records.append(signed)
        bodies.append(sdk.bodies.attestation(loan.name, signed))
    return records, signed_records, bodies


def _anchor_through_api(w: ApiWorld, n: int = 8) -> tuple[list[dict[str, object]], list[Any]]:
    """bank-a hands in ``n`` signed records about the core enterprise; the API batches them."""
    records, _, bodies = _signed_bodies(w, n)
    r = w.post("/v1/attestations/batch", "bank-a", {"attestations": bodies})
    assert r.status_code == 202, r.text
    subs = r.json()["data"]
    done = [w.wait(s["id"], "bank-a") for s in subs]
    assert len({d["result"]["batch_id"] for d in done}) == 1, done
    proofs = [w.get(f"/v1/submissions/{s['id']}/proof", "bank-a").json() for s in subs]
    return records, proofs


def _target(proof: dict[str, Any]) -> dict[str, Any]:
    return {"batch_id": proof["batch_id"], "record": proof["record"], "proof": proof["proof"]}


def _args(proof: dict[str, Any]) -> tuple[Any, ...]:
    r = proof["record"]
    entry = BatchEntry(
        bytes.fromhex(r["subject"][2:]),
        bytes.fromhex(r["data_hash"][2:]),
        r["attester"],
        r["nonce"],
        r["deadline"],
        bytes.fromhex(r["signature"][2:]),
    )
    return (
        bytes.fromhex(proof["batch_id"][2:]),
        entry.as_tuple(),
        [bytes.fromhex(p[2:]) for p in proof["proof"]],
    )


def test_subject_disputes_and_signer_revokes_and_corrects_through_the_api(w: ApiWorld) -> None:
    a, d = w.ledger.attestations, w.ledger.disputes
    records, proofs = _anchor_through_api(w)
    p = proofs[3]
    batch_id, entry, proof = _args(p)
    assert a.batch_record(batch_id, BatchEntry(*entry), proof).record_id.hex() == p["record_id"][2:]
    reason = bytes.fromhex(REASON[2:])
    # A stranger (another bound enterprise) disputes it: refused by name.
    stranger = {
        **_target(p),
        "reason_hash": REASON,
        **w.signed("tier1", d, "raiseBatchRecordDispute", batch_id, entry, proof, reason),
    }
    error(w.post("/v1/disputes/batch-record", "tier1", stranger), 403, "DisputesNotSubject")
    # The subject disputes it, with its own key.
    body = {
        **_target(p),
        "reason_hash": REASON,
        **w.signed("core", d, "raiseBatchRecordDispute", batch_id, entry, proof, reason),
    }
    raised = w.write("/v1/disputes/batch-record", "core", body)
    dispute = w.get(f"/v1/disputes/{raised['dispute_id']}", "auditor").json()
    assert (dispute["uid"], dispute["attester"]) == (p["record_id"], w["bank-a"].address)
    assert a.batch_record_validity(batch_id, BatchEntry(*entry), proof) is Validity.DISPUTED
    # Another bank cannot revoke it; the signing bank can, then upholds the dispute.
    zero = "0x" + "00" * 32
    by_b = {
        **_target(p),
        "reason": zero,
        **w.signed("bank-b", a, "revokeBatchRecord", batch_id, entry, proof, bytes(32)),
    }
    error(w.post("/v1/batch-records/revoke", "bank-b", by_b), 403, "AttestationsNotAttester")
    by_a = {
        **_target(p),
        "reason": zero,
        **w.signed("bank-a", a, "revokeBatchRecord", batch_id, entry, proof, bytes(32)),
    }
    w.write("/v1/batch-records/revoke", "bank-a", by_a)
    assert a.batch_record_validity(batch_id, BatchEntry(*entry), proof) is Validity.REVOKED
    # The revoked copy no longer verifies through POST /v1/verify.
    verdict = w.client.post(
        "/v1/verify", json={"record": records[3], "proof": p}, headers=w.headers("auditor")
    ).json()
    assert not verdict["ok"]
    assert [c["name"] for c in verdict["checks"] if not c["ok"]] == ["validity"]
    # The signing bank corrects another record of the batch.
    q = proofs[5]
    batch_id, entry, proof = _args(q)
    fixed = "0x" + keccak256(b"corrected record").hex()
    body = {
        **_target(q),
        "data_hash": fixed,
        "expiry": 0,
        **w.signed(
            "bank-a",
            a,
            "replaceBatchRecord",
            batch_id,
            entry,
            proof,
            bytes.fromhex(fixed[2:]),
            0,
        ),
    }
    made = w.write("/v1/batch-records/replace", "bank-a", body)
    assert a.batch_record_validity(batch_id, BatchEntry(*entry), proof) is Validity.REPLACED
    assert a.record_status(bytes.fromhex(q["record_id"][2:]))[1] == bytes.fromhex(made["uid"][2:])
    # The index lists both: the revoked record and the corrected one, by record id.
    w.service.index.sync()
    listed = w.get("/v1/batch-records", "auditor", batch_id=q["batch_id"]).json()["data"]
    by_id = {r["record_id"]: r for r in listed}
    assert by_id[p["record_id"]]["revoked_at"] > 0
    assert by_id[q["record_id"]]["replaced_by"] == made["uid"]
    # An inner node passed as a record: refused by name at once.
    signer = {k: by_a[k] for k in ("signer", "nonce", "deadline", "signature")}
    inner = {
        "batch_id": q["batch_id"],
        "record": {**q["record"], "subject": q["proof"][0], "data_hash": q["proof"][1]},
        "proof": q["proof"][2:],
        "reason": zero,
        **signer,
    }
    error(w.post("/v1/batch-records/revoke", "bank-a", inner), 422, "AttestationsNotInBatch")


def test_a_record_relayed_elsewhere_is_refused_alone_in_the_batch(w: ApiWorld) -> None:
    """bank-b relays one of bank-a's signed records through attestBySig before the API's
    batch: the chain would refuse the whole batch for it, so the API rejects that record by
    the chain's name and anchors the others."""
    a = w.ledger.attestations
    _, signed, bodies = _signed_bodies(w, 9)
    r4 = signed[4]
    a.attest_by_sig(
        w["bank-b"],
        r4.request,
        attester=r4.signer,
        nonce=r4.nonce,
        deadline=r4.deadline,
        signature=r4.signature,
    )
    r = w.post("/v1/attestations/batch", "bank-a", {"attestations": bodies})
    assert r.status_code == 202, r.text
    done = [w.wait(x["id"], "bank-a") for x in r.json()["data"]]
    assert done[4]["status"] == "rejected"
    assert (done[4]["result"]["error"], done[4]["result"]["nonce"]) == (
        "AttestationsNonceUsed",
        504,
    )
    rest = [d for i, d in enumerate(done) if i != 4]
    assert {d["status"] for d in rest} == {"anchored"}
    assert len({d["result"]["batch_id"] for d in rest}) == 1


def test_the_api_verifier_refuses_a_rewritten_claim(w: ApiWorld) -> None:
    records, proofs = _anchor_through_api(w)
    p = proofs[2]
    ok = w.client.post(
        "/v1/verify", json={"record": records[2], "proof": p}, headers=w.headers("auditor")
    ).json()
    assert ok["ok"], ok
    assert "anchored-once-in-time" in [c["name"] for c in ok["checks"]]
    later = {**p, "signed_record": {**p["signed_record"], "deadline": p["record"]["deadline"] + 1}}
    bad = w.client.post(
        "/v1/verify", json={"record": records[2], "proof": later}, headers=w.headers("auditor")
    ).json()
    assert not bad["ok"]


def test_credit_chain_verify_refuses_forged_and_revoked_copies(tmp_path: Path) -> None:
    """The relayer anchors, beside honest records, one whose claim it rewrote (a later
    deadline) and a junk record hash in the bank's name; the bank revokes one honest record.
    ``credit-chain verify`` in its own process passes only the honest record in force."""
    out = tmp_path / "ledger"
    assert CliRunner().invoke(app, ["deploy", "--data-dir", str(out)]).exit_code == 0
    chain = connect("embedded", data_dir=out)
    ledger = attach(chain, Manifest.load(out / "manifest.json"))
    ring = Keyring.load(out / "keys.json")
    regulator, bank, relayer = (ring.account(x) for x in ("regulator", "bank", "relayer"))
    for who, roles in ((bank, Role.ATTESTER), (relayer, Role.RELAYER | Role.ATTESTER)):
        chain.fund(who.address)
        ledger.consortium.admit_member(regulator, who.address, who.address[:8], "Hefei", roles)
    loan = ledger.schemas["loan-repayment"]
    a = ledger.attestations
    separator = domain_separator(a.domain)
    records = [
        sample_record(loan, random.Random(i), overrides={"subject": "0x" + "5a" * 32})
        for i in range(4)
    ]
    deadline = chain.now() + 600
    signed = [
        SignedRecord.sign(
            bank,
            separator,
            AttestRequest(schema_id(loan), record_subject(r), record_hash(loan, r)),
            nonce=i,
            deadline=deadline,
        )
        for i, r in enumerate(records)
    ]
    honest = anchor_signed_records(a, relayer, signed[:2])
    a.revoke_batch_record(bank, honest.batch_id, honest.entry(1), honest.proof(1))
    hashes = [bytes(signed[2].record_hash()), keccak256(b"junk")]
    claims = [
        batch_claim(bank.address, 2, deadline + 86_400),
        batch_claim(bank.address, 3, deadline),
    ]
    forged_id = (
        a._send(relayer, "anchorSignedBatch", schema_id(loan), 0, hashes, claims)
        .event("SignedBatchAnchored")
        .args["batchId"]
    )
    tree = MerkleTree([signed_leaf(h, c) for h, c in zip(hashes, claims, strict=True)])
    chain.close()
    rewritten = {**signed[2].to_dict(), "deadline": deadline + 86_400}
    cases = {
        "honest": (records[0], honest.proof_for(0), 0),
        "revoked": (records[1], honest.proof_for(1), 1),
        "rewritten-claim": (
            records[2],
            BatchProof(forged_id, 0, list(tree.proof(0)), rewritten),
            1,
        ),
        "rewritten-claim-as-signed": (
            records[2],
            BatchProof(forged_id, 0, list(tree.proof(0)), signed[2].to_dict()),
            1,
        ),
        "junk-under-real-signer": (
            records[3],
            BatchProof(forged_id, 1, list(tree.proof(1)), signed[3].to_dict()),
            1,
        ),
    }
    for name, (record, proof, expected) in cases.items():
        (tmp_path / f"{name}.record.json").write_text(json.dumps(record))
        (tmp_path / f"{name}.proof.json").write_text(json.dumps(proof.to_dict()))
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "scripts.cli",
                "verify",
                "--manifest",
                str(out / "manifest.json"),
                "--record",
                str(tmp_path / f"{name}.record.json"),
                "--proof",
                str(tmp_path / f"{name}.proof.json"),
                "--json",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            cwd=Path(__file__).resolve().parent.parent.parent,
        )
        assert run.returncode == expected, (name, run.stdout, run.stderr)
        assert json.loads(run.stdout)["ok"] is (expected == 0), name
