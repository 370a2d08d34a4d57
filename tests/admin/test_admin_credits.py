"""Credits: amounts as operators type them, idempotency keys, replay, the statement."""

from __future__ import annotations

import re

import pytest

from gateway import admin
from gateway.admin import inputs
from ledger.models import EntryKind
from ledger.store import Store


@pytest.mark.parametrize(
    ("text", "milli"),
    [("12.5", 12_500), ("0.1", 100), ("1000", 1_000_000), ("0.001", 1), ("7.", 7000)],
)
def test_credits_parse_exactly(text: str, milli: int) -> None:
    assert inputs.credits(text) == milli
    assert inputs.credits_or_zero(text) == milli


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0", "must be more than 0"),
        ("-1", "not a plain decimal"),
        ("-0", "not a plain decimal"),
        ("1e3", "not a plain decimal"),
        ("NaN", "not a whole number of milli-credits"),
        ("abc", "not a number of credits"),
        ("0.0001", "not a whole number of milli-credits"),
    ],
)
def test_amounts_that_are_not_money(text: str, message: str) -> None:
    with pytest.raises(admin.InvalidInput, match=message):
        inputs.credits(text)


def test_zero_is_a_threshold_but_not_an_amount() -> None:
    assert inputs.credits_or_zero("0") == 0
    with pytest.raises(admin.InvalidInput):
        inputs.credits("0")


async def test_credit_without_a_key_gets_a_fresh_one_each_time(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    first = await admin.add_credit(store, "smpp-shop", 1000)
    second = await admin.add_credit(store, "smpp-shop", 1000)
    uuid = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    assert re.fullmatch(f"cli:{uuid}", first.idempotency_key)
    assert re.fullmatch(f"cli:{uuid}", second.idempotency_key)
    assert first.idempotency_key != second.idempotency_key
    assert (first.kind, first.amount, first.balance_after) == (EntryKind.CREDIT, 1000, 1000)
    assert second.balance_after == 2000
    assert (await admin.show_account(store, "smpp-shop")).balance == 2000


async def test_the_origin_names_the_front_end_in_a_fresh_key(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    entry = await admin.add_credit(store, "smpp-shop", 500, origin="api")
    assert entry.idempotency_key.startswith("api:")


async def test_a_replayed_key_credits_once_and_returns_the_first_entry(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    first = await admin.add_credit(store, "smpp-shop", 5000, key="inv-7", note="invoice 7")
    again = await admin.add_credit(store, "smpp-shop", 5000, key="inv-7", note="invoice 7")
    assert again == first
    assert first.note == "invoice 7"
    assert (await admin.show_account(store, "smpp-shop")).balance == 5000
    assert len((await admin.statement(store, "smpp-shop")).entries) == 1


async def test_a_key_reused_for_another_amount_is_a_conflict(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    await admin.add_credit(store, "smpp-shop", 5000, key="retry-1")
    with pytest.raises(admin.KeyReused) as caught:
        await admin.add_credit(store, "smpp-shop", 6000, key="retry-1")
    assert isinstance(caught.value, admin.Conflict)
    assert caught.value.key == "retry-1"
    assert str(caught.value) == "key retry-1 was already used for a different operation"
    assert (await admin.show_account(store, "smpp-shop")).balance == 5000


async def test_statement_is_newest_first_and_limited(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    for amount in (100, 200, 300):
        await admin.add_credit(store, "smpp-shop", amount)
    shown = await admin.statement(store, "smpp-shop", limit=2)
    assert shown.account.balance == 600
    assert [e.amount for e in shown.entries] == [300, 200]
    everything = await admin.statement(store, "smpp-shop")
    assert [e.amount for e in everything.entries] == [300, 200, 100]
    assert admin.DEFAULT_STATEMENT_LIMIT == 20


async def test_credit_actions_name_an_unknown_account(store: Store) -> None:
    with pytest.raises(admin.AccountNotFound, match="account smpp-x: no such account"):
        await admin.add_credit(store, "smpp-x", 1000)
    with pytest.raises(admin.AccountNotFound, match="account smpp-x: no such account"):
        await admin.statement(store, "smpp-x")
