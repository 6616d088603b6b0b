"""Relayed writes folded into the Forwarder's ``executeBatch``, through the API: a round's
requests of every kind in one transaction, each settled with its own outcome; a batch the
chain undoes whole relayed again one request a transaction; a batch mined before a crash
found and settled once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger_client.contracts.forwarder import ForwarderContract
from pipeline.journal import Anchor
from pipeline.worker import AnchorWorker
from tests.api.test_api_writes import ZERO, attest, authorise, b
from tests.api_world import ApiWorld, open_world


@pytest.fixture
def w(tmp_path: Path) -> Iterator[ApiWorld]:
    with open_world(tmp_path) as world:
        assert world.service.worker is not None
        world.service.worker.stop()  # held: each test's writes are pending together
        yield world


def _pending_round(w: ApiWorld) -> list[tuple[str, str]]:
    """An enterprise's authorisation (relayed by ``authoriseBySig``) and two revocations (the
    bank's ForwardRequests), accepted and pending; (submission id, key) of each."""
    grant = w.post("/v1/authorisations", "bank-a", authorise(w, "tier1", "bank-a"))
    out = [(grant, "bank-a")]
    for label in ("first", "second"):
        uid, _ = attest(w, "bank-a", w.subject("core"), f"to revoke, {label}")
        body = {
            "reason": ZERO,
            **w.signed("bank-a", w.ledger.attestations, "revoke", b(uid), bytes(32)),
        }
        out.append((w.post(f"/v1/attestations/{uid}/revoke", "bank-a", body), "bank-a"))
    assert [r.status_code for r, _ in out] == [202] * 3
    return [(r.json()["id"], key) for r, key in out]


def _anchors(w: ApiWorld) -> list[dict[str, Any]]:
    rows = w.service.db.query("SELECT id, kind, state, tx_hash FROM anchors ORDER BY id")
    return [dict(r) for r in rows]


def test_a_round_of_relays_of_every_kind_is_one_transaction(w: ApiWorld) -> None:
    subs = _pending_round(w)
    before = len(_anchors(w))
    worker = AnchorWorker(w.service)
    while worker.anchor_pending():
        pass
    done = [w.wait(sid, key) for sid, key in subs]
    assert [d["status"] for d in done] == ["anchored"] * 3
    assert len({d["result"]["tx_hash"] for d in done}) == 1  # one executeBatch
    made = _anchors(w)[before:]
    assert [(a["kind"], a["state"]) for a in made] == [("relays", "done")]
    # Each reports its own events: the authorisation names the enterprise and the bank, and
    # the relayer that wrapped it is nowhere a party.
    granted = done[0]["result"]
    assert [e["name"] for e in granted["events"]] == ["Authorised"]
    args = granted["events"][0]["args"]
    assert (args["enterprise"], args["member"]) == (w["tier1"].address, w["bank-a"].address)
    assert granted["auth_id"] == args["authId"]
    for revoked in done[1:]:
        assert [e["name"] for e in revoked["result"]["events"]] == ["Revoked"]
        assert revoked["result"]["events"][0]["args"]["revoker"] == w["bank-a"].address
    auth = w.get(f"/v1/authorisations/{granted['auth_id']}", "bank-a").json()
    assert auth["in_force"]


def test_a_batch_the_chain_undid_whole_is_relayed_one_request_a_transaction(
    w: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    subs = _pending_round(w)
    before = len(_anchors(w))
    # Too little gas for three requests (above what the calldata itself costs): the
    # Forwarder undoes the batch whole, and no request may be reported refused for it.
    monkeypatch.setattr(ForwarderContract, "batch_gas", staticmethod(lambda count: 90_000))
    worker = AnchorWorker(w.service)
    while worker.anchor_pending():
        pass
    done = [w.wait(sid, key) for sid, key in subs]
    assert [d["status"] for d in done] == ["anchored"] * 3
    made = _anchors(w)[before:]
    assert [(a["kind"], a["state"]) for a in made] == [
        ("relays", "undone"),
        ("relay", "done"),
        ("relay", "done"),
        ("relay", "done"),
    ]
    undone = w.service.chain.backend.receipt_if_mined(made[0]["tx_hash"])
    assert undone is not None
    assert undone.status == 0
    assert [d["result"]["tx_hash"] for d in done] == [a["tx_hash"] for a in made[1:]]
    assert done[0]["result"]["auth_id"].startswith("0x")


def test_a_batch_mined_before_a_crash_is_found_and_settled_once(
    w: ApiWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = w.service
    subs = _pending_round(w)
    crashed = AnchorWorker(s)

    def mined_then_crashed(anchors: list[Anchor], operations: Any = None) -> None:
        for anchor in anchors:
            s.chain.send_prepared(anchor.tx)  # mined; the crash comes before the settling

    monkeypatch.setattr(crashed, "_settle_together", mined_then_crashed)
    crashed.anchor_pending()
    assert {x.status for x in (s.journal.get(sid) for sid, _ in subs) if x} == {"pending"}
    head = s.chain.backend.block_number()

    assert AnchorWorker(s).recover() == 1  # the one batch, found mined, not sent again
    assert s.chain.backend.block_number() == head
    done = [w.wait(sid, key) for sid, key in subs]
    assert [d["status"] for d in done] == ["anchored"] * 3
    assert {d["result"]["block"] for d in done} == {head}
    assert AnchorWorker(s).recover() == 0
