-- smppgw ledger, PostgreSQL: account edits, closed accounts, bind peers, message history
-- (same change as SQLite's 0005).

-- The category an account's messages get unless their service_type maps to another
-- (credit packages are consumed by category). A constant default: no table rewrite.
ALTER TABLE accounts ADD COLUMN default_category TEXT NOT NULL DEFAULT 'general'
    CHECK (default_category IN ('verification', 'marketing', 'general'));

-- A closed account keeps status 'disabled', so every check that admits only 'active'
-- refuses it as it refuses a disabled one, and closed_at says since when; the ledger
-- reports it as status 'closed' and never enables it again. (SQLite cannot add a value
-- to the status CHECK without rebuilding accounts; one representation serves both.)
ALTER TABLE accounts ADD COLUMN closed_at TIMESTAMPTZ
    CHECK (closed_at IS NULL OR status = 'disabled');

-- The client's address as the gateway saw it at bind time ('' for binds older than this).
ALTER TABLE binds ADD COLUMN peer TEXT NOT NULL DEFAULT '';

-- History: an account's messages newest first, a page at a time (keyset on created_at,
-- message_id), within a time range; and by destination prefix (a range of this index).
-- Byte order ("C"), as every query that uses them says, whatever the database's
-- collation. Building them scans messages while debits wait: on a very large table,
-- build them beforehand with CREATE INDEX CONCURRENTLY and these exact definitions.
CREATE INDEX IF NOT EXISTS messages_history
    ON messages (system_id, created_at, message_id COLLATE "C");
CREATE INDEX IF NOT EXISTS messages_history_destination
    ON messages (system_id, destination_addr COLLATE "C", created_at);
-- A message's receipts: history shows the newest, retention deletes them with it (and
-- the foreign key's check on each deleted message needs it).
CREATE INDEX IF NOT EXISTS receipts_by_message ON receipts (message_id);
