"""The thin asyncio shell around a sans-IO ``Session``: one instance per TCP connection.

It feeds received octets to the session, writes what the session queues, arms one timer
for the session's next deadline, and hands requests to a ``ConnectionHandler``. Our own
requests (deliver_sm to a client, submit_sm to the upstream) go through ``request()``,
which waits for a window slot and returns the response PDU.

Writes are coalesced: everything queued during one event-loop turn leaves in one
``transport.write`` (responses completed by one group commit share a syscall).

``pdu_count``, when given, is told of every request and response the application sends
or receives (the metrics' PDU counter); keep-alives the session answers by itself are not
the application's and are not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, cast

import structlog

from gateway.smpp import (
    Bound,
    Event,
    LocalProtocolError,
    MustClose,
    Pdu,
    PduRejected,
    RequestReceived,
    RequestRefused,
    RequestTimedOut,
    ResponseReceived,
    Session,
    State,
    Unbind,
    Unbound,
    UnsolicitedResponse,
)

#: Seconds a closing connection keeps reading (and dropping) input after its FIN.
LINGER_S = 2.0


class ConnectionClosed(Exception):
    """The connection ended before the request was answered."""


class NotSent(ConnectionClosed):
    """The connection was gone before the request was written: the peer never saw it."""


class ResponseTimeout(Exception):
    """The peer did not answer within the session's response timeout."""


class ConnectionHandler(Protocol):
    """What the application plugs into a connection."""

    def on_request(self, conn: SmppConnection, pdu: Pdu) -> None:
        """A request the application must answer with ``conn.respond(...)``."""

    def on_connected(self, conn: SmppConnection) -> None:
        """The transport is up (after the TLS handshake); ``conn.peer_host`` is known."""

    def on_bound(self, conn: SmppConnection) -> None:
        """The session is bound (we sent or received a successful bind response)."""

    def on_closed(self, conn: SmppConnection) -> None:
        """The connection is gone; called once."""


class SmppConnection(asyncio.Protocol):
    """An SMPP session on an asyncio transport."""

    def __init__(
        self,
        session: Session,
        handler: ConnectionHandler,
        log: Any | None = None,
        *,
        pdu_count: Callable[[str, int, int], None] | None = None,
        client: tuple[str, int] | None = None,
        via: str | None = None,
    ) -> None:
        self.session = session
        #: The client's address from a PROXY header, standing for the socket's own.
        self._client = client
        #: The balancer's ``ip:port`` the connection came through (logged as ``proxy``).
        self.via = via
        #: SHA-256 (lowercase hex) of the client's TLS certificate, if it showed one.
        self.client_cert_sha256: str | None = None
        self._count = pdu_count
        self.handler = handler
        self.log: Any = log or structlog.get_logger("smppgw.connection")
        self.peer = "?"
        self.peer_host = ""
        self.transport: asyncio.Transport | None = None
        self.closed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._waiters: dict[int, asyncio.Future[Pdu]] = {}
        self._window_waiters: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._flush_scheduled = False
        self._can_write = asyncio.Event()
        self._can_write.set()
        self._closing = False
        self._reading_paused = False
        #: application data (bound account, bind kind, ...)
        self.context: dict[str, Any] = {}

    # -- asyncio.Protocol ---------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Record the peer and start the session timers."""
        # uvloop's transports implement the interface without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        peername = self._client or transport.get_extra_info("peername")
        if isinstance(peername, tuple):
            self.peer_host = str(peername[0])
            self.peer = f"{peername[0]}:{peername[1]}"
        self.log = self.log.bind(peer=self.peer)
        if self.via is not None:
            self.log = self.log.bind(proxy=self.via)
        ssl_object = transport.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
        if der:
            self.client_cert_sha256 = hashlib.sha256(der).hexdigest()
        self._arm_timer()
        self.handler.on_connected(self)

    def data_received(self, data: bytes) -> None:
        """Feed the session and act on its events."""
        if self._closing:
            return  # lingering close: what the peer still sends is read and dropped
        events = self.session.receive_data(data, self._loop.time())
        self._handle(events)
        self._flush()
        self._arm_timer()
        if self.session.reading_paused and not self._reading_paused and self.transport:
            # The application is behind this peer: let TCP push back instead of
            # refusing. Reading resumes once half of its requests are answered.
            self._reading_paused = True
            self.transport.pause_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        """Fail every waiter and tell the handler, once."""
        self._finish()

    def _finish(self) -> None:
        """The session is over for us: fail every waiter and tell the handler, once (a
        lingering close calls it before the socket itself goes)."""
        self.session.connection_lost()
        if self._timer:
            self._timer.cancel()
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(ConnectionClosed(self.peer))
        self._waiters.clear()
        for w in self._window_waiters:
            if not w.done():
                w.set_exception(ConnectionClosed(self.peer))
        self._window_waiters.clear()
        self._can_write.set()
        if not self.closed.is_set():
            self.closed.set()
            self.handler.on_closed(self)

    def pause_writing(self) -> None:
        """The peer stopped reading: hold our own requests until it catches up."""
        self._can_write.clear()

    def resume_writing(self) -> None:
        """The transport buffer drained."""
        self._can_write.set()

    # -- events -------------------------------------------------------------------------
    def _handle(self, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, RequestReceived):
                if self._count is not None:
                    self._count("in", ev.pdu.command_id, ev.pdu.command_status)
                self.handler.on_request(self, ev.pdu)
            elif isinstance(ev, ResponseReceived):
                if self._count is not None:
                    self._count("in", ev.pdu.command_id, ev.pdu.command_status)
                self._settle(ev.request.sequence_number, ev.pdu)
            elif isinstance(ev, RequestTimedOut):
                self._settle(ev.request.sequence_number, ResponseTimeout(type(ev.request).__name__))
            elif isinstance(ev, Bound):
                self.handler.on_bound(self)
            elif isinstance(ev, PduRejected):
                self.log.warning(
                    "pdu.rejected",
                    seq=ev.error.sequence_number,
                    command_id=f"0x{ev.error.command_id or 0:08x}",
                    status=f"0x{ev.error.status:x}",
                    reason=str(ev.error),
                )
            elif isinstance(ev, RequestRefused) and ev.reason == "duplicate_sequence":
                # Its own event: the client reused a pending request's number, so an
                # operator can tell a client bug from a gateway refusal at a glance.
                self.log.warning(
                    "pdu.duplicate_sequence",
                    seq=ev.pdu.sequence_number,
                    command=type(ev.pdu).__name__,
                    status=f"0x{ev.status:x}",
                )
            elif isinstance(ev, RequestRefused):
                self.log.warning(
                    "pdu.refused",
                    seq=ev.pdu.sequence_number,
                    command=type(ev.pdu).__name__,
                    status=f"0x{ev.status:x}",
                )
            elif isinstance(ev, UnsolicitedResponse):
                self.log.warning("pdu.unsolicited_response", seq=ev.pdu.sequence_number)
            elif isinstance(ev, Unbound):
                self.log.info("session.unbound", by_peer=ev.by_peer)
            elif isinstance(ev, MustClose):
                self._close_after_flush(ev.reason)

    def _settle(self, seq: int, result: Pdu | Exception) -> None:
        fut = self._waiters.pop(seq, None)
        if fut is not None and not fut.done():
            if isinstance(result, Exception):
                fut.set_exception(result)
            else:
                fut.set_result(result)
        self._wake_window()

    def _wake_window(self) -> None:
        # Wake as many waiters as there are free slots; each re-checks the window when it
        # runs, so waking one too many costs a loop turn, never a protocol error.
        free = self.session.window_available
        while self._window_waiters and free > 0:
            w = self._window_waiters.popleft()
            if not w.done():
                w.set_result(None)
                free -= 1

    # -- output -------------------------------------------------------------------------
    def respond(self, pdu: Pdu) -> None:
        """Send a response to a peer request (no-op once the connection is gone)."""
        if self.session.closed or self.transport is None:
            return
        self.session.send(pdu, self._loop.time())
        if self._count is not None:
            self._count("out", pdu.command_id, pdu.command_status)
        self._schedule_flush()
        # What answering caused: Bound for a bind_resp of ours, Unbound and MustClose for
        # the last answer a peer's unbind waited for.
        events = self.session.take_events()
        if events:
            self._handle(events)
            if self.session.closed:
                return
        if (
            self._reading_paused
            and not self.session.input_held
            and self.session.inbound_pending <= self.session.config.inbound_pause_at // 2
        ):
            self._reading_paused = False
            # On the next loop turn, not here: respond() may run inside on_request(),
            # i.e. inside data_received(), which must not be re-entered.
            self._loop.call_soon(self._resume)
        # A response can move the next deadline earlier: a bind_resp binds the SMSC role
        # and starts its enquire_link timer, which falls before the inactivity deadline
        # the timer was armed for.
        self._arm_timer()

    def _resume(self) -> None:
        """Decode what the session left buffered, then read the socket again."""
        if self.session.closed or self.transport is None:
            return
        self.data_received(b"")
        if not self._reading_paused:
            self.transport.resume_reading()

    async def request(self, pdu: Pdu) -> Pdu:
        """Send a request and return its response; waits for a window slot first.

        Raises ``ConnectionClosed`` or ``ResponseTimeout``; a response with an error
        status is returned, not raised.
        """
        while self.session.window_available == 0 or not self._can_write.is_set():
            if self.session.closed:
                raise NotSent(self.peer)
            if self.session.window_available == 0:
                w: asyncio.Future[None] = self._loop.create_future()
                self._window_waiters.append(w)
                try:
                    await w
                except asyncio.CancelledError:
                    # Woken but cancelled before sending: pass the slot on, or the
                    # requests queued behind us would wait for an unrelated response.
                    self._wake_window()
                    raise
            else:
                await self._can_write.wait()
        if self.session.closed or self.transport is None:
            raise NotSent(self.peer)
        try:
            sent = self.session.send(pdu, self._loop.time())
        except LocalProtocolError:
            # Once an unbind is under way (ours, or the peer's waiting for the answers we
            # owe), the session starts no request: for the caller the link is gone, and
            # what it would send goes out on the next one.
            if self.session.closed or self.session.state is State.UNBINDING:
                raise NotSent(self.peer) from None
            raise
        if self._count is not None:
            self._count("out", pdu.command_id, 0)
        fut: asyncio.Future[Pdu] = self._loop.create_future()
        self._waiters[sent.sequence_number] = fut
        self._schedule_flush()
        self._arm_timer()
        try:
            return await fut
        finally:
            # A slot may have been freed by a timeout or by another response.
            self._wake_window()

    def send_request_nowait(self, pdu: Pdu) -> Pdu:
        """Queue a request without waiting for its response (bind, enquire_link)."""
        sent = self.session.send(pdu, self._loop.time())
        self._schedule_flush()
        self._arm_timer()
        return sent

    async def unbind(self, timeout: float = 2.0) -> None:
        """Unbind politely (bounded wait), then close."""
        if self.session.state.is_bound:
            with contextlib.suppress(
                TimeoutError, ConnectionClosed, ResponseTimeout, LocalProtocolError
            ):
                await asyncio.wait_for(self.request(Unbind(sequence_number=0)), timeout)
        self.close()

    def hold(self) -> None:
        """Read and decode nothing more; answers still owed go out (graceful stop)."""
        self.session.hold_input()
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def close(self) -> None:
        """Flush what is queued and close the transport."""
        self._close_after_flush("closed locally")

    def abort(self) -> None:
        """Drop the connection at once."""
        if self.transport is not None:
            self.transport.abort()

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        data = self.session.data_to_send()
        if data and self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            limit = self.session.config.max_buffered
            if self.transport.get_write_buffer_size() > limit:
                # The peer does not read what we answer (a flood of enquire_link, say):
                # our answers would pile up without bound.
                self.log.warning("session.buffer_full", unsent=limit, direction="out")
                self.transport.abort()

    def _close_after_flush(self, reason: str) -> None:
        if self._closing:
            return
        self._closing = True
        self.log.info("session.closing", reason=reason)
        self._flush()
        transport = self.transport
        if transport is None:
            return
        if transport.is_closing() or not transport.can_write_eof():
            transport.close()
            return
        # Lingering close: closing a socket with unread input makes the kernel send RST,
        # and a RST can destroy our last answers (a submit_sm_resp ESME_ROK) in the
        # peer's receive queue before its client reads them. So send FIN after what is
        # queued, read and drop what still comes, and close on the peer's FIN or after
        # LINGER_S.
        transport.write_eof()
        if self._reading_paused:
            self._reading_paused = False
            transport.resume_reading()
        self._loop.call_later(LINGER_S, transport.close)
        self._finish()  # for the application the connection is gone now

    def eof_received(self) -> bool:
        """The peer sent FIN: close (our side is done too once lingering)."""
        return False

    # -- timers -------------------------------------------------------------------------
    def _arm_timer(self) -> None:
        deadline = self.session.next_deadline()
        if deadline is None:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            return
        # Re-arm only if the deadline moved earlier or no timer runs: most PDUs push the
        # deadline later, and a late timer simply re-arms itself in _on_timer.
        if self._timer is not None and self._timer_at is not None and self._timer_at <= deadline:
            return
        if self._timer:
            self._timer.cancel()
        self._timer_at = deadline
        self._timer = self._loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        events = self.session.handle_timer(self._loop.time())
        self._handle(events)
        self._flush()
        self._arm_timer()
