-- smppgw ledger, SQLite: account edits, closed accounts, bind peers, message history
-- (same change as PostgreSQL's 0005).

-- The category an account's messages get unless their service_type maps to another
-- (credit packages are consumed by category).
ALTER TABLE accounts ADD COLUMN default_category TEXT NOT NULL DEFAULT 'general'
    CHECK (default_category IN ('verification', 'marketing', 'general'));

-- A closed account keeps status 'disabled', so every check that admits only 'active'
-- refuses it as it refuses a disabled one, and closed_at says since when; the ledger
-- reports it as status 'closed' and never enables it again. (A new value in the status
-- CHECK would mean rebuilding accounts, and with it every table that references it, in
-- SQLite; one representation serves both dialects.)
ALTER TABLE accounts ADD COLUMN closed_at TEXT CHECK (closed_at IS NULL OR status = 'disabled');

-- The client's address as the gateway saw it at bind time ('' for binds older than this).
ALTER TABLE binds ADD COLUMN peer TEXT NOT NULL DEFAULT '';

-- History: an account's messages newest first, a page at a time (keyset on created_at,
-- message_id), within a time range; and by destination prefix (a range of this index).
CREATE INDEX messages_history ON messages (system_id, created_at, message_id);
CREATE INDEX messages_history_destination ON messages (system_id, destination_addr, created_at);
-- A message's receipts: history shows the newest, retention deletes them with it.
CREATE INDEX receipts_by_message ON receipts (message_id);
