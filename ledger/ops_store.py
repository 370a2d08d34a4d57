"""The ledger's role for the SMPP operations on sent messages (cancel_sm by addresses
and its batch refund, query_sm's final states), part of ``ledger.store.Store``.

Its own module so that ``ledger/store.py`` stays one screenful of roles; the
implementation is ``ledger.core.message_ops.MessageOpsCore``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ledger.models import MessageRecord
from ledger.models.outcome import MessageOutcome, RefundOutcome


class MessageOpsStore(Protocol):
    """Reads for cancel_sm and query_sm, and cancel_sm by addresses' batch refund; the
    other money they move is ``refund``/``reprice``."""

    async def cancellable(
        self, system_id: str, *, source_addr: str, destination_addr: str, limit: int = 1000
    ) -> list[MessageRecord]:
        """The account's ACCEPTED (not yet forwarded) messages from ``source_addr`` to
        ``destination_addr`` (both as stored: international digits, or the alphanumeric
        sender), oldest first, at most ``limit``; whoever holds them."""

    async def message_outcome(self, message_id: str) -> MessageOutcome:
        """Its refund's reason and its last receipt, each None when there is none
        (an unknown id has neither)."""

    async def refund_many(
        self, message_ids: Sequence[str], *, reason: str, holder: str | None = None
    ) -> list[RefundOutcome]:
        """Refund each message as ``refund`` does (key ``refund:<id>``, back to its packages,
        REJECTED), all in ONE transaction; one outcome per distinct id, in order.

        ``holder``: only those that gateway holds not yet forwarded (ACCEPTED, its owner),
        checked in the transaction; the others are refused (``RefundRefusal.NOT_HELD``)
        unless refunded before (a replay answers the first entry, as ``refund`` does); an
        unknown id is refused (UNKNOWN). Raises InvalidRequest (more than 10,000 ids),
        IdempotencyConflict, AdoptedMeanwhile, LedgerUnavailable: nothing written."""
