"""delivery.routing: longest prefix wins, then the more specific route; first live upstream."""

from __future__ import annotations

import pytest

from gateway.delivery.routing import Route, RouteTable, pick, route_category

TABLE = RouteTable(
    [
        Route("33", ("fr-a", "fr-b")),
        Route("336", ("mobile",)),
        Route("336", ("acme-mkt",), account="acme", category="marketing"),
        Route("336", ("acme",), account="acme"),
        Route("336", ("otp",), category="verification"),
        Route("44", ("first",)),
        Route("44", ("second",)),  # same rank: the first in the file wins
        Route("", ("catch-all",), account="solo"),
    ],
    ["fr-a", "fr-b", "mobile"],
)


@pytest.mark.parametrize(
    ("destination", "account", "category", "expected"),
    [
        ("33112345678", "any", None, ("fr-a", "fr-b")),
        ("33612345678", "any", None, ("mobile",)),  # longer prefix
        ("33612345678", "acme", "marketing", ("acme-mkt",)),  # account and category
        ("33612345678", "acme", "general", ("acme",)),  # account beats category
        ("33612345678", "acme", None, ("acme",)),
        ("33612345678", "other", "verification", ("otp",)),
        ("447700900000", "any", None, ("first",)),
        ("4915112345678", "any", None, ("fr-a", "fr-b", "mobile")),  # no route: all, in order
        ("4915112345678", "solo", None, ("catch-all",)),
        ("33612345678", "solo", None, ("mobile",)),  # a longer prefix beats the account's ""
    ],
)
def test_candidates(
    destination: str, account: str, category: str | None, expected: tuple[str, ...]
) -> None:
    assert TABLE.candidates(destination, account, category) == expected


def test_without_routes_every_upstream_in_order() -> None:
    table = RouteTable([], ["a", "b"])
    assert table.candidates("1", "x") == ("a", "b") == table.upstream_names


@pytest.mark.parametrize(
    ("live", "avoid", "expected"),
    [
        ({"a", "b", "c"}, None, "a"),
        ({"b", "c"}, None, "b"),  # a is down: the next
        ({"a", "b"}, "a", "b"),  # a refused with a temporary error: the next live one
        ({"a"}, "a", "a"),  # nothing else is live: a again
        (set(), None, None),
        ({"z"}, None, None),  # live, but not a candidate
    ],
)
def test_pick(live: set[str], avoid: str | None, expected: str | None) -> None:
    assert pick(("a", "b", "c"), live.__contains__, avoid=avoid) == expected


MAPPING = {"OTP": "verification", "PROMO": "marketing"}


@pytest.mark.parametrize(
    ("category", "service_type", "expected"),
    [
        ("marketing", "OTP", "marketing"),  # what the message was debited with wins
        ("", "OTP", "verification"),  # adopted from the ledger: mapped again
        ("", "otp", "verification"),  # the mapping ignores case, as for packages
        ("", "verification", None),  # a category's name is not a mapping
        ("", "", None),
        ("", "CMT", None),
    ],
)
def test_route_category_uses_the_packages_mapping(
    category: str, service_type: str, expected: str | None
) -> None:
    assert route_category(category, service_type, MAPPING) == expected
