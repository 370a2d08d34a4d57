"""gateway.smpp.session fed bytes: malformed frames, arbitrary splits, pausing and holding.

Legality, binds, unbind, sequence numbers and the window are in ``test_session.py``;
timers in ``test_session_timers.py``.
"""

from __future__ import annotations

import itertools
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.smpp import (
    HEADER_SIZE,
    BindTransmitterResp,
    CommandId,
    CommandStatus,
    EnquireLinkResp,
    Event,
    GenericNack,
    MustClose,
    Pdu,
    PduRejected,
    RequestReceived,
    RequestRefused,
    Role,
    Session,
    SessionConfig,
    State,
    SubmitSm,
    SubmitSmResp,
    UnbindResp,
    UnsolicitedResponse,
    encode,
    response_to,
)
from tests.unit.smpp.helpers import SessionPair, make_request, parse, session_in

C = CommandId
S = CommandStatus
ESME, SMSC = Role.ESME, Role.SMSC
OPEN, TX, RX, TRX = State.OPEN, State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX
BINDING, UNBINDING, CLOSED = State.BINDING, State.UNBINDING, State.CLOSED
BOUND = frozenset({TX, RX, TRX})
BINDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
REQUESTS = [*sorted(BINDS), C.SUBMIT_SM, C.DELIVER_SM, C.ENQUIRE_LINK, C.UNBIND]


# --- malformed frames ---------------------------------------------------------------------


def header(length: int, command_id: int, seq: int = 7, status: int = 0) -> bytes:
    return struct.pack(">IIII", length, command_id, status, seq)


def summary(events: list[Event]) -> list[tuple[object, ...]]:
    """Events in comparable form (a PduError has identity equality)."""
    out: list[tuple[object, ...]] = []
    for e in events:
        if isinstance(e, PduRejected):
            err = e.error
            out.append(("rejected", err.status, err.command_id, err.sequence_number, e.answer))
        elif isinstance(e, MustClose):
            out.append(("close",))
        else:
            out.append((e,))
    return out


GARBAGE_HEADERS = {
    "length-0": header(0, C.SUBMIT_SM),
    "length-15": header(15, C.ENQUIRE_LINK),
    "length-over-max": header(4097, C.SUBMIT_SM),
    "length-huge": header(0x7FFFFFFF, C.BIND_TRANSMITTER),
    "all-ones": b"\xff" * 16,  # command_id has the response bit: still a header problem
    "resp-id-short-length": header(4, C.SUBMIT_SM_RESP),
}


@pytest.mark.parametrize("role", [ESME, SMSC])
@pytest.mark.parametrize("garbage", GARBAGE_HEADERS.values(), ids=GARBAGE_HEADERS.keys())
def test_garbage_header_gets_generic_nack_then_must_close(role: Role, garbage: bytes) -> None:
    session = session_in(role, TRX)
    ping = make_request(C.ENQUIRE_LINK, 3)
    events = session.receive_data(encode(ping) + garbage + encode(ping), 1.0)
    seq = struct.unpack_from(">I", garbage, 12)[0]
    assert [s[0] for s in summary(events)] == ["rejected", "close"]
    rejected = events[0]
    assert isinstance(rejected, PduRejected)
    assert rejected.error.fatal
    nack = GenericNack(sequence_number=seq, command_status=S.ESME_RINVCMDLEN)
    assert rejected.answer == nack
    # The frame before the garbage was served; nothing after it was.
    assert parse(session.data_to_send()) == [EnquireLinkResp(sequence_number=3), nack]
    assert session.state is CLOSED
    assert session.receive_data(encode(ping), 2.0) == []
    assert session.data_to_send() == b""


def test_garbage_header_fed_byte_by_byte_is_caught_at_the_sixteenth_octet() -> None:
    session = session_in(SMSC, OPEN)
    garbage = header(3, C.SUBMIT_SM, seq=1)
    for i, octet in enumerate(garbage[:-1]):
        assert session.receive_data(bytes([octet]), float(i)) == []
    events = session.receive_data(garbage[-1:], 20.0)
    assert [s[0] for s in summary(events)] == ["rejected", "close"]
    assert parse(session.data_to_send()) == [
        GenericNack(sequence_number=1, command_status=S.ESME_RINVCMDLEN)
    ]


def test_frame_of_exactly_max_pdu_size_is_accepted() -> None:
    session = Session(SMSC, SessionConfig(max_pdu_size=64))
    frame = header(64, C.ENQUIRE_LINK, seq=1) + bytes(48)  # twelve empty TLVs (tag 0)
    assert session.receive_data(frame, 0.0) == []
    assert [type(p) for p in parse(session.data_to_send())] == [EnquireLinkResp]
    assert session.state is OPEN


@pytest.mark.parametrize("role", [ESME, SMSC])
@pytest.mark.parametrize(
    "command_id",
    [0x00000010, 0x00000104, 0x0000000A, 0x00000099, 0x7FFFFFFF],
    ids=["0x10", "0x104", "0x0a", "0x99", "0x7fffffff"],
)
def test_unknown_command_id_gets_generic_nack_and_the_session_goes_on(
    role: Role, command_id: int
) -> None:
    session = session_in(role, TRX)
    body = b"abc\x00"
    events = session.receive_data(header(HEADER_SIZE + len(body), command_id, 21) + body, 1.0)
    nack = GenericNack(sequence_number=21, command_status=S.ESME_RINVCMDID)
    assert summary(events) == [("rejected", S.ESME_RINVCMDID, command_id, 21, nack)]
    assert parse(session.data_to_send()) == [nack]
    assert session.state is TRX
    ping = make_request(C.ENQUIRE_LINK, 22)
    session.receive_data(encode(ping), 2.0)
    assert parse(session.data_to_send()) == [EnquireLinkResp(sequence_number=22)]


def test_unknown_response_id_gets_no_answer() -> None:
    session = session_in(ESME, TRX)
    events = session.receive_data(header(HEADER_SIZE, 0x80000104, 5), 1.0)
    assert summary(events) == [("rejected", S.ESME_RINVCMDID, 0x80000104, 5, None)]
    assert session.data_to_send() == b""
    assert session.state is TRX


SUBMIT = SubmitSm(
    sequence_number=31, source_addr="SENDER", destination_addr="3361", short_message=b"hello"
)
SUBMIT_BODY = encode(SUBMIT)[HEADER_SIZE:]
SM_LENGTH_AT = len(SUBMIT_BODY) - len(SUBMIT.short_message) - 1


@pytest.mark.parametrize("cut", range(len(SUBMIT_BODY)))
def test_truncated_submit_sm_gets_submit_sm_resp_and_the_session_goes_on(cut: int) -> None:
    session = session_in(SMSC, TX)
    body = SUBMIT_BODY[:cut]
    frame = header(HEADER_SIZE + len(body), C.SUBMIT_SM, 31) + body
    events = session.receive_data(frame, 1.0)
    # Cut inside the short message: sm_length says more than there is.
    status = S.ESME_RINVMSGLEN if cut > SM_LENGTH_AT else S.ESME_RINVCMDLEN
    answer = SubmitSmResp(sequence_number=31, command_status=status)
    assert summary(events) == [("rejected", status, C.SUBMIT_SM, 31, answer)]
    assert parse(session.data_to_send()) == [answer]
    assert session.inbound_pending == 0
    assert session.state is TX
    assert session.receive_data(encode(SUBMIT), 2.0) == [RequestReceived(SUBMIT)]


def test_body_error_is_answered_with_the_field_status() -> None:
    session = session_in(SMSC, TX)
    too_long = SubmitSm(sequence_number=31, source_addr="S" * 30, destination_addr="3361")
    events = session.receive_data(encode(too_long), 1.0)  # source_addr is 20 octets at most
    answer = SubmitSmResp(sequence_number=31, command_status=S.ESME_RINVSRCADR)
    assert summary(events) == [("rejected", S.ESME_RINVSRCADR, C.SUBMIT_SM, 31, answer)]
    assert parse(session.data_to_send()) == [answer]


def test_broken_response_gets_no_answer() -> None:
    session = session_in(ESME, TRX)
    sent = session.send(make_request(C.SUBMIT_SM), 0.0)
    session.data_to_send()
    body = b"x" * 70 + b"\x00"  # message_id over 64 octets
    frame = header(HEADER_SIZE + len(body), C.SUBMIT_SM_RESP, sent.sequence_number) + body
    events = session.receive_data(frame, 1.0)
    assert summary(events) == [
        ("rejected", S.ESME_RINVMSGID, C.SUBMIT_SM_RESP, sent.sequence_number, None)
    ]
    assert session.data_to_send() == b""
    assert session.state is TRX


# --- byte-by-byte and arbitrary splits ----------------------------------------------------


def _conversation() -> bytes:
    """What an ESME might send a bound-TRX SMSC: good PDUs and recoverable bad ones."""
    truncated = SUBMIT_BODY[:5]
    parts = [
        encode(make_request(C.SUBMIT_SM, 1)),
        encode(make_request(C.ENQUIRE_LINK, 2)),
        header(HEADER_SIZE, 0x00000104, 3),
        header(HEADER_SIZE + len(truncated), C.SUBMIT_SM, 4) + truncated,
        encode(SubmitSmResp(sequence_number=400)),
        encode(make_request(C.SUBMIT_SM, 5)),
        encode(make_request(C.BIND_TRANSMITTER, 6)),
        encode(make_request(C.UNBIND, 7)),
    ]
    return b"".join(parts)


CONVERSATION = _conversation()


def _feed(chunks: list[bytes]) -> tuple[list[tuple[object, ...]], list[Pdu]]:
    session = session_in(SMSC, TRX)
    events: list[Event] = []
    for i, chunk in enumerate(chunks):
        events += session.receive_data(chunk, float(i))
    return summary(events), parse(session.data_to_send())


def test_conversation_fed_whole() -> None:
    events, answers = _feed([CONVERSATION])
    assert [e[0] if e[0] in ("rejected", "close") else type(e[0]) for e in events] == [
        RequestReceived,
        "rejected",
        "rejected",
        UnsolicitedResponse,
        RequestReceived,
        RequestRefused,  # the second bind: ESME_RALYBND
        # The unbind waits: submits 1 and 5 are still owed their submit_sm_resp.
    ]
    assert [(type(a), a.sequence_number, a.command_status) for a in answers] == [
        (EnquireLinkResp, 2, S.ESME_ROK),
        (GenericNack, 3, S.ESME_RINVCMDID),
        (SubmitSmResp, 4, S.ESME_RINVCMDLEN),
        (BindTransmitterResp, 6, S.ESME_RALYBND),
    ]


def test_conversation_fed_byte_by_byte_gives_the_same_result() -> None:
    whole = _feed([CONVERSATION])
    assert _feed([CONVERSATION[i : i + 1] for i in range(len(CONVERSATION))]) == whole


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(CONVERSATION)), max_size=12))
def test_conversation_split_anywhere_gives_the_same_result(cuts: list[int]) -> None:
    bounds = [0, *sorted(cuts), len(CONVERSATION)]
    chunks = [CONVERSATION[a:b] for a, b in itertools.pairwise(bounds)]
    assert _feed(chunks) == _feed([CONVERSATION])


def test_partial_frame_waits_for_the_rest() -> None:
    session = session_in(ESME, RX)
    frame = encode(make_request(C.DELIVER_SM, 8))
    assert session.receive_data(frame[: HEADER_SIZE + 2], 0.0) == []
    events = session.receive_data(frame[HEADER_SIZE + 2 :] + frame[:3], 0.0)
    assert [type(e) for e in events] == [RequestReceived]
    # Answer it first: the same number again while it is pending would be refused.
    session.send(response_to(make_request(C.DELIVER_SM, 8)), 0.0)
    assert session.receive_data(frame[3:], 0.0) == events


def test_reading_pauses_at_the_threshold_and_resumes_from_the_buffer() -> None:
    pair = SessionPair(smsc_config=SessionConfig(inbound_pause_at=3))
    pair.bind(TX)
    submits = [make_request(C.SUBMIT_SM, seq) for seq in range(10, 20)]
    events = pair.smsc.receive_data(b"".join(encode(p) for p in submits), 0.0)
    # Three handed over, seven left undecoded in the buffer: nothing refused.
    assert events == [RequestReceived(p) for p in submits[:3]]
    assert pair.smsc.reading_paused
    assert pair.smsc.data_to_send() == b""
    for p in submits[:2]:
        pair.smsc.send(response_to(p, message_id="x"), 0.0)
    assert not pair.smsc.reading_paused
    more = pair.smsc.receive_data(b"", 0.0)
    assert more == [RequestReceived(p) for p in submits[3:5]]
    assert pair.smsc.inbound_pending == 3


def test_a_client_sending_on_while_paused_is_closed_beyond_max_buffered() -> None:
    pair = SessionPair(smsc_config=SessionConfig(inbound_pause_at=1, max_buffered=1000))
    pair.bind(TX)
    submits = b"".join(encode(make_request(C.SUBMIT_SM, seq)) for seq in range(10, 30))
    events = pair.smsc.receive_data(submits[:900], 0.0)
    # Paused after the first; what is left fits the buffer, so the session waits.
    assert [type(e) for e in events] == [RequestReceived]
    assert not pair.smsc.closed
    events = pair.smsc.receive_data(submits[900:], 0.0)
    assert [type(e) for e in events] == [MustClose]
    assert pair.smsc.closed
    assert "octets" in events[0].reason  # type: ignore[union-attr]


def test_framing_lost_with_answers_owed_closes_once_they_are_out() -> None:
    pair = SessionPair()
    pair.bind(TX)
    submit = make_request(C.SUBMIT_SM, 5)
    garbage = struct.pack(">IIII", 7, 0, 0, 6)  # command_length 7: the framing is lost
    pair.smsc.take_events()  # the Bound of the bind
    events = pair.smsc.receive_data(encode(submit) + garbage, 0.0)
    # The submit goes on (it may be being debited): no close yet, nothing more read.
    assert [type(e) for e in events] == [RequestReceived, PduRejected]
    assert not pair.smsc.closed
    assert pair.smsc.reading_paused
    pair.smsc.send(response_to(submit, message_id="m1"), 1.0)
    assert [type(e) for e in pair.smsc.take_events()] == [MustClose]
    assert pair.smsc.closed
    answers = parse(pair.smsc.data_to_send())
    assert [(type(a).__name__, a.sequence_number) for a in answers] == [
        ("GenericNack", 6),
        ("SubmitSmResp", 5),
    ]


def test_peer_unbind_waits_for_the_answers_still_owed() -> None:
    pair = SessionPair()
    pair.bind(TX)
    submit = make_request(C.SUBMIT_SM, 2)
    late = make_request(C.SUBMIT_SM, 4)
    data = encode(submit) + encode(make_request(C.UNBIND, 3)) + encode(late)
    events = pair.smsc.receive_data(data, 0.0)
    # The submit reaches the application; the unbind is held, and nothing after it is read.
    assert events == [RequestReceived(submit)]
    assert pair.smsc.input_held
    assert pair.smsc.data_to_send() == b""
    pair.smsc.send(response_to(submit, message_id="m1"), 0.0)
    answers = parse(pair.smsc.data_to_send())
    assert answers == [response_to(submit, message_id="m1"), UnbindResp(sequence_number=3)]
    assert pair.smsc.state is CLOSED


def test_hold_input_lets_owed_answers_out_and_decodes_nothing_more() -> None:
    pair = SessionPair()
    pair.bind(TX)
    submit = make_request(C.SUBMIT_SM, 2)
    assert pair.smsc.receive_data(encode(submit), 0.0) == [RequestReceived(submit)]
    pair.smsc.hold_input()
    assert pair.smsc.receive_data(encode(make_request(C.SUBMIT_SM, 3)), 0.0) == []
    pair.smsc.send(response_to(submit, message_id="m1"), 0.0)
    assert parse(pair.smsc.data_to_send()) == [response_to(submit, message_id="m1")]


def test_a_session_being_answered_is_not_idle() -> None:
    config = SessionConfig(inactivity_timeout=10.0)
    pair = SessionPair(smsc_config=config)
    pair.bind(TX)
    submit = make_request(C.SUBMIT_SM, 2)
    pair.smsc.receive_data(encode(submit), 1.0)
    pair.smsc.send(response_to(submit, message_id="m1"), 9.0)  # answered after a slow debit
    assert pair.smsc.handle_timer(12.0) == []  # 3 s after our answer: not idle
    assert any(isinstance(e, MustClose) for e in pair.smsc.handle_timer(19.5))
