"""The app: ``create_app(settings)`` builds it; ``credit-chain serve`` runs it with uvicorn."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline.config import Settings
from pipeline.service import Service

from .console import install_console
from .console.source import ConsoleSource
from .console.views import Viewer
from .docs_ui import install_docs
from .errors import COMMON_ERRORS, error_body, error_responses, install_error_handlers
from .routes import (
    attestations,
    authorisations,
    batches,
    complaints,
    console,
    deployment,
    disputes,
    health,
    lending,
    members,
    queries,
    receivables,
    schemas,
    scores,
    submissions,
    typed_data,
    verify,
)

#: Methods whose bodies the routes read.
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, and bodies that are not UTF-8
    with 422 ``RequestValidationError``.

    A declared ``Content-Length`` over the limit is refused before the body is read. The
    body of a POST is then read here (FastAPI reads it whole anyway), counted as it arrives,
    so a body sent without a length (``Transfer-Encoding: chunked``) is refused as soon as
    it passes the limit; and checked to be UTF-8 with no NUL byte, because a JSON parser fed
    bytes guesses their encoding and would read a UTF-16 body as JSON (RFC 8259: UTF-8 only).

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and
    a stream per request, measurable on the accept path.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    def _too_large(self) -> JSONResponse:
        return JSONResponse(
            error_body(
                "PayloadTooLarge",
                f"request bodies are limited to {self.limit} bytes",
                limit=self.limit,
            ),
            status_code=413,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                if not value.isdigit() or int(value) > self.limit:
                    await self._too_large()(scope, receive, send)
                    return
                break
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large()(scope, receive, send)
                return
            parts.append(chunk)
            if not message.get("more_body", False):
                break
        body = parts[0] if len(parts) == 1 else b"".join(parts)
        if not _utf8_without_nul(body):
            fault = {"field": "body", "message": "the body is not UTF-8 JSON"}
            response = JSONResponse(
                error_body(
                    "RequestValidationError",
                    f"body: {fault['message']}",
                    errors=[fault],
                ),
                status_code=422,
            )
            await response(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _utf8_without_nul(body: bytes) -> bool:
    if b"\x00" in body:
        return False
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def quiet_garbage_collector() -> None:
    """Keep Python's cyclic garbage collector from pausing requests.

    The embedded chain holds a large heap (py-evm's state and every block), and a
    full collection walks all of it: measured here, pauses of over a second under
    load. What exists at start-up is frozen out of collection; young objects are
    collected less often; and full collections are left to the anchoring worker,
    which runs one when the server has been idle (see ``AnchorWorker``).
    """
    gc.freeze()
    gc.set_threshold(50_000, 50, 1_000_000_000)


def create_app(
    settings: Settings | None = None,
    service: Service | None = None,
    on_ready: Callable[[Service], None] | None = None,
) -> FastAPI:
    """The FastAPI app; with ``service`` given (tests), that service is used as is.

    ``on_ready`` is called with the service once it is open (``serve`` prints where it is).
    """
    settings = settings or (service.settings if service else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = service is None
        app.state.service = service or Service.open(settings)
        # FastAPI builds each route's request fields and models at its first request: 50 to
        # 140 ms on the first write of each kind, which an open loop's first second queues
        # behind. Building the OpenAPI document walks every route and builds them now.
        app.openapi()
        quiet_garbage_collector()
        if on_ready is not None:
            on_ready(app.state.service)
        try:
            yield
        finally:
            if own:
                app.state.service.close()

    app = FastAPI(
        title="Yangtze River Delta credit chain API",
        version="1",
        summary="Credit attestations, consent, disputes and receivables: every write signed by "
        "its own party, relayed, journaled and anchored exactly once.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    install_docs(app)
    install_console(app)
    install_error_handlers(app)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.include_router(health.router, responses=error_responses(413))
    app.include_router(typed_data.router, responses=error_responses(413, 422))
    for router in (
        deployment.router,
        members.router,
        members.enterprises_router,
        schemas.router,
        attestations.router,
        batches.router,
        submissions.router,
        verify.router,
        authorisations.router,
        queries.router,
        disputes.router,
        complaints.router,
        receivables.router,
        receivables.financings_router,
        lending.collateral_router,
        lending.facilities_router,
        lending.agreements_router,
        lending.exposures_router,
        scores.router,
        console.router,
    ):
        app.include_router(router, responses=COMMON_ERRORS)
    return app


def create_console_app(source: ConsoleSource, account: str) -> FastAPI:
    """The console alone, read-only, for an auditor without an API (``credit-chain console``):
    no keys, no writes; every read is shown as to an auditor (``account`` names who runs it)."""
    app = FastAPI(
        title="Yangtze River Delta credit chain console (read-only)",
        version="1",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.console_source = source
    install_console(app)
    install_error_handlers(app)
    auditor = Viewer("auditor", account, read_only=True)

    async def read_only_viewer() -> Viewer:
        return auditor

    app.dependency_overrides[console.get_viewer] = read_only_viewer
    app.include_router(console.router, responses=COMMON_ERRORS)
    return app
