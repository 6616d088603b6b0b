"""An attested credit score on the chain: consent decides what it may use; anyone recomputes it.

A Shanghai bank scores a Hangzhou enterprise from its own loan records and
the records the Hangzhou bureau holds, which it may read only after the
enterprise authorised it and it logged the query. The score is attested
with the ``credit-score`` schema; the verifier reads the records' attestations,
the consent log and the published model, and recomputes it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from eth_account.signers.local import LocalAccount
from typer.testing import CliRunner

from ledger_client import Keyring, Ledger, Manifest, Role, attach, connect
from ledger_client.attestations.batches import anchor_records
from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.records import record_hash
from ledger_client.audit import ScoreEvidence, audit_ledger
from ledger_client.contracts.attestations import batch_record_id, schema_id
from ledger_client.contracts.authorisations import AuthorisationRequest
from ledger_client.errors import RecordNotAuthorised, RecordRevoked, ScoreMismatch
from ledger_client.index.consent import ConsentLog
from ledger_client.scoring.attested import (
    ScoreBundle,
    UsedRecord,
    score_record,
    verify_attested_score,
)
from ledger_client.scoring.features import SCITECH_FEATURES
from ledger_client.scoring.models import GRADES, Scorecard, fit_scorecard
from ledger_client.scoring.records import MEMBERS, RecordKind, bank_of, bureau_of, row_record
from ledger_client.scoring.visibility import Visibility, visibility_from_consent
from ledger_client.types import BatchEntry, City, QueryPurpose
from node_sim.credit_world import make_credit_world, regime_features
from scripts.cli import app
from tests.conformance import EmbeddedChain
from tests.consent_fixtures import HANGZHOU_SUBJECT, ConsentFixtures, ConsentWorld

BANK = bank_of(City.SHANGHAI)
BUREAU = bureau_of(City.HANGZHOU)
NOBODY = "0x" + "00" * 19 + "01"


@pytest.fixture(scope="module")
def scorecard() -> Scorecard:
    world = make_credit_world(3, 2_000)
    return fit_scorecard(regime_features(world, "scitech"), world.defaulted, SCITECH_FEATURES)


def _attest_records(
    ledger: Ledger, bank: LocalAccount, bureau: LocalAccount, *, batched: bool = False
) -> list[UsedRecord]:
    """A simulated Hangzhou enterprise's records, attested: loans by the bank, the rest by the
    bureau (``batched``: the bureau anchors its records in one Merkle batch per schema)."""
    sim = make_credit_world(9, 50)
    enterprise = int(np.flatnonzero(sim.city == list(City).index(City.HANGZHOU))[0])
    used = []
    held: dict[str, list[dict[str, object]]] = {}
    for row in np.flatnonzero(sim.records.subject == enterprise):
        kind = RecordKind(int(sim.records.kind[row]))
        holder = BANK if kind in {RecordKind.LOAN_REPAYMENT, RecordKind.OVERDUE} else BUREAU
        sim.records.holder[row] = holder
        name, record = row_record(sim.records, int(row), HANGZHOU_SUBJECT)
        if batched and holder == BUREAU:
            held.setdefault(name, []).append(record)
            continue
        uid = ledger.attestations.attest_record(
            bank if holder == BANK else bureau, ledger.schemas[name], record
        ).uid
        used.append(UsedRecord(uid, holder, name, record))
    for name, records in held.items():
        batch = anchor_records(ledger.attestations, bureau, ledger.schemas[name], records)
        for i, record in enumerate(records):
            record_id = batch_record_id(batch.batch_id, batch.leaf(i))
            used.append(UsedRecord(record_id, BUREAU, name, record, batch.proof_for(i)))
    return used


@dataclasses.dataclass
class Scored:
    world: ConsentWorld
    consent: ConsentLog
    members: list[str]
    records: list[UsedRecord]  # attested on chain: loans by the bank, the rest by the bureau


class ScoreConformance(ConsentFixtures):
    @pytest.fixture
    def scored(self, world: ConsentWorld) -> Iterator[Scored]:
        records = _attest_records(world.ledger, world.shanghai_bank, world.hangzhou_bureau)
        members = [NOBODY] * len(MEMBERS)
        members[BANK] = world.shanghai_bank.address
        members[bank_of(City.NANJING)] = world.nanjing_bank.address
        members[BUREAU] = world.hangzhou_bureau.address
        consent = ConsentLog(world.ledger)
        yield Scored(world, consent, members, records)
        consent.close()

    def _visibility(self, scored: Scored) -> Visibility:
        ledger = scored.world.ledger
        scored.consent.follow()
        kinds = {bytes(schema_id(ledger.schemas[k.schema])): k for k in RecordKind}
        return visibility_from_consent(
            BANK,
            scored.members[BANK],
            subjects={bytes(HANGZHOU_SUBJECT): 0},
            queries=scored.consent.queries_by_member(scored.members[BANK]),
            authorisations=scored.consent.authorisations_of_subject(HANGZHOU_SUBJECT),
            schema_ids=kinds,
            now=ledger.chain.now(),
        )

    def _query(self, scored: Scored) -> None:
        world = scored.world
        signed = world.authorise()
        world.ledger.authorisations.log_query(
            world.shanghai_bank,
            signed.auth_id,
            QueryPurpose.LOAN_APPROVAL,
            keccak256(b"application 1"),
        )

    def _attest(
        self, scored: Scored, scorecard: Scorecard, bank: LocalAccount
    ) -> tuple[bytes, ScoreBundle]:
        vis = self._visibility(scored)
        score = score_record(scorecard, HANGZHOU_SUBJECT, scored.records, vis, "2026-01-05")
        schema = scored.world.ledger.schemas["credit-score"]
        uid = scored.world.ledger.attestations.attest(
            bank, schema, HANGZHOU_SUBJECT, record_hash(schema, score)
        ).uid
        return uid, ScoreBundle(score, tuple(scored.records), scorecard.to_json())

    def _verify(self, scored: Scored, uid: bytes, bundle: ScoreBundle) -> None:
        verify_attested_score(
            scored.world.ledger,
            scored.consent,
            uid,
            bundle,
            spec=SCITECH_FEATURES,
            members=scored.members,
        )

    def test_without_a_logged_query_the_bureau_records_are_refused(
        self, scored: Scored, scorecard: Scorecard
    ) -> None:
        with pytest.raises(RecordNotAuthorised) as caught:
            self._attest(scored, scorecard, scored.world.shanghai_bank)
        assert caught.value.holder == "bureau:hangzhou"
        assert caught.value.member == "bank:shanghai"
        # Authorised but never queried is not enough either: the query trail is the gate.
        scored.world.authorise()
        with pytest.raises(RecordNotAuthorised):
            self._attest(scored, scorecard, scored.world.shanghai_bank)

    def test_attested_score_verifies_and_tampering_is_named(
        self, scored: Scored, scorecard: Scorecard
    ) -> None:
        self._query(scored)
        uid, bundle = self._attest(scored, scorecard, scored.world.shanghai_bank)
        self._verify(scored, uid, bundle)
        # A record altered after scoring no longer matches its attestation.
        records = list(bundle.records)
        loan = next(i for i, r in enumerate(records) if r.schema == "loan-repayment")
        records[loan] = dataclasses.replace(
            records[loan], record={**records[loan].record, "repaidFen": 1}
        )
        with pytest.raises(ScoreMismatch) as caught:
            self._verify(scored, uid, dataclasses.replace(bundle, records=tuple(records)))
        assert caught.value.what == f"record 0x{records[loan].uid.hex()}"
        # A score record other than the attested one.
        better = dict(bundle.score, points=int(str(bundle.score["points"])) + 1)
        with pytest.raises(ScoreMismatch) as caught:
            self._verify(scored, uid, dataclasses.replace(bundle, score=better))
        assert caught.value.what == "attestation"
        # Another model than the one the score names.
        model = dict(bundle.model, intercept=float(bundle.model["intercept"]) + 1)
        with pytest.raises(ScoreMismatch) as caught:
            self._verify(scored, uid, dataclasses.replace(bundle, model=model))
        assert caught.value.what == "model hash"

    def test_revoked_record_is_named(self, scored: Scored, scorecard: Scorecard) -> None:
        self._query(scored)
        uid, bundle = self._attest(scored, scorecard, scored.world.shanghai_bank)
        tax = next(r for r in scored.records if r.schema == "tax-credit-grade")
        scored.world.ledger.attestations.revoke(scored.world.hangzhou_bureau, tax.uid)
        with pytest.raises(RecordRevoked) as caught:
            self._verify(scored, uid, bundle)
        assert caught.value.record == f"0x{tax.uid.hex()}"

    def test_score_by_a_bank_that_never_queried_is_refused(
        self, scored: Scored, scorecard: Scorecard
    ) -> None:
        """The Nanjing bank attests the same score; its visibility does not cover the records."""
        self._query(scored)
        _, bundle = self._attest(scored, scorecard, scored.world.shanghai_bank)
        schema = scored.world.ledger.schemas["credit-score"]
        uid = scored.world.ledger.attestations.attest(
            scored.world.nanjing_bank, schema, HANGZHOU_SUBJECT, record_hash(schema, bundle.score)
        ).uid
        with pytest.raises(RecordNotAuthorised) as caught:
            self._verify(scored, uid, bundle)
        assert caught.value.member == "bank:nanjing"

    def _evidence(self, scored: Scored, bundle: ScoreBundle) -> ScoreEvidence:
        return ScoreEvidence(bundle, tuple(scored.members))

    def test_audit_recomputes_attested_scores(
        self, scored: Scored, scorecard: Scorecard, tmp_path: Path
    ) -> None:
        """A true score audits clean; a score attested with a grade its records do not give,
        a score built on records its scorer may not use and one without a bundle are breaches
        by name; a record revoked after the score was made is not the scorer's fault."""
        ledger = scored.world.ledger
        self._query(scored)
        _, bundle = self._attest(scored, scorecard, scored.world.shanghai_bank)
        clean = audit_ledger(
            ledger, tmp_path / "clean", score_bundles=[self._evidence(scored, bundle)]
        )
        assert clean.ok, clean.report["verdict"]
        assert clean.report["scores"]["recomputed"] == 1
        # The Shanghai bank attests another grade than its records give (the bundle opens
        # the attestation: the lie is in the score, not in the transport).
        schema = ledger.schemas["credit-score"]
        grade = "C" if bundle.score["grade"] != "C" else "AAA"
        better = dict(bundle.score, grade=grade, pdBucket=GRADES.index(grade))
        ledger.attestations.attest_record(scored.world.shanghai_bank, schema, better)
        forged = dataclasses.replace(bundle, score=better)
        # The Nanjing bank attests a score from records it never queried.
        nanjing = dict(bundle.score, scoredDate="2026-01-06")
        ledger.attestations.attest_record(scored.world.nanjing_bank, schema, nanjing)
        stolen = dataclasses.replace(bundle, score=nanjing)
        # The tax record's attester revokes it: the scores made before were right when made
        # (the true one still audits clean below).
        tax = next(r for r in scored.records if r.schema == "tax-credit-grade")
        ledger.attestations.revoke(scored.world.hangzhou_bureau, tax.uid)
        # A score attested after a record it uses was revoked.
        stale = score_record(
            scorecard, HANGZHOU_SUBJECT, bundle.records, self._visibility(scored), "2026-01-07"
        )
        ledger.attestations.attest_record(scored.world.shanghai_bank, schema, stale)
        revoked = ScoreBundle(stale, bundle.records, bundle.model)
        # And a score nobody hands a bundle for.
        ledger.attestations.attest_record(
            scored.world.shanghai_bank, schema, dict(bundle.score, scoredDate="2026-01-08")
        )
        given = [bundle, forged, stolen, revoked]
        audit = audit_ledger(
            ledger, tmp_path / "audit", score_bundles=[self._evidence(scored, b) for b in given]
        )
        names = sorted(b.name for b in audit.breaches)
        assert names == [
            "RecordNotAuthorised",
            "RecordRevoked",
            "ScoreMismatch",
            "ScoreNotRecomputed",
        ], audit.report["verdict"]
        mismatch = next(b for b in audit.breaches if b.name == "ScoreMismatch")
        assert "score grade" in mismatch.detail
        assert audit.report["scores"] == {
            "attested": 5,
            "recomputed": 1,
            "failed": 4,
            "revoked": 0,
            "without_bundle": 1,
            "bundles_given": True,
        }
        # Without bundles nothing is recomputed, and nothing is a breach for it.
        unchecked = audit_ledger(ledger, tmp_path / "unchecked")
        assert unchecked.ok
        assert unchecked.report["scores"]["without_bundle"] == 5

    def test_batched_records_are_score_inputs_with_their_proofs(
        self, world: ConsentWorld, scorecard: Scorecard, tmp_path: Path
    ) -> None:
        """The bureau anchors its records in Merkle batches; the score names them by batch
        record id with their proofs, and verify and the auditor find each on chain."""
        ledger = world.ledger
        records = _attest_records(ledger, world.shanghai_bank, world.hangzhou_bureau, batched=True)
        assert sum(r.proof is not None for r in records) > 20
        members = [NOBODY] * len(MEMBERS)
        members[BANK], members[BUREAU] = world.shanghai_bank.address, world.hangzhou_bureau.address
        consent = ConsentLog(ledger)
        scored = Scored(world, consent, members, records)
        try:
            self._query(scored)
            uid, bundle = self._attest(scored, scorecard, world.shanghai_bank)
            self._verify(scored, uid, bundle)
            # The bundle survives its JSON form, proofs included.
            again, _ = ScoreBundle.from_json(bundle.to_json(members))
            assert again == bundle
            self._verify(scored, uid, again)
            audit = audit_ledger(
                ledger, tmp_path / "audit", score_bundles=[ScoreEvidence(bundle, tuple(members))]
            )
            assert audit.ok, audit.report["verdict"]
            assert audit.report["scores"]["recomputed"] == 1

            batched = [i for i, r in enumerate(bundle.records) if r.schema == "utility-payments"]
            first, second = bundle.records[batched[0]], bundle.records[batched[1]]
            # A batched record altered after scoring is not in its batch.
            altered = list(bundle.records)
            altered[batched[0]] = dataclasses.replace(
                first, record={**first.record, "daysLate": int(str(first.record["daysLate"])) + 9}
            )
            with pytest.raises(ScoreMismatch) as caught:
                self._verify(scored, uid, dataclasses.replace(bundle, records=tuple(altered)))
            assert caught.value.what == f"record 0x{first.uid.hex()}"
            assert "AttestationsNotInBatch" in str(caught.value)
            # A proof of one record offered under another record's id.
            swapped = list(bundle.records)
            swapped[batched[0]] = dataclasses.replace(first, uid=second.uid)
            with pytest.raises(ScoreMismatch) as caught:
                self._verify(scored, uid, dataclasses.replace(bundle, records=tuple(swapped)))
            assert caught.value.what == f"id of record 0x{second.uid.hex()}"
            # Revoked by the bureau: the score rests on a withdrawn record.
            assert first.proof is not None
            entry = BatchEntry(
                HANGZHOU_SUBJECT, record_hash(ledger.schemas[first.schema], first.record)
            )
            ledger.attestations.revoke_batch_record(
                world.hangzhou_bureau, first.proof.batch_id, entry, first.proof.proof
            )
            with pytest.raises(RecordRevoked) as withdrawn:
                self._verify(scored, uid, bundle)
            assert withdrawn.value.record == f"0x{first.uid.hex()}"
        finally:
            consent.close()


@pytest.mark.slow  # some 60 attestations per test on the embedded chain
class TestScoreEmbedded(EmbeddedChain, ScoreConformance):
    pass


@pytest.mark.slow  # a deployment and some 60 attestations on a file-backed embedded chain
def test_verify_command_recomputes_a_score(tmp_path: Path, scorecard: Scorecard) -> None:
    """`credit-chain verify --score-bundle` passes a true score and names a tampered model."""
    runner = CliRunner()
    out = tmp_path / "ledger"
    assert runner.invoke(app, ["deploy", "--data-dir", str(out)]).exit_code == 0
    chain = connect("embedded", data_dir=out)
    ledger = attach(chain, Manifest.load(out / "manifest.json"))
    ring = Keyring.load(out / "keys.json")
    regulator = ring.account("regulator")
    bank, bureau, enterprise = (ring.account(n) for n in ("bank", "bureau", "enterprise"))
    for account, city, role in (
        (bank, "Shanghai", Role.ATTESTER),
        (bureau, "Hangzhou", Role.ATTESTER | Role.REGISTRAR),
    ):
        chain.fund(account.address)
        ledger.consortium.admit_member(regulator, account.address, city, city, role)
    ledger.consortium.bind_enterprise(bureau, enterprise.address, HANGZHOU_SUBJECT)
    members = [NOBODY] * len(MEMBERS)
    members[BANK], members[BUREAU] = bank.address, bureau.address
    used = _attest_records(ledger, bank, bureau)
    request = AuthorisationRequest(
        bank.address, QueryPurpose.LOAN_APPROVAL, chain.now() + 86_400 * 90
    )
    signed = ledger.authorisations.sign_authorisation(enterprise, request)
    ledger.authorisations.authorise(bank, signed)
    ledger.authorisations.log_query(
        bank, signed.auth_id, QueryPurpose.LOAN_APPROVAL, keccak256(b"app")
    )
    visibility = Visibility(BANK, {0: None})  # what that query allows: the subject, every schema
    score = score_record(scorecard, HANGZHOU_SUBJECT, used, visibility, "2026-01-05")
    uid = ledger.attestations.attest_record(bank, ledger.schemas["credit-score"], score).uid
    chain.close()
    bundle = ScoreBundle(score, tuple(used), scorecard.to_json())
    (tmp_path / "score.json").write_text(json.dumps(score))
    (tmp_path / "bundle.json").write_text(json.dumps(bundle.to_json(members)))
    args = [
        "verify",
        "--manifest",
        str(out / "manifest.json"),
        "--uid",
        "0x" + uid.hex(),
        "--record",
        str(tmp_path / "score.json"),
    ]
    good = runner.invoke(app, [*args, "--score-bundle", str(tmp_path / "bundle.json"), "--json"])
    assert good.exit_code == 0, good.output
    checks = {c["name"]: c["ok"] for c in json.loads(good.stdout)["checks"]}
    assert checks["score-recomputed"] is True
    tampered = bundle.to_json(members)
    tampered["model"]["intercept"] += 1.0
    (tmp_path / "tampered.json").write_text(json.dumps(tampered))
    bad = runner.invoke(app, [*args, "--score-bundle", str(tmp_path / "tampered.json"), "--json"])
    assert bad.exit_code == 1
    failed = [c for c in json.loads(bad.stdout)["checks"] if not c["ok"]]
    assert [c["name"] for c in failed] == ["score-recomputed"]
    assert failed[0]["detail"].startswith("ScoreMismatch: score model hash")
    # The auditor recomputes the score from the bundle its scorer handed over.
    good_dir, bad_dir = tmp_path / "bundles", tmp_path / "tampered-bundles"
    good_dir.mkdir()
    bad_dir.mkdir()
    (good_dir / "score.json").write_text(json.dumps(bundle.to_json(members)))
    (bad_dir / "score.json").write_text(json.dumps(tampered))
    audit = ["audit", "--manifest", str(out / "manifest.json"), "--json"]
    clean = runner.invoke(
        app, [*audit, "--out", str(tmp_path / "a1"), "--score-bundles", str(good_dir)]
    )
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.stdout)["scores"]["recomputed"] == 1
    breached = runner.invoke(
        app, [*audit, "--out", str(tmp_path / "a2"), "--score-bundles", str(bad_dir)]
    )
    assert breached.exit_code == 1
    report = json.loads(breached.stdout)
    assert [b["name"] for b in report["breaches"]] == ["ScoreMismatch"]
    assert "model hash" in report["breaches"][0]["detail"]
