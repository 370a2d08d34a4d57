-- smppgw ledger, PostgreSQL: several gateways on one ledger (same tables as SQLite's 0002).
-- Every statement is cheap on a large database: added columns have constant defaults
-- (no table rewrite), the new tables start empty.

-- Throughput: a token bucket per account, drawn under the same row lock as the balance.
-- tb_tokens is in micro-tokens (1,000,000 per message) at tb_updated_at; NULL means the
-- bucket was never used and is full. BIGINT: throughput x 1,000,000 exceeds INTEGER.
ALTER TABLE accounts
    ADD COLUMN tb_tokens BIGINT NOT NULL DEFAULT 0 CHECK (tb_tokens >= 0),
    ADD COLUMN tb_updated_at TIMESTAMPTZ;

-- Live gateway processes. A gateway whose heartbeat is older than the caller's
-- stale_after is taken for crashed: its binds stop counting.
CREATE TABLE gateways (
    gateway_id   TEXT PRIMARY KEY,
    address      TEXT NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL
);

-- Sessions bound now, across every gateway: the per-account bind quota counts these.
-- No foreign key to gateways on purpose: a row may outlive its gateway (a racing
-- unregister), and acquire_bind removes such rows the way it removes a crashed gateway's.
CREATE TABLE binds (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id  TEXT NOT NULL REFERENCES accounts (system_id) ON DELETE CASCADE,
    gateway_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    bound_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (gateway_id, session_id)
);
CREATE INDEX binds_by_account ON binds (system_id);

-- Receipts are claimed by one gateway at a time (it pushes them to a receiver bound
-- there) until claimed_until; an expired or released claim can be taken by another.
ALTER TABLE receipts
    ADD COLUMN claimed_by TEXT,
    ADD COLUMN claimed_until TIMESTAMPTZ;
