"""Wires the gateway together: ``Gateway`` for tests and embedding, ``serve`` for the CLI.

Start order matters: the listening sockets are bound first (a second instance with the
same identity fails there, before it touches shared state), then the gateway registers
in the ledger, the simulator (if configured) and the receipt side start, the upstream
link starts, the forwarder re-queues what a previous run left unforwarded, then the
server accepts ESMEs, and last the management API (when ``[api]`` enables it) starts
answering, so its readiness is never asked of a half-started gateway. Every part is
entered on one ``AsyncExitStack``, so stop (and a start that fails half-way) unwinds in
the reverse order: the API stops, the server stops accepting and answers the submits in
flight, the forwarder drains while the upstream is still up, and the ledger closes
last. No acknowledged message is dropped on the floor: it is either forwarded or still
ACCEPTED in the ledger for the next start."""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace
from functools import partial
from typing import TYPE_CHECKING, Any

import structlog

from gateway.admin.demo import ensure_demo_account
from gateway.config import (
    Config,
    ConfigError,
    UpstreamConfig,
    exposed_ledger_files,
    load_config,
    world_readable_secrets,
)
from gateway.config_delivery import links
from gateway.delivery.dispatch import ReceiptDispatcher
from gateway.delivery.forwarder import Forwarder
from gateway.delivery.intake import ReceiptIntake
from gateway.delivery.links import UpstreamLinks
from gateway.delivery.mo import MoDispatcher, MoIntake
from gateway.delivery.registry import BindRegistry
from gateway.delivery.routing import Route, RouteTable
from gateway.observability.logs import configure_logging
from gateway.observability.metrics import Metrics
from gateway.package_sweep import package_expiry
from gateway.policy.bind import BindPolicy
from gateway.policy.ids import MessageIdGenerator
from gateway.policy.messages import MessageOperations
from gateway.policy.multi import MultiSubmitter
from gateway.policy.submit import Submitter
from gateway.policy.tariff import Tariff
from gateway.policy.throttle import ThrottleSettings
from gateway.simulator import UpstreamSimulator
from gateway.smpp import State
from gateway.transport.server import ServerServices, SmppServer
from ledger import LedgerError, Store, open_store
from ledger.batcher import DebitBatcher

if TYPE_CHECKING:  # the API (FastAPI, uvicorn) loads only when enabled
    from gateway.api.server import ApiServer

#: Seconds between heartbeats; the ledger drops a gateway's binds after 30 s of silence.
HEARTBEAT_INTERVAL = 5.0
#: Seconds the forwarder may take at stop to send what is queued and record it.
FORWARDER_DRAIN_S = 2.0
#: The bind type each bound session state stands for (metrics).
_BIND_TYPES = {State.BOUND_TX: "tx", State.BOUND_RX: "rx", State.BOUND_TRX: "trx"}
#: Seconds between history retention sweeps (``[ledger] history_retention_days``).
HISTORY_SWEEP_INTERVAL = 3600.0
#: Seconds between two rounds of the low-balance alert task (scan, then mail).
ALERT_INTERVAL = 5.0


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where a started gateway listens."""

    port: int
    tls_port: int | None
    #: The upstreams, as "name=host:port" joined by ", ".
    upstream: str
    simulator_port: int | None
    #: The management API's port; None when ``[api]`` is not enabled.
    api_port: int | None = None


@dataclass(frozen=True, slots=True)
class Running:
    """The parts of a started gateway that tests and embedders reach."""

    store: Store
    gateway_id: str
    endpoints: Endpoints
    upstream: UpstreamLinks
    forwarder: Forwarder
    simulator: UpstreamSimulator | None
    metrics: Metrics
    server: SmppServer
    submitter: Submitter
    #: The management API's HTTP server; None when ``[api]`` is not enabled.
    api: ApiServer | None = None


class Gateway:
    """One gateway process's worth of parts, startable and stoppable in-process."""

    def __init__(self, config: Config, *, store: Store | None = None) -> None:
        self.config = config
        self.log = structlog.get_logger("smppgw")
        #: A store the caller owns (tests); None: open ``ledger.url``, close it at stop.
        self._given_store = store
        self._stack: AsyncExitStack | None = None
        self.running: Running | None = None
        #: This gateway's metrics (its own registry), served at /metrics by the API.
        self.metrics = Metrics()

    @property
    def endpoints(self) -> Endpoints:
        """Where this started gateway listens."""
        return self._running().endpoints

    @property
    def upstream(self) -> UpstreamLinks:
        """The links to the upstream SMSCs."""
        return self._running().upstream

    @property
    def forwarder(self) -> Forwarder:
        """The outbox forwarder."""
        return self._running().forwarder

    @property
    def simulator(self) -> UpstreamSimulator | None:
        """The built-in SMSC, when the configuration enables it."""
        return self._running().simulator

    def _running(self) -> Running:
        if self.running is None:
            raise RuntimeError("the gateway is not started")
        return self.running

    async def start(self) -> Endpoints:
        """Listen, claim our identity, recover, connect upstream, then accept clients."""
        async with AsyncExitStack() as stack:
            running = await self._start(stack)
            self._stack = stack.pop_all()
        self.running = running
        c = self.config
        self.log.info(
            "gateway.started",
            gateway_id=running.gateway_id,
            host=c.server.host,
            port=running.endpoints.port,
            tls_port=running.endpoints.tls_port,
            ledger=c.ledger.url.split(":", 1)[0],
            upstream=running.endpoints.upstream,
        )
        return running.endpoints

    async def _start(self, stack: AsyncExitStack) -> Running:
        """Start every part in order, each entered on ``stack`` to be stopped in reverse."""
        c = self.config
        exposed = world_readable_secrets(c)
        if exposed is not None:
            mode, keys = exposed
            self.log.warning(
                "config.secret_world_readable", path=str(c.source), mode=f"{mode:04o}", keys=keys
            )
        store = await self._open_store(stack)
        tariff = Tariff.load(c.pricing.tariff)
        metrics = self.metrics

        server = SmppServer(c.server, metrics)
        stack.push_async_callback(server.close)
        port, tls_port = await server.listen()
        gateway_id = c.server.gateway_id or f"{socket.gethostname()}:{port}"
        await stack.enter_async_context(
            membership(store, gateway_id, address=f"{c.server.host}:{port}")
        )
        if c.ledger.history_retention_days > 0:
            await stack.enter_async_context(
                history_retention(store, c.ledger.history_retention_days)
            )
        await stack.enter_async_context(_alerts(c, store, gateway_id, metrics))
        await stack.enter_async_context(package_expiry(store, interval=c.packages.sweep_interval_s))
        await stack.enter_async_context(_callbacks(store, gateway_id, metrics))
        simulator, upstream_configs = await self._start_simulator(stack)

        registry = BindRegistry()
        metrics.watch(partial(_count_sessions, registry))
        receipts = ReceiptDispatcher(
            store, registry, gateway_id=gateway_id, stuck_after=c.server.receiver_max_unanswered
        )
        receipts.start()
        stack.push_async_callback(receipts.stop)
        stop_listening = await store.listen_receipts(receipts.on_notify)
        if stop_listening is not None:
            stack.push_async_callback(stop_listening)
        mo = MoDispatcher(
            store,
            registry,
            gateway_id=gateway_id,
            max_age=c.delivery.mo_max_age_s,
            stuck_after=c.server.receiver_max_unanswered,
            price=c.delivery.mo_price,
            retry_window=c.delivery.mo_retry_window_s,
            retry_interval=c.delivery.mo_sweep_s,
        )
        mo.start()
        stack.push_async_callback(mo.stop)
        stop_listening_mo = await store.listen_mo(mo.on_notify)
        if stop_listening_mo is not None:
            stack.push_async_callback(stop_listening_mo)
        intake = ReceiptIntake(
            store,
            receipts,
            undelivered_refund=c.delivery.undelivered_refund,
            mo=MoIntake(store, mo, metrics=metrics),
            receipt_ids={u.name: u.receipt_ids for u in upstream_configs},
        )

        upstream = UpstreamLinks.connect(
            upstream_configs,
            lambda name: partial(intake.on_upstream_deliver, upstream=name),
            delivery=c.delivery,
            pdu_count=metrics.pdu_counter("upstream"),
        )
        upstream.start()
        stack.push_async_callback(upstream.stop)
        metrics.watch(partial(_upstream_state, upstream))
        forwarder = Forwarder(
            store,
            upstream,
            intake,
            gateway_id=gateway_id,
            routes=route_table(c, upstream.names),
            delivery=c.delivery,
            service_types=c.packages.service_types,
            # One worker per window slot of every bind: each upstream can be kept full.
            workers=sum(u.window * u.binds for u in upstream_configs),
            metrics=metrics,
        )
        await forwarder.recover()
        forwarder.start()
        stack.push_async_callback(_drain_and_stop, forwarder)

        batcher = DebitBatcher(store, max_batch=c.ledger.batch_max, observe=metrics.commit_observed)
        stack.push_async_callback(batcher.close)
        throttle = ThrottleSettings(
            max_failures=c.server.bind_max_failures,
            window_s=c.server.bind_failure_window_s,
            backoff_s=c.server.bind_backoff_s,
        )
        binds = BindPolicy(
            store,
            gateway_id=gateway_id,
            throttle=throttle,
            system_id_throttle=ThrottleSettings(
                max_failures=c.server.bind_system_id_max_failures,
                window_s=c.server.bind_system_id_window_s,
                backoff_s=c.server.bind_system_id_backoff_s,
            ),
            known_address_s=c.server.bind_known_address_s,
            hashes_per_address=c.server.bind_hashes_per_address,
            refused=metrics.bind_refused,
            uniform_refusals=c.server.uniform_bind_refusals,
        )
        stack.callback(binds.close)
        # Unwound first: the claims and releases still queued commit before the store closes.
        stack.push_async_callback(binds.batcher.close)
        submitter = Submitter(
            tariff,
            batcher,
            forwarder,
            MessageIdGenerator(),
            gateway_id=gateway_id,
            destination_check=c.pricing.destination_check,
            max_parts=c.pricing.max_parts,
            metrics=metrics,
            service_types=c.packages.service_types,
        )
        await server.serve(
            ServerServices(
                store=store,
                binds=binds,
                submitter=submitter,
                registry=registry,
                receipts=receipts,
                mo=mo,
                messages=MessageOperations(submitter, store, forwarder, gateway_id=gateway_id),
                multi=MultiSubmitter(submitter, store),
            )
        )
        stack.push_async_callback(server.stop)
        api = await self._start_api(stack, store, upstream, simulator is not None, submitter)
        endpoints = Endpoints(
            port=port,
            tls_port=tls_port,
            upstream=", ".join(f"{u.name}={u.host}:{u.port}" for u in upstream_configs),
            simulator_port=simulator.port if simulator else None,
            api_port=api.port if api is not None else None,
        )
        return Running(
            store,
            gateway_id,
            endpoints,
            upstream,
            forwarder,
            simulator,
            metrics,
            server,
            submitter,
            api,
        )

    async def _start_api(
        self,
        stack: AsyncExitStack,
        store: Store,
        upstream: UpstreamLinks,
        simulated: bool,
        submitter: Submitter,
    ) -> ApiServer | None:
        """Serve the management API if ``[api]`` enables it; its server, or None."""
        c = self.config
        if not c.api.enabled:
            return None
        # Imported here: a gateway without the API never loads FastAPI and uvicorn.
        from gateway.api.app import create_app
        from gateway.api.context import ApiContext
        from gateway.api.ratelimit import FailureLimiter
        from gateway.api.server import ApiServer
        from gateway.mail.sender import Mailer

        ctx = ApiContext(
            config=c.api,
            store=store,
            metrics=self.metrics,
            limiter=FailureLimiter(c.api.auth_failures_per_minute),
            mailer=Mailer.from_config(c),
            upstream_ready=lambda: simulated or upstream.any_live,
            # HTTP sends go through the very submit path SMPP submits take.
            submitter=submitter,
            package_validity_months=c.packages.validity_months,
        )
        api = ApiServer(c.api, create_app(ctx))
        port = await api.start()
        stack.push_async_callback(api.stop)
        self.log.info("api.started", host=c.api.host, port=port, scheme=api.scheme)
        return api

    async def _open_store(self, stack: AsyncExitStack) -> Store:
        """The caller's store, or ``ledger.url`` opened, migrated, and closed last."""
        if self._given_store is not None:
            return self._given_store
        store = await open_store(self.config.ledger.url, limits=self.config.ledger.limits())
        stack.push_async_callback(store.close)
        for path, mode in exposed_ledger_files(self.config.ledger.url):
            self.log.warning(
                "ledger.file_exposed", path=str(path), mode=f"{mode:04o}", expected="0600"
            )
        applied = await store.upgrade()
        if applied:
            self.log.info("ledger.migrated", applied=applied)
        return store

    async def _start_simulator(
        self, stack: AsyncExitStack
    ) -> tuple[UpstreamSimulator | None, list[UpstreamConfig]]:
        """Start the built-in SMSC if configured; returns it and the upstreams to bind to.

        The simulator stands in for ``[upstream]`` (the configuration refuses it with
        ``[[upstreams]]``).
        """
        c = self.config
        if not c.simulator.enabled:
            return None, c.links()
        simulator = UpstreamSimulator.from_config(c.simulator)
        await simulator.start()
        stack.push_async_callback(simulator.stop)
        self.log.warning(
            "simulator.in_use",
            port=simulator.port,
            note="built-in upstream SMSC simulator: no message reaches a handset",
        )
        [default] = links(c.upstream, ())
        return simulator, [replace(default, host=c.simulator.host, port=simulator.port)]

    def reload(self) -> None:
        """What SIGHUP does: the routes, the tariff, the log level and the TLS pairs again.

        The config file is read again (a gateway started from a file); its
        ``[[routes]]``, ``pricing.tariff`` and ``[logging]`` replace those in use, for
        the next message. Bound sessions keep going. A file that does not load, routes
        naming an upstream this gateway is not connected to (upstreams change with a
        restart), or a tariff that does not load leave everything as it was, logged as
        ``config.reload_failed``. Then the TLS certificates and keys are loaded again,
        the SMPP listener's and the API's (each on its own: one failing leaves the
        other); open connections keep going, and a pair that cannot be loaded is logged
        while the old one keeps serving.
        """
        self._reload_config()
        running = self._running()
        c = self.config
        try:
            if running.server.reload_tls():
                self.log.info(
                    "tls.reloaded",
                    listener="smpp",
                    cert=str(c.server.tls_cert),
                    tls_port=running.endpoints.tls_port,
                )
        except (OSError, ssl.SSLError) as e:
            self.log.error(
                "tls.reload_failed", listener="smpp", cert=str(c.server.tls_cert), error=repr(e)
            )
        if running.api is None:
            return
        try:
            if running.api.reload_tls():
                self.log.info(
                    "tls.reloaded",
                    listener="api",
                    cert=str(c.api.tls_cert),
                    api_port=running.endpoints.api_port,
                )
        except (OSError, ssl.SSLError) as e:
            self.log.error(
                "tls.reload_failed", listener="api", cert=str(c.api.tls_cert), error=repr(e)
            )

    def _reload_config(self) -> None:
        running = self._running()
        source = self.config.source
        if source is None:
            return  # built in code (tests, embedding): nothing to read again
        try:
            fresh = load_config(source)
            table = route_table(fresh, running.upstream.names)
            tariff = Tariff.load(fresh.pricing.tariff)
        except (ConfigError, ValueError, OSError) as e:
            self.log.error("config.reload_failed", path=str(source), error=str(e))
            return
        running.forwarder.routes = table
        running.submitter.tariff = tariff
        configure_logging(fresh.logging.level, fresh.logging.format)
        self.config = replace(
            self.config, routes=fresh.routes, pricing=fresh.pricing, logging=fresh.logging
        )
        self.log.info(
            "config.reloaded", path=str(source), routes=len(fresh.routes), level=fresh.logging.level
        )

    async def stop(self) -> None:
        """Stop accepting, finish in-flight submits, stop forwarding, close the ledger."""
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()
        self.log.info("gateway.stopped")


@asynccontextmanager
async def membership(store: Store, gateway_id: str, *, address: str) -> AsyncIterator[None]:
    """Take our place among the gateways sharing the ledger, heartbeating until exit.

    The id is stable across restarts (host and port unless configured), so what a
    previous run of this instance left behind is ours again at once: its binds are
    dropped (those sessions died with it) and its unsent messages are adopted.
    """
    log = structlog.get_logger("smppgw")
    await store.unregister_gateway(gateway_id)
    await store.register_gateway(gateway_id, address=address)
    beat = asyncio.get_running_loop().create_task(_beat(store, gateway_id))
    try:
        yield
    finally:
        beat.cancel()
        await asyncio.gather(beat, return_exceptions=True)
        try:
            await store.unregister_gateway(gateway_id)
        except LedgerError as e:
            log.warning("gateway.unregister_failed", error=repr(e))


async def _beat(store: Store, gateway_id: str) -> None:
    log = structlog.get_logger("smppgw")
    while True:
        await asyncio.sleep(HEARTBEAT_INTERVAL)
        try:
            await store.heartbeat(gateway_id)
        except LedgerError as e:
            log.warning("gateway.heartbeat_failed", error=repr(e))


def _count_sessions(registry: BindRegistry, metrics: Metrics) -> None:
    """Probe: bound client sessions by bind type."""
    counts = registry.sessions_by_state()
    for state, kind in _BIND_TYPES.items():
        metrics.bound_sessions.labels(kind).set(counts.get(state, 0))


def _upstream_state(upstreams: UpstreamLinks, metrics: Metrics) -> None:
    """Probe: each upstream's binds up and the window it uses."""
    for link in upstreams:
        metrics.upstream_bound.labels(link.name).set(sum(c.bound for c in link.clients))
        metrics.upstream_window.labels(link.name).set(link.window_in_use)


def route_table(config: Config, upstreams: tuple[str, ...]) -> RouteTable:
    """The routing rule's table for ``config``'s ``[[routes]]`` over these upstreams.

    Raises ValueError when a route names an upstream that is not among them.
    """
    routes = [
        Route(r.prefix, r.upstreams, account=r.account, category=r.category) for r in config.routes
    ]
    for r in routes:
        unknown = [name for name in r.upstreams if name not in upstreams]
        if unknown:
            raise ValueError(f"route {r.prefix or '(any)'}: no upstream is named {unknown[0]!r}")
    return RouteTable(routes, upstreams)


@asynccontextmanager
async def history_retention(
    store: Store, retention_days: int, *, interval: float = HISTORY_SWEEP_INTERVAL
) -> AsyncIterator[None]:
    """Prune the message history now and every ``interval`` seconds until exit.

    Each gateway sweeping the same ledger is harmless: a message is deleted once, and a
    sweep finding nothing to delete costs an index probe per account.
    """
    task = asyncio.get_running_loop().create_task(_sweep(store, retention_days, interval))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _sweep(store: Store, retention_days: int, interval: float) -> None:
    log = structlog.get_logger("smppgw")
    while True:
        try:
            pruned = await store.prune_history(retention_days)
        except LedgerError as e:
            log.warning("history.prune_failed", error=repr(e))
        else:
            if pruned.messages:
                log.info(
                    "history.pruned",
                    messages=pruned.messages,
                    receipts=pruned.receipts,
                    before=pruned.cutoff.isoformat(),
                )
        await asyncio.sleep(interval)


def _alerts(
    config: Config, store: Store, gateway_id: str, metrics: Metrics
) -> AbstractAsyncContextManager[Any]:
    """The low-balance alert task: scans the ledger, mails through ``[smtp]`` if enabled."""
    from gateway.mail.alerts import AlertNotifier, alert_notifications
    from gateway.mail.sender import Mailer

    notifier = AlertNotifier(
        store, Mailer.from_config(config), gateway_id=gateway_id, count=metrics.alert_handled
    )
    return alert_notifications(notifier, interval=ALERT_INTERVAL)


def _callbacks(store: Store, gateway_id: str, metrics: Metrics) -> AbstractAsyncContextManager[Any]:
    """The receipt-callback task: POSTs final outcomes of HTTP jobs to their URLs."""
    from gateway.delivery.callbacks import CallbackPoster, callback_posting

    poster = CallbackPoster(store, gateway_id=gateway_id, count=metrics.callback_handled)
    return callback_posting(poster)


async def _drain_and_stop(forwarder: Forwarder) -> None:
    """Give the forwarder a moment to send what is queued, then stop it."""
    await forwarder.drain(timeout=FORWARDER_DRAIN_S)
    await forwarder.stop()


async def serve(config: Config, *, demo: bool = False) -> None:
    """Run until SIGINT or SIGTERM, then stop gracefully; SIGHUP: :meth:`Gateway.reload`."""
    configure_logging(config.logging.level, config.logging.format)
    gateway = Gateway(config)
    if demo:
        # Gateway.start() opens and migrates the ledger; the demo account goes in first.
        store = await open_store(config.ledger.url, limits=config.ledger.limits())
        try:
            await store.upgrade()
            await ensure_demo_account(store)
        finally:
            await store.close()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await gateway.start()
    loop.add_signal_handler(signal.SIGHUP, gateway.reload)
    await stop.wait()
    gateway.log.info("gateway.stopping")
    await gateway.stop()
