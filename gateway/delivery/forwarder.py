"""Forwarding: the ledger's message rows are the outbox; this drains it upstream.

A message reaches the forwarder only after its debit committed. Workers (one per window
slot of every upstream) send it to the first live upstream of its route
(``gateway.delivery.routing``); on ESME_ROK the upstream's name and id are recorded
(batched writes) and remembered for receipts. ESME_RTHROTTLED pauses that upstream's link
(``gateway.delivery.pacing``) and the message waits for it without counting an attempt;
other temporary refusals (queue full, system error) go to the route's next live upstream,
or are retried with backoff; a lost link or a timeout sends the message again (a
*resend*: counted, since the upstream may have it twice). A permanent refusal refunds the
message (its own journal entry) and sends the client a REJECTD receipt. A message still
unsent when its validity period (capped by ``[delivery] max_validity_s``) ends is
refunded and reported EXPIRED; one whose route has no live upstream waits, parked, until
one comes up or it expires.

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
handed to an upstream link (queued, parked, or waiting for a retry): its worker then
skips it. ``restore`` puts it back (a replaced message with its new body, or the old one
when the ledger could not record the change); ``cancelled`` ends it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import structlog

from gateway.config_delivery import DeliveryConfig
from gateway.delivery.custody import Custody
from gateway.delivery.expiry import expires_at, stored_submit_fields
from gateway.delivery.routing import RouteTable, pick, route_category
from gateway.observability.deferred import deferred
from gateway.observability.metrics import Metrics
from gateway.policy.message_state import EXPIRED_REASON
from gateway.smpp import CommandStatus, SubmitSmResp
from gateway.transport.connection import ConnectionClosed, NotSent, ResponseTimeout
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


class Link(Protocol):
    """What the forwarder needs of one upstream (``gateway.delivery.links.UpstreamLink``)."""

    name: str

    async def submit(self, body: bytes) -> SubmitSmResp:
        """Send one submit_sm body; raises NotSent / ConnectionClosed / ResponseTimeout."""
        ...

    def throttled(self) -> float:
        """The upstream answered ESME_RTHROTTLED: slow the link down."""
        ...


class Links(Protocol):
    """The upstreams by name (``gateway.delivery.links.UpstreamLinks``)."""

    @property
    def names(self) -> tuple[str, ...]:
        """Every upstream, in configuration order."""
        ...

    def is_live(self, name: str) -> bool:
        """True while upstream ``name`` has a bind up."""
        ...

    def __getitem__(self, name: str) -> Link:
        """The upstream called ``name``."""
        ...

    async def wait_change(self, timeout: float) -> None:
        """Return when a link comes up or goes down, or after ``timeout`` seconds."""


class Receipts(Protocol):
    """What the forwarder tells the receipt side about the messages it sent."""

    def remember(self, upstream: str, upstream_id: str, message: OutboundMessage) -> None:
        """The upstream named ``upstream`` accepted ``message`` under ``upstream_id``."""

    async def rejected(self, message: OutboundMessage) -> None:
        """The upstream refused ``message`` for good (it is refunded)."""

    async def expired(self, message: OutboundMessage) -> None:
        """``message`` expired before an upstream took it (it is refunded)."""


#: Seconds between two looks at the parked messages (their expiry, a live upstream).
PARK_RECHECK_S = 1.0
#: Seconds before a message its link could not even send is tried again.
NOT_SENT_PAUSE_S = 0.05


@dataclass(slots=True)
class _Item:
    """A message in the forwarder's hands and what it has been through."""

    message: OutboundMessage
    expires_at: datetime
    category: str | None
    attempt: int = 1
    #: The upstream that last refused it with a temporary error (tried last next time).
    avoid: str | None = None
    resends: int = 0


class Forwarder:
    """Sends debited messages upstream, exactly as stored."""

    def __init__(
        self,
        store: Store,
        links: Links,
        receipts: Receipts,
        *,
        gateway_id: str,
        routes: RouteTable | None = None,
        delivery: DeliveryConfig | None = None,
        workers: int = 10,
        adopt_interval: float = 10.0,
        max_attempts: int = 10,
        retry_base: float = 0.5,
        retry_max: float = 30.0,
        metrics: Metrics | None = None,
        service_types: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        #: ``[packages] service_types``: a message's category for the routes.
        self.service_types = dict(service_types or {})
        self.links = links
        self.receipts = receipts
        self.gateway_id = gateway_id
        #: Replaced whole by a reload (SIGHUP); each message reads it when it is sent.
        self.routes = routes or RouteTable([], links.names)
        self.delivery = delivery or DeliveryConfig()
        self.adopt_interval = adopt_interval
        self.workers = workers
        self.max_attempts = max_attempts
        self.retry_base = retry_base
        self.retry_max = retry_max
        self.log = structlog.get_logger("smppgw.forwarder")
        self.metrics = metrics or Metrics()
        self._queue: asyncio.Queue[_Item] = asyncio.Queue()
        #: Messages whose route has no live upstream now (see ``_unpark``).
        self._parked: list[_Item] = []
        #: upstream name -> (message id, upstream id) accepted and not yet recorded.
        self._forwarded: dict[str, list[tuple[str, str]]] = {}
        self._flusher: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        #: messages taken by a worker and not finished, plus those waiting for a retry.
        self._busy = 0
        self._custody = Custody()
        self.forwarded_count = 0
        self.resend_count = 0
        #: held messages handed to the upstream at least once in this run: never withdrawn.
        self._handed: set[str] = set()
        #: withdrawn messages whose queue entry (or waiting worker) must skip them.
        self._withdrawn: dict[str, None] = {}
        #: restored messages -> the version to send (older entries are skipped).
        self._versions: dict[str, OutboundMessage] = {}

    @property
    def backlog(self) -> int:
        """Messages waiting to be sent (queued or parked)."""
        return self._queue.qsize() + len(self._parked)

    @property
    def held(self) -> int:
        """Messages in this forwarder's hands: queued, being sent, or awaiting a record."""
        return len(self._custody)

    def enqueue(self, message: OutboundMessage) -> None:
        """Forward a message whose debit has committed (once, if a sweep brought it too)."""
        if self._custody.take(message.message_id):
            self._queue.put_nowait(self._item(message, datetime.now(UTC)))

    def withdraw(self, message_id: str) -> bool:
        """Take back a held message never handed to an upstream; True if it will not be
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
        # Only this version goes out: the entry withdrawn (queued, parked, or waiting
        # for a retry) is skipped when its turn comes.
        self._versions[message.message_id] = message
        self._queue.put_nowait(self._item(message, datetime.now(UTC)))

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

    def _item(self, message: OutboundMessage, accepted_at: datetime) -> _Item:
        if accepted_at.tzinfo is None:
            accepted_at = accepted_at.replace(tzinfo=UTC)
        service_type, validity = stored_submit_fields(message.pdu_body)
        deadline = expires_at(validity, accepted_at, self.delivery.max_validity_s)
        category = route_category(message.category, service_type, self.service_types)
        return _Item(message, deadline, category)

    async def recover(self, *, limit: int = 10**9) -> int:
        """Adopt what the ledger holds for us (or orphaned) and queue what is new to us.

        Runs before serving, and then as the periodic adoption sweep.
        """
        with self._custody.sweep(asyncio.get_running_loop().time()) as sweep:
            adopted = await self.store.adopt_unforwarded(self.gateway_id, limit=limit)
            fresh = [m for m in adopted if sweep.take(m.message_id)]
        for m in fresh:
            self._queue.put_nowait(self._item(m.outbound(self.gateway_id), m.created_at))
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
        """Start the workers, the adoption sweep and the watch over parked messages."""
        loop = asyncio.get_running_loop()
        for _ in range(self.workers):
            task = loop.create_task(self._worker())
            self._tasks.add(task)
        self._tasks.add(loop.create_task(self._adopt_orphans()))
        self._tasks.add(loop.create_task(self._unpark()))

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
        pending, self._forwarded = self._forwarded, {}
        for upstream, items in pending.items():
            try:
                await asyncio.wait_for(self.store.mark_forwarded(items, upstream=upstream), timeout)
            except (LedgerError, TimeoutError) as e:
                self.log.warning(
                    "forward.record_failed", upstream=upstream, messages=len(items), error=repr(e)
                )

    async def drain(self, timeout: float) -> bool:
        """Wait until nothing is queued, parked or in flight and results are written."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while loop.time() < deadline:
            if self._queue.empty() and self._busy == 0 and not self._parked:
                await self._flush()
                return True
            await asyncio.sleep(0.01)
        return False

    async def _worker(self) -> None:
        while True:
            item = await self._queue.get()
            self._busy += 1
            try:
                await self._forward(item)
            except asyncio.CancelledError:
                # Still ACCEPTED in the ledger: the next start's recover() sends it.
                raise
            except Exception as e:  # a bug must not kill the worker; the row is durable
                mid = item.message.message_id
                self.log.error("forward.failed", message_id=mid, error=repr(e))
                self._custody.let_go(mid)  # the next adoption sweep retries it
                self._handed.discard(mid)
            finally:
                self._busy -= 1

    async def _forward(self, item: _Item) -> None:
        message = item.message
        log = deferred(self.log, message_id=message.message_id, system_id=message.system_id)
        if self._skip(message):
            return  # withdrawn by cancel_sm / replace_sm, or an older version of it
        if datetime.now(UTC) >= item.expires_at:
            await self._expire(item, log)
            return
        name = self._pick(item)
        if name is None:
            self._parked.append(item)  # no upstream of its route is up: _unpark watches
            return
        link = self.links[name]
        # Withdrawable until handed to a live link: decided here, with no wait between.
        self._handed.add(message.message_id)
        try:
            resp = await link.submit(message.pdu_body)
        except NotSent:
            # The link went down first: another upstream, or parked. Not at once: the
            # link may not have noticed yet, and a worker must not spin on it. Never
            # written, so still withdrawable.
            self._handed.discard(message.message_id)
            self._later(item, NOT_SENT_PAUSE_S)
            return
        except (ConnectionClosed, ResponseTimeout) as e:
            # Sent, but unanswered: the upstream may have it. At-least-once: send again.
            item.resends += 1
            self.resend_count += 1
            self.metrics.upstream_resends.labels(name).inc()
            log.info("message.resend", upstream=name, reason=repr(e), resends=item.resends)
            self._retry(item, log, reason=repr(e), count_attempt=False)
            return
        status = resp.command_status
        if status == CommandStatus.ESME_ROK:
            self._accepted(item, name, resp.message_id, log)
        elif status == CommandStatus.ESME_RTHROTTLED:
            # "Slower", not "no": the link pauses and the message waits its turn on it.
            self.metrics.upstream_throttled.labels(name).inc()
            link.throttled()
            self._queue.put_nowait(item)
        elif status in TEMPORARY and item.attempt < self.max_attempts:
            item.avoid = name
            alternative = pick(self._candidates(item), self.links.is_live, avoid=name)
            if alternative is not None and alternative != name:
                log.info("message.rerouted", upstream=name, to=alternative, status=f"0x{status:x}")
                item.attempt += 1
                self._queue.put_nowait(item)
            else:
                self._retry(item, log, reason=f"0x{status:x}", count_attempt=True)
        else:
            await self._reject(item, name, status, log)

    def _candidates(self, item: _Item) -> tuple[str, ...]:
        m = item.message
        return self.routes.candidates(m.destination_addr, m.system_id, item.category)

    def _pick(self, item: _Item) -> str | None:
        return pick(self._candidates(item), self.links.is_live, avoid=item.avoid)

    def _accepted(self, item: _Item, name: str, upstream_id: str, log: Any) -> None:
        message = item.message
        self.receipts.remember(name, upstream_id, message)
        self._forwarded.setdefault(name, []).append((message.message_id, upstream_id))
        self.forwarded_count += 1
        self.metrics.forwarded(name)
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())
        log.debug("message.forwarded", upstream=name, upstream_id=upstream_id, resends=item.resends)

    async def _reject(self, item: _Item, name: str, status: int, log: Any) -> None:
        message = item.message
        log.warning(
            "message.rejected_upstream", upstream=name, status=f"0x{status:x}", attempt=item.attempt
        )
        if await self._refund(message, f"upstream {name} 0x{status:x}", log):
            try:
                await self.receipts.rejected(message)
            except LedgerError as e:
                log.error("receipt.pending_unreadable", error=repr(e))

    async def _expire(self, item: _Item, log: Any) -> None:
        message = item.message
        log.warning("message.expired", expired_at=item.expires_at.isoformat(), attempt=item.attempt)
        if await self._refund(message, EXPIRED_REASON, log):  # query_sm reads it: EXPIRED
            self.metrics.messages_expired.inc()
            try:
                await self.receipts.expired(message)
            except LedgerError as e:
                log.error("receipt.pending_unreadable", error=repr(e))

    async def _refund(self, message: OutboundMessage, reason: str, log: Any) -> bool:
        """Refund ``message`` (the ledger's own refund: its journal entry, back where the
        debit was drawn from) and settle it; False, and let go of it, if that failed."""
        try:
            entry = await self.store.refund(message.message_id, reason=reason)
        except LedgerError as e:
            # Leave it ACCEPTED and let go of it: the next adoption sweep (or start)
            # takes it again, and meets the same outcome again, then refunds it.
            log.error("message.refund_failed", error=repr(e))
            self._custody.let_go(message.message_id)
            self._handed.discard(message.message_id)
            return False
        self._custody.settle((message.message_id,), asyncio.get_running_loop().time())
        self._done_with((message.message_id,))
        self.metrics.refunded(entry.amount)
        log.info(
            "message.refunded",
            reason=reason,
            amount=milli_to_credits(entry.amount),
            balance_after=milli_to_credits(entry.balance_after),
        )
        return True

    def _retry(self, item: _Item, log: Any, *, reason: str, count_attempt: bool) -> None:
        delay = min(self.retry_base * 2 ** (item.attempt - 1), self.retry_max)
        log.info("message.retry", reason=reason, attempt=item.attempt, in_s=delay)
        if count_attempt:
            item.attempt += 1
        self._later(item, delay)

    def _later(self, item: _Item, delay: float) -> None:
        """Queue ``item`` again in ``delay`` seconds."""
        self._busy += 1  # still ours while it waits: drain() must not report done

        def requeue() -> None:
            self._busy -= 1
            self._queue.put_nowait(item)

        asyncio.get_running_loop().call_later(delay, requeue)

    async def _unpark(self) -> None:
        """Watch the parked messages: expire those past their validity, and send the
        others back to the workers as soon as an upstream of their route is live."""
        while True:
            await self.links.wait_change(PARK_RECHECK_S)
            if not self._parked:
                continue
            parked, self._parked = self._parked, []
            now = datetime.now(UTC)
            for item in parked:
                if item.expires_at <= now or self._pick(item) is not None:
                    self._queue.put_nowait(item)  # the worker expires or sends it
                else:
                    self._parked.append(item)

    async def _flush(self) -> None:
        # Group the upstream-id writes: one transaction per upstream for everything
        # forwarded meanwhile.
        while self._forwarded:
            upstream, items = self._forwarded.popitem()
            try:
                await self.store.mark_forwarded(items, upstream=upstream)
            except UnknownMessage as e:
                # Cannot happen for rows we debited; retrying would loop forever.
                self.log.error("forward.record_failed", messages=len(items), error=repr(e))
            except LedgerError as e:
                self.log.error("forward.record_failed", messages=len(items), error=repr(e))
                self._forwarded.setdefault(upstream, [])[:0] = items
                await asyncio.sleep(1.0)
                continue
            self._custody.settle([mid for mid, _ in items], asyncio.get_running_loop().time())
            self._done_with([mid for mid, _ in items])
