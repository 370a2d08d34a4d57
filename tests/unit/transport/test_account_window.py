"""The per-account submit window: throttle and backpressure modes."""

from __future__ import annotations

import asyncio

from gateway.transport.window import AccountWindow


async def test_throttle_mode_refuses_beyond_the_window() -> None:
    w = AccountWindow(2, backpressure=False)
    assert await w.acquire("a")
    assert await w.acquire("a")
    assert not await w.acquire("a")
    assert await w.acquire("b")  # another account has its own slots
    w.release("a")
    assert await w.acquire("a")
    assert w.in_use("a") == 2


async def test_backpressure_mode_waits_for_a_slot_in_order() -> None:
    w = AccountWindow(1, backpressure=True)
    assert await w.acquire("a")
    order: list[int] = []

    async def waiter(n: int) -> None:
        await w.acquire("a")
        order.append(n)

    tasks = [asyncio.create_task(waiter(n)) for n in (1, 2)]
    await asyncio.sleep(0)
    assert order == []
    w.release("a")
    await asyncio.sleep(0)
    assert order == [1]
    w.release("a")
    await asyncio.gather(*tasks)
    assert order == [1, 2]
    assert w.in_use("a") == 1
    w.release("a")
    assert w.in_use("a") == 0


async def test_a_cancelled_waiter_does_not_keep_a_slot() -> None:
    w = AccountWindow(1, backpressure=True)
    assert await w.acquire("a")
    task = asyncio.create_task(w.acquire("a"))
    await asyncio.sleep(0)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    w.release("a")
    assert w.in_use("a") == 0
    assert await w.acquire("a")


async def test_zero_is_unlimited() -> None:
    w = AccountWindow(0, backpressure=False)
    for _ in range(1000):
        assert await w.acquire("a")
    w.release("a")
    assert w.in_use("a") == 0


async def test_an_accounts_own_size_overrides_the_gateways() -> None:
    w = AccountWindow(1, backpressure=False)
    assert await w.acquire("a", 3) and await w.acquire("a", 3) and await w.acquire("a", 3)
    assert not await w.acquire("a", 3)
    assert not await w.acquire("a"), "the gateway's size (1) is full too"
    for _ in range(3):
        w.release("a")
    assert w.in_use("a") == 0
    w.release("a")  # nothing held: nothing to give back, the count stays at 0
    assert w.in_use("a") == 0
