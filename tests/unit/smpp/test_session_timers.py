"""gateway.smpp session timers, on an injected clock: response timeout, inactivity, keep-alive.

Time only moves when a test passes a larger ``now``; nothing here sleeps.
"""

from __future__ import annotations

import struct

import pytest

from gateway.smpp import (
    HEADER_SIZE,
    CommandId,
    EnquireLink,
    EnquireLinkResp,
    Event,
    MustClose,
    Pdu,
    PduRejected,
    RequestReceived,
    RequestTimedOut,
    ResponseReceived,
    Role,
    Session,
    SessionConfig,
    State,
    SubmitSmResp,
    Unbind,
    UnsolicitedResponse,
    encode,
    response_to,
)
from tests.unit.smpp.helpers import SessionPair, make_request, parse

C = CommandId
ESME, SMSC = Role.ESME, Role.SMSC

CONFIG = SessionConfig(
    window=4, response_timeout=10.0, inactivity_timeout=100.0, enquire_link_interval=0.0
)


def bound_pair(config: SessionConfig = CONFIG, state: State = State.BOUND_TRX) -> SessionPair:
    """A pair bound at t=0, output drained."""
    pair = SessionPair(esme_config=config, smsc_config=config)
    pair.bind(state)
    return pair


def is_close(events: list[Event]) -> bool:
    return len(events) == 1 and isinstance(events[0], MustClose)


# --- response timeout ---------------------------------------------------------------------


def test_response_timeout_reports_the_request_and_frees_its_slot() -> None:
    esme = bound_pair().esme
    sent = esme.send(make_request(C.SUBMIT_SM), 2.0)
    assert esme.window_available == 3
    assert esme.next_deadline() == 12.0
    assert esme.handle_timer(11.999) == []
    assert esme.outstanding == [sent]
    assert esme.handle_timer(12.0) == [RequestTimedOut(sent)]
    assert esme.outstanding == []
    assert esme.window_available == 4
    assert esme.state is State.BOUND_TRX  # a timeout alone does not end the session
    # An answer that comes after the timeout is no longer matched.
    late = response_to(sent, message_id="late")
    assert esme.receive_data(encode(late), 13.0) == [UnsolicitedResponse(late)]


def test_each_request_expires_on_its_own_deadline() -> None:
    esme = bound_pair().esme
    first = esme.send(make_request(C.SUBMIT_SM), 0.0)
    second = esme.send(make_request(C.SUBMIT_SM), 5.0)
    assert esme.handle_timer(10.0) == [RequestTimedOut(first)]
    assert esme.next_deadline() == 15.0
    assert esme.handle_timer(15.0) == [RequestTimedOut(second)]


def test_earliest_deadline_holds_when_the_clock_goes_back_and_answers_come_out_of_order() -> None:
    esme = bound_pair().esme
    first = esme.send(make_request(C.SUBMIT_SM), 5.0)
    second = esme.send(make_request(C.SUBMIT_SM), 6.0)
    third = esme.send(make_request(C.SUBMIT_SM), 1.0)  # a caller's clock went back
    assert esme.next_deadline() == 11.0
    esme.receive_data(encode(response_to(third, message_id="c")), 7.0)
    assert esme.next_deadline() == 15.0
    esme.receive_data(encode(response_to(first, message_id="a")), 7.0)
    assert esme.next_deadline() == 16.0
    assert esme.window_available == 3
    assert esme.handle_timer(16.0) == [RequestTimedOut(second)]
    assert esme.window_available == 4
    assert esme.next_deadline() == 107.0  # only inactivity is left


def test_window_counts_only_windowed_requests() -> None:
    esme = bound_pair().esme
    esme.send(EnquireLink(sequence_number=0), 0.0)  # exempt from the window
    sub = esme.send(make_request(C.SUBMIT_SM), 0.0)
    assert esme.window_available == 3
    esme.receive_data(encode(response_to(sub, message_id="m")), 1.0)
    assert esme.window_available == 4
    assert len(esme.outstanding) == 1


def test_answered_request_does_not_time_out() -> None:
    esme = bound_pair().esme
    sent = esme.send(make_request(C.SUBMIT_SM), 0.0)
    esme.receive_data(encode(response_to(sent, message_id="m")), 3.0)
    assert esme.handle_timer(50.0) == []


def test_bind_timeout_lets_the_esme_bind_again() -> None:
    esme = Session(ESME, CONFIG, now=0.0)
    bind = esme.send(make_request(C.BIND_TRANSCEIVER), 0.0)
    assert esme.handle_timer(10.0) == [RequestTimedOut(bind)]
    assert esme.state is State.OPEN
    again = esme.send(make_request(C.BIND_TRANSCEIVER), 10.0)
    assert again.sequence_number == bind.sequence_number + 1


def test_wrong_kind_of_bind_resp_leaves_the_bind_to_its_timeout() -> None:
    esme = Session(ESME, CONFIG, now=0.0)
    bind = esme.send(make_request(C.BIND_TRANSMITTER), 0.0)
    wrong = response_to(make_request(C.BIND_RECEIVER, bind.sequence_number))
    assert esme.receive_data(encode(wrong), 1.0) == [UnsolicitedResponse(wrong)]
    # The bind is not answered: it must still end in RequestTimedOut (or the application
    # waits forever) and the session must not stay stuck in "bind pending".
    assert esme.next_deadline() == 10.0
    assert esme.handle_timer(10.0) == [RequestTimedOut(bind)]
    esme.send(make_request(C.BIND_TRANSMITTER), 10.0)


def test_unparseable_response_leaves_the_request_to_its_timeout() -> None:
    esme = bound_pair().esme
    sent = esme.send(make_request(C.SUBMIT_SM), 0.0)
    esme.data_to_send()
    body = b"y" * 80 + b"\x00"  # message_id over 64 octets
    head = (HEADER_SIZE + len(body), C.SUBMIT_SM_RESP, 0, sent.sequence_number)
    frame = struct.pack(">IIII", *head) + body
    events = esme.receive_data(frame, 1.0)
    assert [type(e) for e in events] == [PduRejected]
    assert esme.data_to_send() == b""
    assert esme.handle_timer(10.0) == [RequestTimedOut(sent)]
    assert esme.window_available == 4


# --- inactivity ---------------------------------------------------------------------------


def test_inactivity_closes_the_session() -> None:
    session = Session(SMSC, CONFIG, now=0.0)  # also bounds the time to bind
    assert session.next_deadline() == 100.0
    assert session.handle_timer(99.9) == []
    assert is_close(session.handle_timer(100.0))
    assert session.state is State.CLOSED
    assert session.next_deadline() is None
    assert session.handle_timer(500.0) == []


def test_each_received_pdu_restarts_the_inactivity_clock() -> None:
    pair = bound_pair()
    ping = make_request(C.ENQUIRE_LINK, 50)
    pair.smsc.receive_data(encode(ping), 60.0)
    assert pair.smsc.next_deadline() == 160.0
    assert pair.smsc.handle_timer(159.0) == []
    assert is_close(pair.smsc.handle_timer(160.0))


def test_partial_frame_is_not_activity() -> None:
    session = Session(SMSC, CONFIG, now=0.0)
    frame = encode(make_request(C.ENQUIRE_LINK, 1))
    session.receive_data(frame[:5], 90.0)
    assert session.next_deadline() == 100.0
    assert is_close(session.handle_timer(100.0))


def test_sending_is_not_activity() -> None:
    session = bound_pair().esme
    session.send(make_request(C.SUBMIT_SM), 95.0)
    events = session.handle_timer(105.0)
    assert [type(e) for e in events] == [RequestTimedOut, MustClose]


def test_timeout_and_inactivity_due_together_report_both() -> None:
    session = bound_pair().esme
    sent = session.send(make_request(C.SUBMIT_SM), 0.0)
    events = session.handle_timer(200.0)
    assert events[0] == RequestTimedOut(sent)
    assert isinstance(events[1], MustClose)
    assert len(events) == 2


# --- enquire_link keep-alive --------------------------------------------------------------

KEEPALIVE = SessionConfig(response_timeout=10.0, inactivity_timeout=100.0, enquire_link_interval=5)


@pytest.mark.parametrize("role", [ESME, SMSC])
def test_enquire_link_after_interval_of_silence_when_bound(role: Role) -> None:
    pair = bound_pair(KEEPALIVE)
    session = pair.sessions[role]
    assert session.next_deadline() == 5.0
    assert session.handle_timer(4.999) == []
    assert session.data_to_send() == b""
    assert session.handle_timer(5.0) == []  # nothing for the application to act on
    (ping,) = parse(session.data_to_send())
    assert isinstance(ping, EnquireLink)
    assert session.outstanding == [ping]
    # Not again before another interval without sending.
    assert session.handle_timer(9.0) == []
    assert session.data_to_send() == b""
    # The peer answers it by itself and the answer settles it.
    peer = pair.sessions[ESME if role is SMSC else SMSC]
    assert peer.receive_data(encode(ping), 6.0) == []
    answer = peer.data_to_send()
    assert session.receive_data(answer, 6.0) == [
        ResponseReceived(EnquireLinkResp(sequence_number=ping.sequence_number), ping)
    ]
    assert session.outstanding == []


def test_sending_anything_postpones_the_enquire_link() -> None:
    esme = bound_pair(KEEPALIVE).esme
    esme.send(make_request(C.SUBMIT_SM), 3.0)
    esme.data_to_send()
    assert esme.next_deadline() == 8.0
    assert esme.handle_timer(5.0) == []
    assert esme.data_to_send() == b""
    esme.handle_timer(8.0)
    assert [type(p) for p in parse(esme.data_to_send())] == [EnquireLink]


def test_answering_the_peer_also_postpones_the_enquire_link() -> None:
    smsc = bound_pair(KEEPALIVE).smsc
    submit = make_request(C.SUBMIT_SM, 9)
    assert smsc.receive_data(encode(submit), 4.0) == [RequestReceived(submit)]
    smsc.send(response_to(submit, message_id="m"), 4.5)
    smsc.data_to_send()
    assert smsc.next_deadline() == 9.5


def test_no_enquire_link_before_bind() -> None:
    esme = Session(ESME, KEEPALIVE, now=0.0)
    assert esme.next_deadline() == 100.0
    esme.handle_timer(50.0)
    assert esme.data_to_send() == b""


def test_no_enquire_link_while_unbinding() -> None:
    esme = bound_pair(KEEPALIVE).esme
    unbind = esme.send(Unbind(sequence_number=0), 1.0)
    esme.data_to_send()
    assert esme.next_deadline() == 11.0  # the unbind's own response deadline
    assert esme.handle_timer(11.0) == [RequestTimedOut(unbind)]
    assert esme.data_to_send() == b""


def test_interval_zero_means_never() -> None:
    esme = bound_pair(CONFIG).esme
    assert esme.next_deadline() == 100.0
    esme.handle_timer(99.0)
    assert esme.data_to_send() == b""


# --- next_deadline and connection_lost ----------------------------------------------------


def test_next_deadline_is_the_earliest_of_all_timers() -> None:
    config = SessionConfig(
        response_timeout=10.0, inactivity_timeout=100.0, enquire_link_interval=30
    )
    esme = bound_pair(config).esme
    assert esme.next_deadline() == 30.0  # keep-alive first
    first = esme.send(make_request(C.SUBMIT_SM), 25.0)
    assert esme.next_deadline() == 35.0  # response to the submit (keep-alive now at 55)
    esme.send(make_request(C.SUBMIT_SM), 27.0)
    assert esme.next_deadline() == 35.0  # the older one
    esme.receive_data(encode(response_to(first, message_id="a")), 28.0)
    assert esme.next_deadline() == 37.0
    esme.handle_timer(37.0)
    assert esme.next_deadline() == 57.0  # keep-alive (last sent at 27)
    config_short = SessionConfig(response_timeout=10.0, inactivity_timeout=20.0)
    idle = bound_pair(config_short).esme
    idle.send(make_request(C.SUBMIT_SM), 15.0)
    assert idle.next_deadline() == 20.0  # inactivity first


def test_connection_lost_returns_the_abandoned_requests_oldest_first() -> None:
    pair = bound_pair()
    esme = pair.esme
    sent: list[Pdu] = [esme.send(make_request(C.SUBMIT_SM), t) for t in (1.0, 2.0, 3.0)]
    ping = esme.send(make_request(C.ENQUIRE_LINK), 4.0)
    esme.receive_data(encode(response_to(sent[1], message_id="b")), 5.0)
    pair.smsc.receive_data(esme.data_to_send(), 5.0)  # the SMSC has requests pending too
    assert esme.connection_lost() == [sent[0], sent[2], ping]
    assert esme.state is State.CLOSED
    assert esme.outstanding == []
    assert esme.next_deadline() is None
    assert esme.handle_timer(1000.0) == []
    assert pair.smsc.inbound_pending == 3
    assert pair.smsc.connection_lost() == []
    assert pair.smsc.inbound_pending == 0


def test_unsolicited_answer_does_not_disturb_the_timers() -> None:
    esme = bound_pair().esme
    sent = esme.send(make_request(C.SUBMIT_SM), 0.0)
    stray = SubmitSmResp(sequence_number=sent.sequence_number + 100)
    assert esme.receive_data(encode(stray), 1.0) == [UnsolicitedResponse(stray)]
    assert esme.handle_timer(10.0) == [RequestTimedOut(sent)]
