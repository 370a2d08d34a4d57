"""The SQL of credit packages, once for both dialects where the SQL allows.

Lists are arrays on PostgreSQL (``ANY``) and JSON text on SQLite (``json_each``), as in
``ledger.backends.statements``. The package journal's rows are inserted by ONE
statement per movement from a JSON array of rows (``jsonb_array_elements`` /
``json_each``), returning their ids.
"""

from __future__ import annotations

from ledger.backends.base import Statement
from ledger.backends.rows import (
    ALERT_COLS,
    PACKAGE_COLS,
    PACKAGE_JOURNAL_COLS,
    PACKAGE_STATE_COLS,
)


def _where_in(head: str, column: str, tail: str = "") -> Statement:
    """``head WHERE column IN <the list bound as $1> tail``."""
    return Statement.each(
        postgres=f"{head} WHERE {column} = ANY($1::text[]){tail}",
        sqlite=f"{head} WHERE {column} IN (SELECT value FROM json_each($1)){tail}",
    )


#: Packages with something left of the accounts listed (the debit's and sweep's view).
OPEN_PACKAGES = _where_in(
    f"SELECT {PACKAGE_STATE_COLS} FROM packages", "system_id", " AND remaining > 0"
)
#: Packages by id, whatever is left (a refund's).
PACKAGES_BY_ID = _where_in(f"SELECT {PACKAGE_STATE_COLS} FROM packages", "package_id")
#: Draws of the messages listed, in order.
DRAWS = _where_in(
    "SELECT message_id, seq, source, amount, segments FROM message_draws",
    "message_id",
    " ORDER BY message_id, seq",
)
#: Package journal rows of the keys listed.
PACKAGE_ENTRIES_BY_KEY = _where_in(
    f"SELECT {PACKAGE_JOURNAL_COLS} FROM package_journal", "idempotency_key"
)

INSERT_PACKAGE = Statement.both(
    "INSERT INTO packages (package_id, system_id, name, category, total, remaining,"
    " purchased_at, expires_at) VALUES ($1, $2, $3, $4, $5, $5, $6, $7)"
)
SET_REMAINING = Statement.both("UPDATE packages SET remaining = $2 WHERE package_id = $1")
INSERT_DRAW = Statement.both(
    "INSERT INTO message_draws (message_id, seq, source, amount, segments)"
    " VALUES ($1, $2, $3, $4, $5)"
)
_ENTRY_COLS = (
    "package_id, system_id, counter_account, kind, amount, remaining_after,"
    " idempotency_key, body_hash, message_id, note, created_at"
)
#: $1: a JSON array of rows (the first ten columns of _ENTRY_COLS), $2: the time.
INSERT_PACKAGE_ENTRIES = Statement.each(
    postgres=f"INSERT INTO package_journal ({_ENTRY_COLS})"
    " SELECT v->>0, v->>1, v->>2, v->>3, (v->>4)::bigint, (v->>5)::bigint, v->>6, v->>7,"
    " v->>8, v->>9, $2"
    " FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS r(v, ord) ORDER BY ord"
    " RETURNING id, idempotency_key",
    sqlite=f"INSERT INTO package_journal ({_ENTRY_COLS})"
    " SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'),"
    " json_extract(value, '$[2]'), json_extract(value, '$[3]'),"
    " json_extract(value, '$[4]'), json_extract(value, '$[5]'),"
    " json_extract(value, '$[6]'), json_extract(value, '$[7]'),"
    " json_extract(value, '$[8]'), json_extract(value, '$[9]'), $2"
    " FROM json_each($1) WHERE true ORDER BY key"
    " RETURNING id, idempotency_key",
)

# -- reading --------------------------------------------------------------------------------------

#: An account's packages, newest purchase first, a page after the cursor
#: ($2 purchased_at, $3 package_id; NULLs: from the newest).
PACKAGES_PAGE = Statement.each(
    postgres=f"SELECT {PACKAGE_COLS} FROM packages WHERE system_id = $1"
    " AND ($2::timestamptz IS NULL OR (purchased_at, package_id) < ($2, $3::text))"
    " ORDER BY purchased_at DESC, package_id DESC LIMIT $4",
    sqlite=f"SELECT {PACKAGE_COLS} FROM packages WHERE system_id = $1"
    " AND ($2 IS NULL OR purchased_at < $2 OR (purchased_at = $2 AND package_id < $3))"
    " ORDER BY purchased_at DESC, package_id DESC LIMIT $4",
)
#: Every package of an account (the totals per category).
ACCOUNT_PACKAGES = Statement.both(f"SELECT {PACKAGE_COLS} FROM packages WHERE system_id = $1")
PACKAGE = Statement.both(f"SELECT {PACKAGE_COLS} FROM packages WHERE package_id = $1")
PACKAGE_JOURNAL = Statement.both(
    f"SELECT {PACKAGE_JOURNAL_COLS} FROM package_journal WHERE package_id = $1"
    " ORDER BY id DESC LIMIT $2"
)
#: Accounts holding a package expired at $1 with something left (the sweep's queue).
EXPIRED_HOLDERS = Statement.both(
    "SELECT DISTINCT system_id FROM packages WHERE remaining > 0 AND expires_at <= $1 LIMIT $2"
)

# -- alerts on a credit-package category: its balance is the remaining of the account's
# packages of that category, stepped by their package journal entries (milli-messages).
_CATEGORY_ENTRIES = (
    "FROM package_journal j JOIN packages p ON p.package_id = j.package_id"
    " WHERE p.system_id = $1 AND p.category = $2"
)
# The category's remaining now and its newest package entry (0: none).
CATEGORY_START = Statement.both(
    "SELECT COALESCE((SELECT SUM(remaining) FROM packages WHERE system_id = $1"
    " AND category = $2), 0) AS balance,"
    f" COALESCE((SELECT max(j.id) {_CATEGORY_ENTRIES}), 0) AS last_id"
)
# What the category's entries after $3 added up to (the balance before them is now's
# minus that), and a page of them in order.
CATEGORY_AFTER = Statement.both(
    f"SELECT COALESCE(SUM(j.amount), 0) {_CATEGORY_ENTRIES} AND j.id > $3"
)
CATEGORY_STEPS = Statement.both(
    f"SELECT j.id, j.amount {_CATEGORY_ENTRIES} AND j.id > $3 ORDER BY j.id LIMIT $4"
)
_CATEGORY_DUE = (
    f"SELECT {ALERT_COLS} FROM balance_alerts a WHERE category IS NOT NULL AND EXISTS"
    " (SELECT 1 FROM package_journal j JOIN packages p ON p.package_id = j.package_id"
    " WHERE p.system_id = a.system_id AND p.category = a.category"
    " AND j.id > a.checked_through) ORDER BY system_id, category LIMIT $1"
)
DUE_CATEGORY_ALERTS = Statement.each(
    postgres=_CATEGORY_DUE + " FOR UPDATE OF a SKIP LOCKED", sqlite=_CATEGORY_DUE
)

# The audit's proofs about packages (``ledger.rules.audit``), beside ``statements.AUDIT``
# (which counts package entries and remainders in the house balances and the zero sum):
# each package's remaining equals its entries, and every entry names a house account.
PACKAGE_AUDIT = Statement.both(
    """
WITH psums AS MATERIALIZED (
    SELECT package_id, counter_account, CAST(SUM(amount) AS BIGINT) AS total
    FROM package_journal GROUP BY package_id, counter_account
)
SELECT 'package' AS kind, p.package_id AS name, NULL AS counter, p.remaining AS balance,
       COALESCE(q.total, 0) AS total
FROM packages p
LEFT JOIN (SELECT package_id, CAST(SUM(total) AS BIGINT) AS total FROM psums
           GROUP BY package_id) q ON q.package_id = p.package_id
WHERE p.remaining <> COALESCE(q.total, 0)
UNION ALL
SELECT 'counter', s.package_id, s.counter_account, s.total, 0
FROM psums s
WHERE NOT EXISTS (SELECT 1 FROM house_accounts y WHERE y.name = s.counter_account)
"""
)
