"""Message history on a large ledger: fill N messages, time the typical queries.

    .venv/bin/python benchmarks/history.py                       # 10 million, both stores
    .venv/bin/python benchmarks/history.py --messages 200000 --stores sqlite

The schema is the ledger's own (``Store.upgrade``, every migration, every index).
The rows are written straight into the tables, as years of traffic would have left
them (the debit path would take hours for ten million): 20 accounts, one of which,
``smpp-big``, holds half the messages; 90 days of traffic, newest last; destinations
mostly French (33), then British (44), German (49), North American (1), Indian (91) and
a rare Icelandic (354, 0.1%); states 90% delivered, 6% failed, 3% forwarded, 1%
rejected; one receipt per ten messages. ``--fill sql`` (the default) has the database
generate them from the row number (a recursive CTE on SQLite, ``generate_series`` on
PostgreSQL: one ``INSERT ... SELECT`` each, no row crosses from Python); ``--fill rows``
writes seeded random rows from Python (``executemany`` batches, ``COPY``). Both are
then ``ANALYZE``d, as a database in service would have been.

Each query goes through ``Store.history`` (the ledger's SQL, with its keyset cursor) on
``smpp-big``, ``--repeat`` times after one warm-up; the warm-up, the median and the
worst are printed in milliseconds, with the rows each page returned:

- newest page (50), the fifth page (four cursors deep);
- one day, 20 days back (newest 50 of it);
- a common prefix (33), a rare one (354);
- a common state (failed), a rare one (rejected);
- a state and a prefix together (failed to 44);
- the console chart's ``daily_usage`` (messages and credits per day, 30 days): its
  warm-up counts and keeps the 28 settled days, the other runs count today and
  yesterday only.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from ledger.models import MessageState
from ledger.models.history import HistoryPage
from ledger.store import Store, open_store

DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"
END = datetime(2026, 1, 1, tzinfo=UTC)
DAYS = 90
ACCOUNTS = [f"smpp-a{i:02d}" for i in range(19)]
BIG = "smpp-big"
PREFIXES = [("33", 500), ("44", 200), ("49", 150), ("1", 95), ("91", 54), ("354", 1)]
STATES = [("delivered", 900), ("failed", 60), ("forwarded", 30), ("rejected", 10)]
BODY = b"\x00\x05\x00Shop\x00\x01\x01" + b"x" * 40


def _weighted(pairs: list[tuple[str, int]]) -> list[str]:
    return [value for value, weight in pairs for _ in range(weight)]


def rows(count: int, seed: int = 7) -> Iterator[tuple[Any, ...]]:
    """(message_id, system_id, key, dest, segments, cost, state, upstream_id, created_at),
    oldest first, spread evenly over DAYS."""
    rng = random.Random(seed)  # noqa: S311 — seeded test data, reproducible on purpose
    prefixes, states = _weighted(PREFIXES), _weighted(STATES)
    start = END - timedelta(days=DAYS)
    step = timedelta(days=DAYS) / count
    for i in range(count):
        system_id = BIG if i % 2 == 0 else ACCOUNTS[(i // 2) % len(ACCOUNTS)]
        prefix = rng.choice(prefixes)
        dest = prefix + str(rng.randrange(10**9, 10**10))
        state = rng.choice(states)
        upstream = None if state == "rejected" else f"u{i}"
        created = start + step * i
        segments = 1 + (i % 7 == 0)
        yield (
            f"m{i:09d}",
            system_id,
            f"k{i}",
            dest,
            segments,
            100 * segments,
            state,
            upstream,
            created,
        )


async def fill_sqlite(url: str, count: int, store: Store) -> None:
    import sqlite3

    path = url[len("sqlite:///") :]
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # loading only; the ledger reopens it durably
    conn.execute("BEGIN")
    batch: list[tuple[Any, ...]] = []
    receipts: list[tuple[Any, ...]] = []

    def flush() -> None:
        conn.executemany(
            "INSERT INTO messages (message_id, system_id, idempotency_key, source_addr,"
            " destination_addr, segments, cost, registered_delivery, pdu_body, state,"
            " upstream_id, created_at, updated_at) VALUES (?, ?, ?, 'Shop', ?, ?, ?, 1, ?, ?,"
            " ?, ?, ?)",
            batch,
        )
        conn.executemany(
            "INSERT INTO receipts (system_id, message_id, pdu_body, created_at, delivered_at)"
            " VALUES (?, ?, ?, ?, ?)",
            receipts,
        )
        batch.clear()
        receipts.clear()

    for n, (mid, sid, key, dest, seg, cost, state, up, created) in enumerate(rows(count)):
        at = created.isoformat()
        batch.append((mid, sid, key, dest, seg, cost, BODY, state, up, at, at))
        if n % 10 == 0 and state in ("delivered", "failed"):
            later = (created + timedelta(seconds=5)).isoformat()
            receipts.append((sid, mid, b"id:x stat:DELIVRD", later, later))
        if len(batch) >= 50_000:
            flush()
    flush()
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


async def fill_postgres(url: str, count: int, store: Store) -> None:
    import asyncpg

    from ledger.backends.postgres import parse_url

    dsn, schema, _ = parse_url(url)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": f'"{schema}"'})
    try:
        await conn.execute("SET synchronous_commit = off")

        def records() -> Iterator[tuple[Any, ...]]:
            for mid, sid, key, dest, seg, cost, state, up, created in rows(count):
                yield (mid, sid, key, "Shop", dest, seg, cost, 1, BODY, state, up, created, created)

        def receipt_records() -> Iterator[tuple[Any, ...]]:
            for n, (mid, sid, _k, _d, _s, _c, state, _u, created) in enumerate(rows(count)):
                if n % 10 == 0 and state in ("delivered", "failed"):
                    later = created + timedelta(seconds=5)
                    yield (sid, mid, b"id:x stat:DELIVRD", later, later)

        columns = [
            "message_id", "system_id", "idempotency_key", "source_addr", "destination_addr",
            "segments", "cost", "registered_delivery", "pdu_body", "state", "upstream_id",
            "created_at", "updated_at",
        ]  # fmt: skip
        await _copy_in_chunks(conn, "messages", columns, records())
        await _copy_in_chunks(
            conn,
            "receipts",
            ["system_id", "message_id", "pdu_body", "created_at", "delivered_at"],
            receipt_records(),
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _copy_in_chunks(
    conn: Any, table: str, columns: list[str], records: Iterator[tuple[Any, ...]]
) -> None:
    chunk: list[tuple[Any, ...]] = []
    for record in records:
        chunk.append(record)
        if len(chunk) >= 200_000:
            await conn.copy_records_to_table(table, records=chunk, columns=columns)
            chunk = []
    if chunk:
        await conn.copy_records_to_table(table, records=chunk, columns=columns)


# -- filling with SQL: the database generates the rows itself ------------------------------
# The same data on both stores, from integer arithmetic on the row number i: two mixed
# hashes pick the prefix and the state with the weights of PREFIXES and STATES; i picks
# the account (even: smpp-big) and the time (evenly over DAYS, oldest first).
_H1 = "(((i * 1103515245 + 12345) / 65536) % 1000)"
_H2 = "(((i * 22695477 + 1) / 1024) % 1000)"
_PREFIX = (
    f"CASE WHEN {_H1} < 500 THEN '33' WHEN {_H1} < 700 THEN '44' WHEN {_H1} < 850 THEN '49'"
    f" WHEN {_H1} < 945 THEN '1' WHEN {_H1} < 999 THEN '91' ELSE '354' END"
)
_STATE = (
    f"CASE WHEN {_H2} < 900 THEN 'delivered' WHEN {_H2} < 960 THEN 'failed'"
    f" WHEN {_H2} < 990 THEN 'forwarded' ELSE 'rejected' END"
)
_DIGITS = "(1000000000 + (i * 48271) % 9000000000)"
_SEGMENTS = "(CASE WHEN i % 7 = 0 THEN 2 ELSE 1 END)"
_COLUMNS = (
    "message_id, system_id, idempotency_key, source_addr, destination_addr, segments, cost,"
    " registered_delivery, pdu_body, state, upstream_id, created_at, updated_at"
)


def _select(pad: Callable[[str, int], str], body: str, at: str) -> str:
    """The SELECT list of one generated message row (dialect bits: ``pad``, ``body``, ``at``)."""
    return (
        f"'m' || {pad('i', 9)}, CASE WHEN i % 2 = 0 THEN '{BIG}'"
        f" ELSE 'smpp-a' || {pad('(i / 2) % 19', 2)} END, 'k' || i, 'Shop',"
        f" {_PREFIX} || {_DIGITS}, {_SEGMENTS}, 100 * {_SEGMENTS}, 1, {body}, {_STATE},"
        f" CASE WHEN {_H2} >= 990 THEN NULL ELSE 'u' || i END, {at}, {at}"
    )


async def fill_sqlite_sql(url: str, count: int, store: Store) -> None:
    import sqlite3

    conn = sqlite3.connect(url[len("sqlite:///") :], isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")  # loading only; the ledger reopens it durably
    start = (END - timedelta(days=DAYS)).timestamp()
    step = DAYS * 86400 / count
    # ISO 8601 with microseconds and the offset: the form the ledger writes.
    at = f"strftime('%Y-%m-%dT%H:%M:%f', {start} + i * {step}, 'unixepoch') || '000+00:00'"
    select = _select(lambda e, n: f"printf('%0{n}d', {e})", f"X'{BODY.hex()}'", at)
    conn.execute("BEGIN")
    conn.execute(
        f"INSERT INTO messages ({_COLUMNS}) WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL"  # noqa: S608 — our own constants and an int
        f" SELECT i + 1 FROM seq WHERE i < {count - 1}) SELECT {select} FROM seq"
    )
    later = "strftime('%Y-%m-%dT%H:%M:%f', created_at, '+5 seconds') || '000+00:00'"
    conn.execute(
        "INSERT INTO receipts (system_id, message_id, pdu_body, created_at, delivered_at)"  # noqa: S608 — constants
        f" SELECT system_id, message_id, X'{b'id:x stat:DELIVRD'.hex()}', {later}, {later}"
        " FROM messages WHERE CAST(substr(message_id, 2) AS INTEGER) % 10 = 0"
        " AND state IN ('delivered', 'failed')"
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


async def fill_postgres_sql(url: str, count: int, store: Store) -> None:
    import asyncpg

    from ledger.backends.postgres import parse_url

    dsn, schema, _ = parse_url(url)
    conn = await asyncpg.connect(dsn, server_settings={"search_path": f'"{schema}"'})
    start = (END - timedelta(days=DAYS)).isoformat()
    step_us = DAYS * 86400 * 1_000_000 // count
    at = f"'{start}'::timestamptz + i * {step_us} * interval '1 microsecond'"
    select = _select(lambda e, n: f"lpad(({e})::text, {n}, '0')", f"'\\x{BODY.hex()}'::bytea", at)
    try:
        await conn.execute("SET synchronous_commit = off")
        await conn.execute(
            f"INSERT INTO messages ({_COLUMNS}) SELECT {select}"  # noqa: S608 — constants, an int
            f" FROM generate_series(0::bigint, {count - 1}) AS s(i)"
        )
        await conn.execute(
            "INSERT INTO receipts (system_id, message_id, pdu_body, created_at, delivered_at)"
            " SELECT system_id, message_id, 'id:x stat:DELIVRD'::bytea,"
            " created_at + interval '5 seconds', created_at + interval '5 seconds'"
            " FROM messages WHERE substr(message_id, 2)::bigint % 10 = 0"
            " AND state IN ('delivered', 'failed')"
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def _pages(store: Store, depth: int, **query: Any) -> HistoryPage:
    page = await store.history(BIG, **query)
    for _ in range(depth - 1):
        page = await store.history(BIG, before=page.next_before, **query)
    return page


def queries() -> list[tuple[str, Callable[[Store], Awaitable[Any]]]]:
    day = END - timedelta(days=20)
    return [
        ("newest page", lambda s: s.history(BIG)),
        ("5th page (4 cursors)", lambda s: _pages(s, 5)),
        ("one day", lambda s: s.history(BIG, since=day, until=day + timedelta(days=1))),
        ("prefix 33 (50%)", lambda s: s.history(BIG, dest_prefix="33")),
        ("prefix 354 (0.1%)", lambda s: s.history(BIG, dest_prefix="354")),
        ("state failed (6%)", lambda s: s.history(BIG, state=MessageState.FAILED)),
        ("state rejected (1%)", lambda s: s.history(BIG, state=MessageState.REJECTED)),
        (
            "failed to 44",
            lambda s: s.history(BIG, state=MessageState.FAILED, dest_prefix="44"),
        ),
        # The console's chart: messages and credits per day of the last 30 days.
        ("daily usage, 30 days", lambda s: s.daily_usage(BIG)),
    ]


def _clock() -> datetime:
    """The benchmark's now: just after the newest message (the data ends at END)."""
    return END - timedelta(microseconds=1)


async def bench(kind: str, count: int, repeat: int, fill: str = "sql") -> None:
    tmp = tempfile.TemporaryDirectory()
    dsn = os.environ.get("SMPPGW_TEST_PG_DSN") or DEFAULT_PG_DSN
    schema = f"bench_history_{secrets.token_hex(4)}"
    if kind == "sqlite":
        url = f"sqlite:///{tmp.name}/ledger.db"
    else:
        url = f"{dsn}{'&' if '?' in dsn else '?'}schema={schema}"
    store = await open_store(url, clock=_clock)
    try:
        await store.upgrade()
        from ledger.models import NewAccount

        for sid in [BIG, *ACCOUNTS]:
            await store.create_account(NewAccount(system_id=sid, password_hash="x"))  # noqa: S106 — bench data
        t0 = time.perf_counter()
        fillers = {
            ("sqlite", "sql"): fill_sqlite_sql,
            ("sqlite", "rows"): fill_sqlite,
            ("postgresql", "sql"): fill_postgres_sql,
            ("postgresql", "rows"): fill_postgres,
        }
        await fillers[kind, fill](url, count, store)
        filled = time.perf_counter() - t0
        await store.close()
        store = await open_store(url, clock=_clock)  # a fresh connection, as a CLI call has
        print(f"\n{kind}: {count:,} messages filled ({fill}) in {filled:.0f} s")
        print(f"{'query':<24} {'rows':>5} {'first ms':>9} {'median ms':>10} {'max ms':>8}")
        for name, run in queries():
            t = time.perf_counter()
            found = await run(store)  # warm-up, and the row count
            first = (time.perf_counter() - t) * 1000
            shown = len(found.items) if isinstance(found, HistoryPage) else len(found)
            times = []
            for _ in range(repeat):
                t = time.perf_counter()
                await run(store)
                times.append((time.perf_counter() - t) * 1000)
            print(
                f"{name:<24} {shown:>5} {first:>9.2f} {statistics.median(times):>10.2f}"
                f" {max(times):>8.2f}"
            )
    finally:
        await store.close()
        if kind == "postgresql":
            import asyncpg

            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            finally:
                await conn.close()
        tmp.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000_000)
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument(
        "--fill",
        choices=["sql", "rows"],
        default="sql",
        help="sql: the database generates the rows (recursive CTE, generate_series);"
        " rows: Python writes seeded random rows (executemany, COPY)",
    )
    args = parser.parse_args(argv)
    for kind in args.stores:
        asyncio.run(bench(kind, args.messages, args.repeat, args.fill))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
