"""What a signer signs, for every write: EIP-712 domains and typed-data templates.

Public (no API key): everything here is public chain data, and an integrator
needs it before it has a key (to build its first signed write). The writes
come from :data:`api.typed_data_writes.RELAYED_WRITES`, the typed data from
the deployment's manifest and the compiled contracts.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from ledger_client.deployment import Manifest
from ledger_client.identity.typed_data import TypedDataCatalogue, UnknownWrite, typed_data_catalogue
from pipeline.errors import NotFound
from pipeline.service import Service

from ..deps import ServiceDep
from ..errors import error_responses
from ..typed_data_models import TypedDataCataloguePublic, WriteTypedDataPublic
from ..typed_data_writes import RELAYED_WRITES

router = APIRouter(prefix="/v1/typed-data", tags=["deployment"])
Operation = Annotated[
    str, Path(max_length=80, description="the write's operation, e.g. receivables.finance")
]


#: The last catalogue built, with the manifest it was built from: a public route is built
#: once per deployment, not once per request.
_built: list[tuple[Manifest, TypedDataCatalogue, TypedDataCataloguePublic]] = []


def _catalogue(service: Service) -> tuple[TypedDataCatalogue, TypedDataCataloguePublic]:
    ledger = service.ledger
    if not _built or _built[0][0] is not ledger.manifest:
        made = typed_data_catalogue(ledger.manifest, ledger.artifacts, RELAYED_WRITES)
        _built[:] = [
            (ledger.manifest, made, TypedDataCataloguePublic.model_validate(made.to_json()))
        ]
    return _built[0][1], _built[0][2]


def catalogue(service: Service) -> TypedDataCatalogue:
    """The typed data of every write this API accepts, on its deployment."""
    return _catalogue(service)[0]


@router.get("", response_model=TypedDataCataloguePublic)
def get_typed_data(service: ServiceDep) -> TypedDataCataloguePublic:
    """Every EIP-712 domain of the deployment and, per write, the typed data its signer signs
    (``eth_signTypedData_v4``'s argument, with placeholders), who signs it, who may hand it in,
    and for a relayed call how the ForwardRequest's ``data`` is built."""
    return _catalogue(service)[1]


@router.get("/{operation}", response_model=WriteTypedDataPublic, responses=error_responses(404))
def get_write_typed_data(operation: Operation, service: ServiceDep) -> WriteTypedDataPublic:
    """The typed data of one write, by its operation name."""
    try:
        template = catalogue(service).write(operation)
    except UnknownWrite as exc:
        raise NotFound(str(exc), operation=operation) from None
    return WriteTypedDataPublic.model_validate(template.to_json())
