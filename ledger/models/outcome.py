"""What the ledger knows of how a message ended, beyond its state (for query_sm)."""

from __future__ import annotations

from dataclasses import dataclass


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
