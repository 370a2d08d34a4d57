"""gateway.smpp.session: bytes in, events out. Legality, binds, unbind, sequence, window.

The expected behaviour is written here from the SMPP 3.4 rules (smpp-reference §2), never
read back from ``gateway.smpp.states``' transition table. Timers are in
``test_session_timers.py``; malformed frames and input handling in ``test_session_input.py``.
"""

from __future__ import annotations

from typing import Final, Literal

import pytest

from gateway.smpp import (
    MAX_SEQUENCE,
    Bound,
    CommandId,
    CommandStatus,
    DeliverSmResp,
    EnquireLinkResp,
    GenericNack,
    LocalProtocolError,
    MustClose,
    RequestReceived,
    RequestRefused,
    ResponseReceived,
    Role,
    Session,
    SessionConfig,
    State,
    SubmitSmResp,
    Unbind,
    UnbindResp,
    Unbound,
    UnsolicitedResponse,
    encode,
    response_to,
)
from tests.unit.smpp.helpers import BIND_FOR, SessionPair, make_request, other, parse, session_in

C = CommandId
S = CommandStatus
ESME, SMSC = Role.ESME, Role.SMSC
OPEN, TX, RX, TRX = State.OPEN, State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX
BINDING, UNBINDING, CLOSED = State.BINDING, State.UNBINDING, State.CLOSED
BOUND = frozenset({TX, RX, TRX})
BINDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
REQUESTS = [*sorted(BINDS), C.SUBMIT_SM, C.DELIVER_SM, C.ENQUIRE_LINK, C.UNBIND]

# --- the SMPP rules, written out independently of gateway.smpp --------------------------

#: request -> (who may send it, the states it may be sent in). SMPP 3.4 §2.3 / §4.
#: UNBINDING is "our unbind is on the wire, its unbind_resp not yet back": the session is
#: still bound, so a crossing unbind and enquire_link are answered, new traffic is not.
#: enquire_link in OPEN: SMPP 3.4 lists bound states only, SMPP 5.0 §2.4 allows OPEN and
#: real SMSCs answer it; smppgw answers it too (a keep-alive before the bind is harmless).
#: BINDING is "a bind is out, its bind_resp not yet sent": not bound yet, so only the
#: keep-alive goes on, and a second bind is out of state (not "already bound").
RULES: dict[int, tuple[frozenset[Role], frozenset[State]]] = {
    C.BIND_TRANSMITTER: (frozenset({ESME}), frozenset({OPEN})),
    C.BIND_RECEIVER: (frozenset({ESME}), frozenset({OPEN})),
    C.BIND_TRANSCEIVER: (frozenset({ESME}), frozenset({OPEN})),
    C.SUBMIT_SM: (frozenset({ESME}), frozenset({TX, TRX})),
    C.DELIVER_SM: (frozenset({SMSC}), frozenset({RX, TRX})),
    C.ENQUIRE_LINK: (frozenset({ESME, SMSC}), frozenset({OPEN, BINDING, UNBINDING}) | BOUND),
    C.UNBIND: (frozenset({ESME, SMSC}), frozenset({UNBINDING}) | BOUND),
}

DELIVER: Final = "deliver"  # handed to the application as RequestReceived
UNBOUND: Final = "unbound"  # answered with unbind_resp, Unbound(by_peer=True), MustClose
IGNORED: Final = "ignored"  # the session is over: no event, no answer
Outcome = Literal["deliver", "unbound", "ignored"] | S


def expected_inbound(role: Role, state: State, command_id: int) -> Outcome:
    """What a session playing ``role`` in ``state`` does with a request from its peer."""
    if state is CLOSED:
        return IGNORED
    senders, states = RULES[command_id]
    if command_id in BINDS and state not in (OPEN, BINDING):
        return S.ESME_RALYBND  # a bind on a bound session (UNBINDING is still bound)
    if other(role) in senders and state in states:
        if command_id == C.ENQUIRE_LINK:
            return S.ESME_ROK  # answered by the session itself
        return UNBOUND if command_id == C.UNBIND else DELIVER
    return S.ESME_RINVBNDSTS


def state_after_delivery(state: State, command_id: int) -> State:
    """The state once a request is handed to the application: a bind is being decided."""
    return BINDING if command_id in BINDS else state


def _case_id(role: Role, state: State, command_id: int) -> str:
    return f"{role.value}-{state.value}-{C(command_id).name.lower()}"


ALL_STATES = [OPEN, BINDING, TX, RX, TRX, UNBINDING, CLOSED]
CASES = [(r, s, c) for r in (ESME, SMSC) for s in ALL_STATES for c in REQUESTS]


def test_the_expected_table_says_what_the_brief_says() -> None:
    """Spot checks of the generated table against the rules stated in plain words."""
    assert expected_inbound(SMSC, RX, C.SUBMIT_SM) == S.ESME_RINVBNDSTS
    assert expected_inbound(SMSC, OPEN, C.SUBMIT_SM) == S.ESME_RINVBNDSTS
    assert expected_inbound(SMSC, TRX, C.DELIVER_SM) == S.ESME_RINVBNDSTS  # ESME can't deliver
    assert expected_inbound(SMSC, TX, C.BIND_RECEIVER) == S.ESME_RALYBND
    assert expected_inbound(SMSC, OPEN, C.BIND_TRANSCEIVER) == DELIVER
    assert expected_inbound(SMSC, TX, C.SUBMIT_SM) == DELIVER
    assert expected_inbound(ESME, RX, C.DELIVER_SM) == DELIVER
    assert expected_inbound(ESME, TX, C.DELIVER_SM) == S.ESME_RINVBNDSTS  # never on a TX bind
    assert expected_inbound(ESME, OPEN, C.BIND_TRANSMITTER) == S.ESME_RINVBNDSTS
    assert expected_inbound(ESME, TRX, C.UNBIND) == UNBOUND
    assert expected_inbound(SMSC, OPEN, C.UNBIND) == S.ESME_RINVBNDSTS
    assert expected_inbound(SMSC, BINDING, C.BIND_TRANSMITTER) == S.ESME_RINVBNDSTS
    assert expected_inbound(SMSC, BINDING, C.SUBMIT_SM) == S.ESME_RINVBNDSTS
    assert expected_inbound(ESME, BINDING, C.DELIVER_SM) == S.ESME_RINVBNDSTS
    assert expected_inbound(ESME, BINDING, C.ENQUIRE_LINK) == S.ESME_ROK


@pytest.mark.parametrize(("role", "state", "command_id"), CASES, ids=[_case_id(*c) for c in CASES])
def test_peer_request_is_delivered_or_answered_by_the_rules(
    role: Role, state: State, command_id: int
) -> None:
    session = session_in(role, state)
    owed = session.inbound_pending  # BINDING on the SMSC side: the bind being decided
    request = make_request(command_id, 77)
    events = session.receive_data(encode(request), 1.0)
    answers = parse(session.data_to_send())
    outcome = expected_inbound(role, state, command_id)
    if isinstance(outcome, S):  # answered by the session, never seen by the application
        # Refusals are reported (so the shell can log them); enquire_link's ROK is not.
        assert events == ([] if outcome == S.ESME_ROK else [RequestRefused(request, outcome)])
        assert answers == [response_to(request, outcome)]
        assert answers[0].command_status == outcome
        assert session.inbound_pending == owed
        assert session.state is state
    elif outcome == DELIVER:
        assert events == [RequestReceived(request)]
        assert answers == []
        assert session.inbound_pending == owed + 1
        assert session.state is state_after_delivery(state, command_id)
    elif outcome == UNBOUND:
        assert events[0] == Unbound(by_peer=True)
        assert isinstance(events[1], MustClose)
        assert len(events) == 2
        assert answers == [UnbindResp(sequence_number=77)]
        assert session.state is CLOSED
    else:
        assert outcome == IGNORED
        assert events == []
        assert answers == []


OUT_CASES = [(r, s, c) for r in (ESME, SMSC) for s in ALL_STATES for c in REQUESTS]


@pytest.mark.parametrize(
    ("role", "state", "command_id"), OUT_CASES, ids=[_case_id(*c) for c in OUT_CASES]
)
def test_we_may_only_send_what_the_rules_allow(role: Role, state: State, command_id: int) -> None:
    session = session_in(role, state)
    senders, states = RULES[command_id]
    # While a bind is pending, or once our unbind is out, we start nothing new; once
    # closed, nothing at all.
    allowed = role in senders and state in states and state not in (BINDING, UNBINDING, CLOSED)
    request = make_request(command_id)
    if allowed:
        sent = session.send(request, 1.0)
        assert parse(session.data_to_send()) == [sent]
        assert session.outstanding == [sent]
    else:
        with pytest.raises(LocalProtocolError):
            session.send(request, 1.0)
        assert session.data_to_send() == b""
        assert session.state is state


# --- binds --------------------------------------------------------------------------------


@pytest.mark.parametrize("state", [TX, RX, TRX])
def test_bind_success_moves_both_sides_to_the_bound_state(state: State) -> None:
    pair = SessionPair()
    bind, smsc_events = pair.send(ESME, make_request(BIND_FOR[state]))
    assert bind.sequence_number == 1
    assert smsc_events == [RequestReceived(bind)]
    # Neither side is bound until the response is on the wire: both are BINDING.
    assert pair.smsc.state is BINDING
    assert pair.esme.state is BINDING
    assert not pair.smsc.state.is_bound
    assert not pair.esme.state.is_bound
    assert pair.smsc.inbound_pending == 1
    resp, esme_events = pair.send(SMSC, response_to(bind, system_id="SMSC"))
    assert pair.smsc.state is state
    assert pair.smsc.inbound_pending == 0
    assert esme_events == [ResponseReceived(resp, bind), Bound(state)]
    assert pair.esme.state is state
    assert pair.esme.outstanding == []


@pytest.mark.parametrize("status", [S.ESME_RINVPASWD, S.ESME_RBINDFAIL, S.ESME_RALYBND])
def test_refused_bind_leaves_both_sides_open_and_allows_a_new_bind(status: S) -> None:
    pair = SessionPair()
    bind, _ = pair.send(ESME, make_request(C.BIND_TRANSCEIVER))
    resp, esme_events = pair.send(SMSC, response_to(bind, status))
    assert esme_events == [ResponseReceived(resp, bind)]  # no Bound
    assert resp.command_status == status
    assert pair.esme.state is OPEN
    assert pair.smsc.state is OPEN
    # Nothing is left pending on either side: a second attempt goes through.
    pair.bind(TRX)


def test_generic_nack_to_a_bind_leaves_the_session_open() -> None:
    pair = SessionPair()
    bind = pair.esme.send(make_request(C.BIND_TRANSMITTER), 0.0)
    pair.esme.data_to_send()
    nack = GenericNack(sequence_number=bind.sequence_number, command_status=S.ESME_RSYSERR)
    events = pair.esme.receive_data(encode(nack), 0.0)
    assert events == [ResponseReceived(nack, bind)]
    assert pair.esme.state is OPEN
    assert pair.esme.outstanding == []
    pair.esme.send(make_request(C.BIND_TRANSMITTER), 0.0)  # not stuck in "bind pending"


def test_generic_nack_with_status_zero_does_not_bind() -> None:
    session = Session(ESME)
    bind = session.send(make_request(C.BIND_TRANSCEIVER), 0.0)
    events = session.receive_data(encode(GenericNack(sequence_number=bind.sequence_number)), 0.0)
    assert [type(e) for e in events] == [ResponseReceived]
    assert session.state is OPEN


def test_esme_cannot_send_a_second_bind_while_one_is_pending() -> None:
    pair = SessionPair()
    pair.send(ESME, make_request(C.BIND_TRANSMITTER))
    with pytest.raises(LocalProtocolError):
        pair.esme.send(make_request(C.BIND_RECEIVER), 0.0)
    assert pair.esme.data_to_send() == b""


def test_smsc_refuses_a_second_bind_and_traffic_while_a_bind_is_pending() -> None:
    pair = SessionPair()
    bind, _ = pair.send(ESME, make_request(C.BIND_TRANSMITTER))
    # A peer that does not wait for its bind_resp: raw frames, not through the ESME session.
    second = make_request(C.BIND_RECEIVER, 2)
    submit = make_request(C.SUBMIT_SM, 3)
    ping = make_request(C.ENQUIRE_LINK, 4)
    events = pair.smsc.receive_data(encode(second) + encode(submit) + encode(ping), 0.0)
    assert events == [
        RequestRefused(second, S.ESME_RINVBNDSTS),
        RequestRefused(submit, S.ESME_RINVBNDSTS),
    ]
    assert parse(pair.smsc.data_to_send()) == [
        response_to(second, S.ESME_RINVBNDSTS),
        response_to(submit, S.ESME_RINVBNDSTS),
        EnquireLinkResp(sequence_number=4),
    ]
    # The first bind is still the pending one and can be accepted.
    assert pair.smsc.inbound_pending == 1
    pair.smsc.send(response_to(bind), 0.0)
    assert pair.smsc.state is TX


def test_refusing_the_bind_reopens_the_smsc_to_a_new_bind() -> None:
    session = Session(SMSC)
    first = make_request(C.BIND_TRANSCEIVER, 1)
    session.receive_data(encode(first), 0.0)
    session.send(response_to(first, S.ESME_RINVPASWD), 0.0)
    assert session.state is OPEN
    again = make_request(C.BIND_TRANSCEIVER, 2)
    assert session.receive_data(encode(again), 0.0) == [RequestReceived(again)]


def test_bind_response_of_the_wrong_kind_does_not_bind() -> None:
    session = Session(ESME)
    bind = session.send(make_request(C.BIND_TRANSMITTER), 0.0)
    wrong = response_to(make_request(C.BIND_RECEIVER, bind.sequence_number))
    assert session.receive_data(encode(wrong), 0.0) == [UnsolicitedResponse(wrong)]
    assert session.state is BINDING  # not bound: the bind still awaits its own response


@pytest.mark.parametrize("state", [OPEN, TX, RX, TRX])
@pytest.mark.parametrize("sender", [ESME, SMSC])
def test_enquire_link_is_answered_by_the_session_itself(sender: Role, state: State) -> None:
    pair = SessionPair()
    if state is not OPEN:
        pair.bind(state)
    ping, peer_events = pair.send(sender, make_request(C.ENQUIRE_LINK))
    assert peer_events == []  # the application never sees it
    assert pair.sessions[other(sender)].inbound_pending == 0
    back = pair.flush(other(sender))
    assert back == [ResponseReceived(EnquireLinkResp(sequence_number=ping.sequence_number), ping)]
    assert pair.sessions[sender].state is state


# --- unbind -------------------------------------------------------------------------------


@pytest.mark.parametrize("initiator", [ESME, SMSC])
def test_unbind_from_either_side(initiator: Role) -> None:
    pair = SessionPair()
    pair.bind(TRX)
    me, peer = pair.sessions[initiator], pair.sessions[other(initiator)]
    unbind, peer_events = pair.send(initiator, Unbind(sequence_number=0))
    assert me.state is UNBINDING
    assert peer_events[0] == Unbound(by_peer=True)
    assert isinstance(peer_events[1], MustClose)
    assert len(peer_events) == 2
    assert peer.state is CLOSED
    assert peer.closed
    answer = peer.data_to_send()
    assert parse(answer) == [UnbindResp(sequence_number=unbind.sequence_number)]
    events = me.receive_data(answer, 0.0)
    assert events[:2] == [
        ResponseReceived(UnbindResp(sequence_number=unbind.sequence_number), unbind),
        Unbound(by_peer=False),
    ]
    assert isinstance(events[2], MustClose)
    assert len(events) == 3
    assert me.state is CLOSED


def test_unbinding_session_starts_nothing_new_but_finishes_what_is_in_flight() -> None:
    pair = SessionPair()
    pair.bind(TRX)
    submit, _ = pair.send(ESME, make_request(C.SUBMIT_SM))  # our request in flight
    deliver, _ = pair.send(SMSC, make_request(C.DELIVER_SM))  # the peer's, not answered yet
    pair.esme.send(Unbind(sequence_number=0), 0.0)
    assert pair.esme.state is UNBINDING
    for cid in (C.SUBMIT_SM, C.ENQUIRE_LINK, C.UNBIND):
        with pytest.raises(LocalProtocolError):
            pair.esme.send(make_request(cid), 0.0)
    # We still answer the peer's request and still take the answer to ours.
    pair.esme.send(response_to(deliver), 0.0)
    resp = response_to(submit, message_id="m1")
    assert pair.esme.receive_data(encode(resp), 0.0) == [ResponseReceived(resp, submit)]
    assert pair.esme.state is UNBINDING


def test_crossing_unbinds_close_both_sides() -> None:
    pair = SessionPair()
    pair.bind(TRX)
    pair.esme.send(Unbind(sequence_number=0), 0.0)
    pair.smsc.send(Unbind(sequence_number=0), 0.0)
    events = pair.exchange()
    for role in (ESME, SMSC):
        assert Unbound(by_peer=True) in events[role]
        assert any(isinstance(e, MustClose) for e in events[role])
        assert pair.sessions[role].state is CLOSED


def test_closed_session_refuses_to_send_and_ignores_input() -> None:
    session = session_in(SMSC, CLOSED)
    assert session.closed
    with pytest.raises(LocalProtocolError):
        session.send(make_request(C.ENQUIRE_LINK), 1.0)
    assert session.receive_data(encode(make_request(C.ENQUIRE_LINK, 9)), 1.0) == []
    assert session.data_to_send() == b""


# --- sequence numbers ---------------------------------------------------------------------


def test_sequence_numbers_start_at_one_and_are_shared_by_every_request_kind() -> None:
    pair = SessionPair()
    bind, _ = pair.send(ESME, make_request(C.BIND_TRANSCEIVER))
    pair.send(SMSC, response_to(bind))
    seqs = [
        pair.esme.send(make_request(cid), 0.0).sequence_number
        for cid in (C.SUBMIT_SM, C.ENQUIRE_LINK, C.SUBMIT_SM)
    ]
    assert [bind.sequence_number, *seqs] == [1, 2, 3, 4]
    # The other direction numbers on its own.
    assert pair.smsc.send(make_request(C.DELIVER_SM), 0.0).sequence_number == 1


def test_sequence_number_wraps_from_0x7fffffff_back_to_1() -> None:
    session = session_in(ESME, TRX)
    session._seq = MAX_SEQUENCE - 2  # white box: 2**31 real sends would take hours
    seqs = []
    for _ in range(3):
        sent = session.send(make_request(C.ENQUIRE_LINK), 0.0)
        seqs.append(sent.sequence_number)
        session.receive_data(encode(response_to(sent)), 0.0)
    assert seqs == [MAX_SEQUENCE - 1, MAX_SEQUENCE, 1]


def test_sequence_number_after_the_wrap_skips_one_still_outstanding() -> None:
    session = Session(ESME)
    first = session.send(make_request(C.ENQUIRE_LINK), 0.0)
    assert first.sequence_number == 1
    session._seq = MAX_SEQUENCE  # white box, as above: 1 is next but still awaits its resp
    assert session.send(make_request(C.ENQUIRE_LINK), 0.0).sequence_number == 2


def test_an_explicit_sequence_number_is_kept() -> None:
    session = session_in(ESME, TRX)
    sent = session.send(make_request(C.SUBMIT_SM, 4242), 0.0)
    assert sent.sequence_number == 4242
    assert parse(session.data_to_send()) == [sent]


def test_responses_are_matched_by_sequence_even_out_of_order() -> None:
    pair = SessionPair()
    pair.bind(TRX)
    sent = [pair.esme.send(make_request(C.SUBMIT_SM), 0.0) for _ in range(3)]
    pair.esme.data_to_send()
    for i in (2, 0, 1):
        resp = response_to(sent[i], message_id=f"m{i}")
        assert pair.esme.receive_data(encode(resp), 0.0) == [ResponseReceived(resp, sent[i])]
    assert pair.esme.outstanding == []


def test_response_matching_nothing_is_unsolicited_and_unanswered() -> None:
    session = session_in(ESME, TRX)
    stray = SubmitSmResp(sequence_number=99, message_id="x")
    assert session.receive_data(encode(stray), 0.0) == [UnsolicitedResponse(stray)]
    assert session.data_to_send() == b""
    assert session.state is TRX


def test_a_second_response_to_the_same_request_is_unsolicited() -> None:
    session = session_in(ESME, TRX)
    sent = session.send(make_request(C.SUBMIT_SM), 0.0)
    resp = response_to(sent, message_id="m")
    assert session.receive_data(encode(resp), 0.0) == [ResponseReceived(resp, sent)]
    assert session.receive_data(encode(resp), 0.0) == [UnsolicitedResponse(resp)]


def test_response_of_the_wrong_type_is_unsolicited() -> None:
    session = session_in(ESME, TRX)
    sent = session.send(make_request(C.SUBMIT_SM), 0.0)
    wrong = DeliverSmResp(sequence_number=sent.sequence_number)
    assert session.receive_data(encode(wrong), 0.0) == [UnsolicitedResponse(wrong)]


def test_generic_nack_settles_the_outstanding_request() -> None:
    session = session_in(ESME, TRX)
    sent = session.send(make_request(C.SUBMIT_SM), 0.0)
    nack = GenericNack(sequence_number=sent.sequence_number, command_status=S.ESME_RINVCMDLEN)
    assert session.receive_data(encode(nack), 0.0) == [ResponseReceived(nack, sent)]
    assert session.outstanding == []
    assert session.window_available == session.config.window


# --- window -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "state", "cid"), [(ESME, TX, C.SUBMIT_SM), (SMSC, RX, C.DELIVER_SM)]
)
def test_window_counts_submit_and_deliver_only(role: Role, state: State, cid: int) -> None:
    config = SessionConfig(window=3)
    pair = SessionPair(esme_config=config, smsc_config=config)
    assert pair.esme.window_available == 3
    bind = pair.esme.send(make_request(BIND_FOR[state]), 0.0)
    assert pair.esme.window_available == 3  # a bind does not count
    pair.flush(ESME)
    pair.send(SMSC, response_to(bind))
    pair.exchange()
    session = pair.sessions[role]
    sent = []
    for left in (2, 1, 0):
        sent.append(session.send(make_request(cid), 0.0))
        assert session.window_available == left
    with pytest.raises(LocalProtocolError, match="window"):
        session.send(make_request(cid), 0.0)
    queued = parse(session.data_to_send())
    assert queued == sent  # the refused one was not queued
    # Link control does not need a slot.
    ping = session.send(make_request(C.ENQUIRE_LINK), 0.0)
    assert session.window_available == 0
    # A response frees exactly one slot; the refused send did not burn a number.
    session.receive_data(encode(response_to(sent[1])), 0.0)
    assert session.window_available == 1
    assert session.send(make_request(cid), 0.0).sequence_number == ping.sequence_number + 1
    unbind = session.send(Unbind(sequence_number=0), 0.0)  # full window again, unbind still goes
    assert session.window_available == 0
    assert unbind in session.outstanding


def test_inbound_pending_limit_pushes_back_with_msgqful() -> None:
    pair = SessionPair(smsc_config=SessionConfig(max_inbound_pending=2))
    pair.bind(TX)
    submits = [make_request(C.SUBMIT_SM, seq) for seq in (10, 11, 12)]
    events = pair.smsc.receive_data(b"".join(encode(p) for p in submits), 0.0)
    assert events == [
        RequestReceived(submits[0]),
        RequestReceived(submits[1]),
        RequestRefused(submits[2], S.ESME_RMSGQFUL),
    ]
    assert parse(pair.smsc.data_to_send()) == [response_to(submits[2], S.ESME_RMSGQFUL)]
    assert pair.smsc.inbound_pending == 2
    # Link control is still answered while the application is behind.
    pair.smsc.receive_data(encode(make_request(C.ENQUIRE_LINK, 13)), 0.0)
    assert parse(pair.smsc.data_to_send()) == [EnquireLinkResp(sequence_number=13)]
    # Once the application answers one, the next request gets in.
    pair.smsc.send(response_to(submits[0], message_id="a"), 0.0)
    again = make_request(C.SUBMIT_SM, 14)
    assert pair.smsc.receive_data(encode(again), 0.0) == [RequestReceived(again)]


def test_response_must_answer_a_pending_request() -> None:
    session = session_in(SMSC, TX)
    submit = make_request(C.SUBMIT_SM, 5)
    session.receive_data(encode(submit) + encode(make_request(C.ENQUIRE_LINK, 6)), 0.0)
    session.data_to_send()
    with pytest.raises(LocalProtocolError):
        session.send(SubmitSmResp(sequence_number=99), 0.0)  # nothing has that number
    with pytest.raises(LocalProtocolError):
        session.send(EnquireLinkResp(sequence_number=6), 0.0)  # the session answered it
    with pytest.raises(LocalProtocolError):
        session.send(DeliverSmResp(sequence_number=5), 0.0)  # wrong kind for seq 5
    assert session.data_to_send() == b""
    assert session.inbound_pending == 1
    session.send(response_to(submit, message_id="m"), 0.0)
    assert session.inbound_pending == 0
    with pytest.raises(LocalProtocolError):
        session.send(response_to(submit, message_id="m"), 0.0)  # answered twice


def test_answering_a_pending_bind_with_another_response_kind_is_refused() -> None:
    session = Session(SMSC)
    bind = make_request(C.BIND_TRANSCEIVER, 1)
    session.receive_data(encode(bind), 0.0)
    with pytest.raises(LocalProtocolError):
        session.send(SubmitSmResp(sequence_number=1, message_id="x"), 0.0)
    assert session.state is BINDING  # not bound: the bind still awaits its answer
    assert session.inbound_pending == 1


def test_generic_nack_may_answer_a_pending_request_and_never_binds() -> None:
    session = Session(SMSC)
    bind = make_request(C.BIND_TRANSCEIVER, 1)
    session.receive_data(encode(bind), 0.0)
    session.send(GenericNack(sequence_number=1), 0.0)
    assert session.inbound_pending == 0
    assert session.state is OPEN
    again = make_request(C.BIND_TRANSCEIVER, 2)
    assert session.receive_data(encode(again), 0.0) == [RequestReceived(again)]
