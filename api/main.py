"""The app: ``create_app(settings)`` builds it; ``credit-chain serve`` runs it with uvicorn."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from .config import Settings
from .errors import error_body, install_error_handlers
from .routes import attestations, health, members, schemas, submissions, verify
from .service import Service


def create_app(settings: Settings | None = None, service: Service | None = None) -> FastAPI:
    """The FastAPI app; with ``service`` given (tests), that service is used as is."""
    settings = settings or (service.settings if service else Settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = service is None
        app.state.service = service or Service.open(settings)
        try:
            yield
        finally:
            if own:
                app.state.service.close()

    app = FastAPI(
        title="Yangtze River Delta credit chain API",
        version="1",
        summary="Signed credit attestations, submissions, proofs and verification.",
        lifespan=lifespan,
    )
    install_error_handlers(app)

    @app.middleware("http")
    async def limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_body_bytes):
            return JSONResponse(
                error_body(
                    "PayloadTooLarge",
                    f"request bodies are limited to {settings.max_body_bytes} bytes",
                    limit=settings.max_body_bytes,
                ),
                status_code=413,
            )
        return await call_next(request)

    for router in (
        health.router,
        members.router,
        schemas.router,
        attestations.router,
        submissions.router,
        verify.router,
    ):
        app.include_router(router)
    return app
