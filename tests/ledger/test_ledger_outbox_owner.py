"""Contract: outbox messages belong to the gateway that accepted them, on every store.

A gateway forwards only its own ACCEPTED messages and adopts (``adopt_unforwarded``)
those of nobody or of dead gateways; a live gateway's messages are never taken from it,
so a restart elsewhere cannot send them upstream a second time. A second store opened on
the same database (``open_peer``) stands for a second gateway process; the injected clock
moves heartbeats without sleeping.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import replace

import asyncpg
import pytest

import ledger.migrate
from ledger.backends.postgres import parse_url
from ledger.models import DebitRequest, DebitStatus, MessageRecord, MessageState
from ledger.store import Store, open_store
from tests.ledger.conftest import old_account, pg_dsn, pg_execute, run_sync
from tests.ledger.ledger_helpers import FakeClock, make_account, migrations_from, request

Peer = Callable[[], Awaitable[Store]]

#: A bound on waiting for the store: a hang guard (SKIP LOCKED must not wait), not timing.
HANG_GUARD_S = 10.0


def owned(key: str, owner: str, *, message_id: str | None = None) -> DebitRequest:
    """A debit request whose message is accepted by gateway ``owner`` ("" = nobody)."""
    req = request(key, message_id=message_id)
    return replace(req, message=replace(req.message, owner=owner))


async def accept(store: Store, owner: str, *keys: str) -> list[str]:
    """Debit one message per key for ``owner``; their message ids."""
    results = await store.debit_batch([owned(k, owner) for k in keys])
    assert all(r.status is DebitStatus.OK for r in results), results
    return [r.message_id for r in results]


def ids(messages: list[MessageRecord]) -> list[str]:
    return [m.message_id for m in messages]


async def test_debit_records_the_owner(store: Store) -> None:
    await make_account(store, balance=10_000)
    [mine] = await accept(store, "gw-a", "k1")
    [nobodys] = await accept(store, "", "k2")
    assert (await store.get_message(mine)).owner == "gw-a"
    assert (await store.get_message(nobodys)).owner is None  # "" is stored as NULL
    # unforwarded is the read-only listing: every ACCEPTED message, whoever owns it.
    listed = await store.unforwarded()
    assert [(m.message_id, m.owner) for m in listed] == [(mine, "gw-a"), (nobodys, None)]


async def test_owner_is_not_part_of_the_idempotency_body(store: Store) -> None:
    await make_account(store, balance=10_000)
    [first] = await store.debit_batch([owned("k1", "gw-a")])
    # The client retries through another gateway, which gives it a new message id.
    [again] = await store.debit_batch([owned("k1", "gw-b", message_id="m-retry")])
    assert (again.status, again.message_id) == (DebitStatus.DUPLICATE, first.message_id)
    assert (await store.get_message(first.message_id)).owner == "gw-a"
    assert ids(await store.unforwarded()) == [first.message_id]


async def test_a_live_gateways_messages_wait_until_it_is_stale(
    store: Store, open_peer: Peer, clock: FakeClock
) -> None:
    await make_account(store, balance=10_000)
    a, b = store, await open_peer()
    await a.register_gateway("gw-a", address="10.0.0.1:2775")
    await b.register_gateway("gw-b", address="10.0.0.2:2775")
    [m] = await accept(b, "gw-b", "k1")
    accepted_at = clock.now

    # gw-a restarts while gw-b forwards m: gw-a must not take it.
    assert await a.adopt_unforwarded("gw-a") == []
    # gw-b stops heartbeating. At exactly stale_after it is still live...
    clock.advance(seconds=30)
    assert await a.adopt_unforwarded("gw-a") == []
    assert (await b.get_message(m)).owner == "gw-b"
    # ...a microsecond later it is taken for crashed, and its message is adopted.
    clock.advance(microseconds=1)
    [adopted] = await a.adopt_unforwarded("gw-a")
    assert (adopted.message_id, adopted.owner, adopted.state) == (m, "gw-a", MessageState.ACCEPTED)
    assert (adopted.created_at, adopted.updated_at) == (accepted_at, clock.now)
    seen_by_b = await b.get_message(m)  # the row itself says so, for every gateway
    assert (seen_by_b.owner, seen_by_b.updated_at) == ("gw-a", clock.now)

    # gw-b comes back: the message stays gw-a's (alive: its adoption was a heartbeat).
    await b.heartbeat("gw-b")
    assert await b.adopt_unforwarded("gw-b") == []
    assert ids(await a.adopt_unforwarded("gw-a")) == [m]  # still gw-a's own, again


async def test_stale_after_is_the_callers(store: Store, open_peer: Peer, clock: FakeClock) -> None:
    await make_account(store, balance=10_000)
    b = await open_peer()
    await store.register_gateway("gw-a", address="x")
    await b.register_gateway("gw-b", address="y")
    [m] = await accept(b, "gw-b", "k1")
    clock.advance(seconds=5)
    assert await store.adopt_unforwarded("gw-a", stale_after=5) == []
    clock.advance(microseconds=1)
    assert ids(await store.adopt_unforwarded("gw-a", stale_after=5)) == [m]


async def test_own_messages_are_adopted_at_once(
    store: Store, open_peer: Peer, clock: FakeClock
) -> None:
    await make_account(store, balance=10_000)
    await store.register_gateway("gw-a", address="10.0.0.1:2775")
    await store.register_gateway("gw-b", address="10.0.0.2:2775")
    mids = await accept(store, "gw-a", "k1", "k2")
    accepted_at = clock.now

    # gw-a is killed and restarts at once with the same id (its row is still live): its
    # messages come back to it, and never to gw-b.
    clock.advance(seconds=1)
    restarted = await open_peer()
    await restarted.register_gateway("gw-a", address="10.0.0.1:2775")
    assert await restarted.adopt_unforwarded("gw-b") == []
    adopted = await restarted.adopt_unforwarded("gw-a")
    assert ids(adopted) == mids
    assert {(m.owner, m.updated_at) for m in adopted} == {("gw-a", accepted_at)}  # not rewritten
    # Not a cursor: the caller's own messages come back on every call.
    assert ids(await restarted.adopt_unforwarded("gw-a", limit=1)) == mids[:1]
    assert ids(await restarted.adopt_unforwarded("gw-a")) == mids


async def test_messages_of_nobody_or_unregistered_gateways_are_adopted(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.register_gateway("gw-a", address="x")
    await store.register_gateway("gw-left", address="y")
    [nobodys] = await accept(store, "", "k1")
    [never_registered] = await accept(store, "gw-ghost", "k2")
    [left] = await accept(store, "gw-left", "k3")
    await store.unregister_gateway("gw-left")  # a clean stop leaving a message behind
    adopted = await store.adopt_unforwarded("gw-a")
    assert ids(adopted) == [nobodys, never_registered, left]
    assert {m.owner for m in adopted} == {"gw-a"}
    assert [m.owner for m in await store.unforwarded()] == ["gw-a"] * 3


async def test_only_accepted_messages_are_adopted(store: Store) -> None:
    await make_account(store, balance=10_000)
    await store.register_gateway("gw-a", address="x")
    forwarded, delivered, refunded, waiting = await accept(store, "", "k1", "k2", "k3", "k4")
    dead = await accept(store, "gw-dead", "k5", "k6")
    await store.mark_forwarded([(forwarded, "up-1"), (delivered, "up-2"), (dead[0], "up-5")])
    await store.set_message_state(delivered, MessageState.DELIVERED)
    await store.refund(refunded, reason="upstream 0x45")
    await store.set_message_state(dead[1], MessageState.FAILED)
    assert ids(await store.adopt_unforwarded("gw-a")) == [waiting]
    for mid in (forwarded, delivered, refunded):
        assert (await store.get_message(mid)).owner is None
    assert [(await store.get_message(mid)).owner for mid in dead] == ["gw-dead"] * 2


async def test_limit_and_oldest_first(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=10_000)
    await store.register_gateway("gw-a", address="x")
    # Within one batch (one created_at) the order is message_id, not insertion order.
    batch = [owned(f"k{i}", "", message_id=mid) for i, mid in enumerate(["m-c", "m-a", "m-b"])]
    await store.debit_batch(batch)
    clock.advance(seconds=1)
    await store.debit_batch([owned("k9", "gw-dead", message_id="m-0")])
    assert ids(await store.adopt_unforwarded("gw-a", limit=2)) == ["m-a", "m-b"]
    # The two adopted are now gw-a's own; the rest are still nobody's and gw-dead's.
    owners = {m.message_id: m.owner for m in await store.unforwarded()}
    assert owners == {"m-a": "gw-a", "m-b": "gw-a", "m-c": None, "m-0": "gw-dead"}
    assert ids(await store.adopt_unforwarded("gw-a", limit=3)) == ["m-a", "m-b", "m-c"]
    assert ids(await store.adopt_unforwarded("gw-a")) == ["m-a", "m-b", "m-c", "m-0"]


async def test_adopt_refuses_unknown_callers(store: Store) -> None:
    await make_account(store, balance=10_000)
    [m] = await accept(store, "", "k1")
    # Unregistered, what it took would look orphaned to every other gateway at once.
    with pytest.raises(ValueError, match="not registered"):
        await store.adopt_unforwarded("gw-nobody")
    with pytest.raises(ValueError, match="gateway id"):
        await store.adopt_unforwarded("")
    await store.register_gateway("gw-a", address="x")
    for bad in (0, -1):
        with pytest.raises(ValueError, match="limit"):
            await store.adopt_unforwarded("gw-a", limit=bad)
    assert (await store.get_message(m)).owner is None  # nothing was taken


async def test_adopting_is_a_heartbeat(store: Store, open_peer: Peer, clock: FakeClock) -> None:
    await make_account(store, balance=10_000)
    a, b = store, await open_peer()
    await a.register_gateway("gw-a", address="x")
    await b.register_gateway("gw-b", address="y")
    [m] = await accept(a, "gw-a", "k1")
    # gw-a paused past stale_after (gw-b kept heartbeating), then adopts before gw-b does.
    clock.advance(seconds=60)
    await b.heartbeat("gw-b")
    assert ids(await a.adopt_unforwarded("gw-a")) == [m]
    # Its adoption made it live again: gw-b does not take the message back.
    assert await b.adopt_unforwarded("gw-b") == []


async def test_concurrent_adopters_get_disjoint_sets_covering_all(
    store: Store, open_peer: Peer, clock: FakeClock
) -> None:
    await make_account(store, balance=1_000_000)
    gateways = {"gw-a": store, **{f"gw-{n}": await open_peer() for n in "bcd"}}
    for gw, s in gateways.items():
        await s.register_gateway(gw, address=gw)
    await store.register_gateway("gw-dead", address="z")
    orphans = await accept(store, "", *(f"n{i}" for i in range(30)))
    orphans += await accept(store, "gw-dead", *(f"d{i}" for i in range(30)))
    clock.advance(seconds=31)
    for gw, s in gateways.items():
        await s.heartbeat(gw)  # everyone but gw-dead is live
    got: dict[str, list[str]] = {gw: [] for gw in gateways}

    async def forwarder(gw: str, s: Store) -> None:
        # Like a gateway: adopt a few, forward them (they leave ACCEPTED), until none.
        while batch := await s.adopt_unforwarded(gw, limit=7):
            assert ids(batch) == sorted(ids(batch))  # same created_at: message_id order
            assert {m.owner for m in batch} == {gw}
            got[gw].extend(ids(batch))
            await s.mark_forwarded([(m.message_id, f"up-{m.message_id}") for m in batch])
            await asyncio.sleep(0)

    await asyncio.gather(*(forwarder(gw, s) for gw, s in gateways.items()))
    taken = [mid for mids in got.values() for mid in mids]
    assert sorted(taken) == sorted(orphans)  # every message, each by exactly one gateway
    for gw, mids in got.items():
        for mid in mids:
            assert (await store.get_message(mid)).owner == gw


# -- PostgreSQL: an adopter never waits for another -----------------------------------------
@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_adoption_skips_rows_another_adopter_holds(store: Store, store_url: str) -> None:
    await make_account(store, balance=10_000)
    await store.register_gateway("gw-a", address="x")
    mids = await accept(store, "", "k1", "k2", "k3", "k4")
    _, schema, _ = parse_url(store_url)
    other = await asyncpg.connect(pg_dsn(), server_settings={"search_path": f'"{schema}"'})
    try:
        # Another gateway is in the middle of adopting the two oldest (rows locked as
        # _ADOPT_LOCK locks them, not committed yet).
        tx = other.transaction()
        await tx.start()
        await other.execute(
            "SELECT 1 FROM messages WHERE message_id = ANY($1::text[]) FOR NO KEY UPDATE",
            mids[:2],
        )
        # gw-a takes the next ones at once: skipped rows do not use up the limit.
        adopted = await asyncio.wait_for(store.adopt_unforwarded("gw-a", limit=2), HANG_GUARD_S)
        assert ids(adopted) == mids[2:]
        await tx.rollback()  # the other adopter gave up: the rows are free again
    finally:
        await other.close()
    assert ids(await store.adopt_unforwarded("gw-a")) == mids


# -- migration from 0002 ---------------------------------------------------------------------
@pytest.fixture
def first_two_migrations(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make upgrade() stop at 0002, as a database of the previous release is."""
    real = ledger.migrate.load_migrations
    monkeypatch.setattr(ledger.migrate, "load_migrations", lambda dialect: real(dialect)[:2])
    yield
    monkeypatch.setattr(ledger.migrate, "load_migrations", real)


def _raw_accepted_message(url: str, message_id: str, created_at: str) -> None:
    """Insert an ACCEPTED message as release 0002 did (no owner column yet)."""
    sql = (
        "INSERT INTO {s}messages (message_id, system_id, idempotency_key, source_addr,"
        " destination_addr, segments, cost, registered_delivery, pdu_body, state,"
        " created_at, updated_at) VALUES ('{m}', 'smpp-acme', 'key-{m}', 'Shop',"
        " '447700900123', 1, 100, 1, {body}, 'accepted', '{t}', '{t}')"
    )
    if url.startswith("sqlite:"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            conn.execute(sql.format(s="", m=message_id, body="X'6f6c64'", t=created_at))
        conn.close()
        return
    _, schema, _ = parse_url(url)
    args = {"s": f'"{schema}".', "m": message_id, "body": "'\\x6f6c64'::bytea", "t": created_at}
    run_sync(lambda: pg_execute(pg_dsn(), sql.format(**args)))


def _owner_index(url: str) -> str:
    """The definition of the adoption index, as the database reports it."""
    if url.startswith("sqlite:"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            row = conn.execute(
                "SELECT sql FROM sqlite_master WHERE name = 'messages_accepted_by_owner'"
            ).fetchone()
        conn.close()
        return str(row[0])
    _, schema, _ = parse_url(url)

    async def fetch() -> str:
        conn = await asyncpg.connect(pg_dsn(), timeout=5)
        try:
            found: str = await conn.fetchval(
                "SELECT indexdef FROM pg_indexes WHERE schemaname = $1"
                " AND indexname = 'messages_accepted_by_owner'",
                schema,
            )
            return found
        finally:
            await conn.close()

    return run_sync(fetch)


async def test_upgrade_from_0002_keeps_accepted_messages(
    fresh_url: str, clock: FakeClock, first_two_migrations: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = await open_store(fresh_url, clock=clock)
    try:
        assert await old.upgrade() == ["0001_initial", "0002_multi_gateway"]
    finally:
        await old.close()
    # This code writes columns 0002 lacks: write the old rows as 0002 did.
    old_account(fresh_url, clock.now.isoformat(), balance=10_000)
    _raw_accepted_message(fresh_url, "m-old", clock.now.isoformat())

    monkeypatch.undo()  # the new release: every migration
    new = await open_store(fresh_url, clock=clock)
    try:
        assert await new.upgrade() == migrations_from("0003_outbox_owner")
        index = _owner_index(fresh_url)
        assert "(owner, created_at, message_id)" in index
        assert "WHERE" in index and "accepted" in index  # partial: ACCEPTED rows only
        old_message = await new.get_message("m-old")
        assert (old_message.state, old_message.owner) == (MessageState.ACCEPTED, None)
        assert ids(await new.unforwarded()) == ["m-old"]
        # Nobody's message: the first gateway to adopt takes it, after the new ones' age.
        await new.register_gateway("gw-a", address="x")
        clock.advance(seconds=1)
        [mine] = await accept(new, "gw-a", "k1")
        adopted = await new.adopt_unforwarded("gw-a")
        assert [(m.message_id, m.owner) for m in adopted] == [("m-old", "gw-a"), (mine, "gw-a")]
        assert adopted[0].pdu_body == b"old"
        assert await new.audit() == []
    finally:
        await new.close()
