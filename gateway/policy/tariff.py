"""The tariff: what one SMS segment costs per destination prefix. Pure data, no I/O after load.

A tariff file is CSV, UTF-8 (a BOM is tolerated, spreadsheets write one)::

    # comment lines start with '#'; blank lines are skipped
    prefix,country,credits,comment
    33,FR,1.0,France (operator example)
    1876,JM,1.2,

``prefix`` is the leading E.164 digits (country code, optionally followed by more digits),
``country`` free text (ISO region codes in the shipped file), ``credits`` a decimal number
of credits per segment converted exactly to integer milli-credits (``0.1`` is 100). The
header line is required so that a file with its columns in another order is refused rather
than priced wrongly. Quoted commas are allowed in ``comment``; a field spanning lines is not.

Lookup is longest prefix first (``1876`` Jamaica beats ``1`` NANP) through one dict per
prefix length, so ``rate_for`` costs at most one slice and one dict probe per distinct
prefix length (<= 15), whatever the size of the tariff.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from ledger.models import credits_to_milli

#: E.164 numbers have at most 15 digits, so no longer prefix can ever match.
MAX_PREFIX_DIGITS = 15
HEADER = ("prefix", "country", "credits")
_PREFIX_RE = re.compile(r"[1-9][0-9]{0,14}")
# Plain decimals only: Decimal() would also take "1e3", "NaN" or "Infinity", which are
# never what an operator means in a price list.
_CREDITS_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?")


class TariffError(Exception):
    """A tariff file that cannot be used. The message names the file, the line and the problem."""

    def __init__(self, path: str, line: int | None, problem: str) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.line = line
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Rate:
    """The price of one segment to numbers starting with ``prefix``, in milli-credits."""

    prefix: str
    country: str
    milli: int


class Tariff:
    """An immutable set of rates with longest-prefix lookup."""

    __slots__ = ("_by_length", "_lengths", "_rates", "source")

    def __init__(self, rates: Iterable[Rate], *, source: str = "<memory>") -> None:
        """Build a tariff from ``rates``; a duplicate or malformed prefix is a ``ValueError``.

        ``load`` checks the same things with file and line numbers; this constructor is for
        tests and tools that build a tariff in memory.
        """
        self.source = source
        by_length: dict[int, dict[str, Rate]] = {}
        for rate in rates:
            if not _PREFIX_RE.fullmatch(rate.prefix):
                raise ValueError(f"bad prefix {rate.prefix!r}")
            if rate.milli < 0:
                raise ValueError(f"negative rate for prefix {rate.prefix}")
            table = by_length.setdefault(len(rate.prefix), {})
            if rate.prefix in table:
                raise ValueError(f"duplicate prefix {rate.prefix}")
            table[rate.prefix] = rate
        self._by_length = by_length
        # Longest first: the first hit is the most specific rate.
        self._lengths = tuple(sorted(by_length, reverse=True))
        self._rates = tuple(
            sorted((r for t in by_length.values() for r in t.values()), key=attrgetter("prefix"))
        )

    @classmethod
    def load(cls, path: str | Path) -> Tariff:
        """Read and check a tariff CSV file; any problem is a ``TariffError``."""
        name = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as e:
            raise TariffError(name, None, f"cannot read the file: {e.strerror or e}") from None
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            line = raw.count(b"\n", 0, e.start) + 1
            raise TariffError(name, line, "not UTF-8 text") from None
        return cls(_parse(name, text), source=name)

    def rate_for(self, msisdn: str) -> Rate | None:
        """The rate of the longest prefix of ``msisdn`` (E.164 digits, no '+'), or None."""
        n = len(msisdn)
        by_length = self._by_length
        for length in self._lengths:
            if length <= n:
                rate = by_length[length].get(msisdn[:length])
                if rate is not None:
                    return rate
        return None

    def __len__(self) -> int:
        return len(self._rates)

    def __iter__(self) -> Iterator[Rate]:
        """Every rate, ordered by prefix digits (``1``, ``1268``, ``20``, ...)."""
        return iter(self._rates)

    def __repr__(self) -> str:
        return f"Tariff({len(self._rates)} rates from {self.source})"


def _parse(name: str, text: str) -> list[Rate]:
    """The rates of a tariff file's text, checked line by line."""
    rates: list[Rate] = []
    seen: dict[str, int] = {}
    header_seen = False
    lineno = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            fields = [f.strip() for f in next(csv.reader([line], strict=True))]
        except csv.Error as e:
            raise TariffError(name, lineno, f"malformed CSV: {e}") from None
        if not header_seen:
            if tuple(f.lower() for f in fields[:3]) != HEADER or len(fields) > 4:
                raise TariffError(
                    name, lineno, "expected the header line 'prefix,country,credits[,comment]'"
                )
            header_seen = True
            continue
        rate = _parse_row(name, lineno, fields)
        first = seen.get(rate.prefix)
        if first is not None:
            raise TariffError(
                name, lineno, f"duplicate prefix {rate.prefix} (first on line {first})"
            )
        seen[rate.prefix] = lineno
        rates.append(rate)
    if not rates:
        raise TariffError(name, lineno or None, "no rates in the file")
    return rates


def _parse_row(name: str, lineno: int, fields: list[str]) -> Rate:
    if len(fields) not in (3, 4):
        raise TariffError(
            name,
            lineno,
            f"expected 3 or 4 fields (prefix,country,credits[,comment]), got {len(fields)}",
        )
    prefix, country, credits = fields[0], fields[1], fields[2]
    if not _PREFIX_RE.fullmatch(prefix):
        raise TariffError(
            name,
            lineno,
            f"prefix {prefix!r} must be 1 to {MAX_PREFIX_DIGITS} digits, not starting with 0",
        )
    if credits.startswith("-"):
        raise TariffError(name, lineno, f"negative credits {credits!r}")
    if not _CREDITS_RE.fullmatch(credits):
        raise TariffError(name, lineno, f"credits {credits!r} is not a decimal number like 0.5")
    try:
        milli = credits_to_milli(credits)
    except ValueError as e:
        raise TariffError(name, lineno, str(e)) from None
    return Rate(prefix, country, milli)


__all__ = ["MAX_PREFIX_DIGITS", "Rate", "Tariff", "TariffError"]
