"""Attacks on disputes and complaints (投诉) through the API's door, on both backends.

Each attack is a write signed by the attacker (or replayed from the victim) and handed to
the API with a real key; the refusal asserted is the chain's named error, reached through
the API's dry run of the relay, never a pre-check of the test's own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger_client import Chain, Keyring
from ledger_client.attestations.merkle import keccak256
from ledger_client.chain.backends import ENGINE_VARIABLE
from tests.api_world import ApiWorld, error, open_world
from tests.conformance import AnvilChain, EmbeddedChain, RevmChain

ZERO = "0x" + "00" * 32


def h(label: str) -> str:
    return "0x" + keccak256(label.encode()).hex()


def b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


class ComplaintsApiConformance:
    """The API over one backend: a fresh deployment per test."""

    @pytest.fixture
    def chain(self) -> Iterator[Chain]:
        raise NotImplementedError  # supplied by EmbeddedChain, RevmChain or AnvilChain

    @pytest.fixture
    def w(
        self, chain: Chain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> Iterator[ApiWorld]:
        rpc = None
        if isinstance(self, EmbeddedChain):
            # The API opens its own embedded chain, on the engine the environment names.
            monkeypatch.setenv(ENGINE_VARIABLE, self.engine)
        else:
            rpc = chain.backend.describe()
        with open_world(tmp_path, rpc=rpc) as world:
            yield world

    # -- helpers: the enterprise's writes as the API takes them ---------------------------
    def _record(self, w: ApiWorld, subject_of: str, label: str) -> tuple[str, dict[str, str]]:
        """A record in good standing about ``subject_of``, attested by the bureau."""
        loan = w.ledger.schemas["loan-repayment"]
        made = w.ledger.attestations.attest(
            w["bureau"], loan, b(w.subject(subject_of)), b(h(label))
        )
        fields = {"subject": w.subject(subject_of), "data_hash": h(label), "ref_uid": ZERO}
        return "0x" + made.uid.hex(), fields

    def _dispute_body(
        self, w: ApiWorld, signer: str, uid: str, fields: dict[str, str], reason: str
    ) -> dict[str, Any]:
        fields_t = tuple(b(v) for v in fields.values())
        d = w.ledger.disputes
        return {
            "uid": uid,
            "fields": fields,
            "reason_hash": reason,
            **w.signed(signer, d, "raiseDispute", b(uid), fields_t, b(reason)),
        }

    def _complaint_body(
        self, w: ApiWorld, signer: str, dispute_id: int, reason: str
    ) -> dict[str, Any]:
        d = w.ledger.disputes
        return {
            "dispute_id": dispute_id,
            "reason_hash": reason,
            **w.signed(signer, d, "fileComplaint", dispute_id, b(reason)),
        }

    def _resolution(
        self, w: ApiWorld, signer: str, complaint_id: int, upheld: bool
    ) -> dict[str, Any]:
        reply = h(f"regulator's reply {upheld}")
        d = w.ledger.disputes
        return {
            "upheld": upheld,
            "reply_hash": reply,
            **w.signed(signer, d, "resolveComplaint", complaint_id, upheld, b(reply)),
        }

    def _rejected(self, w: ApiWorld) -> tuple[str, int]:
        """A record about tier2, disputed by tier2 and rejected by the bureau, all via the API."""
        uid, fields = self._record(w, "tier2", "tax grade C")
        body = self._dispute_body(w, "tier2", uid, fields, h("we paid"))
        dispute_id = int(w.write("/v1/disputes", "bureau", body)["dispute_id"])
        answer = h("arrears confirmed")
        reject = {
            "reason_hash": answer,
            **w.signed("bureau", w.ledger.disputes, "rejectDispute", dispute_id, b(answer)),
        }
        w.write(f"/v1/disputes/{dispute_id}/reject", "bureau", reject)
        return uid, dispute_id

    # -- the attacks ----------------------------------------------------------------------
    def test_reraise_after_rejection_is_refused_through_the_api(self, w: ApiWorld) -> None:
        uid, dispute_id = self._rejected(w)
        fields = {"subject": w.subject("tier2"), "data_hash": h("tax grade C"), "ref_uid": ZERO}
        for key_of in ("tier2", "bureau"):  # its own key, and the attester relaying for it
            again = self._dispute_body(w, "tier2", uid, fields, h("same grounds again"))
            r = error(w.post("/v1/disputes", key_of, again), 409, "DisputesAlreadyAnswered")
            assert (r["uid"], r["disputeId"]) == (uid, dispute_id)
        assert w.get(f"/v1/attestations/{uid}", "auditor").json()["validity"] == "VALID"
        assert w.get("/v1/disputes", "regulator", status="open").json()["count"] == 0

    def test_a_stranger_cannot_dispute_a_record_in_good_standing(self, w: ApiWorld) -> None:
        uid, fields = self._record(w, "tier2", "good standing")
        assert w.get(f"/v1/attestations/{uid}", "auditor").json()["validity"] == "VALID"
        # An enterprise bound to another subject, with the record's true fields.
        body = self._dispute_body(w, "tier1", uid, fields, h("not mine"))
        r = error(w.post("/v1/disputes", "tier1", body), 403, "DisputesNotSubject")
        assert (r["uid"], r["caller"]) == (uid, w["tier1"].address)
        # An unbound account holding a key: tier2's old account after it moved to a new key.
        old = w["tier2"]
        moved = Keyring("api-world-moved").account("tier2:new")
        w.ledger.consortium.rebind_enterprise(w["bureau"], b(w.subject("tier2")), moved.address)
        body = self._dispute_body(w, "tier2", uid, fields, h("old key"))
        r = error(w.post("/v1/disputes", "tier2", body), 403, "DisputesNotSubject")
        assert r["caller"] == old.address
        # A member institution is not the subject either.
        body = self._dispute_body(w, "bank-a", uid, fields, h("a bank's dispute"))
        r = error(w.post("/v1/disputes", "bank-a", body), 403, "DisputesNotSubject")
        assert r["caller"] == w["bank-a"].address
        assert w.get("/v1/disputes", "auditor").json()["count"] == 0
        assert w.get(f"/v1/attestations/{uid}", "auditor").json()["validity"] == "VALID"

    def test_complaint_by_a_stranger_is_refused_through_the_api(self, w: ApiWorld) -> None:
        uid, dispute_id = self._rejected(w)
        for signer in (
            "tier1",
            "bank-b",
            "bureau",
        ):  # another enterprise, another member, the attester
            body = self._complaint_body(w, signer, dispute_id, h("complaint"))
            r = error(w.post("/v1/complaints", signer, body), 403, "DisputesNotSubject")
            assert (r["uid"], r["caller"]) == (uid, w[signer].address)
        # A bank's key may not hand in the enterprise's complaint (it is not the counterparty).
        body = self._complaint_body(w, "tier2", dispute_id, h("complaint"))
        error(w.post("/v1/complaints", "bank-a", body), 403, "KeyMemberMismatch")
        assert w.get("/v1/complaints", "regulator").json()["count"] == 0
        # The subject itself files it, through the attester's key as for its dispute.
        complaint_id = w.write("/v1/complaints", "bureau", body)["complaint_id"]
        got = w.get(f"/v1/complaints/{complaint_id}", "auditor").json()
        assert (got["status"], got["dispute_id"], got["filed_by"], got["uid"]) == (
            "open",
            dispute_id,
            w["tier2"].address,
            uid,
        )
        again = self._complaint_body(w, "tier2", dispute_id, h("complaint twice"))
        r = error(w.post("/v1/complaints", "tier2", again), 409, "DisputesComplaintExists")
        assert r["disputeId"] == dispute_id
        open_list = w.get("/v1/complaints", "regulator", status="open").json()
        assert [c["complaint_id"] for c in open_list["data"]] == [complaint_id]

    def test_complaint_resolved_by_a_non_regulator_is_refused_through_the_api(
        self, w: ApiWorld
    ) -> None:
        uid, dispute_id = self._rejected(w)
        body = self._complaint_body(w, "tier2", dispute_id, h("complaint"))
        complaint_id = int(w.write("/v1/complaints", "tier2", body)["complaint_id"])
        for member in ("bureau", "bank-a"):  # the attester judging itself; another member
            resolution = self._resolution(w, member, complaint_id, False)
            r = error(
                w.post(f"/v1/complaints/{complaint_id}/resolve", member, resolution),
                403,
                "DisputesNotRegulator",
            )
            assert (r["complaintId"], r["caller"]) == (complaint_id, w[member].address)
        # The regulator: upholding needs the record corrected; it revokes it, then upholds.
        early = self._resolution(w, "regulator", complaint_id, True)
        error(
            w.post(f"/v1/complaints/{complaint_id}/resolve", "regulator", early),
            409,
            "DisputesNotCorrected",
        )
        a = w.ledger.attestations
        revoke = {"reason": ZERO, **w.signed("regulator", a, "revoke", b(uid), bytes(32))}
        w.write(f"/v1/attestations/{uid}/revoke", "regulator", revoke)
        upheld = self._resolution(w, "regulator", complaint_id, True)
        w.write(f"/v1/complaints/{complaint_id}/resolve", "regulator", upheld)
        got = w.get(f"/v1/complaints/{complaint_id}", "tier2").json()
        assert (got["status"], got["regulator"]) == ("upheld", w["regulator"].address)
        assert got["reply_hash"] == upheld["reply_hash"]
        assert w.get("/v1/complaints", "regulator", status="open").json()["count"] == 0
        error(w.get("/v1/complaints/99", "auditor"), 404, "NotFound")


class TestComplaintsApiEmbedded(EmbeddedChain, ComplaintsApiConformance):
    """The API on its embedded chain."""


class TestComplaintsApiRevm(RevmChain, ComplaintsApiConformance):
    """The API on its embedded chain's revm engine."""


class TestComplaintsApiAnvil(AnvilChain, ComplaintsApiConformance):
    """The API on a real anvil node."""
