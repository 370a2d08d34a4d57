"""The SMPP server ESMEs bind to: one ``SmppConnection`` per client, policy plugged in.

``SmppServer`` listens (TCP, and TLS when configured) and gives each connection a
``ClientHandler``, which hands binds to ``policy.bind.BindPolicy`` and submit_sm to
``policy.submit.Submitter``, and registers receivers so receipts can reach them
(``delivery.registry.BindRegistry``, ``delivery.dispatch.ReceiptDispatcher``). A failure
inside one request is answered with ESME_RSYSERR and logged; it never takes down the
connection, let alone the server.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import uuid
from collections import Counter
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.config import ServerConfig
from gateway.delivery.dispatch import ReceiptDispatcher
from gateway.delivery.registry import BindRegistry
from gateway.observability.deferred import deferred
from gateway.observability.metrics import Metrics
from gateway.policy.bind import BindKind, BindPolicy
from gateway.policy.follow import eviction_reason
from gateway.policy.messages import MessageOperations
from gateway.policy.multi import MultiSubmitter
from gateway.policy.submit import PendingDebit, SubmitOutcome, Submitter
from gateway.smpp import (
    NO_RESPONSE,
    CancelSm,
    CommandId,
    CommandStatus,
    DataSm,
    LocalProtocolError,
    Pdu,
    QuerySm,
    ReplaceSm,
    Role,
    Session,
    SessionConfig,
    SubmitMulti,
    SubmitSm,
    response_to,
)
from gateway.smpp import Bind as BindPdu
from gateway.transport.connection import SmppConnection
from gateway.transport.proxied import ProxiedListener, bind_sockets, networks
from gateway.transport.tls import reload_pair, server_context
from gateway.transport.window import AccountWindow
from ledger import LedgerError, LedgerUnavailable, Store, UnknownAccount
from ledger.models import Account, DebitResult

_BIND_KIND: dict[int, BindKind] = {
    CommandId.BIND_TRANSMITTER: "tx",
    CommandId.BIND_RECEIVER: "rx",
    CommandId.BIND_TRANSCEIVER: "trx",
}
#: Seconds between two reads of the bound accounts by the account watch (see
#: ``SmppServer.follow_accounts``): how soon a disable, deny-ip or password change ends
#: a session, on every gateway, and a sender change applies.
ACCOUNT_FOLLOW_S = 1.0
#: What we call ourselves in bind responses (≤ 15 chars).
SERVER_SYSTEM_ID = "smppgw"
#: Least inbound requests a session buffers before refusing, whatever the pause point.
MIN_INBOUND_PENDING = 1024


def client_session_config(config: ServerConfig) -> SessionConfig:
    """The session each client connection runs, from the ``[server]`` settings.

    Reading pauses at ``max_submit_inflight`` unanswered submits (TCP backpressure); only
    a client that goes on sending 16 times as many is refused (ESME_RMSGQFUL).
    """
    return SessionConfig(
        max_pdu_size=config.max_pdu_size,
        window=config.window,
        inbound_pause_at=config.max_submit_inflight,
        max_inbound_pending=max(MIN_INBOUND_PENDING, 16 * config.max_submit_inflight),
        response_timeout=config.response_timeout_s,
        inactivity_timeout=config.inactivity_timeout_s,
        max_buffered=config.max_session_buffer,
    )


@dataclass(frozen=True, slots=True)
class ServerServices:
    """What client sessions need from the rest of the gateway."""

    store: Store
    binds: BindPolicy
    submitter: Submitter
    registry: BindRegistry
    receipts: ReceiptDispatcher
    #: Messages from handsets, pushed to receivers like receipts (None: not wired).
    mo: ReceiptDispatcher | None = None
    #: query_sm, cancel_sm, replace_sm (None: answered ESME_RINVCMDID).
    messages: MessageOperations | None = None
    #: submit_multi and data_sm (None: answered ESME_RINVCMDID).
    multi: MultiSubmitter | None = None


class ClientHandler:
    """Application logic of one client connection."""

    def __init__(
        self,
        services: ServerServices,
        tasks: set[asyncio.Future[Any]],
        conns: set[SmppConnection],
        admission: Admission | None = None,
        window: AccountWindow | None = None,
        max_session_age_s: float = 0.0,
    ) -> None:
        self.admission = admission
        self.window = window
        self.max_session_age_s = max_session_age_s
        self._age_timer: asyncio.TimerHandle | None = None
        self.s = services
        self.tasks = tasks
        self.conns = conns
        self.account: Account | None = None
        #: This bind's row in the ledger's cross-gateway bind table.
        self.session_id = uuid.uuid4().hex

    def _spawn(self, conn: SmppConnection, pdu: Pdu, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(lambda t: self._done(t, conn, pdu))

    def _done(self, task: asyncio.Task[Any], conn: SmppConnection, pdu: Pdu) -> None:
        self.tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._failed(conn, pdu, exc)  # a done-callback must not raise

    def on_request(self, conn: SmppConnection, pdu: Pdu) -> None:
        """Binds and operations run as tasks: they wait on the ledger. A submit_sm does
        not: it is decided here and its debit answered from a callback (no task each)."""
        if isinstance(pdu, SubmitSm | SubmitMulti | DataSm) and self._window_size() > 0:
            self._spawn(conn, pdu, self._windowed(conn, pdu))
        elif isinstance(pdu, SubmitSm):
            self._submit_now(conn, pdu)
        elif isinstance(pdu, BindPdu):
            self._spawn(conn, pdu, self._bind(conn, pdu))
        elif pdu.command_id in NO_RESPONSE:  # pragma: no cover - the table refuses them
            conn.log.warning("pdu.ignored", command=type(pdu).__name__)
        elif self.s.messages is None or self.s.multi is None:
            conn.respond(response_to(pdu, CommandStatus.ESME_RINVCMDID))
        else:
            self._spawn(conn, pdu, self._operation(conn, pdu))

    def _window_size(self) -> int:
        """The account's submit window: its own (``submit_window``) or the gateway's."""
        if self.window is None:
            return 0
        own = self.account.submit_window if self.account is not None else None
        return self.window.size if own is None else own

    def on_connected(self, conn: SmppConnection) -> None:
        """Admit the connection (caps, bind deadline) or close it at once."""
        if self.admission is not None:
            self.admission.admit(conn)

    def on_bound(self, conn: SmppConnection) -> None:
        """Nothing to do: _bind() acts once the response is queued."""

    def on_closed(self, conn: SmppConnection) -> None:
        """Forget the session."""
        self.conns.discard(conn)
        if self._age_timer is not None:
            self._age_timer.cancel()  # or the loop would hold the connection for a day
        if self.admission is not None:
            self.admission.release(conn)
        if self.account is not None:
            self.s.registry.remove(self.account.system_id, conn)
            task = asyncio.get_running_loop().create_task(self._release_bind(conn))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        conn.log.info("session.closed")

    async def _release_bind(self, conn: SmppConnection) -> None:
        try:
            await self.s.binds.release(self.session_id)
        except LedgerError as e:
            # The row goes when this gateway's heartbeat stops or it unregisters.
            conn.log.warning("bind.release_failed", error=repr(e))

    async def _bind(self, conn: SmppConnection, pdu: BindPdu) -> None:
        kind = _BIND_KIND[pdu.command_id]
        log = conn.log.bind(system_id=pdu.system_id, seq=pdu.sequence_number, bind=kind)
        decision = await self.s.binds.admit(
            pdu.system_id,
            pdu.password,
            conn.peer_host,
            kind=kind,
            session_id=self.session_id,
            client_cert=conn.client_cert_sha256,
        )
        account = decision.account
        if decision.status != CommandStatus.ESME_ROK or account is None:
            log.warning("bind.refused", status=f"0x{decision.status:x}", reason=decision.reason)
            conn.respond(response_to(pdu, decision.status))
            if decision.close:
                # A throttled address: answer, then stop listening to it at all.
                conn.close()
            return
        if conn.session.closed:
            # The client left while we asked the ledger: give the slot back.
            await self.s.binds.release(self.session_id)
            return
        self.account = account
        self.s.registry.add(account.system_id, conn)
        conn.log = conn.log.bind(system_id=account.system_id)
        conn.context["account"] = account
        conn.respond(response_to(pdu, system_id=SERVER_SYSTEM_ID))
        log.info("bind.accepted")
        if account.max_session_age_s is not None:
            self.max_session_age_s = float(account.max_session_age_s)  # the account's own
        if self.max_session_age_s > 0:
            self._age_timer = asyncio.get_running_loop().call_later(
                self.max_session_age_s, self._too_old, conn
            )
        if kind != "tx":
            self.s.receipts.receiver_bound(account.system_id)
            if self.s.mo is not None:
                self.s.mo.receiver_bound(account.system_id)

    async def _windowed(self, conn: SmppConnection, pdu: Pdu) -> None:
        """A submit inside the account's submit window (``gateway.transport.window``)."""
        assert self.window is not None
        assert self.account is not None
        system_id = self.account.system_id
        if not await self.window.acquire(system_id, self._window_size()):
            conn.log.info(
                "submit.refused",
                seq=pdu.sequence_number,
                status=f"0x{CommandStatus.ESME_RTHROTTLED:x}",
                reason="account_window",
                in_progress=self.window.in_use(system_id),
            )
            conn.respond(response_to(pdu, CommandStatus.ESME_RTHROTTLED))
            return
        try:
            if isinstance(pdu, SubmitSm):
                await self._submit(conn, pdu)
            else:
                await self._operation(conn, pdu)
        finally:
            self.window.release(system_id)

    def _too_old(self, conn: SmppConnection) -> None:
        """``max_session_age_s`` reached: unbind cleanly; the client binds again."""
        if conn.closed.is_set() or conn.session.closed:
            return
        conn.log.info("session.max_age", after_s=self.max_session_age_s)
        task = asyncio.get_running_loop().create_task(conn.unbind(timeout=2.0))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _submit_now(self, conn: SmppConnection, pdu: SubmitSm) -> None:
        """Check and price a submit_sm now and queue its debit with the others of this
        read (one group commit); :meth:`_debited` answers once it is committed."""
        assert self.account is not None  # the session only lets submit_sm in when bound
        submitter = self.s.submitter
        try:
            log = deferred(conn.log, seq=pdu.sequence_number)
            pending = submitter.prepare(self.account, pdu, log)
            if isinstance(pending, SubmitOutcome):
                conn.respond(_submit_resp(pdu, pending))
                return
            try:
                future = submitter.batcher.enqueue_debit(pending.request)
            except LedgerError as e:  # the batcher is closed (InvalidRequest: re-raised)
                conn.respond(_submit_resp(pdu, submitter.failed(pending, e)))
                return
        except Exception as exc:
            self._failed(conn, pdu, exc)
            return
        self.tasks.add(future)
        future.add_done_callback(lambda f: self._debited(conn, pdu, pending, f))

    def _debited(
        self,
        conn: SmppConnection,
        pdu: SubmitSm,
        pending: PendingDebit,
        future: asyncio.Future[DebitResult],
    ) -> None:
        """The debit of a submit_sm is decided (committed, or failed): answer it."""
        self.tasks.discard(future)
        submitter = self.s.submitter
        try:
            error = future.exception()
            if isinstance(error, LedgerUnavailable) and error.outcome_unknown:
                # Rare: ask the ledger again with the same key; that waits, so a task.
                self._spawn(conn, pdu, self._debit_again(conn, pdu, pending))
                return
            outcome = (
                submitter.failed(pending, error)
                if error is not None
                else submitter.settle(pending, future.result())
            )
        except Exception as exc:
            self._failed(conn, pdu, exc)
            return
        conn.respond(_submit_resp(pdu, outcome))

    async def _debit_again(
        self, conn: SmppConnection, pdu: SubmitSm, pending: PendingDebit
    ) -> None:
        conn.respond(_submit_resp(pdu, await self.s.submitter.debit(pending, attempt=2)))

    def _failed(self, conn: SmppConnection, pdu: Pdu, exc: BaseException) -> None:
        # A bug or an unexpected failure: answer so the client is not left waiting.
        conn.log.error("request.failed", seq=pdu.sequence_number, error=repr(exc))
        # If the failure came after the answer went out, the request is no longer
        # pending and there is nothing left to answer.
        with contextlib.suppress(LocalProtocolError):
            conn.respond(response_to(pdu, CommandStatus.ESME_RSYSERR))

    async def _submit(self, conn: SmppConnection, pdu: SubmitSm) -> None:
        assert self.account is not None  # the session only lets submit_sm in when bound
        log = conn.log.bind(seq=pdu.sequence_number)
        conn.respond(_submit_resp(pdu, await self.s.submitter.submit(self.account, pdu, log)))

    async def _operation(self, conn: SmppConnection, pdu: Pdu) -> None:
        """submit_multi, data_sm, query_sm, cancel_sm, replace_sm (TX/TRX only, by the
        session table)."""
        assert self.account is not None
        assert self.s.messages is not None
        assert self.s.multi is not None
        log = conn.log.bind(seq=pdu.sequence_number, command=type(pdu).__name__)
        if isinstance(pdu, SubmitMulti):
            m = await self.s.multi.submit_multi(self.account, pdu, log)
            conn.respond(
                response_to(pdu, m.status, message_id=m.message_id, unsuccess_smes=m.unsuccess)
            )
        elif isinstance(pdu, DataSm):
            outcome = await self.s.multi.data_sm(self.account, pdu, log)
            conn.respond(
                response_to(pdu, outcome.status, message_id=outcome.message_id)
                if outcome.message_id
                else response_to(pdu, outcome.status)
            )
        elif isinstance(pdu, QuerySm):
            q = await self.s.messages.query(self.account, pdu, log)
            if q.status != CommandStatus.ESME_ROK:
                conn.respond(response_to(pdu, q.status, message_id=pdu.message_id))
            else:
                conn.respond(
                    response_to(
                        pdu,
                        message_id=pdu.message_id,
                        final_date=q.final_date,
                        message_state=q.message_state,
                        error_code=q.error_code,
                    )
                )
        elif isinstance(pdu, CancelSm):
            conn.respond(response_to(pdu, await self.s.messages.cancel(self.account, pdu, log)))
        elif isinstance(pdu, ReplaceSm):
            conn.respond(response_to(pdu, await self.s.messages.replace(self.account, pdu, log)))
        else:  # pragma: no cover - the session table admits nothing else
            conn.respond(response_to(pdu, CommandStatus.ESME_RINVCMDID))


def _submit_resp(pdu: SubmitSm, outcome: SubmitOutcome) -> Pdu:
    """The submit_sm_resp of ``outcome`` (a message_id only when there is one)."""
    if outcome.message_id:
        return response_to(pdu, outcome.status, message_id=outcome.message_id)
    return response_to(pdu, outcome.status)


class Admission:
    """Connection caps (in total, per client address) and the deadline to bind.

    A connection beyond a cap is closed as soon as it is up, before any PDU is read
    (``connection.refused``); one still unbound ``bind_timeout_s`` after it came up is
    closed whatever it sent meanwhile (``session.bind_deadline``): an idle or
    enquire_link-only connection cannot hold a slot.
    """

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self._by_address: Counter[str] = Counter()
        self._admitted: set[SmppConnection] = set()

    def admit(self, conn: SmppConnection) -> None:
        """Count ``conn`` in, or close it when a cap is reached."""
        c = self.config
        if len(self._admitted) >= c.max_connections:
            reason = "max_connections"
        elif self._by_address[conn.peer_host] >= c.max_connections_per_address:
            reason = "max_connections_per_address"
        else:
            self._admitted.add(conn)
            self._by_address[conn.peer_host] += 1
            asyncio.get_running_loop().call_later(c.bind_timeout_s, self._deadline, conn)
            return
        conn.log.warning("connection.refused", reason=reason)
        conn.close()

    def release(self, conn: SmppConnection) -> None:
        """``conn`` is gone: free its place."""
        if conn in self._admitted:
            self._admitted.discard(conn)
            self._by_address[conn.peer_host] -= 1
            if self._by_address[conn.peer_host] <= 0:
                del self._by_address[conn.peer_host]

    def _deadline(self, conn: SmppConnection) -> None:
        if conn in self._admitted and not conn.session.state.is_bound:
            conn.log.warning("session.bind_deadline", after_s=self.config.bind_timeout_s)
            conn.close()


class SmppServer:
    """Listens for ESMEs on TCP (and on TLS when ``tls_port`` is set).

    ``listen()`` binds the sockets without accepting, so the gateway can claim its port
    (and with it its identity) before it touches shared state; ``serve()`` then starts
    accepting with the services wired.
    """

    def __init__(self, config: ServerConfig, metrics: Metrics | None = None) -> None:
        self.config = config
        self.session_config = client_session_config(config)
        self._pdu_count = (metrics or Metrics()).pdu_counter("client")
        self.services: ServerServices | None = None
        self.log = structlog.get_logger("smppgw.server")
        self._servers: list[asyncio.Server] = []
        self._conns: set[SmppConnection] = set()
        #: Requests in progress (tasks, and submits waiting on their debit's future):
        #: ``stop`` lets them be answered before it unbinds.
        self.tasks: set[asyncio.Future[Any]] = set()
        self._tls: ssl.SSLContext | None = None
        self._watch: asyncio.Task[None] | None = None
        self.admission = Admission(config)
        self._proxied: list[ProxiedListener] = []
        # Always there: an account may set a window of its own (``submit_window``).
        self.window = AccountWindow(
            config.account_submit_window,
            backpressure=config.account_window_mode == "backpressure",
        )

    def _factory(
        self, client: tuple[str, int] | None = None, via: str | None = None
    ) -> SmppConnection:
        assert self.services is not None, "serve() wires the services before accepting"
        loop = asyncio.get_running_loop()
        session = Session(Role.SMSC, self.session_config, now=loop.time())
        handler = ClientHandler(
            self.services,
            self.tasks,
            self._conns,
            self.admission,
            self.window,
            self.config.max_session_age_s,
        )
        conn = SmppConnection(
            session, handler, self.log, pdu_count=self._pdu_count, client=client, via=via
        )
        self._conns.add(conn)
        return conn

    async def listen(self) -> tuple[int, int | None]:
        """Bind the TCP socket, and the TLS one if configured; accept nothing yet.

        Returns the two ports (useful with port 0); the TLS one is None when off.
        """
        c = self.config
        port = await self._listen(c.host, c.port)
        if c.tls_port is None or c.tls_cert is None or c.tls_key is None:
            return port, None
        self._tls = server_context(c.tls_cert, c.tls_key, client_ca=c.tls_client_ca)
        return port, await self._listen(c.host, c.tls_port, ssl_context=self._tls)

    def reload_tls(self) -> bool:
        """Load the configured certificate and key again (after a renewal).

        New connections get the files' pair, bound sessions are untouched; False when
        there is no TLS listener. Raises ``OSError``/``ssl.SSLError`` for unusable files,
        the old pair still serving.
        """
        c = self.config
        if self._tls is None or c.tls_cert is None or c.tls_key is None:
            return False
        reload_pair(self._tls, c.tls_cert, c.tls_key)
        return True

    async def _listen(
        self, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None
    ) -> int:
        if self.config.proxy_protocol_from:
            # Behind balancers: accept by ourselves, PROXY header before anything else.
            listeners = [
                ProxiedListener(
                    sock,
                    self._factory,
                    trusted=networks(self.config.proxy_protocol_from),
                    header_timeout=self.config.proxy_header_timeout_s,
                    first_octet_timeout=self.config.bind_timeout_s,
                    ssl_context=ssl_context,
                    log=self.log,
                    max_pending=self.config.max_connections,
                    max_pending_per_address=self.config.max_connections_per_address,
                )
                for sock in bind_sockets(host, port)
            ]
            self._proxied.extend(listeners)
            return listeners[0].port
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            self._factory, host, port, ssl=ssl_context, start_serving=False
        )
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def serve(self, services: ServerServices) -> None:
        """Start accepting on every listening socket, and the account watch."""
        self.services = services
        for server in self._servers:
            await server.start_serving()
        for listener in self._proxied:
            listener.start()
        self._watch = asyncio.get_running_loop().create_task(self._follow_forever())

    async def _follow_forever(self) -> None:
        while True:
            await asyncio.sleep(ACCOUNT_FOLLOW_S)
            try:
                await self.follow_accounts()
            except LedgerError as e:
                # The sessions keep their last known accounts; every debit still asks
                # the ledger, so nothing is sold on stale data.
                self.log.warning("account.refresh_failed", error=repr(e))

    async def follow_accounts(self) -> int:
        """Re-read the accounts of the bound sessions; end those that may no longer be.

        Each distinct account is read once. A session whose account was disabled,
        closed or deleted, whose address left the allowlist, or whose password changed
        is unbound (``session.evicted``); the others take the account as it is now, so a
        sender change applies from their next submit. Returns how many were ended.
        """
        assert self.services is not None
        bound = [
            (c, c.handler)
            for c in list(self._conns)
            if isinstance(c.handler, ClientHandler) and c.handler.account is not None
        ]
        fresh: dict[str, Account | None] = {}
        for _, h in bound:
            assert h.account is not None
            sid = h.account.system_id
            if sid not in fresh:
                try:
                    fresh[sid] = await self.services.store.get_account(sid)
                except UnknownAccount:
                    fresh[sid] = None
        ended = 0
        for conn, h in bound:
            assert h.account is not None
            account = fresh[h.account.system_id]
            reason = eviction_reason(h.account, account, conn.peer_host, conn.client_cert_sha256)
            if reason is None:
                assert account is not None
                h.account = account
                continue
            ended += 1
            conn.log.warning("session.evicted", reason=reason)
            task = asyncio.get_running_loop().create_task(conn.unbind(timeout=2.0))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        return ended

    async def stop(self, *, grace: float = 2.0) -> None:
        """Stop accepting, let in-flight requests finish, unbind every client.

        Sessions stop decoding first, so no new submit starts while we wait; every
        submit already being debited gets its submit_sm_resp before the unbind.
        """
        for server in self._servers:
            server.close()
        for listener in self._proxied:
            await listener.close()
        if self._watch is not None:
            self._watch.cancel()
        for conn in list(self._conns):
            conn.hold()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace)
        conns = [c for c in self._conns if not c.closed.is_set()]
        await asyncio.gather(*(c.unbind(timeout=grace) for c in conns), return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()

    async def close(self) -> None:
        """Close the listening sockets of a server that never served (a failed start)."""
        for server in self._servers:
            server.close()
            await server.wait_closed()
        for listener in self._proxied:
            await listener.close()
