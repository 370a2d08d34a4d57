"""The transition table itself: complete, consistent, and the only way the state moves.

``test_session.py`` checks the behaviour against the SMPP rules written out by hand; here
every ``(role, state, request)`` the codec can decode is walked, in both directions, and
must be either a row of ``TRANSITIONS`` or refused with the error that names role, state
and PDU. BINDING and UNBINDING are checked as states one can observe.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from gateway.smpp import (
    NO_RESPONSE,
    PDU_CLASSES,
    RESPONSE_BIT,
    TRANSITIONS,
    Bound,
    CommandId,
    CommandStatus,
    GenericNack,
    Io,
    LocalProtocolError,
    MustClose,
    RemoteProtocolError,
    RequestReceived,
    RequestRefused,
    RequestTimedOut,
    ResponseReceived,
    Role,
    Session,
    SessionConfig,
    State,
    Trigger,
    Unbind,
    UnbindResp,
    Unbound,
    encode,
    response_to,
)
from gateway.smpp.states import LINK_DOWN, TriggerKey, refusal_status
from tests.unit.smpp.helpers import SessionPair, make_request, parse, session_in

C = CommandId
S = CommandStatus
REQUESTS = sorted(cid for cid in PDU_CLASSES if not cid & RESPONSE_BIT)
CASES = [(role, state, cid) for role in Role for state in State for cid in REQUESTS]


def _id(role: Role, state: State, cid: int) -> str:
    return f"{role.value}-{state.value}-{C(cid).name.lower()}"


def test_every_declared_request_is_walked() -> None:
    assert set(REQUESTS) == {
        C.BIND_TRANSMITTER,
        C.BIND_RECEIVER,
        C.BIND_TRANSCEIVER,
        C.SUBMIT_SM,
        C.DELIVER_SM,
        C.ENQUIRE_LINK,
        C.UNBIND,
        C.SUBMIT_MULTI,
        C.DATA_SM,
        C.QUERY_SM,
        C.CANCEL_SM,
        C.REPLACE_SM,
        C.OUTBIND,
        C.ALERT_NOTIFICATION,
    }


@pytest.mark.parametrize(("role", "state", "cid"), CASES, ids=[_id(*c) for c in CASES])
def test_peer_request_is_a_row_or_refused_with_the_named_error(
    role: Role, state: State, cid: int
) -> None:
    session = session_in(role, state)
    request = make_request(cid, 77)
    events = session.receive_data(encode(request), 1.0)
    row = TRANSITIONS[role][state].get(Trigger(Io.RECEIVED, cid))
    if state is State.CLOSED:
        assert row is None
        assert events == []
        return
    refusals = [e for e in events if isinstance(e, RequestRefused)]
    if row is not None:
        assert refusals == []
        return
    (refused,) = refusals
    status = refusal_status(state, cid)
    assert refused.status == status
    err = refused.error
    assert isinstance(err, RemoteProtocolError)
    assert (err.role, err.state, err.command_id, err.status) == (role, state, cid, status)
    assert (err.sequence_number, err.status) == (77, status)
    text = str(err)
    assert C(cid).name.lower() in text
    assert role.value in text
    assert state.value in text
    answer = (
        GenericNack(sequence_number=77, command_status=status)
        if cid in NO_RESPONSE
        else response_to(request, status)
    )
    assert parse(session.data_to_send()) == [answer]
    assert session.state is state


@pytest.mark.parametrize(("role", "state", "cid"), CASES, ids=[_id(*c) for c in CASES])
def test_our_request_is_a_row_or_a_local_protocol_error(role: Role, state: State, cid: int) -> None:
    session = session_in(role, state)
    row = TRANSITIONS[role][state].get(Trigger(Io.SENT, cid))
    if row is not None:
        session.send(make_request(cid), 1.0)
        assert session.state is row
        return
    with pytest.raises(LocalProtocolError) as info:
        session.send(make_request(cid), 1.0)
    if state is not State.CLOSED:
        err = info.value
        assert (err.role, err.state, err.command_id) == (role, state, cid)
        assert type(make_request(cid)).__name__ in str(err)
        assert role.value in str(err)
        assert state.value in str(err)
    assert session.data_to_send() == b""
    assert session.state is state


def test_refusal_status_is_already_bound_only_for_a_bind_once_bound() -> None:
    for state in State:
        for cid in REQUESTS:
            want = (
                S.ESME_RALYBND
                if cid in (C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER)
                and state not in (State.OPEN, State.BINDING)
                else S.ESME_RINVBNDSTS
            )
            assert refusal_status(state, cid) == want


@pytest.mark.parametrize("role", list(Role))
def test_table_is_consistent(role: Role) -> None:
    table = TRANSITIONS[role]
    assert set(table) == set(State)
    for state, rows in table.items():
        # The link can always go down, and nothing leaves CLOSED.
        assert rows[LINK_DOWN] is State.CLOSED
        if state is State.CLOSED:
            assert rows == {LINK_DOWN: State.CLOSED}
        for trigger, new in rows.items():
            assert isinstance(new, State)
            if trigger.io in (Io.RECEIVED, Io.SENT, Io.TIMED_OUT):
                # Every PDU the table names is one the codec declares.
                assert trigger.command_id in PDU_CLASSES, trigger
            if trigger.io is not Io.LINK_DOWN and trigger.command_id & RESPONSE_BIT:
                # A response row exists for both outcomes.
                flipped = Trigger(trigger.io, trigger.command_id, not trigger.ok)
                assert flipped in rows, (state, trigger)


BIND_IDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})


def _next_states(rows: Mapping[TriggerKey, State], request: int, way: Io) -> list[State]:
    """States reachable in one step while ``request`` (sent ``way``) awaits its answer:
    anything but its own answer or timeout, and, for a bind, anything but another bind's
    answer (one bind at a time)."""
    out = []
    for t, new in rows.items():
        trigger = Trigger(*t)
        cid = trigger.command_id & ~RESPONSE_BIT
        if cid == request and trigger.io is not way:
            continue  # its answer (or timeout): it no longer awaits one
        if request in BIND_IDS and cid in BIND_IDS and cid != request:
            continue
        out.append(new)
    return out


def states_while_awaiting(
    table: Mapping[State, Mapping[TriggerKey, State]], start: State, request: Trigger
) -> set[State]:
    """Every state (CLOSED aside) a session can be in while ``request``, which led to
    ``start``, awaits its answer."""
    seen: set[State] = set()
    todo = [start]
    while todo:
        here = todo.pop()
        if here in seen or here is State.CLOSED:
            continue
        seen.add(here)
        todo.extend(_next_states(table[here], request.command_id, request.io))
    return seen


def requests_and_targets(role: Role, io: Io) -> list[tuple[Trigger, State]]:
    """Each request row of ``role`` for direction ``io``, with the state it leads to."""
    out = []
    for rows in TRANSITIONS[role].values():
        for key, new in rows.items():
            trigger = Trigger(*key)
            if trigger.io is io and not trigger.command_id & RESPONSE_BIT:
                out.append((trigger, new))
    return out


@pytest.mark.parametrize("role", list(Role))
def test_every_request_we_may_send_can_be_answered_or_time_out_where_it_leads(
    role: Role,
) -> None:
    """No request of ours can end up awaiting an answer in a state with no row for it."""
    table = TRANSITIONS[role]
    for request, new in requests_and_targets(role, Io.SENT):
        if request.command_id in NO_RESPONSE:
            continue  # outbind, alert_notification: nothing to await
        resp = request.command_id | RESPONSE_BIT
        for here in states_while_awaiting(table, new, request):
            assert Trigger(Io.RECEIVED, resp, True) in table[here], (request, here)
            assert Trigger(Io.TIMED_OUT, request.command_id, False) in table[here]


@pytest.mark.parametrize("role", list(Role))
def test_every_request_the_peer_may_send_can_be_answered_where_it_leads(role: Role) -> None:
    """The mirror image: a peer request we accepted can always be answered by us."""
    table = TRANSITIONS[role]
    for request, new in requests_and_targets(role, Io.RECEIVED):
        if request.command_id in NO_RESPONSE:
            continue  # nothing to answer
        resp = request.command_id | RESPONSE_BIT
        for here in states_while_awaiting(table, new, request):
            assert Trigger(Io.SENT, resp, True) in table[here], (request, here)


# --- BINDING and UNBINDING are states one can see ------------------------------------------


def test_state_cannot_be_set_from_outside() -> None:
    session = Session(Role.SMSC)
    with pytest.raises(AttributeError):
        session.state = State.BOUND_TRX  # type: ignore[misc]
    assert session.state is State.OPEN


@pytest.mark.parametrize("kind", [C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER])
def test_binding_on_both_sides_until_the_bind_resp(kind: int) -> None:
    pair = SessionPair()
    bind = pair.esme.send(make_request(kind), 0.0)
    assert pair.esme.state is State.BINDING
    assert pair.smsc.receive_data(pair.esme.data_to_send(), 0.0) == [RequestReceived(bind)]
    assert pair.smsc.state is State.BINDING
    assert not pair.smsc.state.is_bound
    pair.smsc.send(response_to(bind, system_id="SMSC"), 0.0)
    bound = {C.BIND_TRANSMITTER: State.BOUND_TX, C.BIND_RECEIVER: State.BOUND_RX}.get(
        kind, State.BOUND_TRX
    )
    assert pair.smsc.state is bound
    # The SMSC side's Bound is queued by send(), for take_events().
    assert pair.smsc.take_events() == [Bound(bound)]
    assert pair.smsc.take_events() == []
    events = pair.esme.receive_data(pair.smsc.data_to_send(), 0.0)
    assert events[1:] == [Bound(bound)]
    assert pair.esme.state is bound


def test_binding_ends_in_open_on_refusal_nack_or_timeout() -> None:
    smsc = Session(Role.SMSC)
    bind = make_request(C.BIND_TRANSCEIVER, 1)
    smsc.receive_data(encode(bind), 0.0)
    smsc.send(response_to(bind, S.ESME_RINVPASWD), 0.0)
    assert smsc.state is State.OPEN
    assert smsc.take_events() == []
    smsc.receive_data(encode(make_request(C.BIND_TRANSCEIVER, 2)), 0.0)
    assert smsc.state is State.BINDING
    smsc.send(GenericNack(sequence_number=2), 0.0)
    assert smsc.state is State.OPEN

    esme = Session(Role.ESME, SessionConfig(response_timeout=5.0))
    sent = esme.send(make_request(C.BIND_TRANSMITTER), 0.0)
    assert esme.state is State.BINDING
    assert esme.handle_timer(5.0) == [RequestTimedOut(sent)]
    assert esme.state is State.OPEN
    again = esme.send(make_request(C.BIND_TRANSMITTER), 5.0)
    nack = GenericNack(sequence_number=again.sequence_number)
    assert esme.receive_data(encode(nack), 6.0) == [ResponseReceived(nack, again)]
    assert esme.state is State.OPEN


def test_our_unbind_is_unbinding_until_its_resp() -> None:
    pair = SessionPair()
    pair.bind(State.BOUND_TRX)
    unbind = pair.esme.send(Unbind(sequence_number=0), 0.0)
    assert pair.esme.state is State.UNBINDING
    assert not pair.esme.state.is_bound
    resp = UnbindResp(sequence_number=unbind.sequence_number)
    events = pair.esme.receive_data(encode(resp), 0.0)
    assert events[:2] == [ResponseReceived(resp, unbind), Unbound(by_peer=False)]
    assert pair.esme.state is State.CLOSED


def test_peer_unbind_with_answers_owed_is_unbinding_until_the_last_answer() -> None:
    pair = SessionPair()
    pair.bind(State.BOUND_TRX)
    assert pair.smsc.take_events() == [Bound(State.BOUND_TRX)]
    submit = make_request(C.SUBMIT_SM, 2)
    pair.smsc.receive_data(encode(submit) + encode(make_request(C.UNBIND, 3)), 0.0)
    assert pair.smsc.state is State.UNBINDING
    assert pair.smsc.input_held
    # Unbinding: the answer owed goes out, nothing new starts.
    with pytest.raises(LocalProtocolError):
        pair.smsc.send(make_request(C.DELIVER_SM), 0.0)
    pair.smsc.send(response_to(submit, message_id="m1"), 0.0)
    assert pair.smsc.state is State.CLOSED
    events = pair.smsc.take_events()
    assert events[0] == Unbound(by_peer=True)
    assert isinstance(events[1], MustClose)
    assert len(events) == 2
    assert parse(pair.smsc.data_to_send()) == [
        response_to(submit, message_id="m1"),
        UnbindResp(sequence_number=3),
    ]


def test_connection_lost_closes_from_every_state() -> None:
    for role in Role:
        for state in State:
            session = session_in(role, state)
            session.connection_lost()
            assert session.state is State.CLOSED
