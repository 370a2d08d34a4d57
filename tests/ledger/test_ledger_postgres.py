"""PostgreSQL-only behaviour: URLs, schemas, durability setting, unavailability."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ledger.backends.postgres import PostgresBackend, parse_url
from ledger.errors import LedgerUnavailable, UnknownAccount
from ledger.store import Store, open_store
from tests.ledger.conftest import pg_dsn, pg_execute, with_schema
from tests.ledger.ledger_helpers import make_account, migrations_from, request

pytestmark = pytest.mark.postgres


def test_parse_url() -> None:
    dsn, schema, pool = parse_url(
        "postgresql://u@h:5432/db?schema=run_1&sslmode=disable&pool_max=4"
    )
    assert (dsn, schema, pool) == ("postgresql://u@h:5432/db?sslmode=disable", "run_1", 4)
    assert parse_url("postgres://h/db") == ("postgres://h/db", None, 10)
    with pytest.raises(ValueError, match="identifier"):
        parse_url('postgresql://h/db?schema=x";drop')
    with pytest.raises(ValueError, match="pool_max"):
        parse_url("postgresql://h/db?pool_max=0")


async def test_unreachable_server_is_unavailable() -> None:
    with pytest.raises(LedgerUnavailable):
        await PostgresBackend.open("postgresql://postgres@127.0.0.1:1/test?schema=x")


@pytest.fixture
async def pg_store(pg_url: str) -> AsyncIterator[Store]:
    store = await open_store(pg_url)
    await store.upgrade()
    yield store
    await store.close()


async def test_session_is_durable(pg_store: Store) -> None:
    async with pg_store.backend.connection() as conn:  # type: ignore[attr-defined]
        assert await conn.fetchval("SHOW synchronous_commit") == "on"


async def test_schemas_are_isolated(pg_session_schema: str) -> None:
    # Another schema of the same database, created by upgrade(): nothing crosses over.
    schema = f"{pg_session_schema}_other"
    other = await open_store(with_schema(pg_dsn(), schema))
    try:
        assert await other.upgrade() == migrations_from("0001_initial")
        await make_account(other, "smpp-only-here", balance=5)
        main = await open_store(with_schema(pg_dsn(), pg_session_schema))
        try:
            await main.upgrade()
            with pytest.raises(UnknownAccount):
                await main.get_account("smpp-only-here")
        finally:
            await main.close()
    finally:
        await other.close()
        await pg_execute(pg_dsn(), f'DROP SCHEMA "{schema}" CASCADE')


async def test_killed_connections_are_unavailable_then_recover(
    pg_store: Store, pg_url: str
) -> None:
    await make_account(pg_store, "smpp-kill", balance=1_000)
    async with pg_store.backend.connection() as conn:  # type: ignore[attr-defined]
        pid = await conn.fetchval("SELECT pg_backend_pid()")
    # The server drops our pooled connection (restart, failover, idle kill ...).
    await pg_execute(pg_dsn(), f"SELECT pg_terminate_backend({pid})")
    outcome: list[str] = []
    for i in range(3):
        try:
            [r] = await pg_store.debit_batch([request(f"kill{i}", "smpp-kill")])
            outcome.append(r.status.value)
        except LedgerUnavailable:
            outcome.append("unavailable")
    # Depending on when asyncpg notices, the broken connection fails once (as
    # LedgerUnavailable, never as a raw driver error) or is replaced before use.
    assert outcome in (["unavailable", "ok", "ok"], ["ok", "ok", "ok"])
    accepted = outcome.count("ok")
    assert (await pg_store.get_account("smpp-kill")).balance == 1_000 - 100 * accepted
    assert await pg_store.audit() == []
