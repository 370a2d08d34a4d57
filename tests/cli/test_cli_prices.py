"""``smppgw tariff packs``: what packs of credits cost per credit ([pricing] price_list)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import ConfigError, load_config
from gateway.policy.price_list import PriceListError, load_price_list
from tests.cli.test_cli import Cli, config_path, refused, smppgw

__all__ = ["config_path", "smppgw"]

PRICES = "# packs sold\ncredits,price,currency\n1000,80.00,EUR\n100,9.00,EUR\n\n250,21,EUR\n"


def with_prices(config_path: Path, text: str = PRICES) -> None:
    (config_path.parent / "prices.csv").write_text(text)
    config_path.write_text(config_path.read_text() + '[pricing]\nprice_list = "prices.csv"\n')


def test_packs_are_listed_smallest_first_with_their_price_per_credit(
    smppgw: Cli, config_path: Path
) -> None:
    with_prices(config_path)
    result = smppgw("tariff", "packs")
    assert (result.code, result.err) == (0, "")
    assert result.out.splitlines() == [
        "CREDITS      PRICE  PER CREDIT",
        "    100   9.00 EUR  0.0900 EUR",
        "    250     21 EUR  0.0840 EUR",
        "   1000  80.00 EUR  0.0800 EUR",
    ]
    data = smppgw("tariff", "packs", "--json").json()
    assert data["source"].endswith("prices.csv")
    assert data["packs"][0] == {
        "credits": 100,
        "price": "9.00",
        "currency": "EUR",
        "per_credit": "0.0900",
    }


def test_without_a_price_list_it_says_how_to_set_one(smppgw: Cli) -> None:
    line = refused(smppgw("tariff", "packs"))
    assert "no price list: set [pricing] price_list" in line


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("price,credits,currency\n9,100,EUR\n", "prices.csv:1: expected the header"),
        ("credits,price,currency\n100,nine,EUR\n", "prices.csv:2: price: a decimal amount"),
        ("credits,price,currency\n100,0,EUR\n", "price: a decimal amount above 0"),
        ("credits,price,currency\n1.5,9,EUR\n", "credits: a whole number above 0"),
        ("credits,price,currency\n100,9,euro\n", "currency: an ISO 4217 code"),
        ("credits,price,currency\n100,9,EUR\n100,8,EUR\n", "prices.csv:3: a pack of 100"),
        ("credits,price,currency\n100,9,EUR\n200,8,USD\n", "one currency only, got EUR, USD"),
        ("credits,price,currency\n", "no packs"),
        ("credits,price,currency\n100,9\n", "expected 3 fields, got 2"),
    ],
)
def test_a_broken_price_list_is_one_line(
    smppgw: Cli, config_path: Path, text: str, problem: str
) -> None:
    with_prices(config_path, text)
    assert problem in refused(smppgw("tariff", "packs"))
    with pytest.raises(PriceListError, match=problem.split(": ", 1)[-1].split(":")[0]):
        load_price_list(config_path.parent / "prices.csv")


def test_a_missing_price_list_file_is_a_config_error(config_path: Path) -> None:
    config_path.write_text(config_path.read_text() + '[pricing]\nprice_list = "nope.csv"\n')
    with pytest.raises(ConfigError, match="price_list"):
        load_config(config_path)
