"""SMPP 3.4 time fields (schedule_delivery_time, validity_period, final_date). Pure.

§7.1.1: a time is empty (none) or 16 characters ``YYMMDDhhmmsstnnp``:

- absolute (``p`` is ``+`` or ``-``): a local time, ``t`` tenths of a second, ``nn`` the
  local time's offset from UTC in quarter hours (00-48), ``p`` its sign;
- relative (``p`` is ``R``): ``YY`` years, ``MM`` months, ``DD`` days, ``hh``, ``mm``, ``ss``
  from now, ``tnn`` = ``000``.

``parse_time`` turns one into an aware UTC datetime (relative ones from ``now``) or
raises ``ValueError``; ``format_absolute`` writes a UTC time back in the absolute form, which
is how the gateway forwards a relative time (the upstream may get the message later than
the client sent it: the client's "in 2 hours" must not start again there).
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta

#: Length of a non-empty time field (without its NUL).
TIME_LENGTH = 16


def _add_months(moment: datetime, months: int) -> datetime:
    """``moment`` plus ``months`` calendar months, the day clamped to the month's last."""
    total = moment.month - 1 + months
    year, month = moment.year + total // 12, total % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def parse_time(value: str, now: datetime) -> datetime | None:
    """The UTC moment ``value`` names (None for an empty field); ValueError if malformed.

    ``now`` is aware UTC: the origin of a relative time.
    """
    if value == "":
        return None
    if len(value) != TIME_LENGTH or not value[:15].isdigit() or not value[:15].isascii():
        raise ValueError(f"not YYMMDDhhmmsstnnp: {value!r}")
    yy, mo, dd, hh, mi, ss = (int(value[i : i + 2]) for i in range(0, 12, 2))
    tenths, quarters, sign = int(value[12]), int(value[13:15]), value[15]
    if sign == "R":
        if tenths or quarters:
            raise ValueError(f"a relative time ends in 000R: {value!r}")
        later = _add_months(now, yy * 12 + mo)
        return later + timedelta(days=dd, hours=hh, minutes=mi, seconds=ss)
    if sign not in "+-":
        raise ValueError(f"the last character is +, - or R: {value!r}")
    if quarters > 48:
        raise ValueError(f"a UTC offset of {quarters} quarter hours: {value!r}")
    try:
        local = datetime(2000 + yy, mo, dd, hh, mi, ss, tenths * 100_000, tzinfo=UTC)
    except ValueError as e:
        raise ValueError(f"not a date and time: {value!r} ({e})") from None
    offset = timedelta(minutes=15 * quarters)
    return local - offset if sign == "+" else local + offset


def format_absolute(moment: datetime) -> str:
    """``moment`` (aware) in the absolute form, as UTC: ``YYMMDDhhmmss t00+``."""
    utc = moment.astimezone(UTC)
    return f"{utc:%y%m%d%H%M%S}{utc.microsecond // 100_000}00+"


__all__ = ["TIME_LENGTH", "format_absolute", "parse_time"]
