"""Account actions on both stores: results, passwords, typed errors."""

from __future__ import annotations

import pytest

from gateway import admin
from gateway.admin import views
from ledger.models import AccountStatus, Sender
from ledger.passwords import verify_password
from ledger.store import Store


async def test_create_with_a_generated_password_returns_it_once(store: Store) -> None:
    created = await admin.create_account(store, "smpp-shop", owner="Shop Ltd")
    assert created.password is not None
    assert len(created.password) == 8
    assert created.account.system_id == "smpp-shop"
    assert created.account.status is AccountStatus.ACTIVE
    assert created.account.balance == 0
    # Only the hash is kept; the plaintext is in the result and nowhere else.
    stored = await admin.show_account(store, "smpp-shop")
    assert verify_password(created.password, stored.password_hash)
    assert created.password not in stored.password_hash
    assert created.password not in repr(created)
    assert created.password not in str(views.account_view(stored))


async def test_create_with_a_given_password_does_not_echo_it(store: Store) -> None:
    created = await admin.create_account(
        store,
        "smpp-shop",
        password="s3cret",
        contact_email="ops@shop.example",
        allowed_ips=["10.1.2.0/24", "192.0.2.7"],
        senders=[Sender(5, 0, "MyShop")],
        max_binds=4,
        throughput=50,
    )
    assert created.password is None
    account = created.account
    assert account.allowed_ips == ("10.1.2.0/24", "192.0.2.7/32")
    assert account.senders == (Sender(5, 0, "MyShop"),)
    assert (account.max_binds, account.throughput) == (4, 50)
    assert account.contact_email == "ops@shop.example"
    assert verify_password("s3cret", account.password_hash)


async def test_new_accounts_get_the_ledger_default_max_binds(store: Store) -> None:
    created = await admin.create_account(store, "smpp-shop")
    assert created.account.max_binds == admin.DEFAULT_MAX_BINDS == 2


@pytest.mark.parametrize("bad", ["", "123456789", "pass word", "pässwd"])
async def test_a_bad_password_is_invalid_input_and_writes_nothing(store: Store, bad: str) -> None:
    with pytest.raises(admin.InvalidInput, match="1 to 8 printable ASCII"):
        await admin.create_account(store, "smpp-shop", password=bad)
    assert await admin.list_accounts(store) == []


async def test_create_twice_is_a_conflict(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    with pytest.raises(admin.AccountTaken) as caught:
        await admin.create_account(store, "smpp-shop")
    assert isinstance(caught.value, admin.Conflict)
    assert str(caught.value) == "account smpp-shop: already exists"
    assert caught.value.system_id == "smpp-shop"


@pytest.mark.parametrize(
    ("system_id", "kwargs", "message"),
    [
        ("Shop", {}, "system_id 'Shop'"),
        ("smpp-b", {"contact_email": "nobody"}, "@"),
        ("smpp-b", {"allowed_ips": ["x"]}, "not an IP address or CIDR"),
        ("smpp-b", {"max_binds": 0}, "max_binds"),
        ("smpp-b", {"senders": [Sender(2, 1, "123")]}, "TON must be 1, 3 or 5"),
    ],
)
async def test_data_the_ledger_refuses_is_invalid_input(
    store: Store, system_id: str, kwargs: dict[str, object], message: str
) -> None:
    with pytest.raises(admin.InvalidInput, match=message):
        await admin.create_account(store, system_id, **kwargs)
    assert await admin.list_accounts(store) == []


async def test_show_and_list(store: Store) -> None:
    await admin.create_account(store, "smpp-b")
    await admin.create_account(store, "smpp-a", owner="Alpha")
    assert (await admin.show_account(store, "smpp-a")).owner == "Alpha"
    assert [a.system_id for a in await admin.list_accounts(store)] == ["smpp-a", "smpp-b"]


async def test_disable_and_enable(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    disabled = await admin.set_status(store, "smpp-shop", AccountStatus.DISABLED)
    assert disabled.status is AccountStatus.DISABLED
    assert (await admin.show_account(store, "smpp-shop")).status is AccountStatus.DISABLED
    enabled = await admin.set_status(store, "smpp-shop", AccountStatus.ACTIVE)
    assert enabled.status is AccountStatus.ACTIVE


async def test_allow_and_deny_ip(store: Store) -> None:
    await admin.create_account(store, "smpp-shop")
    await admin.allow_ip(store, "smpp-shop", "192.0.2.0/24")
    account = await admin.allow_ip(store, "smpp-shop", "2001:db8::1")
    assert account.allowed_ips == ("192.0.2.0/24", "2001:db8::1/128")
    account = await admin.deny_ip(store, "smpp-shop", "192.0.2.0/24")
    assert account.allowed_ips == ("2001:db8::1/128",)
    with pytest.raises(admin.InvalidInput, match="not on the allowlist"):
        await admin.deny_ip(store, "smpp-shop", "10.0.0.1")
    with pytest.raises(admin.InvalidInput, match="not an IP address"):
        await admin.allow_ip(store, "smpp-shop", "x")


async def test_password_regeneration(store: Store) -> None:
    await admin.create_account(store, "smpp-shop", password="first")
    change = await admin.set_password(store, "smpp-shop")
    assert change.system_id == "smpp-shop"
    assert change.password is not None and len(change.password) == 8
    assert change.password not in repr(change)
    stored = (await admin.show_account(store, "smpp-shop")).password_hash
    assert verify_password(change.password, stored)
    assert not verify_password("first", stored)
    again = await admin.set_password(store, "smpp-shop")
    assert again.password != change.password  # 55**8 passwords: a repeat means no randomness
    assert not verify_password(
        change.password, (await admin.show_account(store, "smpp-shop")).password_hash
    )


async def test_password_set_to_a_given_one(store: Store) -> None:
    await admin.create_account(store, "smpp-shop", password="first")
    change = await admin.set_password(store, "smpp-shop", "second")
    assert change.password is None
    assert verify_password("second", (await admin.show_account(store, "smpp-shop")).password_hash)
    with pytest.raises(admin.InvalidInput):
        await admin.set_password(store, "smpp-shop", "123456789")
    assert verify_password("second", (await admin.show_account(store, "smpp-shop")).password_hash)


async def test_every_account_action_names_an_unknown_account(store: Store) -> None:
    for call in (
        admin.show_account(store, "smpp-x"),
        admin.set_status(store, "smpp-x", AccountStatus.DISABLED),
        admin.allow_ip(store, "smpp-x", "10.0.0.1"),
        admin.deny_ip(store, "smpp-x", "10.0.0.1"),
        admin.set_password(store, "smpp-x"),
        admin.set_password(store, "smpp-x", "given"),
    ):
        with pytest.raises(admin.AccountNotFound) as caught:
            await call
        assert isinstance(caught.value, admin.NotFound)
        assert str(caught.value) == "account smpp-x: no such account"
        assert caught.value.system_id == "smpp-x"
