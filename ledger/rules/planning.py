"""Planning money movements: what each one writes, decided on the loaded, locked state.

Every movement (debit batch, credit, refund here; the transfer in
``ledger.rules.transfers``; later package purchase and consumption, write-off) runs the
same way in every backend, as ONE transaction:

1. the backend locks the customer accounts a :class:`MovementLoad` names (sorted by
   system_id, so two movements never deadlock) and looks up its idempotency keys and
   message ids;
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

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

from ledger.errors import AccountClosed, IdempotencyConflict, UnknownAccount, UnknownMessage
from ledger.models import (
    HOUSE_PREFIX,
    AccountStatus,
    DebitRequest,
    DebitResult,
    DebitStatus,
    EntryKind,
    HouseAccount,
    JournalEntry,
    MessageState,
    OutboundMessage,
    RechargePolicy,
)
from ledger.rules.idempotency import (
    credit_fingerprint,
    debit_fingerprint,
    debit_lookup_keys,
    recharge_fingerprint,
    recharge_key,
    refund_fingerprint,
    refund_key,
)
from ledger.rules.limits import LedgerLimits, check_balance, check_credit
from ledger.rules.notices import PlannedNotice, capped_notice, fired_notice
from ledger.rules.recharge import capped, decide_debit, recharge_note, recharges_used, utc_day
from ledger.rules.throughput import TOKEN, available_tokens, refilled_at
from ledger.rules.validation import validate_request

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
# The hot path compares and binds plain strings.
_SALES = HouseAccount.SALES.value
_RECHARGES = HouseAccount.RECHARGES.value


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


@dataclass(frozen=True, slots=True)
class Loaded:
    """The locked state a planner decides on: existing accounts, stored keys, messages."""

    accounts: Mapping[str, AccountState]
    entries: Mapping[str, StoredEntry]
    messages: Mapping[str, StoredMessage]


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
    #: Mails to queue in the alert outbox (``ledger.rules.notices``); written even when
    #: nothing else is (a debit the daily cap refused), not counted in :attr:`writes`.
    notices: list[PlannedNotice] = field(default_factory=list)

    @property
    def writes(self) -> bool:
        """False when the movement changes nothing (replays, refusals)."""
        return bool(self.entries or self.messages or self.message_states or self.accounts)

    def house_deltas(self) -> list[tuple[str, int]]:
        """How much each house account's balance moves, sorted by name (the lock order).

        The other side of each entry naming a house account: minus its amount.
        Aggregated, so a batch updates each house row once however many entries it has.
        """
        deltas: dict[str, int] = {}
        for e in self.entries:
            counter = e.counter_account
            if counter.startswith(HOUSE_PREFIX):  # is_house(), inline: once per entry
                deltas[counter] = deltas.get(counter, 0) - e.amount
        return sorted((name, d) for name, d in deltas.items() if d != 0)

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> R_co:
        """The caller's result once the entries are inserted with ``entry_ids``."""
        raise NotImplementedError


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


def _replay(loaded: Loaded, key: str, fingerprint: str) -> EntryPlan | None:
    """The plan of a replay of ``key`` (nothing to write), or None for a new key."""
    prior = loaded.entries.get(key)
    if prior is None:
        return None
    if prior.fingerprint != fingerprint:
        raise IdempotencyConflict(key)
    return EntryPlan(prior=prior.entry)


def _one_entry(
    state: AccountState,
    kind: EntryKind,
    amount: int,
    key: str,
    fingerprint: str,
    message_id: str | None,
    note: str,
) -> EntryPlan:
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
        replayed = _replay(loaded, self.idempotency_key, fp)
        if replayed is not None:
            return replayed
        state = loaded.accounts.get(self.system_id)
        if state is None:
            raise UnknownAccount(self.system_id)
        if state.status is AccountStatus.CLOSED:
            raise AccountClosed(self.system_id)
        check_credit(self.amount, self.limits)
        check_balance(self.system_id, state.balance, self.amount, self.limits)
        return _one_entry(state, self.kind, self.amount, self.idempotency_key, fp, None, self.note)


@dataclass(frozen=True, slots=True)
class RefundRequest:
    """``Store.refund``'s arguments: give a message's cost back once, reject it."""

    message_id: str
    reason: str

    def load(self) -> MovementLoad:
        """Read the message, lock its account, look up the refund's key."""
        return MovementLoad(
            keys=(refund_key(self.message_id),),
            message_ids=(self.message_id,),
            lock_message_owners=True,
        )

    def plan(self, loaded: Loaded, now: datetime) -> EntryPlan:
        """Refund and mark the message REJECTED; a second refund returns the first."""
        message = loaded.messages.get(self.message_id)
        if message is None:
            raise UnknownMessage(self.message_id)
        key = refund_key(self.message_id)
        fp = refund_fingerprint(self.message_id)
        replayed = _replay(loaded, key, fp)
        if replayed is not None:
            return replayed
        state = loaded.accounts[message.system_id]
        plan = _one_entry(
            state, EntryKind.REFUND, message.cost, key, fp, self.message_id, self.reason
        )
        plan.message_states[self.message_id] = MessageState.REJECTED
        return plan


# -- the debit batch ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannedResult:
    """One request's outcome; recharges refer to new entries by index or to stored ones."""

    status: DebitStatus
    message_id: str
    balance_after: int
    recharge_index: int | None = None
    stored_recharges: tuple[JournalEntry, ...] = ()


@dataclass(slots=True)
class DebitPlan(Plan[list[DebitResult]]):
    """Everything one ``debit_batch`` writes, and the result of each request in order."""

    results: list[PlannedResult] = field(default_factory=list)

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> list[DebitResult]:
        """Turn the plan into results once the entries are inserted with ``entry_ids``."""
        if len(entry_ids) != len(self.entries):
            raise RuntimeError("one id per planned entry is needed")
        out: list[DebitResult] = []
        for r in self.results:
            recharges = r.stored_recharges
            if r.recharge_index is not None:
                e = self.entries[r.recharge_index]
                recharges = (e.entry(entry_ids[r.recharge_index], created_at),)
            out.append(DebitResult(r.status, r.message_id, r.balance_after, recharges))
        return out


@dataclass(frozen=True, slots=True)
class DebitBatch:
    """``Store.debit_batch``'s requests as one movement (each decided on its own)."""

    requests: Sequence[DebitRequest]

    def load(self) -> MovementLoad:
        """Lock the batch's accounts, look up its keys, recharge keys and message ids."""
        return MovementLoad(
            accounts=sorted({r.message.system_id for r in self.requests}),
            keys=debit_lookup_keys(self.requests),
            message_ids=list(dict.fromkeys(r.message.message_id for r in self.requests)),
        )

    def plan(self, loaded: Loaded, now: datetime) -> DebitPlan:
        """See :func:`plan_debits`."""
        return plan_debits(self.requests, loaded, now)


def plan_debits(requests: Sequence[DebitRequest], loaded: Loaded, now: datetime) -> DebitPlan:
    """Decide every request in order against the loaded, exclusively held state.

    ``loaded.accounts`` holds the batch's existing accounts (missing = unknown);
    ``loaded.entries`` the committed journal rows of :meth:`DebitBatch.load`'s keys;
    ``loaded.messages`` the batch's message ids that already have a message row; ``now``
    the injected clock's time (its UTC day counts recharges, it refills throughput
    buckets). Nothing here mutates the inputs.
    """
    plan = DebitPlan()
    today = utc_day(now)
    stored = loaded.entries
    taken_message_ids = loaded.messages
    states = {k: replace(v) for k, v in loaded.accounts.items()}
    # Accounts whose bucket has been refilled to ``now`` in this batch (once each).
    refilled: set[str] = set()
    # Keys written by this batch so far: key -> (fingerprint, result of the request).
    planned: dict[str, tuple[str, PlannedResult | None]] = {}
    batch_message_ids: set[str] = set()

    for req in requests:
        validate_request(req)
        msg, key = req.message, req.idempotency_key
        fp = debit_fingerprint(msg)
        state = states.get(msg.system_id)
        current = state.balance if state is not None else 0

        prior = stored.get(key)
        if prior is not None:
            if prior.fingerprint == fp and prior.entry.message_id is not None:
                again = stored.get(recharge_key(key))
                balance_after = prior.entry.balance_after
                if again is not None and again.entry.id > prior.entry.id:
                    balance_after = again.entry.balance_after  # the recharge came after
                plan.results.append(
                    PlannedResult(
                        DebitStatus.DUPLICATE,
                        prior.entry.message_id,
                        balance_after,
                        stored_recharges=(again.entry,) if again is not None else (),
                    )
                )
            else:
                plan.results.append(
                    PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
                )
            continue
        if key in planned:
            planned_fp, first = planned[key]
            if planned_fp == fp and first is not None:
                plan.results.append(replace(first, status=DebitStatus.DUPLICATE))
            else:
                plan.results.append(
                    PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
                )
            continue

        if state is None:
            plan.results.append(PlannedResult(DebitStatus.UNKNOWN_ACCOUNT, msg.message_id, 0))
            continue
        if state.status is not AccountStatus.ACTIVE:
            plan.results.append(
                PlannedResult(DebitStatus.ACCOUNT_DISABLED, msg.message_id, current)
            )
            continue
        if msg.message_id in taken_message_ids or msg.message_id in batch_message_ids:
            # A message id is an identity too: reusing it under another key would make two
            # debits share one outbox row. Refuse rather than fail the whole batch.
            plan.results.append(
                PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
            )
            continue

        used = recharges_used(state.recharge_day, state.recharges_today, today)
        decision = decide_debit(state.balance, msg.cost, state.policy, used)
        rkey = recharge_key(key)
        wants_recharge = decision.recharge_before or decision.recharge_after
        if wants_recharge and (rkey in stored or rkey in planned):
            # Someone used our derived key for another entry; writing would break the
            # unique key, so refuse this request alone.
            plan.results.append(
                PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
            )
            continue
        if not decision.accepted:
            plan.results.append(
                PlannedResult(DebitStatus.INSUFFICIENT_CREDIT, msg.message_id, current)
            )
            if capped(state.balance, msg.cost, state.policy, used):
                _notify_capped(plan, state, today, used)
            continue
        if state.throughput > 0:
            # Last check on purpose: THROTTLED means "accepted, were it not for the rate".
            if state.system_id not in refilled:
                state.tb_tokens = available_tokens(
                    state.throughput, state.tb_tokens, state.tb_updated_at, now
                )
                state.tb_updated_at = refilled_at(state.tb_updated_at, now)
                refilled.add(state.system_id)
            if state.tb_tokens < TOKEN:
                plan.results.append(PlannedResult(DebitStatus.THROTTLED, msg.message_id, current))
                continue
            state.tb_tokens -= TOKEN

        recharge_index: int | None = None
        if decision.recharge_before:
            recharge_index = _recharge(plan, state, rkey, used, today, msg.cost, True)
        state.balance -= msg.cost
        plan.entries.append(
            PlannedEntry(
                system_id=state.system_id,
                counter_account=_SALES,
                kind=EntryKind.DEBIT,
                amount=-msg.cost,
                balance_after=state.balance,
                idempotency_key=key,
                fingerprint=fp,
                message_id=msg.message_id,
            )
        )
        if decision.recharge_after:
            recharge_index = _recharge(plan, state, rkey, used, today, msg.cost, False)
        if recharge_index is not None:
            plan.notices.append(fired_notice(state, rkey, recharge_index))
        elif capped(state.balance + msg.cost, msg.cost, state.policy, used):
            _notify_capped(plan, state, today, used)
        plan.messages.append(PlannedMessage(key, msg))
        batch_message_ids.add(msg.message_id)
        # balance_after is the balance once this debit and its recharge are both done.
        result = PlannedResult(
            DebitStatus.OK, msg.message_id, state.balance, recharge_index=recharge_index
        )
        plan.results.append(result)
        planned[key] = (fp, result)
        if recharge_index is not None:
            planned[rkey] = (plan.entries[recharge_index].fingerprint, None)
        plan.accounts[state.system_id] = state
    return plan


def _notify_capped(plan: DebitPlan, state: AccountState, today: date, used: int) -> None:
    """Queue the day's capped-recharge notice of ``state``'s account, once per batch."""
    notice = capped_notice(state, today, used)
    if all(n.key != notice.key for n in plan.notices):
        plan.notices.append(notice)


def _recharge(
    plan: DebitPlan,
    state: AccountState,
    key: str,
    used: int,
    today: date,
    cost: int,
    before: bool,
) -> int:
    """Append one recharge entry to ``plan`` and count it against today; return its index."""
    assert state.policy is not None  # decide_debit only recharges with a policy
    amount = state.policy.amount
    state.balance += amount
    state.recharge_day = today
    state.recharges_today = used + 1
    plan.entries.append(
        PlannedEntry(
            system_id=state.system_id,
            counter_account=_RECHARGES,
            kind=EntryKind.RECHARGE,
            amount=amount,
            balance_after=state.balance,
            idempotency_key=key,
            fingerprint=recharge_fingerprint(state.system_id, amount),
            message_id=None,
            note=recharge_note(
                state.policy, state.balance - amount, cost, state.recharges_today, before
            ),
        )
    )
    return len(plan.entries) - 1
