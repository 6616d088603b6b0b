"""What every write route shares: its header, its answer, and the signed write it carries.

The checks and the journal are the pipeline's (:mod:`pipeline.intake`); a write route maps
its request model to the table's domain request and hands both to the intake. The relay
rule (which key may hand in which signed write) is the table's ``Submitters`` column.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Header, Response, status

from pipeline.intake import Caller, Signed, admit, submit
from pipeline.journal import Submission
from pipeline.operations import OPERATIONS
from pipeline.service import Service

from .deps import ServiceDep, WriterDep
from .errors import error_responses
from .models import SignedWrite, SubmissionPublic

IdempotencyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=200, description="the same key twice: one write"),
]


def signed(body: SignedWrite) -> Signed:
    """Who signed the body's write, and how."""
    return Signed(body.signer, body.nonce, body.deadline, bytes.fromhex(body.signature[2:]))


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


async def admitted(
    service: ServiceDep, caller: WriterDep, idempotency_key: IdempotencyHeader = None
) -> None:
    """A write route's first check: while backlogged, a new write is refused before its
    body is validated (:func:`pipeline.intake.admit`). FastAPI solves a route's
    dependencies before it validates the body."""
    admit(service, caller, idempotency_key)


async def admitted_batch(
    service: ServiceDep, caller: WriterDep, idempotency_key: IdempotencyHeader = None
) -> None:
    """:func:`admitted` for a batch, whose item i is journaled under ``<key>:<i>``."""
    admit(service, caller, f"{idempotency_key}:0" if idempotency_key else None)


#: Keyword arguments of every write route: 202 with the submission, 200 on a replayed key.
WRITE_ROUTE: dict[str, Any] = {
    "dependencies": [Depends(admitted)],
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


def relay(
    response: Response,
    service: Service,
    caller: Caller,
    idempotency_key: str | None,
    body: SignedWrite,
    *,
    operation: str,
    request: object,
) -> SubmissionPublic:
    """Hand a signed write, as the table's domain request of ``operation``, to the intake."""
    submitted = submit(
        service,
        caller,
        idempotency_key,
        body.model_dump(mode="json"),
        op=OPERATIONS[operation],
        request=request,
        signed=signed(body),
    )
    return answer(response, submitted)
