"""Attested credit scores: compute one, and verify one by recomputing it.

A member scores an enterprise from the records it may see and attests the
result as a ``credit-score`` record: the scorecard's hash and its feature
specification's hash, the grade and PD bucket, PD in basis points, points,
the top reason codes (what the enterprise may read), and keccak256 of the
ids of the records used (:func:`records_hash`): attestation UIDs, or, for
records anchored in Merkle batches, their batch record ids, each record then
travelling with its batch proof. The records themselves
stay off chain (数据不出库) and travel, with the UIDs, in a
:class:`ScoreBundle` to whoever must check the score.

:func:`recompute_score` is the check without a chain: the model is the
published one, the records are visible to the scorer, and features rebuilt
from the records give the same score. :func:`verify_attested_score` adds the
chain: the score's attestation commits to the score record, each record used
is attested by the member said to hold it and commits to the record given
(for a batched record, the chain finds it in its batch from the record's
ingredients and the proof, and names its id and attester), none is revoked,
and the scorer's visibility is read from the consent log.
Any difference raises :class:`~ledger_client.errors.ScoreMismatch` naming
what differs; a record used without authorisation raises
:class:`~ledger_client.errors.RecordNotAuthorised`, a revoked one
:class:`~ledger_client.errors.RecordRevoked`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger_client.attestations.batches import BatchProof
from ledger_client.attestations.merkle import keccak256
from ledger_client.attestations.records import load_schemas, record_hash
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.attestations import schema_id
from ledger_client.errors import ContractRevert, LedgerValueError, RecordRevoked, ScoreMismatch
from ledger_client.scoring.features import (
    RECORD_FEATURES,
    SCITECH_FEATURES,
    FeatureSpec,
    build_features,
)
from ledger_client.scoring.models import GRADES, Scorecard
from ledger_client.scoring.records import MEMBERS, PAYLOAD, RecordKind, table_from_records
from ledger_client.scoring.visibility import Visibility, visibility_from_consent
from ledger_client.types import AttestationFields, BatchEntry, Hash32, SubjectId

if TYPE_CHECKING:
    from ledger_client.deployment import Ledger
    from ledger_client.index.consent import ConsentLog

__all__ = [
    "ScoreBundle",
    "UsedRecord",
    "recompute_score",
    "records_hash",
    "score_record",
    "spec_of_model",
    "verify_attested_score",
]


@dataclass(frozen=True)
class UsedRecord:
    """A record a score used: its attestation UID, who holds it, its schema and fields.

    A record anchored in a Merkle batch is named by its batch record id (what the
    chain's ``batchRecord`` answers, what disputes and revocations name) and carries
    its ``proof``: the batch id, the inclusion proof and, for a signed batch, the
    attester's signed record.
    """

    uid: bytes  # attestation UID, or the batch record id of a batched record
    holder: int  # index into MEMBERS
    schema: str
    record: Mapping[str, object]
    proof: BatchProof | None = None  # for a record anchored in a batch


@dataclass(frozen=True)
class ScoreBundle:
    """What a verifier receives off chain: the score record, the records used, the model."""

    score: Mapping[str, object]  # the credit-score record
    records: tuple[UsedRecord, ...]
    model: Mapping[str, Any]  # the published scorecard (Scorecard.to_json)

    def to_json(self, members: Sequence[str]) -> dict[str, Any]:
        """The bundle as JSON, with the members' addresses (in MEMBERS order) a verifier needs."""
        return {
            "score": dict(self.score),
            "records": [
                {
                    "uid": _hex(r.uid),
                    "holder": MEMBERS[r.holder],
                    "schema": r.schema,
                    "record": dict(r.record),
                    **({"proof": r.proof.to_dict()} if r.proof is not None else {}),
                }
                for r in self.records
            ],
            "model": dict(self.model),
            "members": dict(zip(MEMBERS, members, strict=True)),
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> tuple[ScoreBundle, list[str]]:
        """A bundle read from :meth:`to_json`'s form, and the members' addresses."""
        try:
            records = tuple(
                UsedRecord(
                    bytes.fromhex(str(r["uid"])[2:]),
                    MEMBERS.index(str(r["holder"])),
                    str(r["schema"]),
                    dict(r["record"]),
                    BatchProof.from_dict(r["proof"]) if "proof" in r else None,
                )
                for r in doc["records"]
            )
            members = [str(doc["members"][label]) for label in MEMBERS]
            return cls(dict(doc["score"]), records, dict(doc["model"])), members
        except (KeyError, TypeError, ValueError, LedgerValueError) as exc:
            raise ScoreMismatch("bundle", "a score bundle", f"unreadable: {exc}") from exc


def spec_of_model(model: Mapping[str, Any]) -> FeatureSpec:
    """The shipped feature specification a published model names (its ``specName``).

    An unknown name gives the sci-tech spec, whose hash the model's ``featureSpec`` then
    fails to match (``ScoreMismatch('feature specification')``) when it is recomputed.
    """
    specs = {s.name: s for s in (RECORD_FEATURES, SCITECH_FEATURES)}
    return specs.get(str(model.get("specName")), SCITECH_FEATURES)


def records_hash(uids: Sequence[bytes]) -> Hash32:
    """keccak256 of the UIDs of the records used, in the order used."""
    return keccak256(b"".join(bytes(u) for u in uids))


def _hex(value: bytes) -> str:
    return "0x" + bytes(value).hex()


def score_record(
    scorecard: Scorecard,
    subject: bytes,
    records: Sequence[UsedRecord],
    visibility: Visibility,
    scored_date: str,
) -> dict[str, object]:
    """Score ``subject`` from ``records`` and return its ``credit-score`` record.

    Refuses (:class:`~ledger_client.errors.RecordNotAuthorised`) a record the
    scorer may not use, before any model sees it.
    """
    table = table_from_records([(r.schema, r.record, r.holder) for r in records])
    x = build_features(table, 1, scorecard.spec, visibility, [r.uid for r in records])
    score = scorecard.score(x)
    grade = int(score.grade[0])
    return {
        "subject": _hex(subject),
        "modelHash": _hex(scorecard.hash()),
        "featureSpecHash": _hex(scorecard.spec.hash()),
        "grade": GRADES[grade],
        "pdBucket": grade,
        "pdBasisPoints": int(score.pd_basis_points()[0]),
        "points": max(0, int(score.points[0])),
        "reasonCodes": ",".join(score.reasons[0]) or "none",
        "recordsHash": _hex(records_hash([r.uid for r in records])),
        "recordCount": len(records),
        "scoredDate": scored_date,
    }


def recompute_score(bundle: ScoreBundle, spec: FeatureSpec, visibility: Visibility) -> None:
    """Recompute the bundle's score from its records and model; raise on any difference.

    Checks, in order: the model is the one the score names
    (``ScoreMismatch('model hash')``), the records are the ones it names
    (``'records hash'``, ``'record count'``), each is visible to the scorer
    (``RecordNotAuthorised``, ``RecordRevoked``), and every field of the
    recomputed score equals the attested one (``ScoreMismatch('<field>')``).
    """
    scorecard = Scorecard.from_json(dict(bundle.model), spec)
    claimed = bundle.score
    if claimed.get("modelHash") != _hex(scorecard.hash()):
        raise ScoreMismatch("model hash", claimed.get("modelHash"), _hex(scorecard.hash()))
    uids = [r.uid for r in bundle.records]
    if claimed.get("recordsHash") != _hex(records_hash(uids)):
        raise ScoreMismatch("records hash", claimed.get("recordsHash"), _hex(records_hash(uids)))
    if claimed.get("recordCount") != len(uids):
        raise ScoreMismatch("record count", claimed.get("recordCount"), len(uids))
    scored_date = str(claimed.get("scoredDate"))
    subject = bytes.fromhex(str(claimed.get("subject", "0x"))[2:])
    recomputed = score_record(scorecard, subject, bundle.records, visibility, scored_date)
    for name, value in recomputed.items():
        if claimed.get(name) != value:
            raise ScoreMismatch(name, claimed.get(name), value)


def verify_attested_score(
    ledger: Ledger,
    consent: ConsentLog,
    score_uid: bytes,
    bundle: ScoreBundle,
    *,
    spec: FeatureSpec,
    members: Sequence[str],
    revoked_by: int | None = None,
) -> None:
    """Verify an attested score against the chain and recompute it; raise on any failure.

    ``members`` are the addresses of :data:`~ledger_client.scoring.records.MEMBERS`,
    in order. The scorer is the score's attester; its visibility is what its
    logged queries under authorisations in force at the score's time allow.
    A record used counts as revoked when it is revoked now, or, with
    ``revoked_by``, when it was revoked at or before that time (an auditor passes
    the score's time: a record revoked after the score was made is no fault of it).
    """
    schemas = load_schemas()
    info = ledger.attestations.attestation(score_uid)
    score_hash = record_hash(schemas["credit-score"], bundle.score)
    if info is None or not ledger.attestations.matches(
        score_uid, _fields(bundle.score["subject"], score_hash)
    ):
        raise ScoreMismatch("attestation", _hex(score_uid), _hex(score_hash))
    by_address = {a.lower(): i for i, a in enumerate(members)}
    scorer = by_address.get(str(info.attester).lower())
    if scorer is None:
        raise ScoreMismatch("scorer", info.attester, "a member of MEMBERS")
    revoked: list[int] = []
    for row, used in enumerate(bundle.records):
        data_hash = record_hash(schemas[used.schema], used.record)
        if used.proof is None:
            attester, revoked_at = _attested(ledger, used, data_hash)
        else:
            attester, revoked_at = _anchored(ledger, used, used.proof, data_hash)
        if attester.lower() != members[used.holder].lower():
            raise ScoreMismatch(f"holder of {_hex(used.uid)}", members[used.holder], attester)
        if revoked_at and (revoked_by is None or revoked_at <= revoked_by):
            revoked.append(row)
    if revoked:
        raise RecordRevoked(_hex(bundle.records[revoked[0]].uid), MEMBERS[scorer])
    subject = bytes.fromhex(str(bundle.score["subject"])[2:])
    kinds = {bytes(schema_id(schemas[PAYLOAD[k][0]])): k for k in RecordKind}
    consent.follow()
    visibility = visibility_from_consent(
        scorer,
        members[scorer],
        subjects={subject: 0},
        queries=consent.queries_by_member(members[scorer]),
        authorisations=consent.authorisations_of_subject(subject),
        schema_ids=kinds,
        now=int(info.attested_at),
    )
    recompute_score(bundle, spec, visibility)


def _attested(ledger: Ledger, used: UsedRecord, data_hash: bytes) -> tuple[str, int]:
    """(attester, revoked at) of a record attested with a UID that commits to it."""
    held = ledger.attestations.attestation(used.uid)
    if held is None or not ledger.attestations.matches(
        used.uid, _fields(used.record["subject"], data_hash)
    ):
        raise ScoreMismatch(f"record {_hex(used.uid)}", "attested", "not on chain as given")
    return str(held.attester), int(held.revoked_at)


def _anchored(
    ledger: Ledger, used: UsedRecord, proof: BatchProof, data_hash: bytes
) -> tuple[str, int]:
    """(attester, revoked at) of a record anchored in a batch, as the chain resolves it from
    the record's ingredients and its proof (a leaf is never taken as given)."""
    subject = bytes.fromhex(str(used.record["subject"])[2:])
    what = f"record {_hex(used.uid)}"
    if proof.signed_record is not None:
        try:
            entry = SignedRecord.from_dict(proof.signed_record).entry()
        except (KeyError, TypeError, ValueError, LedgerValueError) as exc:
            raise ScoreMismatch(what, "a signed record", f"unreadable: {exc}") from exc
        if bytes(entry.subject) != subject or bytes(entry.data_hash) != bytes(data_hash):
            raise ScoreMismatch(what, "its signed record", "another record")
    else:
        entry = BatchEntry(subject, bytes(data_hash))
    try:
        found = ledger.attestations.batch_record(proof.batch_id, entry, proof.proof)
    except ContractRevert as exc:  # AttestationsNotInBatch: altered record or forged proof
        raise ScoreMismatch(what, f"in batch {_hex(proof.batch_id)}", type(exc).__name__) from exc
    if bytes(found.record_id) != bytes(used.uid):
        raise ScoreMismatch(f"id of {what}", _hex(used.uid), _hex(found.record_id))
    return found.attester, ledger.attestations.record_status(found.record_id)[0]


def _fields(subject: object, data_hash: bytes) -> AttestationFields:
    return AttestationFields(SubjectId(bytes.fromhex(str(subject)[2:])), Hash32(data_hash))
