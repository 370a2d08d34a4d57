"""Usage action: an account's messages and credits per day (the console's chart)."""

from __future__ import annotations

from gateway.admin.errors import action
from gateway.admin.scope import ADMIN, Scope, check_visible
from ledger.models import DailyUsage
from ledger.store import Store

#: Days the console's chart shows.
CHART_DAYS = 30


@action
async def daily_usage(
    store: Store, system_id: str, *, days: int = CHART_DAYS, scope: Scope = ADMIN
) -> list[DailyUsage]:
    """Messages and credits spent per UTC day over the last ``days`` days, oldest first.

    Every day is present (zero when nothing was sent); credits leave out the messages
    the upstream refused, which were refunded. An account outside ``scope`` is unknown.
    """
    await check_visible(store, scope, system_id)
    return await store.daily_usage(system_id, days=days)
