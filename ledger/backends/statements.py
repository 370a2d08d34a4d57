"""The SQL of the plain operations, once for both dialects where the SQL allows.

``Statement.both`` is one text for SQLite and PostgreSQL; ``Statement.each`` gives each
dialect its own where they differ: lists (PostgreSQL binds arrays and reads them with
``ANY``/``unnest``; SQLite gets JSON text and reads it with ``json_each``), row locks
(SQLite's write lock already holds everything), insertion order (``seq`` / ``rowid``)
and JSON aggregates. Times are compared as values on PostgreSQL and as text on SQLite,
where every stored time has one textual form, so text order is time order.

What a dialect does its own way (the debit path, adoption, claims, storing receipts)
lives in its backend module.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import cache

from ledger.backends.base import Statement
from ledger.backends.rows import (
    ALERT_COLS,
    ALERT_MAIL_COLS,
    ALERT_STEP_COLS,
    BIND_COLS,
    CALLBACK_COLS,
    HISTORY_COLS,
    JOURNAL_COLS,
    MESSAGE_COLS,
    RECEIPT_COLS,
    TOKEN_COLS,
)

# -- accounts --------------------------------------------------------------------------------

INSERT_ACCOUNT = Statement.both(
    "INSERT INTO accounts (system_id, owner, contact_email, status, password_hash,"
    " max_binds, throughput, created_at, default_category)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
    " ON CONFLICT (system_id) DO NOTHING RETURNING system_id"
)
INSERT_IP = Statement.both(
    "INSERT INTO account_ips (system_id, cidr) VALUES ($1, $2)"
    " ON CONFLICT (system_id, cidr) DO NOTHING"
)
DELETE_IP = Statement.both("DELETE FROM account_ips WHERE system_id = $1 AND cidr = $2")
INSERT_SENDER = Statement.both(
    "INSERT INTO account_senders (system_id, ton, npi, address) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (system_id, ton, npi, address) DO NOTHING"
)
DELETE_SENDER = Statement.both(
    "DELETE FROM account_senders WHERE system_id = $1 AND ton = $2 AND npi = $3 AND address = $4"
)

# An account with its allowlist and senders as JSON arrays, in insertion order.
_PG_ACCOUNT = """
SELECT a.*,
       (SELECT COALESCE(json_agg(i.cidr ORDER BY i.id), '[]'::json)
        FROM account_ips i WHERE i.system_id = a.system_id) AS ips,
       (SELECT COALESCE(json_agg(json_build_array(s.ton, s.npi, s.address) ORDER BY s.id),
                        '[]'::json)
        FROM account_senders s WHERE s.system_id = a.system_id) AS senders
FROM accounts a
"""
_LITE_ACCOUNT = """
SELECT a.*,
       (SELECT json_group_array(cidr) FROM (SELECT cidr FROM account_ips i
        WHERE i.system_id = a.system_id ORDER BY id)) AS ips,
       (SELECT json_group_array(json_array(ton, npi, address)) FROM (SELECT ton, npi, address
        FROM account_senders s WHERE s.system_id = a.system_id ORDER BY id)) AS senders
FROM accounts a
"""
ACCOUNT = Statement.each(
    postgres=_PG_ACCOUNT + " WHERE a.system_id = $1",
    sqlite=_LITE_ACCOUNT + " WHERE a.system_id = $1",
)
# Byte order on both: SQLite's BINARY, PostgreSQL's "C" (Python's sorted()).
ALL_ACCOUNTS = Statement.each(
    postgres=_PG_ACCOUNT + ' ORDER BY a.system_id COLLATE "C"',
    sqlite=_LITE_ACCOUNT + " ORDER BY a.system_id",
)
# Held until the end of an account change, so changes of one account never interleave.
LOCK_ACCOUNT = Statement.each(
    postgres="SELECT 1 FROM accounts WHERE system_id = $1 FOR NO KEY UPDATE",
    sqlite="SELECT 1 FROM accounts WHERE system_id = $1",
)
SET_STATUS = Statement.both("UPDATE accounts SET status = $2 WHERE system_id = $1")
SET_PASSWORD_HASH = Statement.both("UPDATE accounts SET password_hash = $2 WHERE system_id = $1")
SET_RECHARGE = Statement.both(
    "UPDATE accounts SET recharge_threshold = $2, recharge_amount = $3,"
    " recharge_daily_cap = $4 WHERE system_id = $1"
)
# A new limit starts from a full bucket: predictable for the operator, and the old
# bucket was sized for the old rate.
SET_THROUGHPUT = Statement.both(
    "UPDATE accounts SET throughput = $2, tb_tokens = 0, tb_updated_at = NULL WHERE system_id = $1"
)
SET_MAX_BINDS = Statement.both("UPDATE accounts SET max_binds = $2 WHERE system_id = $1")
SET_OWNER = Statement.both("UPDATE accounts SET owner = $2 WHERE system_id = $1")
SET_CONTACT = Statement.both("UPDATE accounts SET contact_email = $2 WHERE system_id = $1")
SET_DEFAULT_CATEGORY = Statement.both(
    "UPDATE accounts SET default_category = $2 WHERE system_id = $1"
)
# -1 (``USE_GATEWAY_DEFAULT``) stores NULL: the gateway's own limit applies again.
SET_SUBMIT_WINDOW = Statement.both(
    "UPDATE accounts SET submit_window = NULLIF($2, -1) WHERE system_id = $1"
)
SET_MAX_SESSION_AGE = Statement.both(
    "UPDATE accounts SET max_session_age_s = NULLIF($2, -1) WHERE system_id = $1"
)
SET_CLIENT_CERT = Statement.both("UPDATE accounts SET client_cert_sha256 = $2 WHERE system_id = $1")
SET_DEFAULT_COUNTRY = Statement.both(
    "UPDATE accounts SET default_country = $2 WHERE system_id = $1"
)
# Closed is 'disabled' for every check that admits only 'active', plus the time.
CLOSE_ACCOUNT = Statement.both(
    "UPDATE accounts SET status = 'disabled', closed_at = $2 WHERE system_id = $1"
)
# What an account still holds, one (what, amount) row each; closing needs all zero.
# Tables that hold value for an account (credit packages) add their row here.
# What an account holds: its credits, and its credit packages still usable at $2.
ACCOUNT_HOLDINGS = Statement.both(
    "SELECT 'credits' AS what, balance AS amount FROM accounts WHERE system_id = $1"
    " UNION ALL SELECT 'packages', COUNT(*) FROM packages"
    " WHERE system_id = $1 AND remaining > 0 AND expires_at > $2"
)
ACCOUNT_EXISTS = Statement.both("SELECT 1 FROM accounts WHERE system_id = $1")

# -- gateways and binds ------------------------------------------------------------------------

REGISTER_GATEWAY = Statement.both(
    "INSERT INTO gateways (gateway_id, address, started_at, heartbeat_at)"
    " VALUES ($1, $2, $3, $3) ON CONFLICT (gateway_id) DO UPDATE SET"
    " address = excluded.address, started_at = excluded.started_at,"
    " heartbeat_at = excluded.heartbeat_at"
)
HEARTBEAT = Statement.both("UPDATE gateways SET heartbeat_at = $2 WHERE gateway_id = $1")
DELETE_GATEWAY_BINDS = Statement.both("DELETE FROM binds WHERE gateway_id = $1")
DELETE_GATEWAY = Statement.both("DELETE FROM gateways WHERE gateway_id = $1")
BIND_STATE = Statement.both(
    "SELECT EXISTS (SELECT 1 FROM accounts WHERE system_id = $1) AS account,"
    " EXISTS (SELECT 1 FROM gateways WHERE gateway_id = $2) AS gateway,"
    " (SELECT system_id FROM binds WHERE gateway_id = $2 AND session_id = $3) AS held"
)
# The binds of gateways that are not live (no row, or no heartbeat since the cutoff).
SWEEP_BINDS = Statement.both(
    "DELETE FROM binds WHERE system_id = $1 AND NOT EXISTS ("
    " SELECT 1 FROM gateways g WHERE g.gateway_id = binds.gateway_id"
    " AND g.heartbeat_at >= $2)"
)
COUNT_BINDS = Statement.both("SELECT count(*) FROM binds WHERE system_id = $1")
INSERT_BIND = Statement.both(
    "INSERT INTO binds (system_id, gateway_id, session_id, kind, bound_at, peer)"
    " VALUES ($1, $2, $3, $4, $5, $6)"
)
RELEASE_BIND = Statement.both("DELETE FROM binds WHERE gateway_id = $1 AND session_id = $2")
# The same, saying whose bind it was (a batch keeps its accounts' counts as it goes).
RELEASE_BIND_RETURNING = Statement.both(
    "DELETE FROM binds WHERE gateway_id = $1 AND session_id = $2 RETURNING system_id"
)
LIVE_BINDS = Statement.both(
    "SELECT count(*) FROM binds b JOIN gateways g ON g.gateway_id = b.gateway_id"
    " WHERE b.system_id = $1 AND g.heartbeat_at >= $2"
)
# The same binds, oldest first.
LIVE_BIND_ROWS = Statement.both(
    f"SELECT {', '.join('b.' + c.strip() for c in BIND_COLS.split(','))}"
    " FROM binds b JOIN gateways g ON g.gateway_id = b.gateway_id"
    " WHERE b.system_id = $1 AND g.heartbeat_at >= $2 ORDER BY b.bound_at, b.id"
)

# -- money -------------------------------------------------------------------------------------

# One statement: the existence check and the rows see the same snapshot. A page is the
# newest entries below an id ($3), so paging on with the last id seen never repeats or
# skips an entry, however many are written meanwhile.
JOURNAL_PAGE = Statement.both(
    f"SELECT a.system_id AS account, j.* FROM accounts a"
    f" LEFT JOIN (SELECT {JOURNAL_COLS} FROM journal WHERE system_id = $1 AND id < $3"
    "  ORDER BY id DESC LIMIT $2) j ON true"
    " WHERE a.system_id = $1 ORDER BY j.id DESC"
)

# A house account's balance is the sum of its shards' rows (see migration 0004).
HOUSE_BALANCES = Statement.both(
    "SELECT name, CAST(SUM(balance) AS BIGINT) FROM house_accounts GROUP BY name ORDER BY name"
)

# The audit's proofs (see ledger.rules.audit), one statement so one snapshot: each row
# is a failed check. ``sums`` is every (account, counter-account) total of the journal.
AUDIT = Statement.both(
    """
WITH sums AS MATERIALIZED (
    SELECT system_id, counter_account, CAST(SUM(amount) AS BIGINT) AS total
    FROM journal GROUP BY system_id, counter_account
), own AS (
    SELECT system_id, CAST(SUM(total) AS BIGINT) AS total FROM sums GROUP BY system_id
), named AS (
    SELECT name, CAST(-SUM(total) AS BIGINT) AS total
    FROM (SELECT counter_account AS name, total FROM sums
          UNION ALL SELECT counter_account, amount FROM package_journal) x
    GROUP BY name
)
SELECT 'balance' AS kind, a.system_id AS name, NULL AS counter, a.balance AS balance,
       COALESCE(o.total, 0) AS total
FROM accounts a LEFT JOIN own o ON o.system_id = a.system_id
WHERE a.balance <> COALESCE(o.total, 0) OR a.balance < 0
UNION ALL
SELECT 'house_balance', h.name, NULL, h.balance, COALESCE(n.total, 0)
FROM (SELECT name, CAST(SUM(balance) AS BIGINT) AS balance FROM house_accounts
      GROUP BY name) h
LEFT JOIN named n ON n.name = h.name
WHERE h.balance <> COALESCE(n.total, 0)
UNION ALL
SELECT 'zero_sum', '', NULL, t.total, 0
FROM (SELECT CAST((SELECT COALESCE(SUM(balance), 0) FROM accounts)
                  + (SELECT COALESCE(SUM(remaining), 0) FROM packages)
                  + (SELECT COALESCE(SUM(balance), 0) FROM house_accounts) AS BIGINT)
             AS total) t
WHERE t.total <> 0
UNION ALL
SELECT 'pair', s.system_id, s.counter_account, s.total, -COALESCE(r.total, 0)
FROM sums s JOIN accounts c ON c.system_id = s.counter_account
LEFT JOIN sums r ON r.system_id = s.counter_account AND r.counter_account = s.system_id
WHERE s.counter_account <> s.system_id AND s.total + COALESCE(r.total, 0) <> 0
UNION ALL
SELECT 'counter', s.system_id, s.counter_account, s.total, 0
FROM sums s
WHERE s.counter_account = s.system_id
   OR (NOT EXISTS (SELECT 1 FROM accounts x WHERE x.system_id = s.counter_account)
       AND NOT EXISTS (SELECT 1 FROM house_accounts y WHERE y.name = s.counter_account))
"""
)

# -- outbox --------------------------------------------------------------------------------------

MESSAGE = Statement.both(f"SELECT {MESSAGE_COLS} FROM messages WHERE message_id = $1")
# Oldest first by insertion order: PostgreSQL's seq, SQLite's rowid.
UNFORWARDED = Statement.each(
    postgres=f"SELECT {MESSAGE_COLS} FROM messages WHERE state = 'accepted' ORDER BY seq LIMIT $1",
    sqlite=f"SELECT {MESSAGE_COLS} FROM messages WHERE state = 'accepted' ORDER BY rowid LIMIT $1",
)
# By the upstream's id as matched (ledger.rules.receipts.upstream_key) from one upstream
# (by name; $2 NULL: from any); the newest, if an upstream reused an id.
BY_UPSTREAM_KEY = Statement.each(
    postgres=f"SELECT {MESSAGE_COLS} FROM messages WHERE upstream_key = $1"
    " AND ($2::text IS NULL OR upstream = $2::text) ORDER BY seq DESC LIMIT 1",
    sqlite=f"SELECT {MESSAGE_COLS} FROM messages WHERE upstream_key = $1"
    " AND ($2 IS NULL OR upstream = $2) ORDER BY rowid DESC LIMIT 1",
)
# A message already past FORWARDED (refunded, delivered) keeps its state but gets the
# upstream id. $5 is the upstream's name. All or none: unless every id is a message,
# nothing is written and no id comes back (one statement, no transaction block needed).
MARK_FORWARDED = Statement.each(
    postgres="UPDATE messages AS m SET upstream_id = u.upstream_id,"
    " upstream_key = u.upstream_key, upstream = $5, updated_at = $3,"
    " state = CASE WHEN m.state = 'accepted' THEN 'forwarded' ELSE m.state END"
    " FROM unnest($1::text[], $2::text[], $4::text[]) AS u(message_id, upstream_id, upstream_key)"
    " WHERE m.message_id = u.message_id AND (SELECT count(*) FROM unnest($1::text[]) AS k(id)"
    # One index probe per id (LATERAL ... LIMIT 1), even in the generic plan PostgreSQL
    # caches while the table is new and small: `= ANY` there is a sequential scan.
    "  CROSS JOIN LATERAL (SELECT 1 FROM messages x WHERE x.message_id = k.id LIMIT 1) AS x)"
    "  = cardinality($1::text[])"
    " RETURNING m.message_id",
    sqlite="UPDATE messages SET upstream_id = u.upstream_id, upstream_key = u.upstream_key,"
    " upstream = $5, updated_at = $3,"
    " state = CASE WHEN state = 'accepted' THEN 'forwarded' ELSE state END"
    " FROM (SELECT i.value AS message_id, j.value AS upstream_id, k.value AS upstream_key"
    "  FROM json_each($1) i JOIN json_each($2) j ON j.key = i.key"
    "  JOIN json_each($4) k ON k.key = i.key) AS u"
    " WHERE messages.message_id = u.message_id AND (SELECT count(*) FROM messages x"
    "  WHERE x.message_id IN (SELECT value FROM json_each($1))) = json_array_length($1)"
    " RETURNING messages.message_id",
)
#: Which of the ids ($1) are messages.
KNOWN_MESSAGE_IDS = Statement.each(
    postgres="SELECT message_id FROM messages WHERE message_id = ANY($1::text[])",
    sqlite="SELECT message_id FROM messages WHERE message_id IN (SELECT value FROM json_each($1))",
)
# replace_sm: a message still ACCEPTED (not yet forwarded) takes its new body and price.
REPLACE_MESSAGE = Statement.both(
    "UPDATE messages SET pdu_body = $2, cost = $3, segments = $4, registered_delivery = $5,"
    " updated_at = $6 WHERE message_id = $1 AND state = 'accepted'"
)
SET_MESSAGE_STATE = Statement.both(
    "UPDATE messages SET state = $2, updated_at = $3 WHERE message_id = $1"
)

# What waits, over every gateway: the partial indexes of 0001 serve both counts.
BACKLOG = Statement.both(
    "SELECT (SELECT count(*) FROM messages WHERE state = 'accepted') AS unforwarded,"
    " (SELECT min(created_at) FROM messages WHERE state = 'accepted') AS oldest,"
    " (SELECT count(*) FROM receipts WHERE delivered_at IS NULL) AS receipts,"
    " (SELECT count(*) FROM alert_outbox WHERE done_at IS NULL) AS mails,"
    " (SELECT count(*) FROM receipt_callbacks WHERE done_at IS NULL) AS callbacks"
)

# -- API tokens ----------------------------------------------------------------------------------

INSERT_TOKEN = Statement.both(
    "INSERT INTO api_tokens (token_id, token_hash, owner, note, created_at)"
    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING"
    f" RETURNING {TOKEN_COLS}"
)
TOKEN_BY_HASH = Statement.both(f"SELECT {TOKEN_COLS} FROM api_tokens WHERE token_hash = $1")
ALL_TOKENS = Statement.both(f"SELECT {TOKEN_COLS} FROM api_tokens ORDER BY created_at, token_id")
# A second revocation keeps the first time: revoking is idempotent.
REVOKE_TOKEN = Statement.both(
    "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $2) WHERE token_id = $1"
    f" RETURNING {TOKEN_COLS}"
)

# -- receipts ------------------------------------------------------------------------------------

# Each item's account (exists?) and message (whose?), in item order: one round trip
# checks a whole batch.
RECEIPT_TARGETS = Statement.each(
    postgres="SELECT i.ord, a.system_id IS NOT NULL AS account, m.system_id AS owner"
    " FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(system_id, message_id, ord)"
    " LEFT JOIN accounts a ON a.system_id = i.system_id"
    " LEFT JOIN messages m ON m.message_id = i.message_id ORDER BY i.ord",
    sqlite="SELECT i.key AS ord, a.system_id IS NOT NULL AS account, m.system_id AS owner"
    " FROM json_each($1) i JOIN json_each($2) j ON j.key = i.key"
    " LEFT JOIN accounts a ON a.system_id = i.value"
    " LEFT JOIN messages m ON m.message_id = j.value ORDER BY i.key",
)
RECEIPTS_DELIVERED = Statement.each(
    postgres="UPDATE receipts SET delivered_at = $2"
    " WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL",
    sqlite="UPDATE receipts SET delivered_at = $2"
    " WHERE id IN (SELECT value FROM json_each($1)) AND delivered_at IS NULL",
)
RELEASE_RECEIPTS = Statement.each(
    postgres="UPDATE receipts SET claimed_by = NULL, claimed_until = NULL"
    " WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL",
    sqlite="UPDATE receipts SET claimed_by = NULL, claimed_until = NULL"
    " WHERE id IN (SELECT value FROM json_each($1)) AND delivered_at IS NULL",
)
PENDING_RECEIPTS = Statement.both(
    f"SELECT {RECEIPT_COLS} FROM receipts"
    " WHERE system_id = $1 AND delivered_at IS NULL ORDER BY id LIMIT $2"
)

# -- history and retention ----------------------------------------------------------------------


@cache
def history(
    *,
    since: bool,
    until: bool,
    destination: bool,
    state: bool,
    before: bool,
    window: bool = False,
) -> Statement:
    """An account's messages newest first, with the filters that are given.

    Parameters: $1 system_id, $2 limit, then in this order those present: since,
    until (exclusive), destination range (from, to), state, before (time, message_id),
    and with ``window`` the window size last. One text per combination, so each one's
    plan can use the history indexes (a generic "$n IS NULL OR ..." would hide them).
    PostgreSQL compares ids and destinations in byte order ("C"), as the indexes of
    migration 0005 are built.

    ``window``: look only at the newest ``window`` messages of the time range (the
    history index, in order), and filter those; see ``ledger.rules.history``.
    """
    ranges, filters = ["m.system_id = $1"], []
    param = _params(after=2)
    if since:
        ranges.append(f"m.created_at >= {param()}")
    if until:
        ranges.append(f"m.created_at < {param()}")
    if destination:
        low, high = param(), param()
        filters.append(f"m.destination_addr{{c}} >= {low} AND m.destination_addr{{c}} < {high}")
    if state:
        filters.append(f"m.state = {param()}")
    if before:
        ranges.append(_before(param(), param()))
    order = " ORDER BY m.created_at DESC, m.message_id{c} DESC"
    if window:
        inner = (
            f"SELECT {_WINDOW_COLS} FROM messages m WHERE {' AND '.join(ranges)}{order}"
            f" LIMIT {param()}"
        )
        where = " AND ".join(filters) or "true"
        text = f"SELECT {HISTORY_COLS} FROM ({inner}) m WHERE {where}{{outer}} LIMIT $2"
        # PostgreSQL knows the subquery's order and reads it lazily under the ORDER BY.
        # SQLite would sort the whole window for it; without it, SQLite runs the
        # subquery as a co-routine, in its order, and stops at the LIMIT (the core sorts
        # the page again, which costs nothing for 51 rows).
        return Statement.each(
            postgres=text.replace("{outer}", order).replace("{c}", ' COLLATE "C"'),
            sqlite=text.replace("{outer}", "").replace("{c}", ""),
        )
    else:
        where = " AND ".join(ranges + filters)
        text = f"SELECT {HISTORY_COLS} FROM messages m WHERE {where}{order} LIMIT $2"
    return _collated(text)


def _params(*, after: int) -> Callable[[], str]:
    """Numbered parameters, ``$<after + 1>`` onwards, one per call."""
    numbers = itertools.count(after + 1)
    return lambda: f"${next(numbers)}"


#: What the window passes on: the columns of ``HISTORY_COLS`` (never the PDU body).
_WINDOW_COLS = (
    "m.message_id, m.created_at, m.destination_addr, m.source_addr, m.segments, m.cost,"
    " m.state, m.upstream_id"
)


def _before(at: str, message_id: str) -> str:
    # The first bound lets the index range stop at the cursor; the second breaks ties
    # between messages of one transaction (one created_at).
    return f"m.created_at <= {at} AND (m.created_at < {at} OR m.message_id{{c}} < {message_id})"


def _collated(text: str) -> Statement:
    return Statement.each(
        postgres=text.replace("{c}", ' COLLATE "C"'), sqlite=text.replace("{c}", "")
    )


@cache
def history_window_full(*, since: bool, until: bool, before: bool) -> Statement:
    """1 if the time range holds at least ``window`` messages (the window did not see
    them all). Parameters: $1 system_id, $2 window, then since, until, before."""
    where = ["m.system_id = $1"]
    param = _params(after=2)
    if since:
        where.append(f"m.created_at >= {param()}")
    if until:
        where.append(f"m.created_at < {param()}")
    if before:
        where.append(_before(param(), param()))
    inner = f"SELECT 1 FROM messages m WHERE {' AND '.join(where)} LIMIT $2"
    return _collated(f"SELECT count(*) FROM ({inner}) w")


ACCOUNT_IDS = Statement.both("SELECT system_id FROM accounts ORDER BY system_id")
# Messages older than the cutoff that are past the outbox (ACCEPTED ones are money
# taken for a message still to send: never pruned), oldest first. PostgreSQL locks them
# so that a receipt arriving meanwhile waits, then finds its message gone.
PRUNE_PICK = Statement.each(
    postgres="SELECT message_id FROM messages WHERE system_id = $1 AND created_at < $2"
    " AND state <> 'accepted' ORDER BY created_at LIMIT $3 FOR UPDATE",
    sqlite="SELECT message_id FROM messages WHERE system_id = $1 AND created_at < $2"
    " AND state <> 'accepted' ORDER BY created_at LIMIT $3",
)
#: What references a message, deleted before it (in this order). A table that refers to
#: messages (a package's record of what a message drew) adds its statement here.
PRUNE_DEPENDENTS = (
    Statement.each(
        postgres="DELETE FROM message_draws WHERE message_id = ANY($1::text[])",
        sqlite="DELETE FROM message_draws WHERE message_id IN (SELECT value FROM json_each($1))",
    ),
    Statement.each(
        postgres="DELETE FROM receipts WHERE message_id = ANY($1::text[])",
        sqlite="DELETE FROM receipts WHERE message_id IN (SELECT value FROM json_each($1))",
    ),
    Statement.each(
        postgres="DELETE FROM receipt_callbacks WHERE message_id = ANY($1::text[])",
        sqlite="DELETE FROM receipt_callbacks WHERE message_id IN"
        " (SELECT value FROM json_each($1))",
    ),
)
PRUNE_MESSAGES = Statement.each(
    postgres="DELETE FROM messages WHERE message_id = ANY($1::text[])",
    sqlite="DELETE FROM messages WHERE message_id IN (SELECT value FROM json_each($1))",
)

# Per UTC day in [$2, $3): messages, and the cost of those not refunded (REJECTED).
DAILY_USAGE = Statement.each(
    postgres="SELECT (created_at AT TIME ZONE 'UTC')::date AS day, COUNT(*) AS messages,"
    " COALESCE(SUM(cost) FILTER (WHERE state <> 'rejected'), 0) AS cost FROM messages"
    " WHERE system_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1 ORDER BY 1",
    # Stored times are UTC ISO 8601 text: the first ten characters are the UTC day.
    sqlite="SELECT substr(created_at, 1, 10) AS day, COUNT(*) AS messages,"
    " COALESCE(SUM(CASE WHEN state <> 'rejected' THEN cost END), 0) AS cost FROM messages"
    " WHERE system_id = $1 AND created_at >= $2 AND created_at < $3 GROUP BY 1 ORDER BY 1",
)
# The settled days kept (migration 0010), in [$2, $3).
USAGE_DAYS = Statement.both(
    "SELECT day, messages, cost FROM usage_days WHERE system_id = $1 AND day >= $2"
    " AND day < $3 ORDER BY day"
)
SAVE_USAGE_DAY = Statement.both(
    "INSERT INTO usage_days (system_id, day, messages, cost) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (system_id, day) DO NOTHING"
)

# -- low-balance alerts (migration 0007) ---------------------------------------------------------

# The alert's key: "no category" (the credit balance) is '' here, as in balance_alerts_key.
_ALERT_KEY = "system_id = $1 AND COALESCE(category, '') = $2"
# An account's balance and its newest journal entry (0: none), for setting an alert.
ALERT_START = Statement.both(
    "SELECT balance, COALESCE((SELECT max(id) FROM journal j WHERE j.system_id = a.system_id),"
    " 0) AS last_id FROM accounts a WHERE system_id = $1"
)
UPDATE_ALERT = Statement.both(
    f"UPDATE balance_alerts SET threshold = $3, armed = $4, checked_through = $5,"
    f" updated_at = $6 WHERE {_ALERT_KEY}"
)
INSERT_ALERT = Statement.both(
    "INSERT INTO balance_alerts (system_id, category, threshold, armed, checked_through,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, $6)"
)
DELETE_ALERT = Statement.both(f"DELETE FROM balance_alerts WHERE {_ALERT_KEY}")
ALERTS_OF = Statement.both(
    f"SELECT {ALERT_COLS} FROM balance_alerts WHERE system_id = $1 ORDER BY COALESCE(category, '')"
)
# Credit-balance alerts whose account has journal entries the scan has not walked: only
# accounts whose balance moved cost anything (an index probe on journal_by_account each).
# PostgreSQL locks them, skipping those another gateway is scanning; FOR UPDATE returns
# each row as last committed, so a scan never walks entries another already walked.
DUE_ALERTS = Statement.each(
    postgres=f"SELECT {ALERT_COLS} FROM balance_alerts a WHERE category IS NULL AND EXISTS"
    " (SELECT 1 FROM journal j WHERE j.system_id = a.system_id AND j.id > a.checked_through)"
    " ORDER BY system_id LIMIT $1 FOR UPDATE SKIP LOCKED",
    sqlite=f"SELECT {ALERT_COLS} FROM balance_alerts a WHERE category IS NULL AND EXISTS"
    " (SELECT 1 FROM journal j WHERE j.system_id = a.system_id AND j.id > a.checked_through)"
    " ORDER BY system_id LIMIT $1",
)
ALERT_STEPS = Statement.both(
    f"SELECT {ALERT_STEP_COLS} FROM journal WHERE system_id = $1 AND id > $2 ORDER BY id LIMIT $3"
)
SET_ALERT_SCAN = Statement.both(
    f"UPDATE balance_alerts SET armed = $3, checked_through = $4 WHERE {_ALERT_KEY}"
)
INSERT_ALERT_MAIL = Statement.both(
    "INSERT INTO alert_outbox (mail_key, system_id, category, threshold, balance, entry_id,"
    " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (mail_key) DO NOTHING"
)
# A recharge notice (migration 0010), queued by the debit transaction that decided it.
INSERT_NOTICE = Statement.both(
    "INSERT INTO alert_outbox (mail_key, system_id, threshold, balance, entry_id, created_at,"
    " kind, amount, recharges_today, daily_cap) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
    " $10) ON CONFLICT (mail_key) DO NOTHING"
)
# Take unsettled alert mails: unclaimed, claim run out, or claimed by this gateway
# itself (a restart under the same id takes its own back at once). Oldest first.
_CLAIMABLE = (
    "SELECT id FROM alert_outbox WHERE done_at IS NULL AND (claimed_until IS NULL"
    " OR claimed_until <= $2 OR claimed_by = $1) ORDER BY id LIMIT $4"
)
CLAIM_ALERT_MAILS = Statement.each(
    postgres="UPDATE alert_outbox SET claimed_by = $1, claimed_until = $3,"
    f" attempts = attempts + 1 WHERE id IN ({_CLAIMABLE} FOR UPDATE SKIP LOCKED)"
    " RETURNING id",
    sqlite="UPDATE alert_outbox SET claimed_by = $1, claimed_until = $3,"
    f" attempts = attempts + 1 WHERE id IN ({_CLAIMABLE}) RETURNING id",
)
ALERT_MAILS = Statement.each(
    postgres=f"SELECT {ALERT_MAIL_COLS} FROM alert_outbox o JOIN accounts a"
    " ON a.system_id = o.system_id WHERE o.id = ANY($1::bigint[]) ORDER BY o.id",
    sqlite=f"SELECT {ALERT_MAIL_COLS} FROM alert_outbox o JOIN accounts a"
    " ON a.system_id = o.system_id WHERE o.id IN (SELECT value FROM json_each($1)) ORDER BY o.id",
)
SETTLE_ALERT_MAIL = Statement.both(
    "UPDATE alert_outbox SET done_at = $2, outcome = $3, detail = $4, claimed_until = NULL"
    " WHERE id = $1 AND done_at IS NULL"
)
# A temporary failure: keep it claimed until ``$2`` (the retry's time), say why.
DEFER_ALERT_MAIL = Statement.both(
    "UPDATE alert_outbox SET claimed_until = $2, claimed_by = NULL, detail = $3"
    " WHERE id = $1 AND done_at IS NULL"
)
UNSETTLED_ALERT_MAILS = Statement.both(
    f"SELECT {ALERT_MAIL_COLS} FROM alert_outbox o JOIN accounts a ON a.system_id = o.system_id"
    " WHERE o.done_at IS NULL ORDER BY o.id LIMIT $1"
)
ALERT_MAIL_OUTCOMES = Statement.both(
    "SELECT mail_key, outcome FROM alert_outbox WHERE system_id = $1 ORDER BY id"
)

# -- receipt callbacks of HTTP jobs (migration 0010) ---------------------------------------------

ADD_CALLBACK = Statement.both(
    "INSERT INTO receipt_callbacks (message_id, system_id, url, created_at)"
    " VALUES ($1, $2, $3, $4) ON CONFLICT (message_id) DO NOTHING"
)
# Due: unsettled, its message final, and unclaimed, claim run out, or our own. Oldest first.
_CALLBACKS_DUE = (
    "SELECT c.id FROM receipt_callbacks c JOIN messages m ON m.message_id = c.message_id"
    " WHERE c.done_at IS NULL AND m.state IN ('delivered', 'failed', 'rejected')"
    " AND (c.claimed_until IS NULL OR c.claimed_until <= $2 OR c.claimed_by = $1)"
    " ORDER BY c.id LIMIT $4"
)
CLAIM_CALLBACKS = Statement.each(
    postgres="UPDATE receipt_callbacks SET claimed_by = $1, claimed_until = $3,"
    f" attempts = attempts + 1 WHERE id IN ({_CALLBACKS_DUE} FOR UPDATE OF c SKIP LOCKED)"
    " RETURNING id",
    sqlite="UPDATE receipt_callbacks SET claimed_by = $1, claimed_until = $3,"
    f" attempts = attempts + 1 WHERE id IN ({_CALLBACKS_DUE}) RETURNING id",
)
CALLBACKS_BY_ID = Statement.each(
    postgres=f"SELECT {CALLBACK_COLS} FROM receipt_callbacks c JOIN messages m"
    " ON m.message_id = c.message_id WHERE c.id = ANY($1::bigint[]) ORDER BY c.id",
    sqlite=f"SELECT {CALLBACK_COLS} FROM receipt_callbacks c JOIN messages m"
    " ON m.message_id = c.message_id WHERE c.id IN (SELECT value FROM json_each($1))"
    " ORDER BY c.id",
)
SETTLE_CALLBACK = Statement.both(
    "UPDATE receipt_callbacks SET done_at = $2, outcome = $3, detail = $4,"
    " claimed_until = NULL WHERE id = $1 AND done_at IS NULL"
)
# A failed attempt: claimable again by any gateway at ``$2``, saying why.
DEFER_CALLBACK = Statement.both(
    "UPDATE receipt_callbacks SET claimed_until = $2, claimed_by = NULL, detail = $3"
    " WHERE id = $1 AND done_at IS NULL"
)
CALLBACKS_OF = Statement.both(
    f"SELECT {CALLBACK_COLS} FROM receipt_callbacks c JOIN messages m"
    " ON m.message_id = c.message_id WHERE c.system_id = $1 ORDER BY c.id LIMIT $2"
)
