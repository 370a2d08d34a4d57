"""Credit actions: add credit, transfer it between accounts of one owner (each under an
idempotency key), show the balance and journal."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from gateway.admin.errors import action
from gateway.admin.scope import ADMIN, Scope, check_visible, visible_account
from ledger.models import Account, JournalEntry, TransferResult
from ledger.store import Store

#: How many journal entries a statement shows unless told otherwise.
DEFAULT_STATEMENT_LIMIT = 20


@dataclass(frozen=True, slots=True)
class Statement:
    """An account's balance and its newest journal entries, newest first.

    ``next_before`` is the ``before`` that reads the next (older) page, or None when
    this page holds the oldest entry.
    """

    account: Account
    entries: tuple[JournalEntry, ...]
    next_before: int | None = None


def fresh_key(origin: str) -> str:
    """A new idempotency key, ``origin:<uuid>``: unique, and telling where it came from."""
    return f"{origin}:{uuid.uuid4()}"


@action
async def add_credit(
    store: Store,
    system_id: str,
    amount: int,
    *,
    key: str | None = None,
    note: str = "",
    origin: str = "cli",
) -> JournalEntry:
    """Credit ``amount`` milli-credits; the journal entry written (or first written).

    Every credit carries an idempotency key. Without ``key`` a fresh one is made
    (``origin`` names the front end in it), so the credit happens exactly once; a caller
    that may retry passes its own key, and a replay with the same amount returns the
    first entry instead of crediting twice (another amount is a :class:`KeyReused`).
    """
    return await store.credit(
        system_id, amount, idempotency_key=key or fresh_key(origin), note=note
    )


@action
async def transfer(
    store: Store,
    source: str,
    target: str,
    amount: int,
    *,
    key: str | None = None,
    note: str = "",
    origin: str = "cli",
    scope: Scope = ADMIN,
) -> TransferResult:
    """Move ``amount`` milli-credits from ``source`` to ``target``: both sides or neither.

    The accounts must be active, different, and of one owner; the source's balance must
    cover the amount and the target stay within ``[ledger] max_balance``. Each refusal
    is one :class:`AdminError` (nothing moved). Keys work as for :func:`add_credit`: a
    replay with the same accounts and amount returns the first transfer. ``scope`` must
    see both accounts (one owner's scope sees only that owner's, which is also the rule).
    """
    await check_visible(store, scope, source)
    await check_visible(store, scope, target)
    return await store.transfer(
        source, target, amount, idempotency_key=key or fresh_key(origin), note=note
    )


@action
async def statement(
    store: Store,
    system_id: str,
    *,
    limit: int = DEFAULT_STATEMENT_LIMIT,
    before: int | None = None,
    scope: Scope = ADMIN,
) -> Statement:
    """The balance and the newest ``limit`` journal entries of an account.

    ``before``: only entries with a smaller id (the page after one ending there).
    """
    account = await visible_account(store, scope, system_id)
    # One more than asked tells whether an older page exists, without a count.
    entries = await store.journal(system_id, limit=limit + 1, before=before)
    page = tuple(entries[:limit])
    return Statement(account, page, page[-1].id if len(entries) > limit else None)
