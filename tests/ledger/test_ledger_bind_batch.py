"""Contract: ``bind_batch`` and ``BindBatcher``, the group-committed bind table, on every store.

A batch must answer each claim as ``acquire_bind`` alone would (quota, repeat, another
account's session, unknown account, unregistered gateway) and hold the quota exactly
across gateways; ``open_peer`` stands for a second gateway process on the same ledger.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from ledger.bind_batcher import BindBatcher
from ledger.errors import BindHeldElsewhere, GatewayNotRegistered, UnknownAccount
from ledger.rules.binds import BindClaim, BindRelease
from ledger.store import Store
from tests.ledger.ledger_helpers import make_account

Peer = Callable[[], Awaitable[Store]]


def claim(session_id: str, system_id: str = "smpp-acme", gw: str = "gw-a", n: int = 2) -> BindClaim:
    return BindClaim(system_id, gw, session_id, "transceiver", n, peer="192.0.2.1")


async def test_a_batch_answers_each_claim_as_acquire_bind_would(store: Store) -> None:
    await make_account(store, max_binds=2)
    await make_account(store, "smpp-other")
    await store.register_gateway("gw-a", address="x")
    outcomes = await store.bind_batch(
        [
            claim("s1"),
            claim("s1"),  # the same session again: already holds its slot
            claim("s2"),
            claim("s3"),  # over the quota of 2
            claim("s1", "smpp-other"),  # the session holds a bind of another account
            claim("s4", "smpp-nobody"),
            claim("s5", gw="gw-never-registered"),
            BindRelease("gw-a", "s2"),
            claim("s3"),  # the release just before freed a slot
            BindRelease("gw-a", "never-bound"),
        ]
    )
    assert outcomes[:4] == [True, True, True, False]
    assert isinstance(outcomes[4], BindHeldElsewhere)
    assert isinstance(outcomes[5], UnknownAccount)
    assert isinstance(outcomes[6], GatewayNotRegistered)
    assert outcomes[7:] == [True, True, True]
    # The errors refused their own claims only: the rest committed.
    assert await store.bind_count("smpp-acme") == 2
    assert sorted(b.peer for b in await store.account_binds("smpp-acme")) == ["192.0.2.1"] * 2
    assert await store.bind_count("smpp-other") == 0
    assert await store.bind_batch([]) == []


async def test_batchers_hold_the_quota_exactly_across_gateways(
    store: Store, open_peer: Peer
) -> None:
    await make_account(store, max_binds=5)
    await make_account(store, "smpp-other", max_binds=3)
    peer = await open_peer()
    await store.register_gateway("gw-a", address="10.0.0.1:2775")
    await peer.register_gateway("gw-b", address="10.0.0.2:2775")
    batchers = {"gw-a": BindBatcher(store, max_batch=8), "gw-b": BindBatcher(peer, max_batch=8)}

    async def bind(n: int) -> tuple[str, bool]:
        gw = "gw-a" if n % 2 else "gw-b"
        # Both accounts in every batch, arriving in different orders on each gateway.
        system_id = "smpp-acme" if (n // 2) % 2 else "smpp-other"
        quota = 5 if system_id == "smpp-acme" else 3
        return system_id, await batchers[gw].acquire(claim(f"s{n}", system_id, gw, quota))

    granted = await asyncio.gather(*(bind(n) for n in range(60)))
    assert sum(ok for sid, ok in granted if sid == "smpp-acme") == 5
    assert sum(ok for sid, ok in granted if sid == "smpp-other") == 3
    assert await peer.bind_count("smpp-acme") == 5
    assert await store.bind_count("smpp-other") == 3
    # Concurrent binds were committed together, not one transaction each.
    assert batchers["gw-a"].batches < batchers["gw-a"].requests
    # Releases through the batcher free exactly their slots, for any gateway.
    held = [f"s{n}" for n, (_, ok) in enumerate(granted) if ok and n % 2]
    await asyncio.gather(*(batchers["gw-a"].release("gw-a", s) for s in held))
    freed = sum(1 for n, (sid, ok) in enumerate(granted) if ok and n % 2 and sid == "smpp-acme")
    assert await store.bind_count("smpp-acme") == 5 - freed
    for b in batchers.values():
        await b.close()


async def test_a_claim_error_reaches_its_caller_only(store: Store) -> None:
    await make_account(store, max_binds=4)
    await store.register_gateway("gw-a", address="x")
    batcher = BindBatcher(store)
    ok, unknown, other = await asyncio.gather(
        batcher.acquire(claim("s1", n=4)),
        batcher.acquire(claim("s2", "smpp-nobody", n=4)),
        batcher.acquire(claim("s3", n=4)),
        return_exceptions=True,
    )
    assert ok is True and other is True
    assert isinstance(unknown, UnknownAccount)
    assert batcher.batches < batcher.requests  # the three went in together
    assert await store.bind_count("smpp-acme") == 2
    await batcher.close()
    with pytest.raises(Exception, match="closed"):
        await batcher.acquire(claim("s4", n=4))
