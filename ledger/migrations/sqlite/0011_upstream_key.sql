-- smppgw ledger, SQLite: receipts matched whatever spelling of the upstream's id they use
-- (same change as PostgreSQL's 0011).

-- The upstream's id as it is matched: ASCII lower case, leading zeros dropped (the rule
-- is ledger.rules.receipts.upstream_key; this computes it for ids recorded before).
-- Receipts look messages up by it, no longer by upstream_id as given.
ALTER TABLE messages ADD COLUMN upstream_key TEXT;
UPDATE messages SET upstream_key = CASE
    WHEN upstream_id = '' THEN ''
    WHEN ltrim(lower(upstream_id), '0') = '' THEN '0'
    ELSE ltrim(lower(upstream_id), '0') END
WHERE upstream_id IS NOT NULL;
CREATE INDEX messages_by_upstream_key ON messages (upstream_key);
DROP INDEX messages_by_upstream_id;
