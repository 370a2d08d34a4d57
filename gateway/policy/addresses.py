"""Source and destination address checks for submit_sm. Pure; None means refused.

Forms the gateway accepts (docs/protocol.md "Addresses"):

- destination: an E.164 number, written the ways real clients write it, turned into
  international digits without '+' (what is priced, stored and sent upstream as TON 1 /
  NPI 1):

  - TON 1 (international) or 0 (unknown) with NPI 1 (ISDN/E.164) or 0 (unknown) and
    international digits: ``33612345678``;
  - the same with a leading ``+`` or ``00`` (any of TON 0, 1, 2): ``+33612345678``;
  - TON 2 (national), or TON 0 with national digits, read in the account's default
    country: ``0612345678`` with FR. Kannel sends TON 2 with the international digits it
    was given, so a TON 2 number that is not one of the default country's is tried as
    international too (and a TON 0 one the other way round: international first).

  Anything else is ``ESME_RINVDSTADR``. SMPP 3.4 also has ``ESME_RINVDSTTON``/
  ``ESME_RINVDSTNPI``, but the product specification (and the operator whose clients we
  take over) answer every bad destination with 0x0B, so clients written against it keep
  working; the log line carries the address, TON and NPI.
- source, by TON: 5 alphanumeric, 1 to 11 printable GSM 03.38 basic-table characters;
  3 shortcode, 3 to 8 digits; a numeric sender in any of the destination's forms (TON 0,
  1 or 2, NPI 0 or 1) is made international the same way, and is then the TON 1 sender
  it names. Anything else is ``ESME_RINVSRCADR``. For alphanumeric and shortcode senders
  NPI is not part of the form: whether (TON, address) is a sender registered for the
  account is checked against the account's records.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum
from functools import lru_cache

import phonenumbers
from gsm0338.charset import BASIC_CHARACTER_SET

from gateway.policy import number_plan
from gateway.smpp import CommandStatus

S = CommandStatus

TON_UNKNOWN = 0
TON_INTERNATIONAL = 1
TON_NATIONAL = 2
TON_NETWORK_SPECIFIC = 3  # used for shortcodes
TON_ALPHANUMERIC = 5
NPI_UNKNOWN = 0
NPI_E164 = 1
#: The TONs and NPIs a number (destination, numeric sender) may come with.
_NUMERIC_TONS = frozenset({TON_UNKNOWN, TON_INTERNATIONAL, TON_NATIONAL})
_NUMERIC_NPIS = frozenset({NPI_UNKNOWN, NPI_E164})
MAX_ALPHANUMERIC = 11

_E164_RE = re.compile(r"[1-9][0-9]{0,14}")
_SHORTCODE_RE = re.compile(r"[0-9]{3,8}")
_DIGITS_RE = re.compile(r"[0-9]{1,20}")
# Characters of the GSM 03.38 basic table that can appear in an alphanumeric sender:
# control characters (LF, CR, ESC) are excluded, extension characters take two septets
# and are refused by handsets in TP-OA, so they are excluded too. Built from gsm0338's
# table so the two cannot drift apart.
_ALPHANUMERIC_CHARS = frozenset(
    unicodedata.lookup(name)
    for code, name in BASIC_CHARACTER_SET.items()
    if code not in (0x0A, 0x0D, 0x1B)
)


class DestinationMode(StrEnum):
    """How strictly a destination's number is checked (``[pricing] destination_check``)."""

    #: libphonenumber ``is_valid_number``: the number exists in its country's plan.
    VALID = "valid"
    #: ``is_possible_number``: a plausible length for its country.
    POSSIBLE = "possible"
    #: E.164 digits only; the tariff decides what is reachable.
    PREFIX = "prefix"


def international_number(
    ton: int, npi: int, addr: str, *, country: str = "", mode: str = "valid"
) -> str | None:
    """``addr`` as international E.164 digits without '+', or None if it is not a number
    in one of the accepted forms (module docstring) that passes ``mode``.

    ``country`` is the account's default country (ISO 3166-1 alpha-2, "" = none), the
    region TON 2 and national TON 0 numbers are read in. When two readings of the digits
    are possible (TON 0 or 2 with a default country) and ``mode`` is "prefix", the first
    reading of a plausible length wins, so that the choice is never a blind one.
    """
    if mode not in DESTINATION_MODES:
        raise ValueError(f"destination check mode must be one of {DESTINATION_MODES}, not {mode!r}")
    return _international(ton, npi, addr, country, mode)


# libphonenumber is the reference for numbering plans; through parse + is_valid_number it
# costs ~13 us (~9 us with is_possible_number), measured with timeit on this machine
# (CPython 3.11, phonenumbers 9.0). The verdicts on international digits (valid and
# possible) come from number_plan instead: the same metadata and verdicts in ~1.3 us
# (docs/benchmarks.md). A cache hit costs ~0.1 us.
# Bulk traffic repeats destinations (retries, campaigns to the same lists), so a bounded
# LRU still pays for itself; at ~250 octets an entry, 16384 entries stay under 5 MB.
@lru_cache(maxsize=16384)
def _international(ton: int, npi: int, addr: str, country: str, mode: str) -> str | None:
    if ton not in _NUMERIC_TONS or npi not in _NUMERIC_NPIS:
        return None
    digits, explicit = addr, False
    if digits.startswith("+"):
        digits, explicit = digits[1:], True
    elif digits.startswith("00"):
        digits, explicit = digits[2:], True
    if not _DIGITS_RE.fullmatch(digits):
        return None
    as_international = digits if _E164_RE.fullmatch(digits) else None
    as_national = None
    if country and not explicit and ton != TON_INTERNATIONAL:
        as_national = _national(digits, country)
    if ton == TON_NATIONAL:
        readings = [as_national, as_international]
    else:
        readings = [as_international, as_national]
    candidates = [r for r in readings if r is not None]
    level = mode
    if mode == DestinationMode.PREFIX and len(candidates) > 1:
        level = DestinationMode.POSSIBLE  # two readings: do not pick one blindly
    for candidate in candidates:
        if level == DestinationMode.PREFIX or _plan_accepts(
            candidate, level == DestinationMode.VALID
        ):
            return candidate
    return None


def _national(digits: str, country: str) -> str | None:
    """``digits`` read as a number of ``country`` (trunk prefix and all), as E.164 digits."""
    try:
        number = phonenumbers.parse(digits, country)
    except phonenumbers.NumberParseException:
        return None
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)[1:]
    return e164 if _E164_RE.fullmatch(e164) else None


def _plan_accepts(digits: str, full: bool) -> bool:
    """libphonenumber's verdict on +digits: valid (``full``) or merely possible."""
    return number_plan.is_valid(digits) if full else number_plan.is_possible(digits)


def check_destination(
    ton: int, npi: int, addr: str, *, mode: str, country: str = ""
) -> CommandStatus | None:
    """None when (ton, npi, addr) is an acceptable destination, else ``ESME_RINVDSTADR``.

    ``mode`` is one of ``DESTINATION_MODES``: "valid" (libphonenumber
    ``is_valid_number``: the number exists in the country's numbering plan), "possible"
    (``is_possible_number``: plausible length) or "prefix" (E.164 digits only). The
    number the gateway uses is ``international_number(...)``.
    """
    found = international_number(ton, npi, addr, country=country, mode=mode)
    return None if found is not None else S.ESME_RINVDSTADR


def source_address(
    ton: int, npi: int, addr: str, *, country: str = ""
) -> tuple[int, int, str] | None:
    """The sender as the gateway uses it, (TON, NPI, address), or None if its form is
    not accepted: alphanumeric (TON 5) and shortcode (TON 3) senders as they are; a
    numeric one in any accepted form (TON 0, 1, 2) as (1, 1, international digits),
    checked for form only (a sender is not a destination: the registry decides)."""
    if ton == TON_ALPHANUMERIC:
        ok = (
            0 < len(addr) <= MAX_ALPHANUMERIC
            and not addr.isspace()
            and all(c in _ALPHANUMERIC_CHARS for c in addr)
        )
        return (ton, npi, addr) if ok else None
    if ton == TON_NETWORK_SPECIFIC:
        return (ton, npi, addr) if _SHORTCODE_RE.fullmatch(addr) else None
    digits = _international(ton, npi, addr, country, DestinationMode.PREFIX)
    return None if digits is None else (TON_INTERNATIONAL, NPI_E164, digits)


def check_source_form(ton: int, npi: int, addr: str, *, country: str = "") -> CommandStatus | None:
    """None when ``addr`` has a form its TON allows (``source_address``), else
    ``ESME_RINVSRCADR``."""
    return None if source_address(ton, npi, addr, country=country) else S.ESME_RINVSRCADR


#: Destination check modes, strictest first.
DESTINATION_MODES = tuple(m.value for m in DestinationMode)

__all__ = [
    "DESTINATION_MODES",
    "MAX_ALPHANUMERIC",
    "DestinationMode",
    "check_destination",
    "check_source_form",
    "international_number",
    "source_address",
]
