"""Contract: per-account throughput, a token bucket inside ``debit_batch``, on every store.

The clock is injected, so "the same instant" and "0.4 s later" are exact: no sleeping and
no timing assertions. Capacity = throughput (one second of burst), refill = throughput
tokens per second, one token per accepted debit; THROTTLED writes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from ledger.batcher import DebitBatcher
from ledger.errors import InvalidAccountData, UnknownAccount, UnknownMessage
from ledger.models import DebitStatus, EntryKind, RechargePolicy
from ledger.rules.throughput import TOKEN, available_tokens
from ledger.store import Store
from tests.ledger.ledger_helpers import FakeClock, full_journal, make_account, request

OK, THROTTLED = DebitStatus.OK, DebitStatus.THROTTLED


async def _one(store: Store, key: str, system_id: str = "smpp-acme") -> DebitStatus:
    [result] = await store.debit_batch([request(key, system_id)])
    return result.status


async def test_burst_then_refill(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=100_000, throughput=5)
    # One second of burst, in the same instant: exactly 5, whatever the batching.
    assert [await _one(store, f"a{i}") for i in range(3)] == [OK] * 3
    batch = await store.debit_batch([request(f"b{i}") for i in range(4)])
    assert [r.status for r in batch] == [OK, OK, THROTTLED, THROTTLED]
    assert await _one(store, "c0") is THROTTLED
    # 0.4 s at 5/s is exactly two tokens.
    clock.advance(seconds=0.4)
    assert [await _one(store, f"d{i}") for i in range(3)] == [OK, OK, THROTTLED]
    # A long pause refills to the capacity, never beyond it.
    clock.advance(seconds=3600)
    batch = await store.debit_batch([request(f"e{i}") for i in range(7)])
    assert [r.status for r in batch] == [OK] * 5 + [THROTTLED] * 2
    assert (await store.get_account("smpp-acme")).balance == 100_000 - 12 * 100


async def test_refill_is_exact_to_the_microsecond(store: Store, clock: FakeClock) -> None:
    # At 3/s one token takes 333,333.33 us: micro-tokens make that exact, no drift.
    await make_account(store, balance=100_000, throughput=3)
    assert [await _one(store, f"a{i}") for i in range(4)] == [OK, OK, OK, THROTTLED]
    # Micro-tokens carry the remainder: 333,334 us give a token and 2 micro-tokens, the
    # next 333,333 us a token and 1, the next token is due after exactly 333,333 us more.
    # Three tokens in exactly one second: no drift, however the second is sliced.
    steps = [(333_333, THROTTLED), (1, OK), (333_333, OK), (333_332, THROTTLED), (1, OK)]
    for n, (micros, expected) in enumerate(steps):
        clock.advance(microseconds=micros)
        assert await _one(store, f"s{n}") is expected, n
    assert sum(m for m, _ in steps) == 1_000_000
    assert await _one(store, "empty") is THROTTLED


async def test_throttled_writes_nothing(store: Store, clock: FakeClock) -> None:
    # Balance 150 with a policy: the 2nd debit would need a recharge first, but the
    # bucket (1/s) is empty, so it is THROTTLED with no debit, message or recharge.
    await make_account(store, balance=150, throughput=1)
    await store.set_recharge("smpp-acme", RechargePolicy(threshold=0, amount=100_000, daily_cap=5))
    assert await _one(store, "k1") is OK
    before = await full_journal(store, "smpp-acme")
    [throttled] = await store.debit_batch([request("k2")])
    assert (throttled.status, throttled.balance_after, throttled.recharges) == (THROTTLED, 50, ())
    assert await full_journal(store, "smpp-acme") == before
    with pytest.raises(UnknownMessage):
        await store.get_message("m-k2")
    assert [m.message_id for m in await store.unforwarded()] == ["m-k1"]
    # Nothing was written, so the same key succeeds once a token is back (with the
    # recharge it needs), and is a duplicate afterwards even with the bucket empty.
    clock.advance(seconds=1)
    [ok] = await store.debit_batch([request("k2")])
    assert ok.status is OK
    assert [e.kind for e in ok.recharges] == [EntryKind.RECHARGE]
    [again] = await store.debit_batch([request("k2")])
    assert (again.status, again.message_id) == (DebitStatus.DUPLICATE, "m-k2")


async def test_only_acceptable_debits_are_throttled(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=300, throughput=2)
    await make_account(store, "smpp-free", balance=100_000)  # throughput 0: unlimited
    batch = await store.debit_batch(
        [
            request("k1"),
            request("k1"),  # a replay within the batch takes no token
            request("big", cost=10_000),  # refused for credit: takes no token
            request("k2"),
            request("k3", cost=10_000),  # no credit and no token: the credit answer
            *(request(f"free{i}", "smpp-free") for i in range(300)),
        ]
    )
    statuses = [r.status for r in batch]
    assert statuses[:5] == [
        OK,
        DebitStatus.DUPLICATE,
        DebitStatus.INSUFFICIENT_CREDIT,
        OK,
        DebitStatus.INSUFFICIENT_CREDIT,
    ]
    assert statuses[5:] == [OK] * 300  # throughput 0 never throttles
    assert await _one(store, "k4") is THROTTLED  # credit left, tokens not
    assert (await store.get_account("smpp-acme")).balance == 100


async def test_set_throughput_and_max_binds(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=100_000)
    assert [await _one(store, f"a{i}") for i in range(20)] == [OK] * 20
    account = await store.set_throughput("smpp-acme", 2)
    assert account.throughput == 2
    # A new limit starts with a full bucket, whatever happened before.
    assert [await _one(store, f"b{i}") for i in range(3)] == [OK, OK, THROTTLED]
    await store.set_throughput("smpp-acme", 4)
    assert [await _one(store, f"c{i}") for i in range(5)] == [OK] * 4 + [THROTTLED]
    await store.set_throughput("smpp-acme", 0)
    assert [await _one(store, f"d{i}") for i in range(10)] == [OK] * 10
    assert (await store.set_max_binds("smpp-acme", 7)).max_binds == 7
    assert (await store.get_account("smpp-acme")).max_binds == 7
    for bad in (-1, 2**31):
        with pytest.raises(InvalidAccountData):
            await store.set_throughput("smpp-acme", bad)
    for bad in (0, -3):
        with pytest.raises(InvalidAccountData):
            await store.set_max_binds("smpp-acme", bad)
    with pytest.raises(UnknownAccount):
        await store.set_throughput("smpp-nobody", 1)
    with pytest.raises(UnknownAccount):
        await store.set_max_binds("smpp-nobody", 1)


async def test_a_clock_going_back_refills_nothing(store: Store, clock: FakeClock) -> None:
    # Gateways on other hosts share the bucket with their own clocks.
    await make_account(store, balance=100_000, throughput=1)
    assert await _one(store, "k1") is OK
    clock.advance(seconds=-5)
    assert await _one(store, "k2") is THROTTLED
    clock.advance(seconds=5.5)  # half a second after the last debit: still empty
    assert await _one(store, "k3") is THROTTLED
    clock.advance(seconds=0.5)
    assert await _one(store, "k4") is OK


@pytest.mark.parametrize("via", ["direct", "batcher"])
async def test_two_gateways_share_one_bucket(
    store: Store, open_peer: Callable[[], Awaitable[Store]], clock: FakeClock, via: str
) -> None:
    # 16 clients on two "processes" (two pools, or two SQLite writers) in one instant.
    await make_account(store, balance=100_000, throughput=5)
    stores = [store, await open_peer()]
    batchers = [DebitBatcher(s, max_batch=4) for s in stores] if via == "batcher" else []
    outcomes: list[DebitStatus] = []

    async def client(n: int) -> None:
        for i in range(3):
            req = request(f"c{n}-{i}")
            if batchers:
                outcomes.append((await batchers[n % 2].debit(req)).status)
            else:
                [result] = await stores[n % 2].debit_batch([req])
                outcomes.append(result.status)

    await asyncio.gather(*(client(n) for n in range(16)))
    for b in batchers:
        await b.close()
    assert outcomes.count(OK) == 5
    assert outcomes.count(THROTTLED) == 16 * 3 - 5
    clock.advance(seconds=1)
    assert [await _one(stores[1], f"later{i}") for i in range(6)] == [OK] * 5 + [THROTTLED]
    journal = await full_journal(store, "smpp-acme")
    assert sum(1 for e in journal if e.kind is EntryKind.DEBIT) == 10


def test_available_tokens() -> None:
    from datetime import UTC, datetime

    t0 = datetime(2024, 5, 1, tzinfo=UTC)
    assert available_tokens(5, 0, None, t0) == 5 * TOKEN  # never used: full
    assert available_tokens(5, 0, t0, t0 + timedelta(seconds=0.4)) == 2 * TOKEN
    assert available_tokens(5, TOKEN, t0, t0 + timedelta(days=3)) == 5 * TOKEN
    assert available_tokens(5, 9 * TOKEN, t0, t0) == 5 * TOKEN  # over capacity: capped
    assert available_tokens(5, TOKEN, t0, t0 - timedelta(seconds=9)) == TOKEN
