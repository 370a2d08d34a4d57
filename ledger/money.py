"""Money: integer milli-credits everywhere, converted to and from people's credits here.

1 credit = :data:`MILLI` milli-credits. Amounts are never floats inside the ledger; these
two functions are the only place a human amount becomes an integer or back.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

MILLI = 1000


def credits_to_milli(credits: str | int | float) -> int:
    """Parse a human amount of credits ("12.5", 3) into milli-credits, exactly.

    Floats are accepted only when they are whole milli-credits; strings are parsed as
    decimals so "0.1" is exactly 100.
    """
    try:
        d = Decimal(str(credits))
    except InvalidOperation:
        raise ValueError(f"not a number of credits: {credits!r}") from None
    milli = d * MILLI
    if milli != milli.to_integral_value():
        raise ValueError(f"{credits} credits is not a whole number of milli-credits")
    return int(milli)


def milli_to_credits(milli: int) -> str:
    """Format milli-credits for people: 1500 -> "1.5", 100 -> "0.1", 2000 -> "2"."""
    sign = "-" if milli < 0 else ""
    whole, frac = divmod(abs(milli), MILLI)
    return f"{sign}{whole}" if frac == 0 else f"{sign}{whole}.{frac:03d}".rstrip("0")
