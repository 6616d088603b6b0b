"""Submissions: where an accepted write stands, and the proof of a batched record."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_client.contracts.attestations import batch_record_id
from ledger_client.signed_records import SignedRecord

from ..deps import Caller, CallerDep, ServiceDep
from ..errors import NotFound, error_responses
from ..journal import Submission
from ..models import BatchRecordIn, ProofPublic, SubmissionPublic
from ..relay import submission_public
from ..service import Service
from ..worker import unpack_levels

router = APIRouter(prefix="/v1/submissions", tags=["submissions"])


@router.get("/{submission_id}", response_model=SubmissionPublic, responses=error_responses(404))
def get_submission(submission_id: str, service: ServiceDep, caller: CallerDep) -> SubmissionPublic:
    """A submission: pending, anchored (with its uid or batch position) or rejected (why)."""
    return submission_public(_own(service, caller, submission_id))


@router.get("/{submission_id}/proof", response_model=ProofPublic, responses=error_responses(404))
def get_proof(submission_id: str, service: ServiceDep, caller: CallerDep) -> ProofPublic:
    """The inclusion proof of a record anchored in a signed batch.

    Like the submission itself, only its submitter and read-only (auditor) keys see it;
    the submitter hands the proof on with the record.
    """
    sub = _own(service, caller, submission_id)
    if sub.status != "anchored" or sub.result is None:
        raise NotFound(f"no anchored submission {submission_id}", submission_id=submission_id)
    if "batch_id" not in sub.result or sub.anchor_id is None:
        raise NotFound(
            "this record was attested on its own: it has a uid, not a batch proof",
            submission_id=submission_id,
            uid=sub.result.get("uid"),
        )
    anchor = service.journal.anchor(sub.anchor_id)
    if anchor is None or anchor.tree is None:
        raise NotFound(
            f"the batch of {submission_id} has no stored tree", submission_id=submission_id
        )
    tree = unpack_levels(anchor.tree)
    index = int(sub.result["index"])
    signed = SignedRecord.from_dict(sub.payload)
    entry = signed.entry()
    return ProofPublic(
        batch_id=sub.result["batch_id"],
        index=index,
        root="0x" + tree.root.hex(),
        proof=["0x" + p.hex() for p in tree.proof(index)],
        signed_record=sub.payload,
        record_id="0x"
        + batch_record_id(bytes.fromhex(sub.result["batch_id"][2:]), tree.leaf(index)).hex(),
        record=BatchRecordIn(
            subject="0x" + entry.subject.hex(),
            data_hash="0x" + entry.data_hash.hex(),
            attester=entry.attester,
            nonce=entry.nonce,
            deadline=entry.deadline,
            signature="0x" + entry.signature.hex(),
        ),
    )


def _own(service: Service, caller: Caller, submission_id: str) -> Submission:
    """The caller's own submission (any, for a read-only key); 404 for anyone else's."""
    sub = service.journal.get(submission_id)
    if sub is None or (sub.caller != caller.member and not caller.read_only):
        raise NotFound(f"no submission {submission_id}", submission_id=submission_id)
    return sub


def _hex(value: str) -> bytes:
    return bytes.fromhex(value[2:])
