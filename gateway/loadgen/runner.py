"""A whole run: connect N binds, send until the budget is spent, wait for the answers
(and receipts), unbind, and return what was counted."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.loadgen.client import BindClient, BindRefused, Shared
from gateway.loadgen.destinations import DestinationMix
from gateway.loadgen.messages import MessageMix
from gateway.loadgen.plan import BindType, Budget, LoadOptions
from gateway.loadgen.stats import RunStats
from gateway.smpp import Bind, BindReceiver, BindTransceiver, BindTransmitter

#: How often the runner looks whether the run is over and expires unanswered submits.
TICK_S = 0.05
_BIND_CLASSES: dict[BindType, type[Bind]] = {
    BindType.TX: BindTransmitter,
    BindType.TRX: BindTransceiver,
}


@dataclass
class RunResult:
    """What one run counted, and when."""

    options: LoadOptions
    stats: RunStats
    #: Seconds from the first submit sent to the last answer read (the rate's base).
    elapsed_s: float
    #: Seconds from the first connect to the last close.
    wall_s: float
    accepted_ids: list[str] = field(default_factory=list)
    #: Accepted messages whose receipt never came (receipts on).
    receipts_missing: int = 0

    @property
    def rate(self) -> float:
        """Answered submit_sm per second."""
        return self.stats.answered / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def unanswered(self) -> int:
        """Submits sent that got no answer (timeouts and those lost with a connection)."""
        return self.stats.sent - self.stats.answered

    @property
    def complete(self) -> bool:
        """Every bind bound and every submit answered (statuses aside)."""
        return self.stats.bind_failures == 0 and self.unanswered == 0


#: Called about once a second while a run sends (the progress line).
Progress = Callable[[RunStats, float], None]


async def run_load(
    options: LoadOptions, *, progress: Progress | None = None, progress_every_s: float = 1.0
) -> RunResult:
    """Run ``options`` to the end and return its counts.

    Raises ValueError for options that cannot run (``LoadOptions.problems``) and OSError
    when no connection can be made at all; a refused bind is counted, not raised.
    """
    if problems := options.problems():
        raise ValueError("; ".join(problems))
    rng = random.Random(options.seed)
    loop = asyncio.get_running_loop()
    started = time.perf_counter()
    shared = Shared(
        options=options,
        stats=RunStats(),
        budget=Budget(options, time.perf_counter()),  # set again once every bind is bound
        messages=MessageMix(options.mix, rng),
        destinations=DestinationMix(options.to, rng),
    )
    kinds = [(_BIND_CLASSES[options.bind_type], True)] * options.binds
    kinds += [(BindReceiver, False)] * options.rx_binds
    clients = await _connect(loop, shared, kinds)
    senders = [c for c in clients if c.submits]
    try:
        if senders:
            shared.budget = Budget(options, time.perf_counter())
            for client in senders:
                client.start()
            await _until_answered(shared, clients, progress, progress_every_s)
            if options.receipts:
                await _wait_receipts(shared, clients, options.receipt_wait_s)
    finally:
        for client in clients:
            client.stop_sending()
        await asyncio.gather(*(c.unbind() for c in clients))
    stats = shared.stats
    stats.timeouts += sum(len(c.outstanding) for c in clients)
    first, last = shared.first_sent, shared.last_answer
    result = RunResult(
        options=options,
        stats=stats,
        elapsed_s=max(last - first, 0.0) if first else 0.0,
        wall_s=time.perf_counter() - started,
        accepted_ids=shared.accepted_ids,
        receipts_missing=len(shared.waiting),
    )
    return result


async def _connect(
    loop: asyncio.AbstractEventLoop, shared: Shared, kinds: list[tuple[type[Bind], bool]]
) -> list[BindClient]:
    """Connect and bind every bind at once; the bound ones (failures are counted)."""
    options, stats = shared.options, shared.stats

    async def one(bind: type[Bind], submits: bool) -> BindClient | None:
        client: BindClient | None = None
        try:
            _, made = await asyncio.wait_for(
                loop.create_connection(
                    lambda: BindClient(shared, bind, submits=submits), options.host, options.port
                ),
                options.bind_timeout_s,
            )
            client = made
            await asyncio.wait_for(asyncio.shield(made.bound), options.bind_timeout_s)
        except (OSError, TimeoutError, BindRefused, ConnectionError) as e:
            stats.bind_failures += 1
            stats.bind_errors.append(f"{bind.__name__}: {_describe(e)}")
            if client is not None:
                client.close()
            return None
        stats.binds_ok += 1
        return client

    results = await asyncio.gather(*(one(b, s) for b, s in kinds))
    clients = [c for c in results if c is not None]
    if not clients and stats.bind_errors and all("connect" in e for e in stats.bind_errors):
        raise OSError(stats.bind_errors[0])
    return clients


def _describe(e: BaseException) -> str:
    if isinstance(e, BindRefused):
        return f"bind refused with {e}"
    if isinstance(e, TimeoutError):
        return "no bind_resp in time"
    if isinstance(e, OSError):
        return f"cannot connect: {e.strerror or e}"
    return str(e)


async def _until_answered(
    shared: Shared, clients: list[BindClient], progress: Progress | None, every_s: float
) -> None:
    """Until every sender has sent its share and had every answer (or lost its link)."""
    timeout, idle_s = shared.options.resp_timeout_s, shared.options.enquire_link_s
    senders = [c for c in clients if c.submits]
    next_progress = time.perf_counter() + every_s
    while True:
        await asyncio.sleep(TICK_S)
        now = time.perf_counter()
        for client in clients:
            client.keepalive(now, idle_s)
        for client in senders:
            client.expire(now, timeout)
            if not client.done_sending and shared.budget.exhausted(now):
                client.pump()  # a bind waiting on the rate learns the run is over
        if progress is not None and now >= next_progress:
            progress(shared.stats, now - (shared.first_sent or now))
            shared.stats.recent.clear()
            next_progress = now + every_s
        if all(c.lost or (c.done_sending and not c.outstanding) for c in senders):
            return


async def _wait_receipts(shared: Shared, clients: list[BindClient], wait_s: float) -> None:
    """Until every accepted message had its receipt, or ``wait_s`` without a new one."""
    idle_since, seen = time.perf_counter(), shared.stats.receipts
    while shared.waiting and not all(c.lost for c in clients):
        await asyncio.sleep(TICK_S)
        now = time.perf_counter()
        for client in clients:
            client.keepalive(now, shared.options.enquire_link_s)
        if shared.stats.receipts != seen:
            idle_since, seen = now, shared.stats.receipts
        elif now - idle_since > wait_s:
            return


__all__ = ["TICK_S", "Progress", "RunResult", "run_load"]
