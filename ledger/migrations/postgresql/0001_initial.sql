-- smppgw ledger, PostgreSQL: the initial schema (same tables and rules as SQLite's 0001).
-- Money is BIGINT milli-credits. Tables are created in the connection's search_path (the
-- store sets it from the URL's ?schema=).
-- Room for the roadmap without a rewrite: transfers are journal kinds (transfer_in /
-- transfer_out) between accounts of one owner (accounts.owner); prepaid packages will get a
-- credit_packages table in a later migration and a nullable journal.package_id.

CREATE TABLE accounts (
    system_id          TEXT PRIMARY KEY,
    owner              TEXT NOT NULL DEFAULT '',
    contact_email      TEXT NOT NULL DEFAULT '',
    status             TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    -- Cached; always equal to SUM(journal.amount) of the account (Store.audit checks it).
    balance            BIGINT NOT NULL DEFAULT 0 CHECK (balance >= 0),
    password_hash      TEXT NOT NULL,
    -- Auto-recharge: off while recharge_daily_cap is NULL.
    recharge_threshold BIGINT NOT NULL DEFAULT 0 CHECK (recharge_threshold >= 0),
    recharge_amount    BIGINT NOT NULL DEFAULT 0 CHECK (recharge_amount >= 0),
    recharge_daily_cap INTEGER CHECK (recharge_daily_cap IS NULL OR recharge_daily_cap >= 1),
    -- The UTC day recharges_today counts; a new day starts from zero.
    recharge_day       DATE,
    recharges_today    INTEGER NOT NULL DEFAULT 0 CHECK (recharges_today >= 0),
    max_binds          INTEGER NOT NULL DEFAULT 2 CHECK (max_binds >= 1),
    throughput         INTEGER NOT NULL DEFAULT 0 CHECK (throughput >= 0),
    created_at         TIMESTAMPTZ NOT NULL
);

CREATE TABLE account_ips (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES accounts (system_id) ON DELETE CASCADE,
    cidr      TEXT NOT NULL,
    UNIQUE (system_id, cidr)
);

CREATE TABLE account_senders (
    id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id TEXT NOT NULL REFERENCES accounts (system_id) ON DELETE CASCADE,
    ton       INTEGER NOT NULL,
    npi       INTEGER NOT NULL,
    address   TEXT NOT NULL,
    UNIQUE (system_id, ton, npi, address)
);

-- Immutable: a mistake is corrected by another entry, never by an UPDATE.
-- Ids come from a sequence; every entry is inserted while its account row is locked, so
-- per account, id order is commit order (what a history replay needs).
CREATE TABLE journal (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id       TEXT NOT NULL REFERENCES accounts (system_id),
    kind            TEXT NOT NULL,
    amount          BIGINT NOT NULL,
    balance_after   BIGINT NOT NULL CHECK (balance_after >= 0),
    idempotency_key TEXT NOT NULL UNIQUE,
    -- sha256 of the request body, to tell a replay (same body) from a conflict.
    body_hash       TEXT NOT NULL,
    message_id      TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    CHECK (amount <> 0),
    CHECK (kind NOT IN ('debit', 'transfer_out', 'write_off') OR amount < 0),
    CHECK (kind NOT IN ('credit', 'refund', 'recharge', 'transfer_in') OR amount > 0)
);
CREATE INDEX journal_by_account ON journal (system_id, id);

-- The outbox: written in the debit's transaction, forwarded afterwards.
CREATE TABLE messages (
    message_id          TEXT PRIMARY KEY,
    -- Insertion order, for "oldest first" without relying on equal timestamps.
    seq                 BIGINT GENERATED ALWAYS AS IDENTITY UNIQUE,
    system_id           TEXT NOT NULL REFERENCES accounts (system_id),
    idempotency_key     TEXT NOT NULL UNIQUE,
    source_addr         TEXT NOT NULL,
    destination_addr    TEXT NOT NULL,
    segments            INTEGER NOT NULL CHECK (segments >= 1),
    cost                BIGINT NOT NULL CHECK (cost > 0),
    registered_delivery INTEGER NOT NULL,
    pdu_body            BYTEA NOT NULL,
    state               TEXT NOT NULL
        CHECK (state IN ('accepted', 'forwarded', 'delivered', 'failed', 'rejected')),
    upstream_id         TEXT,
    created_at          TIMESTAMPTZ NOT NULL,
    updated_at          TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_by_upstream_id ON messages (upstream_id);
-- The forwarder's recovery queue stays small, so a partial index keeps it cheap to scan.
CREATE INDEX messages_accepted ON messages (seq) WHERE state = 'accepted';

CREATE TABLE receipts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system_id    TEXT NOT NULL REFERENCES accounts (system_id),
    message_id   TEXT NOT NULL REFERENCES messages (message_id),
    pdu_body     BYTEA NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    delivered_at TIMESTAMPTZ
);
CREATE INDEX receipts_pending ON receipts (system_id, id) WHERE delivered_at IS NULL;
