"""The SDK against a fake server (``httpx.MockTransport``): what it sends, how it signs,
how it polls, and how refusals become exceptions by name.

The SDK against the real API is exercised by the API tests, the simulator's API mode,
the load generator and the README's quick start (tests/api/test_quickstart.py).
"""

from __future__ import annotations

import ast
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

import sdk
from api.main import create_app  # noqa: F401  (imports every route, and its errors)
from ledger_client.attestations.signed_records import domain_separator
from ledger_client.contracts.forwarder import ForwardRequest, SignedForwardRequest
from ledger_client.errors.contract import ERRORS
from ledger_client.types import City, Role
from pipeline.errors import PipelineError as ServerApiError
from sdk.errors import API_ERROR_NAMES, error_class
from sdk.signing import Deployment, codec

CHAIN_ID = 31337
CONTRACTS = {
    name: "0x" + f"{n:02x}" * 20
    for n, name in enumerate(
        ("Consortium", "Attestations", "Authorisations", "Disputes", "Receivables", "Forwarder"),
        start=1,
    )
}
DEPLOYMENT = {
    "chain_id": CHAIN_ID,
    "contracts": CONTRACTS,
    "forwarder_domain": {},
    "relayer": "0x" + "77" * 20,
}
NOW = 1_800_000_000


def _submission(n: int, status: str = "pending", result: Any = None) -> dict[str, Any]:
    return {
        "id": f"sub_{n}",
        "kind": "forward",
        "operation": "x",
        "status": status,
        "signer": "0x" + "00" * 20,
        "nonce": "1",
        "created_at": 0.0,
        "updated_at": 0.0,
        "result": result,
    }


class FakeApi:
    """Answers like the API: the deployment, a 202 submission per write, and whatever a
    test scripts for a path."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.scripted: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = {}
        self.fail_once: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        key = (request.method, request.url.path)
        if request.url.path in self.fail_once:
            self.fail_once.discard(request.url.path)
            raise httpx.ConnectError("connection reset", request=request)
        if key in self.scripted:
            return self.scripted[key](request)
        if key == ("GET", "/v1/deployment"):
            return httpx.Response(200, json=DEPLOYMENT)
        if request.method == "POST":
            return httpx.Response(202, json=_submission(len(self.requests)))
        return httpx.Response(404, json={"error": "NotFound", "detail": "no such thing"})

    def writes(self) -> list[httpx.Request]:
        return [r for r in self.requests if r.method == "POST"]


@pytest.fixture
def fake() -> FakeApi:
    return FakeApi()


@pytest.fixture
def regulator() -> LocalAccount:
    acct: LocalAccount = Account.from_key(b"\x01" * 32)  # eth_account types it as Any
    return acct


@pytest.fixture
def client(fake: FakeApi, regulator: LocalAccount) -> sdk.Client:
    return sdk.Client(
        "http://api.test",
        "ccak_test",
        account=regulator,
        transport=httpx.MockTransport(fake),
        clock=lambda: NOW,
        poll_interval_s=0.0,
    )


def _body(request: httpx.Request) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(request.content)
    return doc


# -- onboarding: the URLs and bodies the pipeline's routes take ----------------------------


def test_onboarding_writes_post_the_agreed_urls_signed_by_the_regulator(
    client: sdk.Client, fake: FakeApi, regulator: LocalAccount
) -> None:
    bank = Account.from_key(b"\x02" * 32).address
    enterprise = Account.from_key(b"\x03" * 32).address
    reason = b"late filings".ljust(32, b"\0")
    client.admit_member(bank, "Demo Bank", "Shanghai", ["attester", "financier"])
    client.suspend_member(bank, reason)
    client.reinstate_member(bank)
    client.set_roles(bank, Role.ATTESTER)
    client.bind_enterprise(enterprise, b"\x5a" * 32)
    posts = fake.writes()
    assert [r.url.path for r in posts] == [
        "/v1/members",
        f"/v1/members/{bank}/suspension",
        f"/v1/members/{bank}/reinstatement",
        f"/v1/members/{bank}/roles",
        "/v1/enterprises",
    ]
    bodies = [_body(r) for r in posts]
    assert {k: bodies[0][k] for k in ("account", "name", "city", "roles")} == {
        "account": bank,
        "name": "Demo Bank",
        "city": "Shanghai",
        "roles": ["attester", "financier"],
    }
    assert bodies[1]["reason"] == "0x" + reason.hex()
    assert bodies[3]["roles"] == ["attester"]
    assert {k: bodies[4][k] for k in ("account", "subject")} == {
        "account": enterprise,
        "subject": "0x" + "5a" * 32,
    }
    expected_calls = [
        (
            "admitMember",
            (bank, "Demo Bank", int(City.SHANGHAI), int(Role.ATTESTER | Role.FINANCIER)),
        ),
        ("suspendMember", (bank, reason)),
        ("reinstateMember", (bank,)),
        ("setRoles", (bank, int(Role.ATTESTER))),
        ("bindEnterprise", (enterprise, b"\x5a" * 32)),
    ]
    for body, (fn, args) in zip(bodies, expected_calls, strict=True):
        assert set(body) >= {"signer", "nonce", "deadline", "signature"}
        assert body["signer"] == regulator.address
        assert body["deadline"] == NOW + client.lifetime_s
        # The server rebuilds the calldata from the body and checks the signature over it:
        # a signature over this call by the regulator is what it must find.
        data = codec("Consortium").fn(fn).encode(args)
        request = ForwardRequest(
            regulator.address, CONTRACTS["Consortium"], body["nonce"], body["deadline"], data
        )
        fw = Deployment.from_json(DEPLOYMENT).domain("Forwarder", "YRD Credit Forwarder")
        signed = SignedForwardRequest(request, bytes.fromhex(body["signature"][2:]))
        assert signed.signed_by_sender(domain_separator(fw)), fn


def test_every_write_has_an_idempotency_key_and_nonces_differ(
    client: sdk.Client, fake: FakeApi
) -> None:
    rid = b"\x09" * 32
    client.accept_receivable(rid)
    client.accept_receivable(rid)
    keys = [r.headers["Idempotency-Key"] for r in fake.writes()]
    nonces = [_body(r)["nonce"] for r in fake.writes()]
    assert len(set(keys)) == 2
    assert nonces[1] == nonces[0] + 1  # consecutive: one nonce word on chain
    assert all(r.headers["X-API-Key"] == "ccak_test" for r in fake.requests)


def test_a_write_whose_connection_fails_is_sent_again_under_the_same_key(
    client: sdk.Client, fake: FakeApi
) -> None:
    path = "/v1/receivables/0x" + "09" * 32 + "/accept"
    fake.fail_once.add(path)
    client.accept_receivable(b"\x09" * 32)
    tries = [r for r in fake.writes() if r.url.path == path]
    assert len(tries) == 2
    assert tries[0].headers["Idempotency-Key"] == tries[1].headers["Idempotency-Key"]
    assert tries[0].content == tries[1].content


def test_a_server_that_cannot_be_reached_is_named(fake: FakeApi) -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    c = sdk.Client("http://api.test", "k", transport=httpx.MockTransport(down))
    with pytest.raises(sdk.errors.ApiUnreachable):
        c.members()


# -- polling -------------------------------------------------------------------------------


def test_wait_polls_until_anchored(client: sdk.Client, fake: FakeApi) -> None:
    states = iter(["pending", "pending", "anchored"])

    def poll(_: httpx.Request) -> httpx.Response:
        status = next(states)
        result = {"uid": "0x" + "ab" * 32} if status == "anchored" else None
        return httpx.Response(200, json=_submission(7, status, result))

    fake.scripted[("GET", "/v1/submissions/sub_7")] = poll
    done = client.wait("sub_7")
    assert done.status == "anchored"
    assert done.uid == "0x" + "ab" * 32
    with pytest.raises(KeyError):
        done.made("receivable_id")


def test_a_rejected_submission_raises_the_chains_error_by_name(
    client: sdk.Client, fake: FakeApi
) -> None:
    rejected = {"error": "AttestationsNonceUsed", "detail": "used", "attester": "0xA", "nonce": 5}
    fake.scripted[("GET", "/v1/submissions/sub_1")] = lambda _: httpx.Response(
        200, json=_submission(1, "rejected", rejected)
    )
    with pytest.raises(sdk.errors.AttestationsNonceUsed) as caught:
        client.wait("sub_1")
    e = caught.value
    assert (e.attester, e.nonce) == ("0xA", 5)
    assert e.fields == {"attester": "0xA", "nonce": 5}
    assert e.submission is not None
    assert e.submission["id"] == "sub_1"
    assert isinstance(e, sdk.ApiError)


def test_polling_is_bounded_by_count(client: sdk.Client, fake: FakeApi) -> None:
    fake.scripted[("GET", "/v1/submissions/sub_2")] = lambda _: httpx.Response(
        200, json=_submission(2)
    )
    client.max_polls = 5
    with pytest.raises(sdk.errors.SubmissionTimeout) as caught:
        client.wait("sub_2")
    assert caught.value.submission_id == "sub_2"
    polls = [r for r in fake.requests if r.url.path == "/v1/submissions/sub_2"]
    assert len(polls) == 1 + 5


def test_polling_is_bounded_by_time(client: sdk.Client, fake: FakeApi) -> None:
    fake.scripted[("GET", "/v1/submissions/sub_3")] = lambda _: httpx.Response(
        200, json=_submission(3)
    )
    client.poll_timeout_s = 0.0
    with pytest.raises(sdk.errors.SubmissionTimeout):
        client.wait("sub_3")


# -- errors by name ------------------------------------------------------------------------


def _server_error_names() -> set[str]:
    found, todo = set(), [ServerApiError]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            found.add(sub.__name__)
            todo.append(sub)
    return found


def test_every_error_the_api_declares_has_a_class_of_its_name() -> None:
    missing = _server_error_names() - API_ERROR_NAMES
    assert not missing, f"name these in sdk.errors.API_ERROR_NAMES: {sorted(missing)}"
    for name in _server_error_names():
        cls = getattr(sdk.errors, name)
        assert cls.__name__ == name
        assert issubclass(cls, sdk.errors.ApiError)


def test_the_names_the_error_handlers_give_have_classes() -> None:
    # api/errors.py names some errors in its handlers rather than as classes.
    source = Path(__file__).resolve().parents[2] / "api" / "errors.py"
    tree = ast.parse(source.read_text(encoding="utf-8"))
    named = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "error_body"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }
    named |= {"NotFound", "MethodNotAllowed", "HTTPError"}
    assert named
    assert named <= API_ERROR_NAMES


def test_every_contract_error_is_a_class_of_its_name() -> None:
    for err in ERRORS:
        cls = getattr(sdk.errors, err.__name__)
        assert cls is error_class(err.__name__)  # made once
        assert issubclass(cls, sdk.errors.ApiError)
    with pytest.raises(AttributeError):
        _ = sdk.errors.NoSuchErrorAnywhere


def test_a_refusal_at_the_door_raises_its_name_with_status_and_fields(
    client: sdk.Client, fake: FakeApi
) -> None:
    fake.scripted[("POST", "/v1/receivables/0x" + "09" * 32 + "/finance")] = lambda _: (
        httpx.Response(
            409,
            json={"error": "ReceivablesAlreadyFinanced", "detail": "financed", "id": "0x09"},
        )
    )
    with pytest.raises(sdk.errors.ReceivablesAlreadyFinanced) as caught:
        client.finance_receivable(b"\x09" * 32, 100, 50)
    assert caught.value.status == 409
    assert caught.value.id == "0x09"
    assert "ReceivablesAlreadyFinanced" in str(caught.value)
    with pytest.raises(AttributeError):
        _ = caught.value.not_a_field


def test_a_name_the_client_does_not_know_still_raises_a_class_of_that_name(
    client: sdk.Client, fake: FakeApi
) -> None:
    fake.scripted[("GET", "/v1/members")] = lambda _: httpx.Response(
        403, json={"error": "SomethingNewer", "detail": "from a newer server"}
    )
    with pytest.raises(sdk.errors.ApiError) as caught:
        client.members()
    assert type(caught.value).__name__ == "SomethingNewer"
    assert caught.value.name == "SomethingNewer"


def test_an_answer_that_is_not_the_apis_json_is_named(client: sdk.Client, fake: FakeApi) -> None:
    fake.scripted[("GET", "/v1/members")] = lambda _: httpx.Response(502, text="<html>proxy</html>")
    with pytest.raises(sdk.errors.UnexpectedAnswer):
        client.members()
    fake.scripted[("GET", "/v1/members")] = lambda _: httpx.Response(500, json=["odd"])
    with pytest.raises(sdk.errors.UnexpectedAnswer):
        client.members()


def test_the_sdk_imports_neither_the_server_nor_the_pipeline() -> None:
    root = Path(__file__).resolve().parents[2] / "sdk"
    for path in root.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                assert node.module.split(".")[0] not in {"api", "pipeline", "node_sim"}, path
            if isinstance(node, ast.Import):
                for alias in node.names:
                    assert alias.name.split(".")[0] not in {"api", "pipeline", "node_sim"}, path


def test_writes_signed_up_front_are_kept_not_posted(regulator: LocalAccount) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"nothing is sent while preparing: {request.url}")

    offline = sdk.Client(
        deployment=Deployment.from_json(DEPLOYMENT),
        account=regulator,
        transport=httpx.MockTransport(refuse),
        clock=lambda: NOW,
    )
    with offline.prepared() as writes:
        sub = offline.accept_receivable(b"\x09" * 32)
        offline.accept_receivable(b"\x0a" * 32)
    assert sub.status == "prepared"
    assert [w.path for w in writes] == [
        "/v1/receivables/0x" + "09" * 32 + "/accept",
        "/v1/receivables/0x" + "0a" * 32 + "/accept",
    ]
    assert writes[0].idempotency_key != writes[1].idempotency_key
    assert writes[0].body["signer"] == regulator.address
    assert offline._prepared is None  # posting again once out of the block


RID = b"\x09" * 32
HEX = "0x" + "09" * 32


@pytest.mark.parametrize(
    ("read", "path", "query"),
    [
        (lambda c: c.health(), "/health", {}),
        (lambda c: c.ready(), "/ready", {}),
        (lambda c: c.members(), "/v1/members", {}),
        (lambda c: c.member("0xAB"), "/v1/members/0xAB", {}),
        (lambda c: c.schemas(), "/v1/schemas", {}),
        (lambda c: c.attestation(RID), f"/v1/attestations/{HEX}", {}),
        (lambda c: c.attestations(subject=HEX, limit=5), "/v1/attestations", {"limit": "5"}),
        (lambda c: c.batch_records(subject=HEX), "/v1/batch-records", {"subject": HEX}),
        (lambda c: c.authorisations(RID), "/v1/authorisations", {"subject": HEX}),
        (lambda c: c.authorisation(RID), f"/v1/authorisations/{HEX}", {}),
        (lambda c: c.queries(member="0xAB"), "/v1/queries", {"member": "0xAB"}),
        (lambda c: c.report_shares(RID), f"/v1/queries/{HEX}/report-shares", {}),
        (lambda c: c.disputes(overdue=True), "/v1/disputes", {"overdue": "true"}),
        (lambda c: c.dispute(3), "/v1/disputes/3", {}),
        (lambda c: c.complaints(), "/v1/complaints", {}),
        (lambda c: c.complaint(4), "/v1/complaints/4", {}),
        (lambda c: c.receivables(holder=HEX), "/v1/receivables", {"holder": HEX}),
        (lambda c: c.receivable(RID), f"/v1/receivables/{HEX}", {}),
        (lambda c: c.parts(RID, limit=2), f"/v1/receivables/{HEX}/parts", {"limit": "2"}),
        (lambda c: c.lineage(RID), f"/v1/receivables/{HEX}/lineage", {}),
        (lambda c: c.history(RID), f"/v1/receivables/{HEX}/history", {}),
        (lambda c: c.financings(live=None), "/v1/financings", {}),
        (lambda c: c.proof("sub_9"), "/v1/submissions/sub_9/proof", {}),
    ],
)
def test_every_read_gets_its_route(
    client: sdk.Client,
    fake: FakeApi,
    read: Callable[[sdk.Client], Any],
    path: str,
    query: dict[str, str],
) -> None:
    fake.scripted[("GET", path)] = lambda _: httpx.Response(200, json={"data": []})
    assert read(client) == {"data": []}
    (sent,) = [r for r in fake.requests if r.url.path == path]
    assert {k: v for k, v in sent.url.params.items() if k in query} == query
    assert "None" not in str(sent.url)  # filters left None are not sent


@pytest.mark.parametrize(
    ("write", "path", "fn", "contract"),
    [
        (lambda c: c.revoke(RID), f"/v1/attestations/{HEX}/revoke", "revoke", "Attestations"),
        (
            lambda c: c.withdraw_authorisation(RID),
            f"/v1/authorisations/{HEX}/withdraw",
            "withdraw",
            "Authorisations",
        ),
        (
            lambda c: c.log_query(RID, "loan-approval", RID),
            "/v1/queries",
            "logQuery",
            "Authorisations",
        ),
        (
            lambda c: c.share_report(RID, "0x" + "ab" * 20, RID),
            f"/v1/queries/{HEX}/report-shares",
            "recordReportShare",
            "Authorisations",
        ),
        (lambda c: c.reject_dispute(3, RID), "/v1/disputes/3/reject", "rejectDispute", "Disputes"),
        (lambda c: c.uphold_dispute(3), "/v1/disputes/3/uphold", "upholdDispute", "Disputes"),
        (lambda c: c.file_complaint(3, RID), "/v1/complaints", "fileComplaint", "Disputes"),
        (
            lambda c: c.resolve_complaint(4, RID, upheld=True),
            "/v1/complaints/4/resolve",
            "resolveComplaint",
            "Disputes",
        ),
        (
            lambda c: c.reject_receivable(RID, [RID]),
            f"/v1/receivables/{HEX}/reject",
            "reject",
            "Receivables",
        ),
        (
            lambda c: c.transfer_receivable(RID, "0x" + "ab" * 20),
            f"/v1/receivables/{HEX}/transfer",
            "transfer",
            "Receivables",
        ),
        (
            lambda c: c.withdraw_financing_request(RID, "0x" + "ab" * 20),
            f"/v1/receivables/{HEX}/financing-requests/withdraw",
            "withdrawFinancingRequest",
            "Receivables",
        ),
        (
            lambda c: c.release_financing(RID),
            f"/v1/receivables/{HEX}/release",
            "releaseFinancing",
            "Receivables",
        ),
        (
            lambda c: c.settle_receivables([RID]),
            "/v1/receivables/settlements",
            "settle",
            "Receivables",
        ),
    ],
)
def test_every_relayed_write_posts_its_route_signed_over_its_call(
    client: sdk.Client,
    fake: FakeApi,
    regulator: LocalAccount,
    *,
    write: Callable[[sdk.Client], Any],
    path: str,
    fn: str,
    contract: str,
) -> None:
    write(client)
    (sent,) = fake.writes()
    assert sent.url.path == path
    assert sent.headers["Idempotency-Key"]
    forward = client.last_forward
    assert forward is not None
    assert forward.request.to == CONTRACTS[contract]
    assert forward.request.data[:4] == codec(contract).fn(fn).selector
    fw = Deployment.from_json(DEPLOYMENT).domain("Forwarder", "YRD Credit Forwarder")
    assert forward.signed_by_sender(domain_separator(fw))
    body = _body(sent)
    assert (body["signer"], body["nonce"]) == (regulator.address, forward.request.nonce)
