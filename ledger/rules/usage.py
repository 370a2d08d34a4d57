"""Daily usage: the UTC days a chart of the last N days shows (pure).

The query returns only the days that had messages; a chart needs every day, the empty
ones as zero, oldest first, ending today (UTC).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from ledger.errors import InvalidRequest
from ledger.models import DailyUsage

#: Most days one usage query covers.
MAX_USAGE_DAYS = 366


def usage_start(now: datetime, days: int) -> datetime:
    """00:00 UTC of the first of the ``days`` UTC days ending with ``now``'s."""
    if not 1 <= days <= MAX_USAGE_DAYS:
        raise InvalidRequest(f"days must be 1 to {MAX_USAGE_DAYS}, not {days}")
    today = (now if now.tzinfo is not None else now.replace(tzinfo=UTC)).astimezone(UTC).date()
    return datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=UTC)


def every_day(found: Iterable[DailyUsage], start: datetime, days: int) -> list[DailyUsage]:
    """``found`` with a zero row for each missing day: ``days`` rows from ``start``'s day."""
    by_day = {u.day: u for u in found}
    first: date = start.date()
    out = []
    for i in range(days):
        day = first + timedelta(days=i)
        out.append(by_day.get(day, DailyUsage(day, 0, 0)))
    return out
