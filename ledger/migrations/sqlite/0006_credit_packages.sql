-- smppgw ledger, SQLite: credit packages (same change as PostgreSQL's 0006).
-- A package is a prepaid quantity of messages of one category, in milli-messages
-- (1000 = one message; ledger/rules/packages.py has the rules). Its quantity moves only
-- by entries of package_journal, two-sided like the credit journal: a purchase comes
-- from house:packages, a message's draw goes to house:package-sales, a refund comes
-- from house:package-refunds, an expiry write-off goes to house:package-write-offs.
-- Every write to a package happens under its account's row lock, as for the balance.

CREATE TABLE packages (
    package_id      TEXT PRIMARY KEY CHECK (package_id GLOB 'PKG*'),
    system_id       TEXT NOT NULL REFERENCES accounts (system_id),
    name            TEXT NOT NULL,
    category        TEXT NOT NULL CHECK (category IN ('verification', 'marketing', 'general')),
    total           INTEGER NOT NULL CHECK (total > 0),
    -- Cached; always equal to SUM(package_journal.amount) of the package (audit).
    remaining       INTEGER NOT NULL CHECK (remaining >= 0 AND remaining <= total),
    purchased_at    TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    CHECK (expires_at > purchased_at)
);
-- Purchase records of an account, newest first; and what a debit may draw on.
CREATE INDEX packages_by_account ON packages (system_id, purchased_at);
-- The expiry sweep's queue: packages with something left, by expiry.
CREATE INDEX packages_expiring ON packages (expires_at) WHERE remaining > 0;

-- Immutable, like journal. amount is signed milli-messages; remaining_after the
-- package's remaining after the entry. Keys are unique here as in journal (a debit's
-- key is on its first entry, wherever that entry is).
CREATE TABLE package_journal (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    package_id      TEXT NOT NULL REFERENCES packages (package_id),
    system_id       TEXT NOT NULL REFERENCES accounts (system_id),
    counter_account TEXT NOT NULL CHECK (counter_account LIKE 'house:%'),
    kind            TEXT NOT NULL CHECK (kind IN ('package', 'debit', 'refund', 'write_off')),
    amount          INTEGER NOT NULL,
    remaining_after INTEGER NOT NULL CHECK (remaining_after >= 0),
    idempotency_key TEXT NOT NULL UNIQUE,
    body_hash       TEXT NOT NULL,
    message_id      TEXT,
    created_at      TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    CHECK (amount <> 0),
    CHECK (kind NOT IN ('debit', 'write_off') OR amount < 0),
    CHECK (kind NOT IN ('package', 'refund') OR amount > 0)
);
CREATE INDEX package_journal_by_package ON package_journal (package_id, id);

-- What each message that touched a package drew from where (a message paid by the
-- credit balance alone has no rows): a refund gives each part back to its source.
-- source is a package_id or 'credits'; amount in its unit (milli-messages, milli-credits).
CREATE TABLE message_draws (
    message_id TEXT NOT NULL REFERENCES messages (message_id),
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    source     TEXT NOT NULL,
    amount     INTEGER NOT NULL CHECK (amount > 0),
    segments   INTEGER NOT NULL CHECK (segments >= 1),
    PRIMARY KEY (message_id, seq)
);

INSERT INTO house_accounts (name) VALUES
    ('house:package-sales'), ('house:package-refunds'), ('house:package-write-offs')
    ON CONFLICT (name, shard) DO NOTHING;
