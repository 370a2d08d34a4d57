"""Two movements for the SMPP operations beyond submit_sm: all-or-none debits
(submit_multi) and the repricing of a message not yet forwarded (replace_sm).

``DebitAll`` decides its requests exactly as ``plan_debits`` does (in order, on the
locked accounts, cumulative balances and throughput), then keeps the plan only if every
request was accepted: one refusal and nothing is written, so a submit_multi is charged
for all its destinations or for none.

``Reprice`` gives a message's cost back and charges its new cost in one transaction (a
REFUND entry and a DEBIT entry naming the message, each with a key derived from the
caller's): the balance moves by the difference, and a later refund of the message gives
back the new cost. The message row itself is rewritten by the same transaction
(``ledger.core.money``), only while it is still ACCEPTED.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from ledger.errors import (
    AccountNotActive,
    IdempotencyConflict,
    InsufficientCredit,
    PackagePaidMessage,
    UnknownMessage,
)
from ledger.models import AccountStatus, DebitRequest, DebitResult, DebitStatus, EntryKind
from ledger.rules.debits import DebitBatch, DebitPlan, plan_debits
from ledger.rules.idempotency import fingerprint
from ledger.rules.planning import (
    COUNTER_OF_KIND,
    Loaded,
    MovementLoad,
    PackageLoad,
    Plan,
    PlannedEntry,
)

#: Prefix of the two keys of a repricing: ``reprice:<key>:refund`` and ``...:debit``.
REPRICE_KEY_PREFIX = "reprice:"


@dataclass(frozen=True, slots=True)
class DebitAll:
    """``Store.debit_all``'s requests as one movement: all accepted, or nothing written."""

    requests: Sequence[DebitRequest]

    def load(self) -> MovementLoad:
        """What ``DebitBatch`` loads."""
        return DebitBatch(self.requests).load()

    def plan(self, loaded: Loaded, now: datetime) -> DebitPlan:
        """The batch's plan if every request is OK; else an empty plan with the results."""
        plan = plan_debits(self.requests, loaded, now)
        if all(r.status is DebitStatus.OK for r in plan.results):
            return plan
        # A replay of the whole set (every key debited before) is its first result.
        if all(r.status is DebitStatus.DUPLICATE for r in plan.results):
            return plan
        return DebitPlan(results=[replace(r, recharge_index=None) for r in plan.results])


def all_debited(results: Sequence[DebitResult]) -> bool:
    """True when ``debit_all`` wrote its requests (every one OK, or every one a replay)."""
    statuses = {r.status for r in results}
    return statuses == {DebitStatus.OK} or statuses == {DebitStatus.DUPLICATE}


@dataclass(frozen=True, slots=True)
class RepriceResult:
    """What a repricing did: the balance after it, and whether it was a replay."""

    balance_after: int
    old_cost: int
    new_cost: int
    replayed: bool = False


@dataclass(slots=True)
class RepricePlan(Plan[RepriceResult]):
    """The two entries of a repricing (none for a replay) and its result."""

    result: RepriceResult = field(default_factory=lambda: RepriceResult(0, 0, 0))

    def resolve(self, entry_ids: Sequence[int], created_at: datetime) -> RepriceResult:
        """The result (the entries' ids are not part of it)."""
        return self.result


def reprice_keys(key: str) -> tuple[str, str]:
    """The (refund, debit) keys of the repricing whose key is ``key``."""
    return f"{REPRICE_KEY_PREFIX}{key}:refund", f"{REPRICE_KEY_PREFIX}{key}:debit"


@dataclass(frozen=True, slots=True)
class Reprice:
    """``Store.reprice``'s arguments: message ``message_id`` now costs ``new_cost``."""

    message_id: str
    new_cost: int
    key: str
    note: str = "replaced"

    def load(self) -> MovementLoad:
        """Read the message, lock its account, look up the two keys."""
        return MovementLoad(
            keys=reprice_keys(self.key),
            message_ids=(self.message_id,),
            lock_message_owners=True,
            packages=PackageLoad(draws=True),
        )

    def plan(self, loaded: Loaded, now: datetime) -> RepricePlan:
        """Refund the old cost and debit the new one; a replayed key writes nothing.

        Refused (nothing written): an unknown message, an account not active, a balance
        that cannot pay the difference (InsufficientCredit), a message that drew on a
        credit package (PackagePaidMessage). Reusing a key for another message or price
        is IdempotencyConflict.
        """
        message = loaded.messages.get(self.message_id)
        if message is None:
            raise UnknownMessage(self.message_id)
        if self.message_id in loaded.draws:
            raise PackagePaidMessage(f"message {self.message_id} drew on a credit package")
        refund_key, debit_key = reprice_keys(self.key)
        fp = fingerprint("reprice", self.message_id, str(self.new_cost))
        prior = loaded.entries.get(debit_key)
        if prior is not None:
            if prior.fingerprint != fp:
                raise IdempotencyConflict(self.key)
            return RepricePlan(
                result=RepriceResult(
                    prior.entry.balance_after, message.cost, self.new_cost, replayed=True
                )
            )
        state = loaded.accounts[message.system_id]
        if state.status is not AccountStatus.ACTIVE:
            raise AccountNotActive(message.system_id, state.status.value)
        old = message.cost
        after_refund = state.balance + old
        after = after_refund - self.new_cost
        if after < 0:
            raise InsufficientCredit(message.system_id)
        entries = [
            PlannedEntry(
                system_id=state.system_id,
                counter_account=COUNTER_OF_KIND[EntryKind.REFUND].value,
                kind=EntryKind.REFUND,
                amount=old,
                balance_after=after_refund,
                idempotency_key=refund_key,
                fingerprint=fp,
                message_id=self.message_id,
                note=self.note,
            ),
            PlannedEntry(
                system_id=state.system_id,
                counter_account=COUNTER_OF_KIND[EntryKind.DEBIT].value,
                kind=EntryKind.DEBIT,
                amount=-self.new_cost,
                balance_after=after,
                idempotency_key=debit_key,
                fingerprint=fp,
                message_id=self.message_id,
                note=self.note,
            ),
        ]
        return RepricePlan(
            accounts={state.system_id: replace(state, balance=after)},
            entries=entries,
            result=RepriceResult(after, old, self.new_cost),
        )
