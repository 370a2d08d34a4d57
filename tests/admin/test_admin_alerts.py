"""Low-balance alert actions: set, show, clear; refusals and owner scoping."""

from __future__ import annotations

import pytest

from gateway import admin
from gateway.admin import views
from ledger.models import Category
from ledger.store import Store


async def test_set_show_clear(store: Store) -> None:
    await admin.create_account(store, "smpp-shop", contact_email="ops@shop.example")
    await admin.add_credit(store, "smpp-shop", 100_000)
    alert = await admin.set_alert(store, "smpp-shop", below=50_000)
    assert (alert.threshold, alert.armed, alert.category) == (50_000, True, None)
    shown = await admin.show_alerts(store, "smpp-shop")
    assert shown.alerts == (alert,)
    view = views.alerts_view(shown)
    assert view["contact_email"] == "ops@shop.example"
    assert [(a["below"], a["below_milli"], a["armed"]) for a in view["alerts"]] == [
        ("50", 50_000, True)
    ]
    done = await admin.clear_alert(store, "smpp-shop")
    assert views.alert_cleared_view(done) == {
        "system_id": "smpp-shop",
        "category": None,
        "cleared": True,
    }
    assert (await admin.clear_alert(store, "smpp-shop")).cleared is False
    assert (await admin.show_alerts(store, "smpp-shop")).alerts == ()


async def test_refusals(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    with pytest.raises(admin.AccountNotFound):
        await admin.set_alert(store, "smpp-none", below=1_000)
    with pytest.raises(admin.InvalidInput, match="above 0"):
        await admin.set_alert(store, "smpp-shop", below=0)
    with pytest.raises(admin.AmountLimit, match="alert threshold"):
        await admin.set_alert(store, "smpp-shop", below=2**62)
    assert (await admin.show_alerts(store, "smpp-shop")).alerts == ()
    # A package category is watched: its packages hold nothing yet, so it starts disarmed.
    alert = await admin.set_alert(store, "smpp-shop", below=1_000, category=Category.MARKETING)
    assert (alert.category, alert.armed) == ("marketing", False)


async def test_an_owner_sees_only_its_own_accounts(store: Store) -> None:
    await admin.create_account(store, "smpp-shop", owner="shop")
    await admin.create_account(store, "smpp-other", owner="other")
    shop = admin.Scope("shop")
    assert (await admin.set_alert(store, "smpp-shop", below=1_000, scope=shop)).armed is False
    for call in (
        admin.set_alert(store, "smpp-other", below=1_000, scope=shop),
        admin.show_alerts(store, "smpp-other", scope=shop),
        admin.clear_alert(store, "smpp-other", scope=shop),
    ):
        with pytest.raises(admin.AccountNotFound):
            await call
    assert await store.alerts("smpp-other") == []
