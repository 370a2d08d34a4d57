"""Transfers and amount limits, on both stores (the contract suite)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ledger.errors import (
    AccountClosed,
    AccountNotActive,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidRequest,
    LedgerError,
    LimitExceeded,
    OwnersDiffer,
    SameAccount,
    UnknownAccount,
)
from ledger.models import AccountStatus, EntryKind, RechargePolicy
from ledger.rules.idempotency import transfer_in_key
from ledger.rules.limits import LedgerLimits
from ledger.store import Store, open_store
from tests.ledger.ledger_helpers import FakeClock, make_account

LIMITS = LedgerLimits(max_credit=50_000, max_balance=100_000)


@pytest.fixture
async def limited(store: Store, store_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    """A second store on the same database, opened with small limits."""
    s = await open_store(store_url, clock=clock, limits=LIMITS)
    try:
        yield s
    finally:
        await s.close()


async def accounts(store: Store) -> None:
    """smpp-a (10 credits) and smpp-b (1) of acme, smpp-x (5) of other."""
    await make_account(store, "smpp-a", balance=10_000, owner="acme")
    await make_account(store, "smpp-b", balance=1_000, owner="acme")
    await make_account(store, "smpp-x", balance=5_000, owner="other")


async def snapshot(store: Store) -> dict[str, tuple[int, int]]:
    """Each account's balance and journal length: what a refusal must leave alone."""
    out = {}
    for a in await store.list_accounts():
        out[a.system_id] = (a.balance, len(await store.journal(a.system_id, limit=1000)))
    return out


async def test_a_transfer_moves_both_sides_at_once(store: Store) -> None:
    await accounts(store)
    done = await store.transfer("smpp-a", "smpp-b", 2_500, idempotency_key="t1", note="split")
    assert (done.source_balance, done.target_balance) == (7_500, 3_500)
    assert (await store.get_account("smpp-a")).balance == 7_500
    assert (await store.get_account("smpp-b")).balance == 3_500
    [out] = await store.journal("smpp-a", limit=1)
    [in_] = await store.journal("smpp-b", limit=1)
    assert out == done.out and in_ == done.in_
    assert (out.kind, out.amount, out.counter_account, out.note) == (
        EntryKind.TRANSFER_OUT,
        -2_500,
        "smpp-b",
        "split",
    )
    assert (in_.kind, in_.amount, in_.counter_account) == (EntryKind.TRANSFER_IN, 2_500, "smpp-a")
    assert (out.idempotency_key, in_.idempotency_key) == ("t1", transfer_in_key("t1"))
    assert out.created_at == in_.created_at
    houses_before = await store.house_balances()
    await store.transfer("smpp-b", "smpp-a", 3_500, idempotency_key="t2")
    assert await store.house_balances() == houses_before  # no house account moves
    assert await store.audit() == []


async def test_a_replay_returns_the_first_transfer(store: Store) -> None:
    await accounts(store)
    first = await store.transfer("smpp-a", "smpp-b", 1_000, idempotency_key="t1")
    again = await store.transfer("smpp-a", "smpp-b", 1_000, idempotency_key="t1", note="other")
    assert again == first
    assert (await store.get_account("smpp-a")).balance == 9_000
    # Even once the source could not pay it any more, and is disabled.
    await store.transfer("smpp-a", "smpp-b", 9_000, idempotency_key="t2")
    await store.set_status("smpp-a", AccountStatus.DISABLED)
    assert await store.transfer("smpp-a", "smpp-b", 1_000, idempotency_key="t1") == first


@pytest.mark.parametrize(
    ("source", "target", "amount", "key", "error"),
    [
        ("smpp-a", "smpp-x", 1_000, "k", OwnersDiffer),
        ("smpp-a", "smpp-none", 1_000, "k", UnknownAccount),
        ("smpp-none", "smpp-a", 1_000, "k", UnknownAccount),
        ("smpp-a", "smpp-b", 10_001, "k", InsufficientCredit),
        ("smpp-a", "smpp-b", 10**30, "k", InsufficientCredit),
        ("smpp-a", "smpp-a", 1_000, "k", SameAccount),
        ("smpp-a", "smpp-b", 0, "k", InvalidRequest),
        ("smpp-a", "smpp-b", -1, "k", InvalidRequest),
        ("smpp-a", "smpp-b", 1_000, "", InvalidRequest),
        ("smpp-a", "smpp-b", 1_000, "seed:smpp-a", IdempotencyConflict),
    ],
)
async def test_each_refusal_writes_nothing(
    store: Store, source: str, target: str, amount: int, key: str, error: type[LedgerError]
) -> None:
    await accounts(store)
    before = await snapshot(store)
    with pytest.raises(error):
        await store.transfer(source, target, amount, idempotency_key=key)
    assert await snapshot(store) == before


async def test_a_key_reused_for_another_body_conflicts(store: Store) -> None:
    await accounts(store)
    await store.transfer("smpp-a", "smpp-b", 1_000, idempotency_key="t1")
    before = await snapshot(store)
    for source, target, amount in [("smpp-a", "smpp-b", 1_001), ("smpp-b", "smpp-a", 1_000)]:
        with pytest.raises(IdempotencyConflict):
            await store.transfer(source, target, amount, idempotency_key="t1")
    assert await snapshot(store) == before


@pytest.mark.parametrize("which", ["smpp-a", "smpp-b"])
async def test_disabled_and_closed_accounts_are_refused(store: Store, which: str) -> None:
    await accounts(store)
    await make_account(store, "smpp-e", owner="acme")  # empty: closable
    await store.set_status(which, AccountStatus.DISABLED)
    before = await snapshot(store)
    with pytest.raises(AccountNotActive):
        await store.transfer("smpp-a", "smpp-b", 1_000, idempotency_key="t1")
    assert await snapshot(store) == before
    await store.set_status(which, AccountStatus.ACTIVE)
    await store.close_account("smpp-e")
    for source, target in [("smpp-a", "smpp-e"), ("smpp-e", "smpp-a")]:
        with pytest.raises(AccountClosed):
            await store.transfer(source, target, 1, idempotency_key=f"{source}-{target}")


async def test_accounts_without_an_owner_cannot_transfer(store: Store) -> None:
    await make_account(store, "smpp-a", balance=1_000)
    await make_account(store, "smpp-b")
    with pytest.raises(OwnersDiffer):
        await store.transfer("smpp-a", "smpp-b", 1, idempotency_key="t1")


async def test_transfers_in_both_directions_at_once_do_not_deadlock(store: Store) -> None:
    import asyncio

    await accounts(store)
    moves = [
        store.transfer(a, b, 10, idempotency_key=f"t{i}")
        for i in range(40)
        for a, b in [("smpp-a", "smpp-b") if i % 2 else ("smpp-b", "smpp-a")]
    ]
    await asyncio.gather(*moves)
    assert (await store.get_account("smpp-a")).balance == 10_000
    assert (await store.get_account("smpp-b")).balance == 1_000
    assert await store.audit() == []


# -- limits ---------------------------------------------------------------------------------


async def test_limits_refuse_credits_and_transfers_that_pass_them(
    store: Store, limited: Store
) -> None:
    await make_account(store, "smpp-a", owner="acme")
    await make_account(store, "smpp-b", owner="acme")
    await limited.credit("smpp-a", 50_000, idempotency_key="c1")  # max_credit exactly
    await limited.credit("smpp-a", 50_000, idempotency_key="c2")  # max_balance exactly
    await limited.credit("smpp-b", 50_000, idempotency_key="c3")
    await limited.credit("smpp-b", 10_000, idempotency_key="c3b")
    before = await snapshot(store)
    with pytest.raises(LimitExceeded) as credit:
        await limited.credit("smpp-b", 50_001, idempotency_key="c4")
    assert credit.value.limit == "max_credit"
    with pytest.raises(LimitExceeded) as balance:
        await limited.credit("smpp-b", 40_001, idempotency_key="c5")
    assert balance.value.limit == "max_balance"
    assert "ledger.max_balance" in str(balance.value)
    with pytest.raises(LimitExceeded) as target:
        await limited.transfer("smpp-a", "smpp-b", 40_001, idempotency_key="t1")
    assert target.value.limit == "max_balance"
    assert await snapshot(store) == before
    done = await limited.transfer("smpp-a", "smpp-b", 40_000, idempotency_key="t2")
    assert done.target_balance == 100_000


@pytest.mark.parametrize("huge", [10**21 * 1000, 2**63 - 1, 2**63, 2**64, 10**60])
async def test_huge_amounts_are_a_clear_refusal_on_both_stores(store: Store, huge: int) -> None:
    await make_account(store, "smpp-a", owner="acme", balance=1_000)
    await make_account(store, "smpp-b", owner="acme")
    before = await snapshot(store)
    with pytest.raises(LimitExceeded):
        await store.credit("smpp-a", huge, idempotency_key="c1")
    with pytest.raises(InsufficientCredit):
        await store.transfer("smpp-a", "smpp-b", huge, idempotency_key="t1")
    assert await snapshot(store) == before


async def test_a_recharge_threshold_beyond_max_balance_is_refused(
    store: Store, limited: Store
) -> None:
    await make_account(store, "smpp-a")
    with pytest.raises(LimitExceeded):
        await limited.set_recharge("smpp-a", RechargePolicy(100_001, 100_000, 1))
    with pytest.raises(LimitExceeded):  # and beyond int64 on the default limits
        await store.set_recharge("smpp-a", RechargePolicy(2**64, 100_000, 1))
    assert (await store.get_account("smpp-a")).recharge is None


async def test_closed_accounts_take_no_credit(store: Store) -> None:
    await make_account(store, "smpp-a")
    await store.close_account("smpp-a")
    with pytest.raises(AccountClosed):
        await store.credit("smpp-a", 1_000, idempotency_key="c1")
