"""When a message that was not forwarded expires: its validity_period, capped. Pure.

SMPP 3.4 §7.1.1 time format, 16 characters ``YYMMDDhhmmsstnnp``:

- absolute: ``p`` is ``+`` or ``-``, ``nn`` the difference from UTC in quarter hours
  (local time ahead of UTC with ``+``), ``t`` tenths of a second;
  ``"261203103000032+"`` is 2026-12-03 10:30:00 at UTC+08:00, 02:30:00 UTC;
- relative: ``p`` is ``R``, the fields are an amount of time after acceptance
  (``"000001000000000R"``: one day). Years count 365 days and months 30, the usual
  reading (the spec gives no calendar for them).

An empty validity_period asks for the SMSC's default: here ``[delivery] max_validity_s``,
which also caps every other one. An unreadable value (the submit path accepted it, since
SMSCs differ in what they take) gets the cap too, so no message waits for ever.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_RELATIVE_UNITS = (
    timedelta(days=365),
    timedelta(days=30),
    timedelta(days=1),
    timedelta(hours=1),
    timedelta(minutes=1),
    timedelta(seconds=1),
)


def validity_end(validity_period: str, accepted_at: datetime) -> datetime | None:
    """When ``validity_period`` ends for a message accepted at ``accepted_at`` (aware).

    None for an empty or unreadable value.
    """
    v = validity_period
    if len(v) != 16 or not v[:15].isdigit() or v[15] not in "+-R":
        return None
    fields = [int(v[i : i + 2]) for i in range(0, 12, 2)]
    if v[15] == "R":
        return accepted_at + sum(
            (unit * n for unit, n in zip(_RELATIVE_UNITS, fields, strict=True)), timedelta()
        )
    year, month, day, hour, minute, second = fields
    quarters = int(v[13:15])
    if quarters > 48:
        return None
    try:
        local = datetime(2000 + year, month, day, hour, minute, second, int(v[12]) * 100_000)
    except ValueError:
        return None
    offset = timedelta(minutes=15 * quarters) * (1 if v[15] == "+" else -1)
    return (local - offset).replace(tzinfo=UTC)


def expires_at(validity_period: str, accepted_at: datetime, max_validity_s: float) -> datetime:
    """The moment an unforwarded message expires: its validity, at most the cap."""
    cap = accepted_at + timedelta(seconds=max_validity_s)
    end = validity_end(validity_period, accepted_at)
    return cap if end is None else min(end, cap)


def stored_submit_fields(body: bytes) -> tuple[str, str]:
    """(service_type, validity_period) of a stored submit_sm body (SMPP 3.4 §4.4.1),
    read in place: the forwarder needs these two of every message, and decoding the
    whole PDU would cost ten times as much. ("", "") for a body too short to hold them.
    """
    try:
        nul = body.index(0)  # the end of service_type
        service = body[:nul]
        nul = body.index(0, nul + 3)  # source_addr, after its TON and NPI
        nul = body.index(0, nul + 3)  # destination_addr, after its TON and NPI
        nul = body.index(0, nul + 4)  # schedule_delivery_time, after 3 one-octet fields
        end = body.index(0, nul + 1)  # validity_period
    except ValueError:
        return "", ""
    return service.decode("latin-1"), body[nul + 1 : end].decode("latin-1")
