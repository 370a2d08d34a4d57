"""What a run does (``LoadOptions``) and how much it may still send (``Budget``). Pure."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from gateway.delivery.pacing import TokenBucket
from gateway.loadgen.messages import Kind

#: The share of a second of sending a paced run may send at once: the event loop's
#: timers fire about every millisecond, so a burst of one would cap the rate near 1,000/s.
BURST_S = 0.01


class BindType(StrEnum):
    """How the submitting binds bind (receivers are extra, ``rx_binds``)."""

    TX = "tx"
    TRX = "trx"


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """One run: where, as whom, how many binds and messages, how fast, which mix.

    ``count`` is submit_sm PDUs (a long message is several); a long message begun before
    the budget ran out is finished, so a run may send up to ``parts - 1`` more per bind.
    ``duration_s`` replaces ``count`` when set. ``rate`` is submit_sm per second over all
    binds, 0 for as fast as the windows allow.
    """

    host: str
    port: int
    system_id: str
    password: str
    system_type: str = ""
    bind_type: BindType = BindType.TRX
    binds: int = 1
    rx_binds: int = 0
    window: int = 10
    rate: float = 0.0
    count: int = 10_000
    duration_s: float | None = None
    receipts: bool = False
    receipt_wait_s: float = 10.0
    resp_timeout_s: float = 30.0
    bind_timeout_s: float = 10.0
    #: A bind that wrote nothing for this long sends enquire_link (servers drop idle binds).
    enquire_link_s: float = 30.0
    mix: dict[Kind, int] = field(default_factory=lambda: {Kind.GSM7: 1})
    to: dict[str, int] = field(default_factory=lambda: {"FR": 1})
    source_ton: int = 5
    source_npi: int = 0
    source_addr: str = "SMPPGW"
    seed: int | None = None
    #: Keep the message ids of accepted submits (the ledger check needs them).
    keep_ids: bool = False

    def problems(self) -> list[str]:
        """What is wrong with these options (empty when they can run)."""
        wrong = []
        if not 0 < self.port < 65536:
            wrong.append(f"port {self.port} is not 1-65535")
        if self.binds < 1:
            wrong.append("--binds must be at least 1")
        if self.rx_binds < 0:
            wrong.append("--rx-binds cannot be negative")
        if self.window < 1:
            wrong.append("--window must be at least 1")
        if self.rate < 0:
            wrong.append("--rate cannot be negative")
        if self.duration_s is None and self.count < 1:
            wrong.append("--count must be at least 1")
        if self.duration_s is not None and self.duration_s <= 0:
            wrong.append("--duration must be positive")
        if self.receipts and self.bind_type is BindType.TX and self.rx_binds == 0:
            wrong.append("--receipts with --bind-type tx needs --rx-binds N (a receiver)")
        return wrong


class Budget:
    """The messages every bind draws from: a count or a duration, at a rate.

    ``take(now)``: 0.0 to send one now, a positive number of seconds to wait before
    asking again (the rate), or None when the run sends no more. A part continuing a
    long message asks with ``more=True``: only the rate applies to it.
    """

    __slots__ = ("_bucket", "count", "deadline", "sent", "started")

    def __init__(self, options: LoadOptions, now: float) -> None:
        self.started = now
        self.sent = 0
        self.count = None if options.duration_s is not None else options.count
        self.deadline = None if options.duration_s is None else now + options.duration_s
        rate = options.rate
        self._bucket = TokenBucket(rate, burst=max(1.0, rate * BURST_S), now=now) if rate else None

    def exhausted(self, now: float) -> bool:
        """True once no new message may start."""
        if self.count is not None:
            return self.sent >= self.count
        return self.deadline is not None and now >= self.deadline

    def take(self, now: float, *, more: bool = False) -> float | None:
        """Room for one submit_sm (see the class docstring)."""
        if not more and self.exhausted(now):
            return None
        if self._bucket is not None:
            wait = self._bucket.take(now)
            if wait > 0:
                return wait
        self.sent += 1
        return 0.0


__all__ = ["BURST_S", "BindType", "Budget", "LoadOptions"]
