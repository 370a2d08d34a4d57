"""Amount limits: the largest single credit and the largest balance an account may reach.

Both stores keep money in signed 64-bit integers, so an amount a person can type
("1e21 credits") could overflow them. The ledger refuses it first, with a
:class:`~ledger.errors.LimitExceeded` that names the limit, on both stores alike:

- ``max_credit``: no single credit (``Store.credit``: top-ups, recharges written by
  hand, refunds written by hand) may add more;
- ``max_balance``: a credit or the target side of a transfer may not take a balance
  past it.

What the ledger itself credits is never refused by a limit: an auto-recharge (it fires
only at or below its threshold, which :func:`check_threshold` keeps under
``max_balance``) and a refund (money owed back). They can take a balance past
``max_balance`` by at most their own amount, which :data:`LIMIT_CEILING` leaves room for.

The limits are the ledger's, passed in when a store is opened
(``open_store(url, limits=LedgerLimits(...))``; the gateway reads them from ``[ledger]``
of its configuration), so every front end and every process on a database that opens
it with the same configuration refuses the same amounts.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import InvalidRequest, LimitExceeded
from ledger.money import MILLI, milli_to_credits

#: The largest value either store can hold in a balance or an amount (signed 64-bit).
INT64_MAX = 2**63 - 1
#: The largest limit that may be configured: a quarter of the int64 range, so that a
#: balance at the limit still has room for recharges and refunds above it.
LIMIT_CEILING = INT64_MAX // 4
#: Defaults, in credits: far above any real top-up, far below the int64 range.
DEFAULT_MAX_CREDIT_CREDITS = 10_000_000
DEFAULT_MAX_BALANCE_CREDITS = 100_000_000


@dataclass(frozen=True, slots=True)
class LedgerLimits:
    """The amount limits of one ledger, in milli-credits (see the module docstring)."""

    max_credit: int = DEFAULT_MAX_CREDIT_CREDITS * MILLI
    max_balance: int = DEFAULT_MAX_BALANCE_CREDITS * MILLI

    def __post_init__(self) -> None:
        for name in ("max_credit", "max_balance"):
            value = getattr(self, name)
            if not _is_int(value) or not 1 <= value <= LIMIT_CEILING:
                raise InvalidRequest(
                    f"{name} must be a whole number of milli-credits from 1 to"
                    f" {LIMIT_CEILING}, not {value!r}"
                )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_credit(amount: int, limits: LedgerLimits) -> int:
    """``amount`` if it is at most ``max_credit``; LimitExceeded otherwise."""
    if amount > limits.max_credit:
        raise LimitExceeded(
            f"a credit of {milli_to_credits(amount)} credits is more than the largest"
            f" allowed, {milli_to_credits(limits.max_credit)} (ledger.max_credit)",
            limit="max_credit",
            maximum=limits.max_credit,
            amount=amount,
        )
    return amount


def check_balance(system_id: str, balance: int, amount: int, limits: LedgerLimits) -> int:
    """``balance + amount`` if it stays within ``max_balance``; LimitExceeded otherwise."""
    after = balance + amount
    if after > limits.max_balance:
        raise LimitExceeded(
            f"{milli_to_credits(amount)} credits would take {system_id} to"
            f" {milli_to_credits(after)}, more than the largest balance allowed,"
            f" {milli_to_credits(limits.max_balance)} (ledger.max_balance)",
            limit="max_balance",
            maximum=limits.max_balance,
            amount=amount,
        )
    return after


def check_threshold(threshold: int, limits: LedgerLimits) -> int:
    """``threshold`` if an auto-recharge at it stays near ``max_balance``.

    A recharge fires at or below its threshold, so a threshold at most ``max_balance``
    keeps every balance a recharge makes within one recharge of the limit.
    """
    if threshold > limits.max_balance:
        raise LimitExceeded(
            f"a recharge threshold of {milli_to_credits(threshold)} credits is more than"
            f" the largest balance allowed, {milli_to_credits(limits.max_balance)}"
            " (ledger.max_balance)",
            limit="max_balance",
            maximum=limits.max_balance,
            amount=threshold,
        )
    return threshold
