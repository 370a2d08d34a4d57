"""Forwarding: the ledger's message rows are the outbox; this drains it upstream.

A message reaches the forwarder only after its debit committed. Workers (one per upstream
window slot) send it; on ESME_ROK the upstream id is recorded (batched writes) and
remembered for receipts. Temporary refusals (throttling, queue full, a lost link, a
timeout) are retried with backoff; a permanent refusal refunds the message (its own
journal entry) and sends the client a REJECTD receipt.

Every message belongs to the gateway that accepted it (``OutboundMessage.owner``). At
start, ``recover()`` adopts what is still ACCEPTED and ours (a restarted gateway keeps its
id) or orphaned; every ``adopt_interval`` seconds the forwarder also adopts messages of
gateways whose heartbeat stopped, so a gateway that dies for good leaves nothing behind.
A message another live gateway holds is never taken. So a message acknowledged to a client
survives ``kill -9``. Toward the upstream this is at-least-once: a crash between the
upstream's submit_sm_resp and our record of it resends that message.

Within one run a message is sent once, however it arrives: the submit path's ``enqueue``
and the sweeps bring the same rows in any order, and ``custody.Custody`` tells which
hand-over is new.

cancel_sm and replace_sm take a message back with ``withdraw`` while it has never been
handed to the upstream link (queued, or waiting for the link to come up): its worker
then skips it. ``restore`` puts it back (a replaced message with its new body, or the
old one when the ledger could not record the change); ``cancelled`` ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any, Protocol

import structlog

from gateway.delivery.custody import Custody
from gateway.observability.metrics import Metrics
from gateway.smpp import CommandStatus, SubmitSmResp
from gateway.transport.connection import ConnectionClosed, ResponseTimeout
from ledger import LedgerError, Store, UnknownMessage
from ledger.models import OutboundMessage, milli_to_credits

#: Refusals worth retrying: the SMSC is busy or briefly unwell, not refusing the message.
TEMPORARY = frozenset(
    {
        CommandStatus.ESME_RTHROTTLED,
        CommandStatus.ESME_RMSGQFUL,
        CommandStatus.ESME_RSYSERR,
        CommandStatus.ESME_RX_T_APPN,
        CommandStatus.ESME_RUNKNOWNERR,
    }
)


#: Most cancelled messages whose withdrawal marks are kept (oldest dropped first).
MAX_WITHDRAWN = 100_000


class Upstream(Protocol):
    """What the forwarder needs of the upstream link."""

    async def submit(self, body: bytes) -> SubmitSmResp:
        """Send one submit_sm body; raises ConnectionClosed / ResponseTimeout."""
        ...

    async def wait_bound(self) -> None:
        """Return once a bound link is up."""
        ...


class Receipts(Protocol):
    """What the forwarder tells the receipt side about the messages it sent."""

    def remember(self, upstream_id: str, message: OutboundMessage) -> None:
        """The upstream accepted ``message`` under ``upstream_id``."""

    async def rejected(self, message: OutboundMessage) -> None:
        """The upstream refused ``message`` for good (it is refunded)."""


class Forwarder:
    """Sends debited messages upstream, exactly as stored."""

    def __init__(
        self,
        store: Store,
        upstream: Upstream,
        receipts: Receipts,
        *,
        gateway_id: str,
        workers: int = 10,
        adopt_interval: float = 10.0,
        max_attempts: int = 10,
        retry_base: float = 0.5,
        retry_max: float = 30.0,
        metrics: Metrics | None = None,
    ) -> None:
        self.store = store
        self.upstream = upstream
        self.receipts = receipts
        self.gateway_id = gateway_id
        self.adopt_interval = adopt_interval
        self.workers = workers
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.log = structlog.get_logger("smppgw.forwarder")
        self.metrics = metrics or Metrics()
        self._queue: asyncio.Queue[tuple[OutboundMessage, int]] = asyncio.Queue()
        self._forwarded: list[tuple[str, str]] = []
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: messages taken by a worker and not finished, plus those waiting for a retry.
        self._busy = 0
        self._custody = Custody()
        self.forwarded_count = 0
        #: held messages handed to the upstream at least once in this run: never withdrawn.
        self._handed: set[str] = set()
        #: withdrawn messages whose queue entry (or waiting worker) must skip them.
        self._withdrawn: dict[str, None] = {}
        #: restored messages -> the version to send (older entries are skipped).
        self._versions: dict[str, OutboundMessage] = {}

    @property
    def backlog(self) -> int:
        """Messages waiting to be sent."""
        return self._queue.qsize()

    @property
    def held(self) -> int:
        """Messages in this forwarder's hands: queued, being sent, or awaiting a record."""
        return len(self._custody)

    def enqueue(self, message: OutboundMessage) -> None:
        """Forward a message whose debit has committed (once, if a sweep brought it too)."""
        if self._custody.take(message.message_id):
            self._queue.put_nowait((message, 1))

    def withdraw(self, message_id: str) -> bool:
        """Take back a held message never handed to the upstream; True if it will not be
        sent (until ``restore``). False: already sent, being sent, or not held here."""
        if message_id not in self._custody or message_id in self._handed:
            return False
        if message_id in self._withdrawn:
            return False  # another cancel or replace holds it already
        self._withdrawn[message_id] = None
        return True

    def restore(self, message: OutboundMessage) -> None:
        """Send ``message`` (a withdrawn one, maybe with a new body) after all."""
        self._withdrawn.pop(message.message_id, None)
        # Only this version goes out: the entry withdrawn (queued, or with a worker
        # waiting for the link) is skipped when it comes up.
        self._versions[message.message_id] = message
        self._queue.put_nowait((message, 1))

    def cancelled(self, message_id: str) -> None:
        """A withdrawn message was refunded: it is done and never sent by this run."""
        self._custody.settle((message_id,), asyncio.get_running_loop().time())
        self._versions.pop(message_id, None)
        # The mark stays (its entry may still be queued), bounded: a cancelled message
        # is REJECTED in the ledger, so no sweep brings it back once its entry is gone.
        while len(self._withdrawn) > MAX_WITHDRAWN:
            del self._withdrawn[next(iter(self._withdrawn))]

    def _skip(self, message: OutboundMessage) -> bool:
        """True for a withdrawn message, or an older version of a restored one."""
        mid = message.message_id
        if mid in self._withdrawn:
            return True
        current = self._versions.get(mid)
        return current is not None and current is not message

    def _done_with(self, message_ids: Collection[str]) -> None:
        """Outcomes recorded: forget what withdrawal kept about these messages."""
        self._handed.difference_update(message_ids)
        if self._versions:
            for mid in message_ids:
                self._versions.pop(mid, None)

    async def recover(self, *, limit: int = 10**9) -> int:
        """Adopt what the ledger holds for us (or orphaned) and queue what is new to us.

        Runs before serving, and then as the periodic adoption sweep.
        """
        with self._custody.sweep(asyncio.get_running_loop().time()) as sweep:
            adopted = await self.store.adopt_unforwarded(self.gateway_id, limit=limit)
            fresh = [m for m in adopted if sweep.take(m.message_id)]
        for m in fresh:
            self._queue.put_nowait((m.outbound(self.gateway_id), 1))
        if fresh:
            self.log.info("forwarder.recovered", messages=len(fresh))
        return len(fresh)

    async def _adopt_orphans(self) -> None:
        while True:
            await asyncio.sleep(self.adopt_interval)
            try:
                # Our own unsent rows come back too (and are skipped as held): bound the
                # read. Orphans beyond it wait while our backlog is that large, i.e. while
                # the upstream is not taking messages anyway.
                await self.recover(limit=1000)
            except LedgerError as e:
                self.log.warning("forwarder.adopt_failed", error=repr(e))

    def start(self) -> None:
        """Start the workers."""
        loop = asyncio.get_running_loop()
        for _ in range(self.workers):
            task = loop.create_task(self._worker())
            self._tasks.add(task)
        self._tasks.add(loop.create_task(self._adopt_orphans()))

    async def stop(self, *, timeout: float = 2.0) -> None:
        """Stop the workers and try once, briefly, to write what is already known.

        Never waits for a ledger that is down: what stays unrecorded is still ACCEPTED
        and is resent after restart (at-least-once toward the upstream).
        """
        for t in list(self._tasks):
            t.cancel()
        if self._flusher is not None:
            self._flusher.cancel()
        await asyncio.gather(
            *self._tasks, *([self._flusher] if self._flusher else []), return_exceptions=True
        )
        self._tasks.clear()
        if self._forwarded:
            items, self._forwarded = self._forwarded, []
            try:
                await asyncio.wait_for(self.store.mark_forwarded(items), timeout)
            except (LedgerError, TimeoutError) as e:
                self.log.warning("forward.record_failed", messages=len(items), error=repr(e))

    async def drain(self, timeout: float) -> bool:
        """Wait until the queue is empty and results are written (tests, shutdown)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._queue.empty() and self._busy == 0:
                await self._flush()
                return True
            await asyncio.sleep(0.01)
        return False

    async def _worker(self) -> None:
        while True:
            message, attempt = await self._queue.get()
            self._busy += 1
            try:
                await self._forward(message, attempt)
            except asyncio.CancelledError:
                # Still ACCEPTED in the ledger: the next start's recover() sends it.
                raise
            except Exception as e:  # a bug must not kill the worker; the row is durable
                self.log.error("forward.failed", message_id=message.message_id, error=repr(e))
                self._custody.let_go(message.message_id)  # the next adoption sweep retries it
                self._handed.discard(message.message_id)
            finally:
                self._busy -= 1

    async def _forward(self, message: OutboundMessage, attempt: int) -> None:
        log = self.log.bind(message_id=message.message_id, system_id=message.system_id)
        # Withdrawable until handed to a bound link: wait for one, then decide at once.
        await self.upstream.wait_bound()
        if self._skip(message):
            return
        self._handed.add(message.message_id)
        try:
            resp = await self.upstream.submit(message.pdu_body)
        except (ConnectionClosed, ResponseTimeout) as e:
            self._retry(message, attempt, log, reason=repr(e), count_attempt=False)
            return
        status = resp.command_status
        if status == CommandStatus.ESME_ROK:
            self.receipts.remember(resp.message_id, message)
            self._forwarded.append((message.message_id, resp.message_id))
            self.forwarded_count += 1
            if self._flusher is None or self._flusher.done():
                self._flusher = asyncio.get_running_loop().create_task(self._flush())
            log.debug("message.forwarded", upstream_id=resp.message_id)
        elif status in TEMPORARY and attempt < self.max_attempts:
            self._retry(message, attempt, log, reason=f"0x{status:x}", count_attempt=True)
        else:
            log.warning("message.rejected_upstream", status=f"0x{status:x}", attempt=attempt)
            try:
                entry = await self.store.refund(message.message_id, reason=f"upstream 0x{status:x}")
            except LedgerError as e:
                # Leave it ACCEPTED and let go of it: the next adoption sweep (or start)
                # takes it again, and the upstream's refusal is met again, then refunded.
                log.error("message.refund_failed", error=repr(e))
                self._custody.let_go(message.message_id)
                self._handed.discard(message.message_id)
                return
            self._custody.settle((message.message_id,), asyncio.get_running_loop().time())
            self._done_with((message.message_id,))
            self.metrics.refunded(entry.amount)
            log.info(
                "message.refunded",
                amount=milli_to_credits(entry.amount),
                balance_after=milli_to_credits(entry.balance_after),
            )
            try:
                await self.receipts.rejected(message)
            except LedgerError as e:
                log.error("receipt.pending_unreadable", error=repr(e))

    def _retry(
        self,
        message: OutboundMessage,
        attempt: int,
        log: Any,
        *,
        reason: str,
        count_attempt: bool,
    ) -> None:
        delay = min(self.retry_base * 2 ** (attempt - 1), self.retry_max)
        next_attempt = attempt + 1 if count_attempt else attempt
        log.info("message.retry", reason=reason, attempt=attempt, in_s=delay)
        self._busy += 1  # still ours while it waits: drain() must not report done

        def requeue() -> None:
            self._busy -= 1
            self._queue.put_nowait((message, next_attempt))

        asyncio.get_running_loop().call_later(delay, requeue)

    async def _flush(self) -> None:
        # Group the upstream-id writes: one transaction for everything forwarded meanwhile.
        while self._forwarded:
            items, self._forwarded = self._forwarded, []
            try:
                await self.store.mark_forwarded(items)
            except UnknownMessage as e:
                # Cannot happen for rows we debited; retrying would loop forever.
                self.log.error("forward.record_failed", messages=len(items), error=repr(e))
            except LedgerError as e:
                self.log.error("forward.record_failed", messages=len(items), error=repr(e))
                self._forwarded[:0] = items
                await asyncio.sleep(1.0)
                continue
            self._custody.settle([mid for mid, _ in items], asyncio.get_running_loop().time())
            self._done_with([mid for mid, _ in items])
