"""The fixtures most integration tests share: an audited SQLite ledger and a gateway on it,
and a fresh PostgreSQL schema for the tests of several gateways on one ledger."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from gateway.app import Gateway
from ledger import Store, open_store
from tests.integration.harness import gateway_config, running_gateway
from tests.ledger.conftest import pg_dsn, pg_execute, pg_unavailable, run_sync, with_schema


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A fresh SQLite ledger under tmp_path; audited (balances equal journals) after."""
    s = await open_store(f"sqlite:///{tmp_path}/ledger.db")
    await s.upgrade()
    yield s
    assert await s.audit() == [], "cached balances must equal journal sums"
    await s.close()


@pytest.fixture
async def gw(store: Store, tmp_path: Path) -> AsyncIterator[Gateway]:
    """A started gateway on ``store`` with the built-in upstream simulator."""
    async with running_gateway(gateway_config(f"sqlite:///{tmp_path}/ledger.db"), store) as g:
        yield g


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A ledger URL on a fresh schema of the test PostgreSQL server, dropped afterwards."""
    schema = f"gw_{secrets.token_hex(6)}"
    try:
        run_sync(lambda: pg_execute(pg_dsn(), f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:  # unreachable, auth, missing database
        pg_unavailable(repr(exc))
    try:
        yield with_schema(pg_dsn(), schema)
    finally:
        run_sync(lambda: pg_execute(pg_dsn(), f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh ledger on each backend (PostgreSQL: a schema of its own)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/ledger.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
async def gw_store(ledger_url: str) -> AsyncIterator[tuple[Gateway, Store]]:
    """A gateway with the built-in simulator on that ledger, and the store; audited."""
    store = await open_store(ledger_url)
    await store.upgrade()
    try:
        async with running_gateway(gateway_config(ledger_url), store) as gw:
            yield gw, store
        assert await store.audit() == []
    finally:
        await store.close()
