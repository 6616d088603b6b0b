"""Registered credit-record schemas."""

from __future__ import annotations

from fastapi import APIRouter

from ledger_client.types import RegisteredSchema
from pipeline.errors import NotFound
from pipeline.service import Service

from ..deps import CallerDep, ServiceDep
from ..errors import error_responses
from ..models import SchemaPublic, SchemasPublic

router = APIRouter(prefix="/v1/schemas", tags=["schemas"])


def _public(s: RegisteredSchema) -> SchemaPublic:
    return SchemaPublic(
        id="0x" + s.schema_id.hex(),
        name=s.name,
        layout=s.layout,
        revocable=s.revocable,
        index=s.index,
        registered_at=s.registered_at,
    )


def resolve_schema(service: Service, ref: str) -> RegisteredSchema:
    """A registered schema by name or by 0x id; NotFound otherwise."""
    found = service.schema(ref)
    if found is None:
        raise NotFound(f"no registered schema {ref!r}", schema=ref)
    return found


@router.get("", response_model=SchemasPublic)
def list_schemas(service: ServiceDep, _: CallerDep) -> SchemasPublic:
    """Every registered schema."""
    data = [_public(s) for s in service.ledger.attestations.schemas()]
    return SchemasPublic(data=data, count=len(data))


@router.get("/{ref}", response_model=SchemaPublic, responses=error_responses(404))
def get_schema(service: ServiceDep, _: CallerDep, ref: str) -> SchemaPublic:
    """One schema, by name or id."""
    return _public(resolve_schema(service, ref))
