-- smppgw ledger, PostgreSQL: bearer tokens of the management HTTP API (same table as
-- SQLite's 0008). Versions 0005-0007 belong to other changes; the migrator applies
-- whatever is missing in version order, so the order they land in does not matter.

-- Only a token's SHA-256 is kept: the token itself is shown once, when it is created.
-- owner NULL is an admin token (every account); otherwise the token sees the accounts
-- whose owner is this value. A revoked token keeps its row, so `token list` shows it.
CREATE TABLE api_tokens (
    token_id   TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    owner      TEXT,
    note       TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    revoked_at TIMESTAMPTZ
);
