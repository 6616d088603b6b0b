"""Every relayed write through TestClient: attestations revoked and replaced, authorisations,
the query trail, disputes and receivables; and every refusal, each by name with its fields."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sdk
from ledger_client.attestations.merkle import keccak256
from ledger_client.types import AttestationFields
from pipeline.worker import AnchorWorker
from tests.api_world import DAY, ApiWorld, error, open_world


@pytest.fixture
def w(tmp_path: Path) -> Iterator[ApiWorld]:
    with open_world(tmp_path) as world:
        yield world


ZERO = "0x" + "00" * 32


def h(label: str) -> str:
    return "0x" + keccak256(label.encode()).hex()


def b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


def attest(w: ApiWorld, who: str, subject: str, label: str) -> tuple[str, dict[str, str]]:
    """An attestation made directly (not through the API); its uid and committed fields."""
    loan = w.ledger.schemas["loan-repayment"]
    made = w.ledger.attestations.attest(w[who], loan, b(subject), b(h(label)))
    return "0x" + made.uid.hex(), {"subject": subject, "data_hash": h(label), "ref_uid": ZERO}


# -- attestations: revoke, replace, list -----------------------------------------------------


def test_revoke_and_replace_are_relayed_signed_calls(w: ApiWorld) -> None:
    uid, fields = attest(w, "bank-a", w.subject("core"), "record-1")
    other, _ = attest(w, "bank-a", w.subject("core"), "record-2")
    bank = w.sdk_client("bank-a")
    # Replace: signed by the attester, handed in with its own key (the SDK's body).
    old = AttestationFields(b(fields["subject"]), b(fields["data_hash"]), b(fields["ref_uid"]))
    done = bank.wait(bank.replace(uid, old, h("record-1b")))
    new_uid = done.uid
    assert [e["name"] for e in done.made("events")] == ["Attested", "Replaced"]
    got = w.sdk_client("auditor").attestation(uid)
    assert got["validity"] == "REPLACED"
    assert got["replaced_by"] == new_uid
    # Revoke with a reason.
    done = bank.wait(bank.revoke(other, h("court order")))
    assert done.made("events")[0]["args"]["revoker"] == w["bank-a"].address
    assert w.sdk_client("bank-b").attestation(other)["validity"] == "REVOKED"


def test_revoke_refusals(w: ApiWorld) -> None:
    a = w.ledger.attestations
    uid, _ = attest(w, "bank-a", w.subject("core"), "record-3")
    by_b = {"reason": ZERO, **w.signed("bank-b", a, "revoke", b(uid), bytes(32))}
    # Bank B's own signed revocation of bank A's record: the chain's rule, by name, at once.
    r = error(
        w.post(f"/v1/attestations/{uid}/revoke", "bank-b", by_b), 403, "AttestationsNotAttester"
    )
    assert r["caller"] == w["bank-b"].address
    assert r["attester"] == w["bank-a"].address
    # Bank A's key cannot hand in bank B's signature, nor bank B's key bank A's.
    by_a = {"reason": ZERO, **w.signed("bank-a", a, "revoke", b(uid), bytes(32))}
    r = error(w.post(f"/v1/attestations/{uid}/revoke", "bank-b", by_a), 403, "KeyMemberMismatch")
    assert r["signer"] == w["bank-a"].address
    error(w.post(f"/v1/attestations/{uid}/revoke", "bank-a", by_b), 403, "KeyMemberMismatch")
    # Bank B signs, claiming to be bank A: the server will not relay a forgery.
    forged = {**by_b, "signer": w["bank-a"].address}
    r = error(w.post(f"/v1/attestations/{uid}/revoke", "bank-a", forged), 403, "SignatureMismatch")
    assert r["recovered"] != w["bank-a"].address
    # A signature over another call (another uid) does not cover this one.
    other, _ = attest(w, "bank-a", w.subject("core"), "record-4")
    error(w.post(f"/v1/attestations/{other}/revoke", "bank-a", by_a), 403, "SignatureMismatch")
    unknown = "0x" + "42" * 32
    body = {"reason": ZERO, **w.signed("bank-a", a, "revoke", b(unknown), bytes(32))}
    r = error(
        w.post(f"/v1/attestations/{unknown}/revoke", "bank-a", body), 404, "AttestationsUnknown"
    )
    assert r["uid"] == unknown
    # The auditor's key is read-only; no key at all is unauthenticated.
    error(w.post(f"/v1/attestations/{uid}/revoke", "auditor", by_a), 403, "ReadOnlyKey")
    r = w.client.post(f"/v1/attestations/{uid}/revoke", json=by_a, headers={"Idempotency-Key": "x"})
    error(r, 401, "Unauthenticated")
    r = w.client.post(f"/v1/attestations/{uid}/revoke", json=by_a, headers=w.headers("bank-a"))
    error(r, 422, "IdempotencyKeyRequired")
    # Accepted once; the same key again is the same submission, a new key the same nonce 409.
    first = w.post(f"/v1/attestations/{uid}/revoke", "bank-a", by_a, idem="rv")
    assert first.status_code == 202
    again = w.post(f"/v1/attestations/{uid}/revoke", "bank-a", by_a, idem="rv")
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    error(w.post(f"/v1/attestations/{uid}/revoke", "bank-a", by_a), 409, "NonceAlreadySubmitted")
    error(
        w.post(f"/v1/attestations/{other}/revoke", "bank-a", by_a, idem="rv"),
        409,
        "IdempotencyKeyReused",
    )
    assert w.wait(first.json()["id"], "bank-a")["status"] == "anchored"
    # Relayed already: a second signed revocation is the contract's conflict.
    later = {"reason": ZERO, **w.signed("bank-a", a, "revoke", b(uid), bytes(32))}
    r = error(
        w.post(f"/v1/attestations/{uid}/revoke", "bank-a", later), 409, "AttestationsAlreadyRevoked"
    )
    assert r["uid"] == uid


def test_short_lived_or_expired_requests(w: ApiWorld) -> None:
    a = w.ledger.attestations
    uid, _ = attest(w, "bank-a", w.subject("core"), "record-5")
    soon = w.service.chain.now() + 5
    body = {"reason": ZERO, **w.signed("bank-a", a, "revoke", b(uid), bytes(32), deadline=soon)}
    r = error(
        w.post(f"/v1/attestations/{uid}/revoke", "bank-a", body), 422, "SignatureTooShortLived"
    )
    assert r["deadline"] == soon


def test_list_attestations_by_subject_attester_schema_paged(w: ApiWorld) -> None:
    for n in range(5):
        attest(w, "bank-a" if n % 2 == 0 else "bank-b", w.subject("tier1"), f"listed-{n}")
    attest(w, "bank-a", w.subject("tier2"), "elsewhere")
    page = w.get("/v1/attestations", "auditor", subject=w.subject("tier1"), limit=2).json()
    assert page["count"] == 5
    assert len(page["data"]) == 2
    rest = w.get("/v1/attestations", "auditor", subject=w.subject("tier1"), limit=2, offset=4)
    assert len(rest.json()["data"]) == 1
    by_a = w.get(
        "/v1/attestations", "auditor", attester=w["bank-a"].address, schema="loan-repayment"
    ).json()
    assert by_a["count"] == 4
    assert {d["attester"] for d in by_a["data"]} == {w["bank-a"].address}
    assert all(d["validity"] == "VALID" for d in by_a["data"])
    newest = w.get("/v1/attestations", "auditor", subject=w.subject("tier1"), newest_first=True)
    assert newest.json()["data"][0]["data_hash"] == h("listed-4")
    error(w.get("/v1/attestations", "auditor", schema="no-such"), 404, "NotFound")
    error(w.get("/v1/attestations", "auditor", subject="0x12"), 422, "RequestValidationError")
    error(w.get("/v1/attestations", "auditor", limit=0), 422, "RequestValidationError")


# -- authorisations, the query trail, shared reports ----------------------------------------


def authorise(w: ApiWorld, enterprise: str, member: str, **over: Any) -> dict[str, Any]:
    """The enterprise's signed Authorise of ``member``, as the API takes it."""
    request = w.ledger.authorisations
    from ledger_client.contracts.authorisations import AuthorisationRequest
    from ledger_client.types import QueryPurpose

    purpose = over.pop("purpose", QueryPurpose.LOAN_APPROVAL)
    expiry = over.pop("expiry", w.service.chain.now() + 90 * DAY)
    signed = request.sign_authorisation(
        w[enterprise], AuthorisationRequest(w[member].address, purpose, expiry, ())
    )
    return {**sdk.bodies.authorisation(signed), "purpose": "loan-approval", **over}


def test_consent_authorise_query_share_withdraw(w: ApiWorld) -> None:
    auths = w.ledger.authorisations
    grant = authorise(w, "tier1", "bank-a")
    # Handed in by another bank than the one it names: refused.
    r = error(w.post("/v1/authorisations", "bank-b", grant), 403, "KeyMemberMismatch")
    assert r["signer"] == w["tier1"].address
    result = w.write("/v1/authorisations", "bank-a", grant)  # by the bank it names
    auth_id = result["auth_id"]
    got = w.get(f"/v1/authorisations/{auth_id}", "bank-a").json()
    assert got["member"] == w["bank-a"].address
    assert got["purpose"] == "loan-approval"
    assert got["in_force"]
    assert got["enterprise"] == w["tier1"].address
    # The enterprise's own key may hand in its signed authorisation too.
    w.write("/v1/authorisations", "tier1", authorise(w, "tier1", "bank-b"))
    assert w.get("/v1/authorisations", "tier1", subject=w.subject("tier1")).json()["count"] == 2
    assert w.get("/v1/authorisations", "bank-a", subject=w.subject("tier1")).json()["count"] == 1
    # A signature altered after signing (another member named) does not verify.
    error(
        w.post("/v1/authorisations", "bank-b", {**grant, "member": w["bank-b"].address}),
        403,
        "SignatureMismatch",
    )
    error(
        w.post("/v1/authorisations", "bank-a", {**grant, "purpose": "gossip"}),
        422,
        "InvalidPurpose",
    )

    # The query trail: logged by the authorised member, signed by it.
    qhash = h("query: loan application 17")
    args = (b(auth_id), 1, b(qhash), bytes(32))
    body = {
        "auth_id": auth_id,
        "purpose": 1,
        "query_hash": qhash,
        **w.signed("bank-a", auths, "logQuery", *args),
    }
    query_id = w.write("/v1/queries", "bank-a", body)["query_id"]
    # Bank B logging under bank A's authorisation: the contract's refusal, by name.
    body_b = {
        "auth_id": auth_id,
        "purpose": 1,
        "query_hash": h("q2"),
        **w.signed("bank-b", auths, "logQuery", b(auth_id), 1, b(h("q2")), bytes(32)),
    }
    r = error(w.post("/v1/queries", "bank-b", body_b), 403, "AuthorisationsNotGrantee")
    assert r["member"] == w["bank-a"].address
    unknown = "0x" + "77" * 32
    body_u = {
        "auth_id": unknown,
        "purpose": 1,
        "query_hash": h("q3"),
        **w.signed("bank-a", auths, "logQuery", b(unknown), 1, b(h("q3")), bytes(32)),
    }
    error(w.post("/v1/queries", "bank-a", body_u), 404, "AuthorisationsUnknown")
    # Who queried the enterprise: the enterprise, regulators and auditors may see.
    seen = w.get("/v1/queries", "tier1", subject=w.subject("tier1")).json()
    assert [q["query_id"] for q in seen["data"]] == [query_id]
    assert seen["data"][0]["member"] == w["bank-a"].address
    assert w.get("/v1/queries", "auditor", subject=w.subject("tier1")).json()["count"] == 1
    assert w.get("/v1/queries", "regulator", member=w["bank-a"].address).json()["count"] == 1
    assert w.get("/v1/queries", "bank-a", member=w["bank-a"].address).json()["count"] == 1
    error(w.get("/v1/queries", "bank-b", subject=w.subject("tier1")), 403, "NotPermitted")
    error(w.get("/v1/queries", "bank-b", member=w["bank-a"].address), 403, "NotPermitted")
    error(w.get("/v1/queries", "auditor"), 422, "QueryFilterRequired")

    # A report shared in answer: recorded by the sending attester (the bureau).
    w.ledger.consortium.publish_encryption_key(w["bank-a"], b"\x19" * 32)
    ct = h("sealed envelope")
    body = {
        "recipient": w["bank-a"].address,
        "ciphertext_hash": ct,
        **w.signed("bureau", auths, "recordReportShare", b(query_id), w["bank-a"].address, b(ct)),
    }
    w.write(f"/v1/queries/{query_id}/report-shares", "bureau", body)
    to_b = {
        "recipient": w["bank-b"].address,
        "ciphertext_hash": ct,
        **w.signed("bureau", auths, "recordReportShare", b(query_id), w["bank-b"].address, b(ct)),
    }
    r = error(
        w.post(f"/v1/queries/{query_id}/report-shares", "bureau", to_b),
        403,
        "AuthorisationsRecipientNotQuerier",
    )
    assert r["member"] == w["bank-a"].address
    shares = w.get(f"/v1/queries/{query_id}/report-shares", "bank-a").json()
    assert shares["data"][0]["sender"] == w["bureau"].address
    assert shares["data"][0]["recipient_key"] == "0x" + "19" * 32

    # Withdrawn by the enterprise's signature, handed in by the bank it names.
    body = w.signed("tier1", auths, "withdraw", b(auth_id))
    error(
        w.post(f"/v1/authorisations/{auth_id}/withdraw", "bank-b", body), 403, "KeyMemberMismatch"
    )
    w.write(f"/v1/authorisations/{auth_id}/withdraw", "bank-a", body)
    assert not w.get(f"/v1/authorisations/{auth_id}", "bank-a").json()["in_force"]
    again = {
        "auth_id": auth_id,
        "purpose": 1,
        "query_hash": h("q4"),
        **w.signed("bank-a", auths, "logQuery", b(auth_id), 1, b(h("q4")), bytes(32)),
    }
    r = error(w.post("/v1/queries", "bank-a", again), 403, "AuthorisationsWithdrawn")
    assert r["authId"] == auth_id
    error(w.post(f"/v1/authorisations/{unknown}/withdraw", "bank-a", body), 404, "NotFound")


# -- disputes ---------------------------------------------------------------------------------


def test_disputes_raised_by_the_subject_resolved_by_the_attester(w: ApiWorld) -> None:
    d = w.ledger.disputes
    uid, fields = attest(w, "bureau", w.subject("tier2"), "tax grade C")
    fields_t = tuple(b(v) for v in fields.values())
    reason = h("we paid that tax")
    body = {
        "uid": uid,
        "fields": fields,
        "reason_hash": reason,
        **w.signed("tier2", d, "raiseDispute", b(uid), fields_t, b(reason)),
    }
    # Handed in by the member that attested the record (or the enterprise itself), no other.
    error(w.post("/v1/disputes", "bank-a", body), 403, "KeyMemberMismatch")
    dispute_id = w.write("/v1/disputes", "bureau", body)["dispute_id"]
    assert w.get(f"/v1/attestations/{uid}", "auditor").json()["validity"] == "DISPUTED"
    listed = w.get("/v1/attestations", "auditor", subject=w.subject("tier2")).json()["data"]
    assert listed[0]["validity"] == "DISPUTED"
    got = w.get(f"/v1/disputes/{dispute_id}", "auditor").json()
    assert got["status"] == "open"
    assert got["raised_by"] == w["tier2"].address
    assert got["reason_hash"] == reason
    assert (
        w.get("/v1/disputes", "regulator", attester=w["bureau"].address, status="open").json()[
            "count"
        ]
        == 1
    )
    # Raised twice: the conflict, by name.
    again = {**body, **w.signed("tier2", d, "raiseDispute", b(uid), fields_t, b(reason))}
    r = error(w.post("/v1/disputes", "tier2", again), 409, "DisputesAlreadyOpen")
    assert r["disputeId"] == dispute_id
    # Another bank may not resolve it; the bureau rejects it.
    answer = h("the tax office confirms the arrears")
    by_b = {"reason_hash": answer, **w.signed("bank-b", d, "rejectDispute", dispute_id, b(answer))}
    error(w.post(f"/v1/disputes/{dispute_id}/reject", "bank-b", by_b), 403, "DisputesNotResolver")
    by_bureau = {
        "reason_hash": answer,
        **w.signed("bureau", d, "rejectDispute", dispute_id, b(answer)),
    }
    w.write(f"/v1/disputes/{dispute_id}/reject", "bureau", by_bureau)
    got = w.get(f"/v1/disputes/{dispute_id}", "auditor").json()
    assert (got["status"], got["resolver"], got["late"]) == ("rejected", w["bureau"].address, False)
    # Answered: a second dispute of the record is refused by name (the remedy is a complaint).
    raise2 = {**body, **w.signed("tier2", d, "raiseDispute", b(uid), fields_t, b(reason))}
    r = error(w.post("/v1/disputes", "tier2", raise2), 409, "DisputesAlreadyAnswered")
    assert (r["uid"], r["disputeId"]) == (uid, dispute_id)
    # Upheld once corrected: another record, disputed; the bureau revokes it, then upholds.
    uid, fields = attest(w, "bureau", w.subject("tier2"), "tax grade D")
    fields_t = tuple(b(v) for v in fields.values())
    raise2 = {
        "uid": uid,
        "fields": fields,
        "reason_hash": reason,
        **w.signed("tier2", d, "raiseDispute", b(uid), fields_t, b(reason)),
    }
    second = w.write("/v1/disputes", "tier2", raise2)["dispute_id"]
    early = {"reply_hash": ZERO, **w.signed("bureau", d, "upholdDispute", second, bytes(32))}
    error(w.post(f"/v1/disputes/{second}/uphold", "bureau", early), 409, "DisputesNotCorrected")
    a = w.ledger.attestations
    w.write(
        f"/v1/attestations/{uid}/revoke",
        "bureau",
        {"reason": ZERO, **w.signed("bureau", a, "revoke", b(uid), bytes(32))},
    )
    uphold = {
        "reply_hash": h("corrected"),
        **w.signed("bureau", d, "upholdDispute", second, b(h("corrected"))),
    }
    w.write(f"/v1/disputes/{second}/uphold", "bureau", uphold)
    assert w.get(f"/v1/disputes/{second}", "auditor").json()["status"] == "upheld"
    error(w.get("/v1/disputes/999", "auditor"), 404, "NotFound")
    error(w.get("/v1/disputes/0", "auditor"), 422, "RequestValidationError")
    error(w.post("/v1/disputes", "tier2", {**body, "uid": "0x" + "55" * 32}), 404, "NotFound")


def test_overdue_disputes_are_listed(w: ApiWorld) -> None:
    d = w.ledger.disputes
    uid, fields = attest(w, "bureau", w.subject("core"), "overdue record")
    fields_t = tuple(b(v) for v in fields.values())
    body = {
        "uid": uid,
        "fields": fields,
        "reason_hash": h("r"),
        **w.signed("core", d, "raiseDispute", b(uid), fields_t, b(h("r"))),
    }
    w.write("/v1/disputes", "core", body)
    assert w.get("/v1/disputes", "regulator", overdue=True).json()["count"] == 0
    w.advance(21 * DAY)
    overdue = w.get("/v1/disputes", "regulator", overdue=True).json()
    assert overdue["count"] == 1
    assert overdue["data"][0]["overdue"]
    assert w.get(f"/v1/attestations/{uid}", "auditor").json()["validity"] == "DISPUTE_OVERDUE"


# -- receivables --------------------------------------------------------------------------------


def issue(w: ApiWorld, amount: int = 1_000_000, days: int = 60, invoice: str | None = None) -> str:
    """The core enterprise issues a receivable to tier 1, which accepts it; its id."""
    r = w.ledger.receivables
    due = w.service.chain.now() + days * DAY
    inv = h(invoice or f"invoice {amount} {days} {due}")
    args = (w["tier1"].address, amount, due, b(h("contract")), [b(inv)])
    body = {
        "supplier": w["tier1"].address,
        "amount_fen": amount,
        "due_date": due,
        "contract_hash": h("contract"),
        "invoice_commitments": [inv],
        **w.signed("core", r, "issue", *args),
    }
    rid: str = w.write("/v1/receivables", "core", body)["receivable_id"]
    w.write(f"/v1/receivables/{rid}/accept", "tier1", w.signed("tier1", r, "accept", b(rid)))
    return rid


def test_receivables_lifecycle(w: ApiWorld) -> None:
    r = w.ledger.receivables
    rid = issue(w)
    got = w.get(f"/v1/receivables/{rid}", "bank-a").json()
    assert (got["label"], got["status"], got["amount_fen"]) == ("R1", "active", 1_000_000)
    assert got["holder"] == w.subject("tier1")
    # Tier 1 splits 400,000 fen off to tier 2.
    body = {
        "to": w["tier2"].address,
        "amount_fen": 400_000,
        **w.signed("tier1", r, "split", b(rid), w["tier2"].address, 400_000),
    }
    child = w.write(f"/v1/receivables/{rid}/split", "tier1", body)["receivable_id"]
    lineage = w.get(f"/v1/receivables/{child}/lineage", "tier2").json()["lineage"]
    assert lineage == [child, rid]
    # Tier 2 asks bank A for financing: handed in by bank A, whom it names.
    week = w.service.chain.now() + 7 * DAY
    terms = {"min_advance_fen": 350_000, "max_discount_bps": 400, "expires_at": week}
    ask = {
        "financier": w["bank-a"].address,
        **terms,
        **w.signed("tier2", r, "requestFinancing", b(child), w["bank-a"].address, *terms.values()),
    }
    error(
        w.post(f"/v1/receivables/{child}/financing-requests", "bank-b", ask),
        403,
        "KeyMemberMismatch",
    )
    w.write(f"/v1/receivables/{child}/financing-requests", "bank-a", ask)
    ask_b = {
        "financier": w["bank-b"].address,
        **terms,
        **w.signed("tier2", r, "requestFinancing", b(child), w["bank-b"].address, *terms.values()),
    }
    w.write(f"/v1/receivables/{child}/financing-requests", "tier2", ask_b)
    # Bank B cannot finance with bank A's key, nor with a signature that is not its own.
    fin_b = {
        "advance_fen": 350_000,
        "discount_bps": 400,
        **w.signed("bank-b", r, "finance", b(child), 350_000, 400),
    }
    error(w.post(f"/v1/receivables/{child}/finance", "bank-a", fin_b), 403, "KeyMemberMismatch")
    fin_a = {
        "advance_fen": 380_000,
        "discount_bps": 350,
        **w.signed("bank-a", r, "finance", b(child), 380_000, 350),
    }
    w.write(f"/v1/receivables/{child}/finance", "bank-a", fin_a)
    # Double financing: the conflict, 409, with the contract's arguments.
    e = error(
        w.post(f"/v1/receivables/{child}/finance", "bank-b", fin_b),
        409,
        "ReceivablesAlreadyFinanced",
    )
    assert e["id"] == child
    assert e["financier"] == w["bank-a"].address
    # A financed part cannot move either.
    move = {
        "to": w["core"].address,
        **w.signed("tier2", r, "transfer", b(child), w["core"].address),
    }
    error(
        w.post(f"/v1/receivables/{child}/transfer", "tier2", move),
        409,
        "ReceivablesAlreadyFinanced",
    )
    fin = w.get("/v1/financings", "bank-a", financier=w["bank-a"].address).json()
    assert fin["count"] == 1
    assert (fin["data"][0]["advance_fen"], fin["data"][0]["live"]) == (380_000, True)
    assert w.get("/v1/financings", "tier2", holder=w.subject("tier2")).json()["count"] == 1
    # Tier 1 transfers the rest to tier 2; lists by holder and debtor follow.
    body = {
        "to": w["tier2"].address,
        **w.signed("tier1", r, "transfer", b(rid), w["tier2"].address),
    }
    w.write(f"/v1/receivables/{rid}/transfer", "tier1", body)
    held = w.get("/v1/receivables", "tier2", holder=w.subject("tier2")).json()
    assert {p["id"] for p in held["data"]} == {rid, child}
    assert w.get("/v1/receivables", "core", debtor=w.subject("core")).json()["count"] == 2
    assert w.get("/v1/receivables", "tier1", holder=w.subject("tier1")).json()["count"] == 0
    history = w.get(f"/v1/receivables/{child}/history", "bank-a").json()
    assert [e["name"] for e in history["data"]] == [
        "ReceivableSplit",
        "FinancingRequested",
        "FinancingRequested",
        "ReceivableFinanced",
    ]
    # Bank A is repaid and releases; at maturity the debtor settles both parts.
    w.write(
        f"/v1/receivables/{child}/release",
        "bank-a",
        w.signed("bank-a", r, "releaseFinancing", b(child)),
    )
    early = {"ids": [rid, child], **w.signed("core", r, "settle", [b(rid), b(child)])}
    e = error(w.post("/v1/receivables/settlements", "core", early), 409, "ReceivablesNotDue")
    assert e["id"] == rid
    w.advance(61 * DAY)
    late = {"ids": [rid, child], **w.signed("core", r, "settle", [b(rid), b(child)])}
    w.write("/v1/receivables/settlements", "core", late)
    assert w.get(f"/v1/receivables/{child}", "core").json()["status"] == "paid"
    assert (
        w.get("/v1/financings", "bank-a", financier=w["bank-a"].address, live=True).json()["count"]
        == 0
    )


def test_reject_withdraw_request_and_mark_overdue(w: ApiWorld) -> None:
    r = w.ledger.receivables
    # Rejected by the supplier, the invoice released: the debtor can issue against it again.
    due = w.service.chain.now() + 30 * DAY
    inv = h("invoice to reject")
    args = (w["tier1"].address, 5_000, due, b(h("contract")), [b(inv)])
    body = {
        "supplier": w["tier1"].address,
        "amount_fen": 5_000,
        "due_date": due,
        "contract_hash": h("contract"),
        "invoice_commitments": [inv],
        **w.signed("core", r, "issue", *args),
    }
    rid = w.write("/v1/receivables", "core", body)["receivable_id"]
    dup = {**body, **w.signed("core", r, "issue", *args)}
    e = error(w.post("/v1/receivables", "core", dup), 409, "ReceivablesDuplicateInvoice")
    assert e["invoiceCommitment"] == inv
    rej = {"released_invoices": [inv], **w.signed("tier1", r, "reject", b(rid), [b(inv)])}
    error(w.post(f"/v1/receivables/{rid}/reject", "core", rej), 403, "KeyMemberMismatch")
    w.write(f"/v1/receivables/{rid}/reject", "tier1", rej)
    assert w.get(f"/v1/receivables/{rid}", "tier1").json()["status"] == "rejected"
    w.write("/v1/receivables", "core", {**body, **w.signed("core", r, "issue", *args)})
    # A financing request withdrawn; then bank A cannot finance.
    part = issue(w, 20_000, days=10)
    terms = {"min_advance_fen": 1, "max_discount_bps": 0, "expires_at": due}
    ask = {
        "financier": w["bank-a"].address,
        **terms,
        **w.signed("tier1", r, "requestFinancing", b(part), w["bank-a"].address, *terms.values()),
    }
    w.write(f"/v1/receivables/{part}/financing-requests", "tier1", ask)
    back = {
        "financier": w["bank-a"].address,
        **w.signed("tier1", r, "withdrawFinancingRequest", b(part), w["bank-a"].address),
    }
    w.write(f"/v1/receivables/{part}/financing-requests/withdraw", "bank-a", back)
    fin = {"advance_fen": 1, "discount_bps": 0, **w.signed("bank-a", r, "finance", b(part), 1, 0)}
    e = error(
        w.post(f"/v1/receivables/{part}/finance", "bank-a", fin),
        403,
        "ReceivablesNoFinancingRequest",
    )
    assert e["financier"] == w["bank-a"].address
    # Unpaid past due date plus 15 days: the holder marks it overdue; a default is attested.
    mark = w.signed("tier1", r, "markOverdue", b(part))
    e = error(
        w.post(f"/v1/receivables/{part}/mark-overdue", "tier1", mark), 409, "ReceivablesNotOverdue"
    )
    w.advance(26 * DAY)
    mark = w.signed("tier1", r, "markOverdue", b(part))
    done = w.write(f"/v1/receivables/{part}/mark-overdue", "tier1", mark)
    uid = done["attestation"]
    got = w.get(f"/v1/receivables/{part}", "auditor").json()
    assert (got["status"], got["default_attestation"]) == ("overdue", uid)
    defaulted = w.get(f"/v1/attestations/{uid}", "auditor").json()
    assert defaulted["attester"] == r.address
    error(w.get("/v1/receivables/0x" + "66" * 32, "auditor"), 404, "NotFound")
    error(w.get("/v1/receivables/0x" + "66" * 32 + "/lineage", "auditor"), 404, "NotFound")
    error(w.get("/v1/receivables/0x" + "66" * 32 + "/history", "auditor"), 404, "NotFound")
    error(w.get("/v1/receivables", "auditor"), 422, "FilterRequired")
    error(w.get("/v1/financings", "auditor"), 422, "FilterRequired")


def test_a_refusal_the_dry_run_could_not_see_is_rejected_by_the_worker_by_name(w: ApiWorld) -> None:
    r = w.ledger.receivables
    rid = issue(w, 70_000)
    uid, _ = attest(w, "bank-a", w.subject("core"), "revoked after the refused transfer")
    assert w.service.worker is not None
    w.service.worker.stop()  # hold the worker: the writes are pending together, one round
    first = {
        "to": w["tier2"].address,
        **w.signed("tier1", r, "transfer", b(rid), w["tier2"].address),
    }
    second = {
        "to": w["core"].address,
        **w.signed("tier1", r, "transfer", b(rid), w["core"].address),
    }
    one = w.post(f"/v1/receivables/{rid}/transfer", "tier1", first)
    # Tier 1 has a write pending, so this one is journaled without a dry run...
    two = w.post(f"/v1/receivables/{rid}/transfer", "tier1", {**second, "to": w["bank-a"].address})
    error(two, 403, "SignatureMismatch")  # ...but still only as signed
    two = w.post(f"/v1/receivables/{rid}/transfer", "tier1", second)
    assert (one.status_code, two.status_code) == (202, 202)
    # Another party's write after it, relayed in the same round.
    revoke = {
        "reason": ZERO,
        **w.signed("bank-a", w.ledger.attestations, "revoke", b(uid), bytes(32)),
    }
    three = w.post(f"/v1/attestations/{uid}/revoke", "bank-a", revoke)
    assert three.status_code == 202
    worker = AnchorWorker(w.service)
    while worker.anchor_pending():
        pass
    first_done = w.wait(one.json()["id"], "tier1")
    assert first_done["status"] == "anchored"
    # The refused one sank neither the write before it nor the one after: the round was one
    # executeBatch, its requests in the order accepted, each settled with its own outcome.
    last = w.wait(three.json()["id"], "bank-a")
    assert last["status"] == "anchored"
    assert w.get(f"/v1/attestations/{uid}", "bank-a").json()["validity"] == "REVOKED"
    refused = w.wait(two.json()["id"], "tier1")
    assert refused["status"] == "rejected"
    result = refused["result"]
    assert first_done["result"]["tx_hash"] == result["tx_hash"] == last["result"]["tx_hash"]
    receipt = w.service.chain.backend.receipt_if_mined(result["tx_hash"])
    assert receipt is not None
    assert receipt.status == 1
    each = w.ledger.forwarder.batch_outcomes(receipt, 3)
    assert [x.refusal is None for x in each] == [True, False, True]
    assert [e.name for e in each[2].events(w.ledger.attestations)] == ["Revoked"]
    assert result["error"] == "ReceivablesNotHolder"  # tier 2 holds it now
    assert result["id"] == rid
    assert result["account"] == w["tier1"].address
    assert result["tx_hash"].startswith("0x")


def test_deployment_and_openapi_describe_every_resource(w: ApiWorld) -> None:
    dep = w.get("/v1/deployment", "auditor").json()
    assert dep["contracts"]["Forwarder"] == w.ledger.forwarder.address
    assert dep["forwarder_domain"]["name"] == "YRD Credit Forwarder"
    paths = w.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/attestations/{uid}/revoke",
        "/v1/attestations/{uid}/replace",
        "/v1/batch-records",
        "/v1/authorisations",
        "/v1/authorisations/{auth_id}/withdraw",
        "/v1/queries",
        "/v1/queries/{query_id}/report-shares",
        "/v1/disputes",
        "/v1/disputes/{dispute_id}/reject",
        "/v1/disputes/{dispute_id}/uphold",
        "/v1/receivables",
        "/v1/receivables/settlements",
        "/v1/receivables/{receivable_id}/accept",
        "/v1/receivables/{receivable_id}/reject",
        "/v1/receivables/{receivable_id}/split",
        "/v1/receivables/{receivable_id}/transfer",
        "/v1/receivables/{receivable_id}/financing-requests",
        "/v1/receivables/{receivable_id}/finance",
        "/v1/receivables/{receivable_id}/release",
        "/v1/receivables/{receivable_id}/mark-overdue",
        "/v1/receivables/{receivable_id}/lineage",
        "/v1/receivables/{receivable_id}/history",
        "/v1/financings",
    ):
        assert path in paths, path


def test_forwarder_refusals_reach_the_caller_by_name(w: ApiWorld) -> None:
    a = w.ledger.attestations
    uid, _ = attest(w, "bank-a", w.subject("core"), "relayed elsewhere")
    # The same signed request relayed outside the API first: the dry run finds the nonce used.
    signed = w.ledger.forwarder.sign(w["bank-a"], a, "revoke", b(uid), bytes(32))
    relayer = w.service.relayer
    w.ledger.forwarder.relay(relayer, signed)
    body = {"reason": ZERO, **sdk.bodies.forward_fields(signed)}
    r = error(w.post(f"/v1/attestations/{uid}/revoke", "bank-a", body), 409, "ForwarderNonceUsed")
    assert (r["signer"], r["nonce"]) == (w["bank-a"].address, signed.request.nonce)


def test_a_request_that_lapses_while_pending_is_rejected_by_name(w: ApiWorld) -> None:
    a = w.ledger.attestations
    uid, _ = attest(w, "bank-a", w.subject("core"), "lapses")
    assert w.service.worker is not None
    w.service.worker.stop()
    deadline = w.service.chain.now() + w.service.settings.signature_margin_s + 60
    body = {"reason": ZERO, **w.signed("bank-a", a, "revoke", b(uid), bytes(32), deadline=deadline)}
    sub = w.post(f"/v1/attestations/{uid}/revoke", "bank-a", body)
    assert sub.status_code == 202
    w.advance(3_600)
    worker = AnchorWorker(w.service)
    while worker.anchor_pending():
        pass
    done = w.wait(sub.json()["id"], "bank-a")
    assert done["status"] == "rejected"
    assert done["result"]["error"] == "ForwarderExpired"
    assert done["result"]["deadline"] == deadline
    assert w.get(f"/v1/attestations/{uid}", "bank-a").json()["validity"] == "VALID"
