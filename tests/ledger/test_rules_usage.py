"""The days a usage chart shows (ledger.rules.usage), without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from ledger.errors import InvalidRequest
from ledger.models.history import DailyUsage
from ledger.rules.usage import MAX_USAGE_DAYS, every_day, usage_start


def test_the_range_starts_at_midnight_utc_of_the_first_day() -> None:
    late = datetime(2026, 12, 3, 23, 59, tzinfo=UTC)
    assert usage_start(late, 30) == datetime(2026, 11, 4, tzinfo=UTC)
    assert usage_start(late, 1) == datetime(2026, 12, 3, tzinfo=UTC)
    # 00:30 in Paris is still the day before in UTC; a naive time is UTC.
    paris = datetime(2026, 12, 4, 0, 30, tzinfo=timezone(timedelta(hours=1)))
    assert usage_start(paris, 1) == datetime(2026, 12, 3, tzinfo=UTC)
    assert usage_start(datetime(2026, 12, 3, 5), 2) == datetime(2026, 12, 2, tzinfo=UTC)


@pytest.mark.parametrize("days", [0, -1, MAX_USAGE_DAYS + 1])
def test_a_range_out_of_bounds_is_refused(days: int) -> None:
    with pytest.raises(InvalidRequest):
        usage_start(datetime(2026, 12, 3, tzinfo=UTC), days)


def test_missing_days_are_zero_and_every_day_is_there_in_order() -> None:
    start = datetime(2026, 12, 1, tzinfo=UTC)
    found = [DailyUsage(date(2026, 12, 3), 4, 4_000), DailyUsage(date(2026, 12, 1), 1, 500)]
    assert every_day(found, start, 3) == [
        DailyUsage(date(2026, 12, 1), 1, 500),
        DailyUsage(date(2026, 12, 2), 0, 0),
        DailyUsage(date(2026, 12, 3), 4, 4_000),
    ]
