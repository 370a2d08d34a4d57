"""The gateway's client toward an upstream SMSC: same session machine, ESME role.

Keeps one transceiver bind up: connects (over TLS when the upstream's ``tls`` says so),
binds, sends enquire_link when idle, and reconnects with exponential backoff (with
jitter) when the link drops or the bind is refused. ``submit()`` waits for a bound link
(unless told not to) and a window slot; the receipts the upstream sends come back
through the ``on_deliver`` callback, whose status answers them. An upstream with
``binds`` > 1 is several of these (``gateway.delivery.links``).
"""

from __future__ import annotations

import asyncio
import random
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

import structlog

from gateway.config import UpstreamConfig
from gateway.smpp import (
    NO_RESPONSE,
    BindTransceiver,
    CommandStatus,
    DataSm,
    DeliverSm,
    EncodedSubmitSm,
    Pdu,
    Role,
    Session,
    SessionConfig,
    SubmitSmResp,
    response_to,
)
from gateway.transport.connection import NotSent, SmppConnection

DeliverCallback = Callable[[DeliverSm], Awaitable[int]]


def upstream_session_config(config: UpstreamConfig) -> SessionConfig:
    """The session toward the upstream: our window, its timers, deep inbound buffers."""
    return SessionConfig(
        window=config.window,
        response_timeout=config.response_timeout_s,
        enquire_link_interval=config.enquire_link_interval_s,
        inactivity_timeout=max(3 * config.enquire_link_interval_s, 60.0),
        # Receipts arrive as fast as we submitted; stop reading (TCP backpressure)
        # rather than refuse them, since many SMSCs never retry a refused receipt.
        inbound_pause_at=1024,
        max_inbound_pending=16384,
    )


def tls_context(config: UpstreamConfig) -> ssl.SSLContext | None:
    """The client TLS context of an upstream with ``tls``: its CA file or the system's."""
    if not config.tls:
        return None
    ca = str(config.tls_ca_file) if config.tls_ca_file is not None else None
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=ca)


class _UpstreamHandler:
    def __init__(self, client: UpstreamClient) -> None:
        self.client = client

    def on_request(self, conn: SmppConnection, pdu: Pdu) -> None:
        if isinstance(pdu, DeliverSm):
            self.client._spawn(self.client._deliver(conn, pdu))
        elif pdu.command_id in NO_RESPONSE:
            # outbind, alert_notification: nothing to answer, nothing the gateway uses.
            conn.log.info("upstream.ignored", command=type(pdu).__name__)
        elif isinstance(pdu, DataSm):
            # Mobile-originated, like a deliver_sm that is not a receipt: not part of the
            # product yet; acknowledged so the SMSC does not retry, and logged.
            conn.log.warning("mo.dropped", source=pdu.source_addr, command="data_sm")
            conn.respond(response_to(pdu))
        else:  # pragma: no cover - the session table admits nothing else
            conn.respond(response_to(pdu, CommandStatus.ESME_RINVCMDID))

    def on_connected(self, conn: SmppConnection) -> None:
        pass

    def on_bound(self, conn: SmppConnection) -> None:
        pass

    def on_closed(self, conn: SmppConnection) -> None:
        self.client._link_lost(conn)


class UpstreamClient:
    """A self-healing transceiver bind to the upstream SMSC."""

    def __init__(
        self,
        config: UpstreamConfig,
        on_deliver: DeliverCallback,
        *,
        pdu_count: Callable[[str, int, int], None] | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.config = config
        self.on_deliver = on_deliver
        self._pdu_count = pdu_count
        #: Called whenever the link comes up or goes down (the link set's wake-up).
        self.on_change = on_change
        self.log = structlog.get_logger("smppgw.upstream").bind(
            upstream=config.name, peer=f"{config.host}:{config.port}"
        )
        self._conn: SmppConnection | None = None
        self._ready = asyncio.Event()
        self._stopping = False
        self._runner: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    @property
    def bound(self) -> bool:
        """True while a bound link is up."""
        return self._ready.is_set()

    @property
    def window_in_use(self) -> int:
        """Our submits the upstream has not answered yet (0 without a link)."""
        conn = self._conn
        if conn is None:
            return 0
        return conn.session.config.window - conn.session.window_available

    def start(self) -> None:
        """Start the connect/bind/reconnect loop in the background."""
        self._runner = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        """Unbind and stop reconnecting."""
        self._stopping = True
        if self._conn is not None:
            await self._conn.unbind(timeout=1.0)
        if self._runner is not None:
            self._runner.cancel()
            await asyncio.gather(self._runner, return_exceptions=True)
        for t in list(self._tasks):
            t.cancel()

    async def wait_bound(self) -> None:
        """Return once a bound link is up."""
        await self._ready.wait()

    async def submit(self, body: bytes, *, wait: bool = True) -> SubmitSmResp:
        """Send a submit_sm with this body; returns the upstream's response.

        Waits for a bound link unless ``wait`` is false. Raises ``NotSent`` (the upstream
        never saw it), ``ConnectionClosed`` or ``ResponseTimeout`` (it may have: a retry
        is a resend); the caller retries.
        """
        if wait:
            await self._ready.wait()
        conn = self._conn
        if conn is None:
            raise NotSent(self.config.name)
        resp = await conn.request(EncodedSubmitSm(sequence_number=0, encoded=body))
        if not isinstance(resp, SubmitSmResp):  # a generic_nack
            return SubmitSmResp(
                sequence_number=resp.sequence_number,
                command_status=resp.command_status or CommandStatus.ESME_RSYSERR,
            )
        return resp

    # -- internals ----------------------------------------------------------------------
    async def _run(self) -> None:
        delay = self.config.reconnect_min_s
        while not self._stopping:
            try:
                if await self._connect_and_bind():
                    delay = self.config.reconnect_min_s
                    assert self._conn is not None
                    if self._stopping:
                        # stop() came while we were binding and its cancel was lost (on
                        # Python 3.11 asyncio.wait_for swallows a cancel that arrives with
                        # the result): nobody would close this link, so close it now.
                        self._conn.close()
                        break
                    await self._conn.closed.wait()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # refused, reset, bind timed out...: never stop retrying
                self.log.warning("upstream.connect_failed", error=repr(e))
            if self._stopping:
                break
            # Full jitter: many gateways restarting at once do not stampede the SMSC.
            sleep = random.uniform(delay / 2, delay)  # noqa: S311 — jitter, not a secret
            self.log.info("upstream.reconnecting", in_s=round(sleep, 2))
            await asyncio.sleep(sleep)
            delay = min(delay * 2, self.config.reconnect_max_s)

    async def _connect_and_bind(self) -> bool:
        s = self.config
        loop = asyncio.get_running_loop()
        session_config = upstream_session_config(s)

        def factory() -> SmppConnection:
            return SmppConnection(
                Session(Role.ESME, session_config, now=loop.time()),
                _UpstreamHandler(self),
                self.log,
                pdu_count=self._pdu_count,
            )

        tls = tls_context(s)
        _, conn = await asyncio.wait_for(
            loop.create_connection(
                factory, s.host, s.port, ssl=tls, server_hostname=s.host if tls else None
            ),
            10.0,
        )
        bind = BindTransceiver(
            sequence_number=0,
            system_id=s.system_id,
            password=s.password,
            system_type=s.system_type,
        )
        try:
            resp = await asyncio.wait_for(conn.request(bind), s.response_timeout_s + 1)
        except BaseException:
            conn.abort()  # a failed attempt must not leave a half-open socket behind
            raise
        if resp.command_status != CommandStatus.ESME_ROK:
            self.log.error("upstream.bind_refused", status=f"0x{resp.command_status:x}")
            conn.close()
            return False
        self._conn = conn
        self._ready.set()
        self.log.info("upstream.bound", system_id=s.system_id, tls=tls is not None)
        if self.on_change is not None:
            self.on_change()
        return True

    def _link_lost(self, conn: SmppConnection) -> None:
        if conn is self._conn:
            self._conn = None
            self._ready.clear()
            self.log.warning("upstream.disconnected")
            if self.on_change is not None:
                self.on_change()

    async def _deliver(self, conn: SmppConnection, pdu: DeliverSm) -> None:
        try:
            status = await self.on_deliver(pdu)
        except Exception as e:  # never leave the SMSC waiting; it will retry
            self.log.error("upstream.deliver_failed", error=repr(e))
            status = CommandStatus.ESME_RX_T_APPN
        conn.respond(response_to(pdu, status))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
