"""DebitBatcher: group commit, one result per caller, failures reach every waiter."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from ledger.batcher import DebitBatcher
from ledger.errors import InvalidRequest, LedgerUnavailable
from ledger.models import DebitRequest, DebitResult, DebitStatus, RechargePolicy
from ledger.store import Store
from tests.ledger.ledger_helpers import full_journal, make_account, request


class GatedStore:
    """Wraps a store: records each batch and can hold a batch until the test opens a gate."""

    def __init__(self, inner: Store | None = None, *, fail: BaseException | None = None) -> None:
        self.inner = inner
        self.fail = fail
        self.batches: list[list[str]] = []
        self.gate = asyncio.Event()
        self.entered = asyncio.Event()

    async def debit_batch(self, requests: Sequence[DebitRequest]) -> list[DebitResult]:
        self.batches.append([r.idempotency_key for r in requests])
        self.entered.set()
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        assert self.inner is not None
        return await self.inner.debit_batch(requests)


async def test_requests_arriving_during_a_commit_form_the_next_batch(store: Store) -> None:
    await make_account(store, balance=1_000_000)
    gated = GatedStore(store)
    batcher = DebitBatcher(gated, max_batch=256)  # type: ignore[arg-type]
    first = asyncio.create_task(batcher.debit(request("first")))
    await gated.entered.wait()  # the first batch is committing ...
    rest = [asyncio.create_task(batcher.debit(request(f"k{i}"))) for i in range(99)]
    await asyncio.sleep(0)  # ... while 99 more arrive
    gated.gate.set()
    results = await asyncio.gather(first, *rest)
    await batcher.close()
    assert gated.batches == [["first"], [f"k{i}" for i in range(99)]]
    assert (batcher.batches, batcher.requests) == (2, 100)
    # Each caller got its own result.
    assert [r.message_id for r in results] == ["m-first", *(f"m-k{i}" for i in range(99))]
    assert {r.status for r in results} == {DebitStatus.OK}
    assert (await store.get_account("smpp-acme")).balance == 1_000_000 - 100 * 100


async def test_max_batch_splits(store: Store) -> None:
    await make_account(store, balance=1_000_000)
    gated = GatedStore(store)
    gated.gate.set()
    batcher = DebitBatcher(gated, max_batch=10)  # type: ignore[arg-type]
    results = await asyncio.gather(*(batcher.debit(request(f"k{i}")) for i in range(35)))
    assert [len(b) for b in gated.batches] == [10, 10, 10, 5]
    assert [r.balance_after for r in results] == [1_000_000 - 100 * (i + 1) for i in range(35)]


async def test_many_concurrent_debits_fewer_transactions(store: Store) -> None:
    price, k = 100, 150
    await make_account(store, balance=k * price)
    batcher = DebitBatcher(store, max_batch=64)
    results = await asyncio.gather(*(batcher.debit(request(f"k{i}")) for i in range(200)))
    await batcher.close()
    assert batcher.requests == 200
    assert batcher.batches < 200
    statuses = [r.status for r in results]
    # In order of arrival: the first k fit, the rest are refused.
    assert statuses == [DebitStatus.OK] * k + [DebitStatus.INSUFFICIENT_CREDIT] * (200 - k)
    debits = [e for e in await full_journal(store, "smpp-acme") if e.amount < 0]
    assert [e.message_id for e in debits] == [f"m-k{i}" for i in range(k)]


async def test_failure_reaches_every_waiter_and_later_batches_recover(store: Store) -> None:
    await make_account(store, balance=1_000_000)
    boom = LedgerUnavailable("database went away")
    gated = GatedStore(fail=boom)
    batcher = DebitBatcher(gated)  # type: ignore[arg-type]
    tasks = [asyncio.create_task(batcher.debit(request(f"k{i}"))) for i in range(5)]
    await gated.entered.wait()
    late = [asyncio.create_task(batcher.debit(request(f"late{i}"))) for i in range(3)]
    await asyncio.sleep(0)
    gated.gate.set()
    outcomes = await asyncio.gather(*tasks, *late, return_exceptions=True)
    assert all(o is boom for o in outcomes)
    assert len(gated.batches) == 2
    # The next batch works again once the store does.
    gated.fail, gated.inner = None, store
    ok = await batcher.debit(request("after"))
    assert ok.status is DebitStatus.OK
    await batcher.close()


async def test_cancelled_caller_does_not_cancel_the_batch(store: Store) -> None:
    await make_account(store, balance=1_000)
    gated = GatedStore(store)
    batcher = DebitBatcher(gated)  # type: ignore[arg-type]
    quitter = asyncio.create_task(batcher.debit(request("quitter")))
    stayer = asyncio.create_task(batcher.debit(request("stayer")))
    await gated.entered.wait()
    quitter.cancel()
    gated.gate.set()
    assert (await stayer).status is DebitStatus.OK
    with pytest.raises(asyncio.CancelledError):
        await quitter
    await batcher.close()
    # The quitter's debit was committed with the batch: its client may replay the key.
    assert (await store.get_account("smpp-acme")).balance == 800


async def test_closed_batcher_refuses(store: Store) -> None:
    await make_account(store, balance=1_000)
    batcher = DebitBatcher(store)
    await batcher.close()
    with pytest.raises(LedgerUnavailable):
        await batcher.debit(request("k1"))
    with pytest.raises(ValueError, match="max_batch"):
        DebitBatcher(store, max_batch=0)


async def test_malformed_request_fails_alone(store: Store) -> None:
    await make_account(store, balance=1_000)
    batcher = DebitBatcher(store)
    with pytest.raises(ValueError, match="more than zero"):
        await batcher.debit(request("bad", cost=0))
    assert (await batcher.debit(request("good"))).status is DebitStatus.OK
    await batcher.close()


async def test_enqueued_debits_share_one_batch_and_resolve_their_futures(store: Store) -> None:
    await make_account(store, balance=1_000)
    gated = GatedStore(store)
    batcher = DebitBatcher(gated)  # type: ignore[arg-type]
    gated.gate.set()
    # Queued in one loop turn, as a read's submit_sm are: one transaction for all.
    futures = [batcher.enqueue_debit(request(f"e{i}")) for i in range(3)]
    results = await asyncio.gather(*futures)
    assert [r.status for r in results] == [DebitStatus.OK] * 3
    assert [r.balance_after for r in results] == [900, 800, 700]
    assert gated.batches == [["e0", "e1", "e2"]]
    debits = [e for e in await full_journal(store, "smpp-acme") if e.amount < 0]
    assert [e.idempotency_key for e in debits] == ["e0", "e1", "e2"]
    await batcher.close()


async def test_enqueue_refuses_at_once_when_closed_or_malformed(store: Store) -> None:
    await make_account(store, balance=1_000)
    batcher = DebitBatcher(store)
    with pytest.raises(InvalidRequest):
        batcher.enqueue_debit(request("zero", cost=0))
    await batcher.close()
    with pytest.raises(LedgerUnavailable):
        batcher.enqueue_debit(request("late"))
    assert (await store.get_account("smpp-acme")).balance == 1_000


async def test_recharge_entry_ids_of_a_batch_are_the_journal_ids(store: Store) -> None:
    # Several entries in one batch (debits and the recharges they fire), inserted in one
    # statement: each result must name its own journal row.
    await make_account(store, balance=300)
    await store.set_recharge(
        "smpp-acme", RechargePolicy(threshold=5_000, amount=100_000, daily_cap=3)
    )
    results = await store.debit_batch([request(f"r{i}", cost=60_000) for i in range(3)])
    assert [r.status for r in results] == [DebitStatus.OK] * 3
    recharges = [e for r in results for e in r.recharges]
    assert recharges
    by_id = {e.id: e for e in await full_journal(store, "smpp-acme")}
    for e in recharges:
        assert by_id[e.id].idempotency_key == e.idempotency_key
        assert by_id[e.id].amount == e.amount
