"""Health, readiness, metrics and the admin-only token list."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from typing_extensions import TypedDict

from gateway import admin
from gateway.admin import views
from gateway.api.auth import AdminScope, bearer, token_scope
from gateway.api.context import Context
from gateway.api.errors import responses
from gateway.observability.metrics import CONTENT_TYPE
from ledger.errors import LedgerError

router = APIRouter()


class Health(TypedDict):
    """The process answers."""

    status: str


class Readiness(TypedDict):
    """Whether this gateway can take traffic, and which part is not ready."""

    status: str
    ledger: bool
    upstream: bool


@router.get("/healthz", tags=["operations"])
async def healthz() -> Health:
    """The process is alive (a liveness probe: no dependency is asked)."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    tags=["operations"],
    responses={503: {"model": Readiness, "description": "a part is not ready"}},
)
async def readyz(ctx: Context, response: Response) -> Readiness:
    """The ledger answers, and the upstream is bound (or the simulator is the upstream)."""
    try:
        await ctx.store.backlog()
        ledger = True
    except LedgerError:
        ledger = False
    upstream = ctx.upstream_ready()
    ready = ledger and upstream
    if not ready:
        response.status_code = 503
    return {"status": "ready" if ready else "unavailable", "ledger": ledger, "upstream": upstream}


@router.get(
    "/metrics",
    tags=["operations"],
    response_class=Response,
    # The token is optional in the description: api.metrics_public decides at run time.
    openapi_extra={"security": [{}, {"HTTPBearer": []}]},
    responses={200: {"content": {CONTENT_TYPE: {}}, "description": "Prometheus text format"},
               **responses(401, 403, 429)},
)  # fmt: skip
async def metrics(
    request: Request,
    ctx: Context,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """Prometheus metrics of this gateway (an admin token if ``api.metrics_public`` is false)."""
    if not ctx.config.metrics_public:
        scope = await token_scope(request, credentials, ctx)
        scope.require_admin("/metrics")
    return Response(await ctx.metrics.scrape(ctx.store), media_type=CONTENT_TYPE)


@router.get("/tokens", tags=["tokens"], responses=responses(401, 403, 429, 503))
async def list_tokens(ctx: Context, _scope: AdminScope) -> views.TokensView:
    """Every API token, revoked ones included; never a secret (admin tokens only)."""
    return views.tokens_view(await admin.list_tokens(ctx.store))
