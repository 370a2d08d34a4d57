"""Planning money movements: what each one writes, decided on the loaded, locked state.

Every movement (credit here; the debit batch in ``ledger.rules.debits``, the transfer
in ``ledger.rules.transfers``, the refund, package purchase and expiry write-off in
``ledger.rules.package_moves``) runs the same way in every backend, as ONE transaction:

1. the backend locks the customer accounts a :class:`MovementLoad` names (sorted by
   system_id, so two movements never deadlock) and looks up its idempotency keys and
   message ids, and what it names of credit packages (:class:`PackageLoad`);
2. a planner of this module decides on that :class:`Loaded` state and returns a
   :class:`Plan`; it raises a ``LedgerError`` to refuse the whole movement;
3. the backend writes the plan, whatever movement made it: the final state of each
   changed account, the journal rows, new message rows, message states, and the house
   balances (:meth:`Plan.house_deltas`, one update per house account, on the row of
   the shard the backend writes), then commits;
4. :meth:`Plan.resolve` turns the plan and the new entries' ids into the caller's result.

So a new operation is a planner and a load request (here, or in a module of its own
over these types), and nothing in the backends.

Two sides: every :class:`PlannedEntry` names its counter-account. Movements with the
outside world name a house account (:data:`COUNTER_OF_KIND`), whose cached balance moves
by minus the entry's amount; a transfer between two customers is one pair of entries
naming each other and touches no house account. Either way a plan's entries plus its
house deltas sum to zero, which is what lets ``audit()`` prove that all balances do.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

from ledger.errors import AccountClosed, IdempotencyConflict, UnknownAccount
from ledger.models import (
    HOUSE_PREFIX,
    AccountStatus,
    EntryKind,
    HouseAccount,
    JournalEntry,
    MessageState,
    OutboundMessage,
    RechargePolicy,
)
from ledger.rules.idempotency import (
    credit_fingerprint,
)
from ledger.rules.limits import LedgerLimits, check_balance, check_credit
from ledger.rules.notices import PlannedNotice
from ledger.rules.packages import Draw, PackageState

R_co = TypeVar("R_co", covariant=True)

#: Who takes the other side of a one-sided entry, by kind. Migration 0004 filled the
#: counter-account of older entries with the same table.
COUNTER_OF_KIND: Mapping[EntryKind, HouseAccount] = {
    EntryKind.DEBIT: HouseAccount.SALES,
    EntryKind.CREDIT: HouseAccount.TOPUPS,
    # Without a customer on the other side, a transfer comes from (or goes to) outside
    # these books, as a manual credit does.
    EntryKind.TRANSFER_IN: HouseAccount.TOPUPS,
    EntryKind.TRANSFER_OUT: HouseAccount.TOPUPS,
    EntryKind.RECHARGE: HouseAccount.RECHARGES,
    EntryKind.REFUND: HouseAccount.REFUNDS,
    EntryKind.WRITE_OFF: HouseAccount.WRITE_OFFS,
    EntryKind.PACKAGE: HouseAccount.PACKAGES,
}
#: The same for an entry of a credit package's quantity (milli-messages): its own house
#: accounts, so each unit sums to zero on its own.
PACKAGE_COUNTER_OF_KIND: Mapping[EntryKind, HouseAccount] = {
    EntryKind.PACKAGE: HouseAccount.PACKAGES,
    EntryKind.DEBIT: HouseAccount.PACKAGE_SALES,
    EntryKind.REFUND: HouseAccount.PACKAGE_REFUNDS,
    EntryKind.WRITE_OFF: HouseAccount.PACKAGE_WRITE_OFFS,
}
#: Prefix of the key of a message's n-th package draw (n >= 1) when its first entry has
#: the debit's own key; likewise a refund's legs after its first.
DRAW_KEY_PREFIX = "draw:"


def draw_key(key: str, n: int) -> str:
    """The key of the ``n``-th extra entry (n >= 1) of the movement with ``key``."""
    return f"{DRAW_KEY_PREFIX}{n}:{key}"


def is_house(name: str) -> bool:
    """True for a house account's name (never a system_id)."""
    return name.startswith(HOUSE_PREFIX)


# -- what a movement reads -------------------------------------------------------------------


@dataclass(slots=True)
class AccountState:
    """The part of an account a movement reads and writes; planners update a copy."""

    system_id: str
    status: AccountStatus
    balance: int
    policy: RechargePolicy | None
    recharge_day: date | None
    recharges_today: int
    throughput: int = 0  # messages per second, 0 = unlimited
    #: The bucket as stored: micro-tokens at ``tb_updated_at`` (None = never used, full).
    tb_tokens: int = 0
    tb_updated_at: datetime | None = None
    #: Who the account belongs to ("" = nobody recorded): transfers stay within one.
    owner: str = ""
    #: The category of its messages unless they name another (credit packages).
    default_category: str = "general"
    #: It has (or had) a credit package: only then are packages read (the hot path of an
    #: account without any reads nothing more).
    has_packages: bool = False


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A journal row already committed, with the fingerprint of the body that wrote it."""

    entry: JournalEntry
    fingerprint: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A message row already committed: whose it is and what it cost."""

    message_id: str
    system_id: str
    cost: int


@dataclass(frozen=True, slots=True)
class MovementLoad:
    """What a movement's transaction must lock and look up before its planner decides."""

    #: Customer accounts to lock (in sorted order) and load.
    accounts: Collection[str] = ()
    #: Idempotency keys whose journal rows to load.
    keys: Collection[str] = ()
    #: Message ids whose rows to load (those that exist).
    message_ids: Collection[str] = ()
    #: Also lock the accounts that own ``message_ids``, known once the messages are read.
    lock_message_owners: bool = False
    #: What to read of credit packages (None: nothing).
    packages: PackageLoad | None = None


@dataclass(frozen=True, slots=True)
class PackageLoad:
    """What a movement reads of credit packages, under the locks of their accounts."""

    #: Read the packages with something left of each locked account that has packages.
    holders: bool = False
    #: Read the draws of the movement's messages, and the packages they name.
    draws: bool = False
    #: Keys to look up in the package journal (and, in ``MovementLoad.keys``, the journal).
    keys: Collection[str] = ()
    #: More package journal keys, known once accounts, packages and draws are read.
    more_keys: Callable[[Loaded], Collection[str]] | None = None


@dataclass(frozen=True, slots=True)
class Loaded:
    """The locked state a planner decides on: existing accounts, stored keys, messages."""

    accounts: Mapping[str, AccountState]
    entries: Mapping[str, StoredEntry]
    messages: Mapping[str, StoredMessage]
    #: Packages read (``PackageLoad``), by id.
    packages: Mapping[str, PackageState] = field(default_factory=dict)
    #: Draws of messages that touched a package, by message id, in order.
    draws: Mapping[str, tuple[Draw, ...]] = field(default_factory=dict)


# -- what a movement writes ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedEntry:
    """A journal row to insert (the backend assigns its id and the transaction's time)."""

    system_id: str
    counter_account: str
    kind: EntryKind
    amount: int
    balance_after: int
    idempotency_key: str
    fingerprint: str
    message_id: str | None
    note: str = ""
    #: Set for an entry of a package's quantity (written to ``package_journal``).
    package_id: str | None = None

    def entry(self, entry_id: int, created_at: datetime) -> JournalEntry:
        """The journal entry this row is once inserted with ``entry_id``."""
        return JournalEntry(
            id=entry_id,
            system_id=self.system_id,
            counter_account=self.counter_account,
            kind=self.kind,
            amount=self.amount,
            balance_after=self.balance_after,
            idempotency_key=self.idempotency_key,
            message_id=self.message_id,
            created_at=created_at,
            note=self.note,
            package_id=self.package_id,
        )


@dataclass(frozen=True, slots=True)
class PlannedMessage:
    """A message row (state ACCEPTED) to insert with its debit.

    Its owner is ``message.owner`` (the accepting gateway; "" is stored as NULL).
    """

    idempotency_key: str
    message: OutboundMessage


@dataclass(slots=True)
class Plan(Generic[R_co]):
    """Everything one movement writes, in order; :meth:`resolve` makes its result."""

    #: Final state of every account the movement changed, keyed by system_id.
    accounts: dict[str, AccountState] = field(default_factory=dict)
    entries: list[PlannedEntry] = field(default_factory=list)
    messages: list[PlannedMessage] = field(default_factory=list)
    #: New states of existing messages (a refund rejects its message).
    message_states: dict[str, MessageState] = field(default_factory=dict)
    #: Credit packages: entries of ``package_journal`` (``package_id`` set), new packages,
    #: the final state of each package changed, and what each new message drew.
    package_entries: list[PlannedEntry] = field(default_factory=list)
    new_packages: list[NewPackageRow] = field(default_factory=list)
    packages: dict[str, PackageState] = field(default_factory=dict)
    draws: list[tuple[str, tuple[Draw, ...]]] = field(default_factory=list)
    #: The package entries' ids once written (set by the money script).
    package_entry_ids: list[int] = field(default_factory=list)
    #: Mails to queue in the alert outbox (``ledger.rules.notices``); written even when
    #: nothing else is (a debit the daily cap refused), not counted in :attr:`writes`.
    notices: list[PlannedNotice] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        """False when the movement changes nothing (replays, refusals)."""
        return bool(
            self.entries
            or self.messages
            or self.message_states
            or self.accounts
            or self.package_entries
        )

    def house_deltas(self) -> list[tuple[str, int]]:
        """How much each house account's balance moves, sorted by name (the lock order).

        The other side of each entry naming a house account: minus its amount.
        Aggregated, so a batch updates each house row once however many entries it has.
        """
        deltas: dict[str, int] = {}
        for e in self.entries if not self.package_entries else self.entries + self.package_entries:
            counter = e.counter_account
            if counter.startswith(HOUSE_PREFIX):  # is_house(), inline: once per entry
                deltas[counter] = deltas.get(counter, 0) - e.amount
        return sorted((name, d) for name, d in deltas.items() if d != 0)

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> R_co:
        """The caller's result once the entries are inserted with ``entry_ids``."""
        raise NotImplementedError


@dataclass(frozen=True, slots=True)
class NewPackageRow:
    """A package to insert (its purchase entry is in ``Plan.package_entries``)."""

    package_id: str
    system_id: str
    name: str
    category: str
    total: int
    purchased_at: datetime
    expires_at: datetime


class Movement(Protocol[R_co]):
    """One money operation: what to load, and how to plan on what was loaded."""

    def load(self) -> MovementLoad:
        """What the transaction must lock and look up."""
        ...

    def plan(self, loaded: Loaded, now: datetime) -> Plan[R_co]:
        """Decide on the locked state (``now``: the injected clock); raise to refuse."""
        ...


# -- one entry: credit, refund --------------------------------------------------------------


@dataclass(slots=True)
class EntryPlan(Plan[JournalEntry]):
    """A movement whose result is one journal entry: a new one, or the replayed ``prior``."""

    prior: JournalEntry | None = None

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> JournalEntry:
        """The replayed entry, or the one just written."""
        if self.prior is not None:
            return self.prior
        [entry_id] = entry_ids
        return self.entries[0].entry(entry_id, created_at)


def replay_entry(loaded: Loaded, key: str, fingerprint: str) -> EntryPlan | None:
    """The plan of a replay of ``key`` (nothing to write), or None for a new key."""
    prior = loaded.entries.get(key)
    if prior is None:
        return None
    if prior.fingerprint != fingerprint:
        raise IdempotencyConflict(key)
    return EntryPlan(prior=prior.entry)


def one_entry(
    state: AccountState,
    kind: EntryKind,
    amount: int,
    key: str,
    fingerprint: str,
    message_id: str | None,
    note: str,
) -> EntryPlan:
    """A plan of one entry of ``kind`` on ``state``, its counter the kind's house account."""
    after = replace(state, balance=state.balance + amount)
    entry = PlannedEntry(
        system_id=state.system_id,
        counter_account=COUNTER_OF_KIND[kind].value,
        kind=kind,
        amount=amount,
        balance_after=after.balance,
        idempotency_key=key,
        fingerprint=fingerprint,
        message_id=message_id,
        note=note,
    )
    return EntryPlan(accounts={state.system_id: after}, entries=[entry])


@dataclass(frozen=True, slots=True)
class CreditRequest:
    """``Store.credit``'s arguments (checked by ``validation.validate_credit``)."""

    system_id: str
    amount: int
    kind: EntryKind
    idempotency_key: str
    note: str = ""
    limits: LedgerLimits = field(default_factory=LedgerLimits)

    def load(self) -> MovementLoad:
        """Lock the account, look up the key."""
        return MovementLoad(accounts=(self.system_id,), keys=(self.idempotency_key,))

    def plan(self, loaded: Loaded, now: datetime) -> EntryPlan:
        """Credit the account; a replayed key returns its first entry.

        Refused: an unknown or closed account, an amount beyond ``max_credit``, a
        balance it would take beyond ``max_balance``.
        """
        fp = credit_fingerprint(self.system_id, self.kind, self.amount)
        replayed = replay_entry(loaded, self.idempotency_key, fp)
        if replayed is not None:
            return replayed
        state = loaded.accounts.get(self.system_id)
        if state is None:
            raise UnknownAccount(self.system_id)
        if state.status is AccountStatus.CLOSED:
            raise AccountClosed(self.system_id)
        check_credit(self.amount, self.limits)
        check_balance(self.system_id, state.balance, self.amount, self.limits)
        return one_entry(state, self.kind, self.amount, self.idempotency_key, fp, None, self.note)
