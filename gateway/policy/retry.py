"""Asking the ledger again when it could not say whether a write committed.

A write whose COMMIT's outcome is unknown (the link broke during it) may have landed.
Every ledger write the policy makes carries an idempotency key, so the same call can
simply be made again: a write that had landed answers its first result (DUPLICATE, or
the entry it wrote), one that had not is made now. This is the one loop that does it,
for submits, submit_multi, refunds and repricings alike.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from ledger import LedgerUnavailable

T = TypeVar("T")

#: Attempts in all (the first included) before an unknown outcome is given up on.
UNKNOWN_OUTCOME_RETRIES = 4
#: The wait after the first attempt; it doubles after each.
FIRST_DELAY_S = 0.1


async def until_decided(call: Callable[[], Awaitable[T]], *, attempt: int = 1) -> T:
    """``await call()``, made again with the same key while its outcome is unknown
    (``LedgerUnavailable.outcome_unknown``), waiting 0.1, 0.2, 0.4 s in between; any
    other error, or the last unknown outcome, is raised. ``attempt`` > 1 continues a
    caller's own attempts: it waits the pause that followed the one before, first."""
    delay = FIRST_DELAY_S * 2 ** (attempt - 1)
    if attempt > 1:
        await asyncio.sleep(delay / 2)
    for n in range(attempt, UNKNOWN_OUTCOME_RETRIES + 1):
        try:
            return await call()
        except LedgerUnavailable as e:
            if not e.outcome_unknown or n == UNKNOWN_OUTCOME_RETRIES:
                raise
        await asyncio.sleep(delay)
        delay *= 2
    raise AssertionError("unreachable")
