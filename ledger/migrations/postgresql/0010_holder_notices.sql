-- smppgw ledger, PostgreSQL: recharge notices in the alert outbox, and receipt callbacks
-- of HTTP jobs (same change as SQLite's 0010).

-- The alert outbox carries every mail the ledger decides on, not only low-balance
-- alerts: an auto-recharge fired, and one the daily cap refused, are queued by the debit
-- transaction that decided them. kind says which; amount, recharges_today and
-- daily_cap are the recharge's (0 for a low-balance alert). Constant defaults: existing
-- rows are low-balance alerts, and no table is rewritten.
ALTER TABLE alert_outbox ADD COLUMN kind TEXT NOT NULL DEFAULT 'low_balance'
    CHECK (kind IN ('low_balance', 'recharge_fired', 'recharge_capped'));
ALTER TABLE alert_outbox ADD COLUMN amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE alert_outbox ADD COLUMN recharges_today INTEGER NOT NULL DEFAULT 0;
ALTER TABLE alert_outbox ADD COLUMN daily_cap INTEGER NOT NULL DEFAULT 0;
