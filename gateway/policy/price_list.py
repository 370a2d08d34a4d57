"""The price list: what a pack of credits costs, and so what one credit costs (pure data).

Optional (``[pricing] price_list``): credits stay the unit of account, and nothing in
the ledger or on the submit path reads it. It only tells an operator (and their account
holders) what a pack costs per credit. A price list is CSV, UTF-8 (a BOM is tolerated)::

    # comment lines start with '#'; blank lines are skipped
    credits,price,currency
    100,9.00,EUR
    1000,80.00,EUR

``credits`` is a whole number of credits (a pack), ``price`` a plain decimal amount,
``currency`` an ISO 4217 code. The header is required (columns in another order are
refused rather than read wrongly); each pack size appears once, and every row has one
currency, so packs can be compared per credit.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path

HEADER = ("credits", "price", "currency")
_CREDITS_RE = re.compile(r"[1-9][0-9]{0,11}")
_PRICE_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_CURRENCY_RE = re.compile(r"[A-Z]{3}")
#: Digits after the point of a price per credit (prices are usually in cents).
PER_CREDIT_PLACES = Decimal("0.0001")


class PriceListError(Exception):
    """A price list that cannot be used; the message names the file, line and problem."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True, slots=True)
class PackPrice:
    """A pack of ``credits`` credits sold for ``price`` in ``currency``."""

    credits: int
    price: Decimal
    currency: str

    @property
    def per_credit(self) -> Decimal:
        """What one credit of this pack costs, to four decimals (half-even)."""
        return (self.price / self.credits).quantize(PER_CREDIT_PLACES, ROUND_HALF_EVEN)


@dataclass(frozen=True, slots=True)
class PriceList:
    """The packs of the file ``source``, smallest first."""

    source: str
    packs: tuple[PackPrice, ...]


def load_price_list(path: str | Path) -> PriceList:
    """Read and check the price list at ``path`` (PriceListError for anything wrong)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise PriceListError(source, None, f"cannot read: {e}") from e
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        raise PriceListError(source, None, "empty: expected the header credits,price,currency")
    (first, header), *body = lines
    if tuple(c.strip().lower() for c in next(csv.reader([header]))) != HEADER:
        raise PriceListError(source, first, f"expected the header {','.join(HEADER)}")
    packs: dict[int, PackPrice] = {}
    currencies: set[str] = set()
    for n, line in body:
        cells = [c.strip() for c in next(csv.reader([line]))]
        if len(cells) != len(HEADER):
            raise PriceListError(source, n, f"expected {len(HEADER)} fields, got {len(cells)}")
        credits, price, currency = cells
        if not _CREDITS_RE.fullmatch(credits):
            raise PriceListError(source, n, f"credits: a whole number above 0, got {credits!r}")
        if not _PRICE_RE.fullmatch(price) or Decimal(price) == 0:
            raise PriceListError(source, n, f"price: a decimal amount above 0, got {price!r}")
        if not _CURRENCY_RE.fullmatch(currency):
            raise PriceListError(source, n, f"currency: an ISO 4217 code (EUR), got {currency!r}")
        if int(credits) in packs:
            raise PriceListError(source, n, f"a pack of {credits} credits is listed twice")
        packs[int(credits)] = PackPrice(int(credits), Decimal(price), currency)
        currencies.add(currency)
    if len(currencies) > 1:
        raise PriceListError(
            source, None, f"one currency only, got {', '.join(sorted(currencies))}"
        )
    if not packs:
        raise PriceListError(source, None, "no packs: add lines such as 100,9.00,EUR")
    return PriceList(source, tuple(packs[c] for c in sorted(packs)))
