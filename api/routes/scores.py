"""Credit scores: the scoring member deposits a score's record; its enterprise reads why.

A score is attested like any record (``POST /v1/attestations`` with the
``credit-score`` schema); its record, checked against that attestation, is
deposited here so the enterprise can read its grade and reason codes. The
enterprise itself, members it authorised and regulators read them; anyone else
gets ``ScoreNotVisible``.
"""

from __future__ import annotations

from fastapi import APIRouter

from pipeline.scores import ScoreEntry, deposit_score, score, scores_of_subject

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
from ..models import Hex32, ScoreDeposit, ScorePublic, ScoreReasonPublic, ScoresPublic

router = APIRouter(prefix="/v1/scores", tags=["credit scores"])


def _b(hex32: str) -> bytes:
    return bytes.fromhex(hex32[2:])


@router.put("/{uid}", response_model=ScorePublic, responses=error_responses(403, 404, 422))
def put_score(
    uid: Hex32, body: ScoreDeposit, service: ServiceDep, caller: WriterDep
) -> ScorePublic:
    """Deposit the record of a score the caller attested (checked against the chain)."""
    return _public(deposit_score(service, caller, _b(uid), body.record, _b(body.ref_uid)))


@router.get("", response_model=ScoresPublic, responses=error_responses(403))
def list_scores(subject: Hex32, service: ServiceDep, caller: CallerDep) -> ScoresPublic:
    """An enterprise's scores and their reason codes (itself, authorised members, regulators)."""
    entries = scores_of_subject(service, caller, _b(subject))
    return ScoresPublic(data=[_public(e) for e in entries], count=len(entries))


@router.get("/{uid}", response_model=ScorePublic, responses=error_responses(403, 404))
def get_score(uid: Hex32, service: ServiceDep, caller: CallerDep) -> ScorePublic:
    """One score and its reason codes (its enterprise, authorised members, regulators)."""
    return _public(score(service, caller, _b(uid)))


def _public(e: ScoreEntry) -> ScorePublic:
    r = e.record
    return ScorePublic(
        uid="0x" + e.uid.hex(),
        subject="0x" + e.subject.hex(),
        attester=e.attester,
        attested_at=e.attested_at,
        validity=e.validity.name,
        grade=str(r.get("grade")),
        pd_basis_points=int(r.get("pdBasisPoints", 0)),
        points=int(r.get("points", 0)),
        model_hash=str(r.get("modelHash")),
        scored_date=str(r.get("scoredDate")),
        reason_codes=e.reason_codes,
        reasons=[ScoreReasonPublic(**x) for x in e.reasons],
        record=r,
    )
