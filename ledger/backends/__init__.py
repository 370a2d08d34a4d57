"""Databases the ledger runs on: SQLite (embedded) and PostgreSQL (shared), SQL only.

``base`` is the interface (scripts of operations), ``statements`` the SQL both dialects
share, ``rows`` the one mapping of rows to records; ``sqlite`` and ``postgres`` perform
the operations in their dialect.
"""
