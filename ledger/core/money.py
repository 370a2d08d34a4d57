"""Money movements, the journal and the audit, over a backend.

Every movement is a ``ledger.rules.planning.Movement`` (what to load, how to plan) run by
ONE script, :func:`movement`, in one transaction: lock and load, plan, write the plan.
``credit``, ``debit_batch``, ``refund`` and ``transfer`` are movements; a new operation
is a new movement in ``ledger.rules`` and a method here calling :meth:`MoneyCore.move`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from ledger.backends import package_sql as psql
from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends import statements_ops as ops_sql
from ledger.backends.base import (
    Access,
    Execute,
    Fetch,
    LockAndLookUp,
    LookUp,
    Script,
    WritePlan,
    do,
)
from ledger.core.base import CoreBase
from ledger.core.package_io import load_packages, write_packages
from ledger.errors import InvalidRequest, MessageNotAccepted, UnknownAccount
from ledger.models import (
    AuditProblem,
    DebitRequest,
    DebitResult,
    EntryKind,
    JournalEntry,
    MessageState,
    TransferResult,
)
from ledger.rules.audit import audit_problems
from ledger.rules.debits import DebitBatch
from ledger.rules.idempotency import refund_key
from ledger.rules.multi import DebitAll, Reprice, RepriceResult
from ledger.rules.package_moves import RefundRequest
from ledger.rules.planning import CreditRequest, Loaded, Movement, Plan, StoredMessage
from ledger.rules.transfers import TransferRequest
from ledger.rules.validation import (
    validate_before,
    validate_credit,
    validate_request,
    validate_transfer,
)

R = TypeVar("R")


def movement(op: Movement[Any], now: datetime) -> Script[tuple[Plan[Any], list[int]]]:
    """Lock and load what ``op`` names, plan on it, write the plan; the plan and entry ids.

    Accounts are locked before anything else is read, in sorted order; the house rows a
    plan moves are locked last, by the write (see ``WritePlan``).
    """
    load = op.load()
    lock = set(load.accounts)
    messages: dict[str, StoredMessage] = {}
    message_ids = load.message_ids
    if load.lock_message_owners and message_ids:
        # The accounts to lock are those of the messages: read those first (a message's
        # account and cost never change, so reading them before the lock is safe).
        _, messages = yield from do(LookUp((), message_ids))
        lock.update(m.system_id for m in messages.values())
        message_ids = ()
    accounts, entries, found = yield from do(LockAndLookUp(sorted(lock), load.keys, message_ids))
    messages = messages or found
    if load.packages is None:
        plan = op.plan(Loaded(accounts, entries, messages), now)
    else:
        read = yield from load_packages(
            load.packages, accounts, load.message_ids, entries, messages
        )
        entries.update(read.entries)
        plan = op.plan(Loaded(accounts, entries, messages, read.packages, read.draws), now)
    # Only reads come before this write; ``last``: nothing comes after it either, so
    # under Access.OPTIMISTIC it may commit the movement.
    last = not (plan.package_entries or plan.new_packages or plan.notices)
    ids = (yield from do(WritePlan(plan, now, last))) if plan.writes else []
    if plan.package_entries or plan.new_packages:
        plan.package_entry_ids = yield from write_packages(plan, now)
    for n in plan.notices:
        # Rare (a recharge, a capped one): a statement each, after the plan, in its
        # transaction; a key already queued (a replay, the day's capped) writes nothing.
        entry_id = ids[n.entry_index] if n.entry_index is not None else 0
        args = (n.key, n.system_id, n.threshold, n.balance, entry_id, now, n.kind.value)
        counts = (n.amount, n.recharges_today, n.daily_cap)
        yield from do(Execute(sql.INSERT_NOTICE, (*args, *counts)))
    return plan, ids


def _reprice(
    op: Reprice, update: tuple[bytes, int, int], now: datetime
) -> Script[tuple[Plan[Any], list[int]]]:
    """The repricing movement, then the message row's new body and price, in the same
    transaction and only while the message is ACCEPTED (else everything rolls back)."""
    plan, ids = yield from movement(op, now)
    if plan.writes:
        body, segments, registered_delivery = update
        args = (op.message_id, body, op.new_cost, segments, registered_delivery, now)
        if (yield from do(Execute(sql.REPLACE_MESSAGE, args))) != 1:
            raise MessageNotAccepted(op.message_id)
    return plan, ids


def _refund_held(
    op: RefundRequest, holder: str, now: datetime
) -> Script[tuple[Plan[Any], list[int]]]:
    """A refund only while ``holder`` holds the message unforwarded (cancel_sm): ACCEPTED
    and owned by ``holder`` before, still owned by it once the refund wrote the row (else
    everything rolls back). A replay (refunded before) is answered as any refund's is."""
    found = yield from do(Fetch(ops_sql.HOLDER_STATE, (op.message_id,), rows.pair))
    if found and found[0] != (MessageState.ACCEPTED.value, holder):
        refunded = yield from do(
            Fetch(ops_sql.REFUND_NOTE, (refund_key(op.message_id),), rows.first)
        )
        if not refunded:
            raise MessageNotAccepted(op.message_id)
    plan, ids = yield from movement(op, now)
    if plan.writes and (yield from do(Execute(ops_sql.HELD_BY, (op.message_id, holder, now)))) != 1:
        raise MessageNotAccepted(op.message_id)
    return plan, ids


class MoneyCore(CoreBase):
    """``DebitStore`` and ``MoneyStore`` over a backend."""

    async def move(self, op: Movement[R], access: Access = Access.TRANSACTION) -> R:
        """Run one money movement in one transaction; its result. ``access``
        OPTIMISTIC only for a movement that nothing follows (see ``Access``)."""
        now = self._now()
        plan, ids = await self._run(partial(movement, op, now), access)
        result: R = plan.resolve(ids, now)
        return result

    async def credit(
        self,
        system_id: str,
        amount: int,
        *,
        idempotency_key: str,
        kind: EntryKind = EntryKind.CREDIT,
        note: str = "",
    ) -> JournalEntry:
        """Add ``amount`` (> 0) milli-credits. Replaying the key returns the first entry.

        Raises UnknownAccount, AccountClosed, IdempotencyConflict (the key was used for
        another body), LimitExceeded (beyond ``max_credit``, or a balance beyond
        ``max_balance``), InvalidRequest for a non-positive amount or a kind that does
        not add money.
        """
        kind = validate_credit(amount, kind, idempotency_key)
        return await self.move(
            CreditRequest(system_id, amount, kind, idempotency_key, note, self._limits)
        )

    async def transfer(
        self, source: str, target: str, amount: int, *, idempotency_key: str, note: str = ""
    ) -> TransferResult:
        """Move ``amount`` milli-credits from ``source`` to ``target``, of one owner.

        One transaction, both accounts locked in sorted order, one pair of entries
        naming each other; replaying the key returns the first pair. Refusals (nothing
        written): see ``ledger.rules.transfers``; InvalidRequest (SameAccount) for bad
        arguments.
        """
        validate_transfer(source, target, amount, idempotency_key)
        return await self.move(
            TransferRequest(source, target, amount, idempotency_key, note, self._limits)
        )

    async def debit_batch(self, requests: Sequence[DebitRequest]) -> list[DebitResult]:
        """Debit each request and store its message, in one transaction, one result each.

        Raises InvalidRequest (nothing written) if any request is malformed.
        """
        requests = list(requests)
        if not requests:
            return []
        for request in requests:
            validate_request(request)
        return await self.move(DebitBatch(requests), Access.OPTIMISTIC)

    async def debit_all(self, requests: Sequence[DebitRequest]) -> list[DebitResult]:
        """Debit every request and store its message, or none of them: one transaction.

        The requests are decided as ``debit_batch`` decides them; unless every one is OK
        (or every one a replay), nothing is written and the results say which refused.
        Raises InvalidRequest (nothing written) if any request is malformed.
        """
        requests = list(requests)
        if not requests:
            return []
        for request in requests:
            validate_request(request)
        return await self.move(DebitAll(requests))

    async def reprice(
        self,
        message_id: str,
        *,
        new_cost: int,
        pdu_body: bytes,
        segments: int,
        registered_delivery: int,
        idempotency_key: str,
    ) -> RepriceResult:
        """Give back an ACCEPTED message's cost and charge ``new_cost`` for its new body.

        One transaction: a REFUND of the old cost and a DEBIT of the new one (both naming
        the message), and the message row's new body, cost, segments and
        registered_delivery. Replaying the key returns the first result. Raises
        UnknownMessage, MessageNotAccepted (already forwarded, or rejected),
        AccountNotActive, InsufficientCredit (nothing written), InvalidRequest.
        """
        if new_cost <= 0 or segments < 1 or not idempotency_key:
            raise InvalidRequest("a repricing needs a positive cost, segments and a key")
        op = Reprice(message_id, new_cost, idempotency_key)
        now = self._now()
        script = partial(_reprice, op, (pdu_body, segments, registered_delivery), now)
        plan, ids = await self._run(script, Access.TRANSACTION)
        result: RepriceResult = plan.resolve(ids, now)
        return result

    async def refund(
        self, message_id: str, *, reason: str, holder: str | None = None
    ) -> JournalEntry:
        """Give back a message's cost once (idempotent per message) and mark it REJECTED.

        ``holder`` (a gateway id): only while that gateway holds the message not yet
        forwarded (ACCEPTED, its ``owner``), checked in the refund's transaction; else
        MessageNotAccepted and nothing is written. A replay returns the first entry.
        """
        if holder is None:
            return await self.move(RefundRequest(message_id, reason))
        now = self._now()
        script = partial(_refund_held, RefundRequest(message_id, reason), holder, now)
        plan, ids = await self._run(script, Access.TRANSACTION)
        result: JournalEntry = plan.resolve(ids, now)
        return result

    async def journal(
        self, system_id: str, *, limit: int = 100, before: int | None = None
    ) -> list[JournalEntry]:
        """The newest ``limit`` entries of an account with an id below ``before`` (None:
        the newest of all), newest first. Raises UnknownAccount."""
        args = (system_id, limit, validate_before(before))
        found = await self._read(Fetch(sql.JOURNAL_PAGE, args, rows.entry_or_none))
        if not found:
            raise UnknownAccount(system_id)
        return [e for e in found if e is not None]

    async def house_balances(self) -> dict[str, int]:
        """The house accounts that have a row, and their balances, by name."""
        return dict(await self._read(Fetch(sql.HOUSE_BALANCES, (), rows.pair)))

    async def audit(self) -> list[AuditProblem]:
        """Every failed proof of the books (see ``ledger.rules.audit``); ``[]`` if none."""
        found = await self._read(Fetch(sql.AUDIT, (), rows.audit_row))
        found += await self._read(Fetch(psql.PACKAGE_AUDIT, (), rows.audit_row))
        return audit_problems(found)
