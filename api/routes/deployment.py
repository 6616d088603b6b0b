"""The deployment: what a client needs to sign writes for it."""

from __future__ import annotations

from fastapi import APIRouter

from ..deps import CallerDep, ServiceDep
from ..models import DeploymentPublic

router = APIRouter(prefix="/v1/deployment", tags=["deployment"])


@router.get("", response_model=DeploymentPublic)
def get_deployment(service: ServiceDep, _: CallerDep) -> DeploymentPublic:
    """Chain id, contract addresses, and the EIP-712 domain a ``ForwardRequest`` is signed in."""
    manifest = service.ledger.manifest
    return DeploymentPublic(
        chain_id=manifest.chain_id,
        contracts={name: c.address for name, c in manifest.contracts.items()},
        forwarder_domain=service.ledger.forwarder.domain.as_dict(),
        relayer=service.relayer.address,
    )
