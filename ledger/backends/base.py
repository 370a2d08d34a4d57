"""The narrow interface between the ledger's core and a database: scripts of operations.

The core (``ledger.core``) writes every transaction once, as a *script*: a generator
that yields operations (:class:`Op`) and receives each one's result, deciding between
them with the pure rules of ``ledger.rules``. A backend runs a script inside one
transaction of its database (:meth:`Backend.run`) and performs each operation, and that
is all it does: it holds SQL, never a rule. SQLite runs the whole script on its writer
thread inside ``BEGIN IMMEDIATE``; PostgreSQL runs it between awaits on one pooled
connection, and again from the start when the transaction lost a race.

Operations are of two sorts:

- plain ones (:class:`Execute`, :class:`ExecuteMany`, :class:`Fetch`) run a
  :class:`Statement` from ``ledger.backends.statements``, written once for both dialects
  where the SQL allows;
- the ones each dialect does its own way, because they are hot or lock differently:
  lock and load accounts (:class:`LockAccounts`), look up idempotency keys and message
  ids (:class:`LookUp`), both at once (:class:`LockAndLookUp`), write a plan
  (:class:`WritePlan`), serialise binds of one account (:class:`SerialiseBinds`), adopt
  messages (:class:`Adopt`), claim receipts (:class:`Claim`), store receipts
  (:class:`StoreReceipts`).

Scripts must be restartable (they only yield and decide), and must not catch the
exceptions operations raise: a raised error rolls the transaction back.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection, Generator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from typing import Any, Generic, Literal, Protocol, TypeVar

from ledger.models import MessageRecord, MessageState, NewReceipt, PendingReceipt
from ledger.rules.planning import AccountState, Plan, StoredEntry, StoredMessage
from ledger.store import RECEIPTS_CHANNEL

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

Dialect = Literal["sqlite", "postgresql"]


class Row(Protocol):
    """A result row: ``sqlite3.Row`` and ``asyncpg.Record`` both index by name or position."""

    def __getitem__(self, key: str | int, /) -> Any: ...


@dataclass(frozen=True, slots=True)
class Decoder:
    """How a dialect's values become Python ones: times and days (SQLite stores text)."""

    time: Callable[[Any], datetime]
    day: Callable[[Any], date]


#: Turns one row into a record; ``ledger.backends.rows`` holds them all.
RowMapper = Callable[[Row, Decoder], T]

_NUMBERED = re.compile(r"\$(\d+)")


@dataclass(frozen=True, slots=True)
class Statement:
    """One SQL statement in each dialect's text.

    Parameters are numbered: ``$1`` on PostgreSQL, ``?1`` on SQLite. On SQLite a list
    argument is bound as JSON text (read with ``json_each``), a time as ISO 8601 text.
    """

    postgres: str
    sqlite: str

    @classmethod
    def both(cls, text: str) -> Statement:
        """The same SQL on both dialects, written with PostgreSQL's ``$n`` parameters."""
        return cls(text, _NUMBERED.sub(r"?\1", text))

    @classmethod
    def each(cls, *, postgres: str, sqlite: str) -> Statement:
        """Different SQL per dialect, both written with ``$n`` parameters."""
        return cls(postgres, _NUMBERED.sub(r"?\1", sqlite))


class Op(Generic[T_co]):
    """One operation of a script; its result (type ``T_co``) is sent back into the script."""

    __slots__ = ()


# -- plain operations --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Execute(Op[int]):
    """Run a statement; the result is the number of rows it changed."""

    statement: Statement
    args: tuple[object, ...] = ()


@dataclass(frozen=True, slots=True)
class ExecuteMany(Op[None]):
    """Run a statement once per row of arguments."""

    statement: Statement
    rows: Sequence[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Fetch(Op[list[T]]):
    """Run a statement; the result is its rows, each mapped by ``into``."""

    statement: Statement
    args: tuple[object, ...]
    into: RowMapper[T]


# -- operations each dialect does its own way ------------------------------------------------


@dataclass(frozen=True, slots=True)
class LockAccounts(Op[dict[str, AccountState]]):
    """Hold the accounts exclusively until the end of the transaction, and load them.

    ``system_ids`` are locked in sorted order (so two movements never deadlock); the
    result has those that exist.
    """

    system_ids: Sequence[str]


@dataclass(frozen=True, slots=True)
class LookUp(Op[tuple[dict[str, StoredEntry], dict[str, StoredMessage]]]):
    """The committed journal rows of ``keys`` and message rows of ``message_ids``."""

    keys: Collection[str]
    message_ids: Collection[str]


@dataclass(frozen=True, slots=True)
class LockAndLookUp(
    Op[tuple[dict[str, AccountState], dict[str, StoredEntry], dict[str, StoredMessage]]]
):
    """:class:`LockAccounts` then :class:`LookUp`, the start of every movement: the
    locked accounts, the committed journal rows of ``keys``, the message rows of
    ``message_ids``. One operation so that a backend may do it in one round trip."""

    system_ids: Sequence[str]
    keys: Collection[str]
    message_ids: Collection[str]


@dataclass(frozen=True, slots=True)
class WritePlan(Op[list[int]]):
    """Write a movement's plan; the result is the new entries' ids, in plan order.

    Account rows get their planned state; entries and messages are inserted at ``now``;
    message states are set; each house account named moves by its aggregated delta on
    one of its rows (the backend picks the shard), locked after the accounts and in
    name order.
    """

    plan: Plan[Any]
    now: datetime
    #: Nothing follows it in the script: under ``Access.OPTIMISTIC`` this write may be
    #: the transaction's commit.
    last: bool = False


@dataclass(frozen=True, slots=True)
class SerialiseBinds(Op[None]):
    """Hold a per-account lock that only ``acquire_bind`` takes, until the end of the
    transaction (SQLite: the write lock already serialises everything)."""

    system_id: str


@dataclass(frozen=True, slots=True)
class Adopt(Op[list[MessageRecord]]):
    """Take and return the ACCEPTED messages ``gateway_id`` must forward (at most
    ``limit``): its own (returned as they are), nobody's, and those of gateways without a
    heartbeat since ``cutoff``. Two adopters at once take disjoint sets."""

    gateway_id: str
    cutoff: datetime
    now: datetime
    limit: int


@dataclass(frozen=True, slots=True)
class Claim(Op[list[PendingReceipt]]):
    """Claim up to ``limit`` of the account's undelivered receipts that are unclaimed or
    whose claim ended by ``now``, until ``until``. Two claimers never share a receipt."""

    system_id: str
    gateway_id: str
    now: datetime
    until: datetime
    limit: int


@dataclass(frozen=True, slots=True)
class StoreReceipts(Op[list[int]]):
    """Insert receipts (claimed by ``item.claimed_by`` until ``until``) at ``now``, set the
    messages' ``states``, notify ``notify`` accounts where the dialect can; the result is
    the receipts' ids in item order."""

    items: Sequence[NewReceipt]
    states: dict[str, MessageState]
    notify: Sequence[str]
    now: datetime
    until: datetime


#: Every operation a backend performs: ``LookUp`` by its method ``_look_up``, and so on.
OPERATIONS: tuple[type[Op[Any]], ...] = (
    Execute,
    ExecuteMany,
    Fetch,
    LockAccounts,
    LookUp,
    LockAndLookUp,
    WritePlan,
    SerialiseBinds,
    Adopt,
    Claim,
    StoreReceipts,
)


def performers(backend: object) -> dict[type[Op[Any]], Callable[..., Any]]:
    """Each operation type mapped to the ``backend`` method that performs it.

    The method of ``LockAccounts`` is ``_lock_accounts``; a backend lacking one fails
    here, when it is made.
    """
    return {
        op: getattr(backend, "_" + re.sub(r"(?<!^)(?=[A-Z])", "_", op.__name__).lower())
        for op in OPERATIONS
    }


# -- scripts -------------------------------------------------------------------------------------

#: A transaction written once: yields operations, receives their results, returns T.
Script = Generator[Op[Any], Any, T]


def do(op: Op[T]) -> Script[T]:
    """Perform one operation inside a script: ``result = yield from do(op)``."""
    result: T = yield op
    return result


async def drive(steps: Script[T], perform: Callable[[Op[Any]], Awaitable[Any]]) -> T:
    """Run a script on an asyncio backend: each operation it yields is awaited through
    ``perform`` and its result sent back in, until the script returns."""
    result: Any = None
    while True:
        try:
            op: Op[Any] = steps.send(result)
        except StopIteration as done:
            value: T = done.value
            return value
        result = await perform(op)


class Access(Enum):
    """How a script touches the database, which decides the transaction around it."""

    #: Only reads: SQLite reads one snapshot; PostgreSQL runs each statement on its own.
    READ = "read"
    #: ONE writing statement, after any reads it decides on: PostgreSQL runs it without
    #: BEGIN/COMMIT (a statement is its own transaction), SQLite under its write lock.
    STATEMENT = "statement"
    #: Reads and writes as one transaction. PostgreSQL runs the script again when it lost
    #: a race (unique key taken meanwhile, deadlock, serialisation failure), and reports
    #: a connection lost during COMMIT as ``LedgerUnavailable(outcome_unknown=True)``.
    TRANSACTION = "transaction"
    #: A TRANSACTION made only of :class:`LockAndLookUp` / :class:`LookUp` reads and one
    #: final :class:`WritePlan` (``last``), the shape of a debit batch. PostgreSQL may
    #: read without locks and write with one statement that fails unless every account it
    #: writes is unchanged since the read: two round trips and no BEGIN/COMMIT instead of
    #: five. Any other operation, or a changed account, runs the script again as a
    #: TRANSACTION. SQLite runs it as a TRANSACTION.
    OPTIMISTIC = "optimistic"


class Backend(Protocol):
    """A database the core runs scripts on."""

    @property
    def dialect(self) -> Dialect:
        """Which SQL this backend speaks."""

    async def run(self, script: Callable[[], Script[T]], access: Access) -> T:
        """Run ``script()`` as ``access`` says; map connection failures to LedgerUnavailable."""

    async def upgrade(self, now: datetime) -> list[str]:
        """Apply pending migrations; return the names applied now."""

    async def listen(
        self, callback: Callable[[str], None], channel: str = RECEIPTS_CHANNEL
    ) -> Callable[[], Awaitable[None]] | None:
        """Call ``callback(system_id)`` on every notification of ``channel`` (receipts,
        MOs); None without them."""

    async def close(self) -> None:
        """Release connections and threads; later calls raise LedgerUnavailable."""
