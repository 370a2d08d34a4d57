"""Contract: credits, debits, idempotency, auto-recharge and refunds, on every store."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ledger.errors import IdempotencyConflict, UnknownAccount, UnknownMessage
from ledger.models import (
    AccountStatus,
    DebitStatus,
    EntryKind,
    MessageState,
    RechargePolicy,
)
from ledger.store import Store
from tests.ledger.ledger_helpers import FakeClock, full_journal, make_account, request

# -- credit -----------------------------------------------------------------------------------


async def test_credit_and_replay(store: Store, clock: FakeClock) -> None:
    await make_account(store)
    first = await store.credit("smpp-acme", 5_000, idempotency_key="topup-1", note="invoice 7")
    assert (first.kind, first.amount, first.balance_after) == (EntryKind.CREDIT, 5_000, 5_000)
    assert first.note == "invoice 7"
    assert first.message_id is None
    assert first.created_at == clock.now
    clock.advance(minutes=5)
    replay = await store.credit("smpp-acme", 5_000, idempotency_key="topup-1", note="again")
    assert replay == first  # the first entry, not a second credit
    assert (await store.get_account("smpp-acme")).balance == 5_000
    with pytest.raises(IdempotencyConflict):
        await store.credit("smpp-acme", 6_000, idempotency_key="topup-1")
    second = await store.credit("smpp-acme", 1_000, idempotency_key="topup-2")
    assert second.balance_after == 6_000
    assert second.id > first.id
    assert await store.journal("smpp-acme") == [second, first]


async def test_credit_refuses_bad_input(store: Store) -> None:
    await make_account(store)
    with pytest.raises(UnknownAccount):
        await store.credit("smpp-nobody", 1_000, idempotency_key="k")
    with pytest.raises(ValueError, match="positive"):
        await store.credit("smpp-acme", 0, idempotency_key="k0")
    with pytest.raises(ValueError, match="positive"):
        await store.credit("smpp-acme", -5, idempotency_key="k1")
    with pytest.raises(ValueError, match="debit"):
        await store.credit("smpp-acme", 5, idempotency_key="k2", kind=EntryKind.DEBIT)
    assert await store.journal("smpp-acme") == []


async def test_credit_key_of_another_account_conflicts(store: Store) -> None:
    await make_account(store, "smpp-a")
    await make_account(store, "smpp-b")
    await store.credit("smpp-a", 1_000, idempotency_key="shared")
    with pytest.raises(IdempotencyConflict):
        await store.credit("smpp-b", 1_000, idempotency_key="shared")
    assert (await store.get_account("smpp-b")).balance == 0


async def test_journal_limit_newest_first(store: Store) -> None:
    await make_account(store)
    for i in range(5):
        await store.credit("smpp-acme", 10 + i, idempotency_key=f"c{i}")
    newest = await store.journal("smpp-acme", limit=2)
    assert [e.amount for e in newest] == [14, 13]


# -- debit ------------------------------------------------------------------------------------


async def test_debit_ok_writes_entry_and_message(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=1_000)
    [result] = await store.debit_batch([request("k1", cost=300)])
    assert result.status is DebitStatus.OK
    assert (result.message_id, result.balance_after, result.recharges) == ("m-k1", 700, ())
    debit = (await store.journal("smpp-acme", limit=1))[0]
    assert (debit.kind, debit.amount, debit.balance_after) == (EntryKind.DEBIT, -300, 700)
    assert (debit.idempotency_key, debit.message_id) == ("k1", "m-k1")
    msg = await store.get_message("m-k1")
    assert (msg.state, msg.cost, msg.upstream_id) == (MessageState.ACCEPTED, 300, None)
    assert msg.created_at == clock.now
    assert (await store.get_account("smpp-acme")).balance == 700


async def test_debit_exact_balance_then_insufficient(store: Store) -> None:
    await make_account(store, balance=300)
    results = await store.debit_batch(
        [request("k1", cost=200), request("k2", cost=200), request("k3", cost=100)]
    )
    assert [r.status for r in results] == [
        DebitStatus.OK,
        DebitStatus.INSUFFICIENT_CREDIT,  # 100 left: nothing written for it
        DebitStatus.OK,  # decided on its own, after the refusal
    ]
    assert [r.balance_after for r in results] == [100, 100, 0]
    with pytest.raises(UnknownMessage):
        await store.get_message("m-k2")
    debits = [e for e in await full_journal(store, "smpp-acme") if e.kind is EntryKind.DEBIT]
    assert [e.idempotency_key for e in debits] == ["k1", "k3"]
    # A refused key was never used: it may succeed later, once there is credit.
    await store.credit("smpp-acme", 500, idempotency_key="more")
    [again] = await store.debit_batch([request("k2", cost=200)])
    assert again.status is DebitStatus.OK


async def test_debit_unknown_and_disabled(store: Store) -> None:
    await make_account(store, balance=1_000)
    await make_account(store, "smpp-off", balance=1_000)
    await store.set_status("smpp-off", AccountStatus.DISABLED)
    results = await store.debit_batch(
        [request("k1", "smpp-nobody"), request("k2", "smpp-off"), request("k3")]
    )
    assert [r.status for r in results] == [
        DebitStatus.UNKNOWN_ACCOUNT,
        DebitStatus.ACCOUNT_DISABLED,
        DebitStatus.OK,
    ]
    assert (await store.get_account("smpp-off")).balance == 1_000
    assert len(await store.journal("smpp-off")) == 1  # the seed credit only
    assert [m.message_id for m in await store.unforwarded()] == ["m-k3"]


async def test_duplicate_returns_original_without_writing(store: Store) -> None:
    await make_account(store, balance=1_000)
    [first] = await store.debit_batch([request("k1", message_id="m-1", text="hi")])
    # The client resubmits after a lost response: the gateway made a new message id.
    [dup] = await store.debit_batch([request("k1", message_id="m-2", text="hi")])
    assert dup.status is DebitStatus.DUPLICATE
    assert (dup.message_id, dup.balance_after) == ("m-1", first.balance_after)
    assert (await store.get_account("smpp-acme")).balance == 900
    with pytest.raises(UnknownMessage):
        await store.get_message("m-2")
    assert len(await store.journal("smpp-acme")) == 2


async def test_duplicate_within_one_batch(store: Store) -> None:
    await make_account(store, balance=1_000)
    results = await store.debit_batch(
        [request("k1", message_id="m-1", text="x"), request("k1", message_id="m-2", text="x")]
    )
    assert [(r.status, r.message_id) for r in results] == [
        (DebitStatus.OK, "m-1"),
        (DebitStatus.DUPLICATE, "m-1"),
    ]
    assert (await store.get_account("smpp-acme")).balance == 900


async def test_same_key_different_body_conflicts(store: Store) -> None:
    await make_account(store, balance=1_000)
    await make_account(store, "smpp-other", balance=1_000)
    await store.debit_batch([request("k1", message_id="m-1", text="hi")])
    results = await store.debit_batch(
        [
            request("k1", message_id="m-2", text="changed text"),
            request("k1", message_id="m-3", text="hi", cost=101),
            request("k1", "smpp-other", message_id="m-4", text="hi"),
            request("k9", message_id="m-5", text="a"),
            request("k9", message_id="m-6", text="b"),  # conflict within the batch
        ]
    )
    assert [r.status for r in results] == [
        DebitStatus.IDEMPOTENCY_CONFLICT,
        DebitStatus.IDEMPOTENCY_CONFLICT,
        DebitStatus.IDEMPOTENCY_CONFLICT,
        DebitStatus.OK,
        DebitStatus.IDEMPOTENCY_CONFLICT,
    ]
    assert (await store.get_account("smpp-acme")).balance == 800
    assert (await store.get_account("smpp-other")).balance == 1_000
    for mid in ("m-2", "m-3", "m-4", "m-6"):
        with pytest.raises(UnknownMessage):
            await store.get_message(mid)


async def test_debit_key_used_by_a_credit_conflicts(store: Store) -> None:
    await make_account(store, balance=1_000)
    [r] = await store.debit_batch([request("seed:smpp-acme")])
    assert r.status is DebitStatus.IDEMPOTENCY_CONFLICT
    assert (await store.get_account("smpp-acme")).balance == 1_000


async def test_reused_message_id_is_refused_alone(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k1", message_id="m-1")])
    results = await store.debit_batch(
        [request("k2", message_id="m-1"), request("k3", message_id="m-3")]
    )
    assert [r.status for r in results] == [DebitStatus.IDEMPOTENCY_CONFLICT, DebitStatus.OK]
    assert (await store.get_account("smpp-acme")).balance == 800


async def test_malformed_request_is_a_programming_error(store: Store) -> None:
    await make_account(store, balance=1_000)
    with pytest.raises(ValueError, match="more than zero"):
        await store.debit_batch([request("k1"), request("k2", cost=0)])
    assert (await store.get_account("smpp-acme")).balance == 1_000
    assert await store.debit_batch([]) == []


# -- auto-recharge ----------------------------------------------------------------------------

POLICY = RechargePolicy(threshold=500, amount=100_000, daily_cap=2)


async def test_recharge_when_debit_crosses_threshold(store: Store) -> None:
    await make_account(store, balance=700)
    await store.set_recharge("smpp-acme", POLICY)
    [above] = await store.debit_batch([request("k1", cost=100)])  # 700 -> 600: above T
    assert (above.status, above.recharges) == (DebitStatus.OK, ())
    [crossed] = await store.debit_batch([request("k2", cost=100)])  # 600 -> 500 <= T
    assert crossed.status is DebitStatus.OK
    [recharge] = crossed.recharges
    assert (recharge.kind, recharge.amount) == (EntryKind.RECHARGE, 100_000)
    assert recharge.idempotency_key == "recharge:k2"
    assert recharge.balance_after == 100_500
    assert "threshold" in recharge.note
    assert crossed.balance_after == 100_500
    entries = await full_journal(store, "smpp-acme")
    # The debit is journaled before the recharge it caused, both in one transaction.
    assert [(e.kind, e.amount, e.balance_after) for e in entries[-2:]] == [
        (EntryKind.DEBIT, -100, 500),
        (EntryKind.RECHARGE, 100_000, 100_500),
    ]
    assert entries[-1] == recharge
    # A replay of the crossing debit reports the same recharge and writes nothing.
    [dup] = await store.debit_batch([request("k2", cost=100, message_id="other")])
    assert (dup.status, dup.message_id, dup.recharges) == (
        DebitStatus.DUPLICATE,
        "m-k2",
        (recharge,),
    )
    assert dup.balance_after == 100_500
    assert len(await store.journal("smpp-acme")) == len(entries)


async def test_no_recharge_without_crossing(store: Store) -> None:
    await make_account(store, balance=400)  # already at or below T
    await store.set_recharge("smpp-acme", POLICY)
    [r] = await store.debit_batch([request("k1", cost=100)])
    assert (r.status, r.recharges, r.balance_after) == (DebitStatus.OK, (), 300)


async def test_recharge_first_when_balance_short(store: Store) -> None:
    await make_account(store, balance=50)
    await store.set_recharge("smpp-acme", POLICY)
    [r] = await store.debit_batch([request("k1", cost=100)])
    assert r.status is DebitStatus.OK
    [recharge] = r.recharges
    assert recharge.balance_after == 100_050
    assert "below cost" in recharge.note
    assert r.balance_after == 99_950
    entries = await full_journal(store, "smpp-acme")
    assert [(e.kind, e.balance_after) for e in entries[-2:]] == [
        (EntryKind.RECHARGE, 100_050),
        (EntryKind.DEBIT, 99_950),
    ]


async def test_recharge_too_small_for_cost_refuses(store: Store) -> None:
    await make_account(store, balance=50)
    await store.set_recharge("smpp-acme", RechargePolicy(threshold=0, amount=100_000, daily_cap=5))
    [r] = await store.debit_batch([request("k1", cost=100_051)])
    assert (r.status, r.recharges, r.balance_after) == (DebitStatus.INSUFFICIENT_CREDIT, (), 50)
    assert len(await store.journal("smpp-acme")) == 1


async def test_no_policy_no_recharge(store: Store) -> None:
    await make_account(store, balance=50)
    [r] = await store.debit_batch([request("k1", cost=100)])
    assert r.status is DebitStatus.INSUFFICIENT_CREDIT


async def test_daily_cap_and_midnight(store: Store, clock: FakeClock) -> None:
    clock.set(datetime(2024, 5, 1, 23, 59, 0, tzinfo=UTC))
    cap1 = RechargePolicy(threshold=0, amount=100_000, daily_cap=1)
    await make_account(store, balance=100_000)
    await store.set_recharge("smpp-acme", cap1)
    # Spend to zero: the debit that reaches 0 crosses T=0 and uses today's one recharge.
    [r] = await store.debit_batch([request("k1", cost=100_000)])
    assert len(r.recharges) == 1
    assert r.balance_after == 100_000
    # Spend the recharge: crossing again, but the cap is reached, so no recharge.
    [r] = await store.debit_batch([request("k2", cost=100_000)])
    assert (r.status, r.recharges, r.balance_after) == (DebitStatus.OK, (), 0)
    [r] = await store.debit_batch([request("k3", cost=100)])
    assert r.status is DebitStatus.INSUFFICIENT_CREDIT
    clock.advance(seconds=59)  # 23:59:59, still the same UTC day
    [r] = await store.debit_batch([request("k4", cost=100)])
    assert r.status is DebitStatus.INSUFFICIENT_CREDIT
    clock.advance(seconds=1)  # midnight: a new day, a new allowance
    [r] = await store.debit_batch([request("k5", cost=100)])
    assert r.status is DebitStatus.OK
    assert r.balance_after == 99_900
    [recharge] = r.recharges
    assert recharge.created_at == datetime(2024, 5, 2, tzinfo=UTC)
    recharges = [e for e in await full_journal(store, "smpp-acme") if e.kind is EntryKind.RECHARGE]
    assert [e.created_at.date().isoformat() for e in recharges] == ["2024-05-01", "2024-05-02"]


async def test_cap_counts_per_day_across_batches(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=600)
    await store.set_recharge("smpp-acme", POLICY)  # cap 2 a day
    recharged = 0
    for i in range(3):
        # Each round: bring the balance to 600, then cross 500.
        balance = (await store.get_account("smpp-acme")).balance
        if balance > 600:
            [r] = await store.debit_batch([request(f"drain{i}", cost=balance - 600)])
            recharged += len(r.recharges)
        [r] = await store.debit_batch([request(f"cross{i}", cost=100)])
        recharged += len(r.recharges)
    assert recharged == 2  # the third crossing of the day finds the cap reached


# -- refund -----------------------------------------------------------------------------------


async def test_refund_is_idempotent(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k1", cost=300)])
    clock.advance(seconds=10)
    entry = await store.refund("m-k1", reason="upstream 0x45")
    assert (entry.kind, entry.amount, entry.balance_after) == (EntryKind.REFUND, 300, 1_000)
    assert (entry.message_id, entry.idempotency_key) == ("m-k1", "refund:m-k1")
    assert entry.note == "upstream 0x45"
    again = await store.refund("m-k1", reason="retry")
    assert again == entry
    assert (await store.get_account("smpp-acme")).balance == 1_000
    msg = await store.get_message("m-k1")
    assert msg.state is MessageState.REJECTED
    assert msg.updated_at == clock.now
    assert await store.unforwarded() == []
    with pytest.raises(UnknownMessage):
        await store.refund("m-nothing", reason="x")


async def test_refund_of_disabled_account(store: Store) -> None:
    await make_account(store, balance=1_000)
    await store.debit_batch([request("k1", cost=300)])
    await store.set_status("smpp-acme", AccountStatus.DISABLED)
    await store.refund("m-k1", reason="closing")
    assert (await store.get_account("smpp-acme")).balance == 1_000


async def test_audit_empty_after_mixed_activity(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.set_recharge("smpp-acme", POLICY)
    await store.debit_batch([request(f"k{i}", cost=997) for i in range(20)])
    await store.refund("m-k3", reason="x")
    assert await store.audit() == []
