"""Sans-IO SMPP session: bind states, sequence numbers, window, backpressure and timers.

The session never touches a socket, a clock or a database. The asyncio shell feeds it
received octets with the current time (``receive_data(data, now)``), hands it the PDUs the
application wants to send (``send(pdu, now)``), writes out ``data_to_send()``, and arms a
timer for ``next_deadline()`` that calls ``handle_timer(now)``. Everything the application
must decide on comes back as events: ``receive_data`` and ``handle_timer`` return the
events they cause, ``send`` queues its own for ``take_events()``.

The same machine plays both roles: ``Role.SMSC`` for the gateway's server side (ESMEs bind
to us) and ``Role.ESME`` for the upstream client (we bind to an SMSC).

The bind state changes only through ``gateway.smpp.states.TRANSITIONS``: every PDU
received or sent, every timeout and the link going down is looked up there first. A peer's
request without a row is answered by the session itself (ESME_RALYBND for a bind once
bound, ESME_RINVBNDSTS otherwise) and never reaches the application; one of ours raises
``LocalProtocolError``. Beside the state, as data: our requests awaiting a response, the
peer's requests awaiting our answer, and whether input is held.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.smpp.codec import decode, encode, error_answer, response_to, with_sequence
from gateway.smpp.constants import (
    DEFAULT_MAX_PDU_SIZE,
    MAX_SEQUENCE,
    RESPONSE_BIT,
    CommandId,
    CommandStatus,
)
from gateway.smpp.errors import LocalProtocolError, PduError, RemoteProtocolError
from gateway.smpp.events import (
    Bound,
    Event,
    MustClose,
    PduRejected,
    RequestReceived,
    RequestRefused,
    RequestTimedOut,
    ResponseReceived,
    Unbound,
    UnsolicitedResponse,
)
from gateway.smpp.pdus import NO_RESPONSE, EnquireLink, GenericNack, Pdu
from gateway.smpp.reader import PduReader
from gateway.smpp.states import (
    BINDS,
    LINK_DOWN,
    TRANSITIONS,
    Io,
    Role,
    State,
    refusal_status,
)

C = CommandId
_RECEIVED, _SENT, _TIMED_OUT = Io.RECEIVED, Io.SENT, Io.TIMED_OUT
_OK = CommandStatus.ESME_ROK
#: Link-control requests do not count against the window.
_WINDOW_EXEMPT = frozenset({C.ENQUIRE_LINK, C.UNBIND, C.OUTBIND, C.ALERT_NOTIFICATION}) | BINDS
#: What a request gets when its sequence_number is that of a peer request still
#: unanswered (docs/protocol.md "Sequence numbers"): refused before the application sees
#: it. ESME_RSYSERR, as for any answer whose request the client cannot tell apart.
DUPLICATE_SEQUENCE_STATUS = CommandStatus.ESME_RSYSERR
#: ``RequestRefused.reason`` of such a refusal.
DUPLICATE_SEQUENCE = "duplicate_sequence"


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
    #: octets received and not yet decoded (a client sending on while its reading is
    #: paused) beyond which the session is closed.
    max_buffered: int = 1 << 20


class Session:
    """One SMPP session, sans-IO. See the module docstring for the contract."""

    def __init__(self, role: Role, config: SessionConfig | None = None, *, now: float = 0.0):
        self.role = role
        self.config = config or SessionConfig()
        self._table = TRANSITIONS[role]
        self._state = State.OPEN
        self._rows = self._table[State.OPEN]
        self._reader = PduReader(self.config.max_pdu_size)
        self._out: list[bytes] = []
        self._events: list[Event] = []
        self._seq = 0
        #: our requests awaiting a response: seq -> (request, deadline)
        self._outstanding: dict[int, tuple[Pdu, float]] = {}
        #: how many of them count against the window (kept, not counted: the window is
        #: asked before every send)
        self._windowed = 0
        #: False once a deadline went in earlier than the one before it (a caller's
        #: clock went back): until then the first outstanding entry is the earliest
        self._deadlines_ordered = True
        self._last_deadline = float("-inf")
        #: peer requests the application has not answered: seq -> command_id
        self._inbound_pending: dict[int, int] = {}
        #: the peer's unbind, answered once every request it sent before is answered
        self._peer_unbind: Pdu | None = None
        self._holding = False
        #: framing lost with answers still owed: close once they are out (the reason).
        self._close_when_answered: str | None = None
        self._last_received = now
        self._last_sent = now

    # -- state --------------------------------------------------------------------------
    @property
    def state(self) -> State:
        """The bind state (changed only by the transition table)."""
        return self._state

    def _enter(self, state: State) -> None:
        if state is not self._state:
            self._state = state
            self._rows = self._table[state]

    def _not_allowed(self, pdu: Pdu) -> LocalProtocolError:
        return LocalProtocolError(
            f"{type(pdu).__name__} not allowed for {self.role.value} in {self._state.value}",
            refusal_status(self._state, pdu.command_id),
            role=self.role,
            state=self._state,
            command_id=pdu.command_id,
        )

    @property
    def closed(self) -> bool:
        """True once the session is over (unbound, framing lost, idle, connection lost)."""
        return self._state is State.CLOSED

    @property
    def window_available(self) -> int:
        """How many more windowed requests may be sent now."""
        return max(0, self.config.window - self._windowed)

    @property
    def outstanding(self) -> list[Pdu]:
        """Our requests still awaiting a response, oldest first."""
        return [req for req, _ in self._outstanding.values()]

    @property
    def inbound_pending(self) -> int:
        """Peer requests handed to the application and not answered yet."""
        return len(self._inbound_pending)

    def _await_response(self, pdu: Pdu, deadline: float) -> None:
        self._outstanding[pdu.sequence_number] = (pdu, deadline)
        if pdu.command_id not in _WINDOW_EXEMPT:
            self._windowed += 1
        if deadline < self._last_deadline:
            self._deadlines_ordered = False
        self._last_deadline = deadline

    def _answered(self, seq: int) -> None:
        request, _ = self._outstanding.pop(seq)
        if request.command_id not in _WINDOW_EXEMPT:
            self._windowed -= 1
        if not self._outstanding:
            self._deadlines_ordered = True
            self._last_deadline = float("-inf")

    def take_events(self) -> list[Event]:
        """The events ``send()`` caused since the last call (Bound when our bind_resp
        binds; Unbound and MustClose when the answer a peer's unbind waited for went out)."""
        events, self._events = self._events, []
        return events

    # -- input --------------------------------------------------------------------------
    @property
    def input_held(self) -> bool:
        """True when no further request will be decoded: a peer unbind waits for our
        last answers, or ``hold_input()`` was called (graceful shutdown)."""
        return self._holding or self._peer_unbind is not None

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
        if self._state is State.CLOSED:
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
        if self._reader.buffered > self.config.max_buffered and not self.closed:
            # The shell pauses reading while paused, so only a client that pushes on
            # regardless gets here: drop it rather than hold its octets without bound.
            self._enter(self._rows[LINK_DOWN])
            events.append(
                MustClose(f"over {self.config.max_buffered} octets received and not decoded")
            )
        return events

    def _reject(self, err: PduError, events: list[Event], now: float) -> None:
        answer: Pdu | None = None
        # Answering a response would only loop, so a response we cannot parse gets no
        # answer; it stays outstanding and times out, so its waiter always hears. A broken
        # request or header gets generic_nack or its *_resp, and a fatal error (a bad
        # command_length) generic_nack whatever the garbage command_id says (§4.3).
        if err.fatal or err.command_id is None or not (err.command_id & RESPONSE_BIT):
            answer = error_answer(err)
            self._queue(answer, now)
        events.append(PduRejected(err, answer))
        if err.fatal:
            reason = f"framing lost: {err}"
            if self._inbound_pending:
                # Requests read before the framing went are being decided (a submit being
                # debited): their answers go out first, then the link closes. Closing now
                # would charge what the client can never see answered.
                self._holding = True
                self._close_when_answered = reason
                return
            self._enter(self._rows[LINK_DOWN])
            events.append(MustClose(reason))

    def _dispatch(self, pdu: Pdu, events: list[Event], now: float) -> None:
        cid = pdu.command_id
        if cid & RESPONSE_BIT:
            self._on_response(pdu, events)
            return
        new = self._rows.get((_RECEIVED, cid, True))
        if new is None:
            err = RemoteProtocolError(
                self.role, self._state, cid, pdu.sequence_number, refusal_status(self._state, cid)
            )
            # outbind and alert_notification have no response: generic_nack says no.
            answer = (
                GenericNack(sequence_number=pdu.sequence_number, command_status=err.status)
                if cid in NO_RESPONSE
                else response_to(pdu, err.status)
            )
            self._queue(answer, now)
            events.append(RequestRefused(pdu, err.status, err))
            return
        if cid in NO_RESPONSE:
            # Nothing to answer, so nothing pending: the application only hears of it.
            self._enter(new)
            events.append(RequestReceived(pdu))
            return
        if cid == C.ENQUIRE_LINK:
            self._queue(response_to(pdu), now)
            return
        if cid == C.UNBIND:
            self._enter(new)
            self._peer_unbind = pdu
            # Answers still owed (submits being debited) go out first; decode nothing
            # more meanwhile, and answer the unbind once the last one has gone out.
            if not self._inbound_pending:
                self._answer_peer_unbind(events, now)
            return
        if pdu.sequence_number in self._inbound_pending:
            # The peer reused the number of a request we have not answered yet. Handing
            # it on would let the application act twice (two debits) on what can only
            # get one answer the client can match: refuse it here, before anything else
            # sees it. The earlier request goes on and gets its own answer.
            self._queue(response_to(pdu, DUPLICATE_SEQUENCE_STATUS), now)
            events.append(RequestRefused(pdu, DUPLICATE_SEQUENCE_STATUS, reason=DUPLICATE_SEQUENCE))
            return
        if len(self._inbound_pending) >= self.config.max_inbound_pending:
            # Fed past the pause: refuse rather than queue without bound.
            self._queue(response_to(pdu, CommandStatus.ESME_RMSGQFUL), now)
            events.append(RequestRefused(pdu, CommandStatus.ESME_RMSGQFUL))
            return
        self._enter(new)
        self._inbound_pending[pdu.sequence_number] = cid
        events.append(RequestReceived(pdu))

    def _answer_peer_unbind(self, events: list[Event], now: float) -> None:
        assert self._peer_unbind is not None
        answer = response_to(self._peer_unbind)
        self._peer_unbind = None
        self._queue(answer, now)
        self._enter(self._rows[(_SENT, answer.command_id, True)])
        events.append(Unbound(by_peer=True))
        events.append(MustClose("unbound by peer"))

    def _on_response(self, pdu: Pdu, events: list[Event]) -> None:
        entry = self._outstanding.get(pdu.sequence_number)
        if entry is None:
            events.append(UnsolicitedResponse(pdu))
            return
        request = entry[0]
        cid = pdu.command_id
        if cid == C.GENERIC_NACK:
            key = (_RECEIVED, request.command_id | RESPONSE_BIT, False)
        elif cid == request.command_id | RESPONSE_BIT:
            key = (_RECEIVED, cid, pdu.command_status == _OK)
        else:
            # A response of the wrong kind for that sequence number: the request stays
            # outstanding and ends in RequestTimedOut, so its waiter always hears.
            events.append(UnsolicitedResponse(pdu))
            return
        new = self._rows.get(key)
        if new is None:
            events.append(UnsolicitedResponse(pdu))
            return
        self._answered(pdu.sequence_number)
        events.append(ResponseReceived(pdu, request))
        was = self._state
        self._enter(new)
        if was is State.BINDING and new.is_bound:
            events.append(Bound(new))
        elif new is State.CLOSED:
            events.append(Unbound(by_peer=False))
            events.append(MustClose("unbound"))

    # -- output -------------------------------------------------------------------------
    def send(self, pdu: Pdu, now: float) -> Pdu:
        """Queue ``pdu`` for sending and return it (with its sequence number if assigned).

        Requests with sequence_number 0 get the next number; they must be allowed in the
        current state and, for windowed ones, fit the window. Responses must answer a
        pending peer request. Events this causes are queued for ``take_events()``.
        """
        cid = pdu.command_id
        if self._state is State.CLOSED:
            raise LocalProtocolError(f"cannot send {type(pdu).__name__}: session closed")
        if cid & RESPONSE_BIT:
            self._send_response(pdu, now)
            return pdu
        new = self._rows.get((_SENT, cid, True))
        if new is None:
            raise self._not_allowed(pdu)
        if cid not in _WINDOW_EXEMPT and self.window_available == 0:
            raise LocalProtocolError(
                f"window of {self.config.window} full", CommandStatus.ESME_RMSGQFUL
            )
        if pdu.sequence_number == 0:
            pdu = with_sequence(pdu, self._next_seq())
        if cid in NO_RESPONSE:
            # No response will come (outbind, alert_notification): nothing to await.
            self._enter(new)
            self._queue(pdu, now)
            return pdu
        self._await_response(pdu, now + self.config.response_timeout)
        self._enter(new)
        self._queue(pdu, now)
        return pdu

    def _send_response(self, pdu: Pdu, now: float) -> None:
        # The response must be of the pending request's kind, or a generic_nack: a
        # submit_sm_resp carrying a bind's sequence number must not bind the session.
        seq = pdu.sequence_number
        request_cid = self._inbound_pending.get(seq)
        if pdu.command_id == C.GENERIC_NACK:
            key = None if request_cid is None else (_SENT, request_cid | RESPONSE_BIT, False)
        elif request_cid is not None and pdu.command_id == request_cid | RESPONSE_BIT:
            key = (_SENT, pdu.command_id, pdu.command_status == _OK)
        else:
            raise LocalProtocolError(f"{type(pdu).__name__} seq {seq} answers no pending request")
        if key is not None:
            new = self._rows.get(key)
            if new is None:
                raise self._not_allowed(pdu)
            del self._inbound_pending[seq]
            was = self._state
            self._enter(new)
            if was is State.BINDING and new.is_bound:
                self._events.append(Bound(new))
        self._queue(pdu, now)
        # Answering is activity: a session the application is slow to answer (a slow
        # ledger) is not idle, even though its peer has nothing to say meanwhile.
        if now > self._last_received:
            self._last_received = now
        if self._peer_unbind is not None and not self._inbound_pending:
            self._answer_peer_unbind(self._events, now)
        elif self._close_when_answered is not None and not self._inbound_pending:
            self._enter(self._rows[LINK_DOWN])
            self._events.append(MustClose(self._close_when_answered))

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
        if self._state is State.CLOSED:
            return None
        deadlines = [self._last_received + self.config.inactivity_timeout]
        if self._outstanding:
            if self._deadlines_ordered:  # every request has the same timeout: O(1)
                deadlines.append(next(iter(self._outstanding.values()))[1])
            else:
                deadlines.append(min(d for _, d in self._outstanding.values()))
        if self.config.enquire_link_interval > 0 and self._state.is_bound:
            deadlines.append(self._last_sent + self.config.enquire_link_interval)
        return min(deadlines)

    def handle_timer(self, now: float) -> list[Event]:
        """Expire what is due at ``now``: response timeouts, keep-alive, inactivity."""
        events: list[Event] = []
        if self._state is State.CLOSED:
            return events
        for seq, (req, deadline) in list(self._outstanding.items()):
            if deadline <= now:
                new = self._rows.get((_TIMED_OUT, req.command_id, False))
                if new is None:
                    raise self._not_allowed(req)
                self._answered(seq)
                self._enter(new)
                events.append(RequestTimedOut(req))
        if now - self._last_received >= self.config.inactivity_timeout:
            self._enter(self._rows[LINK_DOWN])
            events.append(MustClose(f"no PDU for {self.config.inactivity_timeout:g} s"))
            return events
        if (
            self.config.enquire_link_interval > 0
            and self._state.is_bound
            and now - self._last_sent >= self.config.enquire_link_interval
        ):
            self.send(EnquireLink(sequence_number=0), now)
        return events

    def connection_lost(self) -> list[Pdu]:
        """The transport is gone: close, and return our requests left unanswered."""
        self._enter(self._rows[LINK_DOWN])
        abandoned = self.outstanding
        self._outstanding.clear()
        self._windowed = 0
        self._deadlines_ordered = True
        self._last_deadline = float("-inf")
        self._inbound_pending.clear()
        self._peer_unbind = None
        return abandoned


__all__ = ["DUPLICATE_SEQUENCE", "DUPLICATE_SEQUENCE_STATUS", "Session", "SessionConfig"]
