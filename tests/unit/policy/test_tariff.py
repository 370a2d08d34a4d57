"""Tariff loading (every error names file and line) and longest-prefix lookup."""

from __future__ import annotations

from pathlib import Path

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.policy.tariff import Rate, Tariff, TariffError

REPO = Path(__file__).resolve().parents[3]
DEFAULT_TARIFF = REPO / "config" / "tariff.csv"

HEADER = "prefix,country,credits,comment\n"


def write(tmp_path: Path, text: str, name: str = "tariff.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_reads_rates_exactly_in_milli_credits(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "# a comment\n\n"
        + HEADER
        + "33,FR,1.0,France\n44,GB,0.5\n91,IN,0.1,\n447,GB,0.035,mobile\n",
    )
    tariff = Tariff.load(path)
    assert len(tariff) == 4
    assert [(r.prefix, r.milli) for r in tariff] == [
        ("33", 1000),
        ("44", 500),
        ("447", 35),
        ("91", 100),
    ]
    assert tariff.source == str(path)


def test_quoted_comment_with_comma_and_bom_and_crlf(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(
        b"\xef\xbb\xbf" + b'prefix,country,credits,comment\r\n1,US CA,0.5,"NANP, default"\r\n'
    )
    tariff = Tariff.load(path)
    assert tariff.rate_for("12025550123") == Rate("1", "US CA", 500)


def test_header_is_case_insensitive_and_comment_column_optional(tmp_path: Path) -> None:
    tariff = Tariff.load(write(tmp_path, "Prefix,Country,Credits\n33,FR,1\n"))
    assert tariff.rate_for("33612345678") == Rate("33", "FR", 1000)


@pytest.mark.parametrize(
    ("number", "prefix"),
    [
        ("12025550123", "1"),  # NANP default
        ("18765551234", "1876"),  # Jamaica beats NANP
        ("441234567890", "44"),
        ("447911123456", "447"),  # UK mobile beats UK
        ("447624123456", "447624"),  # Isle of Man mobile beats UK mobile
        ("33612345678", "33"),
        ("4", None),
        ("", None),
        ("999999", None),
    ],
)
def test_longest_prefix_wins(number: str, prefix: str | None) -> None:
    tariff = Tariff(
        [
            Rate("1", "US", 500),
            Rate("1876", "JM", 1200),
            Rate("44", "GB", 500),
            Rate("447", "GB", 600),
            Rate("447624", "IM", 900),
            Rate("33", "FR", 1000),
        ]
    )
    rate = tariff.rate_for(number)
    assert (rate.prefix if rate else None) == prefix


@given(
    prefixes=st.sets(st.from_regex(r"[1-9][0-9]{0,5}", fullmatch=True), min_size=1, max_size=40),
    number=st.from_regex(r"[1-9][0-9]{0,14}", fullmatch=True),
)
def test_lookup_matches_a_linear_scan(prefixes: set[str], number: str) -> None:
    tariff = Tariff(Rate(p, "XX", len(p)) for p in prefixes)
    matching = [p for p in prefixes if number.startswith(p)]
    expected = max(matching, key=len) if matching else None
    rate = tariff.rate_for(number)
    assert (rate.prefix if rate else None) == expected


@pytest.mark.parametrize(
    ("body", "line", "problem"),
    [
        (HEADER + "33,FR,1.0\n33,FR,2.0\n", 3, "duplicate prefix 33 (first on line 2)"),
        (HEADER + "33a,FR,1.0\n", 2, "prefix '33a' must be 1 to 15 digits"),
        (HEADER + "+33,FR,1.0\n", 2, "prefix '+33' must be"),
        (HEADER + "033,FR,1.0\n", 2, "not starting with 0"),
        (HEADER + ",FR,1.0\n", 2, "prefix '' must be"),
        (HEADER + "1234567890123456,XX,1\n", 2, "prefix '1234567890123456' must be"),
        (HEADER + "33,FR,-1.0\n", 2, "negative credits '-1.0'"),
        (HEADER + "33,FR,abc\n", 2, "credits 'abc' is not a decimal number"),
        (HEADER + "33,FR,1e3\n", 2, "credits '1e3' is not a decimal number"),
        (HEADER + "33,FR,NaN\n", 2, "credits 'NaN' is not a decimal number"),
        (HEADER + "33,FR,\n", 2, "credits '' is not a decimal number"),
        (HEADER + "33,FR,1.\n", 2, "credits '1.' is not a decimal number"),
        (HEADER + "33,FR,0.0001\n", 2, "not a whole number of milli-credits"),
        (HEADER + "33,FR\n", 2, "expected 3 or 4 fields"),
        (HEADER + "33,FR,1,a,b\n", 2, "expected 3 or 4 fields"),
        (HEADER + '33,FR,1,"open\n', 2, "malformed CSV"),
        ("# c\n33,FR,1.0\n", 2, "expected the header line"),
        ("country,prefix,credits\n33,FR,1\n", 1, "expected the header line"),
        ("# only comments\n" + HEADER, 2, "no rates in the file"),
    ],
)
def test_errors_name_file_line_and_problem(
    tmp_path: Path, body: str, line: int, problem: str
) -> None:
    path = write(tmp_path, body, name="rates-under-test.csv")
    with pytest.raises(TariffError) as info:
        Tariff.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: ")
    assert problem in message
    assert info.value.line == line
    assert info.value.path == str(path)


def test_empty_file_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "")
    with pytest.raises(TariffError, match=r"tariff\.csv: no rates in the file"):
        Tariff.load(path)


def test_unreadable_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.csv"
    with pytest.raises(TariffError) as info:
        Tariff.load(path)
    assert str(info.value).startswith(f"{path}: cannot read the file")
    assert info.value.line is None


def test_a_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(TariffError, match="cannot read the file"):
        Tariff.load(tmp_path)


def test_non_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes(HEADER.encode() + b"33,FR,1.0\n44,GB,0.5,Royaume-Uni \xe9\n")
    with pytest.raises(TariffError, match=r"latin1\.csv:3: not UTF-8 text"):
        Tariff.load(path)


@pytest.mark.parametrize(
    ("rates", "message"),
    [
        ([Rate("33", "FR", 1), Rate("33", "FR", 2)], "duplicate prefix 33"),
        ([Rate("x", "FR", 1)], "bad prefix"),
        ([Rate("33", "FR", -1)], "negative rate"),
    ],
)
def test_in_memory_tariff_checks_rates(rates: list[Rate], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Tariff(rates)


# ---------------------------------------------------------------------------------------
# The shipped default tariff


@pytest.fixture(scope="module")
def default_tariff() -> Tariff:
    return Tariff.load(DEFAULT_TARIFF)


def test_default_tariff_covers_every_country_calling_code(default_tariff: Tariff) -> None:
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        rate = default_tariff.rate_for(str(code))
        assert rate is not None, code
        assert rate.prefix == str(code)
        assert rate.milli > 0


@pytest.mark.parametrize(
    ("number", "milli", "country"),
    [
        ("33612345678", 1000, "FR"),
        ("447911123456", 500, "GB GG IM JE"),
        ("919876543210", 100, "IN"),
        ("18765551234", 1200, "JM"),
        (
            "12025550123",
            500,
            "US AG AI AS BB BM BS CA DM DO GD GU JM KN KY LC MP MS PR SX TC TT VC VG VI",
        ),
        ("77011234567", 1500, "KZ"),
    ],
)
def test_default_tariff_operator_examples(
    default_tariff: Tariff, number: str, milli: int, country: str
) -> None:
    rate = default_tariff.rate_for(number)
    assert rate is not None
    assert (rate.milli, rate.country) == (milli, country)


def test_default_tariff_says_it_is_a_default() -> None:
    head = DEFAULT_TARIFF.read_text(encoding="utf-8")[:600]
    assert "DEFAULTS FOR AN OPERATOR TO EDIT" in head
