"""One ledger read of an account for the binds that ask for it at the same time.

In a reconnect storm the sessions of one account bind together: without this, each of
them reads the same account row (and its allowlist and senders) on the store's thread.
A bind that asks while a read of its account is under way waits for that read instead
of starting its own. Nothing is kept once the read is answered, so a bind never sees an
account older than the reads in flight when it arrived (a few milliseconds): a change
committed before a bind arrives is seen by it, or by the read it joined at worst.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedReads(Generic[T]):
    """``read(key)`` through ``fetch``, one call per key in flight at a time."""

    def __init__(self, fetch: Callable[[str], Awaitable[T]]) -> None:
        self._fetch = fetch
        self._in_flight: dict[str, asyncio.Future[T]] = {}
        #: Reads answered from another's call (for tests and metrics).
        self.joined = 0

    async def read(self, key: str) -> T:
        """``fetch(key)``'s answer (or its exception), shared with concurrent callers."""
        future = self._in_flight.get(key)
        if future is None:
            future = asyncio.ensure_future(self._fetch(key))
            self._in_flight[key] = future
            future.add_done_callback(lambda _: self._in_flight.pop(key, None))
        else:
            self.joined += 1
        # Shielded: one caller cancelled (its client left) must not cancel the others'.
        return await asyncio.shield(future)


__all__ = ["SharedReads"]
