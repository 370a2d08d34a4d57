"""delivery.expiry: SMPP absolute and relative validity periods, capped by the maximum."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.delivery.expiry import expires_at, validity_end

AT = datetime(2026, 12, 3, 10, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("validity", "end"),
    [
        ("261203103000032+", datetime(2026, 12, 3, 2, 30, tzinfo=UTC)),  # UTC+8
        ("261203103000004-", datetime(2026, 12, 3, 11, 30, tzinfo=UTC)),  # UTC-1
        ("261203103000500+", datetime(2026, 12, 3, 10, 30, 0, 500_000, tzinfo=UTC)),
        ("000001000000000R", AT + timedelta(days=1)),
        ("000000000130000R", AT + timedelta(seconds=90)),
        ("010100000000000R", AT + timedelta(days=395)),
        ("", None),
        ("26120310300003+", None),  # 15 characters
        ("261303103000000+", None),  # month 13
        ("261203103000049+", None),  # more than 12 hours off UTC
        ("26120310300000 X", None),
    ],
)
def test_validity_end(validity: str, end: datetime | None) -> None:
    assert validity_end(validity, AT) == end


def test_the_cap_applies_to_every_message() -> None:
    assert expires_at("", AT, 60) == AT + timedelta(seconds=60)
    assert expires_at("000000000010000R", AT, 60) == AT + timedelta(seconds=10)
    assert expires_at("000001000000000R", AT, 60) == AT + timedelta(seconds=60)
    assert expires_at("garbage", AT, 60) == AT + timedelta(seconds=60)
