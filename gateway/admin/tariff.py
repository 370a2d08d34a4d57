"""The tariff action: what a segment costs, by prefix or for a number. No ledger needed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gateway.admin.errors import InvalidInput, NotFound, Unavailable
from gateway.policy.tariff import Rate, Tariff, TariffError


@dataclass(frozen=True, slots=True)
class TariffRates:
    """Rates of the tariff file ``source``, ordered by prefix."""

    source: str
    rates: tuple[Rate, ...]


def show_tariff(
    path: str | Path, *, prefix: str | None = None, number: str | None = None
) -> TariffRates:
    """Every rate, those whose prefix starts with ``prefix``, or the one ``number`` pays.

    ``number`` is an MSISDN (a leading ``+`` is allowed); its rate is the longest
    matching prefix, as pricing uses. A file that cannot be used is
    :class:`Unavailable`; a number no rate covers is :class:`NotFound`.
    """
    if prefix is not None and number is not None:
        raise InvalidInput("give a prefix or a number, not both")
    try:
        tariff = Tariff.load(path)
    except TariffError as e:
        raise Unavailable(str(e)) from e
    if number is not None:
        rate = tariff.rate_for(number.lstrip("+"))
        if rate is None:
            raise NotFound(f"no rate for {number} in {tariff.source}")
        return TariffRates(tariff.source, (rate,))
    return TariffRates(tariff.source, tuple(r for r in tariff if r.prefix.startswith(prefix or "")))
