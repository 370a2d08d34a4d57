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

:func:`test_the_bank_with_packages` runs the same with credit packages: workers also buy
packages (some valid a month only), send multi-part messages of mixed weights and
categories, and the clock jumps days ahead while an expiry sweep runs beside them. Then
also: each package's remainder is its purchase minus its draws plus its refunds minus
its write-off; no message drew on a package at or past its expiry; a write-off happens
only at or past the expiry and equals what was left; every accepted message's draws
pay each of its segments exactly once; the owner's credits changed only by journaled
debits and recharges, and its packages only by purchases, draws and write-offs.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from dataclasses import dataclass, field, replace

from ledger.errors import InsufficientCredit, OwnersDiffer
from ledger.models import DebitRequest, DebitStatus, EntryKind, RechargePolicy
from ledger.models.history import CREDITS_SOURCE
from ledger.models.packages import Package
from ledger.rules.packages import segment_draw
from ledger.store import Store
from tests.ledger.conftest import StoreFactory
from tests.ledger.ledger_helpers import FakeClock, make_account, message

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


# -- with credit packages ------------------------------------------------------------------
PACKAGE_OPERATIONS = 600  # per worker: 2,400 in all, plus the sweeper's


@dataclass
class PackageTally:
    """What one worker was told happened, with packages."""

    bought: Counter[str] = field(default_factory=Counter)  # owner -> milli-messages
    recharged: Counter[str] = field(default_factory=Counter)
    accepted: list[tuple[str, int, int]] = field(default_factory=list)  # id, segments, cost
    transfers: int = 0


async def package_worker(store: Store, n: int, tally: PackageTally) -> None:
    rng = random.Random(100 + n)
    sids = sorted(OWNER_OF)
    for i in range(PACKAGE_OPERATIONS):
        roll = rng.random()
        key = f"p{n}-{i}"
        if roll < 0.3:
            a, b = rng.sample(OWNERS[OWNER_OF[rng.choice(sids)]], 2)
            try:
                await store.transfer(a, b, rng.randint(1, 3_000), idempotency_key=key)
                tally.transfers += 1
            except InsufficientCredit:
                pass
        elif roll < 0.38:  # a purchase, sometimes valid a month only
            sid = rng.choice(sids)
            p = await store.buy_package(
                sid,
                rng.choice(["verification", "marketing", "general"]),
                100 * rng.randint(1, 3),
                idempotency_key=key,
                validity_months=rng.choice([1, 12]),
            )
            tally.bought[OWNER_OF[sid]] += p.total
        else:  # a batch of multi-part messages of mixed weights and categories
            batch = []
            for j in range(rng.randint(1, 4)):
                segments, weight = rng.randint(1, 4), rng.choice([500, 1000, 2500])
                base = message(f"m-{key}-{j}", rng.choice(sids), cost=segments * weight)
                msg = replace(
                    base,
                    segments=segments,
                    category=rng.choice(["", "verification", "marketing", "general"]),
                )
                batch.append(DebitRequest(f"{key}-{j}", msg))
            for req, result in zip(batch, await store.debit_batch(batch), strict=True):
                assert result.status in (DebitStatus.OK, DebitStatus.INSUFFICIENT_CREDIT)
                if result.status is DebitStatus.OK:
                    m = req.message
                    tally.accepted.append((m.message_id, m.segments, m.cost))
                for recharge in result.recharges:
                    tally.recharged[OWNER_OF[req.message.system_id]] += recharge.amount


async def sweeper(store: Store, clock: FakeClock, done: asyncio.Event) -> int:
    """Move the clock ahead by days and sweep expired packages until the workers end."""
    swept = 0
    while not done.is_set():
        await asyncio.sleep(0.05)
        clock.advance(days=4)
        swept += len(await store.expire_packages())
    return swept


async def test_the_bank_with_packages(
    store: Store, open_peer: StoreFactory, clock: FakeClock
) -> None:
    for owner, sids in OWNERS.items():
        for sid in sids:
            await make_account(store, sid, balance=START, owner=owner)
    for sid in ("smpp-a0", "smpp-c2"):
        await store.set_recharge(sid, RechargePolicy(threshold=2_000, amount=100_000, daily_cap=3))
    stores = [store] + [await open_peer() for _ in range(WORKERS - 1)]
    tallies = [PackageTally() for _ in range(WORKERS)]
    done = asyncio.Event()

    async def workers() -> None:
        try:
            await asyncio.gather(
                *(
                    package_worker(s, n, t)
                    for n, (s, t) in enumerate(zip(stores, tallies, strict=True))
                )
            )
        finally:
            done.set()

    _, swept = await asyncio.gather(workers(), sweeper(await open_peer(), clock, done))
    swept += len(await store.expire_packages())
    assert swept > 0  # some packages did expire and were written off
    assert await store.audit() == []

    packages: dict[str, Package] = {}
    for sid in OWNER_OF:
        for p in await store.packages(sid, limit=10_000):
            packages[p.package_id] = p
    drawn: Counter[str] = Counter()  # package_id -> milli-messages drawn by messages
    for p in packages.values():
        entries = await store.package_journal(p.package_id, limit=100_000)
        assert sum(e.amount for e in entries) == p.remaining >= 0
        kinds: Counter[EntryKind] = Counter()
        for e in entries:
            kinds[e.kind] += e.amount
            assert e.balance_after >= 0
            if e.kind is EntryKind.DEBIT:
                assert e.created_at < p.expires_at, "a message drew on an expired package"
            if e.kind is EntryKind.WRITE_OFF:
                assert e.created_at >= p.expires_at
        assert kinds[EntryKind.PACKAGE] == p.total
        assert set(kinds) <= {EntryKind.PACKAGE, EntryKind.DEBIT, EntryKind.WRITE_OFF}
        drawn[p.package_id] = -kinds[EntryKind.DEBIT]
        # Whatever was not drawn was written off once expired, or is still there.
        assert p.total + kinds[EntryKind.DEBIT] + kinds[EntryKind.WRITE_OFF] == p.remaining
        if clock.now >= p.expires_at:
            assert p.remaining == 0

    # Every accepted message paid each of its segments exactly once.
    accepted = [a for t in tallies for a in t.accepted]
    draws_of: dict[str, list[tuple[str, int]]] = {}
    for sid in OWNER_OF:
        before: str | None = None
        while True:
            page = await store.history(sid, limit=1000, before=before)
            for h in page.items:
                draws_of[h.message_id] = [(d.source, d.amount) for d in h.drawn_from]
            if page.next_before is None:
                break
            before = page.next_before
    package_drawn: Counter[str] = Counter()
    for mid, segments, cost in accepted:
        weight = cost // segments
        paid = 0
        for source, amount in draws_of[mid]:
            if source == CREDITS_SOURCE:
                assert amount % weight == 0
                paid += amount // weight
            else:
                assert amount % segment_draw(weight) == 0
                paid += amount // segment_draw(weight)
                package_drawn[source] += amount
        assert paid == segments, (mid, draws_of[mid])
    assert package_drawn == +drawn
    assert sum(package_drawn.values()) > 0

    for owner, sids in OWNERS.items():
        total, credit_kinds = 0, Counter[EntryKind]()
        for sid in sids:
            account = await store.get_account(sid)
            journal = await store.journal(sid, limit=100_000)
            assert account.balance == sum(e.amount for e in journal) >= 0
            total += account.balance
            for e in journal:
                credit_kinds[e.kind] += e.amount
        assert credit_kinds[EntryKind.TRANSFER_IN] + credit_kinds[EntryKind.TRANSFER_OUT] == 0
        recharged = sum(t.recharged[owner] for t in tallies)
        assert credit_kinds[EntryKind.RECHARGE] == recharged
        assert total == START * len(sids) + recharged + credit_kinds[EntryKind.DEBIT]
        owned = [p for p in packages.values() if OWNER_OF[p.system_id] == owner]
        assert sum(p.total for p in owned) == sum(t.bought[owner] for t in tallies)
