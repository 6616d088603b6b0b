"""Relayed writes: checked, tried against the chain, journaled; the worker relays them once.

Every write other than an attestation is a call signed by the acting party
(a member, or an enterprise's bound account) as an EIP-712 ``ForwardRequest``
of the chain's Forwarder, or, for an authorisation, the enterprise's signed
``Authorise``. The server relays it and pays the gas; it cannot forge or
alter one, because the chain checks the signature and the signer's role.

Who may hand a signed write to the API (the relay rule)
    1. The key of an account may submit writes signed by that account: a member
       institution for itself, or an enterprise whose bound account was issued
       a key.
    2. A member's key may also relay a write signed by an enterprise that names
       that member as its counterparty: an authorisation for the member, the
       withdrawal of an authorisation given to it, a dispute of a record it
       attested (and a complaint of that dispute's answer), and a request that
       it finance a receivable (or its withdrawal).
    3. Nothing else. In particular a key of bank A never submits a write signed
       by bank B (403 ``KeyMemberMismatch``).

Before journaling, the relay is run against the chain's latest state without
being sent (a dry run): a write the contract would refuse is answered at once
with the contract's named error and its arguments (409 for conflicts such as
double financing, 403 for roles, 404 for unknown ids, 422 for invalid values),
and never journaled. When the signer still has relayed writes pending, the dry
run cannot see their effects (a transfer right after an acceptance), so the
write is journaled without it and the worker's relay decides.
"""

from __future__ import annotations

import hashlib
import json
from typing import Annotated, Any

from eth_utils.address import to_checksum_address
from fastapi import Header, Response, status

from ledger_client.contracts.authorisations import AuthorisationRequest, SignedAuthorisation
from ledger_client.contracts.base import ContractFacade
from ledger_client.contracts.forwarder import ForwardRequest, SignedForwardRequest
from ledger_client.eip712 import SignatureError
from ledger_client.types import QueryPurpose

from .deps import Caller
from .errors import (
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    KeyMemberMismatch,
    NonceAlreadySubmitted,
    SignatureMismatch,
    SignatureTooShortLived,
    error_responses,
)
from .journal import NewSubmission, Submission
from .models import AuthorisationCreate, SignedWrite, SubmissionPublic
from .service import Service

IdempotencyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="the same key twice: one write"),
]


def submission_public(sub: Submission) -> SubmissionPublic:
    """The public view of a journaled submission."""
    return SubmissionPublic(
        id=sub.id,
        kind=sub.kind,
        operation=sub.operation,
        status=sub.status,
        signer=sub.signer,
        nonce=str(sub.nonce),
        created_at=sub.created_at,
        updated_at=sub.updated_at,
        result=sub.result,
    )


def body_hash(operation: str, target: str, body: dict[str, Any]) -> str:
    """What an Idempotency-Key is bound to: the operation, what it acts on, the body."""
    doc = {"operation": operation, "target": target, "body": body}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def replayed(
    service: Service, caller: Caller, idempotency_key: str | None, digest: str
) -> Submission | None:
    """The submission already journaled under this key, or None; a key reused with another
    body is refused. Checked before the dry run: a replay of a write anchored since must
    find its submission, not the chain's refusal of a second one."""
    if not idempotency_key:
        raise IdempotencyKeyRequired("writes need an Idempotency-Key header")
    found = service.journal.find(caller.member, idempotency_key)
    if found is None:
        return None
    sub, stored = found
    if stored != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different body",
            idempotency_key=idempotency_key,
            submission_id=sub.id,
        )
    return sub


def check_relayer(service: Service, caller: Caller, signer: str, counterparty: str | None) -> None:
    """Refuse a write this key may not hand in (the module's relay rule)."""
    if signer == caller.member:
        return
    named = counterparty is not None and to_checksum_address(counterparty) == caller.member
    if named and service.is_enterprise(signer):
        return
    raise KeyMemberMismatch(
        "this API key may submit only writes signed by its own account, or an enterprise's "
        "write that names its member as the counterparty",
        key_member=caller.member,
        signer=signer,
    )


def check_nonce(service: Service, signer: str, nonce_space: str, nonce: int) -> None:
    """Refuse a nonce the signer already submitted (checked again when journaling)."""
    taken = service.journal.nonce_taken(signer, nonce_space, nonce)
    if taken is not None:
        raise NonceAlreadySubmitted(
            f"{signer} already submitted nonce {nonce}",
            signer=signer,
            nonce=str(nonce),
            submission_id=taken,
        )


def check_deadline(service: Service, deadline: int) -> None:
    """Refuse a signature that could lapse before the worker relays it."""
    now = service.chain_time()
    if deadline < now + service.settings.signature_margin_s:
        raise SignatureTooShortLived(
            f"the signature must stay valid at least {service.settings.signature_margin_s} s "
            "after it is accepted",
            deadline=deadline,
            now=now,
        )


def submit_forward(
    service: Service,
    caller: Caller,
    idempotency_key: str | None,
    body: SignedWrite,
    *,
    operation: str,
    target: ContractFacade,
    fn: str,
    args: tuple[Any, ...],
    acts_on: str = "",
    counterparty: str | None = None,
) -> tuple[Submission, bool]:
    """Check, dry-run and journal a call signed as a ForwardRequest; return it and whether
    it is new (False: the same Idempotency-Key again)."""
    digest = body_hash(operation, acts_on, body.model_dump(mode="json"))
    again = replayed(service, caller, idempotency_key, digest)
    if again is not None:
        return again, False
    assert idempotency_key is not None
    signer = to_checksum_address(body.signer)
    check_relayer(service, caller, signer, counterparty)
    request = ForwardRequest(
        sender=signer,
        to=to_checksum_address(target.address),
        nonce=body.nonce,
        deadline=body.deadline,
        data=target.codec.fn(fn).encode(args),
    )
    signed = SignedForwardRequest(request, bytes.fromhex(body.signature[2:]))
    forwarder = service.ledger.forwarder
    if not signed.signed_by_sender(forwarder.separator):
        try:
            recovered: str | None = signed.signer(forwarder.separator)
        except SignatureError:
            recovered = None
        raise SignatureMismatch(
            "the signature is not the signer's ForwardRequest for this call",
            signer=signer,
            recovered=recovered,
        )
    check_deadline(service, body.deadline)
    check_nonce(service, signer, "forward", body.nonce)
    if not service.journal.has_pending_relays(signer):
        forwarder.check(service.relayer.address, signed)
    item = NewSubmission(
        idempotency_key,
        digest,
        "forward",
        signer,
        body.nonce,
        {"request": signed.to_dict(), "acts_on": acts_on},
        operation=operation,
        nonce_space="forward",
    )
    ((sub, new),) = service.journal.accept_many(caller.member, [item])
    if new and service.worker is not None:
        service.worker.wake()
    return sub, new


def purpose_name(purpose: QueryPurpose) -> str:
    """The purpose as the API names it, e.g. ``loan-approval``."""
    return purpose.name.lower().replace("_", "-")


def signed_authorisation(payload: dict[str, Any]) -> SignedAuthorisation:
    """The signed authorisation a journaled ``authorise`` submission holds."""
    return SignedAuthorisation(
        AuthorisationRequest(
            member=to_checksum_address(payload["member"]),
            purpose=QueryPurpose(int(payload["purpose"])),
            expiry=int(payload["expiry"]),
            schemas=tuple(bytes.fromhex(s[2:]) for s in payload["schemas"]),
        ),
        enterprise=to_checksum_address(payload["enterprise"]),
        nonce=int(payload["nonce"]),
        deadline=int(payload["deadline"]),
        signature=bytes.fromhex(payload["signature"][2:]),
    )


def submit_authorisation(
    service: Service,
    caller: Caller,
    idempotency_key: str | None,
    body: AuthorisationCreate,
    schemas: list[bytes],
) -> tuple[Submission, bool]:
    """Check, dry-run and journal an enterprise's signed authorisation."""
    operation = "authorisations.create"
    digest = body_hash(operation, "", body.model_dump(mode="json"))
    again = replayed(service, caller, idempotency_key, digest)
    if again is not None:
        return again, False
    assert idempotency_key is not None
    purpose = QueryPurpose.parse(body.purpose)
    payload = {
        "member": to_checksum_address(body.member),
        "purpose": int(purpose),
        "expiry": body.expiry,
        "schemas": ["0x" + s.hex() for s in schemas],
        "enterprise": to_checksum_address(body.enterprise),
        "nonce": str(body.nonce),
        "deadline": body.deadline,
        "signature": body.signature,
    }
    signed = signed_authorisation(payload)
    check_relayer(service, caller, signed.enterprise, counterparty=signed.request.member)
    try:
        recovered: str | None = service.ledger.authorisations.recover_authorisation_signer(signed)
    except SignatureError:
        recovered = None
    if recovered != signed.enterprise:
        raise SignatureMismatch(
            "the signature is not the enterprise's Authorise of this request",
            signer=signed.enterprise,
            recovered=recovered,
        )
    check_deadline(service, body.deadline)
    check_nonce(service, signed.enterprise, "authorise", body.nonce)
    if not service.journal.has_pending_relays(signed.enterprise):
        from .worker import relay_call

        probe = Submission(
            id="",
            caller=caller.member,
            idempotency_key=idempotency_key,
            kind="authorise",
            operation=operation,
            signer=signed.enterprise,
            nonce_space="authorise",
            nonce=body.nonce,
            payload=payload,
            status="pending",
            result=None,
            anchor_id=None,
            created_at=0.0,
            updated_at=0.0,
        )
        to, data = relay_call(service, probe)
        service.chain.call(to, data, sender=service.relayer.address)
    item = NewSubmission(
        idempotency_key,
        digest,
        "authorise",
        signed.enterprise,
        body.nonce,
        payload,
        operation=operation,
        nonce_space="authorise",
    )
    ((sub, new),) = service.journal.accept_many(caller.member, [item])
    if new and service.worker is not None:
        service.worker.wake()
    return sub, new


#: Keyword arguments of every write route: 202 with the submission, 200 on a replayed key.
WRITE_ROUTE: dict[str, Any] = {
    "response_model": SubmissionPublic,
    "status_code": status.HTTP_202_ACCEPTED,
    "responses": {
        200: {"description": "the same Idempotency-Key again: the same submission"},
        **error_responses(403, 404, 409),
    },
}


def answer(response: Response, submitted: tuple[Submission, bool]) -> SubmissionPublic:
    """The route's answer: the submission, 202 when new and 200 when replayed."""
    sub, new = submitted
    if not new:
        response.status_code = status.HTTP_200_OK
    return submission_public(sub)
