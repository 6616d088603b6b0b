"""The write pipeline's refusals: each a named error with the fields that say what was wrong.

They derive from the ledger client's one root (:class:`ledger_client.LedgerError`), and each
says what sort of refusal it is by ``kind``, as a contract's named error does
(:class:`ledger_client.errors.ContractRevert`): ``unauthenticated``, ``forbidden``,
``not_found``, ``conflict``, ``invalid``, ``too_large``, ``rate_limited`` or ``unavailable``.
A transport maps the kind to its own status (the HTTP API: 401, 403, 404, 409, 422, 413,
429, 503).
"""

from __future__ import annotations

from typing import Any, ClassVar

from ledger_client.errors import LedgerError


class PipelineError(LedgerError):
    """A write or a read refused before it reached the chain, by name, with its fields."""

    kind: ClassVar[str] = "invalid"

    def __init__(self, detail: str, **fields: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class Unauthenticated(PipelineError):
    """No API key, or one the server does not know."""

    kind = "unauthenticated"


class ApiKeyRevoked(PipelineError):
    """The API key was revoked (by ``credit-chain keys revoke`` or the key store): refused on
    the next request after the revocation, whichever process made it."""

    kind = "unauthenticated"


class MemberSuspended(PipelineError):
    """The member the key acts for is suspended on chain (by a regulator): its key neither
    writes nor reads until the member is reinstated."""

    kind = "forbidden"


class ReadOnlyKeyNotAuditor(PipelineError):
    """A read-only (auditor's) key was asked for, or used, by an account that holds neither
    the auditor nor the regulator role in good standing on chain."""

    kind = "forbidden"


class ReadOnlyKey(PipelineError):
    """An auditor's key tried to write."""

    kind = "forbidden"


class KeyMemberMismatch(PipelineError):
    """The key belongs to one member and the write is signed by another."""

    kind = "forbidden"


class SignatureMismatch(PipelineError):
    """The signature does not recover to the signer it names: a forgery or a mistake."""

    kind = "forbidden"


class SignerNotAllowed(PipelineError):
    """The signer is not a member in good standing with the role the write needs."""

    kind = "forbidden"


class IdempotencyKeyRequired(PipelineError):
    """A write came without an Idempotency-Key."""

    kind = "invalid"


class IdempotencyKeyReused(PipelineError):
    """The same Idempotency-Key came with a different body."""

    kind = "conflict"


class NonceAlreadySubmitted(PipelineError):
    """The signer already submitted a write with this nonce."""

    kind = "conflict"


class SignatureTooShortLived(PipelineError):
    """The signature's deadline has passed or is too close to be relayed in time."""

    kind = "invalid"


class NotPermitted(PipelineError):
    """The key's account may not read this (another enterprise's query trail, say)."""

    kind = "forbidden"


class NotFound(PipelineError):
    """No such resource."""

    kind = "not_found"


class RateLimited(PipelineError):
    """The key made more requests than its rate allows."""

    kind = "rate_limited"


class Backlogged(PipelineError):
    """The chain is further behind the writes accepted than the admission bound
    (``Settings.admission_bound_s``): a write accepted earlier has waited that long for
    the worker to take it, or the worker's rounds have failed that long. Nothing is
    journaled; send it again after ``retry_after_s``. A write already journaled under its
    Idempotency-Key is answered as before, never refused."""

    kind = "unavailable"


class ConsoleRefInvalid(PipelineError):
    """What was typed into the console's explorer or profile is no id it knows: a
    0x-prefixed 32-byte hex id, or a batch id and a record's position as ``<batch id>:<n>``."""

    kind = "invalid"


# -- credit scores --------------------------------------------------------------------------


class NotACreditScore(PipelineError):
    """The UID names an attestation of another schema than ``credit-score``."""

    kind = "invalid"


class NotScoreAttester(PipelineError):
    """Only the member that attested a score may deposit its record."""

    kind = "forbidden"


class ScoreRecordMismatch(PipelineError):
    """The record given (deposited, or opened in the console) is not the credit-score record
    the score's attestation commits to: it does not fit the schema, names another
    enterprise, or hashes to another value than the chain holds."""

    kind = "invalid"


class ScoreNotVisible(PipelineError):
    """A score is shown to its enterprise, to members it authorised, to regulators and to
    auditors only."""

    kind = "forbidden"
