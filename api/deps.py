"""Dependencies of the route handlers: the service, and the authenticated caller.

They are ``async`` although they do no I/O worth waiting for (an indexed read of
the key's row, and the member's standing, cached until the chain changes it): a
sync dependency costs a hop through the thread pool on every request. What a key
may do is the pipeline's to say (:func:`pipeline.intake.authenticate`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from pipeline.intake import Caller, authenticate, writer
from pipeline.service import Service


async def get_service(request: Request) -> Service:
    """The service the app was started with."""
    service: Service = request.app.state.service
    return service


ServiceDep = Annotated[Service, Depends(get_service)]


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
    return authenticate(service, key)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_writer(caller: CallerDep) -> Caller:
    """A caller allowed to write: not an auditor's read-only key."""
    return writer(caller)


WriterDep = Annotated[Caller, Depends(get_writer)]
