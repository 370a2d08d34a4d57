"""The session's bind states and every transition between them, in one table.

How the machine works (after h11's ``_state.py``): a session plays one ``Role`` and is in
one ``State``. Everything that can move it is a ``Trigger``: a PDU received or sent (by
command_id; for a response, whether its status is ESME_ROK), a request of ours timing
out, or the link going down. ``TRANSITIONS[role][state][trigger]`` is the new state; a
trigger with no entry is not allowed in that state:

- a peer's request without an entry is refused (``RemoteProtocolError``, answered with
  ESME_RALYBND for a bind once bound, ESME_RINVBNDSTS otherwise, see ``refusal_status``);
- a request or response of ours without an entry is ``LocalProtocolError``.

A generic_nack counts as an error response to the request it answers, so a generic_nack
answering a bind never binds. Requests that stay in their state (submit_sm, enquire_link)
have rows too: a row says both "allowed" and "where to". The pending-sequence bookkeeping
(which requests await which answers) and "input held" are data beside the state, kept by
``gateway.smpp.session``.

States (SMPP 3.4 §2.2, with the two waits made explicit):

- OPEN: connected, not bound;
- BINDING: a bind request is out (ESME) or being decided (SMSC); nothing else starts;
- BOUND_TX / BOUND_RX / BOUND_TRX: bound;
- UNBINDING: an unbind is out and its unbind_resp awaited, or the peer's unbind waits for
  the answers we still owe it; only those answers and link control go on;
- CLOSED: over.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum, IntEnum
from typing import NamedTuple

from gateway.smpp.constants import RESPONSE_BIT, CommandId, CommandStatus

C = CommandId


class Role(Enum):
    """Which side of the link the session plays."""

    SMSC = "smsc"  # we accept binds (the gateway's server)
    ESME = "esme"  # we bind (the gateway's upstream client)


class State(Enum):
    """SMPP 3.4 session states (§2.2), plus BINDING and UNBINDING (see module doc)."""

    OPEN = "open"
    BINDING = "binding"
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


class Io(IntEnum):
    """What happened to the PDU a trigger names."""

    RECEIVED = 1
    SENT = 2
    #: Our request got no response in time (command_id: the request's).
    TIMED_OUT = 3
    #: The link is gone: connection lost, framing lost, or idle (command_id 0).
    LINK_DOWN = 4


class Trigger(NamedTuple):
    """One event that may move a session: what happened, to which PDU, with what outcome.

    ``ok`` is the response's status being ESME_ROK (never for a generic_nack, whose
    ``command_id`` here is the ``*_resp`` id of the request it answers); True for requests.
    """

    io: Io
    command_id: int
    ok: bool = True


BINDS = frozenset({C.BIND_TRANSMITTER, C.BIND_RECEIVER, C.BIND_TRANSCEIVER})
#: The state a successful bind of each kind leads to.
BOUND_BY: Mapping[int, State] = {
    C.BIND_TRANSMITTER: State.BOUND_TX,
    C.BIND_RECEIVER: State.BOUND_RX,
    C.BIND_TRANSCEIVER: State.BOUND_TRX,
}
LINK_DOWN = Trigger(Io.LINK_DOWN, 0, False)

#: How the table is keyed: a ``Trigger`` or the plain tuple equal to it (the session
#: looks rows up with plain tuples, cheaper to build on the hot path).
TriggerKey = tuple[Io, int, bool]
_Rows = dict[TriggerKey, State]


def _peer_request(cid: int, to: State) -> _Rows:
    return {Trigger(Io.RECEIVED, cid): to}


def _our_request(cid: int, to: State) -> _Rows:
    return {Trigger(Io.SENT, cid): to}


def _we_answer(cid: int, ok: State, error: State) -> _Rows:
    resp = cid | RESPONSE_BIT
    return {Trigger(Io.SENT, resp, True): ok, Trigger(Io.SENT, resp, False): error}


def _peer_answers(cid: int, ok: State, error: State, timeout: State) -> _Rows:
    resp = cid | RESPONSE_BIT
    return {
        Trigger(Io.RECEIVED, resp, True): ok,
        Trigger(Io.RECEIVED, resp, False): error,
        Trigger(Io.TIMED_OUT, cid, False): timeout,
    }


def _merge(*parts: _Rows) -> _Rows:
    out: _Rows = {}
    for part in parts:
        out.update(part)
    return out


def _link(state: State, *, may_ping: bool) -> _Rows:
    """enquire_link either way (answered by the session itself); ours only if allowed."""
    rows = _merge(
        _peer_request(C.ENQUIRE_LINK, state),
        _we_answer(C.ENQUIRE_LINK, state, state),
        # Answers to an enquire_link sent before this state began.
        _peer_answers(C.ENQUIRE_LINK, state, state, state),
    )
    if may_ping:
        rows.update(_our_request(C.ENQUIRE_LINK, state))
    return rows


def _unbind() -> _Rows:
    """Either side may start the unbind of a bound session."""
    return _merge(_peer_request(C.UNBIND, State.UNBINDING), _our_request(C.UNBIND, State.UNBINDING))


#: What an ESME sends an SMSC on a TX or TRX bind (SMPP 3.4 §2.3, §4.4-§4.10).
ESME_OPERATIONS = (
    C.SUBMIT_SM,
    C.SUBMIT_MULTI,
    C.DATA_SM,
    C.QUERY_SM,
    C.CANCEL_SM,
    C.REPLACE_SM,
)
#: What an SMSC sends an ESME on an RX or TRX bind (data_sm goes both ways).
SMSC_OPERATIONS = (C.DELIVER_SM, C.DATA_SM)


def _esme_to_smsc(cid: int, state: State, role: Role) -> _Rows:
    if role is Role.SMSC:
        return _merge(_peer_request(cid, state), _we_answer(cid, state, state))
    return _merge(_our_request(cid, state), _peer_answers(cid, state, state, state))


def _smsc_to_esme(cid: int, state: State, role: Role) -> _Rows:
    if role is Role.SMSC:
        return _merge(_our_request(cid, state), _peer_answers(cid, state, state, state))
    return _merge(_peer_request(cid, state), _we_answer(cid, state, state))


def _submits(state: State, role: Role) -> _Rows:
    """submit_sm, submit_multi, data_sm, query_sm, cancel_sm, replace_sm: ESME to SMSC,
    on TX and TRX binds."""
    return _merge(*(_esme_to_smsc(cid, state, role) for cid in ESME_OPERATIONS))


def _delivers(state: State, role: Role) -> _Rows:
    """deliver_sm and data_sm, SMSC to ESME, on RX and TRX binds; alert_notification
    too, which has no response."""
    rows = _merge(*(_smsc_to_esme(cid, state, role) for cid in SMSC_OPERATIONS))
    if role is Role.SMSC:
        rows.update(_our_request(C.ALERT_NOTIFICATION, state))
    else:
        rows.update(_peer_request(C.ALERT_NOTIFICATION, state))
    return rows


def _bind_rows(role: Role) -> tuple[_Rows, _Rows]:
    """(OPEN rows starting a bind, BINDING rows ending it) for ``role``."""
    start: _Rows = {}
    end: _Rows = {}
    for cid, bound in BOUND_BY.items():
        if role is Role.SMSC:
            start.update(_peer_request(cid, State.BINDING))
            end.update(_we_answer(cid, bound, State.OPEN))
        else:
            start.update(_our_request(cid, State.BINDING))
            end.update(_peer_answers(cid, bound, State.OPEN, State.OPEN))
    return start, end


def _in_flight(role: Role) -> _Rows:
    """While unbinding: requests already exchanged are still answered, both ways."""
    u = State.UNBINDING
    if role is Role.SMSC:
        return _merge(
            *(_we_answer(cid, u, u) for cid in ESME_OPERATIONS),
            *(_peer_answers(cid, u, u, u) for cid in SMSC_OPERATIONS),
        )
    return _merge(
        *(_peer_answers(cid, u, u, u) for cid in ESME_OPERATIONS),
        *(_we_answer(cid, u, u) for cid in SMSC_OPERATIONS),
    )


def _table(role: Role) -> dict[State, _Rows]:
    start_bind, end_bind = _bind_rows(role)
    tx, rx, trx, u = State.BOUND_TX, State.BOUND_RX, State.BOUND_TRX, State.UNBINDING
    # outbind (no response): an SMSC asks an ESME, not yet bound, to bind (§4.1.7).
    outbind = (_our_request if role is Role.SMSC else _peer_request)(C.OUTBIND, State.OPEN)
    table = {
        State.OPEN: _merge(start_bind, _link(State.OPEN, may_ping=True), outbind),
        State.BINDING: _merge(end_bind, _link(State.BINDING, may_ping=False)),
        tx: _merge(_link(tx, may_ping=True), _unbind(), _submits(tx, role)),
        rx: _merge(_link(rx, may_ping=True), _unbind(), _delivers(rx, role)),
        trx: _merge(
            _link(trx, may_ping=True),
            _unbind(),
            _submits(trx, role),
            _delivers(trx, role),
        ),
        u: _merge(
            _link(u, may_ping=False),
            _in_flight(role),
            # A crossing unbind is answered; the unbind_resp, ours or theirs, ends it.
            _peer_request(C.UNBIND, u),
            _we_answer(C.UNBIND, State.CLOSED, State.CLOSED),
            _peer_answers(C.UNBIND, State.CLOSED, State.CLOSED, u),
        ),
        State.CLOSED: {},
    }
    for rows in table.values():
        rows[LINK_DOWN] = State.CLOSED
    return table


#: role -> state -> trigger -> new state. The only place a session's state changes.
TRANSITIONS: Mapping[Role, Mapping[State, Mapping[TriggerKey, State]]] = {
    role: _table(role) for role in Role
}


def refusal_status(state: State, command_id: int) -> CommandStatus:
    """The answer to a peer's request that ``state`` has no row for.

    A bind on a session that is bound, or unbinding, is ESME_RALYBND (SMPP 3.4 §4.1);
    anything else, a second bind while one is pending included, is ESME_RINVBNDSTS.
    """
    if command_id in BINDS and state not in (State.OPEN, State.BINDING):
        return CommandStatus.ESME_RALYBND
    return CommandStatus.ESME_RINVBNDSTS


__all__ = [
    "BINDS",
    "BOUND_BY",
    "ESME_OPERATIONS",
    "LINK_DOWN",
    "SMSC_OPERATIONS",
    "TRANSITIONS",
    "Io",
    "Role",
    "State",
    "Trigger",
    "TriggerKey",
    "refusal_status",
]
