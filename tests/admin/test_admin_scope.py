"""Owner scoping on both stores: another owner's account is refused as unknown, unchanged."""

from __future__ import annotations

import pytest

from gateway import admin
from gateway.admin import Scope
from ledger.models import Sender
from ledger.store import Store

SHOP = Scope("Shop Ltd")


async def _two_owners(store: Store) -> None:
    await admin.create_account(store, "smpp-shop", password="pw", owner="Shop Ltd")
    await admin.create_account(store, "smpp-shop2", password="pw", owner="Shop Ltd")
    await admin.create_account(
        store, "smpp-bank", password="pw", owner="Bank", contact_email="it@bank.example"
    )
    await admin.add_credit(store, "smpp-bank", 5_000, key="seed")


async def test_an_owner_sees_only_its_accounts(store: Store) -> None:
    await _two_owners(store)
    listed = await admin.list_accounts(store, scope=SHOP)
    assert [a.system_id for a in listed] == ["smpp-shop", "smpp-shop2"]
    assert len(await admin.list_accounts(store)) == 3
    assert (await admin.show_account(store, "smpp-shop", scope=SHOP)).owner == "Shop Ltd"
    details = await admin.account_details(store, "smpp-shop", scope=SHOP)
    assert (details.account.system_id, details.binds) == ("smpp-shop", ())


async def test_a_foreign_account_is_not_found_and_unchanged(store: Store) -> None:
    await _two_owners(store)
    before = await store.get_account("smpp-bank")
    sender = Sender(5, 0, "Bank")
    attempts = [
        admin.show_account(store, "smpp-bank", scope=SHOP),
        admin.account_details(store, "smpp-bank", scope=SHOP),
        admin.statement(store, "smpp-bank", scope=SHOP),
        admin.allow_ip(store, "smpp-bank", "192.0.2.1", scope=SHOP),
        admin.deny_ip(store, "smpp-bank", "192.0.2.1", scope=SHOP),
        admin.add_sender(store, "smpp-bank", sender, scope=SHOP),
        admin.remove_sender(store, "smpp-bank", sender, scope=SHOP),
        admin.set_recharge(store, "smpp-bank", threshold=0, amount=100_000, scope=SHOP),
        admin.recharge_off(store, "smpp-bank", scope=SHOP),
        admin.reset_password(store, "smpp-bank", None, print_password=True, scope=SHOP),
    ]
    for attempt in attempts:
        with pytest.raises(admin.AccountNotFound) as refused:
            await attempt
        # The same words as for an account that does not exist: nothing leaks.
        assert str(refused.value) == "account smpp-bank: no such account"
    assert await store.get_account("smpp-bank") == before
    assert len(await store.journal("smpp-bank")) == 1


async def test_the_admin_scope_sees_everything(store: Store) -> None:
    await _two_owners(store)
    assert admin.ADMIN.is_admin and admin.ADMIN.sees(await store.get_account("smpp-bank"))
    with pytest.raises(admin.Forbidden, match="needs an admin token"):
        SHOP.require_admin("listing tokens")
    admin.ADMIN.require_admin("listing tokens")


async def test_statement_pages(store: Store) -> None:
    await admin.create_account(store, "smpp-shop", password="pw", owner="Shop Ltd")
    for i in range(5):
        await admin.add_credit(store, "smpp-shop", 1000, key=f"k{i}")
    first = await admin.statement(store, "smpp-shop", limit=2, scope=SHOP)
    assert [e.idempotency_key for e in first.entries] == ["k4", "k3"]
    assert first.next_before == first.entries[-1].id
    second = await admin.statement(store, "smpp-shop", limit=2, before=first.next_before)
    assert [e.idempotency_key for e in second.entries] == ["k2", "k1"]
    last = await admin.statement(store, "smpp-shop", limit=2, before=second.next_before)
    assert [e.idempotency_key for e in last.entries] == ["k0"]
    assert last.next_before is None
