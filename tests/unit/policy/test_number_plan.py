"""``number_plan`` gives libphonenumber's verdicts on every calling code: valid or not
and the region (``valid_region``), possible or not (``is_possible``), on example numbers,
their mutations, random digits of every length, national prefixes, and whatever
hypothesis finds."""

from __future__ import annotations

import random

import phonenumbers
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneNumberType

from gateway.policy.number_plan import NON_GEO_REGION, is_possible, is_valid, valid_region

MAX_DIGITS = 15  # E.164, what addresses.py lets through
CALLING_CODES = sorted(COUNTRY_CODE_TO_REGION_CODE)


def reference(digits: str) -> str | None:
    """What phonenumbers says of +digits: its region when valid, else None."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    region = phonenumbers.region_code_for_number(number)
    assert region is not None  # a valid number always has one
    return region


def possible(digits: str) -> bool:
    """What phonenumbers says of +digits: a possible number or not."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_possible_number(number))


def assert_same(digits: str) -> bool:
    """Compare on ``digits``; True when it is valid (to count that the sweep saw some)."""
    expected = reference(digits)
    assert valid_region(digits) == expected, digits
    assert is_valid(digits) == (expected is not None), digits
    assert is_possible(digits) == possible(digits), digits
    return expected is not None


def examples(code: int) -> list[str]:
    """Every example number libphonenumber has for the calling code, as E.164 digits."""
    found: set[str] = set()
    for region in COUNTRY_CODE_TO_REGION_CODE[code]:
        for kind in PhoneNumberType.values():
            if region == NON_GEO_REGION:
                number = phonenumbers.example_number_for_non_geo_entity(code)
            else:
                number = phonenumbers.example_number_for_type(region, kind)
            if number is not None:
                found.add(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    return sorted(e[1:] for e in found)


def mutations(digits: str, cc: str) -> set[str]:
    """Numbers near ``digits``: each national digit replaced by every other, one digit
    dropped or added at the end, a national prefix (0, 1, 8) after the calling code."""
    nsn = digits[len(cc) :]
    near = {digits[:-1], digits + "0", digits + "9"}
    for i in range(len(nsn)):
        for d in "0123456789":
            near.add(cc + nsn[:i] + d + nsn[i + 1 :])
    for trunk in ("0", "1", "8", "00"):
        near.add(cc + trunk + nsn)
    return {n for n in near if len(n) <= MAX_DIGITS}


# libphonenumber has example numbers for every calling code (215 in 9.0); a code without
# any would drop out of the example sweep, so the test below bounds how many may.
WITH_EXAMPLES = [c for c in CALLING_CODES if examples(c)]


def test_the_sweep_covers_almost_every_calling_code() -> None:
    assert len(WITH_EXAMPLES) >= len(CALLING_CODES) - 5
    assert {1, 7, 33, 44, 91, 800, 882} <= set(WITH_EXAMPLES)


@pytest.mark.parametrize("code", WITH_EXAMPLES)
def test_example_numbers_and_their_neighbours(code: int) -> None:
    cc = str(code)
    valid = 0
    for number in examples(code):
        assert assert_same(number), f"libphonenumber's own example {number} is valid"
        for near in sorted(mutations(number, cc)):
            valid += assert_same(near)
    assert valid > 0


@pytest.mark.parametrize("code", CALLING_CODES)
def test_random_digits_of_every_length(code: int) -> None:
    cc = str(code)
    rng = random.Random(code)  # the same numbers every run
    for length in range(len(cc) + 1, MAX_DIGITS + 1):
        for _ in range(40):
            rest = "".join(rng.choice("0123456789") for _ in range(length - len(cc)))
            assert_same(cc + rest)


@pytest.mark.parametrize("code", CALLING_CODES)
def test_random_digits_after_each_example_prefix(code: int) -> None:
    # Random completions of every prefix of the example numbers, at the example's length:
    # the numbers that share the most with valid ones, where the patterns branch.
    cc = str(code)
    rng = random.Random(-code)
    for number in examples(code):
        for keep in range(len(cc) + 1, len(number)):
            for _ in range(4):
                tail = "".join(rng.choice("0123456789") for _ in range(len(number) - keep))
                assert_same(number[:keep] + tail)


@pytest.mark.parametrize(
    ("digits", "region"),
    [
        ("33612345678", "FR"),
        ("447400123456", "GB"),
        ("447911123456", "GG"),  # +44 7911 1: Guernsey's mobiles, not the UK's
        ("447624123456", "IM"),  # +44 7624: Isle of Man, a region of its own
        ("919876543210", "IN"),
        ("12025550123", "US"),
        ("16135550123", "CA"),
        ("18765551234", "JM"),
        ("78005553535", "RU"),
        ("77012345678", "KZ"),
        ("80012345678", NON_GEO_REGION),
        ("33012345678", None),  # no French number starts with 0 after +33
        ("330612345678", "FR"),  # but parse strips a trunk 0 written after it
        ("3361234", None),
        ("99912345678", None),  # unassigned calling code
        ("1", None),
        ("33", None),
    ],
)
def test_known_numbers(digits: str, region: str | None) -> None:
    assert valid_region(digits) == region
    assert reference(digits) == region


@pytest.mark.parametrize(
    ("digits", "expected"),
    [
        ("33012345678", True),  # the right length for France, not in its plan
        ("3361234", False),
        ("919876543210", True),
        ("919876543", True),  # 7 national digits: possible, for local dialling only
        ("91987", False),  # 3 national digits
        ("99912345678", False),
        ("12", False),
    ],
)
def test_known_possible_numbers(digits: str, expected: bool) -> None:
    assert is_possible(digits) == expected
    assert possible(digits) == expected


@st.composite
def plausible_numbers(draw: st.DrawFn) -> str:
    """A calling code and digits up to the E.164 length: most are wrong, some valid."""
    cc = str(draw(st.sampled_from(CALLING_CODES)))
    rest = draw(st.text("0123456789", max_size=MAX_DIGITS - len(cc)))
    return cc + rest


@given(plausible_numbers())
@example("330612345678")
@example("5491112345678")  # Argentina: a national prefix with a transform rule
def test_any_number_after_a_calling_code(digits: str) -> None:
    assert_same(digits)


@given(st.from_regex(r"[1-9][0-9]{0,14}", fullmatch=True))
def test_any_e164_digits(digits: str) -> None:
    assert_same(digits)
