"""Contract: accounts and their validation, on every store."""

from __future__ import annotations

import pytest

from ledger.errors import AccountExists, InvalidAccountData, UnknownAccount
from ledger.models import AccountStatus, NewAccount, RechargePolicy, Sender
from ledger.store import Store
from tests.ledger.ledger_helpers import HASH, SENDER, FakeClock, make_account


async def test_create_and_get_account(store: Store, clock: FakeClock) -> None:
    created = await store.create_account(
        NewAccount(
            system_id="smpp-acme",
            password_hash=HASH,
            owner="ACME Ltd",
            contact_email="ops@acme.example",
            allowed_ips=("10.1.2.3", "192.168.7.9/24", "2001:db8::1/64"),
            senders=(SENDER, Sender(1, 1, "447700900000")),
            max_binds=3,
            throughput=50,
        )
    )
    assert created.balance == 0
    assert created.status is AccountStatus.ACTIVE
    # Normalised: bare address -> /32, host bits cleared.
    assert created.allowed_ips == ("10.1.2.3/32", "192.168.7.0/24", "2001:db8::/64")
    assert created.senders == (SENDER, Sender(1, 1, "447700900000"))
    assert created.recharge is None
    assert created.created_at == clock.now
    fetched = await store.get_account("smpp-acme")
    assert fetched == created
    assert fetched.allows_address("192.168.7.200")
    assert not fetched.allows_address("192.168.8.1")


async def test_create_twice_is_refused(store: Store) -> None:
    await make_account(store)
    with pytest.raises(AccountExists):
        await make_account(store)


async def test_list_accounts_sorted(store: Store) -> None:
    for sid in ("smpp-zed", "smpp-acme", "smpp-mid"):
        await make_account(store, sid)
    assert [a.system_id for a in await store.list_accounts()] == [
        "smpp-acme",
        "smpp-mid",
        "smpp-zed",
    ]


async def test_unknown_account(store: Store) -> None:
    with pytest.raises(UnknownAccount):
        await store.get_account("smpp-nobody")
    with pytest.raises(UnknownAccount):
        await store.set_status("smpp-nobody", AccountStatus.DISABLED)
    with pytest.raises(UnknownAccount):
        await store.allow_ip("smpp-nobody", "10.0.0.1")
    with pytest.raises(UnknownAccount):
        await store.journal("smpp-nobody")


@pytest.mark.parametrize(
    "system_id",
    ["acme", "smpp-", "smpp-ACME", "smpp-abcdefghijk", "smpp-a b", "", "smpp-_x"],
)
async def test_bad_system_id(store: Store, system_id: str) -> None:
    with pytest.raises(InvalidAccountData):
        await store.create_account(NewAccount(system_id=system_id, password_hash=HASH))


async def test_longest_system_id_is_15(store: Store) -> None:
    await make_account(store, "smpp-abcdefghij")
    assert len((await store.get_account("smpp-abcdefghij")).system_id) == 15


@pytest.mark.parametrize(
    "sender",
    [
        Sender(2, 1, "12345"),  # TON 2 (national) is not allowed
        Sender(5, 0, "TwelveChars1"),  # alphanumeric longer than 11
        Sender(5, 0, "Shop!"),
        Sender(5, 0, ""),
        Sender(1, 1, "+447700900000"),  # international must be digits
        Sender(3, 0, "12a"),
    ],
)
async def test_bad_sender(store: Store, sender: Sender) -> None:
    with pytest.raises(InvalidAccountData):
        await store.create_account(
            NewAccount(system_id="smpp-acme", password_hash=HASH, senders=(sender,))
        )
    await make_account(store)
    with pytest.raises(InvalidAccountData):
        await store.add_sender("smpp-acme", sender)
    assert (await store.get_account("smpp-acme")).senders == (SENDER,)


async def test_bad_cidr(store: Store) -> None:
    with pytest.raises(InvalidAccountData):
        await store.create_account(
            NewAccount(system_id="smpp-acme", password_hash=HASH, allowed_ips=("10.0.0.300",))
        )
    await make_account(store)
    with pytest.raises(InvalidAccountData):
        await store.allow_ip("smpp-acme", "not-an-ip")


async def test_ip_allowlist(store: Store) -> None:
    await make_account(store)
    acct = await store.allow_ip("smpp-acme", "10.9.8.7/16")
    assert acct.allowed_ips == ("10.9.0.0/16",)
    acct = await store.allow_ip("smpp-acme", "10.9.0.0/16")  # the same network again
    assert acct.allowed_ips == ("10.9.0.0/16",)
    acct = await store.allow_ip("smpp-acme", "::ffff:0:0/96")
    assert acct.allows_address("10.9.1.1")
    acct = await store.deny_ip("smpp-acme", "10.9.1.2/16")  # normalised before removal
    assert acct.allowed_ips == ("::ffff:0:0/96",)
    with pytest.raises(InvalidAccountData):
        await store.deny_ip("smpp-acme", "10.9.0.0/16")


async def test_senders(store: Store) -> None:
    await make_account(store)
    extra = Sender(3, 0, "12345")
    acct = await store.add_sender("smpp-acme", extra)
    assert acct.senders == (SENDER, extra)
    assert acct.may_send_from(3, 0, "12345")
    acct = await store.add_sender("smpp-acme", extra)  # registering twice changes nothing
    assert acct.senders == (SENDER, extra)
    acct = await store.remove_sender("smpp-acme", SENDER)
    assert acct.senders == (extra,)
    with pytest.raises(InvalidAccountData):
        await store.remove_sender("smpp-acme", SENDER)


async def test_status_and_password(store: Store) -> None:
    await make_account(store)
    acct = await store.set_status("smpp-acme", AccountStatus.DISABLED)
    assert acct.status is AccountStatus.DISABLED
    await store.set_password_hash("smpp-acme", "scrypt$new")
    assert (await store.get_account("smpp-acme")).password_hash == "scrypt$new"
    acct = await store.set_status("smpp-acme", AccountStatus.ACTIVE)
    assert acct.status is AccountStatus.ACTIVE


async def test_recharge_policy(store: Store) -> None:
    await make_account(store)
    policy = RechargePolicy(threshold=5_000, amount=100_000, daily_cap=2)
    acct = await store.set_recharge("smpp-acme", policy)
    assert acct.recharge == policy
    acct = await store.set_recharge("smpp-acme", None)
    assert acct.recharge is None


@pytest.mark.parametrize(
    "policy",
    [
        RechargePolicy(threshold=0, amount=150_000, daily_cap=1),  # 150 is not offered
        RechargePolicy(threshold=0, amount=100, daily_cap=1),  # 0.1 credit: not offered
        RechargePolicy(threshold=0, amount=100_000, daily_cap=0),
        RechargePolicy(threshold=-1, amount=100_000, daily_cap=1),
    ],
)
async def test_bad_recharge_policy(store: Store, policy: RechargePolicy) -> None:
    await make_account(store)
    with pytest.raises(InvalidAccountData):
        await store.set_recharge("smpp-acme", policy)
    assert (await store.get_account("smpp-acme")).recharge is None


async def test_every_offered_recharge_amount_is_accepted(store: Store) -> None:
    from ledger.models import RECHARGE_AMOUNTS_CREDITS

    await make_account(store)
    for credits in RECHARGE_AMOUNTS_CREDITS:
        policy = RechargePolicy(threshold=0, amount=credits * 1000, daily_cap=1)
        assert (await store.set_recharge("smpp-acme", policy)).recharge == policy
