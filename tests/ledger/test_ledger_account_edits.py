"""Account edits, closing, and the binds an account holds, on both stores."""

from __future__ import annotations

import pytest

from ledger.errors import (
    AccountClosed,
    AccountNotEmpty,
    InvalidAccountData,
    UnknownAccount,
)
from ledger.models import (
    AccountChanges,
    AccountStatus,
    Category,
    DebitStatus,
    NewAccount,
)
from ledger.store import Store, open_store
from tests.ledger.conftest import raw_sql
from tests.ledger.ledger_helpers import HASH, FakeClock, make_account, migrations_from, request


async def test_a_new_account_has_the_general_category_unless_told(store: Store) -> None:
    await make_account(store, "smpp-a")
    assert (await store.get_account("smpp-a")).default_category is Category.GENERAL
    created = await store.create_account(
        NewAccount("smpp-otp", HASH, default_category=Category.VERIFICATION)
    )
    assert created.default_category is Category.VERIFICATION
    assert created.closed_at is None


async def test_update_changes_only_what_is_given(store: Store, clock: FakeClock) -> None:
    await make_account(store, "smpp-a", owner="acme", contact_email="a@acme.example")
    changed = await store.update_account(
        "smpp-a",
        AccountChanges(
            contact_email="ops@acme.example",
            default_category=Category.MARKETING,
            throughput=5,
            max_binds=4,
        ),
    )
    assert (
        changed.owner,
        changed.contact_email,
        changed.default_category,
        changed.throughput,
        changed.max_binds,
    ) == ("acme", "ops@acme.example", Category.MARKETING, 5, 4)
    assert await store.get_account("smpp-a") == changed
    renamed = await store.update_account("smpp-a", AccountChanges(owner="Acme SA"))
    assert renamed.owner == "Acme SA" and renamed.throughput == 5
    cleared = await store.update_account("smpp-a", AccountChanges(contact_email=""))
    assert cleared.contact_email == ""


@pytest.mark.parametrize(
    "changes",
    [
        AccountChanges(contact_email="no-at-sign"),
        AccountChanges(throughput=-1),
        AccountChanges(max_binds=0),
        AccountChanges(max_binds=2**31),
        AccountChanges(default_category="sms"),  # type: ignore[arg-type]
    ],
)
async def test_invalid_changes_are_refused_and_nothing_changes(
    store: Store, changes: AccountChanges
) -> None:
    await make_account(store, "smpp-a", owner="acme")
    before = await store.get_account("smpp-a")
    with pytest.raises(InvalidAccountData):
        await store.update_account("smpp-a", changes)
    assert await store.get_account("smpp-a") == before


async def test_editing_an_unknown_account(store: Store) -> None:
    with pytest.raises(UnknownAccount):
        await store.update_account("smpp-none", AccountChanges(owner="x"))
    with pytest.raises(UnknownAccount):
        await store.close_account("smpp-none")


async def test_close_is_refused_while_credits_remain(store: Store) -> None:
    await make_account(store, "smpp-a", owner="acme", balance=1_500)
    await make_account(store, "smpp-b", owner="acme")
    with pytest.raises(AccountNotEmpty) as caught:
        await store.close_account("smpp-a")
    assert caught.value.holdings == {"credits": 1_500}
    assert "1.5 credits" in str(caught.value)
    assert (await store.get_account("smpp-a")).status is AccountStatus.ACTIVE
    await store.transfer("smpp-a", "smpp-b", 1_500, idempotency_key="empty-a")
    closed = await store.close_account("smpp-a")
    assert closed.status is AccountStatus.CLOSED
    assert closed.closed_at is not None
    assert await store.close_account("smpp-a") == closed  # idempotent


async def test_a_closed_account_is_refused_like_a_disabled_one_and_stays_closed(
    store: Store,
) -> None:
    await make_account(store, "smpp-a")
    await store.close_account("smpp-a")
    [result] = await store.debit_batch([request("k1", "smpp-a")])
    assert result.status is DebitStatus.ACCOUNT_DISABLED
    for status in (AccountStatus.ACTIVE, AccountStatus.DISABLED):
        with pytest.raises(AccountClosed):
            await store.set_status("smpp-a", status)
    with pytest.raises(InvalidAccountData):
        await store.set_status("smpp-a", AccountStatus.CLOSED)
    assert (await store.get_account("smpp-a")).status is AccountStatus.CLOSED
    assert [a.status for a in await store.list_accounts()] == [AccountStatus.CLOSED]
    # Other settings may still be edited (contact for the records, ...).
    edited = await store.update_account("smpp-a", AccountChanges(contact_email="x@y.example"))
    assert edited.status is AccountStatus.CLOSED


async def test_a_disabled_account_may_be_closed(store: Store) -> None:
    await make_account(store, "smpp-a")
    await store.set_status("smpp-a", AccountStatus.DISABLED)
    assert (await store.close_account("smpp-a")).status is AccountStatus.CLOSED


async def test_binds_are_listed_with_peer_gateway_and_time(store: Store, clock: FakeClock) -> None:
    await make_account(store, "smpp-a")
    await store.register_gateway("gw-1", address="10.0.0.1:2775")
    await store.register_gateway("gw-2", address="10.0.0.2:2775")
    assert await store.account_binds("smpp-a") == []
    first = clock.now
    assert await store.acquire_bind(
        "smpp-a", gateway_id="gw-1", session_id="s1", kind="trx", max_binds=3, peer="203.0.113.7"
    )
    clock.advance(seconds=1)
    assert await store.acquire_bind(
        "smpp-a", gateway_id="gw-2", session_id="s2", kind="rx", max_binds=3, peer="2001:db8::1"
    )
    binds = await store.account_binds("smpp-a")
    assert [(b.peer, b.gateway_id, b.session_id, b.kind) for b in binds] == [
        ("203.0.113.7", "gw-1", "s1", "trx"),
        ("2001:db8::1", "gw-2", "s2", "rx"),
    ]
    assert binds[0].bound_at == first
    assert len(binds) == await store.bind_count("smpp-a")
    # A gateway that stopped heartbeating: its binds no longer count, nor are listed.
    clock.advance(seconds=31)
    await store.heartbeat("gw-2")
    assert [b.gateway_id for b in await store.account_binds("smpp-a")] == ["gw-2"]
    await store.release_bind("gw-2", "s2")
    assert await store.account_binds("smpp-a") == []


async def test_the_upgrade_from_0004_keeps_accounts_and_binds(
    fresh_url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ledger.migrate as migrate

    every = migrate.load_migrations
    monkeypatch.setattr(
        migrate, "load_migrations", lambda d: [m for m in every(d) if m.version <= 4]
    )
    old = await open_store(fresh_url, clock=clock)
    try:
        assert (await old.upgrade())[-1] == "0004_two_sided_journal"
    finally:
        await old.close()
    stamp = clock.now.isoformat()
    raw_sql(
        fresh_url,
        "INSERT INTO {s}accounts (system_id, password_hash, status, created_at)"
        f" VALUES ('smpp-old', '{HASH}', 'disabled', '{stamp}')",
        "INSERT INTO {s}gateways (gateway_id, address, started_at, heartbeat_at)"
        f" VALUES ('gw-1', 'h:1', '{stamp}', '{stamp}')",
        "INSERT INTO {s}binds (system_id, gateway_id, session_id, kind, bound_at)"
        f" VALUES ('smpp-old', 'gw-1', 's1', 'tx', '{stamp}')",
    )
    monkeypatch.undo()
    new = await open_store(fresh_url, clock=clock)
    try:
        assert await new.upgrade() == migrations_from("0005_account_edits_history")
        account = await new.get_account("smpp-old")
        assert (account.status, account.default_category, account.closed_at) == (
            AccountStatus.DISABLED,
            Category.GENERAL,
            None,
        )
        [bind] = await new.account_binds("smpp-old")
        assert (bind.session_id, bind.peer) == ("s1", "")
        assert (await new.close_account("smpp-old")).status is AccountStatus.CLOSED
    finally:
        await new.close()
