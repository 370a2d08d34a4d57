-- smppgw ledger, SQLite: several upstreams; a receipt is matched on the upstream that
-- sent it and the id it gave (same change as PostgreSQL's 0012).

-- The name of the upstream (config [[upstreams]] name) that accepted the message. Ids are
-- only unique per upstream: two SMSCs may both answer "1". Messages forwarded before this
-- migration went to the one upstream of the time, which is now called "default".
ALTER TABLE messages ADD COLUMN upstream TEXT;
UPDATE messages SET upstream = 'default' WHERE upstream_id IS NOT NULL;
-- Leading upstream_key: a lookup by key alone (any upstream) still uses it.
CREATE INDEX messages_by_upstream ON messages (upstream_key, upstream);
DROP INDEX messages_by_upstream_key;
