"""Member institutions and their public encryption keys; the regulator's onboarding.

A regulator admits, suspends and reinstates members and sets their roles, and a registrar
binds an enterprise's account to its subject id, each with its own signed call of
``Consortium.sol`` relayed through the Forwarder (the Consortium trusts it, ERC-2771), handed
in with the signer's own key: a regulator's (a registrar's for a binding). Any other key is
refused by the Consortium's own error, ``ConsortiumUnauthorized``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from ledger_client.addresses import to_checksum_address
from ledger_client.types import City, Member, Role, SubjectId
from pipeline.errors import NotFound
from pipeline.operations import (
    AdmitMember,
    BindEnterprise,
    RebindEnterprise,
    ReinstateMember,
    SetRoles,
    SuspendMember,
)

from ..deps import CallerDep, ServiceDep, WriterDep
from ..errors import error_responses
from ..models import (
    Address,
    EnterpriseBinding,
    EnterpriseRebinding,
    Hex32,
    MemberAdmission,
    MemberPublic,
    MemberRoles,
    MembersPublic,
    MemberSuspension,
    SignedWrite,
    SubmissionPublic,
)
from ..writes import WRITE_ROUTE, IdempotencyHeader, relay

router = APIRouter(prefix="/v1/members", tags=["members"])
enterprises_router = APIRouter(prefix="/v1/enterprises", tags=["members"])


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


# -- the regulator's writes ---------------------------------------------------------------------


@router.post("", **WRITE_ROUTE)
def admit_member(
    body: MemberAdmission,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Admit a member institution with its city and roles: ``admitMember`` signed by a
    regulator, handed in with the regulator's own key."""
    request = AdmitMember(
        to_checksum_address(body.account), body.name, City.parse(body.city), Role.parse(body.roles)
    )
    return relay(
        response, service, caller, idempotency_key, body, operation="members.admit", request=request
    )


@router.post("/{account}/suspension", **WRITE_ROUTE)
def suspend_member(
    account: Address,
    body: MemberSuspension,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Suspend a member: ``suspendMember`` signed by a regulator. From the block it is
    anchored in, the member's keys neither write nor read (``MemberSuspended``)."""
    request = SuspendMember(to_checksum_address(account), bytes.fromhex(body.reason[2:]))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="members.suspend",
        request=request,
    )


@router.post("/{account}/reinstatement", **WRITE_ROUTE)
def reinstate_member(
    account: Address,
    body: SignedWrite,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Reinstate a suspended member: ``reinstateMember`` signed by a regulator."""
    request = ReinstateMember(to_checksum_address(account))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="members.reinstate",
        request=request,
    )


@router.post("/{account}/roles", **WRITE_ROUTE)
def set_roles(
    account: Address,
    body: MemberRoles,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Replace a member's roles: ``setRoles`` signed by a regulator (who cannot drop its own
    regulator role: ``ConsortiumSelfLockout``)."""
    request = SetRoles(to_checksum_address(account), Role.parse(body.roles))
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="members.set_roles",
        request=request,
    )


@enterprises_router.post("", **WRITE_ROUTE)
def bind_enterprise(
    body: EnterpriseBinding,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Bind an enterprise's account to its subject id: ``bindEnterprise`` signed by a
    registrar, handed in with the registrar's own key. The enterprise may then be issued a
    key of its own and sign its writes."""
    request = BindEnterprise(
        to_checksum_address(body.account), SubjectId(bytes.fromhex(body.subject[2:]))
    )
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="enterprises.bind",
        request=request,
    )


@enterprises_router.post("/{subject}/rebinding", **WRITE_ROUTE)
def rebind_enterprise(
    subject: Hex32,
    body: EnterpriseRebinding,
    *,
    service: ServiceDep,
    caller: WriterDep,
    response: Response,
    idempotency_key: IdempotencyHeader = None,
) -> SubmissionPublic:
    """Move an enterprise's subject id to a new account, unbinding the old one:
    ``rebindEnterprise`` signed by a registrar, handed in with the registrar's own key."""
    request = RebindEnterprise(
        SubjectId(bytes.fromhex(subject[2:])), to_checksum_address(body.account)
    )
    return relay(
        response,
        service,
        caller,
        idempotency_key,
        body,
        operation="enterprises.rebind",
        request=request,
    )
