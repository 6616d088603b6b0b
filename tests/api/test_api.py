"""The HTTP API through TestClient: every resource, every refusal, one error body."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from fastapi.testclient import TestClient

import sdk
from api.main import create_app
from ledger_client import Keyring, Role
from ledger_client.attestations.records import record_hash, sample_record
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.attestations import schema_id
from ledger_client.types import AttestRequest
from pipeline.config import Settings
from pipeline.service import Service, development_regulator


@dataclass
class Api:
    client: TestClient
    service: Service
    bank: LocalAccount
    other_bank: LocalAccount
    financier: LocalAccount
    bank_key: str
    other_key: str
    financier_key: str
    auditor_key: str

    def headers(self, key: str, idem: str | None = None) -> dict[str, str]:
        h = {"X-API-Key": key}
        if idem is not None:
            h["Idempotency-Key"] = idem
        return h

    def signed(
        self,
        signer: LocalAccount,
        *,
        nonce: int,
        record: dict[str, Any] | None = None,
        deadline: int | None = None,
        ref_uid: str = "0x" + "00" * 32,
        claimed: str | None = None,
    ) -> dict[str, Any]:
        loan = self.service.ledger.schemas["loan-repayment"]
        record = record or sample_record(
            loan, random.Random(nonce), overrides={"subject": "0x" + f"{nonce + 1:064x}"}
        )
        request = AttestRequest(
            schema_id(loan),
            bytes.fromhex(str(record["subject"])[2:]),
            record_hash(loan, record),
            0,
            bytes.fromhex(ref_uid[2:]),
        )
        deadline = deadline or self.service.chain.now() + 3_600
        signed = SignedRecord.sign(signer, self.service.separator, request, nonce, deadline)
        # A claimed signer other than the one who signed: a forgery, for the refusals.
        return {
            **sdk.bodies.attestation("loan-repayment", signed),
            "signer": claimed or signer.address,
        }

    def wait(self, submission_id: str, key: str) -> dict[str, Any]:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = self.client.get(f"/v1/submissions/{submission_id}", headers=self.headers(key))
            doc: dict[str, Any] = r.json()
            if doc["status"] != "pending":
                return doc
            time.sleep(0.02)
        raise AssertionError(f"{submission_id} still pending")


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    settings = Settings(data_dir=tmp_path, batch_min=8, anchor_interval_s=0.02)
    service = Service.open(settings)
    regulator = development_regulator(settings)
    ring = Keyring("api-tests")
    members = {}
    for label, roles in (
        ("bank", Role.ATTESTER | Role.FINANCIER),
        ("other-bank", Role.ATTESTER),
        ("financier", Role.FINANCIER),
        ("auditor", Role.AUDITOR),
    ):
        acct = ring.account(label)
        service.chain.fund(acct.address)
        service.ledger.consortium.admit_member(regulator, acct.address, label, "Hangzhou", roles)
        members[label] = acct
    keys = service.keys
    with TestClient(create_app(service=service)) as client:
        yield Api(
            client=client,
            service=service,
            bank=members["bank"],
            other_bank=members["other-bank"],
            financier=members["financier"],
            bank_key=keys.issue(members["bank"].address),
            other_key=keys.issue(members["other-bank"].address),
            financier_key=keys.issue(members["financier"].address),
            auditor_key=keys.issue(
                members["auditor"].address, read_only=True, roles_of=service.roles_of
            ),
        )
    service.close()


def _error(r: Any, status: int, name: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body: dict[str, Any] = r.json()
    assert body["error"] == name, body
    assert isinstance(body["detail"], str)
    return body


def test_health_ready_and_openapi(api: Api) -> None:
    assert api.client.get("/health").json() == {
        "status": "ok",
        "block": None,
        "pending": None,
        "detail": None,
    }
    ready = api.client.get("/ready").json()
    assert ready["status"] == "ready"
    assert ready["block"] > 0
    paths = api.client.get("/openapi.json").json()["paths"]
    assert "/v1/attestations" in paths
    assert api.client.get("/docs").status_code == 200


def test_reads_need_a_key(api: Api) -> None:
    _error(api.client.get("/v1/members"), 401, "Unauthenticated")
    _error(
        api.client.get("/v1/members", headers={"X-API-Key": "ccak_nope"}), 401, "Unauthenticated"
    )
    key = api.service.keys.issue(api.bank.address)
    assert (
        api.client.get("/v1/members", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    )
    api.service.keys.revoke(key)
    _error(api.client.get("/v1/members", headers=api.headers(key)), 401, "ApiKeyRevoked")


def test_members_and_schemas(api: Api) -> None:
    h = api.headers(api.auditor_key)
    members = api.client.get("/v1/members", headers=h).json()
    assert {"bank", "auditor"} <= {m["name"] for m in members["data"]}
    one = api.client.get(f"/v1/members/{api.bank.address}", headers=h).json()
    assert one["roles"] == ["attester", "financier"]
    assert one["city"] == "Hangzhou"
    _error(api.client.get("/v1/members/0x" + "12" * 20, headers=h), 404, "NotFound")
    _error(api.client.get("/v1/members/nonsense", headers=h), 422, "RequestValidationError")
    schemas = api.client.get("/v1/schemas", headers=h).json()
    assert schemas["count"] == 12
    loan = api.client.get("/v1/schemas/loan-repayment", headers=h).json()
    assert api.client.get(f"/v1/schemas/{loan['id']}", headers=h).json() == loan
    _error(api.client.get("/v1/schemas/no-such", headers=h), 404, "NotFound")


def test_submit_single_then_anchored_with_a_uid(api: Api) -> None:
    body = api.signed(api.bank, nonce=1)
    r = api.client.post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "k1"))
    assert r.status_code == 202, r.text
    sub = r.json()
    assert sub["status"] == "pending"
    done = api.wait(sub["id"], api.bank_key)
    assert done["status"] == "anchored", done
    uid = done["result"]["uid"]
    att = api.client.get(f"/v1/attestations/{uid}", headers=api.headers(api.auditor_key)).json()
    assert att["attester"] == api.bank.address
    assert att["validity"] == "VALID"
    # The same Idempotency-Key again: the same submission, never a second record.
    again = api.client.post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "k1"))
    assert again.status_code == 200
    assert again.json()["id"] == sub["id"]
    changed = api.signed(api.bank, nonce=2)
    _error(
        api.client.post("/v1/attestations", json=changed, headers=api.headers(api.bank_key, "k1")),
        409,
        "IdempotencyKeyReused",
    )
    _error(
        api.client.post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "k2")),
        409,
        "NonceAlreadySubmitted",
    )


def test_a_retry_of_an_accepted_key_finds_it_after_its_checks_would_refuse_it(
    api: Api,
) -> None:
    # Accepted with a signature valid 45 s (the margin is 30 s), alone and in a batch.
    deadline = api.service.chain.now() + 45
    body = api.signed(api.bank, nonce=30, deadline=deadline)
    items = [api.signed(api.bank, nonce=n, deadline=deadline) for n in (31, 32)]
    post = api.client.post
    first = post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "slow"))
    assert first.status_code == 202, first.text
    batch = post(
        "/v1/attestations/batch",
        json={"attestations": items},
        headers=api.headers(api.bank_key, "slow-batch"),
    ).json()
    # Then the chain's clock moves on (say, a long restart): the signature is too short-lived
    # to be accepted now, but the client's retry must find what was accepted, not a refusal
    # that would make it sign the record again with a fresh nonce (and anchor it twice).
    api.service.chain.backend.time_travel(api.service.chain.now() + 20)
    api.service.refresh()
    again = post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "slow"))
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    batch_again = post(
        "/v1/attestations/batch",
        json={"attestations": items},
        headers=api.headers(api.bank_key, "slow-batch"),
    )
    assert batch_again.status_code == 200, batch_again.text  # a retry, as a single write answers
    assert [x["id"] for x in batch_again.json()["data"]] == [x["id"] for x in batch["data"]]
    # A new key is still refused; so is the same key with another body.
    _error(
        post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "slow-2")),
        422,
        "SignatureTooShortLived",
    )
    _error(
        post("/v1/attestations", json=items[0], headers=api.headers(api.bank_key, "slow")),
        409,
        "IdempotencyKeyReused",
    )
    _error(
        post(
            "/v1/attestations/batch",
            json={"attestations": items[:1]},
            headers=api.headers(api.bank_key, "slow-batch-2"),
        ),
        422,
        "SignatureTooShortLived",
    )
    # The member suspended since: its key is refused by name, a new write and the retry
    # alike (no refusal that would make it sign again); reinstated, the retry finds its write.
    regulator = development_regulator(api.service.settings)
    api.service.ledger.consortium.suspend_member(regulator, api.bank.address)
    later = api.signed(api.bank, nonce=33)
    _error(
        post("/v1/attestations", json=later, headers=api.headers(api.bank_key, "late")),
        403,
        "MemberSuspended",
    )
    _error(
        post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "slow")),
        403,
        "MemberSuspended",
    )
    api.service.ledger.consortium.reinstate_member(regulator, api.bank.address)
    again = post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "slow"))
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]


def test_refusals_of_writes(api: Api) -> None:
    post = api.client.post
    body = api.signed(api.bank, nonce=10)
    _error(
        post("/v1/attestations", json=body, headers=api.headers(api.bank_key)),
        422,
        "IdempotencyKeyRequired",
    )
    _error(
        post("/v1/attestations", json=body, headers=api.headers(api.auditor_key, "a")),
        403,
        "ReadOnlyKey",
    )
    # A key of bank A cannot act as bank B.
    mismatch = _error(
        post("/v1/attestations", json=body, headers=api.headers(api.other_key, "b")),
        403,
        "KeyMemberMismatch",
    )
    assert mismatch["signer"] == api.bank.address
    forged = api.signed(api.other_bank, nonce=11, claimed=api.bank.address)
    _error(
        post("/v1/attestations", json=forged, headers=api.headers(api.bank_key, "c")),
        403,
        "SignatureMismatch",
    )
    short = api.signed(api.bank, nonce=12, deadline=api.service.chain.now() + 5)
    _error(
        post("/v1/attestations", json=short, headers=api.headers(api.bank_key, "d")),
        422,
        "SignatureTooShortLived",
    )
    not_attester = api.signed(api.financier, nonce=13)
    _error(
        post("/v1/attestations", json=not_attester, headers=api.headers(api.financier_key, "e")),
        403,
        "SignerNotAllowed",
    )
    for bad in (
        {**body, "subject": "0x1234"},
        {**body, "nonce": -1},
        {**body, "surprise": 1},
        {**body, "signature": "0x" + "zz" * 65},
        {**body, "deadline": 2**41},
    ):
        _error(
            post("/v1/attestations", json=bad, headers=api.headers(api.bank_key, "f")),
            422,
            "RequestValidationError",
        )
    _error(
        post(
            "/v1/attestations",
            json={**body, "schema": "no-such"},
            headers=api.headers(api.bank_key, "g"),
        ),
        404,
        "NotFound",
    )
    huge = api.client.post(
        "/v1/attestations",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={**api.headers(api.bank_key, "h"), "content-type": "application/json"},
    )
    _error(huge, 413, "PayloadTooLarge")
    raw = api.client.post(
        "/v1/attestations",
        content=b"\xff\xfe not utf-8",
        headers={**api.headers(api.bank_key, "i"), "content-type": "application/json"},
    )
    _error(raw, 422, "RequestValidationError")


def test_an_on_chain_refusal_is_reported_by_name(api: Api) -> None:
    body = api.signed(api.bank, nonce=20, ref_uid="0x" + "42" * 32)
    r = api.client.post("/v1/attestations", json=body, headers=api.headers(api.bank_key, "ref"))
    done = api.wait(r.json()["id"], api.bank_key)
    assert done["status"] == "rejected"
    assert done["result"]["error"] == "AttestationsUnknownReference"
    assert done["result"]["refUID"] == "0x" + "42" * 32


def test_batch_submission_anchored_as_one_signed_batch_then_verified(api: Api) -> None:
    loan = api.service.ledger.schemas["loan-repayment"]
    records = [
        sample_record(loan, random.Random(i), overrides={"subject": "0x" + f"{i + 100:064x}"})
        for i in range(12)
    ]
    body = {
        "attestations": [
            api.signed(api.bank, nonce=100 + i, record=r) for i, r in enumerate(records)
        ]
    }
    r = api.client.post(
        "/v1/attestations/batch", json=body, headers=api.headers(api.bank_key, "batch")
    )
    assert r.status_code == 202, r.text
    subs = r.json()["data"]
    assert len(subs) == 12
    done = [api.wait(s["id"], api.bank_key) for s in subs]
    assert {d["status"] for d in done} == {"anchored"}
    assert len({d["result"]["batch_id"] for d in done}) == 1
    h = api.headers(api.auditor_key)
    proof = api.client.get(f"/v1/submissions/{subs[5]['id']}/proof", headers=h).json()
    assert proof["index"] == 5
    # The submitter and auditors see the proof; another member's key sees no such submission.
    own = api.client.get(
        f"/v1/submissions/{subs[5]['id']}/proof", headers=api.headers(api.bank_key)
    )
    assert own.json() == proof
    other = api.client.get(
        f"/v1/submissions/{subs[5]['id']}/proof", headers=api.headers(api.other_key)
    )
    assert (other.status_code, other.json()["error"]) == (404, "NotFound"), other.text
    ok = api.client.post(
        "/v1/verify", json={"record": records[5], "proof": proof}, headers=h
    ).json()
    assert ok["ok"], ok
    assert {c["name"] for c in ok["checks"]} >= {
        "signature",
        "merkle-proof",
        "attester-in-good-standing",
    }
    altered = {**records[5], "repaidFen": int(str(records[5]["repaidFen"])) + 1}
    bad = api.client.post("/v1/verify", json={"record": altered, "proof": proof}, headers=h).json()
    assert not bad["ok"]
    assert "signature" in [c["name"] for c in bad["checks"] if not c["ok"]]
    _error(
        api.client.post("/v1/verify", json={"record": records[5]}, headers=h),
        422,
        "VerifyTargetMissing",
    )


def test_rate_limit(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, rate_per_s=1, rate_burst=3)
    service = Service.open(settings)
    key = service.keys.issue(service.relayer.address)
    with TestClient(create_app(service=service)) as client:
        codes = [
            client.get("/v1/schemas", headers={"X-API-Key": key}).status_code for _ in range(6)
        ]
    service.close()
    assert codes[:3] == [200, 200, 200]
    assert 429 in codes[3:]
