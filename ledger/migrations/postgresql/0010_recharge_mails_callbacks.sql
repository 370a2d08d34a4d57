-- smppgw ledger, PostgreSQL: recharge notices in the alert outbox, receipt callbacks of
-- HTTP jobs, the usage chart's settled days (same change as SQLite's 0010).

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

-- Receipt callbacks of messages sent over HTTP (POST /sms/{account}/jobs with a
-- callback_url): registered before the job is answered, so every message a client was
-- told about has its callback; POSTed by any gateway once the message's outcome is
-- final (its receipt, or the upstream's refusal), and retried with backoff (a claim,
-- as in alert_outbox) until the URL answers 2xx or the attempts run out (outcome
-- 'failed'). Deleted with its message by the history retention sweep.
CREATE TABLE receipt_callbacks (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id    TEXT NOT NULL UNIQUE REFERENCES messages (message_id),
    system_id     TEXT NOT NULL REFERENCES accounts (system_id),
    url           TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    claimed_by    TEXT,
    claimed_until TIMESTAMPTZ,
    done_at       TIMESTAMPTZ,
    outcome       TEXT CHECK (outcome IS NULL OR outcome IN ('sent', 'failed')),
    detail        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX receipt_callbacks_pending ON receipt_callbacks (id) WHERE done_at IS NULL;

-- The settled days of the usage chart (messages and credits per UTC day): a day before
-- yesterday no longer changes but for a rare late refund, so its figures are computed
-- once, on the first read that needs them, and kept (see ledger/rules/usage.py). Today
-- and yesterday are always counted afresh. A day is a summary, not a message: the
-- history retention sweep keeps it.
CREATE TABLE usage_days (
    system_id TEXT NOT NULL REFERENCES accounts (system_id),
    day       DATE NOT NULL,
    messages  BIGINT NOT NULL,
    cost      BIGINT NOT NULL,
    PRIMARY KEY (system_id, day)
);
