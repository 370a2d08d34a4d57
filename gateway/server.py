"""The SMPP server ESMEs bind to: one ``SmppConnection`` per client, policy plugged in.

Each connection gets a ``ClientHandler``: binds are authenticated (``auth.Authenticator``)
and counted against the account's bind quota, submit_sm goes to ``submit.Submitter``,
and receivers are registered so receipts can reach them (``relay.ReceiptRelay``). A
failure inside one request is answered with ESME_RSYSERR and logged; it never takes down
the connection, let alone the server.
"""

from __future__ import annotations

import asyncio
import ssl
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.auth import Authenticator
from gateway.connection import SmppConnection
from gateway.registry import BindRegistry
from gateway.relay import ReceiptRelay
from gateway.smpp import Bind as BindPdu
from gateway.smpp import (
    CommandId,
    CommandStatus,
    Pdu,
    Role,
    Session,
    SessionConfig,
    SubmitSm,
    response_to,
)
from gateway.submit import Submitter
from ledger import LedgerError, Store
from ledger.models import Account

_BIND_KIND = {
    CommandId.BIND_TRANSMITTER: "tx",
    CommandId.BIND_RECEIVER: "rx",
    CommandId.BIND_TRANSCEIVER: "trx",
}
#: Seconds a session trusts its copy of the account (senders) before re-reading it.
ACCOUNT_REFRESH_S = 30.0
#: What we call ourselves in bind responses (≤ 15 chars).
SERVER_SYSTEM_ID = "smppgw"


@dataclass
class ServerServices:
    """What client sessions need from the rest of the gateway."""

    store: Store
    gateway_id: str
    authenticator: Authenticator
    submitter: Submitter
    registry: BindRegistry
    relay: ReceiptRelay
    session_config: SessionConfig


class ClientHandler:
    """Application logic of one client connection."""

    def __init__(
        self,
        services: ServerServices,
        tasks: set[asyncio.Task[Any]],
        conns: set[SmppConnection],
    ) -> None:
        self.s = services
        self.tasks = tasks
        self.conns = conns
        self.account: Account | None = None
        #: This bind's row in the ledger's cross-gateway bind table.
        self.session_id = uuid.uuid4().hex
        self._account_read_at = 0.0
        self._refreshing = False

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
            # A bug or an unexpected failure: answer so the client is not left waiting.
            conn.log.error("request.failed", seq=pdu.sequence_number, error=repr(exc))
            conn.respond(response_to(pdu, CommandStatus.ESME_RSYSERR))

    def on_request(self, conn: SmppConnection, pdu: Pdu) -> None:
        """Binds and submits run as tasks: they wait on the ledger."""
        if isinstance(pdu, SubmitSm):
            self._spawn(conn, pdu, self._submit(conn, pdu))
        elif isinstance(pdu, BindPdu):
            self._spawn(conn, pdu, self._bind(conn, pdu))
        else:  # pragma: no cover - the session table admits nothing else
            conn.respond(response_to(pdu, CommandStatus.ESME_RINVCMDID))

    def on_bound(self, conn: SmppConnection) -> None:
        """Nothing to do: _bind() acts once the response is queued."""

    def on_closed(self, conn: SmppConnection) -> None:
        """Forget the session."""
        self.conns.discard(conn)
        if self.account is not None:
            self.s.registry.remove(self.account.system_id, conn)
            task = asyncio.get_running_loop().create_task(self._release_bind(conn))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        conn.log.info("session.closed")

    async def _refresh_account(self, conn: SmppConnection) -> None:
        """Re-read the account now and then, so an operator's change to its senders
        reaches sessions bound before it (within ACCOUNT_REFRESH_S), at one ledger read
        per session per period rather than one per message."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._account_read_at < ACCOUNT_REFRESH_S or self._refreshing:
            return
        assert self.account is not None
        self._refreshing = True
        try:
            self.account = await self.s.store.get_account(self.account.system_id)
            self._account_read_at = loop.time()
        except LedgerError as e:
            # Keep the last known account; the debit itself still goes to the ledger.
            conn.log.warning("account.refresh_failed", error=repr(e))
        finally:
            self._refreshing = False

    async def _release_bind(self, conn: SmppConnection) -> None:
        try:
            await self.s.store.release_bind(self.s.gateway_id, self.session_id)
        except LedgerError as e:
            # The row goes when this gateway's heartbeat stops or it unregisters.
            conn.log.warning("bind.release_failed", error=repr(e))

    async def _bind(self, conn: SmppConnection, pdu: BindPdu) -> None:
        kind = _BIND_KIND[CommandId(pdu.command_id)]
        log = conn.log.bind(system_id=pdu.system_id, seq=pdu.sequence_number, bind=kind)
        decision = await self.s.authenticator.authenticate(
            pdu.system_id, pdu.password, conn.peer_host
        )
        status = decision.status
        reason = decision.reason
        account = decision.account
        if status == CommandStatus.ESME_ROK and account is not None:
            # The quota holds across every gateway sharing the ledger.
            try:
                acquired = await self.s.store.acquire_bind(
                    account.system_id,
                    gateway_id=self.s.gateway_id,
                    session_id=self.session_id,
                    kind=kind,
                    max_binds=account.max_binds,
                )
            except (LedgerError, ValueError):
                # ValueError: this gateway is not registered (a bind racing shutdown).
                acquired, status, reason = False, CommandStatus.ESME_RBINDFAIL, "ledger_down"
            if not acquired and status == CommandStatus.ESME_ROK:
                # SMPP 3.4 has no "too many binds" status; providers answer ESME_RALYBND.
                status, reason = CommandStatus.ESME_RALYBND, "max_binds_reached"
            if conn.session.closed and acquired:
                # The client left while we asked the ledger: give the slot back.
                await self.s.store.release_bind(self.s.gateway_id, self.session_id)
                return
        if status != CommandStatus.ESME_ROK or account is None:
            log.warning("bind.refused", status=f"0x{status:x}", reason=reason)
            conn.respond(response_to(pdu, status))
            return
        self.account = account
        self._account_read_at = asyncio.get_running_loop().time()
        self.s.registry.add(account.system_id, conn)
        conn.log = conn.log.bind(system_id=account.system_id)
        conn.context["account"] = account
        conn.respond(response_to(pdu, system_id=SERVER_SYSTEM_ID))
        log.info("bind.accepted")
        if kind != "tx":
            self.s.relay.receiver_bound(account.system_id)

    async def _submit(self, conn: SmppConnection, pdu: SubmitSm) -> None:
        assert self.account is not None  # the session only lets submit_sm in when bound
        log = conn.log.bind(seq=pdu.sequence_number)
        await self._refresh_account(conn)
        outcome = await self.s.submitter.submit(self.account, pdu, log)
        conn.respond(
            response_to(pdu, outcome.status, message_id=outcome.message_id)
            if outcome.message_id
            else response_to(pdu, outcome.status)
        )


class SmppServer:
    """Listens for ESMEs on TCP (and optionally TLS).

    ``listen()`` binds the sockets without accepting, so the gateway can claim its port
    (and with it its identity) before it touches shared state; ``serve()`` then starts
    accepting with the services wired.
    """

    def __init__(self) -> None:
        self.services: ServerServices | None = None
        self.log = structlog.get_logger("smppgw.server")
        self._servers: list[asyncio.Server] = []
        self._conns: set[SmppConnection] = set()
        self.tasks: set[asyncio.Task[Any]] = set()

    def _factory(self) -> SmppConnection:
        assert self.services is not None, "serve() wires the services before accepting"
        loop = asyncio.get_running_loop()
        session = Session(Role.SMSC, self.services.session_config, now=loop.time())
        handler = ClientHandler(self.services, self.tasks, self._conns)
        conn = SmppConnection(session, handler, self.log)
        self._conns.add(conn)
        return conn

    async def listen(
        self, host: str, port: int, *, ssl_context: ssl.SSLContext | None = None
    ) -> int:
        """Bind a listening socket (not accepting yet); returns its port (useful with 0)."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(
            self._factory, host, port, ssl=ssl_context, start_serving=False
        )
        self._servers.append(server)
        return int(server.sockets[0].getsockname()[1])

    async def serve(self, services: ServerServices) -> None:
        """Start accepting on every listening socket."""
        self.services = services
        for server in self._servers:
            await server.start_serving()

    async def stop(self, *, grace: float = 2.0) -> None:
        """Stop accepting, let in-flight requests finish, unbind every client.

        Sessions stop decoding first, so no new submit starts while we wait; every
        submit already being debited gets its submit_sm_resp before the unbind.
        """
        for server in self._servers:
            server.close()
        for conn in list(self._conns):
            conn.hold()
        if self.tasks:
            await asyncio.wait(list(self.tasks), timeout=grace)
        conns = [c for c in self._conns if not c.closed.is_set()]
        await asyncio.gather(*(c.unbind(timeout=grace) for c in conns), return_exceptions=True)
        for server in self._servers:
            await server.wait_closed()
