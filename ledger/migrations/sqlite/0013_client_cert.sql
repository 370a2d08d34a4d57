-- smppgw ledger, SQLite: an account's pinned client certificate (same change as
-- PostgreSQL's 0013).

-- The SHA-256 fingerprint (64 lowercase hex digits) of the TLS client certificate a bind
-- for the account must present; '' = none pinned. A constant default: no table rewrite.
ALTER TABLE accounts ADD COLUMN client_cert_sha256 TEXT NOT NULL DEFAULT ''
    CHECK (client_cert_sha256 = ''
           OR (length(client_cert_sha256) = 64 AND client_cert_sha256 NOT GLOB '*[^0-9a-f]*'));
