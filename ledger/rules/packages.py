"""Credit packages: status, purchase checks, and what a message draws from where (pure).

A package is a prepaid quantity of messages of one category (``verification`` for codes
and notifications, ``marketing``, ``general``), bought in units of 100 messages (at
least 100), valid until its expiry (12 months by default). Quantities are integer
**milli-messages** (:data:`MESSAGE` = 1000), like credits are milli-credits.

Status (:func:`package_status`), from the remaining quantity and the injected clock:
``expired`` at or after ``expires_at`` (whatever remains), else ``exhausted`` when
nothing remains, else ``valid``. The expiry is exact: a debit at ``expires_at - 1 µs``
draws on the package, one at ``expires_at`` does not.

What a message draws (:func:`plan_consumption`). A message of ``segments`` segments to a
destination of weight ``w`` milli-credits per segment (its cost is ``segments * w``):

- each segment is paid by ONE source; the sources are tried in this order: the valid
  packages of the message's category, earliest expiry first (then oldest purchase,
  then id); then, for a category other than ``general``, the valid ``general``
  packages in the same order; then the credit balance;
- a segment drawn from a package takes ``max(MESSAGE, w)`` milli-messages: a package
  message covers one segment of weight at most 1 credit, a heavier destination draws its
  weight (a 2.5-credit destination takes 2.5 messages per segment);
- a package takes as many of the remaining segments as it can pay whole; what it cannot
  pay (fewer milli-messages left than a segment needs) goes to the next source, so one
  multi-part message may span several packages and the credit balance;
- the segments no package pays cost ``w`` milli-credits each from the credit balance,
  decided as any debit (auto-recharge included); if the balance cannot pay them the
  whole message is refused and nothing is drawn anywhere.

Refunds (:func:`plan_refund`) give each draw back to where it came from; a draw on a
package that has expired by the time of the refund goes back to the package and is
written off again at once, by an entry of its own, so an expired package's write-offs
always equal everything it held past its expiry.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ledger.errors import InvalidPurchase, InvalidRequest
from ledger.models import Category
from ledger.models.history import CREDITS_SOURCE
from ledger.models.packages import PackageStatus

#: Milli-messages in one package message.
MESSAGE = 1000
#: Packages are bought in units of this many messages (and at least one unit).
PURCHASE_UNIT = 100
#: The largest quantity one purchase may buy, in messages (keeps every sum in int64).
MAX_PURCHASE = 10_000_000
#: How long a package is valid by default, in calendar months.
DEFAULT_VALIDITY_MONTHS = 12
#: Longest name a package may be given.
MAX_NAME_LEN = 64


@dataclass(slots=True)
class PackageState:
    """The part of a package a movement reads and writes; planners update a copy."""

    package_id: str
    system_id: str
    category: str
    total: int
    remaining: int
    purchased_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Draw:
    """What part of a message one source paid: ``source`` is a package id or ``credits``.

    ``amount`` is in the source's unit (milli-messages for a package, milli-credits for
    ``credits``); ``segments`` is how many of the message's segments it paid.
    """

    source: str
    amount: int
    segments: int

    @property
    def is_credits(self) -> bool:
        """True for the credit balance's part."""
        return self.source == CREDITS_SOURCE


@dataclass(frozen=True, slots=True)
class Consumption:
    """A message's draws on packages, and what is left for the credit balance."""

    packages: tuple[Draw, ...]
    credit_segments: int
    credit_cost: int  # milli-credits


def package_status(remaining: int, expires_at: datetime, now: datetime) -> PackageStatus:
    """``expired`` from ``expires_at`` on, else ``exhausted`` at zero, else ``valid``."""
    if now >= expires_at:
        return PackageStatus.EXPIRED
    if remaining <= 0:
        return PackageStatus.EXHAUSTED
    return PackageStatus.VALID


def is_valid(p: PackageState, now: datetime) -> bool:
    """True when the package may pay for a message at ``now``."""
    return package_status(p.remaining, p.expires_at, now) is PackageStatus.VALID


def parse_category(value: str) -> Category:
    """The category named ``value``; InvalidRequest for any other word."""
    try:
        return Category(value)
    except ValueError:
        names = ", ".join(c.value for c in Category)
        raise InvalidRequest(f"category {value!r} is not one of {names}") from None


def validate_purchase(category: str, quantity: int, name: str) -> tuple[Category, int]:
    """The category and the total in milli-messages of a purchase of ``quantity`` messages.

    Refused: an unknown category (InvalidRequest); InvalidPurchase for a quantity that
    is not a whole multiple of 100 of at least 100 (nor above :data:`MAX_PURCHASE`), a
    name longer than :data:`MAX_NAME_LEN` or with control characters.
    """
    cat = parse_category(category)
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise InvalidPurchase(f"a quantity is a whole number of messages, not {quantity!r}")
    if quantity < PURCHASE_UNIT:
        raise InvalidPurchase(f"packages hold at least {PURCHASE_UNIT} messages, not {quantity}")
    if quantity % PURCHASE_UNIT:
        raise InvalidPurchase(
            f"packages are bought in units of {PURCHASE_UNIT} messages, not {quantity}"
        )
    if quantity > MAX_PURCHASE:
        raise InvalidPurchase(f"one purchase buys at most {MAX_PURCHASE} messages, not {quantity}")
    if len(name) > MAX_NAME_LEN or any(not ch.isprintable() for ch in name):
        raise InvalidPurchase(f"a package name is at most {MAX_NAME_LEN} printable characters")
    return cat, quantity * MESSAGE


def add_months(start: datetime, months: int) -> datetime:
    """``start`` plus ``months`` calendar months, the day clamped to the month's last."""
    if months < 1:
        raise InvalidRequest(f"a package is valid for at least one month, not {months}")
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def default_name(category: Category, quantity: int) -> str:
    """The name of a package bought without one: ``"1000 verification"``."""
    return f"{quantity} {category.value}"


def segment_draw(weight: int) -> int:
    """Milli-messages one segment of weight ``weight`` milli-credits takes from a package."""
    return max(MESSAGE, weight)


def consumption_order(
    packages: Iterable[PackageState], category: str, now: datetime
) -> list[PackageState]:
    """The valid packages a message of ``category`` may draw on, in the order it does."""

    def order(p: PackageState) -> tuple[datetime, datetime, str]:
        return (p.expires_at, p.purchased_at, p.package_id)

    valid = [p for p in packages if is_valid(p, now)]
    own = sorted((p for p in valid if p.category == category), key=order)
    if category == Category.GENERAL.value:
        return own
    return own + sorted((p for p in valid if p.category == Category.GENERAL.value), key=order)


def plan_consumption(
    packages: Sequence[PackageState], category: str, segments: int, cost: int, now: datetime
) -> Consumption:
    """What a message draws from ``packages`` (see the module docstring); pure.

    ``cost`` is ``segments`` times the destination's weight; the packages are not
    changed (the caller applies the draws).
    """
    if segments < 1 or cost <= 0 or cost % segments:
        raise InvalidRequest(f"a cost of {cost} is not {segments} equal segments")
    weight = cost // segments
    need = segment_draw(weight)
    left = segments
    draws: list[Draw] = []
    for p in consumption_order(packages, category, now):
        if left == 0:
            break
        take = min(left, p.remaining // need)
        if take:
            draws.append(Draw(p.package_id, take * need, take))
            left -= take
    return Consumption(tuple(draws), left, left * weight)


def message_category(requested: str, default: str) -> str:
    """A message's category: the one it asked for (mapped service_type), else the default."""
    return requested or default or Category.GENERAL.value


def map_service_type(service_type: str, mapping: dict[str, str]) -> str:
    """The category ``service_type`` maps to (exact match, then case-insensitive), or ""."""
    if not service_type:
        return ""
    found = mapping.get(service_type)
    if found is None:
        lowered = {k.lower(): v for k, v in mapping.items()}
        found = lowered.get(service_type.lower(), "")
    return found


@dataclass(frozen=True, slots=True)
class RefundLeg:
    """One draw given back: to the credits, or to a package (``write_off``: expired)."""

    draw: Draw
    write_off: bool


def plan_refund(
    draws: Sequence[Draw], packages: dict[str, PackageState], now: datetime
) -> list[RefundLeg]:
    """Where each draw of a refunded message goes back (see the module docstring)."""
    legs: list[RefundLeg] = []
    for d in draws:
        if d.is_credits:
            legs.append(RefundLeg(d, False))
            continue
        p = packages[d.source]
        legs.append(RefundLeg(d, now >= p.expires_at))
    return legs


def expired_remainders(
    packages: Iterable[PackageState], now: datetime
) -> list[tuple[PackageState, int]]:
    """Each package expired at ``now`` with something left, and that remainder."""
    return sorted(
        ((p, p.remaining) for p in packages if p.remaining > 0 and now >= p.expires_at),
        key=lambda pr: (pr[0].expires_at, pr[0].package_id),
    )


def remaining_by_category(
    packages: Iterable[tuple[str, int, PackageStatus]],
) -> dict[str, int]:
    """Milli-messages left in valid packages per category (every category, zeros too)."""
    totals = {c.value: 0 for c in Category}
    for category, remaining, status in packages:
        if status is PackageStatus.VALID:
            totals[category] = totals.get(category, 0) + remaining
    return totals
