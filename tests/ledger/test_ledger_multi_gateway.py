"""Contract: several gateways on one ledger (bind quota, receipt claims), on every store.

A second store opened on the same database (``open_peer``) stands for a second gateway
process: on SQLite a second writer thread on the same file, on PostgreSQL a second pool.
Both share the injected clock, which moves heartbeats and leases without sleeping.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

import ledger.migrate
from ledger.backends.postgres import parse_url
from ledger.errors import UnknownAccount
from ledger.models import DebitStatus, EntryKind, JournalEntry, MessageState, NewReceipt
from ledger.store import Store, open_store
from tests.ledger.conftest import old_account, pg_dsn, pg_execute, run_sync
from tests.ledger.ledger_helpers import (
    FakeClock,
    full_journal,
    make_account,
    migrations_from,
    request,
)

Peer = Callable[[], Awaitable[Store]]

#: A generous bound on waiting for a notification: a hang guard, not a timing assertion.
HANG_GUARD_S = 30.0


async def _two_gateways(store: Store, open_peer: Peer) -> tuple[Store, Store]:
    peer = await open_peer()
    await store.register_gateway("gw-a", address="10.0.0.1:2775")
    await peer.register_gateway("gw-b", address="10.0.0.2:2775")
    return store, peer


# -- binds -----------------------------------------------------------------------------------
async def test_bind_quota_holds_across_gateways(store: Store, open_peer: Peer) -> None:
    await make_account(store, max_binds=3)
    a, b = await _two_gateways(store, open_peer)

    async def bind(n: int) -> bool:
        s, gw = (a, "gw-a") if n % 2 else (b, "gw-b")
        return await s.acquire_bind(
            "smpp-acme", gateway_id=gw, session_id=f"s{n}", kind="transceiver", max_binds=3
        )

    granted = await asyncio.gather(*(bind(n) for n in range(8)))
    assert granted.count(True) == 3
    assert await a.bind_count("smpp-acme") == 3
    assert await b.bind_count("smpp-acme") == 3
    # A release frees exactly one slot, for any gateway; releasing again is harmless.
    winner = next(n for n, ok in enumerate(granted) if ok)
    await a.release_bind("gw-a" if winner % 2 else "gw-b", f"s{winner}")
    await b.release_bind("gw-a" if winner % 2 else "gw-b", f"s{winner}")
    assert await a.bind_count("smpp-acme") == 2
    kw: dict[str, Any] = {"gateway_id": "gw-b", "kind": "receiver", "max_binds": 3}
    assert await b.acquire_bind("smpp-acme", session_id="late1", **kw)
    assert not await b.acquire_bind("smpp-acme", session_id="late2", **kw)
    # The limit is the caller's (the account's current max_binds): raising it lets more in.
    assert await b.acquire_bind("smpp-acme", session_id="late2", **{**kw, "max_binds": 4})


async def test_a_stale_gateway_loses_its_binds(
    store: Store, open_peer: Peer, clock: FakeClock
) -> None:
    await make_account(store, max_binds=2)
    await make_account(store, "smpp-other", max_binds=2)
    a, b = await _two_gateways(store, open_peer)
    for n in range(2):
        assert await a.acquire_bind(
            "smpp-acme", gateway_id="gw-a", session_id=f"a{n}", kind="transmitter", max_binds=2
        )
    kw: dict[str, Any] = {"gateway_id": "gw-b", "kind": "receiver", "max_binds": 2}
    assert not await b.acquire_bind("smpp-acme", session_id="b0", **kw)

    # gw-a stops heartbeating (crashed); gw-b keeps on. At exactly stale_after it still
    # counts, a microsecond later it does not.
    clock.advance(seconds=30)
    await b.heartbeat("gw-b")
    assert await b.bind_count("smpp-acme") == 2
    assert not await b.acquire_bind("smpp-acme", session_id="b0", **kw)
    clock.advance(microseconds=1)
    assert await b.bind_count("smpp-acme") == 0  # counted as gone before anyone sweeps
    assert await b.acquire_bind("smpp-acme", session_id="b0", **kw)
    assert await b.acquire_bind("smpp-acme", session_id="b1", **kw)
    assert await b.bind_count("smpp-acme") == 2
    # A shorter stale_after is the caller's choice.
    clock.advance(seconds=5)
    assert await b.bind_count("smpp-acme", stale_after=5) == 0  # 5 s and 1 us ago
    assert await b.bind_count("smpp-acme", stale_after=6) == 2

    # gw-a comes back: its swept binds are gone for good, its heartbeat counts again.
    await a.heartbeat("gw-a")
    assert not await a.acquire_bind(
        "smpp-acme", gateway_id="gw-a", session_id="a9", kind="transmitter", max_binds=2
    )
    assert await a.acquire_bind(
        "smpp-other", gateway_id="gw-a", session_id="a9", kind="transmitter", max_binds=2
    )


async def test_unregister_frees_binds(store: Store, open_peer: Peer) -> None:
    await make_account(store, max_binds=2)
    a, b = await _two_gateways(store, open_peer)
    for n in range(2):
        assert await a.acquire_bind(
            "smpp-acme", gateway_id="gw-a", session_id=f"a{n}", kind="receiver", max_binds=2
        )
    await a.unregister_gateway("gw-a")
    await a.unregister_gateway("gw-a")  # idempotent
    assert await b.bind_count("smpp-acme") == 0
    for n in range(2):
        assert await b.acquire_bind(
            "smpp-acme", gateway_id="gw-b", session_id=f"b{n}", kind="receiver", max_binds=2
        )
    # An unregistered gateway may not bind (its bind would count for nobody).
    with pytest.raises(ValueError, match="not registered"):
        await a.acquire_bind(
            "smpp-acme", gateway_id="gw-a", session_id="a0", kind="receiver", max_binds=5
        )
    await a.heartbeat("gw-a")  # no-op for an unknown gateway
    await a.register_gateway("gw-a", address="10.0.0.1:2775")  # a restart
    assert await a.acquire_bind(
        "smpp-acme", gateway_id="gw-a", session_id="a0", kind="receiver", max_binds=3
    )


async def test_acquire_bind_rules(store: Store) -> None:
    await make_account(store, max_binds=2)
    await make_account(store, "smpp-other")
    await store.register_gateway("gw-a", address="x")
    kw: dict[str, Any] = {"gateway_id": "gw-a", "kind": "transceiver", "max_binds": 2}
    assert await store.acquire_bind("smpp-acme", session_id="s1", **kw)
    # The same session again: it already holds its slot, nothing is added.
    assert await store.acquire_bind("smpp-acme", session_id="s1", **kw)
    assert await store.bind_count("smpp-acme") == 1
    with pytest.raises(ValueError, match="holds a bind of smpp-acme"):
        await store.acquire_bind("smpp-other", session_id="s1", **kw)
    with pytest.raises(UnknownAccount):
        await store.acquire_bind("smpp-nobody", session_id="s2", **kw)
    # The same session id on another gateway is another session.
    await store.register_gateway("gw-b", address="y")
    assert await store.acquire_bind("smpp-acme", session_id="s1", **{**kw, "gateway_id": "gw-b"})
    assert not await store.acquire_bind("smpp-acme", session_id="s3", **kw)
    await store.release_bind("gw-a", "s1")
    await store.release_bind("gw-a", "never-bound")
    assert await store.bind_count("smpp-acme") == 1
    assert await store.bind_count("smpp-nobody") == 0


# -- receipts --------------------------------------------------------------------------------
async def _messages(store: Store, n: int, system_id: str = "smpp-acme") -> list[str]:
    results = await store.debit_batch([request(f"{system_id}-{i}", system_id) for i in range(n)])
    assert all(r.status is DebitStatus.OK for r in results)
    return [r.message_id for r in results]


def _unclaimed(message_id: str, system_id: str = "smpp-acme") -> NewReceipt:
    return NewReceipt(system_id, message_id, f"dr {message_id}".encode(), None, None)


async def test_concurrent_claims_are_disjoint_and_complete(store: Store, open_peer: Peer) -> None:
    await make_account(store, balance=100_000)
    a, b = await _two_gateways(store, open_peer)
    mids = await _messages(store, 60)
    ids = await a.add_receipts([_unclaimed(m) for m in mids])
    assert ids == sorted(ids)
    got: dict[str, list[int]] = {"gw-a": [], "gw-b": []}

    async def claimer(s: Store, gw: str) -> None:
        while batch := await s.claim_receipts("smpp-acme", gateway_id=gw, limit=7):
            assert [r.id for r in batch] == sorted(r.id for r in batch)  # oldest first
            assert {r.claimed_by for r in batch} == {gw}
            got[gw].extend(r.id for r in batch)
            await asyncio.sleep(0)

    await asyncio.gather(*(claimer(s, gw) for s, gw in [(a, "gw-a"), (b, "gw-b")] * 2))
    assert not set(got["gw-a"]) & set(got["gw-b"])
    assert sorted(got["gw-a"] + got["gw-b"]) == ids  # every receipt, each exactly once
    # All claimed and not expired: nothing more to take; still pending until delivered.
    assert await b.claim_receipts("smpp-acme", gateway_id="gw-b") == []
    assert len(await a.pending_receipts("smpp-acme")) == 60


async def test_claims_expire_release_and_deliver(store: Store, clock: FakeClock) -> None:
    await make_account(store, balance=100_000)
    await make_account(store, "smpp-other", balance=100_000)
    m1, m2, m3, m4 = await _messages(store, 4)
    [o1] = await _messages(store, 1, "smpp-other")
    r1, r2, r3, r4, ro = await store.add_receipts(
        [
            NewReceipt("smpp-acme", m1, b"one", MessageState.DELIVERED, "gw-a"),
            _unclaimed(m2),
            _unclaimed(m3),
            NewReceipt("smpp-acme", m4, b"four", MessageState.FAILED, "gw-a"),
            _unclaimed(o1, "smpp-other"),
        ],
        lease=10,
    )
    pending = {p.id: p for p in await store.pending_receipts("smpp-acme")}
    assert (pending[r1].claimed_by, pending[r1].claimed_until) == (
        "gw-a",
        clock.now + timedelta(seconds=10),
    )
    assert (pending[r2].claimed_by, pending[r2].claimed_until) == (None, None)

    # gw-b gets only the unclaimed ones, of its account only.
    claimed = await store.claim_receipts("smpp-acme", gateway_id="gw-b", lease=60)
    assert [r.id for r in claimed] == [r2, r3]
    assert claimed[0].pdu_body == f"dr {m2}".encode()
    assert claimed[0].claimed_until == clock.now + timedelta(seconds=60)

    # gw-a pushed r1 (acknowledged) and failed to push r4 (released).
    await store.receipts_delivered([r1])
    await store.release_receipts([r4, r1, 424_242])  # a delivered or unknown id: ignored
    await store.release_receipts([])
    retaken = await store.claim_receipts("smpp-acme", gateway_id="gw-c", lease=3600)
    assert [r.id for r in retaken] == [r4]

    # gw-b died holding r2 and r3: once the lease ends (at exactly claimed_until) they
    # can be taken again; the delivered r1 never comes back.
    clock.advance(seconds=59)
    assert await store.claim_receipts("smpp-acme", gateway_id="gw-c") == []
    clock.advance(seconds=1)
    again = await store.claim_receipts("smpp-acme", gateway_id="gw-c", limit=1)
    assert [r.id for r in again] == [r2]
    assert [r.id for r in await store.claim_receipts("smpp-acme", gateway_id="gw-c")] == [r3]
    await store.receipts_delivered([r2, r3, r4])
    clock.advance(days=1)
    assert await store.claim_receipts("smpp-acme", gateway_id="gw-c") == []
    assert await store.pending_receipts("smpp-acme") == []
    assert [r.id for r in await store.pending_receipts("smpp-other")] == [ro]


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
async def test_listen_receipts_on_sqlite_is_none(store: Store) -> None:
    assert await store.listen_receipts(lambda system_id: None) is None


class _Heard:
    """Collects notified system_ids; ``wait_for(x)`` returns once ``x`` was heard."""

    def __init__(self) -> None:
        self.heard: list[str] = []
        self._changed = asyncio.Event()

    def __call__(self, system_id: str) -> None:
        self.heard.append(system_id)
        self._changed.set()

    async def wait_for(self, system_id: str, timeout: float = HANG_GUARD_S) -> bool:
        async def seen() -> None:
            while system_id not in self.heard:
                self._changed.clear()
                await self._changed.wait()

        try:
            await asyncio.wait_for(seen(), timeout)
        except TimeoutError:
            return False
        return True


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_listen_receipts_across_gateways(store: Store, open_peer: Peer) -> None:
    assert store.backend.dialect == "postgresql"  # type: ignore[attr-defined]
    await make_account(store, "smpp-ntf-a", balance=1_000)
    await make_account(store, "smpp-ntf-b", balance=1_000)
    [ma] = await _messages(store, 1, "smpp-ntf-a")
    [mb] = await _messages(store, 1, "smpp-ntf-b")
    peer = await open_peer()
    heard = _Heard()
    stop = await peer.listen_receipts(heard)
    assert stop is not None
    # A claimed receipt notifies nobody; an unclaimed one notifies every listener. Both
    # commit in this order, and notifications arrive in commit order: once smpp-ntf-b is
    # heard, a notification for smpp-ntf-a would already have arrived.
    await store.add_receipts([NewReceipt("smpp-ntf-a", ma, b"a", None, "gw-a")])
    await store.add_receipts([_unclaimed(mb, "smpp-ntf-b"), _unclaimed(mb, "smpp-ntf-b")])
    assert await heard.wait_for("smpp-ntf-b")
    assert "smpp-ntf-a" not in heard.heard
    assert heard.heard.count("smpp-ntf-b") == 1  # one per account per transaction
    await stop()
    await stop()  # idempotent


@pytest.mark.postgres
@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_listener_reconnects_after_its_connection_drops(
    store: Store, open_peer: Peer
) -> None:
    assert store.backend.dialect == "postgresql"  # type: ignore[attr-defined]
    await make_account(store, "smpp-ntf-c", balance=100_000)
    mids = await _messages(store, 50, "smpp-ntf-c")
    peer = await open_peer()
    heard = _Heard()
    stop = await peer.listen_receipts(heard)
    assert stop is not None
    listener: Any = stop.__self__  # type: ignore[attr-defined]
    pid = listener._conn.get_server_pid()
    await pg_execute(pg_dsn(), f"SELECT pg_terminate_backend({pid})")
    # Notifications sent while it reconnects are lost (the sweep's job), so keep storing
    # receipts until one is heard on the new connection.
    for mid in mids:
        await store.add_receipts([_unclaimed(mid, "smpp-ntf-c")])
        if await heard.wait_for("smpp-ntf-c", timeout=0.5):
            break
    assert "smpp-ntf-c" in heard.heard
    assert listener._conn.get_server_pid() != pid
    await stop()
    assert listener._conn is None


# -- migration from 0001 ---------------------------------------------------------------------
@pytest.fixture
def only_first_migration(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make upgrade() stop at 0001, as a database of the previous release is."""
    real = ledger.migrate.load_migrations
    monkeypatch.setattr(ledger.migrate, "load_migrations", lambda dialect: real(dialect)[:1])
    yield
    monkeypatch.setattr(ledger.migrate, "load_migrations", real)


def _raw_message_and_receipt(url: str, message_id: str, created_at: str) -> None:
    """Insert a message and its receipt as release 0001 did (no claim columns yet)."""
    message = (
        "INSERT INTO {s}messages (message_id, system_id, idempotency_key, source_addr,"
        " destination_addr, segments, cost, registered_delivery, pdu_body, state,"
        " created_at, updated_at) VALUES ('{m}', 'smpp-acme', 'key-{m}', 'Shop',"
        " '447700900123', 1, 100, 1, {body}, 'forwarded', '{t}', '{t}')"
    )
    receipt = (
        "INSERT INTO {s}receipts (system_id, message_id, pdu_body, created_at)"
        " VALUES ('smpp-acme', '{m}', {body}, '{t}')"
    )
    if url.startswith("sqlite:"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            for sql in (message, receipt):
                conn.execute(sql.format(s="", m=message_id, body="X'6f6c64'", t=created_at))
        conn.close()
        return
    _, schema, _ = parse_url(url)
    args = {"s": f'"{schema}".', "m": message_id, "body": "'\\x6f6c64'::bytea", "t": created_at}
    run_sync(lambda: pg_execute(pg_dsn(), message.format(**args), receipt.format(**args)))


async def test_upgrade_from_0001_keeps_data(
    fresh_url: str, clock: FakeClock, only_first_migration: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = await open_store(fresh_url, clock=clock)
    try:
        assert await old.upgrade() == ["0001_initial"]
    finally:
        await old.close()
    # This code writes columns 0001 lacks: write the old rows as 0001 did.
    old_account(fresh_url, clock.now.isoformat(), balance=10_000, throughput=2, max_binds=1)
    _raw_message_and_receipt(fresh_url, "m-old", clock.now.isoformat())

    monkeypatch.undo()  # the new release: every migration
    new = await open_store(fresh_url, clock=clock)
    try:
        assert await new.upgrade() == migrations_from("0002_multi_gateway")
        account = await new.get_account("smpp-acme")
        assert (account.balance, account.throughput, account.max_binds) == (10_000, 2, 1)
        # The old entry is kept as it was, with the house account that took its other side.
        assert await full_journal(new, "smpp-acme") == [
            JournalEntry(
                id=1,
                system_id="smpp-acme",
                kind=EntryKind.CREDIT,
                amount=10_000,
                balance_after=10_000,
                idempotency_key="seed:smpp-acme",
                message_id=None,
                created_at=clock.now,
                note="seed",
                counter_account="house:topups",
            )
        ]
        # The old receipt is pending and unclaimed; a gateway can claim it.
        [old_receipt] = await new.pending_receipts("smpp-acme")
        assert (old_receipt.pdu_body, old_receipt.claimed_by) == (b"old", None)
        [claimed] = await new.claim_receipts("smpp-acme", gateway_id="gw-a")
        assert claimed.id == old_receipt.id
        # Existing accounts start with a full bucket (2/s), and binds work.
        results = await new.debit_batch([request(f"n{i}") for i in range(3)])
        assert [r.status for r in results] == [
            DebitStatus.OK,
            DebitStatus.OK,
            DebitStatus.THROTTLED,
        ]
        await new.register_gateway("gw-a", address="x")
        assert await new.acquire_bind(
            "smpp-acme", gateway_id="gw-a", session_id="s", kind="receiver", max_binds=1
        )
        assert await new.audit() == []
    finally:
        await new.close()
