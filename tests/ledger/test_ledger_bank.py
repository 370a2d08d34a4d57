"""The bank test: concurrent transfers and debits over several owners, on both stores.

Three owners with three accounts each. Several workers, each on its own store (on
PostgreSQL: its own connection pool, as separate gateways would be), run a few thousand
operations at once: transfers both ways between accounts of one owner, debit batches on
those accounts (some firing auto-recharges), transfers that must be refused (across
owners, beyond the balance). Then:

- each owner's total changed only by journaled debits and recharges (transfers net to
  zero within the owner), and by exactly what the workers were told was debited and
  recharged;
- no balance is below zero, and each equals its journal;
- ``audit()`` is clean (per account, per pair of accounts, zero-sum with the house);
- no deadlock, serialisation failure or unavailability reached a caller: the only
  errors a worker sees are the refusals it provoked.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field

from ledger.errors import InsufficientCredit, OwnersDiffer
from ledger.models import DebitRequest, DebitStatus, EntryKind, RechargePolicy
from ledger.store import Store
from tests.ledger.conftest import StoreFactory
from tests.ledger.ledger_helpers import make_account, message

OWNERS = {f"owner-{o}": [f"smpp-{o}{i}" for i in range(3)] for o in "abc"}
OWNER_OF = {sid: owner for owner, sids in OWNERS.items() for sid in sids}
START = 100_000  # milli-credits per account
WORKERS = 4
OPERATIONS = 800  # per worker: 3,200 in all


@dataclass
class Tally:
    """What one worker was told happened."""

    debited: Counter[str] = field(default_factory=Counter)  # owner -> milli-credits
    recharged: Counter[str] = field(default_factory=Counter)
    transfers: int = 0
    refused: Counter[str] = field(default_factory=Counter)


async def worker(store: Store, n: int, tally: Tally) -> None:
    rng = random.Random(n)
    sids = sorted(OWNER_OF)
    for i in range(OPERATIONS):
        roll = rng.random()
        key = f"w{n}-{i}"
        if roll < 0.45:  # a transfer between two accounts of one owner, either way
            a, b = rng.sample(OWNERS[OWNER_OF[rng.choice(sids)]], 2)
            try:
                await store.transfer(a, b, rng.randint(1, 3_000), idempotency_key=key)
                tally.transfers += 1
            except InsufficientCredit:
                tally.refused["insufficient"] += 1
        elif roll < 0.5:  # one the ledger must refuse: across owners
            a, b = rng.sample(sids, 2)
            try:
                await store.transfer(a, b, 1, idempotency_key=key)
                assert OWNER_OF[a] == OWNER_OF[b]
                tally.transfers += 1
            except OwnersDiffer:
                assert OWNER_OF[a] != OWNER_OF[b]
                tally.refused["owners"] += 1
            except InsufficientCredit:
                assert OWNER_OF[a] == OWNER_OF[b]  # owners are checked first
                tally.refused["insufficient"] += 1
        else:  # a debit batch of 1-4 messages on random accounts
            batch = [
                DebitRequest(
                    f"{key}-{j}",
                    message(f"m-{key}-{j}", rng.choice(sids), cost=rng.randint(50, 900)),
                )
                for j in range(rng.randint(1, 4))
            ]
            for req, result in zip(batch, await store.debit_batch(batch), strict=True):
                assert result.status in (DebitStatus.OK, DebitStatus.INSUFFICIENT_CREDIT)
                owner = OWNER_OF[req.message.system_id]
                if result.status is DebitStatus.OK:
                    tally.debited[owner] += req.message.cost
                for recharge in result.recharges:
                    tally.recharged[owner] += recharge.amount


async def test_the_bank(store: Store, open_peer: StoreFactory) -> None:
    for owner, sids in OWNERS.items():
        for sid in sids:
            await make_account(store, sid, balance=START, owner=owner)
    # Some accounts recharge when they run low, so money also enters mid-run.
    for sid in ("smpp-a0", "smpp-b1"):
        await store.set_recharge(sid, RechargePolicy(threshold=2_000, amount=100_000, daily_cap=3))
    stores = [store] + [await open_peer() for _ in range(WORKERS - 1)]
    tallies = [Tally() for _ in range(WORKERS)]
    await asyncio.gather(
        *(worker(s, n, t) for n, (s, t) in enumerate(zip(stores, tallies, strict=True)))
    )

    assert sum(t.transfers for t in tallies) > 800
    assert sum(t.refused["owners"] for t in tallies) > 50
    assert await store.audit() == []
    by_kind: dict[str, Counter[EntryKind]] = {owner: Counter() for owner in OWNERS}
    for owner, sids in OWNERS.items():
        total = 0
        for sid in sids:
            account = await store.get_account(sid)
            journal = await store.journal(sid, limit=100_000)
            assert account.balance >= 0
            assert account.balance == sum(e.amount for e in journal)
            assert all(e.balance_after >= 0 for e in journal)
            total += account.balance
            for e in journal:
                by_kind[owner][e.kind] += e.amount
        kinds = by_kind[owner]
        # Transfers stay within the owner: their entries cancel out.
        assert kinds[EntryKind.TRANSFER_IN] + kinds[EntryKind.TRANSFER_OUT] == 0
        debited = sum(t.debited[owner] for t in tallies)
        recharged = sum(t.recharged[owner] for t in tallies)
        assert -kinds[EntryKind.DEBIT] == debited
        assert kinds[EntryKind.RECHARGE] == recharged
        assert kinds[EntryKind.CREDIT] == START * len(sids)
        assert total == START * len(sids) + recharged - debited
    assert sum(sum(t.recharged.values()) for t in tallies) > 0  # recharges did fire
