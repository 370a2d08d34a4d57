"""A misbehaving upstream SMSC of the tests' own, over real TCP (SMSC role of our session).

It behaves as awkward SMSCs do, each habit switchable:

- ``hex_ids``: answers submit_sm with a zero-padded upper-case hex id and receipts it in
  decimal, in the text only (no receipted_message_id TLV); ids start above 2**40, so
  no id's decimal spelling is another id's hex one;
- ``throttle_every``: every Nth submit_sm is answered ESME_RTHROTTLED;
- ``reject_prefixes``: destinations starting with one of these are refused for good
  (ESME_RINVDSTADR);
- ``resp_delay``: holds every submit_sm_resp back, so submits are in flight when
  ``drop()`` aborts every connection (the gateway must resend what was unanswered);
- ``stop()`` / ``start()``: goes away and comes back on the same port.

It records every submit_sm it receives (time, destination, text), duplicates included,
so tests can check the rate and count what was sent twice. Like a real SMSC it keeps the
receipts it could not deliver and sends them again on the next bind.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import ssl
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from gateway.delivery.receipt_pdus import Address, receipt_pdu
from gateway.smpp import (
    CommandId,
    CommandStatus,
    DeliverSm,
    Pdu,
    Role,
    Session,
    SessionConfig,
    SubmitSm,
    Tag,
    response_to,
)
from gateway.transport.connection import ConnectionClosed, ResponseTimeout, SmppConnection

_BINDS = {CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER}


@dataclass(frozen=True)
class Received:
    """One submit_sm as it arrived."""

    at: float  # loop time
    destination: str
    text: bytes
    status: int


@dataclass
class ChaosSmsc:
    """See the module docstring. ``port`` 0 picks one at the first start, kept after."""

    name: str = "chaos"
    port: int = 0
    hex_ids: bool = True
    throttle_every: int = 0
    reject_prefixes: tuple[str, ...] = ()
    resp_delay: float = 0.0
    dlr_delay: float = 0.02
    #: The first hex id (above 2**40: no id's decimal spelling is another id's hex one).
    id_base: int = 1 << 40
    #: The stat of every receipt (DELIVRD, UNDELIV, ...).
    dlr_stat: str = "DELIVRD"
    received: list[Received] = field(default_factory=list)
    receipts_acked: int = 0
    #: Serve TLS with this context (None: plain TCP).
    tls: ssl.SSLContext | None = None
    #: TCP connections accepted (TLS handshakes that failed included).
    connections: int = 0
    #: status -> submit_sm_resp actually written with it (a drop cancels the held ones).
    answered: Counter[int] = field(default_factory=Counter)
    binds: int = 0
    _server: asyncio.Server | None = None
    _conns: set[SmppConnection] = field(default_factory=set)
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _count: int = 0
    #: receipt id -> the submit_sm it reports, until the gateway acknowledges it.
    _undelivered: dict[str, SubmitSm] = field(default_factory=dict)

    async def start(self) -> ChaosSmsc:
        """Listen (again, on the same port after a stop)."""
        loop = asyncio.get_running_loop()
        log = structlog.get_logger("tests.chaos").bind(smsc=self.name)

        def factory() -> SmppConnection:
            self.connections += 1
            session = Session(Role.SMSC, SessionConfig(window=100), now=loop.time())
            return SmppConnection(session, _Handler(self), log)

        self._server = await loop.create_server(factory, "127.0.0.1", self.port, ssl=self.tls)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening and abort every connection (nothing unanswered is answered)."""
        self.drop()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def drop(self) -> None:
        """Abort every connection now, as a crash or a network cut would."""
        for t in list(self._tasks):
            t.cancel()
        for c in list(self._conns):
            c.abort()
        self._conns.clear()

    async def send_mo(self, source: str, destination: str, text: bytes) -> int:
        """Send a message from a handset (deliver_sm, esm_class 0) on a bound link; the
        status the gateway answered it with."""
        conn = next(iter(self._conns))
        mo = DeliverSm(
            sequence_number=0,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=source,
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=destination,
            short_message=text,
        )
        resp = await conn.request(mo)
        return resp.command_status

    # -- what the tests read ----------------------------------------------------------------
    def accepted_texts(self) -> Counter[bytes]:
        """How many times each message text was accepted (ESME_ROK)."""
        return Counter(r.text for r in self.received if r.status == CommandStatus.ESME_ROK)

    def max_in_any_second(self) -> int:
        """The most submit_sm received within any one second."""
        times = sorted(r.at for r in self.received)
        best, j = 0, 0
        for i, t in enumerate(times):
            while times[j] <= t - 1.0:
                j += 1
            best = max(best, i - j + 1)
        return best

    # -- internals -------------------------------------------------------------------------
    def _status_for(self, pdu: SubmitSm) -> int:
        self._count += 1
        if self.throttle_every and self._count % self.throttle_every == 0:
            return CommandStatus.ESME_RTHROTTLED
        if pdu.destination_addr.startswith(self.reject_prefixes):
            return CommandStatus.ESME_RINVDSTADR
        return CommandStatus.ESME_ROK

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer(self, conn: SmppConnection, pdu: SubmitSm) -> None:
        status = self._status_for(pdu)
        loop = asyncio.get_running_loop()
        self.received.append(Received(loop.time(), pdu.destination_addr, pdu.short_message, status))
        if self.resp_delay:
            await asyncio.sleep(self.resp_delay)
        self.answered[status] += 1
        if status != CommandStatus.ESME_ROK:
            conn.respond(response_to(pdu, status))
            return
        n = next(self._ids) + (self.id_base if self.hex_ids else 0)
        msg_id = f"{n:012X}" if self.hex_ids else f"{self.name}-{n}"
        conn.respond(response_to(pdu, message_id=msg_id))
        if pdu.registered_delivery & 0x03:
            receipt_id = str(n) if self.hex_ids else msg_id
            self._undelivered[receipt_id] = pdu
            await asyncio.sleep(self.dlr_delay)
            await self._receipt(conn, pdu, receipt_id)

    def _resend_receipts(self, conn: SmppConnection) -> None:
        for receipt_id, submit in list(self._undelivered.items()):
            self._spawn(self._receipt(conn, submit, receipt_id))

    async def _receipt(self, conn: SmppConnection, submit: SubmitSm, receipt_id: str) -> None:
        receipt = receipt_pdu(
            receipt_id,
            self.dlr_stat,
            source=Address(submit.dest_addr_ton, submit.dest_addr_npi, submit.destination_addr),
            destination=Address(submit.source_addr_ton, submit.source_addr_npi, submit.source_addr),
            text=submit.short_message[:20].decode("latin-1"),
        )
        if self.hex_ids:
            kept = tuple(t for t in receipt.tlvs if t.tag != Tag.RECEIPTED_MESSAGE_ID)
            receipt = replace(receipt, tlvs=kept)
        with contextlib.suppress(ConnectionClosed, ResponseTimeout):
            resp = await conn.request(receipt)
            if resp.command_status == CommandStatus.ESME_ROK and self._undelivered.pop(
                receipt_id, None
            ):
                self.receipts_acked += 1


class _Handler:
    def __init__(self, smsc: ChaosSmsc) -> None:
        self.smsc = smsc

    def on_request(self, conn: SmppConnection, pdu: Pdu) -> None:
        if pdu.command_id in _BINDS:
            self.smsc.binds += 1
            conn.respond(response_to(pdu, system_id="CHAOS"))
        elif isinstance(pdu, SubmitSm):
            self.smsc._spawn(self.smsc._answer(conn, pdu))
        else:
            conn.respond(response_to(pdu, CommandStatus.ESME_RINVCMDID))

    def on_connected(self, conn: SmppConnection) -> None:
        pass

    def on_bound(self, conn: SmppConnection) -> None:
        self.smsc._conns.add(conn)
        self.smsc._resend_receipts(conn)

    def on_closed(self, conn: SmppConnection) -> None:
        self.smsc._conns.discard(conn)
