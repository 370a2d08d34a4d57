"""``MessageOpsStore`` over a backend: the reads of cancel_sm by addresses and query_sm."""

from __future__ import annotations

from ledger.backends import rows
from ledger.backends import statements_ops as sql
from ledger.backends.base import Fetch
from ledger.core.base import CoreBase
from ledger.errors import InvalidRequest
from ledger.models import MessageRecord
from ledger.models.outcome import MessageOutcome
from ledger.rules.idempotency import refund_key

#: Most messages one ``cancellable`` call returns (one cancel_sm refunds each in turn).
MAX_CANCELLABLE = 10_000


class MessageOpsCore(CoreBase):
    """Reads for cancel_sm by addresses and for query_sm's final states."""

    async def cancellable(
        self, system_id: str, *, source_addr: str, destination_addr: str, limit: int = 1000
    ) -> list[MessageRecord]:
        """The account's ACCEPTED messages from ``source_addr`` to ``destination_addr``,
        oldest first. Raises InvalidRequest for an empty address or a bad limit."""
        if not source_addr or not destination_addr:
            raise InvalidRequest("cancelling by addresses needs a source and a destination")
        if not 1 <= limit <= MAX_CANCELLABLE:
            raise InvalidRequest(f"limit must be 1..{MAX_CANCELLABLE}, not {limit}")
        args = (system_id, destination_addr, source_addr, limit)
        return await self._read(Fetch(sql.CANCELLABLE, args, rows.message))

    async def message_outcome(self, message_id: str) -> MessageOutcome:
        """The refund's reason and the last receipt of ``message_id`` (None each if none)."""
        notes = await self._read(Fetch(sql.REFUND_NOTE, (refund_key(message_id),), rows.first))
        bodies = await self._read(Fetch(sql.LAST_RECEIPT, (message_id,), rows.first))
        return MessageOutcome(
            refund_note=str(notes[0]) if notes else None,
            receipt_body=bytes(bodies[0]) if bodies else None,
        )
