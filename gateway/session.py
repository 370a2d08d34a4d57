"""Sans-IO SMPP session: bind states, allowed PDUs, sequence numbers, window and timers.

The session never touches a socket, a clock or a database. The asyncio shell feeds it
received octets with the current time (``receive_data(data, now)``), hands it the PDUs the
application wants to send (``send(pdu, now)``), writes out ``data_to_send()``, and arms a
timer for ``next_deadline()`` that calls ``handle_timer(now)``. Everything the application
must decide on comes back as events.

The same machine plays both roles: ``Role.SMSC`` for the gateway's server side (ESMEs bind
to us) and ``Role.ESME`` for the upstream client (we bind to an SMSC).

How it works: ``_INBOUND`` says, for a role and a state, which request command_ids the peer
may send; ``_OUTBOUND`` says which we may send. A request outside the table is answered
automatically (ESME_RALYBND for a second bind, ESME_RINVBNDSTS otherwise) and never reaches
the application. Transitions happen on bind responses and unbind.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from gateway.pdu import (
    DEFAULT_MAX_PDU_SIZE,
    MAX_SEQUENCE,
    RESPONSE_BIT,
    CommandId,
    CommandStatus,
    EnquireLink,
    Pdu,
    PduError,
    PduReader,
    decode,
    encode,
    error_answer,
    response_to,
    with_sequence,
)

C = CommandId


class Role(Enum):
    """Which side of the link the session plays."""

    SMSC = "smsc"  # we accept binds (the gateway's server)
    ESME = "esme"  # we bind (the gateway's upstream client)


class State(Enum):
    """SMPP 3.4 session states (§2.2), plus UNBINDING while our unbind awaits its resp."""

    OPEN = "open"
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"
    CLOSED = "closed"

    @property
    def is_bound(self) -> bool:
        """True in BOUND_TX, BOUND_RX and BOUND_TRX."""
        return self in _BOUND


_BOUND = frozenset({State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX})
_BINDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
_BIND_STATE: dict[int, State] = {
    C.BIND_TRANSMITTER: State.BOUND_TX,
    C.BIND_RECEIVER: State.BOUND_RX,
    C.BIND_TRANSCEIVER: State.BOUND_TRX,
    C.BIND_TRANSMITTER_RESP: State.BOUND_TX,
    C.BIND_RECEIVER_RESP: State.BOUND_RX,
    C.BIND_TRANSCEIVER_RESP: State.BOUND_TRX,
}
_LINK = frozenset({C.ENQUIRE_LINK, C.UNBIND})

#: role -> state -> request command_ids the PEER may send us.
_INBOUND: dict[Role, dict[State, frozenset[int]]] = {
    Role.SMSC: {
        State.OPEN: _BINDS | {C.ENQUIRE_LINK},
        State.BOUND_TX: _LINK | {C.SUBMIT_SM},
        State.BOUND_RX: _LINK,
        State.BOUND_TRX: _LINK | {C.SUBMIT_SM},
        State.UNBINDING: frozenset({C.ENQUIRE_LINK, C.UNBIND}),
        State.CLOSED: frozenset(),
    },
    Role.ESME: {
        State.OPEN: frozenset({C.ENQUIRE_LINK}),
        State.BOUND_TX: _LINK,
        State.BOUND_RX: _LINK | {C.DELIVER_SM},
        State.BOUND_TRX: _LINK | {C.DELIVER_SM},
        State.UNBINDING: frozenset({C.ENQUIRE_LINK, C.UNBIND}),
        State.CLOSED: frozenset(),
    },
}

#: role -> state -> request command_ids WE may send.
_OUTBOUND: dict[Role, dict[State, frozenset[int]]] = {
    Role.SMSC: {
        State.OPEN: frozenset({C.ENQUIRE_LINK}),
        State.BOUND_TX: _LINK,
        State.BOUND_RX: _LINK | {C.DELIVER_SM},
        State.BOUND_TRX: _LINK | {C.DELIVER_SM},
        State.UNBINDING: frozenset(),
        State.CLOSED: frozenset(),
    },
    Role.ESME: {
        State.OPEN: _BINDS | {C.ENQUIRE_LINK},
        State.BOUND_TX: _LINK | {C.SUBMIT_SM},
        State.BOUND_RX: _LINK,
        State.BOUND_TRX: _LINK | {C.SUBMIT_SM},
        State.UNBINDING: frozenset(),
        State.CLOSED: frozenset(),
    },
}


class LocalProtocolError(Exception):
    """We tried to send something the session state does not allow (a bug of ours)."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    """Limits and timers of one session; all times in seconds."""

    max_pdu_size: int = DEFAULT_MAX_PDU_SIZE
    #: outbound requests (deliver_sm / submit_sm) awaiting a response at once.
    window: int = 10
    #: inbound requests the application has not answered yet at which the session stops
    #: decoding (frames stay buffered) and the shell stops reading the socket (TCP
    #: backpressure), until half of them are answered.
    inbound_pause_at: int = 64
    #: hard cap on unanswered inbound requests, for a session that is fed past its pause;
    #: beyond it: ESME_RMSGQFUL.
    max_inbound_pending: int = 1024
    response_timeout: float = 10.0
    #: no PDU received for this long: the link is dead (also bounds time-to-bind).
    inactivity_timeout: float = 150.0
    #: send enquire_link after this long without sending anything (0 = never).
    enquire_link_interval: float = 0.0


# --- events ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """The peer sent a request the application must answer (bind, submit_sm, deliver_sm)."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """The peer answered one of our requests."""

    pdu: Pdu
    request: Pdu


@dataclass(frozen=True, slots=True)
class RequestTimedOut:
    """No response within ``response_timeout``; the request is no longer outstanding."""

    request: Pdu


@dataclass(frozen=True, slots=True)
class PduRejected:
    """A frame we could not accept; the answer has already been queued."""

    error: PduError
    answer: Pdu | None


@dataclass(frozen=True, slots=True)
class RequestRefused:
    """A peer request the session answered itself with an error (wrong state, full)."""

    pdu: Pdu
    status: CommandStatus


@dataclass(frozen=True, slots=True)
class UnsolicitedResponse:
    """A response whose sequence_number matches nothing we sent; dropped."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class Bound:
    """The session entered a bound state."""

    state: State


@dataclass(frozen=True, slots=True)
class Unbound:
    """The session is over by unbind (``by_peer`` says who started it)."""

    by_peer: bool


@dataclass(frozen=True, slots=True)
class MustClose:
    """The transport must be closed after flushing (framing lost, idle, unbound)."""

    reason: str


Event = (
    RequestReceived
    | ResponseReceived
    | RequestTimedOut
    | PduRejected
    | RequestRefused
    | UnsolicitedResponse
    | Bound
    | Unbound
    | MustClose
)


class Session:
    """One SMPP session, sans-IO. See the module docstring for the contract."""

    def __init__(self, role: Role, config: SessionConfig | None = None, *, now: float = 0.0):
        self.role = role
        self.config = config or SessionConfig()
        self.state = State.OPEN
        self._reader = PduReader(self.config.max_pdu_size)
        self._out: list[bytes] = []
        self._seq = 0
        #: our requests awaiting a response: seq -> (request, deadline)
        self._outstanding: dict[int, tuple[Pdu, float]] = {}
        #: peer requests the application has not answered: seq -> command_id
        self._inbound_pending: dict[int, int] = {}
        self._bind_pending = False
        self._holding = False
        self._deferred_unbind: Pdu | None = None
        self._last_received = now
        self._last_sent = now

    # -- properties ---------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        """True once the session is over (unbound, framing lost, idle, connection lost)."""
        return self.state is State.CLOSED

    @property
    def window_available(self) -> int:
        """How many more windowed requests may be sent now."""
        return max(0, self.config.window - self._windowed_outstanding())

    @property
    def outstanding(self) -> list[Pdu]:
        """Our requests still awaiting a response, oldest first."""
        return [req for req, _ in self._outstanding.values()]

    @property
    def inbound_pending(self) -> int:
        """Peer requests handed to the application and not answered yet."""
        return len(self._inbound_pending)

    def _windowed_outstanding(self) -> int:
        return sum(
            1 for req, _ in self._outstanding.values() if req.command_id not in _WINDOW_EXEMPT
        )

    # -- input --------------------------------------------------------------------------
    @property
    def input_held(self) -> bool:
        """True when no further request will be decoded: a peer unbind waits for our
        last answers, or ``hold_input()`` was called (graceful shutdown)."""
        return self._holding or self._deferred_unbind is not None

    @property
    def reading_paused(self) -> bool:
        """True while the application owes the peer ``inbound_pause_at`` answers, or
        input is held.

        Frames received meanwhile stay buffered, undecoded; the shell stops reading the
        socket too, and calls ``receive_data(b"", now)`` once answers have gone out.
        """
        return self.input_held or len(self._inbound_pending) >= self.config.inbound_pause_at

    def hold_input(self) -> None:
        """Decode nothing more (graceful shutdown): answers still owed can go out."""
        self._holding = True

    def receive_data(self, data: bytes, now: float) -> list[Event]:
        """Feed received octets; returns the events they produce, in order."""
        if self.state is State.CLOSED:
            return []
        self._reader.feed(data)
        events: list[Event] = []
        try:
            # While paused, frames stay buffered undecoded: one TCP read can hold
            # thousands of PDUs, more than the application should be owing at once.
            while not self.reading_paused:
                frame = self._reader.next_frame()
                if frame is None:
                    break
                self._last_received = now
                try:
                    pdu = decode(frame)
                except PduError as err:
                    self._reject(err, events, now)
                    continue
                self._dispatch(pdu, events, now)
                if self.closed:
                    break
        except PduError as err:  # framing lost: answer, then the transport must close
            self._reject(err, events, now)
        return events

    def _reject(self, err: PduError, events: list[Event], now: float) -> None:
        answer: Pdu | None = None
        # A response PDU we cannot parse gets no answer (answering a response would only
        # loop); a broken request or header gets generic_nack or its *_resp.
        # Fix (test_garbage_header_gets_generic_nack_then_must_close[all-ones]): a fatal
        # error is a bad command_length, answered with generic_nack whatever the garbage
        # command_id says (PduError.answer_with_generic_nack, SMPP 3.4 §4.3).
        if err.fatal or err.command_id is None or not (err.command_id & RESPONSE_BIT):
            answer = error_answer(err)
            self._queue(answer, now)
        # Fix (test_unparseable_response_leaves_the_request_to_its_timeout): a response we
        # cannot parse no longer settles its request silently (no event: the application
        # waited forever, a bind stayed pending). It stays outstanding and times out.
        events.append(PduRejected(err, answer))
        if err.fatal:
            self.state = State.CLOSED
            events.append(MustClose(f"framing lost: {err}"))

    def _dispatch(self, pdu: Pdu, events: list[Event], now: float) -> None:
        cid = pdu.command_id
        if cid & RESPONSE_BIT:
            self._on_response(pdu, events)
            return
        if cid not in _INBOUND[self.role][self.state] or (
            self._bind_pending and cid != C.ENQUIRE_LINK
        ):
            status = (
                CommandStatus.ESME_RALYBND
                if cid in _BINDS and self.state is not State.OPEN
                else CommandStatus.ESME_RINVBNDSTS
            )
            self._queue(response_to(pdu, status), now)
            events.append(RequestRefused(pdu, status))
            return
        if cid == C.ENQUIRE_LINK:
            self._queue(response_to(pdu), now)
            return
        if cid == C.UNBIND:
            if self._inbound_pending:
                # Answers are still owed (submits being debited): decode nothing more,
                # and send unbind_resp, then close, once the last one has gone out.
                self._deferred_unbind = pdu
                return
            self._queue(response_to(pdu), now)
            self.state = State.CLOSED
            events.append(Unbound(by_peer=True))
            events.append(MustClose("unbound by peer"))
            return
        if len(self._inbound_pending) >= self.config.max_inbound_pending:
            # Fed past the pause: refuse rather than queue without bound.
            self._queue(response_to(pdu, CommandStatus.ESME_RMSGQFUL), now)
            events.append(RequestRefused(pdu, CommandStatus.ESME_RMSGQFUL))
            return
        if cid in _BINDS:
            self._bind_pending = True
        self._inbound_pending[pdu.sequence_number] = cid
        events.append(RequestReceived(pdu))

    def _on_response(self, pdu: Pdu, events: list[Event]) -> None:
        entry = self._outstanding.get(pdu.sequence_number)
        if entry is None:
            events.append(UnsolicitedResponse(pdu))
            return
        request = entry[0]
        if pdu.command_id != C.GENERIC_NACK and pdu.command_id != request.command_id | RESPONSE_BIT:
            # A response of the wrong type for that sequence number: treat as unsolicited.
            # Fix (test_wrong_kind_of_bind_resp_leaves_the_bind_to_its_timeout): the request
            # stays outstanding and ends in RequestTimedOut; settling it without an event
            # left its waiter hanging and a bind pending forever.
            events.append(UnsolicitedResponse(pdu))
            return
        del self._outstanding[pdu.sequence_number]
        events.append(ResponseReceived(pdu, request))
        if request.command_id in _BINDS:
            self._bind_pending = False
            if pdu.command_status == CommandStatus.ESME_ROK and pdu.command_id != C.GENERIC_NACK:
                self.state = _BIND_STATE[request.command_id]
                events.append(Bound(self.state))
        elif request.command_id == C.UNBIND:
            self.state = State.CLOSED
            events.append(Unbound(by_peer=False))
            events.append(MustClose("unbound"))

    # -- output -------------------------------------------------------------------------
    def send(self, pdu: Pdu, now: float) -> Pdu:
        """Queue ``pdu`` for sending and return it (with its sequence number if assigned).

        Requests with sequence_number 0 get the next number; they must be allowed in the
        current state and, for windowed ones, fit the window. Responses must answer a
        pending peer request.
        """
        cid = pdu.command_id
        if self.state is State.CLOSED:
            raise LocalProtocolError(f"cannot send {type(pdu).__name__}: session closed")
        if cid & RESPONSE_BIT:
            self._send_response(pdu, now)
            return pdu
        if cid not in _OUTBOUND[self.role][self.state] or self._bind_pending:
            raise LocalProtocolError(
                f"{type(pdu).__name__} not allowed for {self.role.value} in {self.state.value}"
            )
        if cid not in _WINDOW_EXEMPT and self.window_available == 0:
            raise LocalProtocolError(f"window of {self.config.window} full")
        if pdu.sequence_number == 0:
            pdu = with_sequence(pdu, self._next_seq())
        self._outstanding[pdu.sequence_number] = (pdu, now + self.config.response_timeout)
        if cid in _BINDS:
            self._bind_pending = True
        elif cid == C.UNBIND:
            self.state = State.UNBINDING
        self._queue(pdu, now)
        return pdu

    def _send_response(self, pdu: Pdu, now: float) -> None:
        # Fix (test_response_must_answer_a_pending_request,
        # test_answering_a_pending_bind_with_another_response_kind_is_refused): the response
        # must be of the pending request's kind (or generic_nack); a submit_sm_resp with a
        # bind's sequence number used to be sent and to bind the session.
        request_cid = self._inbound_pending.get(pdu.sequence_number)
        if pdu.command_id != C.GENERIC_NACK and (
            request_cid is None or pdu.command_id != request_cid | RESPONSE_BIT
        ):
            raise LocalProtocolError(
                f"{type(pdu).__name__} seq {pdu.sequence_number} answers no pending request"
            )
        self._inbound_pending.pop(pdu.sequence_number, None)
        if request_cid in _BINDS:
            self._bind_pending = False
            # Fix (test_generic_nack_may_answer_a_pending_request_and_never_binds).
            if pdu.command_status == CommandStatus.ESME_ROK and pdu.command_id != C.GENERIC_NACK:
                self.state = _BIND_STATE[request_cid]
        self._queue(pdu, now)
        # Answering is activity: a session the application is slow to answer (a slow
        # ledger) is not idle, even though its peer has nothing to say meanwhile.
        self._last_received = max(self._last_received, now)
        if self._deferred_unbind is not None and not self._inbound_pending:
            self._queue(response_to(self._deferred_unbind), now)
            self._deferred_unbind = None
            self.state = State.CLOSED

    def _queue(self, pdu: Pdu, now: float) -> None:
        self._out.append(encode(pdu))
        self._last_sent = now

    def _next_seq(self) -> int:
        self._seq = self._seq % MAX_SEQUENCE + 1
        while self._seq in self._outstanding:  # only after 2**31 requests in flight
            self._seq = self._seq % MAX_SEQUENCE + 1
        return self._seq

    def data_to_send(self) -> bytes:
        """Everything queued for the wire since the last call."""
        if not self._out:
            return b""
        out = b"".join(self._out)
        self._out.clear()
        return out

    # -- timers -------------------------------------------------------------------------
    def next_deadline(self) -> float | None:
        """When ``handle_timer`` must next be called (monotonic seconds), or None."""
        if self.state is State.CLOSED:
            return None
        deadlines = [self._last_received + self.config.inactivity_timeout]
        if self._outstanding:
            deadlines.append(min(d for _, d in self._outstanding.values()))
        if self.config.enquire_link_interval > 0 and self.state.is_bound:
            deadlines.append(self._last_sent + self.config.enquire_link_interval)
        return min(deadlines)

    def handle_timer(self, now: float) -> list[Event]:
        """Expire what is due at ``now``: response timeouts, keep-alive, inactivity."""
        events: list[Event] = []
        if self.state is State.CLOSED:
            return events
        for seq, (req, deadline) in list(self._outstanding.items()):
            if deadline <= now:
                del self._outstanding[seq]
                if req.command_id in _BINDS:
                    self._bind_pending = False
                events.append(RequestTimedOut(req))
        if now - self._last_received >= self.config.inactivity_timeout:
            self.state = State.CLOSED
            events.append(MustClose(f"no PDU for {self.config.inactivity_timeout:g} s"))
            return events
        if (
            self.config.enquire_link_interval > 0
            and self.state.is_bound
            and now - self._last_sent >= self.config.enquire_link_interval
        ):
            self.send(EnquireLink(sequence_number=0), now)
        return events

    def connection_lost(self) -> list[Pdu]:
        """The transport is gone: close, and return our requests left unanswered."""
        self.state = State.CLOSED
        abandoned = self.outstanding
        self._outstanding.clear()
        self._inbound_pending.clear()
        return abandoned


#: Link-control requests do not count against the window.
_WINDOW_EXEMPT = frozenset({C.ENQUIRE_LINK, C.UNBIND}) | _BINDS


__all__ = [
    "Bound",
    "Event",
    "LocalProtocolError",
    "MustClose",
    "PduRejected",
    "RequestReceived",
    "RequestRefused",
    "RequestTimedOut",
    "ResponseReceived",
    "Role",
    "Session",
    "SessionConfig",
    "State",
    "Unbound",
    "UnsolicitedResponse",
]
