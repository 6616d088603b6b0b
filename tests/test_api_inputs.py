"""Bad input never yields a 500: a sweep of malformed bodies, paths and queries over every
route, each answered 4xx with the one error body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Response

from ledger_client.merkle import keccak256
from tests.api_world import ApiWorld, error, open_world

H = "0x" + "ab" * 32
A = "0x" + "12" * 20
SIG = {"signer": A, "nonce": 1, "deadline": 2**40, "signature": "0x" + "11" * 65}

#: Each write route and a body of the right shape (a bad signature: it never reaches a chain).
WRITES: list[tuple[str, dict[str, Any]]] = [
    ("/v1/attestations", {"schema": "loan-repayment", "subject": H, "data_hash": H, **SIG}),
    (
        "/v1/attestations/batch",
        {"attestations": [{"schema": "loan-repayment", "subject": H, "data_hash": H, **SIG}]},
    ),
    (f"/v1/attestations/{H}/revoke", {"reason": H, **SIG}),
    (
        f"/v1/attestations/{H}/replace",
        {"old": {"subject": H, "data_hash": H}, "data_hash": H, **SIG},
    ),
    (
        "/v1/authorisations",
        {
            "member": A,
            "purpose": 1,
            "expiry": 2**39,
            "schemas": [],
            "enterprise": A,
            "nonce": 1,
            "deadline": 2**39,
            "signature": SIG["signature"],
        },
    ),
    (f"/v1/authorisations/{H}/withdraw", dict(SIG)),
    ("/v1/queries", {"auth_id": H, "purpose": 1, "query_hash": H, **SIG}),
    (f"/v1/queries/{H}/report-shares", {"recipient": A, "ciphertext_hash": H, **SIG}),
    (
        "/v1/disputes",
        {"uid": H, "fields": {"subject": H, "data_hash": H}, "reason_hash": H, **SIG},
    ),
    ("/v1/disputes/1/reject", {"reason_hash": H, **SIG}),
    ("/v1/disputes/1/uphold", {"reply_hash": H, **SIG}),
    (
        "/v1/receivables",
        {
            "supplier": A,
            "amount_fen": 5,
            "due_date": 2**39,
            "contract_hash": H,
            "invoice_hashes": [H],
            **SIG,
        },
    ),
    ("/v1/receivables/settlements", {"ids": [H], **SIG}),
    (f"/v1/receivables/{H}/accept", dict(SIG)),
    (f"/v1/receivables/{H}/reject", {"released_invoices": [H], **SIG}),
    (f"/v1/receivables/{H}/split", {"to": A, "amount_fen": 5, **SIG}),
    (f"/v1/receivables/{H}/transfer", {"to": A, **SIG}),
    (f"/v1/receivables/{H}/financing-requests", {"financier": A, **SIG}),
    (f"/v1/receivables/{H}/financing-requests/withdraw", {"financier": A, **SIG}),
    (f"/v1/receivables/{H}/finance", {"advance_fen": 5, "discount_bps": 10, **SIG}),
    (f"/v1/receivables/{H}/release", dict(SIG)),
    (f"/v1/receivables/{H}/mark-overdue", dict(SIG)),
    ("/v1/verify", {"uid": H, "record": {"subject": H}}),
]
#: Not writes: a malformed record may be answered 200 with the checks that failed.
ANSWERS_200 = {"/v1/verify"}

#: Values no field should take.
BAD_VALUES: list[Any] = [
    "0xzz" + "00" * 31,  # malformed hex
    "0x1234",  # wrong length
    "ab" * 32,  # no 0x
    -1,  # negative
    2**64,  # overflows an amount
    2**256,  # overflows any integer
    1e400,  # not a number JSON can hold
    "",
    None,
    [],
    {"nested": [1, 2]},
    "\u0000\ud7ff\U0001f600",
    "x" * 10_000,
    True,
]


@pytest.fixture(scope="module")
def w(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiWorld]:
    with open_world(tmp_path_factory.mktemp("inputs")) as world:
        yield world


def refused(r: Response, *, or_ok: bool = False) -> dict[str, Any]:
    """A 4xx with the one error body (or, with ``or_ok``, a 200)."""
    if or_ok and r.status_code == 200:
        return {}
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    body: dict[str, Any] = r.json()
    assert isinstance(body.get("error"), str), body
    assert isinstance(body.get("detail"), str), body
    return body


def _mutations(body: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield {**body, "surprise": 1}  # unknown field
    for key, value in body.items():
        yield {k: v for k, v in body.items() if k != key}  # a field missing
        for bad in BAD_VALUES:
            if bad == value:
                continue
            yield {**body, key: bad}
        if isinstance(value, dict):
            for sub in _mutations(value):
                yield {**body, key: sub}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for sub in _mutations(value[0]):
                yield {**body, key: [sub]}


def test_every_write_refuses_malformed_bodies(w: ApiWorld) -> None:
    key = w.keys["bank-a"]
    n = 0
    for path, body in WRITES:
        for i, bad in enumerate(_mutations(body)):
            headers = {"X-API-Key": key, "Idempotency-Key": f"sweep-{n}-{i}"}
            raw = json.dumps(bad, allow_nan=True).encode()
            headers["content-type"] = "application/json"
            refused(w.client.post(path, content=raw, headers=headers), or_ok=path in ANSWERS_200)
            n += 1
    assert n > 500


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe not utf-8",
        b"{",
        b"",
        b"null",
        b"[]",
        b'"a string"',
        b"[" * 50_000 + b"]" * 50_000,  # nesting deep enough to exhaust a recursive parser
        b'{"a": ' * 20_000 + b"1" + b"}" * 20_000,
        json.dumps({"x": "\ud800"}).encode(),  # a lone surrogate
    ],
)
def test_unparseable_bodies(w: ApiWorld, raw: bytes) -> None:
    for path, _ in WRITES[:3] + WRITES[-4:]:
        headers = {
            "X-API-Key": w.keys["bank-a"],
            "Idempotency-Key": "raw",
            "content-type": "application/json",
        }
        refused(w.client.post(path, content=raw, headers=headers), or_ok=path in ANSWERS_200)


def test_bad_paths_and_queries(w: ApiWorld) -> None:
    gets = [
        "/v1/attestations/0x12",
        "/v1/attestations/" + "zz" * 32,
        "/v1/attestations?limit=-1",
        "/v1/attestations?limit=abc",
        "/v1/attestations?offset=99999999999999999999",
        "/v1/attestations?attester=0x12",
        "/v1/attestations?since=-5",
        "/v1/attestations?schema=" + "x" * 500,
        "/v1/members/0xZZ",
        "/v1/schemas/%00",
        "/v1/submissions/" + "x" * 5000,
        "/v1/submissions/nope/proof",
        "/v1/authorisations?subject=0x12",
        "/v1/authorisations/0x" + "00" * 32,
        "/v1/queries?subject=0x12",
        "/v1/queries?subject=" + H + "&member=" + A,
        "/v1/disputes/abc",
        "/v1/disputes/-1",
        "/v1/disputes/" + str(2**300),
        "/v1/disputes?status=lost",
        "/v1/receivables/0x12",
        "/v1/receivables?holder=" + H + "&debtor=" + H,
        "/v1/receivables?holder=0x1",
        "/v1/financings?financier=nobody",
        "/v1/batch-records?subject=0x1",
        "/v1/nowhere",
    ]
    for path in gets:
        refused(w.client.get(path, headers={"X-API-Key": w.keys["auditor"]}))
    for path in ("/v1/disputes/abc/reject", "/v1/receivables/0x12/accept", "/v1/disputes/0/uphold"):
        refused(
            w.client.post(
                path, json=SIG, headers={"X-API-Key": w.keys["bank-a"], "Idempotency-Key": "p"}
            )
        )
    r = w.client.post(
        "/v1/receivables/settlements",
        json={"ids": [H], **SIG},
        headers={"X-API-Key": w.keys["bank-a"], "Idempotency-Key": "k" * 201},
    )
    error(r, 422, "RequestValidationError")
    error(
        w.client.delete("/v1/receivables", headers={"X-API-Key": w.keys["bank-a"]}),
        405,
        "MethodNotAllowed",
    )


def test_well_formed_but_refused_by_the_chain(w: ApiWorld) -> None:
    """Values of the right shape that the contracts refuse: a past due date, a zero amount,
    a discount over 100 %. Signed properly, each is refused by name at once."""
    r = w.ledger.receivables
    now = w.service.chain.now()
    inv = "0x" + keccak256(b"sweep invoice").hex()

    def issue(amount: int, due: int) -> Response:
        args = (w["tier1"].address, amount, due, keccak256(b"c"), [bytes.fromhex(inv[2:])])
        body = {
            "supplier": w["tier1"].address,
            "amount_fen": amount,
            "due_date": due,
            "contract_hash": "0x" + keccak256(b"c").hex(),
            "invoice_hashes": [inv],
            **w.signed("core", r, "issue", *args),
        }
        return w.post("/v1/receivables", "core", body)

    e = error(issue(100, now - 86_400), 422, "ReceivablesInvalidDueDate")
    assert e["dueDate"] == now - 86_400
    error(issue(0, now + 86_400), 422, "ReceivablesInvalidAmount")
    e = error(issue(100, 0), 422, "ReceivablesInvalidDueDate")
    assert e["dueDate"] == 0
