"""Usage action: an account's messages and credits per day (the console's chart)."""

from __future__ import annotations

from typing_extensions import TypedDict

from gateway.admin.errors import action
from gateway.admin.scope import ADMIN, Scope, check_visible
from ledger.models import milli_to_credits
from ledger.models.history import DailyUsage
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


class DayUsageView(TypedDict):
    """One UTC day: messages accepted, and the credits they cost (refunds left out)."""

    day: str
    messages: int
    credits: str
    credits_milli: int


class UsageView(TypedDict):
    """An account's days, oldest first."""

    system_id: str
    days: list[DayUsageView]


def usage_view(system_id: str, days: list[DailyUsage]) -> UsageView:
    """The days of :func:`daily_usage` as JSON."""
    return {
        "system_id": system_id,
        "days": [
            {
                "day": d.day.isoformat(),
                "messages": d.messages,
                "credits": milli_to_credits(d.cost),
                "credits_milli": d.cost,
            }
            for d in days
        ],
    }
