"""Console log-in: the API token in a cookie, and the form token that guards each POST.

The token a user pastes at ``/console/login`` is checked by the service layer like a
bearer token and kept in an HttpOnly, SameSite=Strict cookie scoped to ``/console``, so
page scripts cannot read it and other sites cannot send it. Every form also carries a
value derived from that token (:func:`form_token`), checked on POST: a request forged
from elsewhere knows neither.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request
from fastapi.responses import Response

from gateway import admin
from gateway.admin import NotAuthenticated, Scope
from gateway.api.context import ApiContext

#: The cookie holding the logged-in token's secret.
COOKIE = "smppgw_console"
#: Where the console lives; the cookie is sent nowhere else.
PREFIX = "/console"
#: Seconds a log-in lasts in the browser (the token itself may be revoked sooner).
COOKIE_MAX_AGE_S = 8 * 3600


class LoginRequired(Exception):
    """The request has no valid console log-in; the page sends the browser to log in."""


def form_token(secret: str) -> str:
    """The value every console form carries for the token ``secret``."""
    return hmac.new(secret.encode(), b"smppgw-console-form", hashlib.sha256).hexdigest()[:32]


def form_token_ok(secret: str, given: str) -> bool:
    """True when ``given`` is the form value of ``secret`` (constant-time)."""
    return hmac.compare_digest(form_token(secret), given)


def client_address(request: Request) -> str:
    """The client's address, for the failed log-in limiter."""
    return request.client.host if request.client is not None else "?"


async def logged_in(request: Request, ctx: ApiContext) -> tuple[Scope, str]:
    """The scope and secret of the request's console log-in; :class:`LoginRequired` if none.

    A cookie whose token was revoked since counts as no log-in.
    """
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise LoginRequired
    try:
        token = await admin.authenticate(ctx.store, secret)
    except NotAuthenticated:
        raise LoginRequired from None
    return admin.scope_of(token), secret


def remember(response: Response, secret: str, *, secure: bool) -> None:
    """Keep the log-in of ``secret`` in the browser."""
    response.set_cookie(
        COOKIE,
        secret,
        max_age=COOKIE_MAX_AGE_S,
        path=PREFIX,
        secure=secure,
        httponly=True,
        samesite="strict",
    )


def forget(response: Response) -> None:
    """End the browser's log-in."""
    response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
