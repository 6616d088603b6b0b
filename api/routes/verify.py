"""Verification of a record against the chain, for auditors and anyone holding a record."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_client.attestations.batches import BatchProof
from ledger_client.audit import verify_record
from pipeline.errors import PipelineError

from ..deps import CallerDep, ServiceDep
from ..models import CheckPublic, VerificationPublic, VerifyCreate

router = APIRouter(prefix="/v1/verify", tags=["verify"])


class VerifyTargetMissing(PipelineError):
    """Neither a UID nor a batch proof says which record to check."""

    kind = "invalid"


@router.post("", response_model=VerificationPublic)
def verify(body: VerifyCreate, service: ServiceDep, _: CallerDep) -> VerificationPublic:
    """Check a record: hash match, attester standing at the time, validity, Merkle proof."""
    if (body.uid is None) == (body.proof is None):
        raise VerifyTargetMissing("give either uid (an attestation) or proof (a batched record)")
    proof = (
        BatchProof.from_dict(body.proof.model_dump(exclude={"root", "record_id", "record"}))
        if body.proof
        else None
    )
    uid = bytes.fromhex(body.uid[2:]) if body.uid else b""
    result = verify_record(service.ledger, uid, body.record, proof)
    return VerificationPublic(
        uid=result.uid,
        ok=result.ok,
        checks=[CheckPublic(name=c.name, ok=c.ok, detail=c.detail) for c in result.checks],
    )
