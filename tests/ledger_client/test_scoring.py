"""Credit scores: visibility is enforced, a score recomputes exactly, tampering is named."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt
import pytest

from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.records import load_schemas, validate_record
from ledger_client.errors import RecordNotAuthorised, RecordRevoked, ScoreMismatch
from ledger_client.scoring.attested import ScoreBundle, UsedRecord, recompute_score, score_record
from ledger_client.scoring.features import (
    RECORD_FEATURES,
    SCITECH_FEATURES,
    FeatureSpec,
    build_features,
)
from ledger_client.scoring.models import GRADES, Scorecard, fit_scorecard
from ledger_client.scoring.records import (
    MEMBERS,
    RecordKind,
    bank_of,
    bureau_of,
    row_record,
    table_from_records,
)
from ledger_client.scoring.visibility import Visibility, visible_rows
from ledger_client.types import City
from node_sim.credit_world import CreditWorld, make_credit_world, regime_features


@pytest.fixture(scope="module")
def world() -> CreditWorld:
    return make_credit_world(5, 4_000)


def _shared_features(world: CreditWorld, spec: FeatureSpec) -> npt.NDArray[np.float64]:
    """Every enterprise scored by its home bank, having queried it under consent."""
    return regime_features(world, "scitech" if spec is SCITECH_FEATURES else "shared")


@pytest.fixture(scope="module")
def scorecard(world: CreditWorld) -> Scorecard:
    return fit_scorecard(
        _shared_features(world, SCITECH_FEATURES), world.defaulted, SCITECH_FEATURES
    )


def test_world_parameters_hold(world: CreditWorld) -> None:
    """Defaults near the cited 3 % and a cross-city share near 30 %; both are the world's own."""
    assert 0.02 < world.defaulted.mean() < 0.05
    assert 0.25 < world.cross_city.mean() < 0.35
    # Records of every kind, and loans held by banks of other cities.
    assert set(np.unique(world.records.kind)) == set(RecordKind)
    loans = world.records.kind == RecordKind.LOAN_REPAYMENT
    away = world.records.holder[loans] != world.home_bank()[world.records.subject[loans]]
    assert 0.15 < away.mean() < 0.45


def test_same_seed_same_world_and_scores(world: CreditWorld, scorecard: Scorecard) -> None:
    again = make_credit_world(5, 4_000)
    assert np.array_equal(again.defaulted, world.defaulted)
    assert np.array_equal(again.records.payload, world.records.payload)
    refit = fit_scorecard(
        _shared_features(again, SCITECH_FEATURES), again.defaulted, SCITECH_FEATURES
    )
    assert refit.hash() == scorecard.hash()
    x = _shared_features(again, SCITECH_FEATURES)
    assert np.array_equal(refit.score(x).pd, scorecard.score(x).pd)
    other = make_credit_world(6, 4_000)
    assert not np.array_equal(other.defaulted, world.defaulted)


def test_features_refuse_a_record_held_elsewhere_and_never_queried(world: CreditWorld) -> None:
    """A Shanghai bank with no authorisation may use its own records only, and names the rest."""
    bank = bank_of(City.SHANGHAI)
    alone = Visibility(bank)
    own = visible_rows(world.records, alone)
    assert own.rows
    assert set(np.unique(own.holder)) == {bank}
    build_features(own, world.size, RECORD_FEATURES, alone)  # its own records: fine
    foreign = np.flatnonzero(world.records.holder == bureau_of(City.HANGZHOU))[:1]
    smuggled = world.records.take(
        np.concatenate([np.flatnonzero(world.records.holder == bank)[:5], foreign])
    )
    with pytest.raises(RecordNotAuthorised) as caught:
        build_features(smuggled, world.size, RECORD_FEATURES, alone)
    assert caught.value.member == "bank:shanghai"
    assert caught.value.holder == "bureau:hangzhou"
    assert caught.value.record == "row 5"
    # Authorised for another enterprise, or for another schema, is not authorised for this one.
    subject = int(world.records.subject[foreign[0]])
    kind = RecordKind(int(world.records.kind[foreign[0]]))
    wrong_subject = Visibility(bank, {subject + 1: None})
    other_kind = next(k for k in RecordKind if k is not kind)
    wrong_schema = Visibility(bank, {subject: frozenset({other_kind})})
    for vis in (wrong_subject, wrong_schema):
        with pytest.raises(RecordNotAuthorised):
            build_features(smuggled, world.size, RECORD_FEATURES, vis)
    # A bank that can ask only its own city is refused another city's answer.
    local = Visibility(bank, {subject: None}, frozenset({bank, bureau_of(City.SHANGHAI)}))
    with pytest.raises(RecordNotAuthorised):
        build_features(smuggled, world.size, RECORD_FEATURES, local)
    # Authorised and queried: the same record is usable.
    build_features(
        smuggled, world.size, RECORD_FEATURES, Visibility(bank, {subject: frozenset({kind})})
    )


def _bundle(
    world: CreditWorld, scorecard: Scorecard, enterprise: int
) -> tuple[ScoreBundle, Visibility]:
    bank = int(world.home_bank()[enterprise])
    vis = Visibility(bank, {0: None})
    rows = np.flatnonzero(world.records.subject == enterprise)
    subject = keccak256(b"enterprise %d" % enterprise)
    used = []
    for row in rows:
        schema, record = row_record(world.records, int(row), subject)
        validate_record(load_schemas()[schema], record)  # each is a valid record of its schema
        uid = keccak256(b"uid %d" % row)
        used.append(UsedRecord(uid, int(world.records.holder[row]), schema, record))
    score = score_record(scorecard, subject, used, vis, "2026-01-05")
    validate_record(load_schemas()["credit-score"], score)
    return ScoreBundle(score, tuple(used), scorecard.to_json()), vis


def test_a_score_from_records_equals_the_batch_score(
    world: CreditWorld, scorecard: Scorecard
) -> None:
    """Records turned into schema records and back give the batch's features and score."""
    x = _shared_features(world, SCITECH_FEATURES)
    batch = scorecard.score(x)
    for enterprise in (0, 1, 2, int(np.flatnonzero(world.defaulted)[0])):
        bundle, _ = _bundle(world, scorecard, enterprise)
        assert bundle.score["grade"] == GRADES[int(batch.grade[enterprise])]
        assert bundle.score["pdBasisPoints"] == int(batch.pd_basis_points()[enterprise])
        rows = np.flatnonzero(world.records.subject == enterprise)
        back = table_from_records([(r.schema, r.record, r.holder) for r in bundle.records])
        assert np.array_equal(back.payload, world.records.payload[rows])


def test_attested_score_recomputes_exactly(world: CreditWorld, scorecard: Scorecard) -> None:
    bundle, vis = _bundle(world, scorecard, 3)
    recompute_score(bundle, SCITECH_FEATURES, vis)
    assert bundle.score["modelHash"] == "0x" + scorecard.hash().hex()
    reasons = scorecard.score(_shared_features(world, SCITECH_FEATURES)[3:4]).reasons[0]
    assert set(reasons) <= set(SCITECH_FEATURES.features)
    assert bundle.score["reasonCodes"] == (",".join(reasons) or "none")
    # Reason codes are attested too: claiming others is a mismatch.
    claimed = dict(bundle.score, reasonCodes="tax_grade")
    if claimed != bundle.score:
        with pytest.raises(ScoreMismatch) as caught:
            recompute_score(dataclasses.replace(bundle, score=claimed), SCITECH_FEATURES, vis)
        assert caught.value.what == "reasonCodes"


def _with_record(bundle: ScoreBundle, index: int, **fields: object) -> ScoreBundle:
    records = list(bundle.records)
    changed: Mapping[str, object] = {**records[index].record, **fields}
    records[index] = dataclasses.replace(records[index], record=changed)
    return dataclasses.replace(bundle, records=tuple(records))


def test_tampered_input_or_model_is_a_score_mismatch(
    world: CreditWorld, scorecard: Scorecard
) -> None:
    bundle, vis = _bundle(world, scorecard, 3)
    # An input altered: every loan instalment repaid 200 days late.
    worse = bundle
    for i, used in enumerate(bundle.records):
        if used.schema == "loan-repayment":
            worse = _with_record(worse, i, repaidDate="2025-12-31")
    with pytest.raises(ScoreMismatch) as caught:
        recompute_score(worse, SCITECH_FEATURES, vis)
    assert caught.value.what in {"grade", "pdBucket", "pdBasisPoints", "points"}
    # The model altered: another intercept is another model.
    model = dict(bundle.model, intercept=float(bundle.model["intercept"]) - 0.5)
    with pytest.raises(ScoreMismatch) as caught:
        recompute_score(dataclasses.replace(bundle, model=model), SCITECH_FEATURES, vis)
    assert caught.value.what == "model hash"
    # The claim altered: a better grade than the records give.
    better = dict(bundle.score, grade="AAA" if bundle.score["grade"] != "AAA" else "AA")
    with pytest.raises(ScoreMismatch) as caught:
        recompute_score(dataclasses.replace(bundle, score=better), SCITECH_FEATURES, vis)
    assert caught.value.what == "grade"
    # A record dropped from the list the score names.
    fewer = dataclasses.replace(bundle, records=bundle.records[1:])
    with pytest.raises(ScoreMismatch) as caught:
        recompute_score(fewer, SCITECH_FEATURES, vis)
    assert caught.value.what == "records hash"
    # Another feature specification than the model's.
    with pytest.raises(ScoreMismatch) as caught:
        recompute_score(bundle, RECORD_FEATURES, vis)
    assert caught.value.what == "feature specification"


def test_unauthorised_or_revoked_record_refused(world: CreditWorld, scorecard: Scorecard) -> None:
    bundle, vis = _bundle(world, scorecard, 3)
    foreign = next(i for i, r in enumerate(bundle.records) if r.holder != vis.member)
    with pytest.raises(RecordNotAuthorised) as caught:
        recompute_score(bundle, SCITECH_FEATURES, Visibility(vis.member))
    assert caught.value.record == "0x" + bundle.records[foreign].uid.hex()
    assert caught.value.member == MEMBERS[vis.member]
    with pytest.raises(RecordRevoked):
        recompute_score(bundle, SCITECH_FEATURES, dataclasses.replace(vis, revoked=frozenset({0})))
