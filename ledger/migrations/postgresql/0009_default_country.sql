-- smppgw ledger, PostgreSQL: the account's default country (same change as SQLite's 0009).

-- The ISO 3166-1 alpha-2 region national numbers (TON 2, or TON 0 with a trunk prefix)
-- are made international with, for its destinations and numeric senders; '' = none, and
-- then only international forms are accepted. A constant default: no table rewrite.
ALTER TABLE accounts ADD COLUMN default_country TEXT NOT NULL DEFAULT ''
    CHECK (default_country = '' OR default_country ~ '^[A-Z]{2}$');
