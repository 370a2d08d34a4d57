-- smppgw ledger, SQLite: nothing to change. PostgreSQL's 0015 adds the check its
-- optimistic debit writes end with; SQLite writes every batch under its write lock, so
-- the versions of the two engines stay the same with this empty step.
SELECT 1;
