"""Member institutions and their public encryption keys."""

from __future__ import annotations

from eth_utils.address import to_checksum_address
from fastapi import APIRouter

from ledger_client.types import Member

from ..deps import CallerDep, ServiceDep
from ..errors import NotFound, error_responses
from ..models import Address, MemberPublic, MembersPublic

router = APIRouter(prefix="/v1/members", tags=["members"])


def _public(m: Member) -> MemberPublic:
    return MemberPublic(
        account=m.account,
        name=m.name,
        city=m.city.label,
        roles=m.roles.names(),
        suspended=m.suspended,
        admitted_at=m.admitted_at,
        encryption_key="0x" + m.encryption_key.hex() if m.encryption_key else None,
    )


@router.get("", response_model=MembersPublic)
def list_members(service: ServiceDep, _: CallerDep) -> MembersPublic:
    """Every member institution, in admission order."""
    members = [_public(m) for m in service.ledger.consortium.members()]
    return MembersPublic(data=members, count=len(members))


@router.get("/{account}", response_model=MemberPublic, responses=error_responses(404))
def get_member(account: Address, service: ServiceDep, _: CallerDep) -> MemberPublic:
    """One member institution."""
    m = service.ledger.consortium.member(to_checksum_address(account))
    if m is None:
        raise NotFound(f"{account} is not a member", account=account)
    return _public(m)
