"""How fast one upstream may be sent to: a token bucket and the pause after throttling. Pure.

``TokenBucket`` keeps an upstream's configured rate (``[[upstreams]] throughput``): a
submit takes a token; tokens come back at ``rate`` per second up to ``burst``. With the
default burst of one, no second of sending holds more than ``rate`` + 1 submits.

``ThrottlePause`` is what an ESME_RTHROTTLED answer does to the link: it stops sending
for ``base`` seconds, doubled at each throttled answer in a row up to ``ceiling``, and back
to nothing at the next accepted submit. The refused message is sent again without
counting an attempt: the SMSC said "slower", not "no".

Neither reads a clock: callers pass ``now`` (monotonic seconds).
"""

from __future__ import annotations


class TokenBucket:
    """At most ``rate`` takes per second on average, ``burst`` at once; rate 0: no limit."""

    __slots__ = ("_at", "_tokens", "burst", "rate")

    def __init__(self, rate: float, *, burst: float = 1.0, now: float = 0.0) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self._tokens = self.burst
        self._at = now

    def take(self, now: float) -> float:
        """Take a token if one is there and return 0; else the seconds until one is.

        Nothing is taken when the answer is not 0: the caller waits and asks again.
        """
        if self.rate <= 0:
            return 0.0
        self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate


class ThrottlePause:
    """When a throttled link may send again."""

    __slots__ = ("_next", "base", "ceiling", "until")

    def __init__(self, base: float, ceiling: float) -> None:
        self.base = base
        self.ceiling = ceiling
        self._next = base
        #: Monotonic time before which the link sends nothing (0: not paused).
        self.until = 0.0

    def throttled(self, now: float) -> float:
        """The SMSC answered ESME_RTHROTTLED: pause; returns the pause in seconds."""
        pause = self._next
        self.until = max(self.until, now + pause)
        self._next = min(self._next * 2, self.ceiling)
        return pause

    def accepted(self) -> None:
        """A submit went through: the next throttling starts from ``base`` again."""
        self._next = self.base

    def wait(self, now: float) -> float:
        """Seconds to wait before sending (0: send now)."""
        return max(0.0, self.until - now)
