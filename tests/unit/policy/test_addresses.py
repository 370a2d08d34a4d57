"""Destination and source address checks."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.policy.addresses import DESTINATION_MODES, check_destination, check_source_form
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
        # Form errors, whatever the mode.
        (1, 1, "+33612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "0033612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "0612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "33 612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "3361234567a", BAD_DST, BAD_DST, BAD_DST),
        (1, 1, "1234567890123456", BAD_DST, BAD_DST, BAD_DST),  # 16 digits
        (1, 1, "٣٣٦١٢٣٤٥٦٧٨", BAD_DST, BAD_DST, BAD_DST),  # non-ASCII digits
        # TON/NPI other than 1/1 (product spec: ESME_RINVDSTADR, not RINVDSTTON/NPI).
        (0, 1, "33612345678", BAD_DST, BAD_DST, BAD_DST),
        (2, 1, "33612345678", BAD_DST, BAD_DST, BAD_DST),
        (1, 0, "33612345678", BAD_DST, BAD_DST, BAD_DST),
        (5, 0, "33612345678", BAD_DST, BAD_DST, BAD_DST),
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
        (1, 1, "+33612345678", BAD_SRC),
        (1, 1, "0612345678", BAD_SRC),
        (1, 1, "", BAD_SRC),
        # Other TONs.
        (0, 0, "ACME", BAD_SRC),
        (0, 1, "33612345678", BAD_SRC),
        (2, 1, "0612345678", BAD_SRC),
        (4, 1, "1234", BAD_SRC),
        (6, 1, "1234", BAD_SRC),
    ],
)
def test_check_source_form(ton: int, npi: int, addr: str, status: CommandStatus | None) -> None:
    assert check_source_form(ton, npi, addr) == status
