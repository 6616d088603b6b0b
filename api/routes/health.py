"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import ServiceDep
from ..models import HealthPublic

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthPublic)
def health() -> HealthPublic:
    """The process is up."""
    return HealthPublic(status="ok")


@router.get("/ready", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def ready(service: ServiceDep) -> HealthPublic | JSONResponse:
    """The chain answers and the anchoring worker runs."""
    try:
        block = service.chain.backend.block_number()
    except Exception as exc:  # any failure to reach the chain means not ready
        body = HealthPublic(status="unavailable", detail=f"chain: {exc}")
        return JSONResponse(body.model_dump(), status_code=503)
    worker = service.worker
    if worker is None or not worker.alive:
        body = HealthPublic(status="unavailable", block=block, detail="the worker is not running")
        return JSONResponse(body.model_dump(), status_code=503)
    pending = service.journal.counts().get("pending", 0)
    return HealthPublic(status="ready", block=block, pending=pending, detail=worker.last_error)
