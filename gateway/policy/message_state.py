"""query_sm's message_state (SMPP 3.4 §5.2.28) of a stored message. Pure.

The ledger keeps five states (``ledger.models.MessageState``); the SMPP ones are told
apart by what ended the message, read from the ledger (``MessageOutcome``):

==========================  ===========================================================
ledger state                message_state
==========================  ===========================================================
ACCEPTED, FORWARDED         ENROUTE (1): held by a gateway, or handed to the upstream
DELIVERED                   DELIVERED (2)
FAILED                      the upstream's final receipt's: EXPIRED (3), DELETED (4),
                            UNDELIVERABLE (5), ACCEPTED (6), UNKNOWN (7), REJECTED (8);
                            UNDELIVERABLE without a readable receipt
REJECTED (always refunded)  by the refund's reason: ``cancel_sm`` DELETED (4);
                            ``expired`` (never forwarded in time) EXPIRED (3);
                            ``undelivered STAT`` (``[delivery] undelivered_refund``) the
                            state of STAT; a refusal by the upstream, or any other
                            reason, REJECTED (8)
==========================  ===========================================================

Every state but ENROUTE is final (``final_date`` is set).
"""

from __future__ import annotations

from enum import IntEnum

from gateway.smpp import HEADER, HEADER_SIZE, CommandId, DeliverSm, PduError, Tag, decode
from ledger.models import MessageState
from ledger.models.outcome import MessageOutcome


class SmppState(IntEnum):
    """message_state values (SMPP 3.4 §5.2.28)."""

    ENROUTE = 1
    DELIVERED = 2
    EXPIRED = 3
    DELETED = 4
    UNDELIVERABLE = 5
    ACCEPTED = 6
    UNKNOWN = 7
    REJECTED = 8


#: The refund reason cancel_sm gives (``gateway.policy.messages``).
CANCEL_REASON = "cancel_sm"
#: The refund reason of a message that expired before any upstream took it.
EXPIRED_REASON = "expired"
#: The prefix of the refund reason of a message its receipt said was not delivered.
UNDELIVERED_PREFIX = "undelivered "

#: Receipt stat words (Appendix B, with the aliases SMSCs write) -> message_state.
_STAT_STATE: dict[str, SmppState] = {
    "DELIVRD": SmppState.DELIVERED,
    "EXPIRED": SmppState.EXPIRED,
    "DELETED": SmppState.DELETED,
    "UNDELIV": SmppState.UNDELIVERABLE,
    "ACCEPTD": SmppState.ACCEPTED,
    "UNKNOWN": SmppState.UNKNOWN,
    "REJECTD": SmppState.REJECTED,
}
_IN_FLIGHT = frozenset({MessageState.ACCEPTED, MessageState.FORWARDED})


def needs_outcome(state: MessageState) -> bool:
    """True when the ledger state alone does not say which message_state it is."""
    return state in (MessageState.FAILED, MessageState.REJECTED)


def is_final(state: MessageState) -> bool:
    """True once nothing more will happen to the message (``final_date`` is set)."""
    return state not in _IN_FLIGHT


def smpp_state(state: MessageState, outcome: MessageOutcome | None = None) -> SmppState:
    """The message_state query_sm answers for a message in ``state`` (module docstring);
    ``outcome`` is read from the ledger when ``needs_outcome(state)``."""
    if state in _IN_FLIGHT:
        return SmppState.ENROUTE
    if state is MessageState.DELIVERED:
        return SmppState.DELIVERED
    if state is MessageState.FAILED:
        found = _receipt_state(outcome.receipt_body if outcome else None)
        return found if found is not None else SmppState.UNDELIVERABLE
    return _refund_state(outcome.refund_note if outcome else None)


def _refund_state(note: str | None) -> SmppState:
    if note == CANCEL_REASON:
        return SmppState.DELETED
    if note == EXPIRED_REASON:
        return SmppState.EXPIRED
    if note is not None and note.startswith(UNDELIVERED_PREFIX):
        stat = note[len(UNDELIVERED_PREFIX) :].strip().upper()
        return _STAT_STATE.get(stat, SmppState.UNDELIVERABLE)
    return SmppState.REJECTED


def _receipt_state(body: bytes | None) -> SmppState | None:
    """The message_state TLV of a stored receipt body (every receipt we store carries
    one, ``gateway.delivery.receipt_pdus``); None if absent or unreadable."""
    if body is None:
        return None
    frame = HEADER.pack(HEADER_SIZE + len(body), CommandId.DELIVER_SM, 0, 0) + body
    try:
        pdu = decode(frame)
    except PduError:
        return None
    value = pdu.tlv(Tag.MESSAGE_STATE) if isinstance(pdu, DeliverSm) else None
    if value is None or len(value) != 1 or value[0] not in SmppState._value2member_map_:
        return None
    return SmppState(value[0])
