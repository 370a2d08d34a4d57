"""The shared ledger: PostgreSQL through an asyncpg pool, safe for several gateways at once.

``debit_batch`` is one transaction: it locks the batch's distinct accounts in sorted
system_id order (``SELECT ... FOR NO KEY UPDATE``, so two batches never deadlock and a
concurrent batch waits instead of reading a stale balance), loads the journal rows of the
batch's idempotency keys, lets ``ledger.recharge.plan_batch`` decide every request on the
locked values, and writes balances, journal rows and message rows in ONE statement
(data-modifying CTEs over ``unnest`` arrays). The ``UPDATE ... FROM unnest`` trap (an
account listed twice is updated once) cannot bite: the plan has one row per account.
Round trips per batch: BEGIN, lock, look up, write, COMMIT, whatever the batch size.

Durability: every session runs with ``synchronous_commit=on`` whatever the server default,
because an acknowledged debit must survive a crash. Connection failures become
``LedgerUnavailable``; if that happens during COMMIT the outcome is unknown, which is why
callers retry with the same idempotency key (a committed debit answers DUPLICATE).

Several gateways: ``acquire_bind`` serialises per account with a transaction-scoped
advisory lock on the system_id (not the account row, so binds never wait for debits);
the throughput bucket lives on the account row and is drawn in ``debit_batch`` under
its lock; ``claim_receipts`` uses ``FOR UPDATE SKIP LOCKED`` so concurrent claimers take
disjoint receipts without waiting; ``add_receipts`` sends ``NOTIFY smppgw_receipts``
(payload: system_id) for unclaimed receipts, delivered at commit, and
``listen_receipts`` listens on a dedicated connection outside the pool;
``adopt_unforwarded`` locks candidate messages with ``FOR NO KEY UPDATE SKIP LOCKED``
and decides on them again on a fresh snapshot (see ``_ADOPT_TAKE``), so two adopters
take disjoint sets and never a live gateway's message.

The URL may carry ``?schema=NAME`` (tables live in that schema, created by ``upgrade()``)
and ``?pool_max=N`` (connections in the pool, default 10); both are removed before the
rest of the URL goes to asyncpg.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from ledger.errors import (
    AccountExists,
    IdempotencyConflict,
    InvalidAccountData,
    LedgerUnavailable,
    UnknownAccount,
    UnknownMessage,
)
from ledger.migrate import upgrade_postgres
from ledger.models import (
    Account,
    AccountStatus,
    AuditProblem,
    DebitRequest,
    DebitResult,
    EntryKind,
    JournalEntry,
    MessageRecord,
    MessageState,
    NewAccount,
    NewReceipt,
    PendingReceipt,
    RechargePolicy,
    Sender,
)
from ledger.recharge import (
    CREDIT_KINDS,
    REFUND_KEY_PREFIX,
    AccountState,
    StoredEntry,
    adoption_order,
    audit_problem,
    credit_fingerprint,
    lookup_keys,
    normalise_cidr,
    plan_batch,
    refund_fingerprint,
    validate_adopt,
    validate_max_binds,
    validate_new_account,
    validate_policy,
    validate_request,
    validate_sender,
    validate_throughput,
)
from ledger.store import RECEIPTS_CHANNEL, Clock, utc_now

T = TypeVar("T")

_SCHEMA_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_DEFAULT_POOL_MAX = 10
_CONNECT_TIMEOUT_S = 10.0
#: A statement slower than this is treated as the database being unavailable.
_COMMAND_TIMEOUT_S = 60.0
#: Attempts for a transaction that lost a race (unique key taken meanwhile, deadlock).
_ATTEMPTS = 4
#: First key of the advisory locks that serialise acquire_bind per account; the second
#: key is hashtext(system_id). A collision only makes two accounts wait for each other.
_BIND_LOCK_CLASS = 0x736D7062  # "smpb"
#: Receipt listener: wait between reconnect attempts (doubling up to the maximum), and
#: how often an idle listening connection is probed (a silently dead TCP connection
#: never reports itself, and would lose every notification after it).
_LISTEN_BACKOFF_S = (0.1, 5.0)
_LISTEN_PROBE_S = 15.0

#: Errors that mean "the database cannot be used now", not "this request is wrong".
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
    asyncpg.exceptions.InsufficientResourcesError,  # too many connections, disk full
    asyncpg.exceptions.ReadOnlySQLTransactionError,  # failed over to a standby
    asyncpg.exceptions.QueryCanceledError,  # statement_timeout
    # A connection the server closed while it sat idle in the pool is reported as one of
    # these on its next use (seen with pg_terminate_backend); the pool then replaces it.
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)
#: Errors after which the whole transaction may simply be tried again.
_RETRY: tuple[type[BaseException], ...] = (
    asyncpg.UniqueViolationError,  # a key or message id committed by a racing batch
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)

_JOURNAL_COLS = (
    "id, system_id, kind, amount, balance_after, idempotency_key, body_hash, message_id,"
    " created_at, note"
)
_MESSAGE_COLS = (
    "message_id, system_id, source_addr, destination_addr, segments, cost,"
    " registered_delivery, pdu_body, state, upstream_id, created_at, updated_at, owner"
)
_MESSAGE_COLS_M = ", ".join("m." + c.strip() for c in _MESSAGE_COLS.split(","))
_RECEIPT_COLS = "id, system_id, message_id, pdu_body, created_at, claimed_by, claimed_until"
_RECEIPT_COLS_R = ", ".join("r." + c.strip() for c in _RECEIPT_COLS.split(","))

# The account must exist and every message must exist and belong to its item's account;
# one round trip checks a whole batch of receipts (ord = the item's position).
_RECEIPT_CHECK = """
SELECT i.ord, a.system_id IS NOT NULL AS account, m.system_id AS owner
FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS i(system_id, message_id, ord)
LEFT JOIN accounts a ON a.system_id = i.system_id
LEFT JOIN messages m ON m.message_id = i.message_id
ORDER BY i.ord
"""

# States first (a message may appear twice: "UPDATE ... FROM unnest" would apply one of
# its rows, so the batch is reduced to the last state per message in Python), then the
# receipts in item order, then one notification per system_id of the unclaimed ones.
_ADD_RECEIPTS = f"""
WITH st AS (
    UPDATE messages AS m SET state = u.state, updated_at = $8
    FROM unnest($1::text[], $2::text[]) AS u(message_id, state)
    WHERE m.message_id = u.message_id
    RETURNING 1
), ins AS (
    INSERT INTO receipts (system_id, message_id, pdu_body, created_at, claimed_by,
                          claimed_until)
    SELECT r.system_id, r.message_id, r.pdu_body, $8, r.claimed_by,
           CASE WHEN r.claimed_by IS NULL THEN NULL ELSE $9::timestamptz END
    FROM unnest($3::text[], $4::text[], $5::bytea[], $6::text[]) WITH ORDINALITY
        AS r(system_id, message_id, pdu_body, claimed_by, ord)
    ORDER BY r.ord
    RETURNING id
), note AS (
    SELECT pg_notify('{RECEIPTS_CHANNEL}', n.system_id) FROM unnest($7::text[]) AS n(system_id)
)
SELECT id, (SELECT count(*) FROM st) AS states, (SELECT count(*) FROM note) AS notes
FROM ins ORDER BY id
"""

# SKIP LOCKED: a receipt another claimer is taking right now is left to it. When that
# claimer has committed meanwhile, the row lock re-checks the WHERE on the new version
# (READ COMMITTED), sees the fresh claim and skips it too: no receipt is claimed twice.
_CLAIM = f"""
UPDATE receipts AS r SET claimed_by = $2, claimed_until = $3
FROM (
    SELECT id FROM receipts
    WHERE system_id = $1 AND delivered_at IS NULL
      AND (claimed_until IS NULL OR claimed_until <= $4)
    ORDER BY id LIMIT $5
    FOR UPDATE SKIP LOCKED
) AS c
WHERE r.id = c.id
RETURNING {_RECEIPT_COLS_R}
"""
_ACCOUNT_SELECT = """
SELECT a.*,
       ARRAY(SELECT cidr FROM account_ips i WHERE i.system_id = a.system_id ORDER BY id)
           AS ips,
       ARRAY(SELECT ton FROM account_senders s WHERE s.system_id = a.system_id ORDER BY id)
           AS sender_tons,
       ARRAY(SELECT npi FROM account_senders s WHERE s.system_id = a.system_id ORDER BY id)
           AS sender_npis,
       ARRAY(SELECT address FROM account_senders s WHERE s.system_id = a.system_id
             ORDER BY id) AS sender_addresses
FROM accounts a
"""

# Sorted lock order (COLLATE "C": byte order, the same as Python's sorted()) is what
# keeps concurrent batches over overlapping accounts from deadlocking. NO KEY UPDATE is
# enough (the key never changes) and lets foreign-key checks of other inserts through.
_LOCK_ACCOUNTS = """
SELECT system_id, status, balance, recharge_threshold, recharge_amount,
       recharge_daily_cap, recharge_day, recharges_today, throughput, tb_tokens,
       tb_updated_at
FROM accounts WHERE system_id = ANY($1::text[])
ORDER BY system_id COLLATE "C"
FOR NO KEY UPDATE
"""

# Run after the lock, as its own statement: under READ COMMITTED each statement sees
# what committed before it started, including the batch we may have waited for.
# LATERAL ... LIMIT 1 pins the plan to one unique-index probe per key: with "= ANY($1)"
# the planner may pick a sequential scan of the whole journal (measured: 19 ms per batch
# at 10k rows, growing with the table).
_LOOKUP = f"""
SELECT 'j' AS src, j.* FROM unnest($1::text[]) AS k(key)
CROSS JOIN LATERAL (SELECT {_JOURNAL_COLS} FROM journal
                    WHERE idempotency_key = k.key LIMIT 1) AS j
UNION ALL
SELECT 'm', NULL, NULL, NULL, NULL, NULL, NULL, NULL, m.message_id, NULL, NULL
FROM unnest($2::text[]) AS k(key)
CROSS JOIN LATERAL (SELECT message_id FROM messages
                    WHERE message_id = k.key LIMIT 1) AS m
"""

# One statement for every write of a batch. Data-modifying CTEs all run to completion
# whether or not the final SELECT reads them; ids are mapped back by idempotency key.
_WRITE_BATCH = """
WITH acc AS (
    UPDATE accounts AS a
    SET balance = u.balance, recharge_day = u.recharge_day,
        recharges_today = u.recharges_today, tb_tokens = u.tb_tokens,
        tb_updated_at = u.tb_updated_at
    FROM unnest($1::text[], $2::bigint[], $3::date[], $4::int[], $23::bigint[],
                $24::timestamptz[])
        AS u(system_id, balance, recharge_day, recharges_today, tb_tokens, tb_updated_at)
    WHERE a.system_id = u.system_id
    RETURNING 1
), msg AS (
    INSERT INTO messages (message_id, system_id, idempotency_key, source_addr,
        destination_addr, segments, cost, registered_delivery, pdu_body, state,
        created_at, updated_at, owner)
    SELECT m.message_id, m.system_id, m.idempotency_key, m.source_addr,
        m.destination_addr, m.segments, m.cost, m.registered_delivery, m.pdu_body,
        'accepted', $22, $22, m.owner
    FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[],
                $11::bigint[], $12::int[], $13::bytea[], $25::text[]) WITH ORDINALITY
        AS m(message_id, system_id, idempotency_key, source_addr, destination_addr,
             segments, cost, registered_delivery, pdu_body, owner, ord)
    ORDER BY m.ord
    RETURNING 1
), ent AS (
    INSERT INTO journal (system_id, kind, amount, balance_after, idempotency_key,
        body_hash, message_id, created_at, note)
    SELECT e.system_id, e.kind, e.amount, e.balance_after, e.idempotency_key,
        e.body_hash, e.message_id, $22, e.note
    FROM unnest($14::text[], $15::text[], $16::bigint[], $17::bigint[], $18::text[],
                $19::text[], $20::text[], $21::text[]) WITH ORDINALITY
        AS e(system_id, kind, amount, balance_after, idempotency_key, body_hash,
             message_id, note, ord)
    ORDER BY e.ord
    RETURNING id, idempotency_key
)
SELECT id, idempotency_key, (SELECT count(*) FROM acc) AS accounts,
       (SELECT count(*) FROM msg) AS messages
FROM ent
"""


# Adoption, step 1 (see adopt_unforwarded): lock the oldest adoptable messages. SKIP
# LOCKED leaves rows another adopter is taking to it (and takes the next ones instead of
# waiting); LockRows sits below the LIMIT, so skipped rows do not use up the limit. NO KEY
# UPDATE is the lock the UPDATE itself takes: FOR UPDATE would also conflict with the
# KEY SHARE locks of receipts' foreign-key checks, blocking receipts and skipping rows
# for nothing. The NOT EXISTS is the staleness rule of acquire_bind.
_ADOPT_LOCK = """
SELECT m.message_id FROM messages m
WHERE m.state = 'accepted'
  AND (m.owner IS NULL OR m.owner = $1 OR NOT EXISTS (
      SELECT 1 FROM gateways g WHERE g.gateway_id = m.owner AND g.heartbeat_at >= $2))
ORDER BY m.created_at, m.message_id COLLATE "C"
LIMIT $3
FOR NO KEY UPDATE OF m SKIP LOCKED
"""

# Adoption, step 2, a new statement so a new snapshot (READ COMMITTED): decide again on
# the rows now locked. Step 1 re-checks a row that changed under it against its OWN
# snapshot of gateways; if another gateway adopted that row and committed in between,
# having registered or heartbeated after that snapshot, step 1 still takes it for dead.
# Everything that changed a row we now hold committed before we got its lock, so this
# snapshot sees it. Rows already ours are returned without being rewritten.
_ADOPT_TAKE = f"""
WITH took AS (
    UPDATE messages m SET owner = $2, updated_at = $4
    WHERE m.message_id = ANY($1::text[]) AND m.state = 'accepted'
      AND m.owner IS DISTINCT FROM $2
      AND (m.owner IS NULL OR NOT EXISTS (
          SELECT 1 FROM gateways g WHERE g.gateway_id = m.owner AND g.heartbeat_at >= $3))
    RETURNING {_MESSAGE_COLS_M}
)
SELECT * FROM took
UNION ALL
SELECT {_MESSAGE_COLS_M} FROM messages m
WHERE m.message_id = ANY($1::text[]) AND m.state = 'accepted' AND m.owner = $2
"""


def parse_url(url: str) -> tuple[str, str | None, int]:
    """Split ``url`` into (DSN for asyncpg, schema or None, pool size)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {url!r}")
    schema: str | None = None
    pool_max = _DEFAULT_POOL_MAX
    rest: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "schema":
            if _SCHEMA_RE.fullmatch(value) is None:
                raise ValueError(f"schema name {value!r} must be a plain SQL identifier")
            schema = value
        elif key == "pool_max":
            pool_max = int(value)
            if pool_max < 1:
                raise ValueError("pool_max must be at least 1")
        else:
            rest.append((key, value))
    dsn = urlunsplit(parts._replace(query=urlencode(rest)))
    return dsn, schema, pool_max


async def _reset(conn: Any) -> None:
    """Ready a connection for reuse: roll back a transaction an interrupted task left open.

    asyncpg's default reset also runs UNLISTEN, CLOSE ALL, RESET ALL and releases
    advisory locks: one more round trip per transaction for state this store never
    leaves behind (it uses only transaction-scoped locks and no session settings).
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _entry(row: Any) -> JournalEntry:
    return JournalEntry(
        id=row["id"],
        system_id=row["system_id"],
        kind=EntryKind(row["kind"]),
        amount=row["amount"],
        balance_after=row["balance_after"],
        idempotency_key=row["idempotency_key"],
        message_id=row["message_id"],
        created_at=row["created_at"],
        note=row["note"],
    )


def _message(row: Any) -> MessageRecord:
    return MessageRecord(
        message_id=row["message_id"],
        system_id=row["system_id"],
        source_addr=row["source_addr"],
        destination_addr=row["destination_addr"],
        segments=row["segments"],
        cost=row["cost"],
        registered_delivery=row["registered_delivery"],
        pdu_body=bytes(row["pdu_body"]),
        state=MessageState(row["state"]),
        upstream_id=row["upstream_id"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        owner=row["owner"],
    )


def _receipt(row: Any) -> PendingReceipt:
    return PendingReceipt(
        id=row["id"],
        system_id=row["system_id"],
        message_id=row["message_id"],
        pdu_body=bytes(row["pdu_body"]),
        created_at=row["created_at"],
        claimed_by=row["claimed_by"],
        claimed_until=row["claimed_until"],
    )


def _ids(values: Sequence[int]) -> list[int]:
    """Distinct receipt ids, refusing anything but ints (they go into a bigint[])."""
    out = list(dict.fromkeys(values))
    for v in out:
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"a receipt id is an int, not {v!r}")
    return out


def _policy(row: Any) -> RechargePolicy | None:
    if row["recharge_daily_cap"] is None:
        return None
    return RechargePolicy(
        threshold=row["recharge_threshold"],
        amount=row["recharge_amount"],
        daily_cap=row["recharge_daily_cap"],
    )


def _account(row: Any) -> Account:
    senders = zip(row["sender_tons"], row["sender_npis"], row["sender_addresses"], strict=True)
    return Account(
        system_id=row["system_id"],
        owner=row["owner"],
        contact_email=row["contact_email"],
        status=AccountStatus(row["status"]),
        balance=row["balance"],
        password_hash=row["password_hash"],
        allowed_ips=tuple(row["ips"]),
        senders=tuple(Sender(t, n, a) for t, n, a in senders),
        recharge=_policy(row),
        max_binds=row["max_binds"],
        throughput=row["throughput"],
        created_at=row["created_at"],
    )


class PostgresStore:
    """``ledger.store.Store`` on PostgreSQL. Create with :meth:`open`."""

    def __init__(
        self, pool: Any, schema: str | None, *, clock: Clock = utc_now, dsn: str | None = None
    ) -> None:
        self._pool = pool
        self._schema = schema
        self._clock = clock
        self._closed = False
        #: For connections outside the pool (the receipt listener).
        self._dsn = dsn
        self._listeners: set[_ReceiptListener] = set()

    @classmethod
    async def open(cls, url: str, *, clock: Clock = utc_now) -> PostgresStore:
        """Connect a pool to ``url``; raises LedgerUnavailable if the server is unreachable.

        Call :meth:`upgrade` before use to create or update the schema.
        """
        dsn, schema, pool_max = parse_url(url)
        settings = {"application_name": "smppgw", "synchronous_commit": "on"}
        if schema is not None:
            # Only our schema: a table of the same name elsewhere can never be used.
            settings["search_path"] = f'"{schema}"'
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=1,
                max_size=pool_max,
                timeout=_CONNECT_TIMEOUT_S,
                command_timeout=_COMMAND_TIMEOUT_S,
                server_settings=settings,
                reset=_reset,
            )
        except _UNAVAILABLE as exc:
            raise LedgerUnavailable(f"cannot reach the PostgreSQL ledger: {exc!r}") from exc
        return cls(pool, schema, clock=clock, dsn=dsn)

    async def close(self) -> None:
        """Stop receipt listeners, close the pool (waiting for borrowed connections)."""
        if self._closed:
            return
        self._closed = True
        for listener in list(self._listeners):
            await listener.stop()
        try:
            await asyncio.wait_for(self._pool.close(), timeout=_COMMAND_TIMEOUT_S)
        except TimeoutError:
            self._pool.terminate()

    def _now(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        """A pooled connection; connection-level failures become LedgerUnavailable."""
        if self._closed:
            raise LedgerUnavailable("the ledger store is closed")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except _UNAVAILABLE as exc:
            raise LedgerUnavailable(f"PostgreSQL ledger unavailable: {exc!r}") from exc

    async def _tx(self, work: Callable[[Any], Awaitable[T]]) -> T:
        """Run ``work(conn)`` in one transaction, again if it lost a race."""
        for attempt in range(1, _ATTEMPTS + 1):
            committing = False
            try:
                async with self._connection() as conn, conn.transaction():
                    result = await work(conn)
                    committing = True  # leaving the block sends COMMIT
                return result
            except LedgerUnavailable as exc:
                if committing:  # the COMMIT may have landed before the link broke
                    raise LedgerUnavailable(str(exc), outcome_unknown=True) from exc
                raise
            except _RETRY:
                # Rolled back, nothing written: a concurrent transaction committed the
                # same key (the retry then sees it and answers DUPLICATE or CONFLICT).
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable")

    async def _read(self, work: Callable[[Any], Awaitable[T]]) -> T:
        async with self._connection() as conn:
            return await work(conn)

    async def upgrade(self) -> list[str]:
        """Create the URL's schema if needed, apply pending migrations, return their names."""
        now = self._now()

        async def run(conn: Any) -> list[str]:
            if self._schema is not None:
                with contextlib.suppress(asyncpg.UniqueViolationError):
                    # IF NOT EXISTS still races with a concurrent creator; either wins.
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            return await upgrade_postgres(conn, now)

        return await self._read(run)

    # -- accounts -----------------------------------------------------------------------
    @staticmethod
    async def _load_account(conn: Any, system_id: str) -> Account:
        row = await conn.fetchrow(_ACCOUNT_SELECT + " WHERE a.system_id = $1", system_id)
        if row is None:
            raise UnknownAccount(system_id)
        return _account(row)

    async def create_account(self, new: NewAccount) -> Account:
        """Create an account with a zero balance. Raises AccountExists, InvalidAccountData."""
        new = validate_new_account(new)
        now = self._now()

        async def run(conn: Any) -> Account:
            created = await conn.fetchval(
                "INSERT INTO accounts (system_id, owner, contact_email, status,"
                " password_hash, max_binds, throughput, created_at)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                " ON CONFLICT (system_id) DO NOTHING RETURNING system_id",
                new.system_id,
                new.owner,
                new.contact_email,
                AccountStatus.ACTIVE.value,
                new.password_hash,
                new.max_binds,
                new.throughput,
                now,
            )
            if created is None:
                raise AccountExists(new.system_id)
            if new.allowed_ips:
                await conn.executemany(
                    "INSERT INTO account_ips (system_id, cidr) VALUES ($1, $2)",
                    [(new.system_id, c) for c in new.allowed_ips],
                )
            if new.senders:
                await conn.executemany(
                    "INSERT INTO account_senders (system_id, ton, npi, address)"
                    " VALUES ($1, $2, $3, $4)",
                    [(new.system_id, s.ton, s.npi, s.address) for s in new.senders],
                )
            return await self._load_account(conn, new.system_id)

        return await self._tx(run)

    async def get_account(self, system_id: str) -> Account:
        """The account, with IPs and senders. Raises UnknownAccount."""
        return await self._read(lambda conn: self._load_account(conn, system_id))

    async def list_accounts(self) -> list[Account]:
        """Every account, ordered by system_id."""

        async def run(conn: Any) -> list[Account]:
            rows = await conn.fetch(_ACCOUNT_SELECT + ' ORDER BY a.system_id COLLATE "C"')
            return [_account(r) for r in rows]

        return await self._read(run)

    async def _update_account(
        self, system_id: str, change: Callable[[Any], Awaitable[object]]
    ) -> Account:
        """Lock the account, apply ``change`` in one transaction, return the result."""

        async def run(conn: Any) -> Account:
            found = await conn.fetchval(
                "SELECT 1 FROM accounts WHERE system_id = $1 FOR NO KEY UPDATE", system_id
            )
            if found is None:
                raise UnknownAccount(system_id)
            await change(conn)
            return await self._load_account(conn, system_id)

        return await self._tx(run)

    async def set_status(self, system_id: str, status: AccountStatus) -> Account:
        """Enable or disable binding (and debits: a disabled account is refused)."""
        status = AccountStatus(status)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "UPDATE accounts SET status = $1 WHERE system_id = $2", status.value, system_id
            ),
        )

    async def set_password_hash(self, system_id: str, password_hash: str) -> None:
        """Replace the stored password hash."""
        if not password_hash:
            raise InvalidAccountData("an account needs a password hash")
        await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "UPDATE accounts SET password_hash = $1 WHERE system_id = $2",
                password_hash,
                system_id,
            ),
        )

    async def allow_ip(self, system_id: str, cidr: str) -> Account:
        """Add a CIDR (normalised; a bare address means /32 or /128); a repeat is a no-op."""
        net = normalise_cidr(cidr)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "INSERT INTO account_ips (system_id, cidr) VALUES ($1, $2)"
                " ON CONFLICT (system_id, cidr) DO NOTHING",
                system_id,
                net,
            ),
        )

    async def deny_ip(self, system_id: str, cidr: str) -> Account:
        """Remove a CIDR from the allowlist (InvalidAccountData if absent)."""
        net = normalise_cidr(cidr)

        async def change(conn: Any) -> None:
            gone = await conn.fetchval(
                "DELETE FROM account_ips WHERE system_id = $1 AND cidr = $2 RETURNING id",
                system_id,
                net,
            )
            if gone is None:
                raise InvalidAccountData(f"{net} is not on the allowlist of {system_id}")

        return await self._update_account(system_id, change)

    async def add_sender(self, system_id: str, sender: Sender) -> Account:
        """Register a source address; registering it again is a no-op."""
        validate_sender(sender)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "INSERT INTO account_senders (system_id, ton, npi, address)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT (system_id, ton, npi, address) DO NOTHING",
                system_id,
                sender.ton,
                sender.npi,
                sender.address,
            ),
        )

    async def remove_sender(self, system_id: str, sender: Sender) -> Account:
        """Unregister a source address (InvalidAccountData if absent)."""

        async def change(conn: Any) -> None:
            gone = await conn.fetchval(
                "DELETE FROM account_senders"
                " WHERE system_id = $1 AND ton = $2 AND npi = $3 AND address = $4 RETURNING id",
                system_id,
                sender.ton,
                sender.npi,
                sender.address,
            )
            if gone is None:
                raise InvalidAccountData(f"{sender} is not a sender of {system_id}")

        return await self._update_account(system_id, change)

    async def set_recharge(self, system_id: str, policy: RechargePolicy | None) -> Account:
        """Set or clear auto-recharge; today's recharge count is kept either way."""
        if policy is None:
            values: tuple[int, int, int | None] = (0, 0, None)
        else:
            validate_policy(policy)
            values = (policy.threshold, policy.amount, policy.daily_cap)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "UPDATE accounts SET recharge_threshold = $1, recharge_amount = $2,"
                " recharge_daily_cap = $3 WHERE system_id = $4",
                *values,
                system_id,
            ),
        )

    async def set_throughput(self, system_id: str, per_second: int) -> Account:
        """Set the messages-per-second limit (>= 0; 0 = unlimited); the bucket starts full."""
        validate_throughput(per_second)
        return await self._update_account(
            system_id,
            # A new limit starts from a full bucket: predictable for the operator, and the
            # old bucket was sized for the old rate.
            lambda conn: conn.execute(
                "UPDATE accounts SET throughput = $1, tb_tokens = 0, tb_updated_at = NULL"
                " WHERE system_id = $2",
                per_second,
                system_id,
            ),
        )

    async def set_max_binds(self, system_id: str, max_binds: int) -> Account:
        """Set how many sessions may be bound at once, over all gateways (>= 1)."""
        validate_max_binds(max_binds)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "UPDATE accounts SET max_binds = $1 WHERE system_id = $2", max_binds, system_id
            ),
        )

    # -- gateways and binds ----------------------------------------------------------------
    async def register_gateway(self, gateway_id: str, *, address: str) -> None:
        """Record a gateway process as alive (upsert; started_at = heartbeat_at = now)."""
        if not gateway_id:
            raise ValueError("a gateway needs an id")
        now = self._now()

        async def run(conn: Any) -> None:
            await conn.execute(
                "INSERT INTO gateways (gateway_id, address, started_at, heartbeat_at)"
                " VALUES ($1, $2, $3, $3) ON CONFLICT (gateway_id) DO UPDATE SET"
                " address = excluded.address, started_at = excluded.started_at,"
                " heartbeat_at = excluded.heartbeat_at",
                gateway_id,
                address,
                now,
            )

        await self._read(run)  # one statement: its own transaction

    async def heartbeat(self, gateway_id: str) -> None:
        """The gateway is still alive (heartbeat_at = now). Unknown gateways: no-op."""
        now = self._now()
        await self._read(
            lambda conn: conn.execute(
                "UPDATE gateways SET heartbeat_at = $1 WHERE gateway_id = $2", now, gateway_id
            )
        )

    async def unregister_gateway(self, gateway_id: str) -> None:
        """Clean shutdown: delete the gateway's binds and its row. Idempotent."""

        async def run(conn: Any) -> None:
            await conn.execute("DELETE FROM binds WHERE gateway_id = $1", gateway_id)
            await conn.execute("DELETE FROM gateways WHERE gateway_id = $1", gateway_id)

        await self._tx(run)

    async def acquire_bind(
        self,
        system_id: str,
        *,
        gateway_id: str,
        session_id: str,
        kind: str,
        max_binds: int,
        stale_after: float = 30.0,
    ) -> bool:
        """Take one of the account's ``max_binds`` bind slots for a session; False if full.

        See ``Store.acquire_bind``. The advisory lock (released at commit) makes the
        sweep, count and insert of one account a critical section across every gateway;
        each statement after it sees what the previous holder committed.
        """
        now = self._now()
        cutoff = now - timedelta(seconds=stale_after)

        async def run(conn: Any) -> bool:
            await conn.execute(
                "SELECT pg_advisory_xact_lock($1, hashtext($2))", _BIND_LOCK_CLASS, system_id
            )
            row = await conn.fetchrow(
                "SELECT EXISTS (SELECT 1 FROM accounts WHERE system_id = $1) AS account,"
                " EXISTS (SELECT 1 FROM gateways WHERE gateway_id = $2) AS gateway,"
                " (SELECT system_id FROM binds WHERE gateway_id = $2 AND session_id = $3)"
                " AS held",
                system_id,
                gateway_id,
                session_id,
            )
            if not row["account"]:
                raise UnknownAccount(system_id)
            if not row["gateway"]:
                raise ValueError(f"gateway {gateway_id!r} is not registered")
            if row["held"] is not None:
                if row["held"] != system_id:
                    raise ValueError(
                        f"session {session_id!r} of {gateway_id!r} holds a bind of {row['held']}"
                    )
                return True
            count = await conn.fetchval(
                "WITH gone AS ("
                " DELETE FROM binds b WHERE b.system_id = $1 AND NOT EXISTS ("
                "  SELECT 1 FROM gateways g WHERE g.gateway_id = b.gateway_id"
                "  AND g.heartbeat_at >= $2)"
                " RETURNING b.id)"
                # The statement's snapshot still shows the rows it deletes: subtract them.
                " SELECT (SELECT count(*) FROM binds WHERE system_id = $1)"
                " - (SELECT count(*) FROM gone)",
                system_id,
                cutoff,
            )
            if count >= max_binds:
                return False
            await conn.execute(
                "INSERT INTO binds (system_id, gateway_id, session_id, kind, bound_at)"
                " VALUES ($1, $2, $3, $4, $5)",
                system_id,
                gateway_id,
                session_id,
                kind,
                now,
            )
            return True

        return await self._tx(run)

    async def release_bind(self, gateway_id: str, session_id: str) -> None:
        """The session unbound or dropped: free its slot. Idempotent."""
        await self._read(
            lambda conn: conn.execute(
                "DELETE FROM binds WHERE gateway_id = $1 AND session_id = $2",
                gateway_id,
                session_id,
            )
        )

    async def bind_count(self, system_id: str, *, stale_after: float = 30.0) -> int:
        """Binds of the account held by live gateways (heartbeat within ``stale_after``)."""
        cutoff = self._now() - timedelta(seconds=stale_after)

        async def run(conn: Any) -> int:
            count: int = await conn.fetchval(
                "SELECT count(*) FROM binds b JOIN gateways g ON g.gateway_id = b.gateway_id"
                " WHERE b.system_id = $1 AND g.heartbeat_at >= $2",
                system_id,
                cutoff,
            )
            return count

        return await self._read(run)

    # -- money ----------------------------------------------------------------------------
    @staticmethod
    async def _stored(conn: Any, key: str) -> StoredEntry | None:
        row = await conn.fetchrow(
            f"SELECT {_JOURNAL_COLS} FROM journal WHERE idempotency_key = $1", key
        )
        return None if row is None else StoredEntry(_entry(row), row["body_hash"])

    @staticmethod
    async def _insert_entry(
        conn: Any,
        *,
        system_id: str,
        kind: EntryKind,
        amount: int,
        balance_after: int,
        key: str,
        fingerprint: str,
        message_id: str | None,
        created_at: datetime,
        note: str,
    ) -> JournalEntry:
        row = await conn.fetchrow(
            "INSERT INTO journal (system_id, kind, amount, balance_after, idempotency_key,"
            " body_hash, message_id, created_at, note)"
            f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {_JOURNAL_COLS}",
            system_id,
            kind.value,
            amount,
            balance_after,
            key,
            fingerprint,
            message_id,
            created_at,
            note,
        )
        return _entry(row)

    async def credit(
        self,
        system_id: str,
        amount: int,
        *,
        idempotency_key: str,
        kind: EntryKind = EntryKind.CREDIT,
        note: str = "",
    ) -> JournalEntry:
        """Add ``amount`` (> 0) milli-credits. Replaying the key returns the first entry.

        Raises UnknownAccount, IdempotencyConflict (the key was used for another body),
        ValueError for a non-positive amount or a kind that does not add money.
        """
        kind = EntryKind(kind)
        if not isinstance(amount, int) or amount <= 0:
            raise ValueError(f"a credit is a positive number of milli-credits, not {amount!r}")
        if kind not in CREDIT_KINDS:
            raise ValueError(f"credit cannot write a {kind.value} entry")
        if not idempotency_key:
            raise ValueError("a credit needs an idempotency key")
        fingerprint = credit_fingerprint(system_id, kind, amount)
        now = self._now()

        async def run(conn: Any) -> JournalEntry:
            balance = await conn.fetchval(
                "SELECT balance FROM accounts WHERE system_id = $1 FOR NO KEY UPDATE",
                system_id,
            )
            prior = await self._stored(conn, idempotency_key)
            if prior is not None:
                if prior.fingerprint != fingerprint:
                    raise IdempotencyConflict(idempotency_key)
                return prior.entry
            if balance is None:
                raise UnknownAccount(system_id)
            balance += amount
            await conn.execute(
                "UPDATE accounts SET balance = $1 WHERE system_id = $2", balance, system_id
            )
            return await self._insert_entry(
                conn,
                system_id=system_id,
                kind=kind,
                amount=amount,
                balance_after=balance,
                key=idempotency_key,
                fingerprint=fingerprint,
                message_id=None,
                created_at=now,
                note=note,
            )

        return await self._tx(run)

    async def debit_batch(self, requests: Sequence[DebitRequest]) -> list[DebitResult]:
        """Debit each request and store its message, in one transaction, one result each.

        See the module docstring for the locking and ``ledger.recharge`` for decisions.
        """
        requests = list(requests)
        if not requests:
            return []
        for request in requests:
            validate_request(request)
        now = self._now()
        system_ids = sorted({r.message.system_id for r in requests})
        keys = lookup_keys(requests)
        message_ids = list(dict.fromkeys(r.message.message_id for r in requests))

        async def run(conn: Any) -> list[DebitResult]:
            accounts = {
                row["system_id"]: AccountState(
                    system_id=row["system_id"],
                    status=AccountStatus(row["status"]),
                    balance=row["balance"],
                    policy=_policy(row),
                    recharge_day=row["recharge_day"],
                    recharges_today=row["recharges_today"],
                    throughput=row["throughput"],
                    tb_tokens=row["tb_tokens"],
                    tb_updated_at=row["tb_updated_at"],
                )
                for row in await conn.fetch(_LOCK_ACCOUNTS, system_ids)
            }
            stored: dict[str, StoredEntry] = {}
            taken: set[str] = set()
            for row in await conn.fetch(_LOOKUP, keys, message_ids):
                if row["src"] == "j":
                    stored[row["idempotency_key"]] = StoredEntry(_entry(row), row["body_hash"])
                else:
                    taken.add(row["message_id"])
            plan = plan_batch(requests, accounts, stored, taken, now)
            if not plan.entries:
                return plan.resolve([], now)
            acc = list(plan.accounts.values())
            msgs = [(p.idempotency_key, p.message) for p in plan.messages]
            ents = plan.entries
            rows = await conn.fetch(
                _WRITE_BATCH,
                [a.system_id for a in acc],
                [a.balance for a in acc],
                [a.recharge_day for a in acc],
                [a.recharges_today for a in acc],
                [m.message_id for _, m in msgs],
                [m.system_id for _, m in msgs],
                [k for k, _ in msgs],
                [m.source_addr for _, m in msgs],
                [m.destination_addr for _, m in msgs],
                [m.segments for _, m in msgs],
                [m.cost for _, m in msgs],
                [m.registered_delivery for _, m in msgs],
                [m.pdu_body for _, m in msgs],
                [e.system_id for e in ents],
                [e.kind.value for e in ents],
                [e.amount for e in ents],
                [e.balance_after for e in ents],
                [e.idempotency_key for e in ents],
                [e.fingerprint for e in ents],
                [e.message_id for e in ents],
                [e.note for e in ents],
                now,
                [a.tb_tokens for a in acc],
                [a.tb_updated_at for a in acc],
                [m.owner or None for _, m in msgs],  # "" = nobody: NULL, adoptable by all
            )
            ids = {r["idempotency_key"]: r["id"] for r in rows}
            if len(ids) != len(ents) or (rows and rows[0]["accounts"] != len(acc)):
                # Cannot happen with one row per account and unique keys; if it did, the
                # rollback keeps the books straight rather than commit a partial batch.
                raise RuntimeError("debit batch wrote an unexpected number of rows")
            return plan.resolve([ids[e.idempotency_key] for e in ents], now)

        return await self._tx(run)

    async def refund(self, message_id: str, *, reason: str) -> JournalEntry:
        """Give back a message's cost once (idempotent per message) and mark it REJECTED."""
        key = REFUND_KEY_PREFIX + message_id
        fingerprint = refund_fingerprint(message_id)
        now = self._now()

        async def run(conn: Any) -> JournalEntry:
            msg = await conn.fetchrow(
                "SELECT system_id, cost FROM messages WHERE message_id = $1", message_id
            )
            if msg is None:
                raise UnknownMessage(message_id)
            balance = await conn.fetchval(
                "SELECT balance FROM accounts WHERE system_id = $1 FOR NO KEY UPDATE",
                msg["system_id"],
            )
            prior = await self._stored(conn, key)
            if prior is not None:
                if prior.fingerprint != fingerprint:
                    raise IdempotencyConflict(key)
                return prior.entry
            balance += msg["cost"]
            await conn.execute(
                "UPDATE accounts SET balance = $1 WHERE system_id = $2",
                balance,
                msg["system_id"],
            )
            entry = await self._insert_entry(
                conn,
                system_id=msg["system_id"],
                kind=EntryKind.REFUND,
                amount=msg["cost"],
                balance_after=balance,
                key=key,
                fingerprint=fingerprint,
                message_id=message_id,
                created_at=now,
                note=reason,
            )
            await conn.execute(
                "UPDATE messages SET state = $1, updated_at = $2 WHERE message_id = $3",
                MessageState.REJECTED.value,
                now,
                message_id,
            )
            return entry

        return await self._tx(run)

    async def journal(self, system_id: str, *, limit: int = 100) -> list[JournalEntry]:
        """The newest ``limit`` entries of an account, newest first. Raises UnknownAccount."""

        async def run(conn: Any) -> list[JournalEntry]:
            # One statement: the existence check and the rows see the same snapshot.
            rows = await conn.fetch(
                f"SELECT a.system_id AS account, j.* FROM accounts a"
                f" LEFT JOIN LATERAL (SELECT {_JOURNAL_COLS} FROM journal"
                "   WHERE journal.system_id = a.system_id ORDER BY id DESC LIMIT $2) j ON true"
                " WHERE a.system_id = $1 ORDER BY j.id DESC",
                system_id,
                limit,
            )
            if not rows:
                raise UnknownAccount(system_id)
            return [_entry(r) for r in rows if r["id"] is not None]

        return await self._read(run)

    async def audit(self) -> list[AuditProblem]:
        """Accounts whose balance differs from their journal sum or is negative."""

        async def run(conn: Any) -> list[AuditProblem]:
            rows = await conn.fetch(
                "SELECT a.system_id, a.balance, COALESCE(SUM(j.amount), 0)::bigint AS total"
                " FROM accounts a LEFT JOIN journal j ON j.system_id = a.system_id"
                " GROUP BY a.system_id, a.balance"
                " HAVING a.balance <> COALESCE(SUM(j.amount), 0) OR a.balance < 0"
                ' ORDER BY a.system_id COLLATE "C"'
            )
            return [audit_problem(r["system_id"], r["balance"], r["total"]) for r in rows]

        return await self._read(run)

    # -- outbox and receipts --------------------------------------------------------------
    async def get_message(self, message_id: str) -> MessageRecord:
        """A message by our id. Raises UnknownMessage."""

        async def run(conn: Any) -> MessageRecord:
            row = await conn.fetchrow(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE message_id = $1", message_id
            )
            if row is None:
                raise UnknownMessage(message_id)
            return _message(row)

        return await self._read(run)

    async def unforwarded(self, *, limit: int = 1000) -> list[MessageRecord]:
        """Messages in state ACCEPTED, oldest first (the forwarder's recovery queue)."""

        async def run(conn: Any) -> list[MessageRecord]:
            rows = await conn.fetch(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE state = 'accepted'"
                " ORDER BY seq LIMIT $1",
                limit,
            )
            return [_message(r) for r in rows]

        return await self._read(run)

    async def adopt_unforwarded(
        self, gateway_id: str, *, stale_after: float = 30.0, limit: int = 1000
    ) -> list[MessageRecord]:
        """Take the ACCEPTED messages ``gateway_id`` must forward; oldest first.

        See ``Store.adopt_unforwarded``. One transaction of three statements: refresh
        the caller's heartbeat, lock the candidates (``_ADOPT_LOCK``, SKIP LOCKED), then
        take them on a fresh snapshot (``_ADOPT_TAKE``): two adopters get disjoint sets.
        """
        validate_adopt(gateway_id, limit)
        now = self._now()
        cutoff = now - timedelta(seconds=stale_after)

        async def run(conn: Any) -> list[MessageRecord]:
            # Adopting is a sign of life, and must look like one to the others as soon
            # as it commits, or they would take these messages back from us.
            alive = await conn.fetchval(
                "UPDATE gateways SET heartbeat_at = $1 WHERE gateway_id = $2 RETURNING 1",
                now,
                gateway_id,
            )
            if alive is None:
                raise ValueError(f"gateway {gateway_id!r} is not registered")
            ids = [
                r["message_id"] for r in await conn.fetch(_ADOPT_LOCK, gateway_id, cutoff, limit)
            ]
            if not ids:
                return []
            rows = await conn.fetch(_ADOPT_TAKE, ids, gateway_id, cutoff, now)
            return sorted((_message(r) for r in rows), key=adoption_order)

        return await self._tx(run)

    async def mark_forwarded(self, items: Sequence[tuple[str, str]]) -> None:
        """Record (message_id, upstream_id) pairs; ACCEPTED becomes FORWARDED.

        A message already past FORWARDED (refunded, delivered) keeps its state but gets
        the upstream id. Raises UnknownMessage (and records nothing) for an unknown id.
        """
        items = list(items)
        if not items:
            return
        now = self._now()
        # Unlike the unnest trap for balances, a repeated message id here just records
        # one of its upstream ids, which is all a repeat can mean.
        pairs = dict(items)

        async def run(conn: Any) -> None:
            updated = await conn.fetch(
                "UPDATE messages AS m SET upstream_id = u.upstream_id, updated_at = $3,"
                " state = CASE WHEN m.state = 'accepted' THEN 'forwarded' ELSE m.state END"
                " FROM unnest($1::text[], $2::text[]) AS u(message_id, upstream_id)"
                " WHERE m.message_id = u.message_id RETURNING m.message_id",
                list(pairs),
                list(pairs.values()),
                now,
            )
            missing = set(pairs) - {r["message_id"] for r in updated}
            if missing:
                raise UnknownMessage(sorted(missing)[0])

        await self._tx(run)

    async def message_by_upstream_id(self, upstream_id: str) -> MessageRecord | None:
        """The message the upstream knows by ``upstream_id`` (the newest, if reused)."""

        async def run(conn: Any) -> MessageRecord | None:
            row = await conn.fetchrow(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE upstream_id = $1"
                " ORDER BY seq DESC LIMIT 1",
                upstream_id,
            )
            return None if row is None else _message(row)

        return await self._read(run)

    async def set_message_state(self, message_id: str, state: MessageState) -> None:
        """Record an outcome (DELIVERED, FAILED, ...). REJECTED only comes with a refund."""
        state = MessageState(state)
        if state is MessageState.REJECTED:
            raise ValueError("use refund() to reject a message: it must give the money back")
        now = self._now()

        async def run(conn: Any) -> None:
            found = await conn.fetchval(
                "UPDATE messages SET state = $1, updated_at = $2 WHERE message_id = $3 RETURNING 1",
                state.value,
                now,
                message_id,
            )
            if found is None:
                raise UnknownMessage(message_id)

        await self._tx(run)

    async def add_receipts(self, items: Sequence[NewReceipt], *, lease: float = 60.0) -> list[int]:
        """Keep receipts until a receiver acknowledges them; their ids, in order.

        See ``Store.add_receipts``. Two round trips in one transaction: check every item,
        then write states, receipts and notifications in one statement.
        """
        items = list(items)
        if not items:
            return []
        states: dict[str, MessageState] = {}  # last state per message, see _ADD_RECEIPTS
        for item in items:
            if item.state is not None:
                state = MessageState(item.state)
                if state is MessageState.REJECTED:
                    raise ValueError(
                        "use refund() to reject a message: it must give the money back"
                    )
                states.pop(item.message_id, None)  # keep insertion order = last wins
                states[item.message_id] = state
        # Notify once per account with unclaimed receipts (PostgreSQL would fold repeats
        # within a transaction anyway; this keeps the statement small).
        notify = list(dict.fromkeys(i.system_id for i in items if i.claimed_by is None))
        now = self._now()
        until = now + timedelta(seconds=lease)

        async def run(conn: Any) -> list[int]:
            checks = await conn.fetch(
                _RECEIPT_CHECK,
                [i.system_id for i in items],
                [i.message_id for i in items],
            )
            for item, check in zip(items, checks, strict=True):
                if not check["account"]:
                    raise UnknownAccount(item.system_id)
                if check["owner"] is None:
                    raise UnknownMessage(item.message_id)
                if check["owner"] != item.system_id:
                    raise ValueError(
                        f"message {item.message_id} belongs to {check['owner']},"
                        f" not {item.system_id}"
                    )
            rows = await conn.fetch(
                _ADD_RECEIPTS,
                list(states),
                [s.value for s in states.values()],
                [i.system_id for i in items],
                [i.message_id for i in items],
                [bytes(i.pdu_body) for i in items],
                [i.claimed_by for i in items],
                notify,
                now,
                until,
            )
            if len(rows) != len(items) or rows[0]["notes"] != len(notify):
                # Cannot happen (every item was checked); never commit half a batch.
                raise RuntimeError("add_receipts wrote an unexpected number of rows")
            return [r["id"] for r in rows]

        return await self._tx(run)

    async def claim_receipts(
        self, system_id: str, *, gateway_id: str, limit: int = 100, lease: float = 60.0
    ) -> list[PendingReceipt]:
        """Claim up to ``limit`` undelivered receipts of the account for ``lease`` seconds.

        Unclaimed ones and those whose claim expired, oldest first; see ``_CLAIM`` for why
        two claimers never get the same receipt.
        """
        if not gateway_id:
            raise ValueError("a claim needs a gateway id")
        now = self._now()
        until = now + timedelta(seconds=lease)

        async def run(conn: Any) -> list[PendingReceipt]:
            rows = await conn.fetch(_CLAIM, system_id, gateway_id, until, now, limit)
            return sorted((_receipt(r) for r in rows), key=lambda r: r.id)

        return await self._read(run)  # one statement: its own transaction

    async def receipts_delivered(self, receipt_ids: Sequence[int]) -> None:
        """The receiver acknowledged these receipts. Idempotent; unknown ids are ignored."""
        ids = _ids(receipt_ids)
        if not ids:
            return
        now = self._now()
        await self._read(
            lambda conn: conn.execute(
                "UPDATE receipts SET delivered_at = $1"
                " WHERE id = ANY($2::bigint[]) AND delivered_at IS NULL",
                now,
                ids,
            )
        )

    async def release_receipts(self, receipt_ids: Sequence[int]) -> None:
        """Drop the claims (the push failed) so any gateway may claim them again."""
        ids = _ids(receipt_ids)
        if not ids:
            return
        await self._read(
            lambda conn: conn.execute(
                "UPDATE receipts SET claimed_by = NULL, claimed_until = NULL"
                " WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL",
                ids,
            )
        )

    async def pending_receipts(self, system_id: str, *, limit: int = 1000) -> list[PendingReceipt]:
        """Receipts not yet acknowledged, claimed or not, oldest first."""

        async def run(conn: Any) -> list[PendingReceipt]:
            rows = await conn.fetch(
                f"SELECT {_RECEIPT_COLS} FROM receipts"
                " WHERE system_id = $1 AND delivered_at IS NULL ORDER BY id LIMIT $2",
                system_id,
                limit,
            )
            return [_receipt(r) for r in rows]

        return await self._read(run)

    async def listen_receipts(
        self, callback: Callable[[str], None]
    ) -> Callable[[], Awaitable[None]] | None:
        """Call ``callback(system_id)`` for every ``NOTIFY smppgw_receipts``; return stop().

        A dedicated connection (a pooled one would be reset and reused) LISTENs; when it
        drops, a background task reconnects with a short backoff and listens again.
        Notifications sent while it is down are lost: gateways sweep for that. Raises
        LedgerUnavailable when the first connection cannot be made.
        """
        if self._closed:
            raise LedgerUnavailable("the ledger store is closed")
        if self._dsn is None:
            raise LedgerUnavailable("this store was not opened from a URL; cannot LISTEN")
        listener = _ReceiptListener(self._dsn, callback, self._listeners.discard)
        await listener.start()
        self._listeners.add(listener)
        return listener.stop


class _ReceiptListener:
    """One LISTEN connection kept alive until ``stop()``."""

    def __init__(
        self,
        dsn: str,
        callback: Callable[[str], None],
        on_stop: Callable[[_ReceiptListener], None],
    ) -> None:
        self._dsn = dsn
        self._callback = callback
        self._on_stop = on_stop
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    def _notified(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        self._callback(payload)

    async def _connect(self) -> Any:
        conn = await asyncpg.connect(
            self._dsn,
            timeout=_CONNECT_TIMEOUT_S,
            command_timeout=_COMMAND_TIMEOUT_S,
            server_settings={"application_name": "smppgw-listen"},
        )
        try:
            await conn.add_listener(RECEIPTS_CHANNEL, self._notified)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def start(self) -> None:
        """Connect and LISTEN (so notifications committed after this returns arrive)."""
        try:
            self._conn = await self._connect()
        except _UNAVAILABLE as exc:
            raise LedgerUnavailable(f"cannot LISTEN on the PostgreSQL ledger: {exc!r}") from exc
        self._task = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        """Wait for the connection to drop, then reconnect and LISTEN again, forever."""
        backoff = _LISTEN_BACKOFF_S[0]
        while not self._stopping:
            conn = self._conn
            if conn is not None:
                await self._watch(conn)
                self._conn = None
                conn.terminate()
                if self._stopping:
                    return
            try:
                self._conn = await self._connect()
                backoff = _LISTEN_BACKOFF_S[0]
                continue
            except (*_UNAVAILABLE, asyncpg.PostgresError):
                # The ledger does not log: the gateway's sweep covers the gap.
                pass
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _LISTEN_BACKOFF_S[1])

    async def _watch(self, conn: Any) -> None:
        """Return once ``conn`` is closed or no longer answers."""
        lost = asyncio.Event()
        conn.add_termination_listener(lambda _c: lost.set())
        while not conn.is_closed():
            try:
                await asyncio.wait_for(lost.wait(), timeout=_LISTEN_PROBE_S)
                return
            except TimeoutError:
                pass
            try:
                # A probe, because a connection cut without a FIN/RST never reports itself.
                await conn.execute("SELECT 1", timeout=_CONNECT_TIMEOUT_S)
            except (*_UNAVAILABLE, asyncpg.PostgresError):
                return

    async def stop(self) -> None:
        """Stop listening and close the connection. Idempotent."""
        if self._stopping:
            return
        self._stopping = True
        self._on_stop(self)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            conn, self._conn = self._conn, None
            with contextlib.suppress(*_UNAVAILABLE, asyncpg.PostgresError):
                await asyncio.wait_for(conn.close(), timeout=_CONNECT_TIMEOUT_S)
            if not conn.is_closed():
                conn.terminate()
