"""In-memory wiring for the sans-IO session tests (after h11's ``tests/helpers.py``).

``SessionPair`` joins a ``Role.ESME`` session to a ``Role.SMSC`` session: what one side
queues with ``send`` is fed, as bytes, to the other side's ``receive_data``. No sockets, no
event loop; time is whatever ``now`` the test passes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.smpp import (
    AlertNotification,
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    Bound,
    CancelSm,
    CommandId,
    DataSm,
    DeliverSm,
    DestAddress,
    EnquireLink,
    Event,
    Outbind,
    Pdu,
    PduReader,
    QuerySm,
    ReplaceSm,
    RequestReceived,
    ResponseReceived,
    Role,
    Session,
    SessionConfig,
    State,
    SubmitMulti,
    SubmitSm,
    Unbind,
    decode,
    response_to,
)

C = CommandId

#: The bind request that leads to each bound state.
BIND_FOR: dict[State, int] = {
    State.BOUND_TX: C.BIND_TRANSMITTER,
    State.BOUND_RX: C.BIND_RECEIVER,
    State.BOUND_TRX: C.BIND_TRANSCEIVER,
}


def make_request(command_id: int, sequence_number: int = 0) -> Pdu:
    """A well-formed request of the given kind (sequence 0 = let the session number it)."""
    seq = sequence_number
    if command_id == C.BIND_TRANSMITTER:
        return BindTransmitter(sequence_number=seq, system_id="esme1", password="secret")
    if command_id == C.BIND_RECEIVER:
        return BindReceiver(sequence_number=seq, system_id="esme1", password="secret")
    if command_id == C.BIND_TRANSCEIVER:
        return BindTransceiver(sequence_number=seq, system_id="esme1", password="secret")
    if command_id == C.SUBMIT_SM:
        return SubmitSm(
            sequence_number=seq,
            source_addr="SENDER",
            destination_addr="33612345678",
            short_message=b"hello",
        )
    if command_id == C.DELIVER_SM:
        return DeliverSm(
            sequence_number=seq,
            source_addr="33612345678",
            destination_addr="SENDER",
            short_message=b"hi back",
        )
    if command_id == C.SUBMIT_MULTI:
        return SubmitMulti(
            sequence_number=seq,
            source_addr="SENDER",
            dest_addresses=(DestAddress(1, 1, 1, "33612345678"),),
            short_message=b"hello",
        )
    if command_id == C.DATA_SM:
        return DataSm(sequence_number=seq, source_addr="SENDER", destination_addr="33612345678")
    if command_id == C.QUERY_SM:
        return QuerySm(sequence_number=seq, message_id="m1", source_addr="SENDER")
    if command_id == C.CANCEL_SM:
        return CancelSm(sequence_number=seq, message_id="m1", source_addr="SENDER")
    if command_id == C.REPLACE_SM:
        return ReplaceSm(sequence_number=seq, message_id="m1", short_message=b"new")
    if command_id == C.OUTBIND:
        return Outbind(sequence_number=seq, system_id="SMSC", password="secret")
    if command_id == C.ALERT_NOTIFICATION:
        return AlertNotification(sequence_number=seq, source_addr="33612345678")
    if command_id == C.ENQUIRE_LINK:
        return EnquireLink(sequence_number=seq)
    if command_id == C.UNBIND:
        return Unbind(sequence_number=seq)
    raise ValueError(f"no factory for command_id 0x{command_id:08x}")


def parse(data: bytes) -> list[Pdu]:
    """Every PDU in ``data``, which must hold whole, well-formed frames only."""
    reader = PduReader()
    reader.feed(data)
    pdus = [decode(frame) for frame in reader.frames()]
    assert reader.buffered == 0, f"{reader.buffered} octets of a partial frame left"
    return pdus


def other(role: Role) -> Role:
    """The opposite role."""
    return Role.SMSC if role is Role.ESME else Role.ESME


@dataclass
class SessionPair:
    """An ESME session and an SMSC session talking to each other in memory."""

    esme_config: SessionConfig = field(default_factory=SessionConfig)
    smsc_config: SessionConfig = field(default_factory=SessionConfig)
    now: float = 0.0
    sessions: dict[Role, Session] = field(init=False)

    def __post_init__(self) -> None:
        self.sessions = {
            Role.ESME: Session(Role.ESME, self.esme_config, now=self.now),
            Role.SMSC: Session(Role.SMSC, self.smsc_config, now=self.now),
        }

    @property
    def esme(self) -> Session:
        """The session that binds (the gateway's upstream client role)."""
        return self.sessions[Role.ESME]

    @property
    def smsc(self) -> Session:
        """The session that accepts binds (the gateway's server role)."""
        return self.sessions[Role.SMSC]

    def flush(self, sender: Role) -> list[Event]:
        """Move what ``sender`` has queued to its peer; returns the peer's events."""
        data = self.sessions[sender].data_to_send()
        if not data:
            return []
        return self.sessions[other(sender)].receive_data(data, self.now)

    def send(self, sender: Role, pdu: Pdu) -> tuple[Pdu, list[Event]]:
        """``sender`` sends ``pdu`` and the bytes reach the peer.

        Returns the PDU as sent (numbered) and the peer's events. Whatever the peer
        answers automatically stays queued on the peer until the next ``flush``.
        """
        sent = self.sessions[sender].send(pdu, self.now)
        return sent, self.flush(sender)

    def exchange(self) -> dict[Role, list[Event]]:
        """Shuttle bytes both ways until neither side has anything queued."""
        events: dict[Role, list[Event]] = {Role.ESME: [], Role.SMSC: []}
        while True:
            to_smsc = self.flush(Role.ESME)
            to_esme = self.flush(Role.SMSC)
            events[Role.SMSC] += to_smsc
            events[Role.ESME] += to_esme
            if not to_smsc and not to_esme:
                return events

    def bind(self, state: State = State.BOUND_TRX, *, system_id: str = "SMSC") -> None:
        """Run a successful bind to ``state`` through both sessions, checking each step."""
        bind, smsc_events = self.send(Role.ESME, make_request(BIND_FOR[state]))
        assert smsc_events == [RequestReceived(bind)]
        resp, esme_events = self.send(Role.SMSC, response_to(bind, system_id=system_id))
        assert esme_events == [ResponseReceived(resp, bind), Bound(state)]
        assert self.esme.state is state
        assert self.smsc.state is state


def session_in(role: Role, state: State) -> Session:
    """A session playing ``role``, brought to ``state`` by real PDUs, output drained."""
    pair = SessionPair()
    if state is State.BINDING:  # our bind is out (ESME), or the peer's is being decided
        pair.send(Role.ESME, make_request(C.BIND_TRANSCEIVER))
    elif state is not State.OPEN:
        pair.bind(state if state.is_bound else State.BOUND_TRX)
    if state is State.UNBINDING:
        pair.sessions[role].send(Unbind(sequence_number=0), pair.now)
    if state is State.CLOSED:
        pair.send(other(role), Unbind(sequence_number=0))
        pair.exchange()
    session = pair.sessions[role]
    session.data_to_send()
    assert session.state is state
    return session
