-- smppgw ledger, SQLite: several upstreams (a receipt is matched on the upstream that
-- sent it and the id it gave) and messages from handsets (MO) (same change as PostgreSQL's 0012).

-- The name of the upstream (config [[upstreams]] name) that accepted the message. Ids are
-- only unique per upstream: two SMSCs may both answer "1". Messages forwarded before this
-- migration went to the one upstream of the time, which is now called "default".
ALTER TABLE messages ADD COLUMN upstream TEXT;
UPDATE messages SET upstream = 'default' WHERE upstream_id IS NOT NULL;
-- Leading upstream_key: a lookup by key alone (any upstream) still uses it.
CREATE INDEX messages_by_upstream ON messages (upstream_key, upstream);
DROP INDEX messages_by_upstream_key;

-- Messages from handsets (MO) go to the account owning their destination number, else
-- the one owning their first word (a keyword, stored upper case).
CREATE TABLE mo_routes (
    kind      TEXT NOT NULL CHECK (kind IN ('number', 'keyword')),
    value     TEXT NOT NULL,
    system_id TEXT NOT NULL REFERENCES accounts (system_id) ON DELETE CASCADE,
    PRIMARY KEY (kind, value)
);
CREATE INDEX mo_routes_by_account ON mo_routes (system_id);
-- Each MO kept until one of the account's receivers acknowledges it (the receipts'
-- claim rules: one gateway pushes it at a time, for a lease).
CREATE TABLE mo_messages (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    system_id        TEXT NOT NULL REFERENCES accounts (system_id) ON DELETE CASCADE,
    upstream         TEXT NOT NULL,
    source_addr      TEXT NOT NULL,
    destination_addr TEXT NOT NULL,
    pdu_body         BLOB NOT NULL,
    created_at       TEXT NOT NULL,
    claimed_by       TEXT,
    claimed_until    TEXT,
    delivered_at     TEXT
);
CREATE INDEX mo_pending ON mo_messages (system_id, id) WHERE delivered_at IS NULL;
