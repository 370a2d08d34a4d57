"""Which upstreams a message may go to, in order (``[[routes]]``). Pure: no I/O, no clock.

A route names a destination prefix, optionally an account and a category, and the
upstreams to try in order. For one message:

- the routes whose prefix starts its destination, whose account (if any) is its account
  and whose category (if any) is its category, apply;
- of those, the longest prefix wins; between routes of one prefix length the more
  specific wins (account and category, then account, then category, then neither), and
  between equals the first in the file;
- no route applies (or there are none): every upstream, in the order they are
  configured, so a gateway without ``[[routes]]`` uses its first upstream and falls back
  to the next.

``pick`` then takes the first of those upstreams that is live, skipping one the caller
wants to avoid (it just refused the message with a temporary error) while another is
live.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ledger.rules.packages import map_service_type


def route_category(
    category: str, service_type: str, service_types: Mapping[str, str]
) -> str | None:
    """The category a route matches a message on, or None for none asked.

    The one the message was submitted with (an HTTP job's ``category``, or the
    submit_sm's ``service_type`` mapped when it was debited), else its stored
    ``service_type`` mapped again through ``[packages] service_types`` (a message the
    forwarder adopted from the ledger): the same mapping that picks the credit packages
    it draws on. The account's default category is not a route's business: a route
    that names a category takes the messages that asked for it.
    """
    return category or map_service_type(service_type, dict(service_types)) or None


@dataclass(frozen=True, slots=True)
class Route:
    """One ``[[routes]]`` entry."""

    prefix: str
    upstreams: tuple[str, ...]
    account: str = ""
    category: str = ""

    def applies(self, destination: str, system_id: str, category: str | None) -> bool:
        """True when this route covers a message with these properties."""
        return (
            destination.startswith(self.prefix)
            and (not self.account or self.account == system_id)
            and (not self.category or self.category == category)
        )

    @property
    def rank(self) -> tuple[int, int, int]:
        """Bigger wins: prefix length, then an account, then a category."""
        return (len(self.prefix), 1 if self.account else 0, 1 if self.category else 0)


class RouteTable:
    """The routes of one configuration and the upstreams they fall back to."""

    __slots__ = ("_default", "_routes")

    def __init__(self, routes: Iterable[Route], upstreams: Sequence[str]) -> None:
        # Stable sort: between equal ranks the first in the file stays first.
        self._routes = sorted(routes, key=lambda r: r.rank, reverse=True)
        self._default = tuple(upstreams)

    @property
    def upstream_names(self) -> tuple[str, ...]:
        """Every configured upstream, in configuration order."""
        return self._default

    def candidates(
        self, destination: str, system_id: str, category: str | None = None
    ) -> tuple[str, ...]:
        """The upstreams a message may take, the preferred first (see the module doc)."""
        for route in self._routes:
            if route.applies(destination, system_id, category):
                return route.upstreams
        return self._default


def pick(
    candidates: Sequence[str], live: Callable[[str], bool], *, avoid: str | None = None
) -> str | None:
    """The first live candidate, ``avoid`` only when no other is live; None: none is."""
    fallback = None
    for name in candidates:
        if not live(name):
            continue
        if name != avoid:
            return name
        fallback = name
    return fallback
