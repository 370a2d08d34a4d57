-- smppgw ledger, SQLite: several gateways on one ledger (same tables as PostgreSQL's 0002).
-- On SQLite every process shares one file, so the same rules hold; the embedded case is
-- usually a single gateway, which these tables serve unchanged.

-- Throughput: a token bucket per account, drawn under the same write lock as the balance.
-- tb_tokens is in micro-tokens (1,000,000 per message) at tb_updated_at; NULL means the
-- bucket was never used and is full.
ALTER TABLE accounts ADD COLUMN tb_tokens INTEGER NOT NULL DEFAULT 0 CHECK (tb_tokens >= 0);
ALTER TABLE accounts ADD COLUMN tb_updated_at TEXT;

-- Live gateway processes. A gateway whose heartbeat is older than the caller's
-- stale_after is taken for crashed: its binds stop counting.
CREATE TABLE gateways (
    gateway_id   TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    started_at   TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL
);

-- Sessions bound now, across every gateway: the per-account bind quota counts these.
-- No foreign key to gateways on purpose: a row may outlive its gateway (a racing
-- unregister), and acquire_bind removes such rows the way it removes a crashed gateway's.
CREATE TABLE binds (
    id         INTEGER PRIMARY KEY,
    system_id  TEXT NOT NULL REFERENCES accounts (system_id) ON DELETE CASCADE,
    gateway_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    bound_at   TEXT NOT NULL,
    UNIQUE (gateway_id, session_id)
);
CREATE INDEX binds_by_account ON binds (system_id);

-- Receipts are claimed by one gateway at a time (it pushes them to a receiver bound
-- there) until claimed_until; an expired or released claim can be taken by another.
ALTER TABLE receipts ADD COLUMN claimed_by TEXT;
ALTER TABLE receipts ADD COLUMN claimed_until TEXT;
