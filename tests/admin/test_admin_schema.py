"""Opening the ledger and upgrading its schema through the service layer."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway import admin
from ledger.store import Store, open_store


async def test_upgrade_applies_then_reports_nothing(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path}/l.db")
    try:
        first = await admin.upgrade_schema(store)
        assert first.applied and first.applied[0] == "0001_initial"
        assert await admin.upgrade_schema(store) == admin.SchemaUpgrade(())
    finally:
        await store.close()


async def test_upgrade_on_both_stores_is_idempotent(store: Store) -> None:
    assert await admin.upgrade_schema(store) == admin.SchemaUpgrade(())


async def test_an_embedded_ledger_is_migrated_on_open(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/var/new/l.db"
    async with admin.open_ledger(url) as store:
        assert await admin.list_accounts(store) == []
        assert await admin.upgrade_schema(store) == admin.SchemaUpgrade(())
    assert (tmp_path / "var" / "new" / "l.db").is_file()


async def test_without_migrate_embedded_the_schema_is_left_alone(tmp_path: Path) -> None:
    async with admin.open_ledger(f"sqlite:///{tmp_path}/l.db", migrate_embedded=False) as store:
        assert (await admin.upgrade_schema(store)).applied


async def test_an_unopenable_ledger_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "l.db").mkdir()  # a directory where the database file should be
    with pytest.raises(admin.Unavailable, match="cannot open SQLite ledger"):
        async with admin.open_ledger(f"sqlite:///{tmp_path}/l.db"):
            pass


@pytest.mark.postgres
async def test_an_unreachable_postgresql_is_unavailable() -> None:
    with pytest.raises(admin.Unavailable, match="cannot reach the PostgreSQL ledger"):
        async with admin.open_ledger("postgresql://postgres@127.0.0.1:1/test"):
            pass
