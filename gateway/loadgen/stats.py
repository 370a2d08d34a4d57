"""What a run counts: latencies in a histogram, statuses, receipts. Pure.

``LatencyHistogram`` keeps counts in logarithmic buckets (32 per doubling, so a
percentile is within ~2.2 % of the exact value) instead of every sample: a run of
millions of messages needs a few kilobytes, adding a sample is one ``log2`` and an
index, and the progress line can read percentiles of the last second from a second
histogram that is cleared at every line.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

from gateway.smpp import CommandStatus

#: Buckets per doubling of the latency.
SUB_BUCKETS = 32
#: Latencies are bucketed in microseconds up to 2**27 us (134 s); longer is the last.
_MAX_EXPONENT = 27
_BUCKETS = SUB_BUCKETS * _MAX_EXPONENT + 1


class LatencyHistogram:
    """Counts of latencies (seconds in, milliseconds out) with percentiles."""

    __slots__ = ("_counts", "count", "max_s", "min_s", "total_s")

    def __init__(self) -> None:
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total_s = 0.0
        self.min_s = math.inf
        self.max_s = 0.0

    def add(self, seconds: float) -> None:
        """Count one latency."""
        us = seconds * 1e6
        index = int(math.log2(us) * SUB_BUCKETS) if us > 1.0 else 0
        self._counts[index if index < _BUCKETS else _BUCKETS - 1] += 1
        self.count += 1
        self.total_s += seconds
        if seconds > self.max_s:
            self.max_s = seconds
        if seconds < self.min_s:
            self.min_s = seconds

    def merge(self, other: LatencyHistogram) -> None:
        """Add every count of ``other``."""
        for i, n in enumerate(other._counts):
            if n:
                self._counts[i] += n
        self.count += other.count
        self.total_s += other.total_s
        self.max_s = max(self.max_s, other.max_s)
        self.min_s = min(self.min_s, other.min_s)

    def clear(self) -> None:
        """Forget every sample."""
        self._counts = [0] * _BUCKETS
        self.count = 0
        self.total_s = 0.0
        self.min_s = math.inf
        self.max_s = 0.0

    def percentile_ms(self, p: float) -> float | None:
        """The latency under which ``p`` percent of the samples fall, in milliseconds
        (the geometric middle of its bucket, clamped to the exact min and max); None
        without samples."""
        if not self.count:
            return None
        rank = max(1, math.ceil(p / 100 * self.count))
        seen = 0
        for index, n in enumerate(self._counts):
            seen += n
            if seen >= rank and index == _BUCKETS - 1:
                break  # the overflow bucket has no middle: its samples are up to max
            if seen >= rank:
                middle_us = 2 ** ((index + 0.5) / SUB_BUCKETS)
                value_s = min(max(middle_us / 1e6, self.min_s), self.max_s)
                return round(value_s * 1e3, 3)
        return round(self.max_s * 1e3, 3)

    def mean_ms(self) -> float | None:
        """The mean latency in milliseconds; None without samples."""
        return round(self.total_s / self.count * 1e3, 3) if self.count else None


def status_name(status: int) -> str:
    """``ESME_ROK``, ``ESME_RTHROTTLED`` ... or ``0x0000abcd`` for a status we do not name."""
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:08x}"


@dataclass
class RunStats:
    """Every count of one run, updated by the binds as answers arrive."""

    sent: int = 0
    answered: int = 0
    accepted: int = 0
    timeouts: int = 0
    by_status: Counter[int] = field(default_factory=Counter)
    receipts: int = 0
    receipts_matched: int = 0
    receipts_by_stat: Counter[str] = field(default_factory=Counter)
    mo: int = 0
    binds_ok: int = 0
    bind_failures: int = 0
    bind_errors: list[str] = field(default_factory=list)
    #: Each bind that ended before the run did (the server closed it, or unbound us).
    disconnects: int = 0
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)
    #: Latencies since the last progress line (cleared by it).
    recent: LatencyHistogram = field(default_factory=LatencyHistogram)

    def answer(self, status: int, seconds: float) -> None:
        """Count one submit_sm_resp (or generic_nack) and its latency."""
        self.answered += 1
        self.by_status[status] += 1
        if status == 0:
            self.accepted += 1
        self.latency.add(seconds)
        self.recent.add(seconds)

    def statuses(self) -> dict[str, int]:
        """Answers by status name, most frequent first."""
        return {status_name(s): n for s, n in self.by_status.most_common()}


__all__ = ["SUB_BUCKETS", "LatencyHistogram", "RunStats", "status_name"]
