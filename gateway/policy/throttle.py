"""Failed-bind throttling per client address and per system_id. Pure: the caller passes
the time.

A key (a client address, or a system_id) that fails ``max_failures`` binds within
``window_s`` seconds is blocked for ``backoff_s`` seconds: its binds are answered
ESME_RBINDTHROTTLED (0x400) before any password is hashed, so a brute-force attempt costs
the gateway a dictionary lookup and cannot crowd the hashing threads that real binds need.
A success does not clear the count (an attacker holding one valid account must not be
able to reset it); old failures simply leave the window.

Memory is bounded: at most ``max_tracked`` keys are remembered; beyond that, the
entries with nothing left in their window go first, then the oldest tenth.

The same rule counts the failures of one system_id from every address (an attacker
spreading its guesses over many addresses). So that an attacker cannot lock a customer
out that way, :class:`KnownAddresses` remembers the addresses a system_id bound from
successfully lately: a blocked system_id is refused only from the others.
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
    """Counts failed binds per key (a client address, a system_id) and says which keys
    are blocked."""

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


class KnownAddresses:
    """The addresses each system_id bound from successfully within ``keep_s`` seconds.

    At most ``per_account`` addresses per system_id (the least recent goes first) and
    ``max_tracked`` system_ids (the least recently bound goes first): an account binding
    from more addresses than that loses the exemption for the oldest ones, never more.
    """

    def __init__(
        self, keep_s: float = 86_400.0, *, per_account: int = 32, max_tracked: int = 100_000
    ) -> None:
        self.keep_s = keep_s
        self.per_account = per_account
        self.max_tracked = max_tracked
        self._seen: dict[str, dict[str, float]] = {}

    def bound(self, system_id: str, address: str, now: float) -> None:
        """``address`` bound ``system_id`` with the right credentials at ``now``."""
        addresses = self._seen.pop(system_id, None)
        if addresses is None:
            while len(self._seen) >= self.max_tracked:
                del self._seen[next(iter(self._seen))]
            addresses = {}
        addresses.pop(address, None)
        addresses[address] = now  # insertion order = recency
        while len(addresses) > self.per_account:
            del addresses[next(iter(addresses))]
        self._seen[system_id] = addresses

    def known(self, system_id: str, address: str, now: float) -> bool:
        """True when ``address`` bound ``system_id`` within the last ``keep_s`` seconds."""
        addresses = self._seen.get(system_id)
        if addresses is None:
            return False
        at = addresses.get(address)
        return at is not None and now - at < self.keep_s

    def __len__(self) -> int:
        return len(self._seen)


__all__ = ["BindThrottle", "KnownAddresses", "ThrottleSettings"]
