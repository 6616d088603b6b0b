"""The app: ``create_app(settings)`` builds it; ``credit-chain serve`` runs it with uvicorn."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .config import Settings
from .errors import COMMON_ERRORS, error_body, error_responses, install_error_handlers
from .routes import (
    attestations,
    authorisations,
    batches,
    deployment,
    disputes,
    health,
    members,
    queries,
    receivables,
    schemas,
    submissions,
    verify,
)
from .service import Service


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes with 413, before they are read.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs a task and
    a stream per request, measurable on the accept path.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"content-length":
                    if not value.isdigit() or int(value) > self.limit:
                        response = JSONResponse(
                            error_body(
                                "PayloadTooLarge",
                                f"request bodies are limited to {self.limit} bytes",
                                limit=self.limit,
                            ),
                            status_code=413,
                        )
                        await response(scope, receive, send)
                        return
                    break
        await self.app(scope, receive, send)


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


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """The FastAPI app; with ``service`` given (tests), that service is used as is."""
    settings = settings or (service.settings if service else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = service is None
        app.state.service = service or Service.open(settings)
        quiet_garbage_collector()
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
    )
    install_error_handlers(app)

    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    app.include_router(health.router, responses=error_responses(413))
    for router in (
        deployment.router,
        members.router,
        schemas.router,
        attestations.router,
        batches.router,
        submissions.router,
        verify.router,
        authorisations.router,
        queries.router,
        disputes.router,
        receivables.router,
        receivables.financings_router,
    ):
        app.include_router(router, responses=COMMON_ERRORS)
    return app
