"""Prometheus metrics of one gateway process, served at ``/metrics`` on the API port.

Counters are incremented where the code already decides (a submit debited or refused, a
refund written, a PDU sent or received), one increment per event and never a log line
more. The counters of every message (PDUs, accepted submits, credits debited) are plain
integers rendered at scrape time by :class:`_PerMessage`: everything runs on the event
loop, so they need none of the locks ``prometheus_client``'s counters take, and cost a
dict update instead of about a microsecond each. Gauges of state the gateway already
holds (bound sessions, the upstream link) are read when Prometheus scrapes, by *probes*
the parts register, so keeping them costs the hot path nothing; what waits in the
ledger (outbox, receipts) is one read per scrape.

Every gateway exposes its own numbers (its own :class:`CollectorRegistry`, so several
gateways in one test process never mix); the ledger-wide gauges are the same on every
gateway sharing a ledger, and the dashboard takes their max, not their sum.

Names follow Prometheus' conventions: ``smppgw_`` prefix, base units (seconds, credits),
``_total`` on counters. docs/api.md lists them with the alerts worth setting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from gateway.smpp import CommandId, CommandStatus
from ledger.errors import LedgerError
from ledger.models import MILLI
from ledger.store import OutboxStore

#: Seconds: a group commit is a few milliseconds on a healthy disk, seconds when not.
COMMIT_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
#: Debits per group commit (``ledger.batch_max`` is 256 by default).
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)

#: The content type of the text exposition format ``generate_latest`` writes.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# The ``*_created`` series (a counter's start time) double every counter for nothing a
# dashboard of this gateway reads.
disable_created_metrics()  # type: ignore[no-untyped-call]

Probe = Callable[["Metrics"], None]
#: ``count(direction, command_id, command_status)``: one PDU seen on a link.
PduCount = Callable[[str, int, int], None]


def _command(command_id: int) -> str:
    try:
        return CommandId(command_id).name.lower()
    except ValueError:
        return f"0x{command_id:08x}"


def _status(status: int) -> str:
    try:
        return CommandStatus(status).name
    except ValueError:
        return f"0x{status:x}"


class _PerMessage(Collector):
    """The counters of every message, kept as plain integers, as Prometheus counters."""

    def __init__(self) -> None:
        #: (link, direction, command_id, command_status) -> PDUs.
        self.pdus: dict[tuple[str, str, int, int], int] = {}
        self.accepted = 0
        self.debited_milli = 0
        #: upstream name -> messages it accepted.
        self.forwarded: dict[str, int] = {}

    def collect(self) -> Iterator[CounterMetricFamily]:
        """The families, as ``generate_latest`` asks for them."""
        pdus = CounterMetricFamily(
            "smppgw_pdus",
            "SMPP PDUs sent and received, by link (client, upstream), command and status",
            labels=["link", "direction", "command", "status"],
        )
        for (link, direction, command_id, status), n in sorted(self.pdus.items()):
            pdus.add_metric([link, direction, _command(command_id), _status(status)], n)
        yield pdus
        yield CounterMetricFamily(
            "smppgw_submits_accepted", "submit_sm debited and answered ESME_ROK", self.accepted
        )
        yield CounterMetricFamily(
            "smppgw_credits_debited",
            "credits debited for accepted submits",
            self.debited_milli / MILLI,
        )
        forwarded = CounterMetricFamily(
            "smppgw_messages_forwarded",
            "messages an upstream accepted, by upstream",
            labels=["upstream"],
        )
        for name, n in sorted(self.forwarded.items()):
            forwarded.add_metric([name], n)
        yield forwarded


class Metrics:
    """The metrics of one gateway and the probes that refresh its gauges at scrape time."""

    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self._hot = _PerMessage()
        r.register(self._hot)
        self.submits_refused = Counter(
            "smppgw_submits_refused",
            "submit_sm answered with an error, by reason and status",
            ["reason", "status"],
            registry=r,
        )
        self.binds_refused = Counter(
            "smppgw_binds_refused",
            "binds answered with an error, by reason and status (throttled ones included)",
            ["reason", "status"],
            registry=r,
        )
        self.credits_refunded = Counter(
            "smppgw_credits_refunded",
            "credits given back for messages refused upstream",
            registry=r,
        )
        self.recharges = Counter(
            "smppgw_recharges", "auto-recharges fired by a debit of this gateway", registry=r
        )
        self.alerts = Counter(
            "smppgw_alerts",
            "low-balance alerts this gateway handled, by outcome (sent, unsent, rejected,"
            " deferred)",
            ["outcome"],
            registry=r,
        )
        self.callbacks = Counter(
            "smppgw_callbacks",
            "receipt callbacks of HTTP jobs this gateway POSTed, by outcome (sent, deferred,"
            " failed: given up)",
            ["outcome"],
            registry=r,
        )
        self.bound_sessions = Gauge(
            "smppgw_bound_sessions",
            "client sessions bound here, by bind type",
            ["bind_type"],
            registry=r,
        )
        self.upstream_bound = Gauge(
            "smppgw_upstream_bound",
            "binds up toward each upstream SMSC (0: the link is down)",
            ["upstream"],
            registry=r,
        )
        self.upstream_window = Gauge(
            "smppgw_upstream_window_in_use",
            "submits unanswered by each upstream now",
            ["upstream"],
            registry=r,
        )
        self.upstream_resends = Counter(
            "smppgw_upstream_resends",
            "submit_sm sent again after a drop or a timeout left the first unanswered"
            " (the upstream may have it twice), by upstream",
            ["upstream"],
            registry=r,
        )
        self.upstream_throttled = Counter(
            "smppgw_upstream_throttled",
            "ESME_RTHROTTLED answers, each pausing that upstream's link, by upstream",
            ["upstream"],
            registry=r,
        )
        self.mo_messages = Counter(
            "smppgw_mo_messages",
            "messages from handsets, by outcome (stored for their owner, unrouted: no owner,"
            " retried: a repeated deliver_sm stored once, unpriced: its account could not pay)",
            ["outcome"],
            registry=r,
        )
        self.messages_expired = Counter(
            "smppgw_messages_expired",
            "messages refunded because their validity ended before an upstream took them",
            registry=r,
        )
        self.ledger_up = Gauge(
            "smppgw_ledger_up", "1 when the last scrape could read the ledger", registry=r
        )
        self.outbox_depth = Gauge(
            "smppgw_outbox_messages",
            "messages debited, not yet taken upstream (ledger-wide)",
            registry=r,
        )
        self.outbox_oldest_age = Gauge(
            "smppgw_outbox_oldest_age_seconds",
            "age of the oldest of them (0: none waits)",
            registry=r,
        )
        self.receipts_pending = Gauge(
            "smppgw_receipts_pending",
            "receipts no client acknowledged yet (ledger-wide)",
            registry=r,
        )
        self.mail_outbox = Gauge(
            "smppgw_mail_outbox",
            "alert and recharge mails queued, not yet sent or settled (ledger-wide)",
            registry=r,
        )
        self.callbacks_pending = Gauge(
            "smppgw_callbacks_pending",
            "receipt callbacks of HTTP jobs not yet POSTed or given up (ledger-wide)",
            registry=r,
        )
        self.commit_seconds = Histogram(
            "smppgw_ledger_commit_seconds",
            "time of one debit group commit",
            buckets=COMMIT_BUCKETS,
            registry=r,
        )
        self.batch_size = Histogram(
            "smppgw_ledger_batch_size",
            "debits in one group commit",
            buckets=BATCH_BUCKETS,
            registry=r,
        )
        self._probes: list[Probe] = []

    # -- what the parts call ---------------------------------------------------------------
    def pdu_counter(self, link: str) -> PduCount:
        """The PDU counter of one link (called on the event loop only)."""
        pdus = self._hot.pdus

        def count(direction: str, command_id: int, status: int) -> None:
            key = (link, direction, command_id, status)
            pdus[key] = pdus.get(key, 0) + 1

        return count

    def submit_refused(self, reason: str, status: int) -> None:
        """One submit_sm refused; ``reason`` is a short fixed word, never free text."""
        self.submits_refused.labels(reason, _status(status)).inc()

    def bind_refused(self, reason: str, status: int) -> None:
        """One bind refused; ``reason`` is the decision's fixed word (``bad_password``,
        ``throttled``, ``system_id_throttled``, ``hash_queue_full`` ...)."""
        self.binds_refused.labels(reason, _status(status)).inc()

    def submit_debited(self, cost: int, recharges: int) -> None:
        """One submit_sm debited ``cost`` milli-credits, having fired ``recharges``."""
        hot = self._hot
        hot.accepted += 1
        hot.debited_milli += cost
        if recharges:
            self.recharges.inc(recharges)

    def forwarded(self, upstream: str) -> None:
        """One message accepted by ``upstream``."""
        counts = self._hot.forwarded
        counts[upstream] = counts.get(upstream, 0) + 1

    def refunded(self, amount: int) -> None:
        """A refund of ``amount`` milli-credits was written."""
        self.credits_refunded.inc(amount / MILLI)

    def alert_handled(self, outcome: str) -> None:
        """A low-balance alert was sent, left unsent, rejected, or deferred."""
        self.alerts.labels(outcome).inc()

    def callback_handled(self, outcome: str) -> None:
        """A receipt callback was POSTed, deferred after a failed attempt, or given up."""
        self.callbacks.labels(outcome).inc()

    def commit_observed(self, batch: int, seconds: float) -> None:
        """One group commit of ``batch`` debits took ``seconds``."""
        self.batch_size.observe(batch)
        self.commit_seconds.observe(seconds)

    def watch(self, probe: Probe) -> None:
        """Call ``probe(self)`` at every scrape, to set gauges from live state."""
        self._probes.append(probe)

    # -- the scrape ------------------------------------------------------------------------
    async def scrape(self, store: OutboxStore | None, now: datetime | None = None) -> bytes:
        """Refresh the gauges (probes, then the ledger's backlog) and render them all."""
        for probe in self._probes:
            probe(self)
        if store is not None:
            await self._read_backlog(store, now or datetime.now(UTC))
        return generate_latest(self.registry)

    async def _read_backlog(self, store: OutboxStore, now: datetime) -> None:
        try:
            backlog = await store.backlog()
        except LedgerError:
            # The ledger's gauges keep their last values; ledger_up says they are stale.
            self.ledger_up.set(0)
            return
        self.ledger_up.set(1)
        self.outbox_depth.set(backlog.unforwarded)
        oldest = backlog.oldest_unforwarded_at
        self.outbox_oldest_age.set(max(0.0, (now - oldest).total_seconds()) if oldest else 0.0)
        self.receipts_pending.set(backlog.receipts_pending)
        self.mail_outbox.set(backlog.mail_outbox)
        self.callbacks_pending.set(backlog.callbacks_pending)
