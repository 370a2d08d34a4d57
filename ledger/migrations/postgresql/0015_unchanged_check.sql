-- smppgw ledger, PostgreSQL: the check that ends an optimistic write (same version as
-- SQLite's 0015, which has nothing to do).

-- smppgw_unchanged(ok): 1 if ok, else raise serialization_failure (SQLSTATE 40001). A
-- debit batch written without a lock calls it on "every account row I write still has
-- the xmin I read"; raising undoes the whole statement, and the gateway runs the batch
-- again, locking (ledger/backends/postgres_optimistic.py).
CREATE FUNCTION smppgw_unchanged(ok boolean) RETURNS integer
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF ok IS NOT TRUE THEN
        RAISE EXCEPTION 'an account changed since the batch read it'
            USING ERRCODE = 'serialization_failure';
    END IF;
    RETURN 1;
END
$$;
