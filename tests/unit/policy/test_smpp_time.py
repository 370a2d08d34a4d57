"""The SMPP 3.4 time fields (§7.1.1), table-tested: absolute, relative, and malformed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from gateway.policy.smpp_time import format_absolute, parse_time

NOW = datetime(2026, 1, 31, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", None),
        # Absolute, UTC.
        ("260131120000000+", datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)),
        ("260131120000500+", datetime(2026, 1, 31, 12, 0, 0, 500_000, tzinfo=UTC)),
        # Local times with their offset in quarter hours: +04 is UTC+1 (Paris in winter).
        ("260131120000004+", datetime(2026, 1, 31, 11, 0, 0, tzinfo=UTC)),
        ("260131120000020-", datetime(2026, 1, 31, 17, 0, 0, tzinfo=UTC)),
        ("260131120000048+", datetime(2026, 1, 31, 0, 0, 0, tzinfo=UTC)),
        # Relative.
        ("000000000100000R", datetime(2026, 1, 31, 10, 1, 0, tzinfo=UTC)),
        ("000001000000000R", datetime(2026, 2, 1, 10, 0, 0, tzinfo=UTC)),
        ("000000020000000R", datetime(2026, 1, 31, 12, 0, 0, tzinfo=UTC)),
        # One month after 31 January is the last day of February.
        ("000100000000000R", datetime(2026, 2, 28, 10, 0, 0, tzinfo=UTC)),
        ("010000000000000R", datetime(2027, 1, 31, 10, 0, 0, tzinfo=UTC)),
        ("000000000000000R", NOW),
        # Overflowing relative fields are plain amounts (99 hours).
        ("000000990000000R", datetime(2026, 2, 4, 13, 0, 0, tzinfo=UTC)),
    ],
)
def test_valid_times(value: str, expected: datetime | None) -> None:
    assert parse_time(value, NOW) == expected


@pytest.mark.parametrize(
    "value",
    [
        "2601311200",  # too short
        "260131120000000+0",  # too long
        "26013112000000+",  # 15 characters
        "260131120000000X",  # neither +, - nor R
        "260231120000000+",  # 31 February
        "261331120000000+",  # month 13
        "260131250000000+",  # hour 25
        "260131126000000+",  # minute 60
        "260131120000049+",  # offset over 12 hours
        "2601311200000a0+",  # not a digit
        "000000000100100R",  # relative with a tenth
        "000000000100001R",  # relative with an offset
        "26013112000000\uff10+",  # a non-ASCII digit (fullwidth zero)
        "                ",
    ],
)
def test_malformed_times_are_refused(value: str) -> None:
    with pytest.raises(ValueError, match=r"YYMMDD|000R|\+, - or R|date|quarter"):
        parse_time(value, NOW)


def test_format_absolute_round_trips_as_utc() -> None:
    moment = datetime(2026, 1, 31, 12, 34, 56, 700_000, tzinfo=UTC)
    assert format_absolute(moment) == "260131123456700+"
    assert parse_time(format_absolute(moment), NOW) == moment
