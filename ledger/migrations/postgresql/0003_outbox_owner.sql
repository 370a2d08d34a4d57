-- smppgw ledger, PostgreSQL: every outbox message belongs to the gateway that accepted it
-- (same change as SQLite's 0003).
-- A restarting gateway used to queue every ACCEPTED message, including those another
-- live gateway was forwarding, and the upstream got them twice. Now a gateway forwards
-- only its own messages and adopts those of dead gateways (Store.adopt_unforwarded).

-- The gateway_id that forwards the message while it is ACCEPTED. NULL: nobody (rows
-- written before this migration, debits without an owner); any gateway may adopt them.
-- Nullable without a default: a catalogue change, no table rewrite.
ALTER TABLE messages ADD COLUMN owner TEXT;

-- Adoption reads only ACCEPTED rows (the forwarder's small queue), by owner and oldest
-- first; partial, so forwarded history never enters the index. Building it scans the
-- table while debits wait: on a very large messages table, build it beforehand with
-- CREATE INDEX CONCURRENTLY and this exact definition, and this statement skips it.
CREATE INDEX IF NOT EXISTS messages_accepted_by_owner ON messages (owner, created_at, message_id)
    WHERE state = 'accepted';
