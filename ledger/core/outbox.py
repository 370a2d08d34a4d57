"""The outbox (debited messages) and delivery receipts, over a backend."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from functools import partial

from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends.base import (
    Access,
    Adopt,
    Claim,
    Execute,
    Fetch,
    Script,
    StoreReceipts,
    do,
)
from ledger.core.base import CoreBase
from ledger.errors import GatewayNotRegistered, UnknownMessage
from ledger.models import (
    DEFAULT_UPSTREAM,
    Backlog,
    MessageRecord,
    MessageState,
    NewReceipt,
    PendingReceipt,
)
from ledger.rules.adoption import validate_adopt
from ledger.rules.receipts import (
    accounts_to_notify,
    check_targets,
    final_states,
    outcome_state,
    upstream_key,
    upstream_keys,
    validate_upstream_name,
)
from ledger.rules.validation import require_gateway_id, validate_receipt_ids


def _adopt(
    gateway_id: str, now: datetime, cutoff: datetime, limit: int
) -> Script[list[MessageRecord]]:
    # Adopting is a sign of life, and must look like one to the others as soon as it
    # commits, or they would take these messages back from us.
    if not (yield from do(Execute(sql.HEARTBEAT, (gateway_id, now)))):
        raise GatewayNotRegistered(gateway_id)
    return (yield from do(Adopt(gateway_id, cutoff, now, limit)))


def _mark_forwarded(pairs: dict[str, str], upstream: str, now: datetime) -> Script[None]:
    keys = [upstream_key(u) for u in pairs.values()]
    found = yield from do(
        Fetch(
            sql.MARK_FORWARDED,
            (list(pairs), list(pairs.values()), now, keys, upstream),
            rows.first,
        )
    )
    if len(found) != len(pairs):  # the statement records all of them or none
        known = yield from do(Fetch(sql.KNOWN_MESSAGE_IDS, (list(pairs),), rows.first))
        raise UnknownMessage(sorted(set(pairs) - set(known))[0])


def _add_receipts(items: list[NewReceipt], now: datetime, until: datetime) -> Script[list[int]]:
    targets = yield from do(
        Fetch(
            sql.RECEIPT_TARGETS,
            ([i.system_id for i in items], [i.message_id for i in items]),
            rows.receipt_target,
        )
    )
    check_targets(items, targets)
    states, notify = final_states(items), accounts_to_notify(items)
    return (yield from do(StoreReceipts(items, states, notify, now, until)))


class OutboxCore(CoreBase):
    """``OutboxStore`` and ``ReceiptStore`` over a backend."""

    # -- outbox --------------------------------------------------------------------------------
    async def get_message(self, message_id: str) -> MessageRecord:
        """A message by our id. Raises UnknownMessage."""
        found = await self._read(Fetch(sql.MESSAGE, (message_id,), rows.message))
        if not found:
            raise UnknownMessage(message_id)
        return found[0]

    async def unforwarded(self, *, limit: int = 1000) -> list[MessageRecord]:
        """Messages in state ACCEPTED, oldest first, whoever owns them (read-only)."""
        return await self._read(Fetch(sql.UNFORWARDED, (limit,), rows.message))

    async def adopt_unforwarded(
        self, gateway_id: str, *, stale_after: float = 30.0, limit: int = 1000
    ) -> list[MessageRecord]:
        """Take the ACCEPTED messages ``gateway_id`` must forward; oldest first.

        See ``Store.adopt_unforwarded``: one transaction that refreshes the caller's
        heartbeat, then adopts (two adopters get disjoint sets).
        """
        validate_adopt(gateway_id, limit)
        now = self._now()
        cutoff = now - timedelta(seconds=stale_after)
        return await self._run(partial(_adopt, gateway_id, now, cutoff, limit), Access.TRANSACTION)

    async def backlog(self) -> Backlog:
        """Messages waiting for the upstream and receipts for a receiver, over every gateway."""
        [found] = await self._read(Fetch(sql.BACKLOG, (), rows.backlog))
        return found

    async def mark_forwarded(
        self, items: Sequence[tuple[str, str]], *, upstream: str = DEFAULT_UPSTREAM
    ) -> None:
        """Record (message_id, upstream_id) pairs given by ``upstream`` (its name);
        ACCEPTED becomes FORWARDED.

        A message already past FORWARDED (refunded, delivered) keeps its state but gets
        the upstream id. Raises UnknownMessage (and records nothing) for an unknown id,
        InvalidRequest for an empty upstream name.
        """
        validate_upstream_name(upstream)
        # A repeated message id records one of its upstream ids, all a repeat can mean.
        pairs = dict(items)
        if not pairs:
            return
        # One statement, all or nothing, its own transaction: one round trip on PostgreSQL.
        await self._run(partial(_mark_forwarded, pairs, upstream, self._now()), Access.STATEMENT)

    async def message_by_upstream_id(
        self, upstream_id: str, *, upstream: str | None = None, form: str = "auto"
    ) -> MessageRecord | None:
        """The message ``upstream`` (a name; None: any) knows by ``upstream_id`` in any
        of its spellings (``form``: the one its receipts use).

        Hex or decimal, padded or not, any case (``ledger.rules.receipts.upstream_keys``,
        the id as given first); the newest message, if an upstream reused an id.
        """
        for key in upstream_keys(upstream_id, form):
            args = (key, upstream)
            found = await self._read(Fetch(sql.BY_UPSTREAM_KEY, args, rows.message))
            if found:
                return found[0]
        return None

    async def set_message_state(self, message_id: str, state: MessageState) -> None:
        """Record an outcome (DELIVERED, FAILED, ...). REJECTED only comes with a refund."""
        state = outcome_state(state)
        changed = await self._statement(
            Execute(sql.SET_MESSAGE_STATE, (message_id, state.value, self._now()))
        )
        if not changed:
            raise UnknownMessage(message_id)

    # -- receipts ------------------------------------------------------------------------------
    async def add_receipts(self, items: Sequence[NewReceipt], *, lease: float = 60.0) -> list[int]:
        """Keep receipts until a receiver acknowledges them; their ids, in order.

        See ``Store.add_receipts``: one transaction; an item that fails validation leaves
        nothing written.
        """
        items = list(items)
        if not items:
            return []
        final_states(items)  # refuse REJECTED before touching the database
        now = self._now()
        until = now + timedelta(seconds=lease)
        return await self._run(partial(_add_receipts, items, now, until), Access.TRANSACTION)

    async def claim_receipts(
        self, system_id: str, *, gateway_id: str, limit: int = 100, lease: float = 60.0
    ) -> list[PendingReceipt]:
        """Claim up to ``limit`` undelivered receipts of the account for ``lease`` seconds.

        Unclaimed ones and those whose claim expired, oldest first; two claimers never get
        the same receipt.
        """
        require_gateway_id(gateway_id, "a claim")
        now = self._now()
        until = now + timedelta(seconds=lease)
        return await self._statement(Claim(system_id, gateway_id, now, until, limit))

    async def receipts_delivered(self, receipt_ids: Sequence[int]) -> None:
        """The receiver acknowledged these receipts. Idempotent; unknown ids are ignored."""
        ids = validate_receipt_ids(receipt_ids)
        if ids:
            await self._statement(Execute(sql.RECEIPTS_DELIVERED, (ids, self._now())))

    async def release_receipts(self, receipt_ids: Sequence[int]) -> None:
        """Drop the claims (the push failed) so any gateway may claim them again."""
        ids = validate_receipt_ids(receipt_ids)
        if ids:
            await self._statement(Execute(sql.RELEASE_RECEIPTS, (ids,)))

    async def pending_receipts(self, system_id: str, *, limit: int = 1000) -> list[PendingReceipt]:
        """Receipts not yet acknowledged, claimed or not, oldest first."""
        return await self._read(Fetch(sql.PENDING_RECEIPTS, (system_id, limit), rows.receipt))

    async def listen_receipts(
        self, callback: Callable[[str], None]
    ) -> Callable[[], Awaitable[None]] | None:
        """Call ``callback(system_id)`` whenever another process stores unclaimed receipts.

        PostgreSQL: a dedicated LISTEN connection, reconnected when it drops; returns
        ``stop()``. SQLite: None (one process delivers directly and sweeps).
        """
        return await self._db.listen(callback)
