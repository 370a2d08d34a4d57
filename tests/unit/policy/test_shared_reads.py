"""policy.shared_reads: concurrent reads of one key share one call, and nothing stays."""

from __future__ import annotations

import asyncio

import pytest

from gateway.policy.shared_reads import SharedReads


async def test_concurrent_reads_of_a_key_share_one_call_and_later_ones_call_again() -> None:
    calls: list[str] = []
    gate = asyncio.Event()

    async def fetch(key: str) -> str:
        calls.append(key)
        await gate.wait()
        return f"{key}@{len(calls)}"

    reads = SharedReads(fetch)
    pending = [asyncio.ensure_future(reads.read(k)) for k in ("a", "a", "b", "a")]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*pending) == ["a@1", "a@1", "b@2", "a@1"]
    assert (calls, reads.joined) == (["a", "b"], 2)
    # Answered: nothing kept, the next read asks again.
    assert await reads.read("a") == "a@3"


async def test_an_error_reaches_every_caller_and_a_cancelled_one_leaves_the_rest() -> None:
    gate = asyncio.Event()

    async def fetch(key: str) -> str:
        await gate.wait()
        if key == "missing":
            raise KeyError(key)
        return key

    reads = SharedReads(fetch)
    failing = [asyncio.ensure_future(reads.read("missing")) for _ in range(2)]
    first, second = (asyncio.ensure_future(reads.read("a")) for _ in range(2))
    await asyncio.sleep(0)
    first.cancel()  # its client left while the read was under way
    gate.set()
    for f in failing:
        with pytest.raises(KeyError):
            await f
    assert await second == "a"
    assert first.cancelled()
