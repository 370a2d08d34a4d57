"""One bind of the load generator: an asyncio protocol over the sans-IO SMPP codec.

The bind sends at most ``window`` submit_sm without an answer, draws each from the
run's shared ``Budget``, writes every PDU one pump produces in one ``write`` (a write per
PDU costs a syscall each), answers deliver_sm and enquire_link at once, and counts every
answer in the run's ``RunStats``. It keeps its own sequence numbers and send times
instead of running ``gateway.smpp.Session``: the session machine is built for the
gateway's two sides (timers, backpressure events, a transition table per PDU), a load
generator needs only a dict of outstanding sequence numbers, and every PDU is still
framed, decoded and encoded by ``gateway.smpp`` (``PduReader``, ``decode``, ``encode``).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import cast

from gateway.loadgen.destinations import DestinationMix
from gateway.loadgen.messages import MessageMix
from gateway.loadgen.plan import Budget, LoadOptions
from gateway.loadgen.stats import RunStats, status_name
from gateway.smpp import (
    ESM_CLASS_DELIVERY_RECEIPT,
    ESM_CLASS_TYPE_MASK,
    MAX_SEQUENCE,
    Bind,
    BindResp,
    DeliverSm,
    DeliverSmResp,
    EnquireLink,
    EnquireLinkResp,
    GenericNack,
    PduError,
    PduReader,
    SubmitSm,
    SubmitSmResp,
    Tag,
    Unbind,
    UnbindResp,
    decode,
    encode,
)

# Only the id and the stat word of a receipt, by two searches (~1 µs), not the gateway's
# own reader (gateway.delivery.receipt_pdus.read_upstream_receipt, ~16 µs: it parses every
# field and both dates, which the gateway needs to rewrite a receipt and a load generator
# does not); measured with timeit here. The generator shares the cores of the server it
# measures, so what it spends per receipt is taken from the server's figure.
_RECEIPT_ID = re.compile(rb"id:(\S+)", re.IGNORECASE)
_RECEIPT_STAT = re.compile(rb"stat:(\w+)", re.IGNORECASE)
#: registered_delivery asking for a final receipt (SMPP 3.4 5.2.17).
_RECEIPT_REQUESTED = 1
_INTERNATIONAL, _E164 = 1, 1


@dataclass
class Shared:
    """What every bind of one run shares (built by the runner)."""

    options: LoadOptions
    stats: RunStats
    budget: Budget
    messages: MessageMix
    destinations: DestinationMix
    #: Accepted message ids still waiting for their receipt (receipts on).
    waiting: set[str] = field(default_factory=set)
    #: Receipts that came before their submit_sm_resp was read (another connection).
    early: set[str] = field(default_factory=set)
    #: Every accepted message id, in order (kept for the ledger check only).
    accepted_ids: list[str] = field(default_factory=list)
    #: perf_counter of the first submit sent and of the last answer read.
    first_sent: float = 0.0
    last_answer: float = 0.0


class BindClient(asyncio.Protocol):
    """One SMPP bind: bind, submit within the window, answer the server, unbind."""

    def __init__(self, shared: Shared, bind: type[Bind], *, submits: bool) -> None:
        self.shared = shared
        self.bind_class = bind
        self.submits = submits
        self.reader = PduReader()
        self.transport: asyncio.Transport | None = None
        self.outstanding: dict[int, float] = {}
        self.bound: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.unbound: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.done_sending = not submits
        self.lost = False
        self._seq = 0
        self.last_write = 0.0  # perf_counter of the last write (keepalive)
        self._is_bound = False
        self._started = False  # the runner starts every bind at once, after all bound
        self._paused = False
        self._timer: asyncio.TimerHandle | None = None
        self._parts: list[bytes] = []  # remaining parts of a long message, last first
        self._part_of: tuple[int, int, str] = (0, 0, "")  # data_coding, esm_class, dest

    # -- asyncio callbacks ------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Send the bind at once."""
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        o = self.shared.options
        self.transport.write(
            encode(
                self.bind_class(
                    sequence_number=self._next_seq(),
                    system_id=o.system_id,
                    password=o.password,
                    system_type=o.system_type,
                )
            )
        )

    def data_received(self, data: bytes) -> None:
        """Frame, decode and act on every PDU of this read; pump once afterwards."""
        self.reader.feed(data)
        now = time.perf_counter()
        replies: list[bytes] = []
        try:
            for frame in self.reader.frames():
                self._on_frame(frame, now, replies)
        except PduError as e:  # the stream cannot be framed any more
            self.shared.stats.bind_errors.append(f"unframeable data from the server: {e}")
            self.close()
            return
        if replies and self.transport is not None:
            self.transport.write(b"".join(replies))
            self.last_write = now
        self.pump()

    def connection_lost(self, exc: Exception | None) -> None:
        """Count a connection that ended before the run did; settle every future."""
        if not self.unbound.done():
            self.unbound.set_result(None)
            if self._is_bound:
                self.shared.stats.disconnects += 1
        if not self.bound.done():
            self.bound.set_exception(ConnectionError(f"closed before bind_resp ({exc or 'EOF'})"))
        self.lost = True
        self.done_sending = True
        self._is_bound = False
        if self._timer is not None:
            self._timer.cancel()

    def pause_writing(self) -> None:
        """The socket buffer is full: stop pumping until it drains."""
        self._paused = True

    def resume_writing(self) -> None:
        """The socket buffer drained: send again."""
        self._paused = False
        self.pump()

    # -- sending ----------------------------------------------------------------------
    def pump(self) -> None:
        """Fill the window from the budget; every PDU in one write."""
        if (
            not self._started
            or not self._is_bound
            or self.done_sending
            or self._paused
            or self._timer is not None
        ):
            return
        shared, window, outstanding = self.shared, self.shared.options.window, self.outstanding
        budget = shared.budget
        frames: list[bytes] = []
        now = time.perf_counter()
        while len(outstanding) < window:
            wait = budget.take(now, more=bool(self._parts))
            if wait is None:
                self.done_sending = True
                break
            if wait > 0:
                self._timer = asyncio.get_running_loop().call_later(wait, self._wake)
                break
            if not self._parts:
                message = shared.messages()
                self._parts = list(reversed(message.parts))
                self._part_of = (message.data_coding, message.esm_class, shared.destinations())
            data_coding, esm_class, destination = self._part_of
            seq = self._next_seq()
            frames.append(self._submit(seq, self._parts.pop(), data_coding, esm_class, destination))
            outstanding[seq] = now
        if frames and self.transport is not None:
            if not shared.first_sent:
                shared.first_sent = now
            shared.stats.sent += len(frames)
            self.transport.write(b"".join(frames))
            self.last_write = now

    def start(self) -> None:
        """Begin sending (the run's budget is set)."""
        self._started = True
        self.pump()

    def _submit(self, seq: int, part: bytes, coding: int, esm_class: int, dest: str) -> bytes:
        o = self.shared.options
        return encode(
            SubmitSm(
                sequence_number=seq,
                source_addr_ton=o.source_ton,
                source_addr_npi=o.source_npi,
                source_addr=o.source_addr,
                dest_addr_ton=_INTERNATIONAL,
                dest_addr_npi=_E164,
                destination_addr=dest,
                esm_class=esm_class,
                registered_delivery=_RECEIPT_REQUESTED if o.receipts else 0,
                data_coding=coding,
                short_message=part,
            )
        )

    def _wake(self) -> None:
        self._timer = None
        self.pump()

    def _next_seq(self) -> int:
        self._seq = self._seq + 1 if self._seq < MAX_SEQUENCE else 1
        return self._seq

    # -- receiving --------------------------------------------------------------------
    def _on_frame(self, frame: bytes, now: float, replies: list[bytes]) -> None:
        shared = self.shared
        try:
            pdu = decode(frame)
        except PduError as e:  # a PDU we cannot read: answer as a server would
            t0 = self.outstanding.pop(e.sequence_number or 0, None)
            if t0 is not None:
                shared.stats.answer(e.status, now - t0)
            return
        if isinstance(pdu, SubmitSmResp | GenericNack):
            t0 = self.outstanding.pop(pdu.sequence_number, None)
            if t0 is None:
                return  # answered after its timeout: already counted
            shared.stats.answer(pdu.command_status, now - t0)
            shared.last_answer = now
            if pdu.command_status == 0 and isinstance(pdu, SubmitSmResp):
                self._accepted(pdu.message_id)
        elif isinstance(pdu, DeliverSm):
            replies.append(encode(DeliverSmResp(sequence_number=pdu.sequence_number)))
            self._delivered(pdu)
        elif isinstance(pdu, EnquireLink):
            replies.append(encode(EnquireLinkResp(sequence_number=pdu.sequence_number)))
        elif isinstance(pdu, BindResp):
            self._bind_answered(pdu)
        elif isinstance(pdu, Unbind):
            replies.append(encode(UnbindResp(sequence_number=pdu.sequence_number)))
            self.done_sending = True
            self._is_bound = False
        elif isinstance(pdu, UnbindResp) and not self.unbound.done():
            self.unbound.set_result(None)

    def _accepted(self, message_id: str) -> None:
        shared = self.shared
        if shared.options.keep_ids:
            shared.accepted_ids.append(message_id)
        if shared.options.receipts:
            if message_id in shared.early:
                shared.early.discard(message_id)
                shared.stats.receipts_matched += 1
            else:
                shared.waiting.add(message_id)

    def _delivered(self, pdu: DeliverSm) -> None:
        stats = self.shared.stats
        if pdu.esm_class & ESM_CLASS_TYPE_MASK != ESM_CLASS_DELIVERY_RECEIPT:
            stats.mo += 1
            return
        stats.receipts += 1
        text = pdu.short_message
        stat = _RECEIPT_STAT.search(text)
        stats.receipts_by_stat[stat.group(1).decode("latin-1").upper() if stat else "unknown"] += 1
        receipt_id = receipted_id(pdu)
        if receipt_id is None:
            return
        waiting = self.shared.waiting
        if receipt_id in waiting:
            waiting.discard(receipt_id)
            stats.receipts_matched += 1
        else:
            self.shared.early.add(receipt_id)

    def _bind_answered(self, pdu: BindResp) -> None:
        if self.bound.done():
            return
        if pdu.command_status == 0:
            self._is_bound = True
            self.last_write = time.perf_counter()
            self.bound.set_result(pdu.system_id)
        else:
            self.bound.set_exception(BindRefused(status_name(pdu.command_status)))

    # -- the end ----------------------------------------------------------------------
    def expire(self, now: float, timeout_s: float) -> int:
        """Count and forget submits unanswered for ``timeout_s``; how many there were."""
        expired = [seq for seq, t0 in self.outstanding.items() if now - t0 > timeout_s]
        for seq in expired:
            del self.outstanding[seq]
        self.shared.stats.timeouts += len(expired)
        if expired:
            self.pump()
        return len(expired)

    def keepalive(self, now: float, idle_s: float) -> None:
        """Send enquire_link when this bind wrote nothing for ``idle_s`` (an rx bind
        waiting for receipts, a bind held back by a low rate)."""
        if self._is_bound and self.transport is not None and now - self.last_write >= idle_s:
            self.transport.write(encode(EnquireLink(sequence_number=self._next_seq())))
            self.last_write = now

    def stop_sending(self) -> None:
        """No more submits from this bind (the run is over)."""
        self.done_sending = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    async def unbind(self, timeout_s: float = 2.0) -> None:
        """Unbind (waiting up to ``timeout_s`` for unbind_resp), then close."""
        if self._is_bound and self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode(Unbind(sequence_number=self._next_seq())))
            with contextlib.suppress(TimeoutError):  # the server may just close
                await asyncio.wait_for(asyncio.shield(self.unbound), timeout_s)
        self.close()

    def close(self) -> None:
        """Close the connection (no unbind)."""
        self.done_sending = True
        self._is_bound = False
        if self.transport is not None:
            self.transport.close()


class BindRefused(Exception):
    """The server answered the bind with an error status (its name is the message)."""


def receipted_id(pdu: DeliverSm) -> str | None:
    """The message id a receipt is about: ``receipted_message_id`` TLV, else ``id:`` of
    the text."""
    for tlv in pdu.tlvs:
        if tlv.tag == Tag.RECEIPTED_MESSAGE_ID:
            return tlv.value.rstrip(b"\0").decode("latin-1")
    found = _RECEIPT_ID.search(pdu.short_message)
    return found.group(1).decode("latin-1") if found else None


#: Builds one client for ``loop.create_connection`` (a bind class and whether it submits).
ClientFactory = Callable[[], BindClient]

__all__ = ["BindClient", "BindRefused", "ClientFactory", "Shared", "receipted_id"]
