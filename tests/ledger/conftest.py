"""Fixtures of the ledger contract suite: one ``store`` per backend, an injected clock.

The PostgreSQL part (``pg_dsn``, ``pg_unavailable``, the session schema) depends on
nothing ledger-specific, so it can move to ``tests/conftest.py`` when other suites need a
database: each test session gets its own schema with a random name, dropped at the end.

PostgreSQL is found through ``SMPPGW_TEST_PG_DSN`` (default
``postgresql://postgres@127.0.0.1:5432/test``). If it cannot be reached, tests that need
it FAIL when ``CI=true`` (CI must never pass without testing PostgreSQL) and are skipped
with a loud reason otherwise.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import NoReturn, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import pytest

from ledger.store import Store, open_store
from tests.ledger.ledger_helpers import HASH, SENDER, FakeClock, migrations_from

T = TypeVar("T")

PG_DSN_ENV = "SMPPGW_TEST_PG_DSN"
DEFAULT_PG_DSN = "postgresql://postgres@127.0.0.1:5432/test"


# -- PostgreSQL for tests (movable to tests/conftest.py) ------------------------------------
def pg_dsn() -> str:
    """The DSN of the test PostgreSQL server."""
    return os.environ.get(PG_DSN_ENV) or DEFAULT_PG_DSN


def in_ci() -> bool:
    """True when running in CI, where nothing may be skipped for want of a service."""
    return os.environ.get("CI", "").strip().lower() == "true"


def pg_unavailable(reason: str) -> NoReturn:
    """Fail (in CI) or skip loudly (elsewhere) because PostgreSQL is not reachable."""
    message = f"PostgreSQL unreachable at {pg_dsn()!r} ({PG_DSN_ENV}): {reason}"
    if in_ci():
        pytest.fail(f"{message}; CI=true requires PostgreSQL tests to run", pytrace=False)
    pytest.skip(f"NOT TESTED ON POSTGRESQL: {message}")


def with_schema(dsn: str, schema: str) -> str:
    """``dsn`` with ``?schema=NAME`` (the form ``open_store`` understands)."""
    parts = urlsplit(dsn)
    query = "&".join(q for q in (parts.query, urlencode({"schema": schema})) if q)
    return urlunsplit(parts._replace(query=query))


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine to completion on a private loop in another thread.

    Session fixtures are synchronous and may run while a test's loop exists; a thread
    keeps ``asyncio.run`` away from it.
    """

    async def main() -> T:
        return await make()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()


async def pg_execute(dsn: str, *statements: str) -> None:
    """Run ``statements`` on one fresh connection (no pool, no schema)."""
    import asyncpg

    conn = await asyncpg.connect(dsn, timeout=5)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


def fresh_pg_schema(prefix: str) -> Iterator[str]:
    """A ledger URL on a new schema ``<prefix>_<random>`` of the test server, dropped
    after the ``yield`` (the body of a fixture); PostgreSQL missing: :func:`pg_unavailable`."""
    schema = f"{prefix}_{secrets.token_hex(6)}"
    try:
        run_sync(lambda: pg_execute(pg_dsn(), f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # unreachable, auth, missing database
        pg_unavailable(repr(exc))
    try:
        yield with_schema(pg_dsn(), schema)
    finally:
        run_sync(lambda: pg_execute(pg_dsn(), f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


async def upgraded_across(
    url: str, clock: FakeClock, monkeypatch: pytest.MonkeyPatch, migration: str
) -> Store:
    """A store on ``url`` upgraded to just before ``migration`` (say
    ``"0014_account_limits"``), given an account ``smpp-old`` written as that schema
    had it, then upgraded across it and on to the last migration. The caller closes it."""
    import ledger.migrate as migrate

    version = int(migration.split("_", 1)[0])
    every = migrate.load_migrations
    monkeypatch.setattr(
        migrate, "load_migrations", lambda d: [m for m in every(d) if m.version < version]
    )
    old = await open_store(url, clock=clock)
    try:
        await old.upgrade()
    finally:
        await old.close()
    raw_sql(
        url,
        "INSERT INTO {s}accounts (system_id, password_hash, status, created_at)"
        f" VALUES ('smpp-old', '{HASH}', 'active', '{clock.now.isoformat()}')",
    )
    monkeypatch.undo()
    new = await open_store(url, clock=clock)
    try:
        assert await new.upgrade() == migrations_from(migration)
    except BaseException:
        await new.close()
        raise
    return new


def raw_sql(url: str, *statements: str) -> None:
    """Run ``statements`` on the database of ``url`` as they are, outside the ledger.

    ``{s}`` in a statement stands for the schema prefix (nothing on SQLite). For
    writing rows the way an older release did, before upgrading.
    """
    if url.startswith("sqlite:"):
        with sqlite3.connect(url[len("sqlite:///") :]) as conn:
            for statement in statements:
                conn.execute(statement.format(s=""))
        conn.close()
        return
    schema = dict(parse_qsl(urlsplit(url).query))["schema"]
    prefixed = [statement.format(s=f'"{schema}".') for statement in statements]
    run_sync(lambda: pg_execute(pg_dsn(), *prefixed))


def old_account(
    url: str, created_at: str, *, balance: int, throughput: int = 0, max_binds: int = 2
) -> None:
    """An account ``smpp-acme`` credited once (key ``seed:smpp-acme``), as 0001-0003 wrote
    it: a journal entry without a counter-account, no house accounts."""
    raw_sql(
        url,
        "INSERT INTO {s}accounts (system_id, password_hash, balance, max_binds, throughput,"
        f" created_at) VALUES ('smpp-acme', '{HASH}', {balance}, {max_binds}, {throughput},"
        f" '{created_at}')",
        "INSERT INTO {s}account_senders (system_id, ton, npi, address)"
        f" VALUES ('smpp-acme', {SENDER.ton}, {SENDER.npi}, '{SENDER.address}')",
        "INSERT INTO {s}journal (system_id, kind, amount, balance_after, idempotency_key,"
        f" body_hash, message_id, created_at, note) VALUES ('smpp-acme', 'credit', {balance},"
        f" {balance}, 'seed:smpp-acme', 'old', NULL, '{created_at}', 'seed')",
    )


@pytest.fixture(scope="session")
def pg_session_schema() -> Iterator[str]:
    """A fresh schema for this test session (random name), dropped when it ends."""
    dsn = pg_dsn()
    schema = f"test_{secrets.token_hex(6)}"
    try:
        run_sync(lambda: pg_execute(dsn, f'CREATE SCHEMA "{schema}"'))
    except (OSError, TimeoutError, ImportError) as exc:
        pg_unavailable(repr(exc))
    except Exception as exc:  # asyncpg's own errors: auth, missing database, ...
        pg_unavailable(repr(exc))
    try:
        yield schema
    finally:
        run_sync(lambda: pg_execute(dsn, f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="session")
def pg_url(pg_session_schema: str) -> str:
    """A ``postgresql://...?schema=...`` URL on this session's schema."""
    return with_schema(pg_dsn(), pg_session_schema)


# -- the ledger's fixtures ------------------------------------------------------------------
_TABLES = (
    "api_tokens, binds, gateways, receipts, message_draws, package_journal, packages,"
    " messages, journal, house_accounts, account_senders, account_ips, accounts"
)


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand; starts at 2024-05-01 12:00 UTC."""
    return FakeClock()


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)],
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty ledger on each backend (one test's worth of isolation)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'var' / 'ledger.db'}"
    url: str = request.getfixturevalue("pg_url")
    schema: str = request.getfixturevalue("pg_session_schema")
    # The session schema is shared by every test: empty it (and upgrade it once).
    run_sync(lambda: _reset_pg(url, schema))
    return url


async def _reset_pg(url: str, schema: str) -> None:
    store = await open_store(url)
    try:
        await store.upgrade()
    finally:
        await store.close()
    tables = ", ".join(f'"{schema}".{t.strip()}' for t in _TABLES.split(","))
    await pg_execute(pg_dsn(), f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


@pytest.fixture
def fresh_url(store_url: str, tmp_path: Path) -> Iterator[str]:
    """A URL of the same backend as ``store_url`` whose database has no tables at all."""
    if store_url.startswith("sqlite:"):
        yield f"sqlite:///{tmp_path / 'fresh' / 'ledger.db'}"
        return
    schema = f"fresh_{secrets.token_hex(6)}"
    run_sync(lambda: pg_execute(pg_dsn(), f'CREATE SCHEMA "{schema}"'))
    try:
        yield with_schema(pg_dsn(), schema)
    finally:
        run_sync(lambda: pg_execute(pg_dsn(), f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


StoreFactory = Callable[[], Awaitable[Store]]


@pytest.fixture
async def open_peer(store_url: str, clock: FakeClock) -> AsyncIterator[StoreFactory]:
    """Open more stores on the same database (stand-ins for other gateway processes)."""
    opened: list[Store] = []

    async def factory() -> Store:
        peer = await open_store(store_url, clock=clock)
        opened.append(peer)
        return peer

    yield factory
    for peer in opened:
        await peer.close()


@pytest.fixture
async def store(store_url: str, clock: FakeClock) -> AsyncIterator[Store]:
    """An upgraded, empty store; after the test its audit must find nothing."""
    s = await open_store(store_url, clock=clock)
    await s.upgrade()
    try:
        yield s
        problems = await s.audit()
        assert problems == [], f"audit after the scenario: {problems}"
    finally:
        await s.close()
