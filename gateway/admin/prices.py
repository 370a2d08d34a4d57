"""The price list action: what a pack of credits costs, per credit. No ledger needed.

Credits stay the unit of account; the price list (``[pricing] price_list``) only says
what they cost to buy (``gateway/policy/price_list.py``).
"""

from __future__ import annotations

from pathlib import Path

from typing_extensions import TypedDict

from gateway.admin.errors import NotFound, Unavailable
from gateway.policy.price_list import PackPrice, PriceList, PriceListError, load_price_list


def show_prices(path: str | Path | None) -> PriceList:
    """The packs of the price list at ``path``, smallest first.

    None (``[pricing] price_list`` not set) is :class:`NotFound`; a file that cannot be
    used is :class:`Unavailable`.
    """
    if path is None:
        raise NotFound(
            "no price list: set [pricing] price_list to a CSV file of credits,price,currency"
        )
    try:
        return load_price_list(path)
    except PriceListError as e:
        raise Unavailable(str(e)) from e


class PackPriceView(TypedDict):
    """A pack: its credits, its price and what one credit of it costs (decimal strings)."""

    credits: int
    price: str
    currency: str
    per_credit: str


class PriceListView(TypedDict):
    """The packs and the file they come from."""

    source: str
    packs: list[PackPriceView]


def pack_price_view(p: PackPrice) -> PackPriceView:
    """One pack."""
    return {
        "credits": p.credits,
        "price": str(p.price),
        "currency": p.currency,
        "per_credit": str(p.per_credit),
    }


def price_list_view(prices: PriceList) -> PriceListView:
    """The packs of a price list."""
    return {"source": prices.source, "packs": [pack_price_view(p) for p in prices.packs]}
