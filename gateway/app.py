"""Wires the gateway together: ``Gateway`` for tests and embedding, ``serve`` for the CLI.

Start order matters: the ledger is opened and migrated, the forwarder re-queues what a
previous run left unforwarded, the upstream link starts, and only then does the server
accept ESMEs. Stop order is the reverse, so no acknowledged message is dropped on the
floor: it is either forwarded or still ACCEPTED in the ledger for the next start.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from gateway.admin.demo import ensure_demo_account
from gateway.auth import Authenticator
from gateway.config import Config
from gateway.forwarder import Forwarder
from gateway.ids import MessageIdGenerator
from gateway.logs import configure_logging
from gateway.registry import BindRegistry
from gateway.relay import ReceiptRelay
from gateway.server import ServerServices, SmppServer
from gateway.simulator import UpstreamSimulator
from gateway.smpp import SessionConfig
from gateway.submit import Submitter
from gateway.tariff import Tariff
from gateway.upstream import UpstreamClient, UpstreamSettings
from ledger import LedgerError, Store, open_store
from ledger.batcher import DebitBatcher

#: Seconds between heartbeats; the ledger drops a gateway's binds after 30 s of silence.
HEARTBEAT_INTERVAL = 5.0


@dataclass
class Endpoints:
    """Where a started gateway listens."""

    port: int
    tls_port: int | None
    upstream: str
    simulator_port: int | None


class Gateway:
    """One gateway process's worth of parts, startable and stoppable in-process."""

    def __init__(self, config: Config, *, store: Store | None = None) -> None:
        self.config = config
        self.log = structlog.get_logger("smppgw")
        self.store = store
        self._own_store = store is None
        self.simulator: UpstreamSimulator | None = None
        self.upstream: UpstreamClient | None = None
        self.forwarder: Forwarder | None = None
        self.batcher: DebitBatcher | None = None
        self.relay: ReceiptRelay | None = None
        self.server: SmppServer | None = None
        self.authenticator: Authenticator | None = None
        self.gateway_id = ""
        self._heartbeat: asyncio.Task[None] | None = None
        self._stop_listening: Callable[[], Awaitable[None]] | None = None
        self.endpoints: Endpoints | None = None

    async def start(self) -> Endpoints:
        """Listen, claim our identity, recover, connect upstream, then accept clients."""
        c = self.config
        if self.store is None:
            self.store = await open_store(c.ledger.url)
            applied = await self.store.upgrade()
            if applied:
                self.log.info("ledger.migrated", applied=applied)
        store = self.store
        tariff = Tariff.load(c.pricing.tariff)

        # Bind the ports first: a second instance with the same identity fails here,
        # before it could touch this instance's binds or messages in the ledger.
        self.server = SmppServer()
        port = await self.server.listen(c.server.host, c.server.port)
        tls_port = await self._listen_tls()
        await self._register(store, port)
        up_host, up_port = await self._start_simulator()

        registry = BindRegistry()
        self.relay = ReceiptRelay(store, registry, gateway_id=self.gateway_id)
        self._stop_listening = await store.listen_receipts(self.relay.on_notify)
        self.upstream = UpstreamClient(
            self._upstream_settings(up_host, up_port), self.relay.on_upstream_deliver
        )
        self.forwarder = Forwarder(
            store, self.upstream, self.relay, gateway_id=self.gateway_id, workers=c.upstream.window
        )
        await self.forwarder.recover()
        self.relay.start()
        self.upstream.start()
        self.forwarder.start()

        self.batcher = DebitBatcher(store, max_batch=c.ledger.batch_max)
        self.authenticator = Authenticator(store)
        await self.server.serve(
            ServerServices(
                store=store,
                gateway_id=self.gateway_id,
                authenticator=self.authenticator,
                submitter=Submitter(
                    tariff,
                    self.batcher,
                    self.forwarder,
                    MessageIdGenerator(),
                    gateway_id=self.gateway_id,
                    destination_check=c.pricing.destination_check,
                    max_parts=c.pricing.max_parts,
                ),
                registry=registry,
                relay=self.relay,
                session_config=SessionConfig(
                    max_pdu_size=c.server.max_pdu_size,
                    window=c.server.window,
                    inbound_pause_at=c.server.max_submit_inflight,
                    max_inbound_pending=max(1024, 16 * c.server.max_submit_inflight),
                    response_timeout=c.server.response_timeout_s,
                    inactivity_timeout=c.server.inactivity_timeout_s,
                ),
            )
        )
        self.endpoints = Endpoints(
            port=port,
            tls_port=tls_port,
            upstream=f"{up_host}:{up_port}",
            simulator_port=self.simulator.port if self.simulator else None,
        )
        self.log.info(
            "gateway.started",
            gateway_id=self.gateway_id,
            host=c.server.host,
            port=port,
            tls_port=tls_port,
            ledger=c.ledger.url.split(":", 1)[0],
            upstream=self.endpoints.upstream,
        )
        return self.endpoints

    async def _listen_tls(self) -> int | None:
        c = self.config.server
        if c.tls_port is None or c.tls_cert is None or c.tls_key is None:
            return None
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(c.tls_cert, c.tls_key)
        assert self.server is not None
        return await self.server.listen(c.host, c.tls_port, ssl_context=ctx)

    async def _register(self, store: Store, port: int) -> None:
        """Take our place among the gateways sharing the ledger, and start the heartbeat.

        The id is stable across restarts (host and port unless configured), so what a
        previous run of this instance left behind is ours again at once: its binds are
        dropped (those sessions died with it) and its unsent messages are adopted.
        """
        c = self.config.server
        self.gateway_id = c.gateway_id or f"{socket.gethostname()}:{port}"
        await store.unregister_gateway(self.gateway_id)
        await store.register_gateway(self.gateway_id, address=f"{c.host}:{port}")
        self._heartbeat = asyncio.get_running_loop().create_task(self._beat(store))

    async def _start_simulator(self) -> tuple[str, int]:
        """Start the built-in SMSC if configured; returns the upstream to connect to."""
        c = self.config
        if not c.simulator.enabled:
            return c.upstream.host, c.upstream.port
        self.simulator = UpstreamSimulator(
            c.simulator.host,
            c.simulator.port,
            dlr_delay_ms=c.simulator.dlr_delay_ms,
            dlr_stat=c.simulator.dlr_stat,
        )
        await self.simulator.start()
        self.log.warning(
            "simulator.in_use",
            port=self.simulator.port,
            note="built-in upstream SMSC simulator: no message reaches a handset",
        )
        return c.simulator.host, self.simulator.port

    def _upstream_settings(self, host: str, port: int) -> UpstreamSettings:
        u = self.config.upstream
        return UpstreamSettings(
            host=host,
            port=port,
            system_id=u.system_id,
            password=u.password,
            system_type=u.system_type,
            window=u.window,
            enquire_link_interval=u.enquire_link_interval_s,
            response_timeout=u.response_timeout_s,
            reconnect_min=u.reconnect_min_s,
            reconnect_max=u.reconnect_max_s,
        )

    async def _beat(self, store: Store) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_INTERVAL)
            try:
                await store.heartbeat(self.gateway_id)
            except LedgerError as e:
                self.log.warning("gateway.heartbeat_failed", error=repr(e))

    async def stop(self) -> None:
        """Stop accepting, finish in-flight submits, stop forwarding, close the ledger."""
        if self.server is not None:
            await self.server.stop()
        if self._stop_listening is not None:
            await self._stop_listening()
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            await asyncio.gather(self._heartbeat, return_exceptions=True)
        if self.authenticator is not None:
            self.authenticator.close()
        if self.forwarder is not None:
            await self.forwarder.drain(timeout=2.0)
            await self.forwarder.stop()
        if self.relay is not None:
            await self.relay.stop()
        if self.upstream is not None:
            await self.upstream.stop()
        if self.batcher is not None:
            await self.batcher.close()
        if self.simulator is not None:
            await self.simulator.stop()
        if self.store is not None and self.gateway_id:
            try:
                await self.store.unregister_gateway(self.gateway_id)
            except LedgerError as e:
                self.log.warning("gateway.unregister_failed", error=repr(e))
        if self.store is not None and self._own_store:
            await self.store.close()
        self.log.info("gateway.stopped")


async def serve(config: Config, *, demo: bool = False) -> None:
    """Run until SIGINT or SIGTERM, then stop gracefully."""
    configure_logging(config.logging.level, config.logging.format)
    gateway = Gateway(config)
    if demo:
        # Gateway.start() opens and migrates the ledger; the demo account goes in first.
        store = await open_store(config.ledger.url)
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
    await stop.wait()
    gateway.log.info("gateway.stopping")
    await gateway.stop()
