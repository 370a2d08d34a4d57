"""The destination mix: random mobile numbers that are valid in their country. Pure.

``--to FR=5,GB=3,IN=2`` weighs countries (ISO 3166-1 alpha-2). For each, a pool of
distinct numbers is made once from libphonenumber's example mobile number: its last
digits are replaced at random and a candidate is kept only if ``is_valid_number`` holds,
so a gateway that checks destinations (smppgw's ``[pricing] destination_check =
"valid"``) accepts every one. Numbers are international digits without ``+`` (what a
TON 1 / NPI 1 destination_addr carries).
"""

from __future__ import annotations

import random

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from gateway.loadgen.weights import WeightedPick

#: Numbers per country: enough that consecutive messages rarely share a destination.
POOL_SIZE = 1000
#: Candidates tried per number wanted before settling for fewer.
_TRIES_PER_NUMBER = 20


def random_numbers(region: str, count: int, rng: random.Random) -> list[str]:
    """Up to ``count`` distinct valid mobile numbers of ``region`` (at least one).

    Raises ValueError when libphonenumber has no example mobile number for the region
    (an unknown code, or a region without mobile numbers).
    """
    example = phonenumbers.example_number_for_type(region.upper(), PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"no mobile numbers known for country {region!r}")
    national = phonenumbers.national_significant_number(example)
    code = example.country_code
    # Keep the leading digits (the mobile range), vary the rest: at most 6 digits, so
    # the prefix the tariff prices by stays the example's.
    keep = max(len(national) - 6, 2)
    numbers = {phonenumbers.format_number(example, PhoneNumberFormat.E164)[1:]}
    for _ in range(count * _TRIES_PER_NUMBER):
        if len(numbers) >= count:
            break
        tail = "".join(rng.choice("0123456789") for _ in range(len(national) - keep))
        candidate = phonenumbers.parse(f"+{code}{national[:keep]}{tail}")
        if phonenumbers.is_valid_number(candidate):
            numbers.add(phonenumbers.format_number(candidate, PhoneNumberFormat.E164)[1:])
    return sorted(numbers)


class DestinationMix:
    """Picks a country by weight, then one of its numbers at random."""

    __slots__ = ("_pick", "_pools", "_rng", "countries")

    def __init__(
        self, weights: dict[str, int], rng: random.Random, *, pool_size: int = POOL_SIZE
    ) -> None:
        self.countries = [c.upper() for c in weights]
        self._pools = {c.upper(): random_numbers(c, pool_size, rng) for c in weights}
        self._pick = WeightedPick(self.countries, [weights[c] for c in weights], rng)
        self._rng = rng

    def __call__(self) -> str:
        """One destination (international digits)."""
        pool = self._pools[self._pick()]
        return pool[int(self._rng.random() * len(pool))]

    def pool(self, country: str) -> list[str]:
        """The numbers of one country (for tests and the summary)."""
        return list(self._pools[country.upper()])


__all__ = ["POOL_SIZE", "DestinationMix", "random_numbers"]
