"""gateway.transport.connection: the asyncio shell, two real SmppConnections on loopback.

Nothing here measures time: short response timeouts only make a silent peer fail fast,
and every await that could hang is bounded by ``asyncio.wait_for(..., GUARD)``.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TypeVar

import pytest

from gateway.smpp import (
    HEADER_SIZE,
    BindTransceiver,
    BindTransceiverResp,
    CommandId,
    CommandStatus,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    GenericNack,
    LocalProtocolError,
    Pdu,
    Role,
    Session,
    SessionConfig,
    State,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    decode,
    encode,
    response_to,
)
from gateway.transport.connection import ConnectionClosed, ResponseTimeout, SmppConnection

GUARD = 10.0  # seconds; a hang guard, never an expectation
T = TypeVar("T")


async def guard(aw: Awaitable[T]) -> T:
    return await asyncio.wait_for(aw, GUARD)


class Handler:
    """A trivial application: answers binds, answers or holds submit_sm, acks deliver_sm."""

    def __init__(self, *, answer_submits: bool = True) -> None:
        self.answer_submits = answer_submits
        self.bind_later = False
        self.bind_status = CommandStatus.ESME_ROK
        self.submit_status = CommandStatus.ESME_ROK
        self.requests: asyncio.Queue[Pdu] = asyncio.Queue()
        self.held: list[tuple[SmppConnection, Pdu]] = []
        self.conn: SmppConnection | None = None
        self.bound = 0
        self.closed = 0

    def on_request(self, conn: SmppConnection, pdu: Pdu) -> None:
        self.conn = conn
        self.requests.put_nowait(pdu)
        if pdu.command_id in (
            CommandId.BIND_TRANSMITTER,
            CommandId.BIND_RECEIVER,
            CommandId.BIND_TRANSCEIVER,
        ):
            answer = (
                response_to(pdu, self.bind_status)
                if self.bind_status
                else response_to(pdu, system_id="TEST")
            )
            if self.bind_later:  # like the gateway: the ledger is asked first
                asyncio.get_running_loop().call_soon(conn.respond, answer)
            else:
                conn.respond(answer)
        elif isinstance(pdu, SubmitSm):
            if self.answer_submits:
                self.answer(conn, pdu)
            else:
                self.held.append((conn, pdu))
        else:
            conn.respond(response_to(pdu))

    def answer(self, conn: SmppConnection, pdu: Pdu) -> None:
        """Answer a submit_sm; its short_message comes back as the message_id."""
        assert isinstance(pdu, SubmitSm)
        if self.submit_status:
            conn.respond(response_to(pdu, self.submit_status))
        else:
            conn.respond(response_to(pdu, message_id=pdu.short_message.decode()))

    def answer_held(self, index: int = 0) -> None:
        conn, pdu = self.held.pop(index)
        self.answer(conn, pdu)

    def on_bound(self, conn: SmppConnection) -> None:
        self.bound += 1

    def on_closed(self, conn: SmppConnection) -> None:
        self.closed += 1


@dataclass
class Link:
    """A client (ESME role) connected to a server (SMSC role) on 127.0.0.1."""

    port: int
    client: SmppConnection
    client_handler: Handler
    server_handler: Handler
    server_conns: list[SmppConnection] = field(default_factory=list)

    @property
    def server(self) -> SmppConnection:
        assert len(self.server_conns) == 1
        return self.server_conns[0]


@asynccontextmanager
async def linked(
    client_config: SessionConfig | None = None,
    server_config: SessionConfig | None = None,
    *,
    answer_submits: bool = True,
) -> AsyncIterator[Link]:
    loop = asyncio.get_running_loop()
    server_handler = Handler(answer_submits=answer_submits)
    client_handler = Handler()
    server_conns: list[SmppConnection] = []

    def factory() -> SmppConnection:
        session = Session(Role.SMSC, server_config, now=loop.time())
        conn = SmppConnection(session, server_handler)
        server_conns.append(conn)
        return conn

    server = await loop.create_server(factory, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    _, client = await loop.create_connection(
        lambda: SmppConnection(Session(Role.ESME, client_config, now=loop.time()), client_handler),
        "127.0.0.1",
        port,
    )
    link = Link(port, client, client_handler, server_handler, server_conns)
    try:
        yield link
    finally:
        for conn in [client, *server_conns]:
            conn.abort()
            await guard(conn.closed.wait())
        server.close()
        await guard(server.wait_closed())


def submit(text: str) -> SubmitSm:
    return SubmitSm(
        sequence_number=0,
        source_addr="SENDER",
        destination_addr="33612345678",
        short_message=text.encode(),
    )


BIND = BindTransceiver(sequence_number=0, system_id="esme1", password="secret")


async def bind(link: Link) -> None:
    resp = await guard(link.client.request(BIND))
    assert isinstance(resp, BindTransceiverResp)
    assert resp.command_status == CommandStatus.ESME_ROK


async def settle() -> None:
    """Let every ready callback and task run (a few loop turns, no wall-clock wait)."""
    for _ in range(10):
        await asyncio.sleep(0)


# --- request / response -------------------------------------------------------------------


async def test_request_returns_the_response() -> None:
    async with linked() as link:
        resp = await guard(link.client.request(BIND))
        assert isinstance(resp, BindTransceiverResp)
        assert resp.system_id == "TEST"
        assert link.client.session.state is State.BOUND_TRX
        assert link.client_handler.bound == 1
        assert link.server.session.state is State.BOUND_TRX

        resp = await guard(link.client.request(submit("hello")))
        assert isinstance(resp, SubmitSmResp)
        assert resp.command_status == CommandStatus.ESME_ROK
        assert resp.message_id == "hello"
        received = [link.server_handler.requests.get_nowait() for _ in range(2)]
        assert isinstance(received[1], SubmitSm)
        assert received[1].sequence_number == resp.sequence_number
        assert link.client.session.outstanding == []


async def test_both_sides_hear_on_bound_once_and_a_refused_bind_binds_neither() -> None:
    async with linked() as link:
        link.server_handler.bind_later = True  # answered outside on_request, as the gateway does
        await bind(link)
        await settle()
        assert (link.client_handler.bound, link.server_handler.bound) == (1, 1)
    async with linked() as link:
        link.server_handler.bind_status = CommandStatus.ESME_RBINDFAIL
        resp = await guard(link.client.request(BIND))
        assert resp.command_status == CommandStatus.ESME_RBINDFAIL
        await settle()
        assert (link.client_handler.bound, link.server_handler.bound) == (0, 0)
        assert link.server.session.state is State.OPEN


async def test_error_status_is_returned_not_raised() -> None:
    async with linked() as link:
        await bind(link)
        link.server_handler.submit_status = CommandStatus.ESME_RSUBMITFAIL
        resp = await guard(link.client.request(submit("x")))
        assert isinstance(resp, SubmitSmResp)
        assert resp.command_status == CommandStatus.ESME_RSUBMITFAIL


async def test_server_side_request_reaches_the_client_handler() -> None:
    async with linked() as link:
        await bind(link)
        deliver = DeliverSm(sequence_number=0, source_addr="3361", short_message=b"mo")
        resp = await guard(link.server.request(deliver))
        assert isinstance(resp, DeliverSmResp)
        assert resp.command_status == CommandStatus.ESME_ROK
        got = link.client_handler.requests.get_nowait()
        assert isinstance(got, DeliverSm)
        assert got.short_message == b"mo"


# --- window -------------------------------------------------------------------------------


async def test_third_request_waits_for_a_window_slot() -> None:
    async with linked(SessionConfig(window=2), answer_submits=False) as link:
        await bind(link)
        await guard(link.server_handler.requests.get())  # the bind
        tasks = [asyncio.create_task(link.client.request(submit(f"m{i}"))) for i in (1, 2, 3)]
        for _ in range(2):
            await guard(link.server_handler.requests.get())
        await settle()
        # Two on the wire, the third held back by the shell (the session would refuse it).
        assert link.client.session.window_available == 0
        assert len(link.client.session.outstanding) == 2
        assert not any(t.done() for t in tasks)
        assert link.server_handler.requests.empty()

        link.server_handler.answer_held(0)  # frees one slot
        first = await guard(tasks[0])
        assert isinstance(first, SubmitSmResp)
        assert first.message_id == "m1"
        third = await guard(link.server_handler.requests.get())
        assert isinstance(third, SubmitSm)
        assert third.short_message == b"m3"

        link.server_handler.answer_held(1)  # m3 before m2: out of order is fine
        link.server_handler.answer_held(0)
        results = await guard(asyncio.gather(tasks[1], tasks[2]))
        assert [r.message_id for r in results if isinstance(r, SubmitSmResp)] == ["m2", "m3"]
        assert link.client.session.window_available == 2


# --- connection loss and timeouts ---------------------------------------------------------


async def test_waiters_get_connection_closed_when_the_peer_drops() -> None:
    async with linked(SessionConfig(window=1), answer_submits=False) as link:
        await bind(link)
        in_flight = asyncio.create_task(link.client.request(submit("a")))
        waiting = asyncio.create_task(link.client.request(submit("b")))
        await guard(link.server_handler.requests.get())  # the bind
        await guard(link.server_handler.requests.get())  # "a"
        await settle()
        assert not waiting.done()

        link.server.abort()
        for task in (in_flight, waiting):
            with pytest.raises(ConnectionClosed):
                await guard(task)
        await guard(link.client.closed.wait())
        assert link.client_handler.closed == 1
        assert link.client.session.state is State.CLOSED
        with pytest.raises(ConnectionClosed):
            await guard(link.client.request(submit("c")))
        link.client.respond(SubmitSmResp(sequence_number=1))  # a no-op once closed


async def test_response_timeout_when_the_peer_never_answers() -> None:
    config = SessionConfig(response_timeout=0.2)
    async with linked(config, answer_submits=False) as link:
        await bind(link)
        with pytest.raises(ResponseTimeout):
            await guard(link.client.request(submit("lost")))
        assert link.client.session.outstanding == []
        assert link.client.session.window_available == config.window
        # The link is still up: a late answer is dropped, a new request works.
        link.server_handler.answer_held(0)
        link.server_handler.answer_submits = True
        resp = await guard(link.client.request(submit("next")))
        assert isinstance(resp, SubmitSmResp)
        assert resp.message_id == "next"


# --- unbind -------------------------------------------------------------------------------


@pytest.mark.parametrize("initiator", ["client", "server"])
async def test_unbind_closes_both_sides(initiator: str) -> None:
    async with linked() as link:
        await bind(link)
        me = link.client if initiator == "client" else link.server
        peer = link.server if initiator == "client" else link.client
        await guard(me.unbind())
        await guard(peer.closed.wait())
        await guard(me.closed.wait())
        assert me.session.state is State.CLOSED
        assert peer.session.state is State.CLOSED
        assert link.client_handler.closed == 1
        assert link.server_handler.closed == 1


async def test_a_request_while_the_peer_unbind_waits_for_our_answers_is_connection_closed() -> None:
    """The peer's unbind waits for the submit_sm_resp we owe; the session starts no request
    meanwhile, and the caller hears the link is gone (its retry rule), not a bug of ours."""
    async with linked(answer_submits=False) as link:
        await bind(link)
        pending = asyncio.create_task(link.client.request(submit("owed")))
        while not link.server_handler.held:
            await guard(asyncio.sleep(0.01))
        link.client.send_request_nowait(Unbind(sequence_number=0))
        while link.server.session.state is not State.UNBINDING:
            await guard(asyncio.sleep(0.01))
        with pytest.raises(ConnectionClosed):
            await guard(link.server.request(DeliverSm(sequence_number=0, short_message=b"r")))
        link.server_handler.answer_held()
        resp = await guard(pending)
        assert isinstance(resp, SubmitSmResp)
        assert resp.message_id == "owed"
        await guard(link.server.closed.wait())


# --- raw peers: what the shell does with bad bytes ----------------------------------------


async def read_pdu(reader: asyncio.StreamReader) -> Pdu:
    head = await guard(reader.readexactly(HEADER_SIZE))
    (length,) = struct.unpack_from(">I", head)
    return decode(head + await guard(reader.readexactly(length - HEADER_SIZE)))


async def test_garbage_header_gets_generic_nack_then_the_server_hangs_up() -> None:
    async with linked() as link:
        reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
        try:
            writer.write(b"\xff" * 16)
            nack = await read_pdu(reader)
            assert nack == GenericNack(
                sequence_number=0xFFFFFFFF, command_status=CommandStatus.ESME_RINVCMDLEN
            )
            assert await guard(reader.read()) == b""  # then EOF
        finally:
            writer.close()
            await writer.wait_closed()
        raw_side = link.server_conns[-1]
        await guard(raw_side.closed.wait())
        assert raw_side.session.state is State.CLOSED


async def test_unparseable_response_ends_in_response_timeout_not_a_hang() -> None:
    """A peer whose submit_sm_resp we cannot decode (message_id over 64 octets)."""
    loop = asyncio.get_running_loop()

    async def smsc(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bind_pdu = await read_pdu(reader)
        writer.write(encode(response_to(bind_pdu, system_id="RAW")))
        sub = await read_pdu(reader)
        body = b"z" * 70 + b"\x00"
        head = (HEADER_SIZE + len(body), CommandId.SUBMIT_SM_RESP, 0, sub.sequence_number)
        writer.write(struct.pack(">IIII", *head) + body)
        await reader.read()  # until the client hangs up
        writer.close()

    server = await asyncio.start_server(smsc, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    handler = Handler()
    config = SessionConfig(response_timeout=0.3)
    _, client = await loop.create_connection(
        lambda: SmppConnection(Session(Role.ESME, config, now=loop.time()), handler),
        "127.0.0.1",
        port,
    )
    try:
        await guard(client.request(BIND))
        with pytest.raises(ResponseTimeout):
            await guard(client.request(submit("x")))
        assert client.session.window_available == config.window
    finally:
        client.abort()
        await guard(client.closed.wait())
        server.close()
        await guard(server.wait_closed())


# --- timers in the shell ------------------------------------------------------------------


async def test_silent_peer_is_disconnected_after_the_inactivity_timeout() -> None:
    async with linked(server_config=SessionConfig(inactivity_timeout=0.2)) as link:
        await guard(link.client.closed.wait())  # never bound, never spoke
        assert link.client_handler.closed == 1
        await guard(link.server.closed.wait())
        assert link.server.session.state is State.CLOSED
        assert link.server_handler.closed == 1


async def test_smsc_side_keepalive_starts_once_its_bind_resp_is_sent() -> None:
    """The SMSC role becomes bound by sending bind_resp (``respond``), not by receiving."""
    config = SessionConfig(enquire_link_interval=0.05, inactivity_timeout=3.0)
    async with linked(server_config=config) as link:
        link.server_handler.bind_later = True
        reader, writer = await asyncio.open_connection("127.0.0.1", link.port)
        try:
            writer.write(encode(BindTransceiver(sequence_number=1, system_id="raw")))
            resp = await read_pdu(reader)
            assert isinstance(resp, BindTransceiverResp)
            assert resp.command_status == CommandStatus.ESME_ROK
            # We stay silent: the server must probe us, not wait for the inactivity timeout.
            ping = await read_pdu(reader)
            assert isinstance(ping, EnquireLink)
            writer.write(encode(response_to(ping)))
            again = await read_pdu(reader)
            assert isinstance(again, EnquireLink)
            assert again.sequence_number == ping.sequence_number + 1
        finally:
            writer.close()
            await writer.wait_closed()


# --- smaller paths of the shell -----------------------------------------------------------


async def test_request_not_allowed_in_the_state_raises_local_protocol_error() -> None:
    async with linked() as link:
        with pytest.raises(LocalProtocolError):
            await guard(link.client.request(submit("before bind")))
        assert not link.client.closed.is_set()
        await bind(link)  # the connection is still usable


async def test_send_request_nowait_numbers_and_sends_without_a_waiter() -> None:
    async with linked() as link:
        await bind(link)
        ping = link.client.send_request_nowait(EnquireLink(sequence_number=0))
        assert ping.sequence_number == 2  # after the bind
        assert link.client.session.outstanding == [ping]
        while link.client.session.outstanding:  # answered by the server session itself
            await guard(asyncio.sleep(0.01))
        assert link.server_handler.requests.qsize() == 1  # only the bind reached the app


async def test_requests_wait_while_the_transport_asks_us_to_pause() -> None:
    async with linked() as link:
        await bind(link)
        link.client.pause_writing()  # what asyncio calls when the write buffer is full
        task = asyncio.create_task(link.client.request(submit("held")))
        await settle()
        assert not task.done()
        assert link.client.session.outstanding == []  # not even queued
        link.client.resume_writing()
        resp = await guard(task)
        assert isinstance(resp, SubmitSmResp)
        assert resp.message_id == "held"
