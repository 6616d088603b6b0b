"""The admission bound: a chain behind the load refuses new writes by name, and loses none.

A real ``credit-chain serve`` on the embedded chain through the JSON-RPC bridge. The
bridge holds every sent transaction (a node behind its load: reads still answer), so
the worker's round blocks in its send and the next write accepted waits untaken. Once
it has waited past the bound, a new write is refused as ``Backlogged`` (503,
``Retry-After``) and nothing of it is journaled; the waiting write sent again under
its Idempotency-Key is answered as before. Released, the chain anchors both waiting
writes, and the refused one sent again is accepted and anchored: every write accepted
is anchored exactly once.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount

import sdk
from harness.api_process import ApiClient, ApiResponse, start_server
from harness.rpc_bridge import EmbeddedRpcBridge
from ledger_client import Chain, Keyring, Ledger, connect
from scripts.loadgen import ATTESTATIONS
from tests.api.test_api_keys import _attestation, _issue, _post, _stop, served_deployment

#: The server's admission bound in this test, seconds: short, so the test is.
BOUND_S = 0.5
#: Bound of every wait for a submission to settle, seconds.
SETTLE_S = 60.0


@pytest.fixture
def chain() -> Iterator[Chain]:
    chain = connect("embedded")
    yield chain
    chain.close()


def _status(client: ApiClient, key: str, sub_id: str) -> dict[str, Any]:
    r = client.request("GET", f"/v1/submissions/{sub_id}", headers={"X-API-Key": key})
    assert r.status == 200, r.body
    return dict(r.body)


def _anchored(client: ApiClient, key: str, sub_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + SETTLE_S
    while (found := _status(client, key, sub_id))["status"] == "pending":
        assert time.monotonic() < deadline, f"{sub_id} still pending after {SETTLE_S} s"
        time.sleep(0.1)
    assert found["status"] == "anchored", found
    return found


@dataclass
class Served:
    """A server of its own on the embedded chain through the bridge, and a bank's key."""

    ledger: Ledger
    bank: LocalAccount
    relay: str
    bridge: EmbeddedRpcBridge
    client: ApiClient
    key: str

    def record(self, n: int) -> dict[str, Any]:
        return _attestation(self.ledger, self.bank, n, bytes([n + 40]) * 32)

    def post(self, body: dict[str, Any], idempotency_key: str) -> ApiResponse:
        return _post(self.client, self.key, body, idempotency_key)

    def accepted(self, body: dict[str, Any], idempotency_key: str) -> str:
        """Post a write the server must accept; its submission id."""
        r = self.post(body, idempotency_key)
        assert r.status == 202, r.body
        return str(r.body["id"])

    def anchored(self, sub_id: str) -> dict[str, Any]:
        return _anchored(self.client, self.key, sub_id)

    def refused_as_backlogged(self, body: dict[str, Any], idempotency_key: str) -> None:
        r = self.post(body, idempotency_key)
        assert (r.status, r.error) == (503, "Backlogged"), r.body
        assert r.headers["retry-after"] == str(r.body["retry_after_s"])
        assert r.body["bound_s"] == BOUND_S
        assert r.body["waited_s"] > BOUND_S


@contextlib.contextmanager
def served(chain: Chain, tmp_path: Path) -> Iterator[Served]:
    ledger, _, bank, data, manifest = served_deployment(chain, tmp_path, "backlogged-bank")
    relay = Keyring.load(data / "keys.json").account("relayer").address
    bridge = EmbeddedRpcBridge(chain.backend).start()
    proc, port = start_server(
        data,
        rpc=bridge.url,
        manifest=manifest,
        env={"CREDIT_CHAIN_ADMISSION_BOUND_S": str(BOUND_S)},
        log=tmp_path / "server.log",
    )
    client = ApiClient(port)
    try:
        yield Served(ledger, bank, relay, bridge, client, _issue(data, bank.address))
    finally:
        client.close()
        _stop(proc)
        bridge.close()


def _anchored_once(chain: Chain, api: Served, settled: list[dict[str, Any]]) -> None:
    """Every settled write's record is on the chain, by the bank, and the relay sent one
    transaction per write (none twice)."""
    assert chain.backend.nonce(api.relay) == len(api.bridge.relayed) == len(settled)
    uids = {found["result"]["uid"] for found in settled}
    assert len(uids) == len(settled)
    for uid in uids:
        found = api.ledger.attestations.attestation(bytes.fromhex(uid[2:]))
        assert found is not None
        assert found.attester == api.bank.address


def test_a_chain_behind_the_load_refuses_new_writes_by_name_and_loses_none(
    chain: Chain, tmp_path: Path
) -> None:
    with served(chain, tmp_path) as api:
        first, blocked, waiting, refused = (api.record(n) for n in range(4))
        settled = [api.anchored(api.accepted(first, "first"))]
        ids: dict[str, str] = {}
        with api.bridge.hold_sends():
            ids["blocked"] = api.accepted(blocked, "blocked")
            deadline = time.monotonic() + SETTLE_S
            while api.bridge.sends_held == 0:  # the worker took it, and its send waits
                assert time.monotonic() < deadline, "the worker never sent the write"
                time.sleep(0.05)
            # Nothing waits untaken yet: accepted. It waits for the round the send blocks.
            ids["waiting"] = api.accepted(waiting, "waiting")
            time.sleep(BOUND_S + 1.0)
            api.refused_as_backlogged(refused, "refused")
            # A replay of a journaled write is answered from the journal, not refused.
            again = api.post(waiting, "waiting")
            assert (again.status, again.body["id"]) == (200, ids["waiting"])
            assert _status(api.client, api.key, ids["waiting"])["status"] == "pending"
        settled += [api.anchored(ids[name]) for name in ("blocked", "waiting")]
        # The refused write was never journaled: sent again, it is new, and anchored.
        settled.append(api.anchored(api.accepted(refused, "refused")))
    _anchored_once(chain, api, settled)


def test_a_node_refusing_every_send_refuses_new_writes_once_the_rounds_failed_past_the_bound(
    chain: Chain, tmp_path: Path
) -> None:
    """Each failed round takes the waiting write again, so nothing waits untaken: what
    refuses is how long the rounds have failed. The node taking transactions again,
    what was accepted is anchored, once."""
    with served(chain, tmp_path) as api:
        accepted, refused = api.record(0), api.record(1)
        with api.bridge.refuse_sends():
            accepted_id = api.accepted(accepted, "accepted")
            time.sleep(BOUND_S + 1.5)
            assert _status(api.client, api.key, accepted_id)["status"] == "pending"
            api.refused_as_backlogged(refused, "refused")
        settled = [api.anchored(accepted_id)]
        settled.append(api.anchored(api.accepted(refused, "refused")))
    _anchored_once(chain, api, settled)


def test_the_sdk_waits_as_retry_after_says_and_its_write_is_accepted_once_the_chain_catches_up(
    chain: Chain, tmp_path: Path
) -> None:
    with served(chain, tmp_path) as api:
        url = f"http://127.0.0.1:{api.client.port}"
        accepted, retried = api.record(0), api.record(1)
        answers: list[object] = []
        with api.bridge.refuse_sends():
            accepted_id = api.accepted(accepted, "accepted")
            time.sleep(BOUND_S + 1.5)
            # A client that may not wait gets the refusal by name at once.
            with (
                sdk.Client(url, api.key, retry_wait_s=0) as impatient,
                pytest.raises(sdk.errors.Backlogged) as refused,
            ):
                impatient.request("POST", ATTESTATIONS, json=retried, idempotency_key="retried")
            assert refused.value.status == 503

            def post() -> None:
                with sdk.Client(url, api.key) as patient:
                    answers.append(
                        patient.request(
                            "POST", ATTESTATIONS, json=retried, idempotency_key="retried"
                        )
                    )

            poster = threading.Thread(target=post)
            poster.start()
            time.sleep(2.5)  # the client is refused, waits as told, asks again: still behind
            assert not answers
        poster.join(timeout=SETTLE_S)
        assert not poster.is_alive()
        (answer,) = answers
        assert isinstance(answer, dict)
        assert answer["status"] == "pending"
        settled = [api.anchored(accepted_id), api.anchored(str(answer["id"]))]
    _anchored_once(chain, api, settled)


def test_while_backlogged_a_new_write_is_refused_from_its_headers_before_its_body_is_read(
    chain: Chain, tmp_path: Path
) -> None:
    """The refusal comes before the body is validated (a malformed write is refused as
    Backlogged, and by its own name once the chain caught up), on every kind of write
    route; what is journaled under the key is still answered, a reused key and a missing
    one are still refused by name."""
    with served(chain, tmp_path) as api:
        single, first, second, fresh = (api.record(n) for n in range(4))
        headers = {"X-API-Key": api.key}

        def post(path: str, body: object, idem: str | None) -> ApiResponse:
            extra = {} if idem is None else {"Idempotency-Key": idem}
            return api.client.request("POST", path, body, {**headers, **extra})

        with api.bridge.refuse_sends():
            single_id = api.accepted(single, "single")
            batch = post("/v1/attestations/batch", {"attestations": [first, second]}, "batch")
            assert batch.status == 202, batch.body
            batch_ids = [s["id"] for s in batch.body["data"]]
            time.sleep(BOUND_S + 1.5)
            for path in ("/v1/attestations", "/v1/attestations/batch", "/v1/authorisations"):
                r = post(path, {"not": "a write"}, f"malformed {path}")
                assert (r.status, r.error) == (503, "Backlogged"), (path, r.body)
                assert r.headers["retry-after"] == str(r.body["retry_after_s"])
            api.refused_as_backlogged(fresh, "fresh")
            # What the journal holds under the key is answered, not refused.
            again = api.post(single, "single")
            assert (again.status, again.body["id"]) == (200, single_id)
            batch_again = post("/v1/attestations/batch", {"attestations": [first, second]}, "batch")
            assert batch_again.status == 200, batch_again.body
            assert [s["id"] for s in batch_again.body["data"]] == batch_ids
            # The key reused with another body, and no key at all: refused by their names.
            reused = api.post(fresh, "single")
            assert (reused.status, reused.error) == (409, "IdempotencyKeyReused"), reused.body
            keyless = post("/v1/attestations", fresh, None)
            assert keyless.error == "IdempotencyKeyRequired", keyless.body
        api.anchored(single_id)
        for sub_id in batch_ids:
            api.anchored(sub_id)
        # Caught up: the malformed write gets its own refusal, the refused one is new.
        late = post("/v1/attestations", {"not": "a write"}, "malformed /v1/attestations")
        assert (late.status, late.error) == (422, "RequestValidationError"), late.body
        api.anchored(api.accepted(fresh, "fresh"))
