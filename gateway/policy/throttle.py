"""Failed-bind throttling per client address. Pure: the caller passes the time.

A client address that fails ``max_failures`` binds within ``window_s`` seconds is
blocked for ``backoff_s`` seconds: its binds are answered ESME_RBINDTHROTTLED (0x400)
before any account is read or any password hashed, so a brute-force attempt costs the
gateway a dictionary lookup and cannot crowd the hashing threads that real binds need.
A success does not clear the count (an attacker holding one valid account must not be
able to reset it); old failures simply leave the window.

Memory is bounded: at most ``max_tracked`` addresses are remembered; beyond that, the
entries with nothing left in their window go first, then the oldest tenth.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class ThrottleSettings:
    """The limits (``[server] bind_*`` keys); ``max_failures`` 0 turns throttling off."""

    max_failures: int = 5
    window_s: float = 60.0
    backoff_s: float = 60.0
    max_tracked: int = 100_000


@dataclass(slots=True)
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class BindThrottle:
    """Counts failed binds per client address and says which addresses are blocked."""

    def __init__(self, settings: ThrottleSettings | None = None) -> None:
        self.settings = settings or ThrottleSettings()
        self._entries: dict[str, _Entry] = {}

    @property
    def enabled(self) -> bool:
        """False when ``max_failures`` is 0."""
        return self.settings.max_failures > 0

    def blocked_for(self, address: str, now: float) -> float:
        """Seconds ``address`` stays blocked from ``now`` (0.0 = not blocked)."""
        entry = self._entries.get(address)
        if entry is None or entry.blocked_until <= now:
            return 0.0
        return entry.blocked_until - now

    def failed(self, address: str, now: float) -> bool:
        """Record a failed bind from ``address`` at ``now``; True when this one blocks it
        (the ``max_failures``-th within the window)."""
        if not self.enabled:
            return False
        s = self.settings
        entry = self._entries.get(address)
        if entry is None:
            self._make_room(now)
            entry = self._entries[address] = _Entry()
        failures = entry.failures
        failures.append(now)
        while failures and failures[0] <= now - s.window_s:
            failures.popleft()
        if len(failures) >= s.max_failures:
            entry.blocked_until = now + s.backoff_s
            failures.clear()  # a fresh count once the back-off is over
            return True
        return False

    def tracked(self) -> int:
        """How many addresses are remembered now (for tests and metrics)."""
        return len(self._entries)

    def _make_room(self, now: float) -> None:
        if len(self._entries) < self.settings.max_tracked:
            return
        horizon = now - self.settings.window_s
        for address, entry in list(self._entries.items()):
            if entry.blocked_until <= now and (not entry.failures or entry.failures[-1] <= horizon):
                del self._entries[address]
        # Still full (many addresses failing at once, IPv6): drop the oldest tenth, so
        # the scan above runs once per max_tracked / 10 new addresses, not once each.
        keep = self.settings.max_tracked - max(1, self.settings.max_tracked // 10)
        while len(self._entries) > keep:
            del self._entries[next(iter(self._entries))]


__all__ = ["BindThrottle", "ThrottleSettings"]
