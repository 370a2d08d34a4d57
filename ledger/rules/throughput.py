"""Per-account throughput: a token bucket kept on the account row.

Every gateway sharing the database draws from one bucket under the same lock as the
balance: capacity = throughput (one second of burst), refilled at throughput tokens per
second of the injected clock, one token per accepted debit. Tokens are counted in
micro-tokens (:data:`TOKEN` per message): the refill is then ``elapsed microseconds x
throughput``, an exact integer at the clocks' microsecond resolution, so no rounding ever
leaks or invents capacity. A debit that finds no token is THROTTLED, and only a debit
that would otherwise have been accepted: nothing is written for it, the bucket included
(a refill is a pure function of time, so not storing it loses nothing).
"""

from __future__ import annotations

from datetime import datetime, timedelta

#: Micro-tokens one message takes from its account's throughput bucket.
TOKEN = 1_000_000
_MICROSECOND = timedelta(microseconds=1)


def available_tokens(
    throughput: int, tokens: int, updated_at: datetime | None, now: datetime
) -> int:
    """Micro-tokens in an account's bucket at ``now``.

    ``tokens`` were there at ``updated_at`` (``None``: never used, so full). The bucket
    holds at most ``throughput`` tokens and refills ``throughput`` micro-tokens per
    microsecond. A clock that went backwards (another host's, NTP) refills nothing.
    """
    capacity = throughput * TOKEN
    if updated_at is None:
        return capacity
    elapsed_us = max(0, (now - updated_at) // _MICROSECOND)
    return min(capacity, tokens + elapsed_us * throughput)


def refilled_at(updated_at: datetime | None, now: datetime) -> datetime:
    """The bucket's new timestamp once refilled to ``now``: never moved back in time."""
    if updated_at is None or now > updated_at:
        return now
    return updated_at
