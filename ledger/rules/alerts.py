"""Low-balance alerts: when one fires, when it re-arms (pure).

An alert watches one balance of an account (``category`` None: the credit balance;
later, a credit-package category) against a ``threshold``. It is *armed* while the
balance is at or above the threshold. A balance step that takes an armed alert below
the threshold **fires** it once and disarms it; it stays quiet however long the balance
stays below or hovers there, and re-arms at the first step back at or above the
threshold (a credit, a transfer in, a recharge, a refund). So over any sequence of
balances the alerts fired are exactly the downward crossings (from >= threshold to
< threshold), and "armed" is always "the last balance seen was >= threshold".

An alert set while the balance is already below its threshold starts disarmed: no
crossing has happened, and the first one comes after the balance has been back up.

The steps come from the journal (:func:`balance_steps`): each entry's balance after it,
in entry order, except that a debit immediately followed by the auto-recharge it fired
is one step (the balance after the recharge): the account never spent time at the
dip, and an alert for it would be noise.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ledger.errors import InvalidAccountData, LimitExceeded
from ledger.models import Category, EntryKind
from ledger.money import milli_to_credits
from ledger.rules.idempotency import recharge_key
from ledger.rules.limits import LedgerLimits


@dataclass(frozen=True, slots=True)
class JournalStep:
    """What the alert scan reads of one journal entry."""

    entry_id: int
    kind: EntryKind
    idempotency_key: str
    balance_after: int


@dataclass(frozen=True, slots=True)
class BalanceStep:
    """The balance after a step, and the journal entry that ended the step."""

    entry_id: int
    balance: int


@dataclass(frozen=True, slots=True)
class Scan:
    """The outcome of walking an alert over some steps: what fired, and the new state."""

    #: The steps that fired the alert, in order.
    fired: tuple[BalanceStep, ...]
    armed: bool
    #: The last entry id walked (the scan's new cursor).
    through: int


def armed_for(balance: int, threshold: int) -> bool:
    """Whether an alert is armed at ``balance``: at or above ``threshold``."""
    return balance >= threshold


def step(armed: bool, balance: int, threshold: int) -> tuple[bool, bool]:
    """One balance step: (fires, armed after)."""
    below = balance < threshold
    return armed and below, not below


def scan(armed: bool, threshold: int, steps: Iterable[BalanceStep], through: int) -> Scan:
    """Walk an alert armed as ``armed`` over ``steps`` (``through``: the cursor so far)."""
    fired: list[BalanceStep] = []
    for s in steps:
        fires, armed = step(armed, s.balance, threshold)
        if fires:
            fired.append(s)
        through = max(through, s.entry_id)
    return Scan(tuple(fired), armed, through)


def count_fired(armed: bool, threshold: int, balances: Iterable[int]) -> int:
    """How many times an alert armed as ``armed`` fires over ``balances``."""
    steps = (BalanceStep(i, b) for i, b in enumerate(balances, start=1))
    return len(scan(armed, threshold, steps, 0).fired)


def balance_steps(entries: Sequence[JournalStep]) -> list[BalanceStep]:
    """The balance steps of an account's journal ``entries`` (in id order).

    A debit followed at once by the recharge it fired (its key is the debit's
    ``recharge_key``) is one step ending at the recharge; every other entry is a step.
    """
    out: list[BalanceStep] = []
    for i, e in enumerate(entries):
        nxt = entries[i + 1] if i + 1 < len(entries) else None
        if (
            e.kind is EntryKind.DEBIT
            and nxt is not None
            and nxt.kind is EntryKind.RECHARGE
            and nxt.idempotency_key == recharge_key(e.idempotency_key)
        ):
            continue  # the recharge's step carries the balance on
        out.append(BalanceStep(e.entry_id, e.balance_after))
    return out


def category_steps(before: int, entries: Sequence[tuple[int, int]]) -> list[BalanceStep]:
    """The steps of a package category's balance: ``before`` moved by each (id, amount)
    package journal entry in id order (a purchase, a draw, a refund, a write-off)."""
    out: list[BalanceStep] = []
    balance = before
    for entry_id, amount in entries:
        balance += amount
        out.append(BalanceStep(entry_id, balance))
    return out


def validate_alert(threshold: int, category: str | None, limits: LedgerLimits) -> str | None:
    """Check an alert's settings; return the category's value (None: the credit balance).

    The threshold is a whole number of milli-credits (milli-messages for a category),
    above zero (a balance is never below zero) and at most ``max_balance``.
    """
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold <= 0:
        raise InvalidAccountData(f"an alert threshold must be above 0, not {threshold!r}")
    if threshold > limits.max_balance:
        raise LimitExceeded(
            f"an alert threshold of {milli_to_credits(threshold)} credits is more than the"
            f" largest balance allowed, {milli_to_credits(limits.max_balance)}"
            " (ledger.max_balance)",
            limit="max_balance",
            maximum=limits.max_balance,
            amount=threshold,
        )
    if category is None:
        return None
    try:
        return Category(category).value
    except ValueError:
        known = ", ".join(c.value for c in Category)
        raise InvalidAccountData(f"unknown category {category!r}: choose one of {known}") from None


def alert_mail_key(system_id: str, category: str | None, entry_id: int) -> str:
    """The idempotency key of the alert fired by journal entry ``entry_id``."""
    return f"alert:{system_id}:{category or 'credits'}:{entry_id}"


def describe(threshold: int, balance: int) -> str:
    """``"balance 4.5 below threshold 5"`` in credits, for logs and notes."""
    return f"balance {milli_to_credits(balance)} below threshold {milli_to_credits(threshold)}"
