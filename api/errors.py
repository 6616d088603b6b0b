"""One error body everywhere: ``{"error": "<Name>", "detail": "<sentence>", ...fields}``.

On-chain custom errors arrive as the client's named exceptions, and the write pipeline's
refusals as its own (:mod:`pipeline.errors`); both map by their declared kind: forbidden
403, conflict 409, not found 404, invalid 422. Bad input never yields a 500.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ledger_client.attestations.records import RecordError
from ledger_client.errors import (
    ContractRevert,
    LedgerConnectionError,
    LedgerError,
    LedgerValueError,
    ManifestWiringMismatch,
)
from ledger_client.identity.eip712 import SignatureError
from pipeline.errors import PipelineError

from .models import ErrorPublic

#: The HTTP status of each kind of refusal, the contracts' named errors and the pipeline's alike.
STATUS_BY_KIND = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "invalid": 422,
    "rate_limited": 429,
    "unavailable": 503,
}


#: What each error status means, as the OpenAPI schema documents it.
ERROR_STATUSES = {
    401: "no API key or an unknown one (Unauthenticated), or a revoked one (ApiKeyRevoked)",
    403: "the key's member is suspended on chain (MemberSuspended), a read-only key writes "
    "(ReadOnlyKey) or its account is no auditor or regulator (ReadOnlyKeyNotAuditor), the key "
    "may not hand in this signer's write, a role or standing check fails, or the caller may not "
    "read this",
    404: "no such resource: the named error says which",
    409: "a conflict: an Idempotency-Key reused with another body, a nonce submitted twice, "
    "or a conflict the chain reports (double financing, say)",
    413: "the request body is larger than the server accepts (PayloadTooLarge)",
    422: "invalid input (RequestValidationError, with every field at fault), or a value the "
    "chain refuses, by its named error",
    429: "more requests than the key's rate allows (RateLimited)",
    502: "the chain answered something the API cannot read",
    503: "the chain is not reachable (ChainUnavailable), or further behind the writes "
    "accepted than the admission bound (Backlogged): retry after Retry-After",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for these statuses, each with the one error body."""
    return {s: {"model": ErrorPublic, "description": ERROR_STATUSES[s]} for s in statuses}


#: Statuses any authenticated route may answer (through its dependencies or the middleware):
#: 403 too, since a suspended member's key (MemberSuspended) and a read-only key of an account
#: that is no auditor (ReadOnlyKeyNotAuditor) are refused on every route.
COMMON_ERRORS = error_responses(401, 403, 413, 422, 429, 502, 503)


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def error_body(name: str, detail: str, **fields: Any) -> dict[str, Any]:
    """The stable error body."""
    return {"error": name, "detail": detail, **{k: _jsonable(v) for k, v in fields.items()}}


def install_error_handlers(app: FastAPI) -> None:
    """Map every error the API can meet to its status and the stable body."""

    @app.exception_handler(PipelineError)
    async def _refused(_: Request, exc: PipelineError) -> JSONResponse:
        retry = exc.fields.get("retry_after_s")
        return JSONResponse(
            error_body(type(exc).__name__, exc.detail, **exc.fields),
            status_code=STATUS_BY_KIND[exc.kind],
            # RFC 9110: when to send again, in whole seconds (RateLimited, Backlogged).
            headers={"Retry-After": str(retry)} if retry is not None else None,
        )

    @app.exception_handler(ContractRevert)
    async def _revert(_: Request, exc: ContractRevert) -> JSONResponse:
        status = STATUS_BY_KIND.get(exc.kind, 422)
        return JSONResponse(error_body(exc.error_name, str(exc), **exc.fields), status_code=status)

    @app.exception_handler(RecordError)
    async def _record(_: Request, exc: RecordError) -> JSONResponse:
        return JSONResponse(
            error_body(type(exc).__name__, str(exc), field=exc.field, schema=exc.schema),
            status_code=422,
        )

    @app.exception_handler(SignatureError)
    async def _signature(_: Request, exc: SignatureError) -> JSONResponse:
        return JSONResponse(error_body("InvalidSignature", str(exc)), status_code=422)

    @app.exception_handler(LedgerConnectionError)
    async def _connection(_: Request, exc: LedgerConnectionError) -> JSONResponse:
        return JSONResponse(error_body("ChainUnavailable", str(exc)), status_code=503)

    @app.exception_handler(LedgerValueError)
    async def _value(_: Request, exc: LedgerValueError) -> JSONResponse:
        return JSONResponse(error_body(type(exc).__name__, str(exc)), status_code=422)

    @app.exception_handler(ManifestWiringMismatch)
    async def _miswired(_: Request, exc: ManifestWiringMismatch) -> JSONResponse:
        # Not the deployment the manifest names: nothing it says can be vouched for.
        return JSONResponse(
            error_body("ManifestWiringMismatch", str(exc), **exc.fields), status_code=502
        )

    @app.exception_handler(LedgerError)
    async def _ledger(_: Request, exc: LedgerError) -> JSONResponse:
        return JSONResponse(error_body(type(exc).__name__, str(exc)), status_code=502)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "message": e.get("msg", "")}
            for e in exc.errors()
        ]
        return _invalid(errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI could not decode the body at all (bytes that are not UTF-8, say): the
            # same named error as a body that is not JSON.
            return _invalid([{"field": "body", "message": "the body is not UTF-8 JSON"}])
        names = {404: "NotFound", 405: "MethodNotAllowed"}
        name = names.get(exc.status_code, "HTTPError")
        return JSONResponse(
            error_body(name, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )


def _invalid(errors: list[dict[str, str]]) -> JSONResponse:
    """422 ``RequestValidationError``: the first fault in ``detail``, every one in ``errors``."""
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    return JSONResponse(
        error_body(
            "RequestValidationError", f"{first['field']}: {first['message']}", errors=errors
        ),
        status_code=422,
    )
