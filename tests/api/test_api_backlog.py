"""The admission bound: a chain behind the load refuses new writes by name, and loses none.

A real ``credit-chain serve`` on the embedded chain through the JSON-RPC bridge. The
bridge holds every sent transaction (a node behind its load: reads still answer), so
the write accepted first waits unsent. Once it has waited past the bound, a new write
is refused as ``Backlogged`` (503, ``Retry-After``) and nothing of it is journaled;
the waiting write sent again under its Idempotency-Key is answered as before. Released,
the chain anchors the waiting write, and the refused one sent again is accepted and
anchored: every write accepted is anchored exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.api_process import ApiClient, start_server
from harness.rpc_bridge import EmbeddedRpcBridge
from ledger_client import Chain, Keyring, connect
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


def test_a_chain_behind_the_load_refuses_new_writes_by_name_and_loses_none(
    chain: Chain, tmp_path: Path
) -> None:
    ledger, _, bank, data, manifest = served_deployment(chain, tmp_path, "backlogged-bank")
    relay = Keyring.load(data / "keys.json").account("relayer").address
    first, waiting, refused = (
        _attestation(ledger, bank, n, bytes([n + 40]) * 32) for n in range(3)
    )
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
        key = _issue(data, bank.address)
        r = _post(client, key, first, "first")
        assert r.status == 202, r.body
        _anchored(client, key, r.body["id"])
        with bridge.hold_sends():
            accepted = _post(client, key, waiting, "waiting")
            assert accepted.status == 202, accepted.body  # nothing waited: within the bound
            time.sleep(BOUND_S + 1.0)  # the worker took it at once, and its send waits
            r = _post(client, key, refused, "refused")
            assert (r.status, r.error) == (503, "Backlogged"), r.body
            assert r.headers["retry-after"] == str(r.body["retry_after_s"])
            assert r.body["bound_s"] == BOUND_S
            assert r.body["waited_s"] > BOUND_S
            # A replay of the waiting write is answered from the journal, not refused.
            again = _post(client, key, waiting, "waiting")
            assert (again.status, again.body["id"]) == (200, accepted.body["id"])
            assert _status(client, key, accepted.body["id"])["status"] == "pending"
        held = _anchored(client, key, accepted.body["id"])
        # The refused write was never journaled: sent again, it is new, and anchored.
        r = _post(client, key, refused, "refused")
        assert r.status == 202, r.body
        last = _anchored(client, key, r.body["id"])
    finally:
        client.close()
        _stop(proc)
        bridge.close()
    # Each accepted write anchored once: three transactions from the relay, three records.
    assert chain.backend.nonce(relay) == len(bridge.relayed) == 3
    uids = {held["result"]["uid"], last["result"]["uid"]}
    assert len(uids) == 2
    for uid in uids:
        found = ledger.attestations.attestation(bytes.fromhex(uid[2:]))
        assert found is not None
        assert found.attester == bank.address
