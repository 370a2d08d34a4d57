"""Fixtures of the service-layer tests: the ledger suite's ``store``, on both backends.

Every test taking ``store`` runs once on SQLite in a tmp dir and once on PostgreSQL
(its own schema for the session), and ends with the ledger's audit finding nothing.
"""

from tests.ledger.conftest import clock, pg_session_schema, pg_url, store, store_url

__all__ = ["clock", "pg_session_schema", "pg_url", "store", "store_url"]
