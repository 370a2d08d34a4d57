"""The auto-recharge rule (policy: threshold T, amount R, daily cap M).

At most one recharge per debit, for balance b and cost c:

- b >= c: debit; then if the debit crossed the threshold (b - c <= T < b) and fewer than
  M recharges happened today, credit R after the debit;
- b < c: if a policy exists, the cap is not reached and b + R >= c, credit R first and
  then debit; otherwise refuse (INSUFFICIENT_CREDIT) and write nothing.

"Today" is the UTC day of the injected clock; the counter restarts on a new day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from ledger.models import RechargePolicy, milli_to_credits


@dataclass(frozen=True, slots=True)
class DebitDecision:
    """What to do with one debit: refuse it, or accept it with a recharge before or after."""

    accepted: bool
    recharge_before: bool = False
    recharge_after: bool = False


def decide_debit(
    balance: int, cost: int, policy: RechargePolicy | None, recharges_today: int
) -> DebitDecision:
    """Apply the auto-recharge rule (see the module docstring) to one debit."""
    can_recharge = policy is not None and recharges_today < policy.daily_cap
    if balance >= cost:
        after = balance - cost
        crossed = policy is not None and after <= policy.threshold < balance
        return DebitDecision(accepted=True, recharge_after=crossed and can_recharge)
    if policy is not None and can_recharge and balance + policy.amount >= cost:
        return DebitDecision(accepted=True, recharge_before=True)
    return DebitDecision(accepted=False)


def capped(balance: int, cost: int, policy: RechargePolicy | None, recharges_today: int) -> bool:
    """True when this debit would have fired a recharge but the daily cap is used up.

    That is: with the cap not yet reached, :func:`decide_debit` would recharge (before or
    after), and with ``recharges_today`` it may not. The account holder is told once a
    UTC day (see ``ledger.rules.notices``).
    """
    if policy is None or recharges_today < policy.daily_cap:
        return False
    free = decide_debit(balance, cost, policy, 0)
    return free.recharge_before or free.recharge_after


def recharges_used(recharge_day: date | None, recharges_today: int, today: date) -> int:
    """Recharges already counted against ``today``: the stored counter only if it is today's."""
    return recharges_today if recharge_day == today else 0


def utc_day(now: datetime) -> date:
    """The UTC calendar day of ``now`` (naive datetimes are taken as UTC)."""
    if now.tzinfo is None:
        return now.date()
    return now.astimezone(UTC).date()


def recharge_note(
    policy: RechargePolicy, balance_before: int, cost: int, count: int, before: bool
) -> str:
    """Why a recharge fired, for its journal entry (``count``: today's, this one included).

    Amounts in credits, as every other output says them: "debit of 1 left 5, at or
    below threshold 5".
    """
    c = milli_to_credits
    if before:
        why = f"auto-recharge: balance {c(balance_before)} below cost {c(cost)}"
    else:
        why = (
            f"auto-recharge: debit of {c(cost)} left {c(balance_before)},"
            f" at or below threshold {c(policy.threshold)}"
        )
    return why + f" ({count} of {policy.daily_cap} today)"
