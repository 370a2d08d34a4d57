"""``/sms/{account}/alerts``: an account's low-balance alerts (``smppgw alert ...``).

Each route calls one action of :mod:`gateway.admin.alerts` with the token's scope, and
answers the view ``smppgw alert ... --json`` prints. The thresholds are credits here, as
every amount the API takes; which alerts may be set is the action's rule (an alert on a
package category watches the messages left in the account's packages of it).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictStr

from gateway import admin
from gateway.admin import inputs, views
from gateway.api.accounts import AccountId, Credits
from gateway.api.auth import TokenScope
from gateway.api.context import Context
from gateway.api.errors import responses
from ledger.models import Category

router = APIRouter(prefix="/sms", tags=["alerts"])

_ANSWERS = responses(400, 401, 404, 429, 503)


class AlertBody(BaseModel):
    """The alert to set: mail the contact once each time the balance falls below."""

    # A typo in a key is an error, not an alert silently set without it.
    model_config = ConfigDict(extra="forbid")

    below: Credits = Field(description="credits, > 0, 3 decimals at most", examples=["10"])
    category: StrictStr | None = Field(
        default=None,
        description="null (the default) watches the credit balance; a package category"
        " (verification, marketing, general) watches the messages left in the account's"
        " packages of that category (``below`` is then messages)",
    )


def _category(text: str | None) -> Category | None:
    return None if text is None else inputs.category(text)


@router.get("/{account}/alerts", responses=_ANSWERS)
async def show_alerts(ctx: Context, scope: TokenScope, account: AccountId) -> views.AlertsView:
    """The account's low-balance alerts and the contact they are mailed to."""
    return views.alerts_view(await admin.show_alerts(ctx.store, account, scope=scope))


@router.put("/{account}/alerts", responses=responses(400, 401, 404, 422, 429, 503))
async def set_alert(
    ctx: Context, scope: TokenScope, account: AccountId, body: AlertBody
) -> views.AlertView:
    """Set (or replace) the alert on a balance; it starts armed if the balance is at or
    above ``below``. 422 ``limit_exceeded`` beyond ``[ledger] max_balance``."""
    text = body.below if isinstance(body.below, str) else repr(body.below)
    below = inputs.credits(text)
    category = _category(body.category)
    alert = await admin.set_alert(ctx.store, account, below=below, category=category, scope=scope)
    return views.alert_view(alert)


@router.delete("/{account}/alerts", responses=_ANSWERS)
async def clear_alert(
    ctx: Context,
    scope: TokenScope,
    account: AccountId,
    category: Annotated[
        str | None, Query(description="the alert's category; left out: the credit balance's")
    ] = None,
) -> views.AlertClearedView:
    """Remove the alert on a balance; ``cleared`` false when there was none (not an error)."""
    done = await admin.clear_alert(ctx.store, account, category=_category(category), scope=scope)
    return views.alert_cleared_view(done)
