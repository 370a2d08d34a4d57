"""The debit batch: each request decided on its own, in order, committed once.

``plan_debits`` is the hot path of every submit_sm. Per request: replay or conflict of
its key, the account (unknown, not active), its message id, then what it costs the
credit balance: the whole cost, or, for an account with credit packages, what its
packages do not pay (``ledger.rules.packages.plan_consumption``: the package draws are
entries of the package journal, each segment paid by one source). The credit part is
decided by the auto-recharge rule (``ledger.rules.recharge.decide_debit``), then the
throughput bucket. An account without packages never reads one (``has_packages``).

Keys: a message's first entry has the request's key (the credit debit, or the first
package draw when packages pay it all); its other package draws ``draw:<n>:<key>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from ledger.models import (
    AccountStatus,
    DebitRequest,
    DebitResult,
    DebitStatus,
    EntryKind,
    HouseAccount,
    JournalEntry,
    OutboundMessage,
)
from ledger.models.history import CREDITS_SOURCE
from ledger.rules.idempotency import (
    debit_fingerprint,
    debit_lookup_keys,
    recharge_fingerprint,
    recharge_key,
)
from ledger.rules.notices import capped_notice, fired_notice
from ledger.rules.packages import (
    Consumption,
    Draw,
    PackageState,
    message_category,
    plan_consumption,
)
from ledger.rules.planning import (
    AccountState,
    Loaded,
    MovementLoad,
    PackageLoad,
    Plan,
    PlannedEntry,
    PlannedMessage,
    draw_key,
)
from ledger.rules.recharge import capped, decide_debit, recharge_note, recharges_used, utc_day
from ledger.rules.throughput import TOKEN, available_tokens, refilled_at
from ledger.rules.validation import validate_request

# The hot path compares and binds plain strings.
_SALES = HouseAccount.SALES.value
_RECHARGES = HouseAccount.RECHARGES.value
_PACKAGE_SALES = HouseAccount.PACKAGE_SALES.value


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
        """Lock the batch's accounts, look up its keys, recharge keys and message ids;
        for accounts with packages, their packages and the package journal's keys."""
        return MovementLoad(
            accounts=sorted({r.message.system_id for r in self.requests}),
            keys=debit_lookup_keys(self.requests),
            message_ids=list(dict.fromkeys(r.message.message_id for r in self.requests)),
            packages=PackageLoad(holders=True, more_keys=self.package_keys),
        )

    def package_keys(self, loaded: Loaded) -> list[str]:
        """The keys a request of an account with packages may have in the package
        journal: its own (a message paid by packages alone) and its draws'."""
        keys: list[str] = []
        for r in self.requests:
            state = loaded.accounts.get(r.message.system_id)
            if state is not None and state.has_packages:
                key = r.idempotency_key
                keys.append(key)
                keys.extend(draw_key(key, n) for n in range(1, r.message.segments + 1))
        return keys

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
    packages = {k: replace(v) for k, v in loaded.packages.items()}

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
                # A message paid by packages alone has its key on a package entry, whose
                # balance_after is the package's: answer the account's balance now.
                balance_after = (
                    prior.entry.balance_after if prior.entry.package_id is None else current
                )
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
        consumption: Consumption | None = None
        credit_cost = msg.cost
        if state.has_packages and packages:
            consumption = _consumption(packages, state, msg, now)
            if consumption is not None:
                credit_cost = consumption.credit_cost
                if any(draw_key(key, n) in stored for n in range(1, msg.segments + 1)):
                    plan.results.append(
                        PlannedResult(DebitStatus.IDEMPOTENCY_CONFLICT, msg.message_id, current)
                    )
                    continue
        decision = decide_debit(state.balance, credit_cost, state.policy, used)
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
            if capped(state.balance, credit_cost, state.policy, used):
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
            recharge_index = _recharge(plan, state, rkey, used, today, credit_cost, True)
        if credit_cost:
            state.balance -= credit_cost
            plan.entries.append(
                PlannedEntry(
                    system_id=state.system_id,
                    counter_account=_SALES,
                    kind=EntryKind.DEBIT,
                    amount=-credit_cost,
                    balance_after=state.balance,
                    idempotency_key=key,
                    fingerprint=fp,
                    message_id=msg.message_id,
                )
            )
        if consumption is not None:
            _draw(plan, packages, consumption, key, fp, msg.message_id, first=not credit_cost)
        if decision.recharge_after:
            recharge_index = _recharge(plan, state, rkey, used, today, credit_cost, False)
        if recharge_index is not None:
            plan.notices.append(fired_notice(state, rkey, recharge_index))
        elif credit_cost and capped(state.balance + credit_cost, credit_cost, state.policy, used):
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


def _consumption(
    packages: Mapping[str, PackageState], state: AccountState, msg: OutboundMessage, now: datetime
) -> Consumption | None:
    """What the message draws on the account's packages; None when they pay nothing."""
    own = [p for p in packages.values() if p.system_id == state.system_id]
    if not own:
        return None
    category = message_category(msg.category, state.default_category)
    found = plan_consumption(own, category, msg.segments, msg.cost, now)
    return found if found.packages else None


def _draw(
    plan: Plan[object],
    packages: dict[str, PackageState],
    consumption: Consumption,
    key: str,
    fp: str,
    message_id: str,
    *,
    first: bool,
) -> None:
    """Take a message's draws from its packages: one entry each, and its draw record.

    The first entry of the message has the debit's key (``first``: no credit entry
    took it); the others ``draw:<n>:<key>``.
    """
    n = 0
    for d in consumption.packages:
        p = packages[d.source]
        p.remaining -= d.amount
        if first:
            entry_key, first = key, False
        else:
            n += 1
            entry_key = draw_key(key, n)
        plan.package_entries.append(
            PlannedEntry(
                system_id=p.system_id,
                counter_account=_PACKAGE_SALES,
                kind=EntryKind.DEBIT,
                amount=-d.amount,
                balance_after=p.remaining,
                idempotency_key=entry_key,
                fingerprint=fp,
                message_id=message_id,
                package_id=p.package_id,
            )
        )
        plan.packages[p.package_id] = p
    draws = consumption.packages
    if consumption.credit_cost:
        credits = Draw(CREDITS_SOURCE, consumption.credit_cost, consumption.credit_segments)
        draws = (*draws, credits)
    plan.draws.append((message_id, draws))


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
