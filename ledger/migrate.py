"""Versioned schema migrations, one mechanism for both stores.

Migrations are ``ledger/migrations/<dialect>/NNNN_name.sql`` files (package data), applied
in version order, each in its own transaction together with its row in
``schema_migrations`` (version, name, sha256 of the file, time). So a migration is applied
entirely or not at all, and two processes upgrading at once apply it once: SQLite
serialises them with ``BEGIN IMMEDIATE``, PostgreSQL with a transaction-scoped advisory
lock. A file edited after it was applied, or a database newer than this code, stops the
upgrade with :class:`MigrationError` rather than running on a schema nobody tested.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any, Literal

from ledger.errors import LedgerError

Dialect = Literal["sqlite", "postgresql"]

_FILE_RE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_SQLITE_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TEXT NOT NULL
)
"""

_POSTGRES_BOOTSTRAP = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    checksum   TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL
)
"""

#: Key of the PostgreSQL advisory lock taken while upgrading ("smppgw" in ASCII).
_PG_LOCK_KEY = 0x736D70706777


class MigrationError(LedgerError):
    """The migration files and the database disagree (edited, missing or unknown)."""


@dataclass(frozen=True, slots=True)
class Migration:
    """One schema change: ``NNNN_name.sql``."""

    version: int
    name: str  # the file name without ".sql", e.g. "0001_initial"
    sql: str

    @property
    def checksum(self) -> str:
        """sha256 of the file's text, recorded when applied."""
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()


def load_migrations(dialect: Dialect) -> list[Migration]:
    """Every migration shipped for ``dialect``, in version order."""
    folder = resources.files("ledger") / "migrations" / dialect
    found: list[Migration] = []
    for item in folder.iterdir():
        m = _FILE_RE.match(item.name)
        if m is None:
            continue  # __init__.py, editor backups, ...
        found.append(Migration(int(m.group(1)), item.name[:-4], item.read_text("utf-8")))
    found.sort(key=lambda mig: mig.version)
    versions = [mig.version for mig in found]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two {dialect} migrations share a version: {versions}")
    return found


def pending(migrations: list[Migration], applied: Mapping[int, str]) -> list[Migration]:
    """The migrations still to apply, given ``applied`` (version -> checksum).

    Raises MigrationError when an applied file changed or the database has versions
    this code does not know (it was upgraded by a newer release).
    """
    known = {m.version: m for m in migrations}
    unknown = sorted(set(applied) - set(known))
    if unknown:
        raise MigrationError(f"database has migrations this release lacks: {unknown}")
    for version, checksum in applied.items():
        if known[version].checksum != checksum:
            raise MigrationError(f"migration {known[version].name} changed after it was applied")
    return [m for m in migrations if m.version not in applied]


def split_sqlite_script(sql: str) -> list[str]:
    """Split a script into statements (sqlite3 runs one per execute).

    ``executescript`` would do it, but it commits any open transaction first, which
    would break "the migration and its record commit together". ``complete_statement``
    knows about string literals and ``CREATE TRIGGER ... END``.
    """
    statements: list[str] = []
    buf = ""
    for line in sql.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            stmt = buf.strip()
            if _has_code(stmt):
                statements.append(stmt)
            buf = ""
    if _has_code(buf):
        raise MigrationError(f"incomplete SQL statement at the end: {buf.strip()[:80]!r}")
    return statements


def _has_code(stmt: str) -> bool:
    return any(line.strip() and not line.strip().startswith("--") for line in stmt.splitlines())


def upgrade_sqlite(conn: sqlite3.Connection, now: datetime) -> list[str]:
    """Apply pending migrations on an autocommit (``isolation_level=None``) connection."""
    migrations = load_migrations("sqlite")
    conn.execute(_SQLITE_BOOTSTRAP)
    done: list[str] = []
    for migration in migrations:
        conn.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have just applied it.
            applied = dict(conn.execute("SELECT version, checksum FROM schema_migrations"))
            todo = pending(migrations, applied)
            if migration not in todo:
                conn.execute("ROLLBACK")
                continue
            for stmt in split_sqlite_script(migration.sql):
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                " VALUES (?, ?, ?, ?)",
                (migration.version, migration.name, migration.checksum, now.isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        done.append(migration.name)
    # Nothing pending still runs the checks (edited or unknown migrations).
    pending(migrations, dict(conn.execute("SELECT version, checksum FROM schema_migrations")))
    return done


async def upgrade_postgres(conn: Any, now: datetime) -> list[str]:
    """Apply pending migrations on an asyncpg connection, one transaction each."""
    migrations = load_migrations("postgresql")
    done: list[str] = []
    for migration in migrations:
        async with conn.transaction():
            # Serialise concurrent upgraders (two gateways starting together); the lock
            # ends with the transaction. CREATE TABLE IF NOT EXISTS alone is not safe
            # concurrently, so the bootstrap runs under the lock too.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _PG_LOCK_KEY)
            await conn.execute(_POSTGRES_BOOTSTRAP)
            rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
            todo = pending(migrations, {r["version"]: r["checksum"] for r in rows})
            if migration not in todo:
                continue
            await conn.execute(migration.sql)  # no arguments: multi-statement is allowed
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at)"
                " VALUES ($1, $2, $3, $4)",
                migration.version,
                migration.name,
                migration.checksum,
                now,
            )
        done.append(migration.name)
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _PG_LOCK_KEY)
        await conn.execute(_POSTGRES_BOOTSTRAP)
        rows = await conn.fetch("SELECT version, checksum FROM schema_migrations")
        pending(migrations, {r["version"]: r["checksum"] for r in rows})
    return done
