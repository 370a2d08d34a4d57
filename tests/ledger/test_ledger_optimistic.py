"""Debit batches on PostgreSQL without a lock: read, then write only if nothing changed.

The races are made real, not simulated: between the batch's read and its write, a
second store (its own pool) commits a credit, or the same debit, at exactly that moment.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

import pytest

from ledger.backends.postgres import PostgresBackend
from ledger.backends.postgres_optimistic import Attempt
from ledger.models import DebitStatus
from ledger.store import Store, open_store
from tests.ledger.conftest import fresh_pg_schema
from tests.ledger.ledger_helpers import make_account, request

pytestmark = pytest.mark.postgres

ACME = "smpp-acme"


@pytest.fixture
def url() -> Iterator[str]:
    """A ledger URL on a schema of its own."""
    yield from fresh_pg_schema("optimistic")


@pytest.fixture
async def stores(url: str) -> AsyncIterator[tuple[Store, Store]]:
    """Two stores (two pools, as two gateways) on one database, ACME holding 10 credits."""
    first = await open_store(url)
    await first.upgrade()
    second = await open_store(url)
    await make_account(first, ACME, balance=10_000)
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
def locking_runs(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The backend of each script PostgreSQL runs the locking way (BEGIN ... COMMIT)."""
    runs: list[object] = []
    original = PostgresBackend._transaction

    async def counted(self: PostgresBackend, script: Any) -> Any:
        runs.append(self)
        return await original(self, script)

    monkeypatch.setattr(PostgresBackend, "_transaction", counted)
    return runs


def between_read_and_write(
    monkeypatch: pytest.MonkeyPatch, action: Callable[[], Awaitable[object]]
) -> list[int]:
    """Run ``action`` once, right after the first optimistic read; its calls are counted."""
    done: list[int] = []
    original = Attempt._read

    async def read_then_act(self: Attempt, op: Any, seen: dict[str, int]) -> Any:
        result = await original(self, op, seen)
        if not done:
            done.append(1)
            await action()
        return result

    monkeypatch.setattr(Attempt, "_read", read_then_act)
    return done


async def test_a_debit_batch_needs_no_transaction_block(
    stores: tuple[Store, Store], locking_runs: list[object]
) -> None:
    first, _ = stores
    results = await first.debit_batch([request(f"k{i}", ACME, cost=100) for i in range(5)])
    assert [r.status for r in results] == [DebitStatus.OK] * 5
    assert locking_runs == []
    assert (await first.get_account(ACME)).balance == 10_000 - 500
    assert await first.audit() == []


async def test_a_credit_committed_between_read_and_write_is_kept(
    stores: tuple[Store, Store], locking_runs: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = stores
    # Without the xmin check the batch would write the balance it read, 10,000 - 100,
    # and the credit of 5,000 would vanish from the balance but not from the journal.
    raced = between_read_and_write(
        monkeypatch, lambda: second.credit(ACME, 5_000, idempotency_key="late-credit")
    )
    [result] = await first.debit_batch([request("k1", ACME, cost=100)])
    assert raced == [1]
    assert result.status is DebitStatus.OK
    # The optimistic write lost, and the batch ran again the locking way.
    assert locking_runs.count(first.backend) == 1
    assert (await first.get_account(ACME)).balance == 10_000 + 5_000 - 100
    assert result.balance_after == 10_000 + 5_000 - 100
    assert await first.audit() == []
    # Having lost once, the next batches lock first (contention is likely to go on).
    await first.debit_batch([request("k2", ACME, cost=100)])
    assert locking_runs.count(first.backend) == 2


async def test_the_same_debit_committed_meanwhile_is_a_duplicate(
    stores: tuple[Store, Store], locking_runs: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = stores
    debit = request("k1", ACME, cost=100)
    between_read_and_write(monkeypatch, lambda: second.debit_batch([debit]))
    [result] = await first.debit_batch([debit])
    assert result.status is DebitStatus.DUPLICATE
    assert locking_runs.count(first.backend) == 1
    assert (await first.get_account(ACME)).balance == 10_000 - 100
    assert len(await first.journal(ACME)) == 2  # the first credit and one debit
    assert await first.audit() == []


async def test_a_refused_batch_writes_nothing_and_needs_no_lock(
    stores: tuple[Store, Store], locking_runs: list[object]
) -> None:
    first, _ = stores
    [result] = await first.debit_batch([request("big", ACME, cost=20_000)])
    assert result.status is DebitStatus.INSUFFICIENT_CREDIT
    assert locking_runs == []
    assert (await first.get_account(ACME)).balance == 10_000


async def test_many_gateways_on_one_hot_account_lose_nothing(
    stores: tuple[Store, Store], url: str
) -> None:
    import asyncio

    first, second = stores
    more = [await open_store(url) for _ in range(2)]
    try:
        writers = [first, second, *more]

        async def debit(store: Store, n: int) -> list[DebitStatus]:
            batch = [request(f"w{n}-{i}", ACME, cost=7) for i in range(10)]
            return [r.status for r in await store.debit_batch(batch)]

        statuses = await asyncio.gather(*(debit(writers[n % len(writers)], n) for n in range(40)))
        assert all(s == [DebitStatus.OK] * 10 for s in statuses)
        assert (await first.get_account(ACME)).balance == 10_000 - 40 * 10 * 7
        assert await first.audit() == []
    finally:
        for store in more:
            await store.close()
