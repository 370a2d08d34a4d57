"""Generate the default tariff, config/tariff.csv, from libphonenumber's country code table.

Dev tool, not shipped code: run it once when the defaults change and commit the CSV
(``.venv/bin/python tools/make_tariff.py > config/tariff.csv``). The CSV is the shipped data;
operators edit it, never this script.

Coverage: one row for every country calling code in ``phonenumbers.COUNTRY_CODE_TO_REGION_CODE``
(geographic and non-geographic), plus longer prefixes where one code is shared by several
regions and libphonenumber names the leading digits of a region as a plain list of digits
(NANP area codes such as 1876 Jamaica, 77 Kazakhstan, 35818 Aland) for a region other than
the code's main one. Outside NANP those rows only make the ``country`` column precise; they
carry the same price as their code.

Prices are defaults per ITU-T E.164 world numbering zone (the first digit of the country
code), with the operator's documented examples as overrides: France 33 = 1.0 credit,
UK 44 = 0.5, India 91 = 0.1. They are placeholders an operator replaces with real prices.
"""

from __future__ import annotations

import csv
import re
import sys
from datetime import UTC, datetime
from typing import TextIO

import phonenumbers

#: Credits per segment by E.164 world zone (first digit of the country code).
ZONE_CREDITS: dict[str, tuple[str, str]] = {
    "1": ("0.5", "zone 1 default (NANP: US and Canada)"),
    "2": ("1.5", "zone 2 default (Africa; also GL FO AW)"),
    "3": ("1.0", "zone 3 default (Europe)"),
    "4": ("1.0", "zone 4 default (Europe)"),
    "5": ("1.0", "zone 5 default (Central and South America)"),
    "6": ("1.0", "zone 6 default (Oceania and South-East Asia)"),
    "7": ("1.5", "zone 7 default (Russia and Kazakhstan)"),
    "8": ("1.0", "zone 8 default (East Asia)"),
    "9": ("1.0", "zone 9 default (Middle East; South and Central Asia)"),
}
#: NANP area codes outside the US and Canada (Caribbean, Pacific territories) terminate
#: at international rather than domestic North American prices.
NANP_OTHER = ("1.2", "NANP outside US/Canada default")
#: Non-geographic codes (region "001"): freephone, satellite (Inmarsat, Iridium), networks.
NON_GEOGRAPHIC = ("3.0", "non-geographic default (freephone; satellite; networks)")
#: The operator's published examples (see docs/pricing.md).
OVERRIDES: dict[str, tuple[str, str]] = {
    "33": ("1.0", "France (operator example: 1 credit = one 160-char SMS)"),
    "44": ("0.5", "United Kingdom (operator example)"),
    "91": ("0.1", "India (operator example)"),
}


def _expand(pattern: str) -> list[str] | None:
    """The digit strings a leading-digits pattern like ``658|876`` or ``8[024]9`` stands for.

    Only alternations of digits and ``[...]`` classes are expanded; anything fancier
    (groups, quantifiers) returns None and the region keeps its country code's row.
    """
    out: list[str] = []
    for alt in pattern.split("|"):
        parts = re.findall(r"\[([0-9-]+)\]|([0-9])|(.)", alt)
        prefixes = [""]
        for cls, digit, other in parts:
            if other:
                return None
            if digit:
                choices = [digit]
            else:
                choices = []
                for lo, hi in re.findall(r"([0-9])(?:-([0-9]))?", cls):
                    choices += [str(d) for d in range(int(lo), int(hi or lo) + 1)]
            prefixes = [p + c for p in prefixes for c in choices]
        out += prefixes
    return out


def rows() -> list[tuple[str, str, str, str]]:
    """(prefix, country, credits, comment) for every country code, sorted by prefix."""
    out: dict[str, tuple[str, str, str, str]] = {}
    for code, regions in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.items():
        cc = str(code)
        if cc in OVERRIDES:
            credits, comment = OVERRIDES[cc]
        elif regions == ("001",):
            credits, comment = NON_GEOGRAPHIC
        else:
            credits, comment = ZONE_CREDITS[cc[0]]
        out[cc] = (cc, " ".join(regions), credits, comment)
        if len(regions) == 1:
            continue
        for region in regions[1:]:  # the first is the code's main region: its row is cc
            meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
            pattern = meta.leading_digits if meta is not None else None
            expanded = _expand(pattern) if pattern else None
            if not expanded:
                continue
            for digits in expanded:
                if cc == "1" and len(digits) != 3:
                    continue  # only whole NANP area codes
                sub_credits, sub_comment = (
                    NANP_OTHER if cc == "1" else (credits, f"{region} part of +{cc}; {comment}")
                )
                out[cc + digits] = (cc + digits, region, sub_credits, sub_comment)
    return sorted(out.values())


def write(stream: TextIO) -> None:
    """Write the whole CSV, header comment included."""
    version = getattr(phonenumbers, "__version__", "?")
    stream.write(
        "# smppgw default tariff: credits per SMS segment by destination prefix.\n"
        "# THESE ARE DEFAULTS FOR AN OPERATOR TO EDIT, not real prices. France 33 = 1.0,\n"
        "# UK 44 = 0.5 and India 91 = 0.1 are the operator's published examples; every other\n"
        "# country calling code gets a default by E.164 world zone (see docs/pricing.md).\n"
        "# Longest prefix wins: add rows like 447 (UK mobile) or 1876 (Jamaica) to refine.\n"
        f"# Generated by tools/make_tariff.py from phonenumbers {version} on "
        f"{datetime.now(UTC):%Y-%m-%d}.\n"
        "prefix,country,credits,comment\n"
    )
    # csv quotes any comment holding a comma; the tariff loader reads it back the same.
    csv.writer(stream, lineterminator="\n").writerows(rows())


if __name__ == "__main__":
    write(sys.stdout)
