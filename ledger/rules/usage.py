"""Daily usage: the UTC days a chart of the last N days shows, and which are settled (pure).

The query returns only the days that had messages; a chart needs every day, the empty
ones as zero, oldest first, ending today (UTC).

Counting a day of a large account reads every message of it (a busy account: tens of
thousands a day), so the days that no longer change are counted once and kept
(``usage_days``, migration 0010). A day is *settled* once it is older than yesterday
(:func:`settled_from`): its messages were debited long ago, and a message's cost leaves
the day's credits only if it is refunded later, which happens while the forwarder
retries it, within hours. Today and yesterday are always counted afresh. A refund more
than a day after its message (a link down for days) is not seen by a settled day:
the chart is a summary; the journal has every movement.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from ledger.errors import InvalidRequest
from ledger.models.history import DailyUsage

#: Most days one usage query covers.
MAX_USAGE_DAYS = 366


def usage_start(now: datetime, days: int) -> datetime:
    """00:00 UTC of the first of the ``days`` UTC days ending with ``now``'s."""
    if not 1 <= days <= MAX_USAGE_DAYS:
        raise InvalidRequest(f"days must be 1 to {MAX_USAGE_DAYS}, not {days}")
    today = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).astimezone(UTC).date()
    return datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=UTC)


def day_start(day: date) -> datetime:
    """00:00 UTC of ``day``."""
    return datetime.combine(day, time(), tzinfo=UTC)


def settled_from(now: datetime) -> date:
    """The first day that is not settled (yesterday, UTC): days before it are."""
    today = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).astimezone(UTC).date()
    return today - timedelta(days=1)


def missing_days(cached: Iterable[date], first: date, end: date) -> list[date]:
    """The days from ``first`` up to (not including) ``end`` not in ``cached``, in order."""
    have = set(cached)
    count = (end - first).days
    return [d for d in (first + timedelta(days=i) for i in range(max(count, 0))) if d not in have]


def every_day(found: Iterable[DailyUsage], start: datetime, days: int) -> list[DailyUsage]:
    """``found`` with a zero row for each missing day: ``days`` rows from ``start``'s day."""
    by_day = {u.day: u for u in found}
    first: date = start.date()
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        out.append(by_day.get(day, DailyUsage(day, 0, 0)))
    return out
