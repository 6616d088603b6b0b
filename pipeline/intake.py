"""The intake: every signed write checked once, against its row of the table, and journaled.

Every write other than an attestation is a call signed by the acting party
(a member, or an enterprise's bound account) as an EIP-712 ``ForwardRequest``
of the chain's Forwarder, or, for an authorisation, the enterprise's signed
``Authorise``. The server relays it and pays the gas; it cannot forge or
alter one, because the chain checks the signature and the signer's role.

Who may hand a signed write in (the row's :class:`~pipeline.operations.Submitters`)
    1. The key of an account may submit writes signed by that account: a member
       institution for itself, or an enterprise whose bound account was issued
       a key.
    2. A member's key may also relay a write signed by an enterprise that names
       that member as its counterparty: an authorisation for the member, the
       withdrawal of an authorisation given to it, a dispute of a record it
       attested (and a complaint of that dispute's answer), and a request that
       it finance a receivable (or its withdrawal).
    3. A write of the regulator's onboarding (admit, suspend, reinstate, set roles)
       only with the key of a regulator in good standing, an enterprise's binding
       with a registrar's; refused by the Consortium's own ``ConsortiumUnauthorized``.
    4. Nothing else. In particular a key of bank A never submits a write signed
       by bank B (``KeyMemberMismatch``).

The checks, in order: the Idempotency-Key (a replay finds its submission before anything
else: a write anchored since must not meet the chain's refusal of a second one), who may
submit, the signature, the signed consent of another party the call carries (a pledgor's
``Pledge``, an enterprise's ``AcceptAgreement``: a forgery is refused with the contract's
own error, ``CollateralWrongSigner`` or ``JointAgreementWrongSigner``, even while the dry
run is skipped), the deadline, the nonce, then a dry run against the chain's latest
state: a write the contract would refuse is answered at once with the contract's named
error and its arguments, and never journaled. When the signer still has relayed writes
pending, the dry run cannot see their effects (a transfer right after an acceptance), so
the write is journaled without it and the worker's relay decides.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ledger_client.addresses import to_checksum_address
from ledger_client.attestations.signed_records import SignedRecord
from ledger_client.contracts.authorisations import SignedAuthorisation
from ledger_client.contracts.forwarder import ForwardRequest, SignedForwardRequest
from ledger_client.errors import AttestationsInvalidExpiry
from ledger_client.identity.eip712 import SignatureError

from .errors import (
    ApiKeyRevoked,
    Backlogged,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    KeyMemberMismatch,
    MemberSuspended,
    NonceAlreadySubmitted,
    PipelineError,
    RateLimited,
    ReadOnlyKey,
    ReadOnlyKeyNotAuditor,
    SignatureMismatch,
    SignatureTooShortLived,
    SignerNotAllowed,
    Unauthenticated,
)
from .journal import NewSubmission, Submission
from .keys import OVERSIGHT_ROLES
from .operations import OPERATIONS, Operation
from .service import Service

R = TypeVar("R")
#: The row of a signed attestation, and of an enterprise's signed authorisation.
ATTEST = OPERATIONS["attestations.attest"]
AUTHORISE = OPERATIONS["authorisations.create"]


# -- who is calling ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """Who is calling: the member (or bound enterprise) an API key acts for."""

    member: str  # checksum address
    read_only: bool
    key_hash: str


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float) -> None:
        self.tokens = tokens
        self.stamp = time.monotonic()


_buckets: dict[str, _Bucket] = {}
_buckets_lock = threading.Lock()


def _take_token(key_hash: str, rate: float, burst: int) -> bool:
    with _buckets_lock:
        bucket = _buckets.get(key_hash)
        if bucket is None:
            bucket = _buckets[key_hash] = _Bucket(float(burst))
        now = time.monotonic()
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True


def authenticate(service: Service, key: str | None) -> Caller:
    """The caller behind an API key, read afresh on every request.

    A key revoked, or a member suspended on chain, by any process is refused on the very
    next request (``ApiKeyRevoked``, ``MemberSuspended``), and a read-only key of an
    account that lost the auditor and regulator roles is refused
    (``ReadOnlyKeyNotAuditor``).
    """
    if not key:
        raise Unauthenticated("an API key is required (X-API-Key header)")
    found = service.keys.lookup(key)
    if found is None:
        raise Unauthenticated("unknown API key")
    if found.revoked_at is not None:
        raise ApiKeyRevoked(
            "this API key was revoked", key_hash=found.key_hash, revoked_at=found.revoked_at
        )
    member = service.member_standing(found.member)
    if member is not None and member.suspended:
        raise MemberSuspended(
            f"{found.member} is suspended by the consortium's regulator: its keys neither "
            "write nor read until it is reinstated",
            member=found.member,
        )
    if found.read_only and not (
        member is not None and not member.suspended and member.roles & OVERSIGHT_ROLES
    ):
        raise ReadOnlyKeyNotAuditor(
            f"{found.member} holds neither the auditor nor the regulator role: its read-only "
            "key reads nothing",
            member=found.member,
        )
    if not _take_token(found.key_hash, service.settings.rate_per_s, service.settings.rate_burst):
        raise RateLimited(
            f"more than {service.settings.rate_per_s:g} requests per second for this key",
            retry_after_s=1,
        )
    return Caller(found.member, found.read_only, found.key_hash)


def writer(caller: Caller) -> Caller:
    """The caller, when allowed to write: not an auditor's read-only key."""
    if caller.read_only:
        raise ReadOnlyKey("this API key is read-only", member=caller.member)
    return caller


def oversees(service: Service, caller: Caller) -> bool:
    """Whether the caller's member is a regulator or an auditor in good standing."""
    return bool(service.roles_of(caller.member) & OVERSIGHT_ROLES)


# -- the checks ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """Who signed a write, and how: the ForwardRequest's signer, nonce, deadline, signature."""

    signer: str
    nonce: int
    deadline: int
    signature: bytes


def body_hash(operation: str, target: str, body: Mapping[str, Any]) -> str:
    """What an Idempotency-Key is bound to: the operation, what it acts on, the body."""
    doc = {"operation": operation, "target": target, "body": body}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def replayed(
    service: Service, caller: Caller, idempotency_key: str | None, digest: str
) -> Submission | None:
    """The submission already journaled under this key, or None; a key reused with another
    body is refused."""
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


def check_submitter(
    service: Service, caller: Caller, signer: str, op: Operation[R], request: R
) -> None:
    """Refuse a write this key may not hand in (the module's rules)."""
    rule = op.submitters
    # Read first, whoever submits: what the write names must exist (NotFound otherwise).
    named = rule.counterparty(service.ledger, request) if rule.counterparty else None
    if signer == caller.member:
        if rule.role is not None:
            # The Consortium's own check, by its own name: ConsortiumUnauthorized(account, role)
            # or ConsortiumMemberSuspended(account).
            service.ledger.consortium.require_role(caller.member, rule.role)
        return
    if (
        named is not None
        and to_checksum_address(named) == caller.member
        and service.is_enterprise(signer)
    ):
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


#: The longest ``Retry-After`` a Backlogged refusal asks for, seconds.
RETRY_AFTER_MAX_S = 30


def backlog_refusal(service: Service) -> Backlogged | None:
    """The refusal a new write gets now (``Backlogged``, with when to retry), or None: the
    chain is further behind the writes accepted than the admission bound when the oldest
    write not yet taken by the worker has waited that long, or its rounds have failed that
    long. Read in memory, without the database."""
    bound = service.settings.admission_bound_s
    worker = service.worker
    if bound <= 0 or worker is None:
        return None
    waited = worker.backlog_s()
    if waited <= bound:
        return None
    return Backlogged(
        f"the chain is {waited:.2f} s behind the writes accepted (the bound is "
        f"{bound:g} s): send this one again later",
        waited_s=round(waited, 3),
        bound_s=bound,
        # Backing off as the backlog ages, never past what a client would wait.
        retry_after_s=min(RETRY_AFTER_MAX_S, max(1, math.ceil(waited - bound))),
    )


def check_backlog(service: Service) -> None:
    """Refuse a new write while backlogged (:func:`backlog_refusal`). Called once a write
    is known not to be a replay: a replay is answered whatever the backlog."""
    refusal = backlog_refusal(service)
    if refusal is not None:
        raise refusal


def admit(service: Service, caller: Caller, journaled_as: str | None) -> None:
    """Refuse a new write while backlogged from its key and Idempotency-Key alone, before
    its body is validated, its signature recovered or the chain read.

    Under an overload the refusal is the common answer, and one that costs the intake
    what an acceptance does takes the time the accepted writes need. ``journaled_as`` is
    the key its (first) submission would be journaled under: a write found there passes,
    for its route to answer as a replay (or refuse a reused key by name); so does a write
    without one, for its route to refuse by name. Only a new write is refused, which is
    what :func:`check_backlog` refuses too, now without reading it: a malformed body
    sent while backlogged gets ``Backlogged``, and its own refusal when sent again.
    """
    if not journaled_as:
        return
    refusal = backlog_refusal(service)
    if refusal is None or service.journal.find(caller.member, journaled_as) is not None:
        return
    raise refusal


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


def _journal(service: Service, caller: Caller, item: NewSubmission) -> tuple[Submission, bool]:
    ((sub, new),) = service.journal.accept_many(caller.member, [item])
    if new and service.worker is not None:
        service.worker.wake()
    return sub, new


# -- the intake of each kind of write ---------------------------------------------------------


def submit(
    service: Service,
    caller: Caller,
    idempotency_key: str | None,
    body: Mapping[str, Any],
    *,
    op: Operation[R],
    request: R,
    signed: Signed,
) -> tuple[Submission, bool]:
    """Check, dry-run and journal a write signed as a ForwardRequest (``body`` is what the
    Idempotency-Key binds); return its submission and whether it is new (False: the same
    Idempotency-Key again)."""
    acts_on = op.acts_on(request)
    digest = body_hash(op.name, acts_on, body)
    again = replayed(service, caller, idempotency_key, digest)
    if again is not None:
        return again, False
    assert idempotency_key is not None
    check_backlog(service)
    signer = to_checksum_address(signed.signer)
    check_submitter(service, caller, signer, op, request)
    call = op.call(service.ledger, request)
    forward = SignedForwardRequest(
        ForwardRequest(
            sender=signer,
            to=to_checksum_address(call.to),
            nonce=signed.nonce,
            deadline=signed.deadline,
            data=call.data,
        ),
        signed.signature,
    )
    forwarder = service.ledger.forwarder
    if not forward.signed_by_sender(forwarder.separator):
        try:
            recovered: str | None = forward.signer(forwarder.separator)
        except SignatureError:
            recovered = None
        raise SignatureMismatch(
            "the signature is not the signer's ForwardRequest for this call",
            signer=signer,
            recovered=recovered,
        )
    if op.consent is not None:
        op.consent(service.ledger, request)
    check_deadline(service, signed.deadline)
    check_nonce(service, signer, "forward", signed.nonce)
    if not service.journal.has_pending_relays(signer):
        forwarder.check(service.relayer.address, forward)
    item = NewSubmission(
        idempotency_key,
        digest,
        "forward",
        signer,
        signed.nonce,
        {"request": forward.to_dict(), "acts_on": acts_on},
        operation=op.name,
        nonce_space="forward",
    )
    return _journal(service, caller, item)


def submit_authorisation(
    service: Service,
    caller: Caller,
    idempotency_key: str | None,
    body: Mapping[str, Any],
    signed: SignedAuthorisation,
) -> tuple[Submission, bool]:
    """Check, dry-run and journal an enterprise's signed authorisation."""
    op = AUTHORISE
    digest = body_hash(op.name, "", body)
    again = replayed(service, caller, idempotency_key, digest)
    if again is not None:
        return again, False
    assert idempotency_key is not None
    assert op.journaled is not None
    check_backlog(service)
    check_submitter(service, caller, signed.enterprise, op, signed)
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
    check_deadline(service, signed.deadline)
    check_nonce(service, signed.enterprise, "authorise", signed.nonce)
    if not service.journal.has_pending_relays(signed.enterprise):
        call = op.call(service.ledger, signed)
        service.chain.call(call.to, call.data, sender=service.relayer.address)
    item = NewSubmission(
        idempotency_key,
        digest,
        "authorise",
        signed.enterprise,
        signed.nonce,
        op.journaled.dump(signed),
        operation=op.name,
        nonce_space="authorise",
    )
    return _journal(service, caller, item)


def record_digest(body: Mapping[str, Any]) -> str:
    """What an Idempotency-Key of a signed attestation is bound to: its body."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def check_record(service: Service, caller: Caller, record: SignedRecord) -> SignedRecord:
    """Refuse a signed attestation the worker could not anchor: another member's, a forgery,
    too short-lived, already expired, or by a signer who is no attester in good standing."""
    if record.signer != caller.member:
        raise KeyMemberMismatch(
            "the API key's member cannot submit records signed by another member",
            key_member=caller.member,
            signer=record.signer,
        )
    if not record.signed_by_signer(service.separator):
        raise SignatureMismatch(
            "the signature was not made by the signer it names",
            signer=record.signer,
            recovered=record.recover(service.separator),
        )
    now = service.chain_time()
    if record.deadline < now + service.settings.signature_margin_s:
        raise SignatureTooShortLived(
            f"the signature must stay valid at least {service.settings.signature_margin_s} s "
            "after it is accepted",
            deadline=record.deadline,
            now=now,
        )
    expiry = record.request.expiry
    if expiry and expiry <= now:
        # The contract's own rule and named error, at once: journaled, the record would only
        # be rejected later by the worker.
        raise AttestationsInvalidExpiry(expiry=expiry, now=now)
    if not service.may_attest(record.signer):
        raise SignerNotAllowed(
            "the signer is not an attester in good standing", signer=record.signer
        )
    return record


def record_submission(key: str, body: Mapping[str, Any], record: SignedRecord) -> NewSubmission:
    """A checked signed attestation, ready to journal under ``key``."""
    assert ATTEST.journaled is not None
    return NewSubmission(
        key,
        record_digest(body),
        "attestation",
        record.signer,
        record.nonce,
        ATTEST.journaled.dump(record),
        operation=ATTEST.name,
    )


def journaled_records(
    service: Service, caller: Caller, keyed: list[tuple[str, Mapping[str, Any]]]
) -> list[Submission] | None:
    """The submissions already journaled under these keys with these bodies, or None.

    Looked up only when a check refuses a request: a retry of an accepted write must
    find its submission (the same id) even when, since it was accepted, its signature
    came within the margin of its deadline (a slow restart) or its signer was suspended.
    A refusal would tell the client it was not taken, and a client that signs it again
    with a fresh nonce gets the record anchored twice.
    """
    found = []
    for key, body in keyed:
        hit = service.journal.find(caller.member, key)
        if hit is None:
            return None
        sub, stored = hit
        if stored != record_digest(body):
            raise IdempotencyKeyReused(
                "this Idempotency-Key was used with a different body",
                idempotency_key=key,
                submission_id=sub.id,
            )
        found.append(sub)
    return found


async def submit_record(
    service: Service,
    caller: Caller,
    idempotency_key: str | None,
    body: Mapping[str, Any],
    build: Callable[[], SignedRecord],
) -> tuple[Submission, bool]:
    """Check and journal one signed attestation (``build`` reads it from the body: an unknown
    schema is refused there); return its submission and whether it is new.

    Runs on the event loop: the checks are CPU-only (about 0.3 ms) and the journal is
    awaited, so a request never takes a thread-pool hop.
    """
    if not idempotency_key:
        raise IdempotencyKeyRequired("writes need an Idempotency-Key header")
    try:
        check_backlog(service)
        record = check_record(service, caller, build())
    except PipelineError:  # a replay of a journaled record is answered, whatever the refusal
        again = journaled_records(service, caller, [(idempotency_key, body)])
        if again is None:
            raise
        return again[0], False
    ((sub, new),) = await service.journal.accept_many_async(
        caller.member, [record_submission(idempotency_key, body, record)]
    )
    if new and service.worker is not None:
        service.worker.wake()
    return sub, new


def submit_records(
    service: Service,
    caller: Caller,
    idempotency_key: str | None,
    items: list[tuple[Mapping[str, Any], Callable[[], SignedRecord]]],
) -> tuple[list[Submission], bool]:
    """Check and journal many signed attestations at once; item i under ``<key>:<i>``.
    Return their submissions and whether any is new (False: the whole request again).

    Every item is checked before any is journaled: one bad item refuses them all, unless
    every one was journaled before under its key (a retry).
    """
    if not idempotency_key:
        raise IdempotencyKeyRequired("writes need an Idempotency-Key header")
    keyed = [(f"{idempotency_key}:{i}", body) for i, (body, _) in enumerate(items)]
    try:
        check_backlog(service)
        records = [check_record(service, caller, build()) for _, build in items]
    except PipelineError:
        again = journaled_records(service, caller, keyed)
        if again is None:
            raise
        return again, False
    accepted = service.journal.accept_many(
        caller.member,
        [
            record_submission(key, body, record)
            for (key, body), record in zip(keyed, records, strict=True)
        ],
    )
    if service.worker is not None:
        service.worker.wake()
    return [sub for sub, _ in accepted], any(new for _, new in accepted)
