"""Bearer authentication: the token names a scope, which every action is given.

The token is checked by the service layer (:func:`gateway.admin.authenticate`); this
module only reads the ``Authorization`` header, counts failures per client address
(:mod:`gateway.api.ratelimit`) and turns the token into the
:class:`~gateway.admin.Scope` the route passes on. A refused request never reaches an
action.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from gateway import admin
from gateway.admin import NotAuthenticated, Scope
from gateway.api.context import ApiContext, context
from gateway.api.errors import TooManyAttempts

#: The OpenAPI security scheme; auto_error off so that a missing header gets our 401.
bearer = HTTPBearer(auto_error=False, description="a token from `smppgw token create`")


async def token_scope(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ctx: Annotated[ApiContext, Depends(context)],
) -> Scope:
    """The scope of the request's bearer token; 401 without a valid one, 429 when limited."""
    address = request.client.host if request.client is not None else "?"
    wait = ctx.limiter.blocked_for(address)
    if wait:
        raise TooManyAttempts(wait)
    if credentials is None:
        ctx.limiter.failed(address)
        raise NotAuthenticated("this needs an API token: Authorization: Bearer <token>")
    try:
        token = await admin.authenticate(ctx.store, credentials.credentials)
    except NotAuthenticated:
        ctx.limiter.failed(address)
        raise
    return admin.scope_of(token)


async def admin_scope(scope: Annotated[Scope, Depends(token_scope)]) -> Scope:
    """The scope of an admin token; 403 for an owner's."""
    scope.require_admin("this endpoint")
    return scope


TokenScope = Annotated[Scope, Depends(token_scope)]
AdminScope = Annotated[Scope, Depends(admin_scope)]
