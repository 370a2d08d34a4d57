"""Senders: the TON:ADDR notation, the NPI default, removal matching on TON and address."""

from __future__ import annotations

import pytest

from gateway import admin
from gateway.admin import inputs
from ledger.models import Sender
from ledger.store import Store


@pytest.mark.parametrize(
    ("ton", "npi"),
    [(1, 1), (2, 1), (3, 0), (5, 0), (0, 0)],
)
def test_the_npi_defaults_by_ton(ton: int, npi: int) -> None:
    assert inputs.sender(ton, "123") == Sender(ton, npi, "123")


def test_an_explicit_npi_wins() -> None:
    assert inputs.sender(1, "33612345678", 9) == Sender(1, 9, "33612345678")
    assert inputs.sender(5, "Shop", 0) == Sender(5, 0, "Shop")


@pytest.mark.parametrize(
    ("text", "sender"),
    [
        ("5:MyShop", Sender(5, 0, "MyShop")),
        ("1:33612345678", Sender(1, 1, "33612345678")),
        ("3:12345", Sender(3, 0, "12345")),
        ("1:9:33612345678", Sender(1, 9, "33612345678")),
    ],
)
def test_parse_sender(text: str, sender: Sender) -> None:
    assert inputs.parse_sender(text) == sender


@pytest.mark.parametrize("bad", ["MyShop", "x:MyShop", "5:", "1:2:3:4", "1:x:123"])
def test_a_malformed_sender_is_invalid_input(bad: str) -> None:
    with pytest.raises(admin.InvalidInput, match="a sender is TON:ADDR"):
        inputs.parse_sender(bad)


async def test_add_sender(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    account = await admin.add_sender(store, "smpp-shop", inputs.parse_sender("5:MyShop"))
    assert account.senders == (Sender(5, 0, "MyShop"),)
    again = await admin.add_sender(store, "smpp-shop", inputs.parse_sender("5:MyShop"))
    assert again.senders == account.senders


async def test_the_ledger_rule_on_senders_is_invalid_input(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    with pytest.raises(admin.InvalidInput, match="TON must be 1, 3 or 5"):
        await admin.add_sender(store, "smpp-shop", inputs.parse_sender("2:123"))


async def test_remove_matches_on_ton_and_address_whatever_the_npi(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    await admin.add_sender(store, "smpp-shop", inputs.parse_sender("1:9:33612345678"))
    await admin.add_sender(store, "smpp-shop", inputs.parse_sender("5:MyShop"))
    # Written without its NPI (so with the default, 1): still the registered sender.
    account = await admin.remove_sender(store, "smpp-shop", inputs.parse_sender("1:33612345678"))
    assert account.senders == (Sender(5, 0, "MyShop"),)


async def test_remove_a_sender_that_is_not_there(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    await admin.add_sender(store, "smpp-shop", inputs.parse_sender("5:MyShop"))
    with pytest.raises(admin.InvalidInput, match="is not a sender"):
        await admin.remove_sender(store, "smpp-shop", inputs.parse_sender("5:Other"))
    with pytest.raises(admin.InvalidInput, match="is not a sender"):
        await admin.remove_sender(store, "smpp-shop", inputs.parse_sender("3:MyShop"))
    assert (await admin.show_account(store, "smpp-shop")).senders == (Sender(5, 0, "MyShop"),)


async def test_sender_actions_name_an_unknown_account(store: Store) -> None:
    with pytest.raises(admin.AccountNotFound, match="smpp-x"):
        await admin.add_sender(store, "smpp-x", inputs.parse_sender("5:Shop"))
    with pytest.raises(admin.AccountNotFound, match="smpp-x"):
        await admin.remove_sender(store, "smpp-x", inputs.parse_sender("5:Shop"))
