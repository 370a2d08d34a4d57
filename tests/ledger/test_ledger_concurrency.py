"""Contract under concurrency: exactly K, one recharge per crossing, replayable history.

Each store is also opened a second time on the same database (``open_peer``) to stand for
a second gateway process: on SQLite that is a second writer thread on the same file, on
PostgreSQL a second connection pool.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import date

import pytest

from ledger.batcher import DebitBatcher
from ledger.models import (
    AccountStatus,
    DebitRequest,
    DebitResult,
    DebitStatus,
    EntryKind,
    JournalEntry,
    MessageState,
    RechargePolicy,
)
from ledger.store import Store
from tests.ledger.ledger_helpers import FakeClock, full_journal, make_account, request

Debit = Callable[[DebitRequest], Awaitable[DebitResult]]


async def _debit_functions(
    store: Store, open_peer: Callable[[], Awaitable[Store]], via: str
) -> tuple[list[Debit], list[DebitBatcher]]:
    """Two "processes", each debiting directly (one transaction each) or via a batcher."""
    stores = [store, await open_peer()]
    if via == "direct":

        def direct(s: Store) -> Debit:
            async def debit(req: DebitRequest) -> DebitResult:
                [result] = await s.debit_batch([req])
                return result

            return debit

        return [direct(s) for s in stores], []
    batchers = [DebitBatcher(s, max_batch=8) for s in stores]
    return [b.debit for b in batchers], batchers


@pytest.mark.parametrize("via", ["direct", "batcher"])
async def test_exactly_k_accepted(
    store: Store, open_peer: Callable[[], Awaitable[Store]], via: str
) -> None:
    price, k, clients = 100, 120, 16
    await make_account(store, balance=k * price)
    debits, batchers = await _debit_functions(store, open_peer, via)
    outcomes: list[DebitResult] = []

    async def client(n: int) -> None:
        debit = debits[n % len(debits)]
        i = 0
        while True:
            result = await debit(request(f"c{n}-{i}", cost=price))
            outcomes.append(result)
            if result.status is not DebitStatus.OK:
                return
            i += 1

    await asyncio.gather(*(client(n) for n in range(clients)))
    for b in batchers:
        await b.close()

    accepted = [r for r in outcomes if r.status is DebitStatus.OK]
    refused = [r for r in outcomes if r.status is not DebitStatus.OK]
    assert len(accepted) == k
    assert len(refused) == clients  # each client stops at its first refusal
    # No refusal while credit remained: every refusal saw a balance below the price.
    assert {(r.status, r.balance_after) for r in refused} == {(DebitStatus.INSUFFICIENT_CREDIT, 0)}
    assert (await store.get_account("smpp-acme")).balance == 0
    entries = await full_journal(store, "smpp-acme")
    debit_rows = [e for e in entries if e.kind is EntryKind.DEBIT]
    assert len(debit_rows) == k
    assert sum(e.amount for e in entries) == 0
    assert sorted(e.message_id or "" for e in debit_rows) == sorted(r.message_id for r in accepted)
    assert len(await store.unforwarded(limit=10_000)) == k


@pytest.mark.parametrize("via", ["direct", "batcher"])
async def test_one_recharge_per_crossing(
    store: Store, open_peer: Callable[[], Awaitable[Store]], via: str
) -> None:
    start, price = 2_000, 1_000
    policy = RechargePolicy(threshold=500, amount=100_000, daily_cap=3)
    await make_account(store, balance=start)
    await store.set_recharge("smpp-acme", policy)
    debits, batchers = await _debit_functions(store, open_peer, via)
    accepted = 0

    async def client(n: int) -> None:
        nonlocal accepted
        debit = debits[n % len(debits)]
        i = 0
        while True:
            result = await debit(request(f"c{n}-{i}", cost=price))
            if result.status is not DebitStatus.OK:
                assert result.status is DebitStatus.INSUFFICIENT_CREDIT
                return
            accepted += 1
            i += 1

    await asyncio.gather(*(client(n) for n in range(16)))
    for b in batchers:
        await b.close()

    assert accepted == (start + policy.daily_cap * policy.amount) // price  # 302
    entries = await full_journal(store, "smpp-acme")
    recharge_at = [i for i, e in enumerate(entries) if e.kind is EntryKind.RECHARGE]
    assert len(recharge_at) == policy.daily_cap
    for i in recharge_at:
        # Right after the debit that crossed the threshold, in the same transaction.
        crossing, recharge = entries[i - 1], entries[i]
        assert crossing.kind is EntryKind.DEBIT
        assert crossing.balance_after <= policy.threshold < crossing.balance_after + price
        assert recharge.idempotency_key == f"recharge:{crossing.idempotency_key}"
        assert recharge.created_at == crossing.created_at
    assert (await store.get_account("smpp-acme")).balance == 0


# -- history check ------------------------------------------------------------------------------


def assert_history_replays(
    entries_by_account: dict[str, list[JournalEntry]], balances: dict[str, int]
) -> None:
    """Replaying each account's journal in id order reproduces every stored balance."""
    for system_id, entries in entries_by_account.items():
        running = 0
        ids = [e.id for e in entries]
        assert ids == sorted(ids)
        for e in entries:
            running += e.amount
            assert running >= 0, f"{system_id} went negative at entry {e.id}"
            assert running == e.balance_after, f"{system_id} entry {e.id}: {e}"
            assert (e.amount < 0) == (e.kind is EntryKind.DEBIT)
        assert running == balances[system_id]


@dataclass
class Model:
    """The ledger's rules, written out plainly, to predict each outcome."""

    balance: dict[str, int] = field(default_factory=dict)
    status: dict[str, AccountStatus] = field(default_factory=dict)
    policy: dict[str, RechargePolicy | None] = field(default_factory=dict)
    recharges: Counter[tuple[str, date]] = field(default_factory=Counter)
    keys: dict[str, tuple[tuple[object, ...], DebitResult]] = field(default_factory=dict)
    message_ids: set[str] = field(default_factory=set)

    def debit(self, req: DebitRequest, today: date) -> tuple[DebitStatus, str, int, int]:
        """(status, message id, balance after, recharges fired) for one request."""
        m = req.message
        body = (m.system_id, m.cost, m.source_addr, m.destination_addr, m.pdu_body)
        bal = self.balance.get(m.system_id, 0)
        if req.idempotency_key in self.keys:
            first_body, first = self.keys[req.idempotency_key]
            if first_body == body:
                return DebitStatus.DUPLICATE, first.message_id, first.balance_after, -1
            return DebitStatus.IDEMPOTENCY_CONFLICT, m.message_id, bal, 0
        if m.system_id not in self.balance:
            return DebitStatus.UNKNOWN_ACCOUNT, m.message_id, 0, 0
        if self.status[m.system_id] is AccountStatus.DISABLED:
            return DebitStatus.ACCOUNT_DISABLED, m.message_id, bal, 0
        if m.message_id in self.message_ids:
            return DebitStatus.IDEMPOTENCY_CONFLICT, m.message_id, bal, 0
        p = self.policy[m.system_id]
        room = p is not None and self.recharges[(m.system_id, today)] < p.daily_cap
        fired = 0
        if bal >= m.cost:
            bal -= m.cost
            if p is not None and room and bal <= p.threshold < bal + m.cost:
                bal += p.amount
                fired = 1
        elif p is not None and room and bal + p.amount >= m.cost:
            bal += p.amount - m.cost
            fired = 1
        else:
            return DebitStatus.INSUFFICIENT_CREDIT, m.message_id, bal, 0
        self.balance[m.system_id] = bal
        self.recharges[(m.system_id, today)] += fired
        self.message_ids.add(m.message_id)
        return DebitStatus.OK, m.message_id, bal, fired

    def remember(self, req: DebitRequest, result: DebitResult) -> None:
        """Keep an accepted request's body and result for later replays."""
        m = req.message
        body = (m.system_id, m.cost, m.source_addr, m.destination_addr, m.pdu_body)
        self.keys[req.idempotency_key] = (body, result)


@pytest.mark.parametrize("seed", [11, 22, 33])
async def test_history_matches_model(store: Store, clock: FakeClock, seed: int) -> None:
    rng = random.Random(seed)
    accounts = ["smpp-a", "smpp-b", "smpp-c"]
    model = Model()
    policy = RechargePolicy(threshold=2_000, amount=100_000, daily_cap=2)
    for sid in accounts:
        start = rng.randrange(0, 20_000)
        await make_account(store, sid, balance=start)
        model.balance[sid], model.status[sid], model.policy[sid] = start, AccountStatus.ACTIVE, None
    await store.set_recharge("smpp-a", policy)
    model.policy["smpp-a"] = policy

    sent: list[DebitRequest] = []
    accepted: dict[str, int] = {}  # message id -> cost
    refunded: set[str] = set()
    n = 0
    for _ in range(70):
        roll = rng.random()
        if roll < 0.6:
            batch: list[DebitRequest] = []
            for _ in range(rng.randrange(1, 16)):
                n += 1
                if sent and rng.random() < 0.15:
                    old = rng.choice(sent)
                    same = rng.random() < 0.5  # replay, or the same key with a new text
                    text = None if same else f"other {n}"
                    key = old.idempotency_key
                    sid = old.message.system_id
                    cost = old.message.cost
                    if same:
                        batch.append(DebitRequest(key, replace(old.message, message_id=f"m-{n}")))
                        continue
                    batch.append(request(key, sid, cost=cost, message_id=f"m-{n}", text=text))
                    continue
                sid = rng.choice([*accounts, "smpp-ghost"])
                batch.append(
                    request(f"k{n}", sid, cost=rng.randrange(1, 6_000), message_id=f"m-{n}")
                )
            today = clock.now.date()
            results = await store.debit_batch(batch)
            for req, got in zip(batch, results, strict=True):
                want = model.debit(req, today)
                assert (got.status, got.message_id, got.balance_after) == want[:3], req
                if want[3] >= 0:
                    assert len(got.recharges) == want[3]
                if got.status is DebitStatus.OK:
                    model.remember(req, got)
                    accepted[got.message_id] = req.message.cost
                sent.append(req)
        elif roll < 0.72:
            sid = rng.choice(accounts)
            amount = rng.randrange(1, 10_000)
            await store.credit(sid, amount, idempotency_key=f"credit{n}")
            model.balance[sid] += amount
            n += 1
        elif roll < 0.82 and accepted:
            mid = rng.choice(sorted(accepted))
            entry = await store.refund(mid, reason="random")
            if mid not in refunded:
                sid = entry.system_id
                model.balance[sid] += accepted[mid]
                refunded.add(mid)
            assert entry.balance_after >= accepted[mid]
        elif roll < 0.9:
            sid = rng.choice(accounts)
            new = rng.choice([AccountStatus.ACTIVE, AccountStatus.DISABLED])
            await store.set_status(sid, new)
            model.status[sid] = new
        else:
            clock.advance(hours=rng.randrange(1, 14))

    balances = {a.system_id: a.balance for a in await store.list_accounts()}
    assert balances == model.balance
    journals = {sid: await full_journal(store, sid) for sid in accounts}
    assert_history_replays(journals, balances)
    # Each success exactly once, each failure never.
    debit_ids = Counter(
        e.message_id for es in journals.values() for e in es if e.kind is EntryKind.DEBIT
    )
    assert debit_ids == Counter(accepted.keys())
    assert set(debit_ids.values()) <= {1}
    refunds = Counter(
        e.message_id for es in journals.values() for e in es if e.kind is EntryKind.REFUND
    )
    assert set(refunds) == refunded
    assert set(refunds.values()) <= {1}
    for mid in refunded:
        assert (await store.get_message(mid)).state is MessageState.REJECTED
    # Never more recharges in a UTC day than the cap.
    per_day = Counter(
        e.created_at.date() for e in journals["smpp-a"] if e.kind is EntryKind.RECHARGE
    )
    assert all(v <= policy.daily_cap for v in per_day.values())


async def test_history_under_concurrency(
    store: Store, open_peer: Callable[[], Awaitable[Store]]
) -> None:
    """Random concurrent workload from two "processes": the journal still replays."""
    rng = random.Random(7)
    accounts = ["smpp-a", "smpp-b", "smpp-c", "smpp-d"]
    for sid in accounts:
        await make_account(store, sid, balance=rng.randrange(0, 30_000))
    await store.set_recharge("smpp-b", RechargePolicy(threshold=1_000, amount=100_000, daily_cap=2))
    peer = await open_peer()
    stores = [store, peer]
    ok_ids: defaultdict[str, int] = defaultdict(int)

    async def worker(w: int) -> None:
        r = random.Random(w)
        for i in range(12):
            s = stores[r.randrange(2)]
            if r.random() < 0.2:
                await s.credit(
                    r.choice(accounts), r.randrange(1, 3_000), idempotency_key=f"w{w}c{i}"
                )
                continue
            batch = [
                request(f"w{w}-{i}-{j}", r.choice(accounts), cost=r.randrange(1, 4_000))
                for j in range(r.randrange(1, 10))
            ]
            for res in await s.debit_batch(batch):
                if res.status is DebitStatus.OK:
                    ok_ids[res.message_id] += 1

    await asyncio.gather(*(worker(w) for w in range(16)))
    balances = {a.system_id: a.balance for a in await store.list_accounts()}
    journals = {sid: await full_journal(store, sid) for sid in accounts}
    assert_history_replays(journals, balances)
    debit_ids = Counter(
        e.message_id for es in journals.values() for e in es if e.kind is EntryKind.DEBIT
    )
    assert debit_ids == Counter(ok_ids)


# -- idempotency under concurrency ----------------------------------------------------------------


async def test_same_key_replayed_concurrently_and_after_restart(
    store: Store, open_peer: Callable[[], Awaitable[Store]]
) -> None:
    await make_account(store, balance=10_000)
    stores = [store, await open_peer()]

    async def submit(n: int) -> DebitResult:
        # Every retry of the client gets a fresh message id from its gateway.
        [r] = await stores[n % 2].debit_batch([request("the-key", message_id=f"m-{n}")])
        return r

    results = await asyncio.gather(*(submit(n) for n in range(16)))
    ok = [r for r in results if r.status is DebitStatus.OK]
    assert len(ok) == 1
    original = ok[0].message_id
    assert {(r.status, r.message_id) for r in results if r not in ok} == {
        (DebitStatus.DUPLICATE, original)
    }
    # "Restart": a process that opens the database afresh still answers the original.
    restarted = await open_peer()
    [again] = await restarted.debit_batch([request("the-key", message_id="m-after-restart")])
    assert (again.status, again.message_id, again.balance_after) == (
        DebitStatus.DUPLICATE,
        original,
        9_900,
    )
    debits = [e for e in await full_journal(store, "smpp-acme") if e.kind is EntryKind.DEBIT]
    assert [e.message_id for e in debits] == [original]


async def test_same_key_on_two_accounts_at_once(
    store: Store, open_peer: Callable[[], Awaitable[Store]]
) -> None:
    """Racing batches that lock different accounts still never write one key twice."""
    await make_account(store, "smpp-a", balance=100_000)
    await make_account(store, "smpp-b", balance=100_000)
    peer = await open_peer()
    pairs = await asyncio.gather(
        *(
            asyncio.gather(
                store.debit_batch([request(f"k{i}", "smpp-a", message_id=f"a{i}")]),
                peer.debit_batch([request(f"k{i}", "smpp-b", message_id=f"b{i}")]),
            )
            for i in range(20)
        )
    )
    for [a], [b] in pairs:
        assert sorted([a.status, b.status]) == sorted(
            [DebitStatus.OK, DebitStatus.IDEMPOTENCY_CONFLICT]
        )
    total = sum([len(await store.journal(s, limit=1_000)) for s in ("smpp-a", "smpp-b")])
    assert total == 2 + 20  # two seed credits and one debit per key
