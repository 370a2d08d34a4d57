"""Contract: ``refund_many``, the batch refund of cancel_sm by addresses, on every store.

The rules are the single refund's (``refund``), so each test compares the two: the same
entries and keys, the same package legs, exactly once however the two interleave.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from ledger.backends.postgres import parse_url
from ledger.errors import InvalidRequest
from ledger.models import DebitRequest, EntryKind, MessageState
from ledger.models.outcome import RefundRefusal
from ledger.rules.idempotency import refund_key
from ledger.store import Store
from tests.ledger.conftest import StoreFactory, pg_dsn
from tests.ledger.ledger_helpers import full_journal, make_account, message

M = 1000  # milli-messages of a package


async def _owned(store: Store, mids: list[str], owner: str = "gw-a", cost: int = 100) -> None:
    requests = [DebitRequest(f"k-{m}", replace(message(m, cost=cost), owner=owner)) for m in mids]
    results = await store.debit_batch(requests)
    assert [r.message_id for r in results] == mids


async def test_a_batch_refunds_every_message_once_in_one_go(store: Store) -> None:
    await make_account(store, balance=10_000)
    mids = [f"m{i}" for i in range(5)]
    await _owned(store, mids, cost=150)
    assert (await store.get_account("smpp-acme")).balance == 10_000 - 5 * 150
    outcomes = await store.refund_many(mids, reason="cancel_sm", holder="gw-a")
    assert [o.message_id for o in outcomes] == mids
    assert all(o.refused is None for o in outcomes)
    entries = [o.entry for o in outcomes if o.entry is not None]
    assert [(e.kind, e.amount, e.message_id) for e in entries] == [
        (EntryKind.REFUND, 150, m) for m in mids
    ]
    assert [e.idempotency_key for e in entries] == [refund_key(m) for m in mids]
    # The balance after each entry follows the one before, as five single refunds would.
    assert [e.balance_after for e in entries] == [10_000 - 150 * (4 - i) for i in range(5)]
    journal = await full_journal(store, "smpp-acme")
    assert entries == [e for e in journal if e.kind is EntryKind.REFUND]
    assert (await store.get_account("smpp-acme")).balance == 10_000
    for mid in mids:
        assert (await store.get_message(mid)).state is MessageState.REJECTED
        assert (await store.message_outcome(mid)).refund_note == "cancel_sm"
    assert await store.refund_many([], reason="cancel_sm") == []


async def test_a_batch_and_single_refunds_refund_a_message_once(store: Store) -> None:
    await make_account(store, balance=10_000)
    await _owned(store, ["a", "b", "c"])
    single = await store.refund("b", reason="upstream 0x45")
    first = await store.refund_many(["a", "b", "c", "a"], reason="cancel_sm", holder="gw-a")
    # A duplicate id is one outcome; "b" answers the single refund's entry (its replay).
    assert [o.message_id for o in first] == ["a", "b", "c"]
    assert first[1].entry == single
    journal = await full_journal(store, "smpp-acme")
    # A retry of the batch (its answer lost) writes nothing and answers the same.
    assert await store.refund_many(["a", "b", "c"], reason="cancel_sm", holder="gw-a") == first
    # So does a single refund afterwards, held or not.
    assert await store.refund("c", reason="x", holder="gw-a") == first[2].entry
    assert await store.refund("a", reason="x") == first[0].entry
    assert await full_journal(store, "smpp-acme") == journal
    assert (await store.get_account("smpp-acme")).balance == 10_000


async def test_a_held_batch_refunds_only_the_holders_unforwarded_messages(store: Store) -> None:
    await make_account(store, balance=10_000)
    await _owned(store, ["mine", "sent", "done"])
    await _owned(store, ["theirs"], owner="gw-b")
    await store.mark_forwarded([("sent", "up-1"), ("done", "up-2")])
    done = await store.refund("done", reason="upstream 0x45")  # refunded after forwarding
    outcomes = await store.refund_many(
        ["mine", "sent", "theirs", "done", "nope"], reason="cancel_sm", holder="gw-a"
    )
    by_id = {o.message_id: o for o in outcomes}
    assert by_id["mine"].entry is not None and by_id["mine"].entry.amount == 100
    assert (by_id["sent"].refused, by_id["sent"].entry) == (RefundRefusal.NOT_HELD, None)
    assert by_id["theirs"].refused is RefundRefusal.NOT_HELD
    assert (by_id["done"].refused, by_id["done"].entry) == (None, done)  # a replay
    assert by_id["nope"].refused is RefundRefusal.UNKNOWN
    assert (await store.get_message("sent")).state is MessageState.FORWARDED
    assert (await store.get_message("theirs")).state is MessageState.ACCEPTED
    assert (await store.get_account("smpp-acme")).balance == 10_000 - 200
    # Without a holder the batch refunds whatever it is asked to (as ``refund`` does).
    [sent] = await store.refund_many(["sent"], reason="upstream 0x45")
    assert sent.entry is not None and sent.entry.kind is EntryKind.REFUND
    with pytest.raises(InvalidRequest):
        await store.refund_many([f"x{i}" for i in range(10_001)], reason="cancel_sm")


async def test_a_batch_gives_package_paid_messages_back_to_their_package(store: Store) -> None:
    await make_account(store, balance=10_000)
    p = await store.buy_package("smpp-acme", "general", 100, idempotency_key="buy", name="g")
    # p1: 60 segments from the package; p2: the package's last 40 and one from the credits
    # (two legs); c3: the credits alone.
    sizes = {"p1": 60, "p2": 41, "c3": 1}
    requests = [
        DebitRequest(f"k-{m}", replace(message(m), segments=n, cost=n * 100, owner="gw-a"))
        for m, n in sizes.items()
    ]
    assert [r.message_id for r in await store.debit_batch(requests)] == list(sizes)
    assert (await store.package(p.package_id)).remaining == 0
    assert (await store.get_account("smpp-acme")).balance == 10_000 - 200
    outcomes = await store.refund_many(["p1", "c3", "p2"], reason="cancel_sm", holder="gw-a")
    entries = {o.message_id: o.entry for o in outcomes}
    assert all(e is not None and e.kind is EntryKind.REFUND for e in entries.values())
    assert (await store.package(p.package_id)).remaining == 100 * M
    assert (await store.get_account("smpp-acme")).balance == 10_000
    legs = [e for e in await store.package_journal(p.package_id) if e.kind is EntryKind.REFUND]
    # Each message's first leg has its refund key; the package's remainder after each
    # leg follows the one before, as two single refunds leave it.
    assert [(e.message_id, e.amount, e.balance_after, e.idempotency_key) for e in legs] == [
        ("p2", 40 * M, 100 * M, refund_key("p2")),
        ("p1", 60 * M, 60 * M, refund_key("p1")),
    ]
    credits = [e for e in await full_journal(store, "smpp-acme") if e.kind is EntryKind.REFUND]
    assert sorted((e.message_id, e.amount) for e in credits) == [("c3", 100), ("p2", 100)]
    # Replayed, as the single refund answers a package-paid message.
    assert await store.refund("p2", reason="cancel_sm") == entries["p2"]
    again = await store.refund_many(["p1", "c3", "p2"], reason="cancel_sm", holder="gw-a")
    assert {o.message_id: o.entry for o in again} == entries
    assert (await store.package(p.package_id)).remaining == 100 * M


async def test_a_batch_racing_single_refunds_refunds_each_message_once(
    store: Store, open_peer: StoreFactory
) -> None:
    """Another gateway process refunds some of the messages (by id) while the batch runs."""
    await make_account(store, balance=100_000)
    mids = [f"r{i}" for i in range(60)]
    await _owned(store, mids)
    peer = await open_peer()

    async def singles() -> list[int]:
        return [(await peer.refund(m, reason="cancel_sm", holder="gw-a")).id for m in mids[::3]]

    batch, single_ids = await asyncio.gather(
        store.refund_many(mids, reason="cancel_sm", holder="gw-a"), singles()
    )
    refunds = [e for e in await full_journal(store, "smpp-acme") if e.kind is EntryKind.REFUND]
    assert sorted(e.message_id or "" for e in refunds) == sorted(mids)  # each exactly once
    assert {o.message_id: o.entry.id for o in batch if o.entry is not None} == {
        e.message_id: e.id for e in refunds
    }
    assert set(single_ids) <= {e.id for e in refunds}
    assert (await store.get_account("smpp-acme")).balance == 100_000


async def test_a_held_batch_skips_what_another_gateway_adopted(
    store: Store, open_peer: StoreFactory
) -> None:
    await make_account(store, balance=10_000)
    await store.register_gateway("gw-a", address="a:2775")  # alive: its messages stay
    await store.register_gateway("gw-b", address="b:2775")
    await _owned(store, ["kept"])
    await _owned(store, ["taken"], owner="")  # nobody's: the first adopter takes it
    peer = await open_peer()
    assert [m.message_id for m in await peer.adopt_unforwarded("gw-b")] == ["taken"]
    kept, taken = await store.refund_many(["kept", "taken"], reason="cancel_sm", holder="gw-a")
    assert kept.entry is not None and taken.refused is RefundRefusal.NOT_HELD
    assert (await store.get_message("taken")).state is MessageState.ACCEPTED
    assert (await store.get_account("smpp-acme")).balance == 10_000 - 100


# -- PostgreSQL: an adoption between the holder check and the write -------------------------
@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_a_held_batch_runs_again_when_an_adoption_commits_before_its_write(
    store: Store, store_url: str
) -> None:
    """The batch read "taken" as gw-a's, then waited for the account's lock while another
    gateway adopted it: the check after the write rolls it back, the next run skips it."""
    await make_account(store, balance=10_000)
    await _owned(store, ["kept", "taken"])
    _, schema, _ = parse_url(store_url)
    other = await asyncpg.connect(pg_dsn(), server_settings={"search_path": f'"{schema}"'})
    try:
        tx = other.transaction()
        await tx.start()
        await other.execute("SELECT 1 FROM accounts WHERE system_id = 'smpp-acme' FOR UPDATE")
        batch = asyncio.create_task(
            store.refund_many(["kept", "taken"], reason="cancel_sm", holder="gw-a")
        )
        blocked = "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"
        for _ in range(200):  # until the batch waits for the account (past its check)
            if await other.fetchval(blocked, other.get_server_pid()):
                break
            await asyncio.sleep(0.02)
        assert await other.fetchval(blocked, other.get_server_pid()) == 1
        # The adoption commits with the lock's release, before the batch writes.
        await other.execute("UPDATE messages SET owner = 'gw-b' WHERE message_id = 'taken'")
        await tx.commit()
        kept, taken = await asyncio.wait_for(batch, 10)
    finally:
        await other.close()
    assert kept.entry is not None and kept.entry.amount == 100
    assert (taken.entry, taken.refused) == (None, RefundRefusal.NOT_HELD)
    record = await store.get_message("taken")
    assert (record.state, record.owner) == (MessageState.ACCEPTED, "gw-b")
    refunds = [e for e in await full_journal(store, "smpp-acme") if e.kind is EntryKind.REFUND]
    assert [e.message_id for e in refunds] == ["kept"]
    assert (await store.get_account("smpp-acme")).balance == 10_000 - 100
