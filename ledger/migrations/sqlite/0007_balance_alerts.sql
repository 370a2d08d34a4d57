-- smppgw ledger, SQLite: low-balance alerts and their mail outbox (same change as
-- PostgreSQL's 0007).

-- One alert per account and balance: category NULL watches the credit balance (in
-- milli-credits); a credit-package category (in milli-messages) comes with packages.
-- armed: the last balance the scan saw was at or above the threshold, so the next step
-- below it fires. checked_through: the last journal entry of the account the scan has
-- walked (per account, journal ids are in commit order: every entry is written under
-- the account's row lock).
CREATE TABLE balance_alerts (
    system_id       TEXT NOT NULL REFERENCES accounts (system_id),
    category        TEXT CHECK (category IS NULL
                                OR category IN ('verification', 'marketing', 'general')),
    threshold       INTEGER NOT NULL CHECK (threshold > 0),
    armed           INTEGER NOT NULL CHECK (armed IN (0, 1)),
    checked_through INTEGER NOT NULL DEFAULT 0,
    updated_at      TEXT NOT NULL
);
-- NULLs are distinct in a UNIQUE constraint; the expression makes "no category" one key.
CREATE UNIQUE INDEX balance_alerts_key ON balance_alerts (system_id, COALESCE(category, ''));

-- The alerts fired and not yet settled: written in the transaction that disarms the
-- alert, mailed after it commits. mail_key (the firing journal entry's) makes a scan run
-- twice write one row; a claim (claimed_by until claimed_until) lets one gateway send
-- it, and a gateway that died holding one loses it when the claim runs out.
CREATE TABLE alert_outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    mail_key      TEXT NOT NULL UNIQUE,
    system_id     TEXT NOT NULL REFERENCES accounts (system_id),
    category      TEXT,
    threshold     INTEGER NOT NULL,
    balance       INTEGER NOT NULL,
    entry_id      INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    claimed_until TEXT,
    done_at       TEXT,
    outcome       TEXT CHECK (outcome IS NULL OR outcome IN ('sent', 'unsent', 'rejected')),
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX alert_outbox_pending ON alert_outbox (id) WHERE done_at IS NULL;
