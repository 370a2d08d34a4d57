-- smppgw ledger, SQLite: every journal entry names the account on its other side
-- (same change as PostgreSQL's 0004).
-- A debit moves money from the customer to house:sales, a manual credit from
-- house:topups to the customer, and so on; a transfer (a later release) will be a pair
-- of entries naming each other. Customer and house balances together then sum to zero,
-- which Store.audit proves.

-- The counter-account: a house account's name, or another customer's system_id. The
-- default only exists because SQLite cannot add a NOT NULL column without one; every
-- row gets its value below, and the ledger always writes it.
ALTER TABLE journal ADD COLUMN counter_account TEXT NOT NULL DEFAULT '';

-- Existing entries are all one-sided: their kind says which house account took the
-- other side (ledger.rules.planning.COUNTER_OF_KIND, the same table).
UPDATE journal SET counter_account = CASE kind
    WHEN 'debit' THEN 'house:sales'
    WHEN 'credit' THEN 'house:topups'
    WHEN 'transfer_in' THEN 'house:topups'
    WHEN 'transfer_out' THEN 'house:topups'
    WHEN 'recharge' THEN 'house:recharges'
    WHEN 'refund' THEN 'house:refunds'
    WHEN 'write_off' THEN 'house:write-offs'
    WHEN 'package' THEN 'house:packages'
END;

-- House accounts: the business's side. A balance is minus the sum of the customer
-- entries naming the account (house:sales grows with sales, house:topups goes down
-- with every top-up), cached like a customer's and updated in the same transaction as
-- the entries, once per house account per movement. It may be negative.
-- A house account's balance is the sum of its rows: one row per shard, so that
-- concurrent writers (several gateways on PostgreSQL) mostly update different rows
-- instead of queueing on one; the SQLite backend, with its single writer, uses shard 0.
CREATE TABLE house_accounts (
    name    TEXT NOT NULL CHECK (name LIKE 'house:%'),
    shard   INTEGER NOT NULL DEFAULT 0 CHECK (shard >= 0),
    balance INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, shard)
);
INSERT INTO house_accounts (name, balance)
    SELECT counter_account, -SUM(amount) FROM journal GROUP BY counter_account;
INSERT INTO house_accounts (name) VALUES
    ('house:sales'), ('house:topups'), ('house:recharges'), ('house:refunds'),
    ('house:write-offs'), ('house:packages')
    ON CONFLICT (name, shard) DO NOTHING;
