"""The SMS history as read back: messages with what they drew on, pages, pruning, daily usage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from ledger.models import MessageState

#: The source a message's cost is drawn from when no package pays for it.
CREDITS_SOURCE = "credits"


@dataclass(frozen=True, slots=True)
class DrawnFrom:
    """Part of a message's cost and what paid it: ``credits`` (the balance) or a package id.

    ``amount`` is in the source's unit: milli-credits for ``credits``.
    """

    source: str
    amount: int


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One message as an account's history shows it.

    ``receipt_at`` is when the upstream's final receipt arrived and
    ``receipt_delivered_at`` when the client acknowledged it (None: none yet); the
    receipt's outcome is ``state`` (DELIVERED, FAILED). ``drawn_from`` lists what paid
    for it.
    """

    message_id: str
    created_at: datetime
    destination_addr: str
    source_addr: str
    segments: int
    cost: int  # milli-credits
    state: MessageState
    upstream_id: str | None
    receipt_at: datetime | None
    receipt_delivered_at: datetime | None
    drawn_from: tuple[DrawnFrom, ...]


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """A page of history, newest first; ``next_before`` fetches the next (older) page.

    ``next_before`` is None on the last page. It is an opaque cursor: pass it back as
    ``before=`` with the same filters.
    """

    items: tuple[HistoryItem, ...]
    next_before: str | None


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What one retention sweep deleted: messages created before ``cutoff``, receipts."""

    cutoff: datetime
    messages: int
    receipts: int


@dataclass(frozen=True, slots=True)
class DailyUsage:
    """One UTC day of an account's sending: messages accepted, and what they cost.

    ``cost`` (milli-credits) leaves out the messages the upstream refused, which were
    refunded; ``messages`` counts every message accepted that day.
    """

    day: date
    messages: int
    cost: int
