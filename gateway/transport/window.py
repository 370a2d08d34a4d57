"""The submit window per account: how many submits one account has in progress here.

All sessions of an account on this gateway share ``[server] account_submit_window``
slots (or the account's own ``submit_window``); a submit_sm, data_sm or submit_multi
holds one from the moment it is read until it is answered. When none is free, the mode
decides: "throttle" answers ESME_RTHROTTLED at once (nothing is checked, priced or
debited); "backpressure" holds the request until a slot frees, so the session's
unanswered requests pile up and its reading pauses (TCP backpressure, as
``max_submit_inflight`` does for one session).
"""

from __future__ import annotations

import asyncio
from collections import deque


class AccountWindow:
    """Slots per account (0 = unlimited); ``acquire`` / ``release`` around each submit."""

    def __init__(self, size: int, *, backpressure: bool) -> None:
        self.size = size
        self.backpressure = backpressure
        self._used: dict[str, int] = {}
        self._waiting: dict[str, deque[asyncio.Future[None]]] = {}

    def in_use(self, system_id: str) -> int:
        """Slots the account holds now."""
        return self._used.get(system_id, 0)

    async def acquire(self, system_id: str, size: int | None = None) -> bool:
        """Take a slot; False (throttle mode, window full) when the submit must be refused.

        ``size`` is the account's own window (``Account.submit_window``), None for the
        gateway's. In backpressure mode this waits for a slot instead and always
        returns True.
        """
        size = self.size if size is None else size
        if size <= 0:
            return True
        used = self._used.get(system_id, 0)
        if used < size:
            self._used[system_id] = used + 1
            return True
        if not self.backpressure:
            return False
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(system_id, deque()).append(fut)
        try:
            await fut  # the releaser hands its slot over: the count stays as it is
        except asyncio.CancelledError:
            if fut.done() and not fut.cancelled():
                self.release(system_id)  # handed over just as we were cancelled
            raise
        return True

    def release(self, system_id: str) -> None:
        """Give a slot back: to the first waiter, else to the pool (nothing held:
        nothing to do, the submit went through an unlimited window)."""
        waiting = self._waiting.get(system_id)
        while waiting:
            fut = waiting.popleft()
            if not fut.done():
                fut.set_result(None)
                return
        self._waiting.pop(system_id, None)
        used = self._used.get(system_id, 0) - 1
        if used > 0:
            self._used[system_id] = used
        else:
            self._used.pop(system_id, None)
