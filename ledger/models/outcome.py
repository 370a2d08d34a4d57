"""What the ledger knows of how a message ended, beyond its state (for query_sm), and
what a batch refund did with each of its messages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from ledger.models import JournalEntry


@dataclass(frozen=True, slots=True)
class MessageOutcome:
    """The records that tell one final outcome from another.

    ``refund_note``: the reason given to the message's refund (``cancel_sm``,
    ``expired``, ``undelivered EXPIRED``, ``upstream NAME 0x..``), None if it was never
    refunded. ``receipt_body``: the body of the last receipt stored for it (its
    message_state TLV is the upstream's final word), None if none was stored.
    """

    refund_note: str | None
    receipt_body: bytes | None


class RefundRefusal(StrEnum):
    """Why ``Store.refund_many`` left one of its messages unrefunded (nothing written
    for it, the others are refunded all the same)."""

    #: No such message.
    UNKNOWN = "unknown"
    #: Asked with a ``holder``: the message is no longer ACCEPTED and that gateway's (it
    #: was forwarded, or another gateway adopted it), and was never refunded.
    NOT_HELD = "not_held"


@dataclass(frozen=True, slots=True)
class RefundOutcome:
    """One message of ``Store.refund_many``: its refund's first entry (new, or the one a
    replay or an earlier single refund wrote), or why it was not refunded."""

    message_id: str
    entry: JournalEntry | None
    refused: RefundRefusal | None = None
