"""What a session tells the application: one frozen, slotted dataclass per event.

``Session.receive_data`` and ``Session.handle_timer`` return them in order;
``Session.send`` queues the ones it causes for ``Session.take_events``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gateway.smpp.constants import CommandStatus
from gateway.smpp.errors import PduError, RemoteProtocolError
from gateway.smpp.pdus import Pdu
from gateway.smpp.states import State


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
    """A peer request the session answered itself with an error (wrong state, full,
    a sequence_number still pending).

    ``error`` names role, state and PDU when the transition table refused it; ``reason``
    is a short code for the other refusals (``"duplicate_sequence"``), else empty.
    """

    pdu: Pdu
    status: CommandStatus
    error: RemoteProtocolError | None = field(default=None, compare=False)
    reason: str = ""


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


__all__ = [
    "Bound",
    "Event",
    "MustClose",
    "PduRejected",
    "RequestReceived",
    "RequestRefused",
    "RequestTimedOut",
    "ResponseReceived",
    "Unbound",
    "UnsolicitedResponse",
]
