"""Built-in upstream SMSC simulator: a real SMPP 3.4 server for `make run` and tests.

It accepts any bind, answers every submit_sm with its own message id, and when
registered_delivery asks for it sends a delivery receipt (deliver_sm, esm_class 0x04,
standard text, receipted_message_id and message_state TLVs) after a delay. For tests it
can also behave as some real SMSCs do: ``id_style="hex-decimal"`` answers a zero-padded
upper-case hex id and receipts it in decimal without the TLV, and ``resp_delay_ms``
holds each submit_sm_resp back so that a receipt can overtake it. Nothing here
reaches a handset: the gateway logs ``simulator.in_use`` at start so nobody mistakes it
for a real SMSC.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, field, replace
from typing import Any

import structlog

from gateway.config import SimulatorConfig
from gateway.delivery.receipt_pdus import Address, receipt_pdu
from gateway.smpp import (
    CommandId,
    CommandStatus,
    Pdu,
    Role,
    Session,
    SessionConfig,
    SubmitSm,
    Tag,
    response_to,
)
from gateway.transport.connection import ConnectionClosed, ResponseTimeout, SmppConnection

#: How the simulator spells message ids (see the module docstring).
ID_STYLES = ("plain", "hex-decimal")

_BIND_IDS = {CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER}


@dataclass
class SimulatorStats:
    """Counters, for tests and the stop log line."""

    binds: int = 0
    submits: int = 0
    receipts_sent: int = 0
    receipts_acked: int = 0
    submitted_ids: list[str] = field(default_factory=list)
    #: short_message of every accepted submit_sm, when ``keep_ids`` (crash tests).
    submitted_messages: list[bytes] = field(default_factory=list)


class UpstreamSimulator:
    """An SMSC on ``host:port`` (port 0 picks a free one; see ``port`` after start)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        dlr_delay_ms: int = 100,
        dlr_stat: str = "DELIVRD",
        reject_status: int = 0,
        keep_ids: bool = False,
        id_style: str = "plain",
        resp_delay_ms: int = 0,
    ) -> None:
        if id_style not in ID_STYLES:
            raise ValueError(f"id_style must be one of {ID_STYLES}, not {id_style!r}")
        self.host = host
        self.port = port
        self.dlr_delay = dlr_delay_ms / 1000
        self.dlr_stat = dlr_stat
        #: when non-zero, every submit_sm is refused with this status (tests).
        self.reject_status = reject_status
        self.keep_ids = keep_ids
        self.id_style = id_style
        self.resp_delay = resp_delay_ms / 1000
        self.stats = SimulatorStats()
        self.log = structlog.get_logger("smppgw.simulator").bind(component="simulator")
        self._server: asyncio.Server | None = None
        self._conns: set[SmppConnection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._ids = itertools.count(1)
        self._id_prefix = f"{secrets.randbits(20):05x}"
        self._id_base = secrets.randbits(24) << 16  # hex-decimal ids: unique per instance

    @classmethod
    def from_config(cls, config: SimulatorConfig) -> UpstreamSimulator:
        """The simulator the ``[simulator]`` settings describe (``enabled`` is the caller's)."""
        return cls(
            config.host,
            config.port,
            dlr_delay_ms=config.dlr_delay_ms,
            dlr_stat=config.dlr_stat,
        )

    async def start(self) -> None:
        """Listen; afterwards ``self.port`` is the real port."""
        loop = asyncio.get_running_loop()

        def factory() -> SmppConnection:
            session = Session(Role.SMSC, SessionConfig(window=100), now=loop.time())
            return SmppConnection(session, _SimHandler(self), self.log)

        self._server = await loop.create_server(factory, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Stop listening and drop every session."""
        for t in list(self._tasks):
            t.cancel()
        for c in list(self._conns):
            c.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _next_id(self) -> str:
        if self.id_style == "hex-decimal":
            return f"{self._id_base + next(self._ids):012X}"
        return f"{self._id_prefix}{next(self._ids):08x}"

    def _receipt_id(self, msg_id: str) -> str:
        """The id as the receipt spells it (decimal, for ``hex-decimal``)."""
        return str(int(msg_id, 16)) if self.id_style == "hex-decimal" else msg_id

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send_receipt(self, conn: SmppConnection, submit: SubmitSm, msg_id: str) -> None:
        await asyncio.sleep(self.dlr_delay)
        receipt = receipt_pdu(
            self._receipt_id(msg_id),
            self.dlr_stat,
            source=Address(submit.dest_addr_ton, submit.dest_addr_npi, submit.destination_addr),
            destination=Address(submit.source_addr_ton, submit.source_addr_npi, submit.source_addr),
            text=_receipt_text(submit),
        )
        if self.id_style == "hex-decimal":  # the id only in the text, as such SMSCs send it
            kept = tuple(t for t in receipt.tlvs if t.tag != Tag.RECEIPTED_MESSAGE_ID)
            receipt = replace(receipt, tlvs=kept)
        try:
            resp = await conn.request(receipt)
        except (ConnectionClosed, ResponseTimeout):
            return
        self.stats.receipts_sent += 1
        if resp.command_status == CommandStatus.ESME_ROK:
            self.stats.receipts_acked += 1


def _receipt_text(submit: SubmitSm) -> str:
    """The first 20 characters of the message, printable, UDH skipped (as SMSCs do)."""
    content = submit.short_message
    if submit.udhi and content:
        content = content[1 + content[0] :]
    return "".join(chr(b) if 32 <= b < 127 else "." for b in content[:20])


async def _respond_later(conn: SmppConnection, pdu: SubmitSm, msg_id: str, delay: float) -> None:
    await asyncio.sleep(delay)
    conn.respond(response_to(pdu, message_id=msg_id))


class _SimHandler:
    def __init__(self, sim: UpstreamSimulator) -> None:
        self.sim = sim

    def on_request(self, conn: SmppConnection, pdu: Pdu) -> None:
        sim = self.sim
        if pdu.command_id in _BIND_IDS:
            sim.stats.binds += 1
            conn.respond(response_to(pdu, system_id="SMPPGWSIM"))
        elif isinstance(pdu, SubmitSm):
            sim.stats.submits += 1
            if sim.reject_status:
                conn.respond(response_to(pdu, sim.reject_status))
                return
            msg_id = sim._next_id()
            if sim.keep_ids:
                sim.stats.submitted_ids.append(msg_id)
                sim.stats.submitted_messages.append(pdu.short_message)
            if sim.resp_delay:
                sim._spawn(_respond_later(conn, pdu, msg_id, sim.resp_delay))
            else:
                conn.respond(response_to(pdu, message_id=msg_id))
            if pdu.registered_delivery & 0x03 == 1 or (
                pdu.registered_delivery & 0x03 == 2 and sim.dlr_stat != "DELIVRD"
            ):
                sim._spawn(sim._send_receipt(conn, pdu, msg_id))
        else:  # pragma: no cover - the session table admits nothing else
            conn.respond(response_to(pdu, CommandStatus.ESME_RINVCMDID))

    def on_connected(self, conn: SmppConnection) -> None:
        pass

    def on_bound(self, conn: SmppConnection) -> None:
        self.sim._conns.add(conn)

    def on_closed(self, conn: SmppConnection) -> None:
        self.sim._conns.discard(conn)
