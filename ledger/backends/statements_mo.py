"""The SQL of messages from handsets (MO, ``ledger.core.mo``): owners of numbers and
keywords, and the MOs kept until a receiver takes them (migration 0012). Written like
``statements.py``: ``$n`` parameters, one text per dialect where they differ."""

from __future__ import annotations

from ledger.backends.base import Statement
from ledger.backends.rows import MO_COLS

ACCOUNT_EXISTS = Statement.both("SELECT 1 FROM accounts WHERE system_id = $1")
SET_MO_ROUTE = Statement.both(
    "INSERT INTO mo_routes (kind, value, system_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (kind, value) DO UPDATE SET system_id = excluded.system_id"
)
DELETE_MO_ROUTE = Statement.both("DELETE FROM mo_routes WHERE kind = $1 AND value = $2")
MO_ROUTES = Statement.each(
    postgres="SELECT kind, value, system_id FROM mo_routes"
    " WHERE ($1::text IS NULL OR system_id = $1::text) ORDER BY system_id, kind, value",
    sqlite="SELECT kind, value, system_id FROM mo_routes"
    " WHERE ($1 IS NULL OR system_id = $1) ORDER BY system_id, kind, value",
)
MO_OWNER = Statement.both(
    "SELECT kind, system_id FROM mo_routes"
    " WHERE (kind = 'number' AND value = $1) OR (kind = 'keyword' AND value = $2)"
)
INSERT_MO = Statement.both(
    "INSERT INTO mo_messages (system_id, upstream, source_addr, destination_addr, pdu_body,"
    " created_at, claimed_by, claimed_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " RETURNING id"
)
# Undelivered, unclaimed or claim run out, and younger than the age limit ($5); oldest first.
_MO_CLAIMABLE = (
    "SELECT id FROM mo_messages WHERE system_id = $1 AND delivered_at IS NULL"
    " AND (claimed_until IS NULL OR claimed_until <= $3) AND created_at > $5"
    " ORDER BY id LIMIT $6"
)
CLAIM_MO = Statement.each(
    postgres="UPDATE mo_messages SET claimed_by = $2, claimed_until = $4"
    f" WHERE id IN ({_MO_CLAIMABLE} FOR UPDATE SKIP LOCKED) RETURNING {MO_COLS}",
    sqlite="UPDATE mo_messages SET claimed_by = $2, claimed_until = $4"
    f" WHERE id IN ({_MO_CLAIMABLE}) RETURNING {MO_COLS}",
)
MO_DELIVERED = Statement.each(
    postgres="UPDATE mo_messages SET delivered_at = $2, claimed_until = NULL"
    " WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL",
    sqlite="UPDATE mo_messages SET delivered_at = $2, claimed_until = NULL"
    " WHERE id IN (SELECT value FROM json_each($1)) AND delivered_at IS NULL",
)
RELEASE_MO = Statement.each(
    postgres="UPDATE mo_messages SET claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL",
    sqlite="UPDATE mo_messages SET claimed_by = NULL, claimed_until = NULL"
    " WHERE id IN (SELECT value FROM json_each($1)) AND delivered_at IS NULL",
)
PENDING_MO = Statement.both(
    f"SELECT {MO_COLS} FROM mo_messages WHERE system_id = $1 AND delivered_at IS NULL"
    " ORDER BY id LIMIT $2"
)
