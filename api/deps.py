"""Dependencies of the route handlers: the service, the authenticated caller, rate limits.

They are ``async`` although they do no I/O worth waiting for (an indexed read of
the key's row, and the member's standing, cached until the chain changes it): a
sync dependency costs a hop through the thread pool on every request.

Every request reads its key and its member's standing afresh: a key revoked, or a
member suspended on chain, by any process is refused on the very next request
(``ApiKeyRevoked``, ``MemberSuspended``), and a read-only key of an account that
lost the auditor and regulator roles is refused (``ReadOnlyKeyNotAuditor``).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from .errors import (
    ApiKeyRevoked,
    MemberSuspended,
    RateLimited,
    ReadOnlyKey,
    ReadOnlyKeyNotAuditor,
    Unauthenticated,
)
from .keys import OVERSIGHT_ROLES
from .service import Service


async def get_service(request: Request) -> Service:
    """The service the app was started with."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the member an API key acts for."""

    member: str  # checksum address
    read_only: bool
    key_hash: str


class _Bucket:
    __slots__ = ("stamp", "tokens")

    def __init__(self, tokens: float) -> None:
        self.tokens = tokens
        self.stamp = time.monotonic()


_buckets: dict[str, _Bucket] = {}
_buckets_lock = threading.Lock()


def _take_token(key_hash: str, rate: float, burst: int) -> bool:
    with _buckets_lock:
        bucket = _buckets.get(key_hash)
        if bucket is None:
            bucket = _buckets[key_hash] = _Bucket(float(burst))
        now = time.monotonic()
        bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
        bucket.stamp = now
        if bucket.tokens < 1.0:
            return False
        bucket.tokens -= 1.0
        return True


#: The two ways to pass an API key, declared in the OpenAPI document as security schemes
#: (Swagger UI's "Authorize" offers both); neither refuses by itself, ``get_caller`` does.
api_key_header = APIKeyHeader(
    name="X-API-Key",
    scheme_name="ApiKeyHeader",
    description="An API key issued with `credit-chain keys issue`.",
    auto_error=False,
)
bearer = HTTPBearer(
    scheme_name="BearerApiKey",
    description="The same API key as `Authorization: Bearer <key>`; X-API-Key wins if both.",
    auto_error=False,
)


async def get_caller(
    service: ServiceDep,
    x_api_key: Annotated[str | None, Depends(api_key_header)] = None,
    authorization: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)] = None,
) -> Caller:
    """The caller behind the request's API key (``X-API-Key`` or ``Authorization: Bearer``)."""
    key = x_api_key
    if key is None and authorization is not None:
        key = authorization.credentials.strip()
    if not key:
        raise Unauthenticated("an API key is required (X-API-Key header)")
    found = service.keys.lookup(key)
    if found is None:
        raise Unauthenticated("unknown API key")
    if found.revoked_at is not None:
        raise ApiKeyRevoked(
            "this API key was revoked", key_hash=found.key_hash, revoked_at=found.revoked_at
        )
    member = service.member_standing(found.member)
    if member is not None and member.suspended:
        raise MemberSuspended(
            f"{found.member} is suspended by the consortium's regulator: its keys neither "
            "write nor read until it is reinstated",
            member=found.member,
        )
    if found.read_only and not (
        member is not None and not member.suspended and member.roles & OVERSIGHT_ROLES
    ):
        raise ReadOnlyKeyNotAuditor(
            f"{found.member} holds neither the auditor nor the regulator role: its read-only "
            "key reads nothing",
            member=found.member,
        )
    if not _take_token(found.key_hash, service.settings.rate_per_s, service.settings.rate_burst):
        raise RateLimited(
            f"more than {service.settings.rate_per_s:g} requests per second for this key",
            retry_after_s=1,
        )
    return Caller(found.member, found.read_only, found.key_hash)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_writer(caller: CallerDep) -> Caller:
    """A caller allowed to write: not an auditor's read-only key."""
    if caller.read_only:
        raise ReadOnlyKey("this API key is read-only", member=caller.member)
    return caller


WriterDep = Annotated[Caller, Depends(get_writer)]


def oversees(service: Service, caller: Caller) -> bool:
    """Whether the caller's member is a regulator or an auditor in good standing."""
    return bool(service.roles_of(caller.member) & OVERSIGHT_ROLES)
