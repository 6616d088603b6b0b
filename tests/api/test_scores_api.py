"""An enterprise reads the reason codes of its own credit score through the API and the SDK.

A Shanghai bank scores an enterprise from its own records, attests the score
through the API and deposits the score's record; the enterprise, a member it
authorised and the regulator read the grade and reason codes, anyone else is
refused by name, and a record other than the attested one is refused on deposit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import sdk
from ledger_client.attestations.merkle import keccak256
from ledger_client.contracts.authorisations import AuthorisationRequest
from ledger_client.scoring.attested import UsedRecord, score_record
from ledger_client.scoring.features import FEATURES, SCITECH_FEATURES
from ledger_client.scoring.models import Scorecard, fit_scorecard
from ledger_client.scoring.records import row_record
from ledger_client.scoring.visibility import Visibility
from ledger_client.types import QueryPurpose
from node_sim.credit_world import make_credit_world, regime_features
from tests.api_world import ApiWorld, open_world

DAY = 86_400


@pytest.fixture(scope="module")
def scorecard() -> Scorecard:
    world = make_credit_world(3, 2_000)
    return fit_scorecard(regime_features(world, "scitech"), world.defaulted, SCITECH_FEATURES)


@pytest.fixture
def w(tmp_path: Path) -> Iterator[ApiWorld]:
    with open_world(tmp_path) as world:
        yield world


def _score(w: ApiWorld, scorecard: Scorecard, label: str) -> dict[str, object]:
    """The score record of a simulated enterprise that defaulted, its records all held by
    the scoring bank (so its own visibility covers them)."""
    sim = make_credit_world(11, 200)
    enterprise = int(np.flatnonzero(sim.defaulted)[0])
    holder = int(sim.records.holder[np.flatnonzero(sim.records.subject == enterprise)[0]])
    used = []
    for row in np.flatnonzero(sim.records.subject == enterprise):
        sim.records.holder[row] = holder
        schema, record = row_record(sim.records, int(row), w.subjects[label])
        used.append(UsedRecord(keccak256(b"%d" % row), holder, schema, record))
    return score_record(scorecard, w.subjects[label], used, Visibility(holder), "2026-01-05")


def test_an_enterprise_reads_its_reason_codes(w: ApiWorld, scorecard: Scorecard) -> None:
    score = _score(w, scorecard, "tier1")
    bank = w.sdk_client("bank-a")
    schema = bank.schema("credit-score")
    done = bank.wait(bank.attest_record(schema, score))
    uid = done.uid

    # Only the attester deposits, and only the record the attestation commits to.
    with pytest.raises(sdk.errors.NotScoreAttester):
        w.sdk_client("bank-b").deposit_score(uid, score)
    with pytest.raises(sdk.errors.ScoreRecordMismatch):
        bank.deposit_score(uid, {**score, "reasonCodes": "none"})
    other = bank.wait(bank.attest_record(bank.schema("tax-credit-grade"), _tax(w))).uid
    with pytest.raises(sdk.errors.NotACreditScore):
        bank.deposit_score(other, score)
    deposited = bank.deposit_score(uid, score)
    assert deposited["reason_codes"] == str(score["reasonCodes"]).split(",")

    # The enterprise itself reads why it got its grade.
    mine = w.sdk_client("tier1").scores(w.subjects["tier1"])
    assert mine["count"] == 1
    got = mine["data"][0]
    assert got["uid"] == uid
    assert got["grade"] == score["grade"]
    assert got["validity"] == "VALID"
    assert got["reason_codes"], "a defaulter's score has reasons"
    assert got["reason_codes"] == str(score["reasonCodes"]).split(",")
    assert [r["meaning"] for r in got["reasons"]] == [FEATURES[c] for c in got["reason_codes"]]
    assert w.sdk_client("tier1").score(uid)["record"] == score

    # Another enterprise and an unauthorised bank are refused by name.
    for label in ("core", "bank-b"):
        with pytest.raises(sdk.errors.ScoreNotVisible):
            w.sdk_client(label).scores(w.subjects["tier1"])
        with pytest.raises(sdk.errors.ScoreNotVisible):
            w.sdk_client(label).score(uid)

    # The overseers read it (they see everything, as in the console); so does bank-b once
    # the enterprise authorised it, not after the authorisation lapses.
    for overseer in ("regulator", "auditor"):
        assert w.sdk_client(overseer).scores(w.subjects["tier1"])["count"] == 1
    ledger = w.ledger
    expiry = w.service.chain_time() + 10 * DAY
    request = AuthorisationRequest(w["bank-b"].address, QueryPurpose.LOAN_APPROVAL, expiry)
    signed = ledger.authorisations.sign_authorisation(w["tier1"], request)
    ledger.authorisations.authorise(w["bank-b"], signed)
    w.service.refresh()
    assert w.sdk_client("bank-b").score(uid)["grade"] == score["grade"]
    w.advance(11 * DAY)
    with pytest.raises(sdk.errors.ScoreNotVisible):
        w.sdk_client("bank-b").scores(w.subjects["tier1"])


def _tax(w: ApiWorld) -> dict[str, object]:
    return {
        "subject": w.subject("tier1"),
        "taxYear": 2025,
        "grade": "A",
        "taxAuthority": "tax authority of shanghai",
        "assessedDate": "2026-01-02",
    }
