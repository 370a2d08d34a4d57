"""Message history (filters, keyset pages, receipts) and its retention, on both stores."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledger.errors import InvalidRequest, UnknownAccount
from ledger.models import DebitRequest, DebitStatus, EntryKind, MessageState, NewReceipt
from ledger.models.history import CREDITS_SOURCE, DrawnFrom
from ledger.store import Store
from tests.ledger.ledger_helpers import FakeClock, make_account, message

DESTINATIONS = ("33612345678", "33712345678", "447700900123", "4915112345678")


async def send(
    store: Store, clock: FakeClock, count: int, system_id: str = "smpp-a", first: int = 0
) -> list[str]:
    """``count`` debits, one transaction each a second apart, destinations in turn."""
    ids = []
    for i in range(first, first + count):
        mid = f"{system_id}-m{i:03d}"
        dest = DESTINATIONS[i % len(DESTINATIONS)]
        msg = message(mid, system_id, cost=100 + i, destination=dest)
        [result] = await store.debit_batch([DebitRequest(f"k-{mid}", msg)])
        assert (result.status, result.message_id) == (DebitStatus.OK, mid)
        ids.append(mid)
        clock.advance(seconds=1)
    return ids


async def all_pages(store: Store, system_id: str, limit: int, **filters: object) -> list[str]:
    out: list[str] = []
    before = None
    while True:
        page = await store.history(system_id, limit=limit, before=before, **filters)  # type: ignore[arg-type]
        assert len(page.items) <= limit
        out.extend(h.message_id for h in page.items)
        if page.next_before is None:
            return out
        before = page.next_before


async def test_history_shows_each_message_newest_first(store: Store, clock: FakeClock) -> None:
    await make_account(store, "smpp-a", balance=100_000)
    ids = await send(store, clock, 3)
    await store.mark_forwarded([(ids[1], "up-1"), (ids[2], "up-2")])
    clock.advance(seconds=5)
    receipt_at = clock.now
    [rid] = await store.add_receipts(
        [NewReceipt("smpp-a", ids[2], b"dlr", MessageState.DELIVERED, None)]
    )
    clock.advance(seconds=2)
    await store.receipts_delivered([rid])
    page = await store.history("smpp-a")
    assert [h.message_id for h in page.items] == ids[::-1]
    assert page.next_before is None
    newest, middle, oldest = page.items
    assert (newest.state, newest.upstream_id, newest.receipt_at) == (
        MessageState.DELIVERED,
        "up-2",
        receipt_at,
    )
    assert newest.receipt_delivered_at == receipt_at + timedelta(seconds=2)
    assert (middle.state, middle.upstream_id, middle.receipt_at) == (
        MessageState.FORWARDED,
        "up-1",
        None,
    )
    assert (oldest.state, oldest.upstream_id) == (MessageState.ACCEPTED, None)
    assert (oldest.destination_addr, oldest.source_addr, oldest.segments, oldest.cost) == (
        DESTINATIONS[0],
        "Shop",
        1,
        100,
    )
    assert oldest.drawn_from == (DrawnFrom(CREDITS_SOURCE, 100),)
    assert newest.created_at - oldest.created_at == timedelta(seconds=2)


async def test_pages_cover_every_message_once(store: Store, clock: FakeClock) -> None:
    await make_account(store, "smpp-a", balance=1_000_000)
    await make_account(store, "smpp-b", balance=1_000_000)
    ids = await send(store, clock, 11)
    # One batch: messages sharing one created_at, which the cursor must tell apart.
    same = [message(f"smpp-a-z{i}", "smpp-a", destination="33600000000") for i in range(5)]
    await store.debit_batch([DebitRequest(f"kz{i}", m) for i, m in enumerate(same)])
    await send(store, clock, 3, "smpp-b")
    expected = [m.message_id for m in same][::-1] + ids[::-1]
    for limit in (1, 2, 5, 16, 100):
        assert await all_pages(store, "smpp-a", limit) == expected
    page = await store.history("smpp-a", limit=16)
    assert len(page.items) == 16 and page.next_before is None  # exactly full, no more


async def test_filters(store: Store, clock: FakeClock) -> None:
    await make_account(store, "smpp-a", balance=1_000_000)
    start = clock.now
    ids = await send(store, clock, 12)
    await store.set_message_state(ids[3], MessageState.FAILED)
    await store.set_message_state(ids[7], MessageState.FAILED)
    since, until = start + timedelta(seconds=2), start + timedelta(seconds=6)
    assert await all_pages(store, "smpp-a", 2, since=since, until=until) == ids[2:6][::-1]
    assert (
        await all_pages(store, "smpp-a", 2, dest_prefix="33")
        == [m for i, m in enumerate(ids) if DESTINATIONS[i % 4].startswith("33")][::-1]
    )
    assert await all_pages(store, "smpp-a", 3, dest_prefix="337") == ids[1::4][::-1]
    assert await all_pages(store, "smpp-a", 3, dest_prefix="44") == ids[2::4][::-1]
    assert await all_pages(store, "smpp-a", 3, dest_prefix="9") == []
    assert await all_pages(store, "smpp-a", 1, state=MessageState.FAILED) == [ids[7], ids[3]]
    assert await all_pages(store, "smpp-a", 1, state="failed", dest_prefix="49") == [
        ids[7],
        ids[3],
    ]
    assert await all_pages(store, "smpp-a", 5, state="failed", since=since, until=until) == [ids[3]]


@pytest.mark.parametrize(
    "bad",
    [{"limit": 0}, {"limit": 1001}, {"state": "lost"}, {"before": "not-a-cursor"}, {"before": ""}],
)
async def test_bad_queries_are_refused(store: Store, bad: dict[str, object]) -> None:
    await make_account(store, "smpp-a")
    with pytest.raises(InvalidRequest):
        await store.history("smpp-a", **bad)  # type: ignore[arg-type]


async def test_history_of_an_unknown_account(store: Store) -> None:
    with pytest.raises(UnknownAccount):
        await store.history("smpp-none")
    await make_account(store, "smpp-a")
    assert (await store.history("smpp-a")).items == ()


async def test_retention_deletes_old_messages_and_receipts_never_the_journal(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store, "smpp-a", balance=1_000_000)
    await make_account(store, "smpp-b", balance=1_000_000)
    old = await send(store, clock, 6) + await send(store, clock, 2, "smpp-b")
    await store.mark_forwarded([(m, f"up-{m}") for m in old[1:]])  # old[0] stays ACCEPTED
    await store.add_receipts(
        [NewReceipt(m[:6], m, b"dlr", MessageState.DELIVERED, None) for m in old[1:4]]
    )
    await store.refund(old[4], reason="rejected upstream")
    journal_before = {s: await store.journal(s, limit=1000) for s in ("smpp-a", "smpp-b")}
    clock.advance(days=30)
    recent = await send(store, clock, 2, first=100)
    clock.advance(days=1)

    pruned = await store.prune_history(30, batch=2)  # several batches per account
    assert (pruned.messages, pruned.receipts) == (7, 3)
    assert pruned.cutoff == clock.now - timedelta(days=30)
    left = await all_pages(store, "smpp-a", 100)
    assert left == [*recent[::-1], old[0]]  # the ACCEPTED one is kept
    assert await all_pages(store, "smpp-b", 100) == []
    assert await store.pending_receipts("smpp-a") == []
    for system_id, before in journal_before.items():
        after = await store.journal(system_id, limit=1000)
        assert after[-len(before) :] == before  # the journal is whole
    kinds = [e.kind for e in await store.journal("smpp-a", limit=1000)]
    assert kinds.count(EntryKind.DEBIT) == 8 and kinds.count(EntryKind.REFUND) == 1
    assert (await store.prune_history(30)).messages == 0
    assert await store.audit() == []


async def test_retention_days_are_checked(store: Store) -> None:
    for bad in (0, -1, 1.5):
        with pytest.raises(InvalidRequest):
            await store.prune_history(bad)  # type: ignore[arg-type]


async def test_daily_usage_counts_each_utc_day_and_leaves_refunds_out(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store, "smpp-a", balance=1_000_000)
    await make_account(store, "smpp-b", balance=1_000_000)
    start = clock.now
    # Today (UTC) minus 2 days: 3 messages; yesterday: none; today: 2, one refunded.
    clock.now = start - timedelta(days=2)
    await send(store, clock, 3)
    clock.now = start
    today = await send(store, clock, 2, first=3)
    await send(store, clock, 1, system_id="smpp-b")  # another account's: not counted
    await store.refund(today[0], reason="upstream refused it")
    usage = await store.daily_usage("smpp-a", days=3)
    day = start.date()
    assert [(u.day, u.messages, u.cost) for u in usage] == [
        (day - timedelta(days=2), 3, 100 + 101 + 102),
        (day - timedelta(days=1), 0, 0),
        (day, 2, 104),  # 103 was refunded
    ]
    month = await store.daily_usage("smpp-a")
    assert len(month) == 30 and month[-1].day == day and month[0].day == day - timedelta(29)
    assert sum(u.messages for u in month) == 5
    with pytest.raises(UnknownAccount):
        await store.daily_usage("smpp-nobody")
    with pytest.raises(InvalidRequest):
        await store.daily_usage("smpp-a", days=0)


async def test_settled_days_are_counted_once_and_the_last_two_afresh(
    store: Store, clock: FakeClock
) -> None:
    await make_account(store, "smpp-a", balance=1_000_000)
    start = clock.now
    clock.now = start - timedelta(days=3)
    await send(store, clock, 2)
    clock.now = start
    first = await store.daily_usage("smpp-a", days=4)
    assert [u.messages for u in first] == [2, 0, 0, 0]
    # A message written into a settled day afterwards (never, but for a clock gone back)
    # is not counted again: the day was kept. Yesterday and today are counted each time.
    clock.now = start - timedelta(days=3)
    await send(store, clock, 1, first=2)
    clock.now = start - timedelta(days=1)
    await send(store, clock, 1, first=3)
    clock.now = start
    today = await send(store, clock, 2, first=4)
    await store.refund(today[0], reason="upstream refused it")
    again = await store.daily_usage("smpp-a", days=4)
    assert [(u.messages, u.cost) for u in again] == [(2, 201), (0, 0), (1, 103), (2, 105)]
    # A longer range counts only the settled days it has not kept yet.
    assert [u.messages for u in await store.daily_usage("smpp-a", days=5)] == [0, 2, 0, 1, 2]
