"""Opening the ledger for operator actions, and upgrading its schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from gateway.admin.errors import action, ledger_errors
from ledger.rules.limits import LedgerLimits
from ledger.store import Store, open_store


@dataclass(frozen=True, slots=True)
class SchemaUpgrade:
    """The migrations one upgrade applied, in order (empty: the schema was up to date)."""

    applied: tuple[str, ...]


@action
async def upgrade_schema(store: Store) -> SchemaUpgrade:
    """Apply the pending schema migrations."""
    return SchemaUpgrade(tuple(await store.upgrade()))


def is_embedded(url: str) -> bool:
    """True for the embedded SQLite ledger, which one gateway owns."""
    return url.startswith("sqlite:")


@asynccontextmanager
async def open_ledger(
    url: str, *, migrate_embedded: bool = True, limits: LedgerLimits | None = None
) -> AsyncIterator[Store]:
    """The store at ``url``, closed on exit; ledger errors are translated.

    ``limits``: the amount limits of the configuration (``[ledger]``), so that every
    front end refuses the same amounts as the gateway.

    With ``migrate_embedded``, an embedded (SQLite) ledger is brought up to date first, so
    a fresh checkout just works. A PostgreSQL schema changes only through an explicit
    :func:`upgrade_schema`: several gateways share it, and one operator tool upgrading
    it would migrate it behind the others' backs.
    """
    with ledger_errors():
        store = await open_store(url, limits=limits)
    try:
        if migrate_embedded and is_embedded(url):
            await upgrade_schema(store)
        yield store
    finally:
        with ledger_errors():
            await store.close()
