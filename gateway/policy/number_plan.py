"""libphonenumber's verdicts (valid, possible) on plain international digits, no ``parse``.

``valid_region("33612345678")`` is ``"FR"``: the region ``phonenumbers`` gives the number
``+33612345678`` when ``phonenumbers.is_valid_number`` says it is valid, and None when it
is not. It is the same verdict, from the same metadata, reached by a shorter road:

- ``parse("+" + digits)`` on digits alone only does three things that matter: take the
  country calling code (the first 1-3 digits that are one), strip a national prefix
  if the country's ``national_prefix_for_parsing`` matches the start of the rest, and
  keep the rest as the national significant number (leading zeros included);
- ``is_valid_number`` finds the region among the calling code's regions (their
  ``leading_digits``, else the first region whose plan has the number) and then asks
  whether the number matches the general description and at least one number type
  (each a possible-length set and a full-match pattern).

Here the patterns of each calling code are compiled once (lazily, the first time a
number of that code is seen) into one general and one alternation-of-types pattern per
region and length; a number is then a dictionary probe, one ``match`` for the national
prefix and two ``fullmatch``es. Whenever ``parse`` would do more than the three things
above (a national prefix to strip, too few digits, no calling code) this module asks
``phonenumbers`` itself, so the verdict never differs; ``tests/unit/policy/
test_number_plan.py`` compares the two over every calling code. ``is_possible`` is
``is_possible_number`` the same way (a length of the main region's general description).

Why not ``phonenumbers`` everywhere: measured with cProfile on 20,000 distinct French
mobiles (CPython 3.11, phonenumbers 9.0), ``parse`` + ``is_valid_number`` cost 1.75 s
of which the regular expressions themselves were 0.2 s; the rest is the generic
parsing (normalising, extension and IDD handling) and ``re.compile`` cache look-ups per
description. ``docs/benchmarks.md`` has the figures before and after.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE, PhoneMetadata, PhoneNumberDesc

#: libphonenumber's region for non-geographic calling codes (800, 808, 870 ...).
NON_GEO_REGION = "001"
#: The calling codes as strings, for the probe of the first 1-3 digits.
_CALLING_CODES = frozenset(str(code) for code in COUNTRY_CODE_TO_REGION_CODE)
#: Fewer digits than this and ``parse`` has early exits of its own (TOO_SHORT_AFTER_IDD,
#: TOO_SHORT_NSN, viability of the string): ask it.
_MIN_FAST_DIGITS = 4


def _type_descs(metadata: PhoneMetadata) -> list[PhoneNumberDesc]:
    """The number types ``_number_type_helper`` tries after the general description;
    the number is valid when one of them matches (mobile too when it has the fixed-line
    pattern: then it equals fixed-line, so listing it changes nothing)."""
    descs = [
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
        metadata.mobile,
    ]
    return [d for d in descs if d is not None and d.national_number_pattern]


def _applies(desc: PhoneNumberDesc, length: int) -> bool:
    """``_is_number_matching_desc``'s length test: no lengths listed means any length."""
    lengths = desc.possible_length
    return len(lengths) == 0 or length in lengths


@dataclass(slots=True)
class _RegionPlan:
    """One region's validity test, compiled from its metadata."""

    code: str
    metadata: PhoneMetadata
    #: ``is_valid_number_for_region``'s guard: the region really has this calling code.
    has_calling_code: bool
    #: ``leading_digits``: the national numbers that belong to this region of a shared
    #: calling code, without looking at the number types.
    leading: re.Pattern[str] | None
    general: re.Pattern[str] | None
    types: list[PhoneNumberDesc]
    #: Per national-number length: the alternation of the types that admit it (None: none).
    _by_length: dict[int, re.Pattern[str] | None] = field(default_factory=dict)

    def has_number(self, nsn: str) -> bool:
        """``_number_type_helper(nsn, metadata) != UNKNOWN``."""
        length = len(nsn)
        general_desc = self.metadata.general_desc
        if self.general is None or general_desc is None or not _applies(general_desc, length):
            return False
        if self.general.fullmatch(nsn) is None:
            return False
        try:
            types = self._by_length[length]
        except KeyError:
            types = self._by_length[length] = self._compile_types(length)
        return types is not None and types.fullmatch(nsn) is not None

    def _compile_types(self, length: int) -> re.Pattern[str] | None:
        # fullmatch of (?:A)|(?:B) is fullmatch of A or of B: the engine backtracks into
        # the next alternative when one cannot end at the end of the string.
        patterns = [d.national_number_pattern for d in self.types if _applies(d, length)]
        if not patterns:
            return None
        return re.compile("|".join(f"(?:{p})" for p in patterns))


@dataclass(slots=True)
class _CallingCodePlan:
    """Everything about one calling code that the verdict needs."""

    #: ``parse``'s national prefix for parsing (of the code's main region); a number
    #: whose national part it matches goes to ``phonenumbers``.
    national_prefix: re.Pattern[str] | None
    #: ``is_possible_number``: the main region's general lengths, local-only ones too
    #: (None: no metadata, ask ``phonenumbers``).
    possible_lengths: frozenset[int] | None
    regions: list[_RegionPlan]
    #: More than one region has this code (1: US, CA, JM ...; 44: GB, GG, IM, JE).
    shared: bool

    def region_of(self, nsn: str) -> _RegionPlan | None:
        """``region_code_for_number``'s region: the only one, or the first whose leading
        digits (else whose plan) the number matches."""
        if not self.shared:
            return self.regions[0] if self.regions else None
        for region in self.regions:
            if region.leading is not None:
                if region.leading.match(nsn) is not None:
                    return region
            elif region.has_number(nsn):
                return region
        return None


def _compile(pattern: str | None) -> re.Pattern[str] | None:
    return re.compile(pattern) if pattern else None


def _build(code: int) -> _CallingCodePlan:
    region_codes = COUNTRY_CODE_TO_REGION_CODE[code]
    main = PhoneMetadata.metadata_for_region_or_calling_code(code, region_codes[0])
    regions = []
    for region_code in region_codes:
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(code, region_code)
        if metadata is None:
            continue  # skipped by region_code_for_number too, and never valid
        regions.append(
            _RegionPlan(
                code=region_code,
                metadata=metadata,
                has_calling_code=region_code == NON_GEO_REGION
                or phonenumbers.country_code_for_valid_region(region_code) == code,
                leading=_compile(metadata.leading_digits),
                general=_compile(
                    metadata.general_desc.national_number_pattern if metadata.general_desc else None
                ),
                types=_type_descs(metadata),
            )
        )
    national_prefix = None
    possible_lengths = None
    if main is not None:
        national_prefix = _compile(main.national_prefix_for_parsing)
        general = main.general_desc
        if general is not None and general.possible_length:
            # _test_number_length: possible = the length is a local-only one, or one of
            # the (sorted) possible lengths; -1 ("none") is never a number's length.
            possible_lengths = frozenset(general.possible_length) | frozenset(
                general.possible_length_local_only
            )
    return _CallingCodePlan(
        national_prefix, possible_lengths, regions, shared=len(region_codes) > 1
    )


#: Filled lazily. Two threads building the same code at once each compile it and one
#: result stays: both are equal, so no lock is needed.
_PLANS: dict[str, _CallingCodePlan] = {}


def _plan(code: str) -> _CallingCodePlan:
    """The compiled plan of calling code ``code``, built the first time it is asked for
    (all ~215 codes take under 0.1 s, libphonenumber's metadata loading included; the
    per-length type patterns are compiled when a length is first seen)."""
    try:
        return _PLANS[code]
    except KeyError:
        plan = _PLANS[code] = _build(int(code))
        return plan


def _reference(digits: str) -> str | None:
    """``phonenumbers``' own answer, for the inputs the short road does not cover."""
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.region_code_for_number(number)


def _reference_possible(digits: str) -> bool:
    try:
        number = phonenumbers.parse("+" + digits)
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_possible_number(number))


def _split(digits: str) -> tuple[_CallingCodePlan, str] | None:
    """(plan of the calling code, national significant number) as ``parse`` would find
    them, or None when ``parse`` has to decide (see the module docstring). Raises
    ``LookupError`` when there is no calling code (``parse``: INVALID_COUNTRY_CODE)."""
    if len(digits) < _MIN_FAST_DIGITS:
        return None
    for size in (1, 2, 3):
        code = digits[:size]
        if code in _CALLING_CODES:
            break
    else:
        raise LookupError(digits)
    nsn = digits[size:]
    plan = _plan(code)
    if len(nsn) < 2 or (plan.national_prefix is not None and plan.national_prefix.match(nsn)):
        # parse may strip a national prefix here (+33 0612...): its rules (carrier
        # codes, transform rules, a length test) are its own, so it decides.
        return None
    return plan, nsn


def valid_region(digits: str) -> str | None:
    """The region of ``+digits`` if libphonenumber says it is a valid number, else None.

    ``digits`` are E.164 digits without '+' (``[1-9][0-9]{0,14}``; the caller checks
    the form). The region is an ISO 3166-1 alpha-2 code, or ``"001"`` for a
    non-geographic calling code; it is ``phonenumbers.region_code_for_number``'s.
    """
    try:
        split = _split(digits)
    except LookupError:
        return None
    if split is None:
        return _reference(digits)
    plan, nsn = split
    region = plan.region_of(nsn)
    if region is None or not region.has_calling_code or not region.has_number(nsn):
        return None
    return region.code


def is_valid(digits: str) -> bool:
    """``phonenumbers.is_valid_number(phonenumbers.parse("+" + digits))``, parse errors
    being False."""
    return valid_region(digits) is not None


def is_possible(digits: str) -> bool:
    """``phonenumbers.is_possible_number(phonenumbers.parse("+" + digits))``, parse
    errors being False: a length the calling code's main region allows."""
    try:
        split = _split(digits)
    except LookupError:
        return False
    if split is None or split[0].possible_lengths is None:
        return _reference_possible(digits)
    plan, nsn = split
    assert plan.possible_lengths is not None
    return len(nsn) in plan.possible_lengths


__all__ = ["NON_GEO_REGION", "is_possible", "is_valid", "valid_region"]
