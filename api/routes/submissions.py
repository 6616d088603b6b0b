"""Submissions: where an accepted write stands, and the proof of a batched record.

A submission is shown to its submitter (the key's member) and its signer, to the
parties it names, and to auditors and regulators (by their roles on chain now, not
by a key's flag); anyone else gets 404 ``NotFound``, as for an id that does not
exist, so an outsider learns nothing, not even that it exists. The parties a
submission names are read from what was signed: an attestation's subject (the
enterprise bound to it), an authorisation's enterprise and member, and every
account a relayed call names, directly (a supplier, a financier) or through a
receivable it acts on (that receivable's debtor, holder and financier) or a
subject (the enterprise bound to it).
"""

from __future__ import annotations

from typing import Any

from eth_abi.abi import decode as abi_decode
from eth_abi.exceptions import DecodingError
from fastapi import APIRouter

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.attestations import batch_record_id
from ledger_client.errors import LedgerError
from pipeline.errors import NotFound
from pipeline.intake import Caller, oversees
from pipeline.journal import Submission
from pipeline.service import Service
from pipeline.worker import unpack_levels

from ..deps import CallerDep, ServiceDep
from ..errors import error_responses
from ..models import BatchRecordIn, ProofPublic, SubmissionPublic
from ..writes import submission_public

router = APIRouter(prefix="/v1/submissions", tags=["submissions"])


@router.get("/{submission_id}", response_model=SubmissionPublic, responses=error_responses(404))
def get_submission(submission_id: str, service: ServiceDep, caller: CallerDep) -> SubmissionPublic:
    """A submission: pending, anchored (with its uid or batch position) or rejected (why)."""
    return submission_public(_own(service, caller, submission_id))


@router.get("/{submission_id}/proof", response_model=ProofPublic, responses=error_responses(404))
def get_proof(submission_id: str, service: ServiceDep, caller: CallerDep) -> ProofPublic:
    """The inclusion proof of a record anchored in a signed batch.

    Shown to whom the submission is (see the module); the submitter hands the proof on
    with the record.
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


#: bytes32 values of one submission looked up as receivables or subjects, at most.
_LOOKUPS_MAX = 16


def _own(service: Service, caller: Caller, submission_id: str) -> Submission:
    """The submission, when the caller may see it; 404 ``NotFound`` otherwise."""
    sub = service.journal.get(submission_id)
    if sub is None or not _may_see(service, caller, sub):
        raise NotFound(f"no submission {submission_id}", submission_id=submission_id)
    return sub


def _may_see(service: Service, caller: Caller, sub: Submission) -> bool:
    who = caller.member
    if who in (sub.caller, sub.signer) or oversees(service, caller):
        return True
    return who in parties(service, sub)


def parties(service: Service, sub: Submission) -> set[str]:
    """The accounts a submission names (checksummed), besides its submitter and signer."""
    found: set[str] = set()
    words: list[bytes] = []
    payload = sub.payload
    if sub.kind == "attestation":
        words.append(bytes.fromhex(str(payload["subject"])[2:]))
    elif sub.kind == "authorise":
        found.update((str(payload["member"]), str(payload["enterprise"])))
    else:
        request = payload["request"]
        _call_arguments(service, str(request["to"]), str(request["data"]), found, words)
        acts_on = str(payload.get("acts_on", ""))
        if acts_on.startswith("0x") and len(acts_on) == 66:
            words.append(bytes.fromhex(acts_on[2:]))
    for word in dict.fromkeys(words[:_LOOKUPS_MAX]):
        found.update(_accounts_behind(service, word))
    return {to_checksum_address(a) for a in found}


def _call_arguments(
    service: Service, to: str, data: str, addresses: set[str], words: list[bytes]
) -> None:
    """Every address and bytes32 value among a relayed call's arguments."""
    facade = service.facade_at(to)
    calldata = bytes.fromhex(data[2:])
    if facade is None or len(calldata) < 4:
        return
    fn = next((f for f in facade.codec.functions.values() if f.selector == calldata[:4]), None)
    if fn is None:
        return
    try:
        values = abi_decode(list(fn.input_types), calldata[4:])
    except (DecodingError, ValueError):  # the chain refuses such calldata; it names nobody
        return
    for typ, value in zip(fn.input_types, values, strict=True):
        _collect(typ, value, addresses, words)


def _components(tuple_type: str) -> list[str]:
    """The component types of an ABI tuple type such as ``(bytes32,(address,uint256)[])``."""
    out, depth, start = [], 0, 1
    for i, ch in enumerate(tuple_type):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if (ch == "," and depth == 1) or (ch == ")" and depth == 0):
            out.append(tuple_type[start:i])
            start = i + 1
    return [t for t in out if t]


def _collect(typ: str, value: Any, addresses: set[str], words: list[bytes]) -> None:
    if typ.startswith("(") and typ.endswith(")"):  # a struct: a batch record's ingredients
        for inner_type, inner in zip(_components(typ), value, strict=True):
            _collect(inner_type, inner, addresses, words)
    elif typ.endswith("]"):
        inner = typ[: typ.rindex("[")]
        for v in value:
            _collect(inner, v, addresses, words)
    elif typ == "address":
        addresses.add(str(value))
    elif typ == "bytes32":
        words.append(bytes(value))


def _accounts_behind(service: Service, word: bytes) -> set[str]:
    """The accounts a bytes32 names: a receivable's debtor, holder and financier, or the
    enterprise a subject id is bound to."""
    consortium = service.ledger.consortium
    out: set[str] = set()
    try:
        receivable = service.ledger.receivables.receivable(word)
        subjects = [word] if receivable is None else [receivable.debtor, receivable.holder]
        if receivable is not None and receivable.financier is not None:
            out.add(receivable.financier)
        for subject in subjects:
            account = consortium.account_of(subject)
            if account is not None:
                out.add(account)
    except LedgerError:
        pass
    return out


def _hex(value: str) -> bytes:
    return bytes.fromhex(value[2:])
