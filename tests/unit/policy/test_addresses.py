"""Destination and source address checks."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.policy.addresses import (
    DESTINATION_MODES,
    check_destination,
    check_source_form,
    international_number,
    source_address,
)
from gateway.smpp import CommandStatus

S = CommandStatus
BAD_DST = S.ESME_RINVDSTADR
BAD_SRC = S.ESME_RINVSRCADR


@pytest.mark.parametrize(
    ("ton", "npi", "addr", "valid", "possible", "prefix"),
    [
        # Real-looking numbers (libphonenumber example numbers).
        (1, 1, "33612345678", None, None, None),  # FR mobile
        (1, 1, "447911123456", None, None, None),  # UK mobile
        (1, 1, "919876543210", None, None, None),  # IN mobile
        (1, 1, "12025550123", None, None, None),  # US
        (1, 1, "18765551234", None, None, None),  # JM
        # Right length, not in the plan: 0 after 33 is never a French subscriber number.
        (1, 1, "33012345678", BAD_DST, None, None),
        # Too short for France.
        (1, 1, "3361234", BAD_DST, BAD_DST, None),
        # Unassigned country code 999.
        (1, 1, "99912345678", BAD_DST, BAD_DST, None),
        # A leading + or 00 is the international prefix (issue 9).
        (1, 1, "+33612345678", None, None, None),
        (1, 1, "0033612345678", None, None, None),
        (1, 1, "+0033612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "+", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "00", BAD_DST, BAD_DST, BAD_DST),
        # Form errors, whatever the mode. TON 1 says international: a trunk 0 is not.
        (1, 1, "0612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "33 612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "3361234567a", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "1234567890123456", BAD_DST, BAD_DST, BAD_DST),  # 16 digits
        (1, 1, "٣٣٦١٢٣٤٥٦٧٨", BAD_DST, BAD_DST, BAD_DST),  # non-ASCII digits
        # TON 0 (unknown) and NPI 0 (unknown) with international digits; TON 2 with
        # international digits (Kannel's default) when no default country reads them.
        (0, 1, "33612345678", None, None, None),
        (0, 0, "33612345678", None, None, None),
        (2, 1, "33612345678", None, None, None),
        (1, 0, "33612345678", None, None, None),
        # No default country: a national number cannot be read.
        (2, 1, "0612345678", BAD_DST, BAD_DST, BAD_DST),
        (0, 1, "0612345678", BAD_DST, BAD_DST, BAD_DST),
        # Other TONs and NPIs (product spec: ESME_RINVDSTADR, not RINVDSTTON/NPI).
        (3, 1, "33612345678", BAD_DST, BAD_DST, BAD_DST),
        (4, 1, "33612345678", BAD_DST, BAD_DST, BAD_DST),
        (5, 0, "33612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 2, "33612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 9, "33612345678", BAD_DST, BAD_DST, BAD_DST),
    ],
)
def test_check_destination(
    ton: int,
    npi: int,
    addr: str,
    valid: CommandStatus | None,
    possible: CommandStatus | None,
    prefix: CommandStatus | None,
) -> None:
    assert check_destination(ton, npi, addr, mode="valid") == valid
    assert check_destination(ton, npi, addr, mode="possible") == possible
    assert check_destination(ton, npi, addr, mode="prefix") == prefix


def test_unknown_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="mode"):
        check_destination(1, 1, "33612345678", mode="strict")


def _mobile_example(region: str) -> phonenumbers.PhoneNumber | None:
    return phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)


# Regions libphonenumber has a mobile example for (chosen at collection: nothing skips).
_REGIONS = [r for r in sorted(phonenumbers.SUPPORTED_REGIONS)[::7] if _mobile_example(r)]


@pytest.mark.parametrize("region", _REGIONS)
def test_example_mobile_numbers_are_valid(region: str) -> None:
    example = _mobile_example(region)
    assert example is not None
    digits = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)[1:]
    for mode in DESTINATION_MODES:
        assert check_destination(1, 1, digits, mode=mode) is None


@given(st.from_regex(r"[1-9][0-9]{0,14}", fullmatch=True))
def test_modes_are_ordered_from_strict_to_lenient(addr: str) -> None:
    valid = check_destination(1, 1, addr, mode="valid") is None
    possible = check_destination(1, 1, addr, mode="possible") is None
    prefix = check_destination(1, 1, addr, mode="prefix") is None
    assert prefix
    assert possible or not valid


@pytest.mark.parametrize(
    ("ton", "npi", "addr", "status"),
    [
        # Alphanumeric, TON 5: 1..11 printable GSM basic-table characters.
        (5, 0, "ACME", None),
        (5, 0, "A", None),
        (5, 0, "ACME Corp 1", None),  # 11
        (5, 0, "ACME Corp 12", BAD_SRC),  # 12
        (5, 0, "Café-Ñoño", None),  # é and Ñ are in the GSM basic table
        (5, 0, "Shop@Home!", None),
        (5, 0, "12345", None),
        (5, 1, "ACME", None),  # NPI is the sender registry's business, not the form's
        (5, 0, "", BAD_SRC),
        (5, 0, "   ", BAD_SRC),
        (5, 0, "AC{ME}", BAD_SRC),  # extension characters
        (5, 0, "ACME€", BAD_SRC),
        (5, 0, "AC\nME", BAD_SRC),
        (5, 0, "ACME😀", BAD_SRC),
        (5, 0, "ÂCME", BAD_SRC),  # Â is not GSM
        # Shortcode, TON 3: 3..8 digits.
        (3, 1, "123", None),
        (3, 1, "12345678", None),
        (3, 1, "12", BAD_SRC),
        (3, 1, "123456789", BAD_SRC),
        (3, 1, "12a4", BAD_SRC),
        (3, 0, "38100", None),
        # International, TON 1: E.164 digits, at most 15.
        (1, 1, "33612345678", None),
        (1, 1, "123456789012345", None),
        (1, 1, "1234567890123456", BAD_SRC),
        (1, 1, "+33612345678", None),  # the international prefix (issue 9)
        (1, 1, "0033612345678", None),
        (1, 1, "0612345678", BAD_SRC),
        (1, 1, "", BAD_SRC),
        # Numeric with TON 0 or 2, NPI 0 or 1: international digits are accepted.
        (0, 1, "33612345678", None),
        (2, 1, "33612345678", None),
        (0, 0, "33612345678", None),
        # Without a default country a national number cannot be read.
        (2, 1, "0612345678", BAD_SRC),
        # Other TONs, NPIs and forms.
        (0, 0, "ACME", BAD_SRC),
        (2, 1, "ACME", BAD_SRC),
        (1, 3, "33612345678", BAD_SRC),
        (4, 1, "1234", BAD_SRC),
        (6, 1, "1234", BAD_SRC),
    ],
)
def test_check_source_form(ton: int, npi: int, addr: str, status: CommandStatus | None) -> None:
    assert check_source_form(ton, npi, addr) == status


# -- the forms real clients send, with the account's default country (issue 9) ---------

FR_MOBILE = "33612345678"
UK_MOBILE = "447911123456"


@pytest.mark.parametrize(
    ("ton", "npi", "addr", "country", "expected"),
    [
        # Kannel 1.4.5's default: TON 2 with the international digits it was given.
        (2, 1, FR_MOBILE, "", FR_MOBILE),
        (2, 1, FR_MOBILE, "FR", FR_MOBILE),  # 33... is not a French national number
        (2, 1, UK_MOBILE, "FR", UK_MOBILE),
        (2, 0, FR_MOBILE, "GB", FR_MOBILE),
        # National numbers, trunk prefix or not, read in the default country.
        (2, 1, "0612345678", "FR", FR_MOBILE),
        (2, 1, "612345678", "FR", FR_MOBILE),
        (2, 1, "07911123456", "GB", UK_MOBILE),
        (0, 1, "0612345678", "FR", FR_MOBILE),
        (0, 0, "07911123456", "GB", UK_MOBILE),
        # TON 0 tries international first, TON 2 national first: the same digits can
        # name different numbers ("447911123456" is not a French one, so both agree here).
        (0, 1, UK_MOBILE, "FR", UK_MOBILE),
        # + and 00 say international whatever the TON and the country.
        (2, 1, "+447911123456", "FR", UK_MOBILE),
        (0, 1, "00447911123456", "FR", UK_MOBILE),
        (2, 1, "+0612345678", "FR", None),
        # TON 1 is international: the default country never applies.
        (1, 1, "0612345678", "FR", None),
        (1, 1, "612345678", "FR", None),  # +61 2345678 is not a valid Australian number
        # A national number of another country, or not a number at all.
        (2, 1, "0612345678", "GB", None),
        (2, 1, "06 12 34 56 78", "FR", None),
        (2, 1, "", "FR", None),
        (2, 1, "O612345678", "FR", None),
        # TON/NPI outside the accepted set, whatever the country.
        (3, 1, "0612345678", "FR", None),
        (2, 2, "0612345678", "FR", None),
        (5, 0, "0612345678", "FR", None),
    ],
)
def test_international_number_reads_the_forms_clients_send(
    ton: int, npi: int, addr: str, country: str, expected: str | None
) -> None:
    assert international_number(ton, npi, addr, country=country, mode="valid") == expected
    # The less strict modes accept at least what "valid" does, as the same number.
    if expected is not None:
        for mode in ("possible", "prefix"):
            assert international_number(ton, npi, addr, country=country, mode=mode) == expected


def test_prefix_mode_does_not_pick_a_reading_blindly() -> None:
    # "0612345678" with FR has one reading (the trunk 0 rules out an international one):
    # the prefix mode takes it. "612345678" with FR has two (+33 6..., +61 2...): the
    # prefix mode picks the first of a plausible length, the national one for TON 2.
    assert international_number(2, 1, "0612345678", country="FR", mode="prefix") == FR_MOBILE
    assert international_number(2, 1, "612345678", country="FR", mode="prefix") == FR_MOBILE
    # Without a default country, the prefix mode stays a form check.
    assert international_number(2, 1, "99912345678", country="", mode="prefix") == "99912345678"
    assert international_number(2, 1, "99912345678", country="", mode="valid") is None


@pytest.mark.parametrize(
    ("ton", "npi", "addr", "country", "expected"),
    [
        (5, 0, "ACME", "FR", (5, 0, "ACME")),  # alphanumeric: as it is
        (3, 1, "38100", "FR", (3, 1, "38100")),  # shortcode: as it is
        (1, 1, FR_MOBILE, "", (1, 1, FR_MOBILE)),
        (1, 0, FR_MOBILE, "", (1, 1, FR_MOBILE)),  # numeric senders become TON 1 / NPI 1
        (2, 1, FR_MOBILE, "", (1, 1, FR_MOBILE)),
        (1, 1, "+33612345678", "", (1, 1, FR_MOBILE)),
        (2, 1, "0612345678", "FR", (1, 1, FR_MOBILE)),
        (0, 0, "0612345678", "FR", (1, 1, FR_MOBILE)),
        (2, 1, "0612345678", "", None),
        (0, 0, "ACME", "FR", None),
        (4, 1, "1234", "FR", None),
    ],
)
def test_source_address_is_the_sender_the_registry_knows(
    ton: int, npi: int, addr: str, country: str, expected: tuple[int, int, str] | None
) -> None:
    assert source_address(ton, npi, addr, country=country) == expected
