"""Auto-recharge: the ledger's amount rule, worded for the operator; other refusals."""

from __future__ import annotations

import pytest

from gateway import admin
from ledger.models import RechargePolicy
from ledger.store import Store

ALLOWED = "choose one of 100, 200, 250, 500, 1000, 5000, 10000 credits"


async def test_set_and_turn_off(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    account = await admin.set_recharge(
        store, "smpp-shop", threshold=500, amount=1_000_000, daily_cap=3
    )
    assert account.recharge == RechargePolicy(500, 1_000_000, 3)
    assert (await admin.show_account(store, "smpp-shop")).recharge == account.recharge
    account = await admin.set_recharge(store, "smpp-shop", threshold=10_000, amount=250_000)
    assert account.recharge == RechargePolicy(10_000, 250_000, 1)
    assert (await admin.recharge_off(store, "smpp-shop")).recharge is None


@pytest.mark.parametrize(("milli", "shown"), [(300_000, "300"), (100_500, "100.5"), (0, "0")])
async def test_an_amount_not_allowed_lists_the_allowed_ones(
    store: Store, milli: int, shown: str
) -> None:
    await admin.create_account(store, "smpp-shop")
    with pytest.raises(admin.RechargeAmountNotAllowed) as caught:
        await admin.set_recharge(store, "smpp-shop", threshold=10_000, amount=milli)
    assert isinstance(caught.value, admin.Refused)
    assert str(caught.value) == f"recharge amount {shown} is not allowed: {ALLOWED}"
    assert caught.value.allowed == (100, 200, 250, 500, 1000, 5000, 10000)
    assert (await admin.show_account(store, "smpp-shop")).recharge is None


async def test_the_amount_is_judged_before_the_account_is_looked_up(store: Store) -> None:
    with pytest.raises(admin.RechargeAmountNotAllowed):
        await admin.set_recharge(store, "smpp-x", threshold=0, amount=300_000)
    with pytest.raises(admin.AccountNotFound):
        await admin.set_recharge(store, "smpp-x", threshold=0, amount=250_000)
    with pytest.raises(admin.AccountNotFound):
        await admin.recharge_off(store, "smpp-x")


@pytest.mark.parametrize(
    ("threshold", "daily_cap", "message"),
    [(-1, 1, "threshold must be >= 0"), (0, 0, "daily cap must be at least 1")],
)
async def test_other_policy_faults_are_invalid_input_not_the_amount_message(
    store: Store, threshold: int, daily_cap: int, message: str
) -> None:
    await admin.create_account(store, "smpp-shop")
    with pytest.raises(admin.InvalidInput, match=message):
        await admin.set_recharge(
            store, "smpp-shop", threshold=threshold, amount=250_000, daily_cap=daily_cap
        )
    assert (await admin.show_account(store, "smpp-shop")).recharge is None
