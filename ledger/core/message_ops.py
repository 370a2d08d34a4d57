"""``MessageOpsStore`` over a backend: the reads of cancel_sm by addresses and query_sm,
and the batch refund cancel_sm by addresses gives its messages back with."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from ledger.backends import rows
from ledger.backends import statements_ops as sql
from ledger.backends.base import Access, Decoder, Execute, Fetch, Row, Script, do
from ledger.core.base import CoreBase
from ledger.core.money import movement
from ledger.errors import AdoptedMeanwhile, InvalidRequest
from ledger.models import MessageRecord, MessageState
from ledger.models.outcome import MessageOutcome, RefundOutcome
from ledger.rules.idempotency import refund_key
from ledger.rules.planning import Plan
from ledger.rules.refund_batch import RefundBatch

#: Most messages one ``cancellable`` call returns (one cancel_sm refunds each in turn).
MAX_CANCELLABLE = 10_000
#: Most messages one ``refund_many`` refunds (one transaction; cancel_sm asks <= 1,000).
MAX_REFUND_BATCH = 10_000
#: Runs of a held batch refund whose check after the write found a message adopted by
#: another gateway meanwhile (each run sees the adoptions committed before it, so a
#: second run normally passes; a third covers a second adoption sweep in between).
HELD_RUNS = 3


def _holder_row(row: Row, _d: Decoder) -> tuple[str, str, str]:
    return str(row[0]), str(row[1]), str(row[2])


def _refund_batch(
    message_ids: tuple[str, ...], reason: str, holder: str | None, now: datetime
) -> Script[tuple[Plan[Any], list[int]]]:
    """The batch refund's transaction: the holder check before (which messages are the
    holder's ACCEPTED ones), the movement, and the check again on the written rows."""
    not_held: frozenset[str] = frozenset()
    if holder is not None:
        found = yield from do(Fetch(sql.HOLDER_STATES, (list(message_ids),), _holder_row))
        accepted = MessageState.ACCEPTED.value
        not_held = frozenset(m for m, state, owner in found if (state, owner) != (accepted, holder))
    plan, ids = yield from movement(RefundBatch(message_ids, reason, not_held), now)
    rejected = list(plan.message_states)
    if holder is not None and rejected:
        # The rows are now locked by this transaction (the write of their state) and an
        # adoption committed before the write is seen: every one must still be the
        # holder's, else another gateway may send one of them (rolled back, run again).
        held = yield from do(Execute(sql.ALL_HELD_BY, (rejected, holder, now)))
        if held != len(rejected):
            raise AdoptedMeanwhile(f"{len(rejected) - held} of {len(rejected)} adopted")
    return plan, ids


class MessageOpsCore(CoreBase):
    """Reads for cancel_sm by addresses and for query_sm's final states; the batch refund."""

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

    async def refund_many(
        self, message_ids: Sequence[str], *, reason: str, holder: str | None = None
    ) -> list[RefundOutcome]:
        """Refund each message as ``refund`` does, all in ONE transaction; one outcome
        per distinct id, in order (``ledger.rules.refund_batch``).

        ``holder``: only the messages that gateway holds not yet forwarded, checked in the
        transaction; the others are refused (NOT_HELD) unless refunded before. Raises
        InvalidRequest (too many ids), IdempotencyConflict, LedgerUnavailable, and
        AdoptedMeanwhile: nothing is written.
        """
        ids = tuple(dict.fromkeys(message_ids))
        if len(ids) > MAX_REFUND_BATCH:
            raise InvalidRequest(f"at most {MAX_REFUND_BATCH} messages a batch, not {len(ids)}")
        if not ids:
            return []
        for run in range(1, HELD_RUNS + 1):
            now = self._now()
            try:
                plan, entry_ids = await self._run(
                    partial(_refund_batch, ids, reason, holder, now), Access.TRANSACTION
                )
            except AdoptedMeanwhile:
                if run == HELD_RUNS:
                    raise
                continue
            result: list[RefundOutcome] = plan.resolve(entry_ids, now)
            return result
        raise AssertionError("unreachable")
