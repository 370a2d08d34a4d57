"""The tariff action: all rates, by prefix, by number; unusable files and unknown numbers."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import admin
from gateway.policy.tariff import Rate

TARIFF = "prefix,country,credits\n33,FR,1.0\n44,GB,0.5\n447,GB mobile,0.6\n91,IN,0.1\n"


@pytest.fixture
def tariff(tmp_path: Path) -> Path:
    path = tmp_path / "tariff.csv"
    path.write_text(TARIFF)
    return path


def test_every_rate_ordered_by_prefix(tariff: Path) -> None:
    shown = admin.show_tariff(tariff)
    assert shown.source == str(tariff)
    assert [r.prefix for r in shown.rates] == ["33", "44", "447", "91"]


def test_by_prefix(tariff: Path) -> None:
    shown = admin.show_tariff(tariff, prefix="44")
    assert shown.rates == (Rate("44", "GB", 500), Rate("447", "GB mobile", 600))
    assert admin.show_tariff(tariff, prefix="1").rates == ()


@pytest.mark.parametrize("number", ["+447700900123", "447700900123"])
def test_by_number_the_longest_prefix(tariff: Path, number: str) -> None:
    assert admin.show_tariff(tariff, number=number).rates == (Rate("447", "GB mobile", 600),)


def test_a_number_without_a_rate_is_not_found(tariff: Path) -> None:
    with pytest.raises(admin.NotFound) as caught:
        admin.show_tariff(tariff, number="1555")
    assert str(caught.value) == f"no rate for 1555 in {tariff}"


def test_prefix_and_number_together_are_invalid_input(tariff: Path) -> None:
    with pytest.raises(admin.InvalidInput):
        admin.show_tariff(tariff, prefix="4", number="447700900123")


def test_a_broken_or_missing_file_is_unavailable(tmp_path: Path, tariff: Path) -> None:
    tariff.write_text("prefix,country,credits\n33,FR,cheap\n")
    with pytest.raises(admin.Unavailable, match=f"^{tariff}:2: "):
        admin.show_tariff(tariff)
    with pytest.raises(admin.Unavailable, match="cannot read the file"):
        admin.show_tariff(tmp_path / "absent.csv")
