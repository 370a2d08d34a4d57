"""The ledger's role for the SMPP operations on sent messages (cancel_sm by addresses,
query_sm's final states), part of ``ledger.store.Store``.

Its own module so that ``ledger/store.py`` stays one screenful of roles; the
implementation is ``ledger.core.message_ops.MessageOpsCore``.
"""

from __future__ import annotations

from typing import Protocol

from ledger.models import MessageRecord
from ledger.models.outcome import MessageOutcome


class MessageOpsStore(Protocol):
    """Reads for cancel_sm and query_sm; the money they move is ``refund``/``reprice``."""

    async def cancellable(
        self, system_id: str, *, source_addr: str, destination_addr: str, limit: int = 1000
    ) -> list[MessageRecord]:
        """The account's ACCEPTED (not yet forwarded) messages from ``source_addr`` to
        ``destination_addr`` (both as stored: international digits, or the alphanumeric
        sender), oldest first, at most ``limit``; whoever holds them."""

    async def message_outcome(self, message_id: str) -> MessageOutcome:
        """Its refund's reason and its last receipt, each None when there is none
        (an unknown id has neither)."""
