"""The API's errors as Python exceptions, one class per error name, under one root.

Every refusal of the API is one body, ``{"error": "<Name>", "detail": "<sentence>",
...fields}``; a relayed write the chain refused later ends its submission
``rejected`` with the same body as its ``result``. The client raises either as the
class of that name::

    try:
        client.wait(client.attest(...))
    except sdk.errors.AttestationsNonceUsed as e:
        e.attester, e.nonce          # the Solidity error's arguments, by name
    except sdk.errors.ApiError as e:  # the root: any other refusal
        e.name, e.status, e.detail, e.fields

The names are the API's own (:data:`API_ERROR_NAMES`) and the contracts' custom
errors (generated from their ABIs into ``ledger_client.errors.contract``); a
class is made the first time it is named, so ``sdk.errors.<Name>`` works for
every one of them and a newer server's unknown name still raises a class of
its own name (reachable through :func:`error_class`).
"""

from __future__ import annotations

from typing import Any

from ledger_client.errors.contract import ERRORS as _CONTRACT_ERRORS

__all__ = [
    "API_ERROR_NAMES",
    "CONTRACT_ERROR_NAMES",
    "ApiError",
    "ApiUnreachable",
    "SubmissionTimeout",
    "UnexpectedAnswer",
    "error_class",
    "error_for",
]


class ApiError(Exception):
    """The root of every error the client raises: a named refusal of the API or the chain.

    ``name`` is the error's name, ``status`` the HTTP status it came with (0 when it
    came as a rejected submission's result, or never reached the server), ``detail``
    the API's sentence, ``fields`` its other fields (a contract error's arguments);
    each field is also an attribute (``e.nonce``). ``submission`` is the rejected
    submission, when the error ended one.
    """

    name: str = "ApiError"

    def __init__(
        self,
        detail: str,
        *,
        status: int = 0,
        fields: dict[str, Any] | None = None,
        submission: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{self.name}: {detail}" if detail else self.name)
        self.detail = detail
        self.status = status
        self.fields: dict[str, Any] = dict(fields or {})
        self.submission = submission

    def __getattr__(self, item: str) -> Any:
        # Only reached for attributes the class lacks: the error's own fields by name.
        fields = self.__dict__.get("fields", {})
        if item in fields:
            return fields[item]
        raise AttributeError(f"{type(self).__name__} has no field {item!r}")


class ApiUnreachable(ApiError):
    """The server could not be reached, or the connection failed before an answer."""

    name = "ApiUnreachable"


class SubmissionTimeout(ApiError):
    """A submission was still pending after the polling bounds (count and seconds)."""

    name = "SubmissionTimeout"


class UnexpectedAnswer(ApiError):
    """The server answered something that is not the API's JSON (a proxy's page, say)."""

    name = "UnexpectedAnswer"


#: The API's own error names (api/errors.py and the routes), and the names of the client
#: library's errors it passes through by name (a record that breaks its schema, say).
API_ERROR_NAMES: frozenset[str] = frozenset(
    {
        # authentication and keys
        "Unauthenticated",
        "ApiKeyRevoked",
        "MemberSuspended",
        "ReadOnlyKeyNotAuditor",
        "ReadOnlyKey",
        "RateLimited",
        "PayloadTooLarge",
        # who may hand in a signed write
        "KeyMemberMismatch",
        "SignatureMismatch",
        "SignerNotAllowed",
        "InvalidSignature",
        "SignatureTooShortLived",
        "SignatureExpired",
        # idempotency and nonces
        "IdempotencyKeyRequired",
        "IdempotencyKeyReused",
        "NonceAlreadySubmitted",
        # reads
        "NotFound",
        "NotPermitted",
        "FilterRequired",
        "QueryFilterRequired",
        "VerifyTargetMissing",
        "ConsoleRefInvalid",
        # credit scores
        "NotACreditScore",
        "NotScoreAttester",
        "ScoreRecordMismatch",
        "ScoreNotVisible",
        # the request itself
        "RequestValidationError",
        "MethodNotAllowed",
        "HTTPError",
        "InvalidSubmission",
        # the chain and the deployment
        "ChainUnavailable",
        "Backlogged",
        "ManifestWiringMismatch",
        "UnknownRevert",
        "TransactionError",
        "EventIndexError",
        "LedgerError",
        # values the client library refuses (records, schemas, codes)
        "LedgerValueError",
        "RecordError",
        "RecordFieldMissing",
        "RecordFieldUnexpected",
        "RecordFieldInvalid",
        "SchemaError",
        "InvalidUSCC",
        "InvalidCity",
        "InvalidRole",
        "InvalidPurpose",
        "MerkleError",
        "NotBatchable",
        "SharingError",
        "SignatureError",
    }
)

#: The contracts' custom errors, by name.
CONTRACT_ERROR_NAMES: frozenset[str] = frozenset(cls.__name__ for cls in _CONTRACT_ERRORS)

_STATIC: dict[str, type[ApiError]] = {
    c.name: c for c in (ApiError, ApiUnreachable, SubmissionTimeout, UnexpectedAnswer)
}
_MADE: dict[str, type[ApiError]] = {}


def error_class(name: str) -> type[ApiError]:
    """The exception class of the error ``name`` (made once, then the same class)."""
    found = _STATIC.get(name) or _MADE.get(name)
    if found is not None:
        return found
    if not name.isidentifier():
        # Not a name a server of this API gives: keep the root, say what came.
        return ApiError
    doc = (
        f"The contracts' error {name}: its arguments are its fields."
        if name in CONTRACT_ERROR_NAMES
        else f"The API's error {name}."
    )
    made = type(name, (ApiError,), {"name": name, "__doc__": doc, "__module__": __name__})
    _MADE[name] = made
    return made


def error_for(body: Any, status: int = 0, submission: dict[str, Any] | None = None) -> ApiError:
    """The exception an error body stands for (returned, for the caller to raise)."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), str):
        return UnexpectedAnswer(f"HTTP {status}: {body!r}"[:500], status=status)
    fields = {k: v for k, v in body.items() if k not in ("error", "detail")}
    cls = error_class(body["error"])
    err = cls(str(body.get("detail", "")), status=status, fields=fields, submission=submission)
    if cls is ApiError:
        err.name = body["error"]
    return err


def __getattr__(name: str) -> type[ApiError]:
    # ``sdk.errors.AttestationsNonceUsed``: every known name is an attribute of the module.
    if name in API_ERROR_NAMES or name in CONTRACT_ERROR_NAMES:
        return error_class(name)
    raise AttributeError(f"module {__name__!r} has no error {name!r}")
