"""Debit batches on PostgreSQL in two round trips: read without locks, write if unchanged.

A movement run under ``Access.OPTIMISTIC`` (a debit batch) is the read of its accounts
and keys (:class:`~ledger.backends.base.LockAndLookUp`) and one final write
(:class:`~ledger.backends.base.WritePlan` with ``last``). Locking, it costs five round
trips awaited in turn (BEGIN, lock, look-up, write, COMMIT), each one a hop through the
event loop of a busy gateway. Here it costs two, outside any transaction block:

1. one statement reads the accounts with their ``xmin`` (the id of the transaction that
   wrote the row version read) and looks up the keys and message ids;
2. the plan's one write statement commits by itself (``synchronous_commit=on``: durable
   when it answers) and writes an account only where ``xmin`` is still the one read; if
   any changed, ``smppgw_unchanged`` raises serialization_failure and the statement
   undoes all of its writes.

Why this is as safe as locking: a statement is atomic, so the write is all or nothing.
An account changed between the read and the write (a credit, a batch of another gateway)
has a new ``xmin``, and a write in progress on it holds the row lock, which the update
waits for and then re-checks on the new version. A key or message id committed after
the read makes the insert fail on its unique index. Either way nothing was written, and
the script runs again the locking way (``PostgresBackend._transaction``), which sees the
winner. The accounts the plan leaves alone (a refused debit) were decided on a state
that was true when read, as a locked read is true when taken.

Anything else in the script (a package read, a recharge notice, a plan not ``last``)
also sends it the locking way, before anything was written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ledger.backends import base, rows
from ledger.backends.base import LockAndLookUp, LookUp, WritePlan
from ledger.rules.planning import AccountState, StoredEntry, StoredMessage

T = TypeVar("T")

#: The names of rows.STATE_COLS (two of them are expressions there).
_STATE = [
    *("system_id", "status", "balance", "recharge_threshold", "recharge_amount"),
    *("recharge_daily_cap", "recharge_day", "recharges_today", "throughput", "tb_tokens"),
    *("tb_updated_at", "owner", "default_category", "has_packages"),
]
_JOURNAL = [c.strip() for c in rows.JOURNAL_COLS.split(",")]
_MESSAGE = ["message_id", "system_id", "cost"]
#: One row shape for all three kinds, so that one statement returns them: each row fills
#: the columns of its kind (read by the same row mappers as the locking path) and leaves
#: the others NULL.
_COLUMNS = list(dict.fromkeys(["system_id", "message_id", "seen", *_STATE, *_JOURNAL, "cost"]))


def _branch(src: str, alias: str, names: list[str]) -> str:
    # The first branch types the columns no earlier branch has (cost, of messages only).
    own = set(names)
    picked = ", ".join(
        f"{alias}.{c}" if c in own else ("NULL::bigint" if c == "cost" else "NULL") + f" AS {c}"
        for c in _COLUMNS
    )
    return f"SELECT '{src}' AS src, {picked}"


_READ = f"""
{_branch("a", "a", ["seen", *_STATE])}
FROM (SELECT accounts.xmin AS seen, {rows.STATE_COLS} FROM accounts
      WHERE system_id = ANY($1::text[])) AS a
UNION ALL
{_branch("j", "j", _JOURNAL)}
FROM unnest($2::text[]) AS k(key)
CROSS JOIN LATERAL (SELECT {rows.JOURNAL_COLS} FROM journal
                    WHERE idempotency_key = k.key LIMIT 1) AS j
UNION ALL
{_branch("m", "m", _MESSAGE)}
FROM unnest($3::text[]) AS k(key)
CROSS JOIN LATERAL (SELECT message_id, system_id, cost FROM messages
                    WHERE message_id = k.key LIMIT 1) AS m
"""


class NeedsLocks(Exception):
    """The script does more than read and write its plan last: run it the locking way.
    Raised before anything was written."""


WritePlanFn = Callable[[Any, WritePlan, dict[str, int]], Awaitable[list[int]]]
Found = tuple[dict[str, StoredEntry], dict[str, StoredMessage]]
LookUpFn = Callable[[Any, LookUp], Awaitable[Found]]


class Attempt:
    """One optimistic run of a script on one connection (autocommit)."""

    def __init__(
        self, conn: Any, decoder: base.Decoder, write_plan: WritePlanFn, look_up: LookUpFn
    ) -> None:
        self._conn = conn
        self._decoder = decoder
        self._write_plan = write_plan
        self._look_up = look_up
        #: Set once the write is sent: from then on a lost link means "outcome unknown".
        self.writing = False

    async def drive(self, steps: base.Script[T]) -> T:
        """Run ``steps``; raises NeedsLocks, or what the write raised when it lost."""
        seen: dict[str, int] = {}

        async def perform(op: base.Op[Any]) -> Any:
            if self.writing:
                # The write committed; a script going on would half-apply. Cannot happen
                # for a movement whose write is ``last``.
                raise RuntimeError("an OPTIMISTIC script went on after its last write")
            if type(op) is LockAndLookUp:
                return await self._read(op, seen)
            if type(op) is LookUp:
                return await self._look_up(self._conn, op)
            if type(op) is WritePlan and op.last:
                self.writing = True
                return await self._write_plan(self._conn, op, seen)
            raise NeedsLocks(type(op).__name__)

        return await base.drive(steps, perform)

    async def _read(
        self, op: LockAndLookUp, seen: dict[str, int]
    ) -> tuple[dict[str, AccountState], dict[str, StoredEntry], dict[str, StoredMessage]]:
        accounts: dict[str, AccountState] = {}
        entries: dict[str, StoredEntry] = {}
        messages: dict[str, StoredMessage] = {}
        found = await self._conn.fetch(
            _READ, list(op.system_ids), list(op.keys), list(op.message_ids)
        )
        for r in found:
            src = r["src"]
            if src == "a":
                accounts[r["system_id"]] = rows.account_state(r, self._decoder)
                seen[r["system_id"]] = r["seen"]
            elif src == "j":
                entries[r["idempotency_key"]] = rows.stored_entry(r, self._decoder)
            else:
                messages[r["message_id"]] = rows.stored_message(r, self._decoder)
        return accounts, entries, messages
