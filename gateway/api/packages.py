"""``/sms/{account}/packages``: credit packages (``smppgw package ...``).

Each route calls one action of :mod:`gateway.admin.packages` with the token's scope and
answers the view ``smppgw package ... --json`` prints. Quantities are messages; the
rules (units of 100, categories) are the ledger's, refused with 422
``purchase_refused``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from gateway import admin
from gateway.admin import inputs, package_views
from gateway.admin.packages import DEFAULT_PACKAGE_LIMIT
from gateway.api.accounts import AccountId, IdempotencyKey
from gateway.api.auth import TokenScope
from gateway.api.context import Context
from gateway.api.errors import responses

router = APIRouter(prefix="/sms", tags=["packages"])

_ANSWERS = responses(400, 401, 404, 429, 503)


class PurchaseBody(BaseModel):
    """A package to buy: messages of one category, in units of 100."""

    # A typo in a key is an error, not a package silently bought without it.
    model_config = ConfigDict(extra="forbid")

    category: StrictStr = Field(
        description="verification (codes and notifications), marketing or general",
        examples=["verification"],
    )
    quantity: StrictInt = Field(
        description="messages: a multiple of 100, at least 100", examples=[1000]
    )
    name: StrictStr = Field(default="", max_length=64, description='default: "QUANTITY CATEGORY"')


@router.get("/{account}/packages", responses=_ANSWERS)
async def list_packages(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    limit: Annotated[
        int, Query(ge=1, le=1000, description="purchase records per page")
    ] = DEFAULT_PACKAGE_LIMIT,
    before: Annotated[
        str | None, Query(max_length=200, description="next_before of the previous page")
    ] = None,
) -> package_views.PackagesView:
    """The account's purchase records, newest first, and the messages left per category."""
    listing = await admin.list_packages(ctx.store, account, limit=limit, before=before, scope=scope)
    return package_views.packages_view(listing)


@router.post("/{account}/packages", responses=responses(400, 401, 404, 409, 422, 429, 503))
async def buy_package(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    body: PurchaseBody,
    idempotency_key: IdempotencyKey = None,
) -> package_views.PackageView:
    """Buy a package; valid ``[packages] validity_months`` (12 by default).

    422 ``purchase_refused`` for a quantity not in units of 100 (or beyond the largest
    purchase), 422 ``account_inactive`` for a closed account, 409
    ``idempotency_conflict`` for a key used with another body.
    """
    category = inputs.category(body.category)
    key = None
    if idempotency_key is not None:
        key = f"api:package:{account}:{inputs.client_key(idempotency_key)}"
    package = await admin.buy_package(
        ctx.store,
        account,
        category,
        body.quantity,
        name=body.name,
        key=key,
        origin="api",
        validity_months=ctx.package_validity_months,
        scope=scope,
    )
    return package_views.package_view(package)


@router.get("/{account}/packages/{package_id}", responses=_ANSWERS)
async def show_package(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    package_id: Annotated[str, Path(max_length=40, description="the package's id, PKG...")],
) -> package_views.PackageDetailsView:
    """One purchase record and its entries (purchase, draws, refunds, write-off)."""
    details = await admin.show_package(ctx.store, package_id, system_id=account, scope=scope)
    return package_views.package_details_view(details)
