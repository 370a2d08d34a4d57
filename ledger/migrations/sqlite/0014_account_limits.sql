-- smppgw ledger, SQLite: per-account overrides of two gateway limits (same change as
-- PostgreSQL's 0014).

-- submit_window: submits the account may have in progress on one gateway, all its
-- sessions together (0 = no limit); max_session_age_s: seconds before a bound session is
-- unbound cleanly (0 = never). NULL = the gateway's [server] account_submit_window /
-- max_session_age_s. Nullable, no default: no table rewrite.
ALTER TABLE accounts ADD COLUMN submit_window INTEGER
    CHECK (submit_window IS NULL OR submit_window BETWEEN 0 AND 2147483647);
ALTER TABLE accounts ADD COLUMN max_session_age_s INTEGER
    CHECK (max_session_age_s IS NULL OR max_session_age_s BETWEEN 0 AND 2147483647);
