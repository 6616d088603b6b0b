"""Bad input never yields a 500: a sweep of malformed bodies, paths and queries over every
route, each answered 4xx with the one error body."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from httpx import Response

import sdk
from ledger_client.attestations.merkle import keccak256
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
    ("/v1/complaints", {"dispute_id": 1, "reason_hash": H, **SIG}),
    ("/v1/complaints/1/resolve", {"upheld": False, "reply_hash": H, **SIG}),
    (
        "/v1/receivables",
        {
            "supplier": A,
            "amount_fen": 5,
            "due_date": 2**39,
            "contract_hash": H,
            "invoice_commitments": [H],
            **SIG,
        },
    ),
    ("/v1/receivables/settlements", {"ids": [H], **SIG}),
    (f"/v1/receivables/{H}/accept", dict(SIG)),
    (f"/v1/receivables/{H}/reject", {"released_invoices": [H], **SIG}),
    (f"/v1/receivables/{H}/split", {"to": A, "amount_fen": 5, **SIG}),
    (f"/v1/receivables/{H}/transfer", {"to": A, **SIG}),
    (
        f"/v1/receivables/{H}/financing-requests",
        {"financier": A, "min_advance_fen": 5, "max_discount_bps": 10, "expires_at": 2**39, **SIG},
    ),
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
        "/v1/complaints/abc",
        "/v1/complaints/0",
        "/v1/complaints?status=lost",
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
            "invoice_commitments": [inv],
            **w.signed("core", r, "issue", *args),
        }
        return w.post("/v1/receivables", "core", body)

    e = error(issue(100, now - 86_400), 422, "ReceivablesInvalidDueDate")
    assert e["dueDate"] == now - 86_400
    error(issue(0, now + 86_400), 422, "ReceivablesInvalidAmount")
    e = error(issue(100, 0), 422, "ReceivablesInvalidDueDate")
    assert e["dueDate"] == 0


# -- the issue's list, each asserted by status and name ----------------------------------------


def _post_raw(w: ApiWorld, path: str, raw: bytes | Iterator[bytes], idem: str) -> Response:
    headers = {
        "X-API-Key": w.keys["bank-a"],
        "Idempotency-Key": idem,
        "content-type": "application/json",
    }
    response: Response = w.client.post(path, content=raw, headers=headers)  # see ApiWorld.post
    return response


def _invalid_field(r: Response, field: str) -> dict[str, Any]:
    """422 ``RequestValidationError`` naming ``field`` among the faults."""
    body = error(r, 422, "RequestValidationError")
    assert field in {e["field"] for e in body["errors"]}, (field, body)
    return body


def test_oversize_bodies_are_413_declared_or_chunked(w: ApiWorld) -> None:
    limit = w.service.settings.max_body_bytes
    for n, (path, body) in enumerate(WRITES):
        pad = json.dumps({**body, "pad": "x" * limit}).encode()
        e = error(_post_raw(w, path, pad, f"big-{n}"), 413, "PayloadTooLarge")
        assert e["limit"] == limit
    # Without a Content-Length (chunked), the body is counted as it arrives.
    chunks = iter([b'{"pad": "', b"x" * (limit // 2), b"x" * (limit // 2), b'"}'])
    error(_post_raw(w, "/v1/receivables", chunks, "big-chunked"), 413, "PayloadTooLarge")
    # A chunked body within the limit is read as usual: here, refused for what it says
    # (SIG's deadline, 2**40, is past an attestation's uint40).
    small = iter([json.dumps(WRITES[0][1])[:10].encode(), json.dumps(WRITES[0][1])[10:].encode()])
    _invalid_field(_post_raw(w, "/v1/attestations", small, "small-chunked"), "body.deadline")
    # Just under the limit is not a 413: it is read, and refused for what it says.
    under = b'{"pad": "' + b"x" * (limit - 100) + b'"}'
    _invalid_field(_post_raw(w, "/v1/receivables", under, "under"), "body.pad")


@pytest.mark.parametrize(
    "raw",
    [
        b"\xff\xfe not utf-8",  # a UTF-16 byte-order mark
        b"\x80\x81\x82",  # continuation bytes with no lead byte
        b'{"schema": "\xc3\x28"}',  # an invalid two-byte sequence inside a string
        '{"schema": "café"}'.encode("latin-1"),  # Latin-1, not UTF-8
        b"\x00\x37\xfe",
        '{"schema": "loan"}'.encode("utf-16"),
    ],
)
def test_bodies_that_are_not_utf8_are_named(w: ApiWorld, raw: bytes) -> None:
    for n, (path, _) in enumerate(WRITES):
        _invalid_field(_post_raw(w, path, raw, f"utf8-{n}"), "body")


#: (route, field, a value of the wrong length) for each kind of hex the API takes.
WRONG_HEX = [
    ("/v1/attestations", "subject", "0x" + "ab" * 31),  # 31 bytes
    ("/v1/attestations", "data_hash", "0x" + "ab" * 33),  # 33 bytes
    ("/v1/attestations", "data_hash", "0x" + "a" * 63),  # an odd number of digits
    ("/v1/attestations", "signer", "0x" + "12" * 19),
    ("/v1/attestations", "signer", "0x" + "12" * 21),
    ("/v1/attestations", "signature", "0x" + "11" * 64),
    ("/v1/attestations", "signature", "0x" + "11" * 66),
    ("/v1/receivables", "supplier", "0x" + "12" * 32),  # a hash where an address goes
    ("/v1/receivables", "contract_hash", "0x" + "12" * 20),  # an address where a hash goes
    ("/v1/receivables", "invoice_commitments.1", ["0x" + "ab" * 32, "0x" + "ab" * 16]),
    ("/v1/receivables/settlements", "ids.0", ["0x"]),
    (f"/v1/attestations/{H}/revoke", "reason", "0x" + "ab" * 32 + "00"),
]


@pytest.mark.parametrize(("path", "field", "bad"), WRONG_HEX)
def test_wrong_hex_lengths(w: ApiWorld, path: str, field: str, bad: Any) -> None:
    body = dict(next(b for p, b in WRITES if p == path))
    r = w.post(path, "bank-a", {**body, field.split(".", maxsplit=1)[0]: bad})
    e = _invalid_field(r, f"body.{field}")
    message = next(x["message"] for x in e["errors"] if x["field"] == f"body.{field}")
    assert "should match pattern" in message, e
    # In a path: 404 for a route that takes no such id, or the same named 422.
    short = "0x" + "ab" * 31
    _invalid_field(w.get(f"/v1/attestations/{short}", "auditor"), "path.uid")
    _invalid_field(w.get(f"/v1/receivables/{short}/lineage", "auditor"), "path.receivable_id")


# An int64 in JSON is no limit here: amounts stop at the contracts' uint64, nonces at 2**256,
# deadlines at 2**48, expiries at 2**40.
AMOUNTS = [-1, -(2**63), 2**64, 2**64 + 1, 2**128, 2**256, 2**300, 1.5, 1e30]


@pytest.mark.parametrize("amount", AMOUNTS)
def test_negative_and_overflowing_amounts(w: ApiWorld, amount: Any) -> None:
    cases = [
        ("/v1/receivables", "amount_fen"),
        (f"/v1/receivables/{H}/split", "amount_fen"),
        (f"/v1/receivables/{H}/finance", "advance_fen"),
        (f"/v1/receivables/{H}/finance", "discount_bps"),
    ]
    for path, field in cases:
        body = dict(next(b for p, b in WRITES if p == path))
        _invalid_field(w.post(path, "bank-a", {**body, field: amount}), f"body.{field}")


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("nonce", -1),
        ("nonce", 2**256),
        ("deadline", -1),
        ("deadline", 2**48),
        ("discount_bps", 2**16),
    ],
)
def test_integers_past_the_contracts_types(w: ApiWorld, field: str, bad: int) -> None:
    path = f"/v1/receivables/{H}/finance"
    body = dict(next(b for p, b in WRITES if p == path))
    _invalid_field(w.post(path, "bank-a", {**body, field: bad}), f"body.{field}")
    if field in ("nonce", "deadline"):  # an attestation's own fields
        att = dict(WRITES[0][1])
        limit = 2**40 if field == "deadline" else 2**256
        _invalid_field(
            w.post("/v1/attestations", "bank-a", {**att, field: max(bad, limit)}), f"body.{field}"
        )


def test_dates_in_the_past_are_refused_by_name(w: ApiWorld) -> None:
    """Deadlines, due dates and expiries in the past: each properly signed, each refused at
    once with the contract's (or the API's) named error, never journaled."""
    from ledger_client.attestations.signed_records import SignedRecord
    from ledger_client.contracts.attestations import schema_id
    from ledger_client.contracts.authorisations import AuthorisationRequest
    from ledger_client.types import AttestRequest, QueryPurpose

    now = w.service.chain.now()
    loan = w.ledger.schemas["loan-repayment"]
    subject, data = w.subjects["tier1"], keccak256(b"past dates")

    def attestation(nonce: int, expiry: int, deadline: int) -> dict[str, Any]:
        request = AttestRequest(schema_id(loan), subject, data, expiry, bytes(32))
        s = SignedRecord.sign(w["bank-a"], w.service.separator, request, nonce, deadline)
        return sdk.bodies.attestation("loan-repayment", s)

    # An attestation's expiry in the past, or now: the contract's AttestationsInvalidExpiry.
    for n, expiry in enumerate((now - 86_400, now, 1)):
        e = error(
            w.post("/v1/attestations", "bank-a", attestation(900 + n, expiry, now + 3_600)),
            422,
            "AttestationsInvalidExpiry",
        )
        assert e["expiry"] == expiry
        batch = {"attestations": [attestation(910 + n, expiry, now + 3_600)]}
        error(w.post("/v1/attestations/batch", "bank-a", batch), 422, "AttestationsInvalidExpiry")
    # No expiry (0) is a record that does not lapse: accepted.
    r = w.post("/v1/attestations", "bank-a", attestation(920, 0, now + 3_600))
    assert r.status_code == 202, r.text
    # A signature's deadline in the past (or too close): SignatureTooShortLived.
    for n, deadline in enumerate((now - 1, now, 1)):
        e = error(
            w.post("/v1/attestations", "bank-a", attestation(930 + n, 0, deadline)),
            422,
            "SignatureTooShortLived",
        )
        assert e["deadline"] == deadline
        rc = w.ledger.receivables
        signed = w.signed("tier1", rc, "accept", bytes.fromhex(H[2:]), deadline=max(deadline, 1))
        error(w.post(f"/v1/receivables/{H}/accept", "tier1", signed), 422, "SignatureTooShortLived")
    # An authorisation's expiry in the past: AuthorisationsInvalidExpiry.
    for expiry in (now - 86_400, now):
        request = AuthorisationRequest(w["bank-a"].address, QueryPurpose.LOAN_APPROVAL, expiry, ())
        s = w.ledger.authorisations.sign_authorisation(w["tier1"], request)
        grant = sdk.bodies.authorisation(s)
        e = error(w.post("/v1/authorisations", "bank-a", grant), 422, "AuthorisationsInvalidExpiry")
        assert e["expiry"] == expiry
    # A receivable's due date in the past: see test_well_formed_but_refused_by_the_chain.


#: Where an unknown field can hide: the top of each body, and each nested object.
NESTED: list[tuple[str, list[str | int]]] = [
    ("/v1/attestations/batch", ["attestations", 0]),
    (f"/v1/attestations/{H}/replace", ["old"]),
    ("/v1/disputes", ["fields"]),
]


def test_unknown_fields_are_refused_not_ignored(w: ApiWorld) -> None:
    for n, (path, body) in enumerate(WRITES):
        for name in ("surprise", "Signer", "amount", "schema_ref" if "schema" in body else "x"):
            r = w.post(path, "bank-a", {**body, name: 1}, idem=f"unknown-{n}-{name}")
            e = _invalid_field(r, f"body.{name}")
            assert "Extra inputs are not permitted" in {x["message"] for x in e["errors"]}
    for path, where in NESTED:
        body = json.loads(json.dumps(next(b for p, b in WRITES if p == path)))
        inner = body
        for step in where:
            inner = inner[step]
        inner["surprise"] = True
        field = ".".join(["body", *map(str, where), "surprise"])
        _invalid_field(w.post(path, "bank-a", body), field)
    proof = {"batch_id": H, "index": 0, "proof": [], "surprise": 1}
    r = w.post("/v1/verify", "auditor", {"record": {}, "proof": proof})
    _invalid_field(r, "body.proof.surprise")


def test_every_request_model_forbids_unknown_fields(w: ApiWorld) -> None:
    """Each body model, and each model inside one, is published (and enforced) with
    ``additionalProperties: false``: pydantic's ``extra="forbid"``."""
    doc = w.client.get("/openapi.json").json()
    components = doc["components"]["schemas"]

    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if "$ref" in node:
                yield node["$ref"].rsplit("/", 1)[-1]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    todo = [
        name
        for path in doc["paths"].values()
        for op in path.values()
        for name in refs(op.get("requestBody", {}))
    ]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        assert components[name].get("additionalProperties") is False, name
        todo.extend(refs(components[name]))
    assert {"ReceivableCreate", "AttestationFieldsIn", "BatchProofIn", "SignedWrite"} <= seen


#: POST operations that write nothing (the record they check is the body): no Idempotency-Key,
#: so nothing to conflict on (409).
READS_WITH_A_BODY = frozenset({"/v1/verify", "/v1/console/scores/{uid}"})


def test_every_error_status_is_documented_with_the_one_error_body(w: ApiWorld) -> None:
    """FastAPI's default 422 (``HTTPValidationError``, whose ``detail`` is a list) is not what
    the API answers: every operation documents its error statuses with ``ErrorPublic``."""
    doc = w.client.get("/openapi.json").json()
    assert "HTTPValidationError" not in doc["components"]["schemas"]
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            documented = {int(s) for s in op["responses"] if s.startswith(("4", "5"))}
            if path.startswith("/v1/") and "security" in op:
                assert {401, 413, 422, 429} <= documented, (method, path)
            elif path.startswith("/v1/"):  # public: no key to refuse or to rate
                assert {413, 422} <= documented, (method, path)
            if method == "post" and path not in READS_WITH_A_BODY:
                assert {403, 404, 409} <= documented, (method, path)
            for status in documented - {503} if path == "/ready" else documented:
                ref = op["responses"][str(status)]["content"]["application/json"]["schema"]
                assert ref["$ref"].endswith("/ErrorPublic"), (method, path, status)
