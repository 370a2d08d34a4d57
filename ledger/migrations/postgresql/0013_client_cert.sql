-- smppgw ledger, PostgreSQL: an account's pinned client certificate (same change as
-- SQLite's 0013).

-- The SHA-256 fingerprint (64 lowercase hex digits) of the TLS client certificate a bind
-- for the account must present; '' = none pinned. A constant default: no table rewrite.
ALTER TABLE accounts ADD COLUMN client_cert_sha256 TEXT NOT NULL DEFAULT ''
    CHECK (client_cert_sha256 = '' OR client_cert_sha256 ~ '^[0-9a-f]{64}$');
