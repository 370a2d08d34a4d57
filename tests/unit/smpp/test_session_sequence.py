"""A peer request reusing the sequence_number of one still unanswered (issue 9).

The rule (docs/protocol.md "Sequence numbers"): the second request is answered by the
session itself with ESME_RSYSERR and never reaches the application, so it cannot be
acted on (debited) without an answer the client sees; the first goes on as if the second
had never come. Once the first is answered, the number is free again.
"""

from __future__ import annotations

from gateway.smpp import (
    CommandId,
    CommandStatus,
    RequestReceived,
    RequestRefused,
    State,
    SubmitSm,
    encode,
    response_to,
)
from tests.unit.smpp.helpers import SessionPair, make_request, parse

C = CommandId
S = CommandStatus


def _bound_smsc() -> SessionPair:
    pair = SessionPair()
    pair.bind(State.BOUND_TRX)
    return pair


def _submit(seq: int, text: bytes) -> SubmitSm:
    pdu = make_request(C.SUBMIT_SM, seq)
    assert isinstance(pdu, SubmitSm)
    return SubmitSm(
        sequence_number=seq,
        source_addr=pdu.source_addr,
        destination_addr=pdu.destination_addr,
        short_message=text,
    )


def test_second_request_with_a_pending_number_is_refused_before_the_application() -> None:
    pair = _bound_smsc()
    first, second = _submit(77, b"first"), _submit(77, b"second")
    events = pair.smsc.receive_data(encode(first) + encode(second), 1.0)
    # Only the first reaches the application; the second is refused with a reason.
    assert events == [
        RequestReceived(first),
        RequestRefused(second, S.ESME_RSYSERR, reason="duplicate_sequence"),
    ]
    refused = events[1]
    assert isinstance(refused, RequestRefused) and refused.reason == "duplicate_sequence"
    assert parse(pair.smsc.data_to_send()) == [response_to(second, S.ESME_RSYSERR)]
    assert pair.smsc.inbound_pending == 1
    # The first still gets its own answer, and nothing is left owed.
    pair.smsc.send(response_to(first, message_id="m1"), 2.0)
    answers = parse(pair.smsc.data_to_send())
    assert [(a.sequence_number, a.command_status) for a in answers] == [(77, S.ESME_ROK)]
    assert pair.smsc.inbound_pending == 0
    assert pair.smsc.state is State.BOUND_TRX


def test_number_is_free_again_once_answered() -> None:
    pair = _bound_smsc()
    first = _submit(5, b"a")
    assert pair.smsc.receive_data(encode(first), 0.0) == [RequestReceived(first)]
    pair.smsc.send(response_to(first, message_id="m1"), 0.0)
    pair.smsc.data_to_send()
    again = _submit(5, b"b")
    assert pair.smsc.receive_data(encode(again), 0.0) == [RequestReceived(again)]


def test_distinct_numbers_in_one_write_all_reach_the_application() -> None:
    pair = _bound_smsc()
    submits = [_submit(seq, b"x") for seq in (1, 2, 3)]
    events = pair.smsc.receive_data(b"".join(encode(p) for p in submits), 0.0)
    assert events == [RequestReceived(p) for p in submits]
    assert pair.smsc.data_to_send() == b""


def test_many_duplicates_of_one_number_leave_exactly_one_pending() -> None:
    pair = _bound_smsc()
    submits = [_submit(9, bytes([65 + i])) for i in range(5)]
    events = pair.smsc.receive_data(b"".join(encode(p) for p in submits), 0.0)
    received = [e for e in events if isinstance(e, RequestReceived)]
    refused = [e for e in events if isinstance(e, RequestRefused)]
    assert received == [RequestReceived(submits[0])]
    assert [e.pdu for e in refused] == submits[1:]
    assert len(parse(pair.smsc.data_to_send())) == 4
    assert pair.smsc.inbound_pending == 1


def test_enquire_link_reusing_a_pending_number_is_still_answered() -> None:
    # A keep-alive never reaches the application, so it cannot be acted on twice:
    # it is answered as always, and the pending submit stays pending.
    pair = _bound_smsc()
    submit = _submit(12, b"x")
    ping = make_request(C.ENQUIRE_LINK, 12)
    events = pair.smsc.receive_data(encode(submit) + encode(ping), 0.0)
    assert events == [RequestReceived(submit)]
    assert parse(pair.smsc.data_to_send()) == [response_to(ping)]
    assert pair.smsc.inbound_pending == 1
