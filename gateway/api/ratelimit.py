"""Failed-authentication limits per client address: fixed one-minute windows, in memory.

A client address that made ``limit`` requests with a missing or bad token within a
minute of the first of them is refused (429) for the rest of that minute, whatever
token it sends, so guessing tokens runs at ``limit`` tries a minute. Successes never
count. The state is this process's: each gateway limits on its own, which bounds
guessing per gateway, and a restart forgets it; tokens have 256 random bits, so the
limit is there to keep failures cheap and visible, not to make guessing impossible.
A library (``limits``, ``slowapi``) would bring storage backends and decorators for
limiting every request; what is needed is one counter per address, kept here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

#: Seconds of one window.
WINDOW_S = 60.0
#: Addresses remembered before expired windows are dropped.
_PRUNE_AT = 10_000


@dataclass(slots=True)
class _Window:
    started: float
    failures: int


class FailureLimiter:
    """Counts authentication failures per client address."""

    def __init__(self, limit: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._windows: dict[str, _Window] = {}

    def blocked_for(self, address: str) -> int:
        """Whole seconds until ``address`` may try again; 0 when it may now."""
        w = self._windows.get(address)
        if w is None:
            return 0
        left = w.started + WINDOW_S - self._clock()
        if left <= 0:
            del self._windows[address]
            return 0
        return int(left) + 1 if w.failures >= self.limit else 0

    def failed(self, address: str) -> None:
        """Count one failure of ``address``."""
        now = self._clock()
        w = self._windows.get(address)
        if w is None or now - w.started >= WINDOW_S:
            if len(self._windows) >= _PRUNE_AT:
                self._prune(now)
            self._windows[address] = _Window(now, 1)
        else:
            w.failures += 1

    def _prune(self, now: float) -> None:
        for address in [a for a, w in self._windows.items() if now - w.started >= WINDOW_S]:
            del self._windows[address]
