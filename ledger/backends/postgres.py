"""The shared ledger: PostgreSQL through an asyncpg pool, safe for several gateways at once.

A script runs between awaits on one pooled connection. A TRANSACTION script runs inside
``BEGIN``/``COMMIT`` and again from the start if it lost a race (a unique key or message
id committed meanwhile by another gateway, a deadlock, a serialisation failure); the
retry then sees the winner's rows and answers DUPLICATE or CONFLICT.

A movement keeps its round trips whatever the batch size: BEGIN, lock the batch's
accounts in sorted order (``SELECT ... FOR NO KEY UPDATE``: two batches never deadlock
and a concurrent batch waits instead of reading a stale balance), look up its keys and
message ids (``_LOOK_UP``), write everything in ONE statement (``_WRITE_PLAN``), COMMIT.
The ``UPDATE ... FROM unnest`` trap (a row listed twice is updated once) cannot bite:
a plan has one row per account and per house account. A debit batch usually takes two
round trips instead, reading unlocked and writing only if nothing it read changed
(``ledger.backends.postgres_optimistic``).

Durability: every session runs with ``synchronous_commit=on`` whatever the server default,
because an acknowledged debit must survive a crash. Connection failures become
``LedgerUnavailable``; if that happens during COMMIT the outcome is unknown, which is why
callers retry with the same idempotency key (a committed debit answers DUPLICATE).

Several gateways: ``acquire_bind`` serialises per account with a transaction-scoped
advisory lock on the system_id (not the account row, so binds never wait for debits);
``claim_receipts`` uses ``FOR UPDATE SKIP LOCKED`` so concurrent claimers take disjoint
receipts without waiting; storing receipts sends ``NOTIFY smppgw_receipts`` (payload:
system_id) for unclaimed receipts (and ``store_mo`` ``NOTIFY smppgw_mo`` for unclaimed
MOs), delivered at commit (``ledger.backends.postgres_listen``
listens); adoption locks candidate messages with ``FOR NO KEY UPDATE SKIP LOCKED`` and
decides on them again on a fresh snapshot (``_ADOPT_TAKE``).

The URL may carry ``?schema=NAME`` (tables live in that schema, created by ``upgrade()``)
and ``?pool_max=N`` (connections in the pool, default 10); both are removed before the
rest of the URL goes to asyncpg.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import asyncpg

from ledger.backends import base, rows
from ledger.backends.postgres_listen import UNAVAILABLE, ReceiptListener
from ledger.backends.postgres_optimistic import Attempt, NeedsLocks
from ledger.errors import InvalidRequest, LedgerUnavailable
from ledger.migrate import Dialect, upgrade_postgres
from ledger.models import MessageRecord, PendingReceipt
from ledger.rules.adoption import adoption_order
from ledger.rules.planning import AccountState, StoredEntry, StoredMessage
from ledger.store import RECEIPTS_CHANNEL

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
#: After an optimistic write lost a race, the scripts that run the locking way before the
#: next optimistic try: where gateways contend for one account, locking first is cheaper
#: than a lost read and write before every lock.
_LOCKING_AFTER_LOSS = 16
#: Rows per house account that concurrent writers spread over (see _WRITE_PLAN).
_HOUSE_SHARDS = 16

#: Errors after which the whole transaction may simply be tried again.
_RETRY: tuple[type[BaseException], ...] = (
    asyncpg.UniqueViolationError,  # a key or message id committed by a racing batch
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
)

DECODER = base.Decoder(time=lambda v: v, day=lambda v: v)

# Sorted lock order (COLLATE "C": byte order, the same as Python's sorted()) is what
# keeps concurrent batches over overlapping accounts from deadlocking. NO KEY UPDATE is
# enough (the key never changes) and lets foreign-key checks of other inserts through.
_LOCK_ACCOUNTS = f"""
SELECT {rows.STATE_COLS}
FROM accounts WHERE system_id = ANY($1::text[])
ORDER BY system_id COLLATE "C"
FOR NO KEY UPDATE
"""

# Run after the lock, as its own statement: under READ COMMITTED each statement sees
# what committed before it started, including the batch we may have waited for.
# LATERAL ... LIMIT 1 pins the plan to one unique-index probe per key: with "= ANY($1)"
# the planner may pick a sequential scan of the whole journal (measured: 19 ms per batch
# at 10k rows, growing with the table).
_LOOK_UP = f"""
SELECT 'j' AS src, j.*, NULL::bigint AS cost FROM unnest($1::text[]) AS k(key)
CROSS JOIN LATERAL (SELECT {rows.JOURNAL_COLS} FROM journal
                    WHERE idempotency_key = k.key LIMIT 1) AS j
UNION ALL
SELECT 'm', NULL, m.system_id, NULL, NULL, NULL, NULL, NULL, NULL, m.message_id, NULL, NULL,
       m.cost
FROM unnest($2::text[]) AS k(key)
CROSS JOIN LATERAL (SELECT message_id, system_id, cost FROM messages
                    WHERE message_id = k.key LIMIT 1) AS m
"""

# One statement for every write of a plan. Data-modifying CTEs all run to completion
# whether or not the final SELECT reads them; ids are mapped back by idempotency key.
# House rows are taken in name order (INSERT ... SELECT ... ORDER BY) after the
# accounts, which the transaction locked first: every movement locks in that one order.
# Each connection writes its own shard of a house account (its backend pid modulo
# _HOUSE_SHARDS), so batches of different gateways rarely wait for each other's commit
# on the house:sales row: measured, one shared row cost 8% with two writers.
# Message states (a refund's REJECTED) come in a second variant of the statement, so a
# debit batch does not carry the arrays of a CTE it never uses.
_WRITES = """
WITH acc AS (
    UPDATE accounts AS a
    SET balance = u.balance, recharge_day = u.recharge_day,
        recharges_today = u.recharges_today, tb_tokens = u.tb_tokens,
        tb_updated_at = u.tb_updated_at
    FROM unnest($1::text[], $2::bigint[], $3::date[], $4::int[], $5::bigint[],
                $6::timestamptz[]{seen_array})
        AS u(system_id, balance, recharge_day, recharges_today, tb_tokens, tb_updated_at{seen})
    WHERE a.system_id = u.system_id{seen_check}
    RETURNING 1
), msg AS (
    INSERT INTO messages (message_id, system_id, idempotency_key, source_addr,
        destination_addr, segments, cost, registered_delivery, pdu_body, state,
        created_at, updated_at, owner)
    SELECT m.message_id, m.system_id, m.idempotency_key, m.source_addr,
        m.destination_addr, m.segments, m.cost, m.registered_delivery, m.pdu_body,
        'accepted', $26, $26, m.owner
    FROM unnest($7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::int[],
                $13::bigint[], $14::int[], $15::bytea[], $16::text[]) WITH ORDINALITY
        AS m(message_id, system_id, idempotency_key, source_addr, destination_addr,
             segments, cost, registered_delivery, pdu_body, owner, ord)
    ORDER BY m.ord
    RETURNING 1
), ent AS (
    INSERT INTO journal (system_id, counter_account, kind, amount, balance_after,
        idempotency_key, body_hash, message_id, created_at, note)
    SELECT e.system_id, e.counter_account, e.kind, e.amount, e.balance_after,
        e.idempotency_key, e.body_hash, e.message_id, $26, e.note
    FROM unnest($17::text[], $18::text[], $19::text[], $20::bigint[], $21::bigint[],
                $22::text[], $23::text[], $24::text[], $25::text[]) WITH ORDINALITY
        AS e(system_id, counter_account, kind, amount, balance_after, idempotency_key,
             body_hash, message_id, note, ord)
    ORDER BY e.ord
    RETURNING id, idempotency_key
), house AS (
    INSERT INTO house_accounts AS h (name, shard, balance)
    SELECT d.name, pg_backend_pid() % $29, d.delta
    FROM unnest($27::text[], $28::bigint[]) AS d(name, delta)
    ORDER BY d.name COLLATE "C"
    ON CONFLICT (name, shard) DO UPDATE SET balance = h.balance + excluded.balance
    RETURNING 1
)"""
_STATES = """, st AS (
    UPDATE messages AS m SET state = s.state, updated_at = $26
    FROM unnest($30::text[], $31::text[]) AS s(message_id, state)
    WHERE m.message_id = s.message_id
    RETURNING 1
)"""
_COUNTS = """
SELECT id, idempotency_key, (SELECT count(*) FROM acc) AS accounts,
       (SELECT count(*) FROM msg) AS messages, (SELECT count(*) FROM house) AS houses,
       {states} AS states{checked}
FROM ent
"""


def _write_plan_sql(*, states: bool, checked: bool) -> str:
    """The plan's one statement; ``checked`` (Access.OPTIMISTIC, no transaction around
    it): an account row is written only if its ``xmin`` (the transaction that last wrote
    it) is the one the plan read, and unless all were, ``smppgw_unchanged`` raises
    serialization_failure, which undoes the whole statement (migration 0015)."""
    seen = 32 if states else 30
    writes = _WRITES.format(
        seen_array=f", ${seen}::xid[]" if checked else "",
        seen=", seen" if checked else "",
        seen_check=" AND a.xmin = u.seen" if checked else "",
    )
    counts = _COUNTS.format(
        states="(SELECT count(*) FROM st)" if states else "0",
        checked=(
            f",\n       smppgw_unchanged((SELECT count(*) FROM acc) = cardinality(${seen}::xid[]))"
            if checked
            else ""
        ),
    )
    return writes + (_STATES if states else "") + counts


#: By (has message states, checked).
_WRITE_PLAN = {
    (states, checked): _write_plan_sql(states=states, checked=checked)
    for states in (False, True)
    for checked in (False, True)
}


def _columns(rows: list[tuple[Any, ...]], width: int) -> list[list[Any]]:
    """``rows`` as ``width`` column lists (the arrays ``unnest`` reads)."""
    return [list(c) for c in zip(*rows, strict=True)] if rows else [[] for _ in range(width)]


# Adoption, step 1: lock the oldest adoptable messages. SKIP LOCKED leaves rows another
# adopter is taking to it (and takes the next ones instead of waiting); LockRows sits
# below the LIMIT, so skipped rows do not use up the limit. NO KEY UPDATE is the lock
# the UPDATE itself takes: FOR UPDATE would also conflict with the KEY SHARE locks of
# receipts' foreign-key checks, blocking receipts and skipping rows for nothing. The NOT
# EXISTS is the staleness rule of acquire_bind.
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
    RETURNING {rows.prefixed(rows.MESSAGE_COLS, "m")}
)
SELECT * FROM took
UNION ALL
SELECT {rows.prefixed(rows.MESSAGE_COLS, "m")} FROM messages m
WHERE m.message_id = ANY($1::text[]) AND m.state = 'accepted' AND m.owner = $2
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
RETURNING {rows.prefixed(rows.RECEIPT_COLS, "r")}
"""

# States first (one row per message: the core reduced the batch to each message's last
# state), then the receipts in item order, then one notification per system_id of the
# unclaimed ones.
_STORE_RECEIPTS = f"""
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


def parse_url(url: str) -> tuple[str, str | None, int]:
    """Split ``url`` into (DSN for asyncpg, schema or None, pool size)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise InvalidRequest(f"not a PostgreSQL URL: {url!r}")
    schema: str | None = None
    pool_max = _DEFAULT_POOL_MAX
    rest: list[tuple[str, str]] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key == "schema":
            if _SCHEMA_RE.fullmatch(value) is None:
                raise InvalidRequest(f"schema name {value!r} must be a plain SQL identifier")
            schema = value
        elif key == "pool_max":
            pool_max = int(value) if value.isdigit() else 0
            if pool_max < 1:
                raise InvalidRequest("pool_max must be at least 1")
        else:
            rest.append((key, value))
    dsn = urlunsplit(parts._replace(query=urlencode(rest)))
    return dsn, schema, pool_max


async def _reset(conn: Any) -> None:
    """Ready a connection for reuse: roll back a transaction an interrupted task left open.

    asyncpg's default reset also runs UNLISTEN, CLOSE ALL, RESET ALL and releases
    advisory locks: one more round trip per transaction for state this backend never
    leaves behind (it uses only transaction-scoped locks and no session settings).
    """
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


def _count(status: str) -> int:
    """Rows a command changed, from its status tag ("UPDATE 3", "INSERT 0 1")."""
    return int(status.rsplit(" ", 1)[-1])


class PostgresBackend:
    """A pool of connections to one PostgreSQL database. Create with :meth:`open`."""

    #: Which SQL this backend speaks.
    dialect: Final[Dialect] = "postgresql"

    def __init__(self, pool: Any, schema: str | None, dsn: str | None = None) -> None:
        self._pool = pool
        self._schema = schema
        self._closed = False
        #: For connections outside the pool (the receipt listener).
        self._dsn = dsn
        self._listeners: set[ReceiptListener] = set()
        self._ops = base.performers(self)
        #: Optimistic scripts still to run the locking way (see _LOCKING_AFTER_LOSS).
        self._locking_turns = 0

    @classmethod
    async def open(cls, url: str) -> PostgresBackend:
        """Connect a pool to ``url``; raises LedgerUnavailable if the server is unreachable."""
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
        except UNAVAILABLE as exc:
            raise LedgerUnavailable(f"cannot reach the PostgreSQL ledger: {exc!r}") from exc
        return cls(pool, schema, dsn=dsn)

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

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A pooled connection; connection-level failures become LedgerUnavailable."""
        if self._closed:
            raise LedgerUnavailable("the ledger store is closed")
        try:
            async with self._pool.acquire() as conn:
                yield conn
        except UNAVAILABLE as exc:
            raise LedgerUnavailable(f"PostgreSQL ledger unavailable: {exc!r}") from exc

    async def run(self, script: Callable[[], base.Script[T]], access: base.Access) -> T:
        """Run the script on one connection: in a transaction (retried) if ``access`` says."""
        if access is base.Access.TRANSACTION:
            return await self._transaction(script)
        if access is base.Access.OPTIMISTIC:
            return await self._optimistic(script)
        async with self.connection() as conn:
            return await self._drive(conn, script())

    async def _transaction(self, script: Callable[[], base.Script[T]]) -> T:
        for attempt in range(1, _ATTEMPTS + 1):
            committing = False
            try:
                async with self.connection() as conn, conn.transaction():
                    result = await self._drive(conn, script())
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

    async def _optimistic(self, script: Callable[[], base.Script[T]]) -> T:
        """Read unlocked and write only if unchanged (``postgres_optimistic``); else, or
        if the script needs more, the locking way. Nothing is written before the one
        statement that decides, so running again is always safe."""
        if self._locking_turns > 0:
            self._locking_turns -= 1
            return await self._transaction(script)
        attempt: Attempt | None = None
        try:
            async with self.connection() as conn:
                attempt = Attempt(conn, DECODER, self._write_plan, self._look_up)
                return await attempt.drive(script())
        except NeedsLocks:
            pass  # more than a plan to write: lock this time
        except _RETRY:
            self._locking_turns = _LOCKING_AFTER_LOSS  # changed meanwhile: contention
        except LedgerUnavailable as exc:
            if attempt is not None and attempt.writing:  # the write commits by itself
                raise LedgerUnavailable(str(exc), outcome_unknown=True) from exc
            raise
        return await self._transaction(script)

    async def _drive(self, conn: Any, steps: base.Script[T]) -> T:
        ops = self._ops
        return await base.drive(steps, lambda op: ops[type(op)](conn, op))

    async def upgrade(self, now: datetime) -> list[str]:
        """Create the URL's schema if needed, apply pending migrations, return their names."""
        async with self.connection() as conn:
            if self._schema is not None:
                with contextlib.suppress(asyncpg.UniqueViolationError):
                    # IF NOT EXISTS still races with a concurrent creator; either wins.
                    await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._schema}"')
            return await upgrade_postgres(conn, now)

    async def listen(
        self, callback: Callable[[str], None], channel: str = RECEIPTS_CHANNEL
    ) -> Callable[[], Awaitable[None]] | None:
        """LISTEN on a dedicated connection (a pooled one would be reset and reused).

        When it drops, a background task reconnects with a short backoff and listens
        again; notifications sent while it is down are lost (gateways sweep for that).
        Raises LedgerUnavailable when the first connection cannot be made.
        """
        if self._closed:
            raise LedgerUnavailable("the ledger store is closed")
        if self._dsn is None:
            raise LedgerUnavailable("this store was not opened from a URL; cannot LISTEN")
        listener = ReceiptListener(self._dsn, callback, self._listeners.discard, channel)
        await listener.start()
        self._listeners.add(listener)
        return listener.stop

    # -- plain operations ----------------------------------------------------------------------
    @staticmethod
    async def _execute(conn: Any, op: base.Execute) -> int:
        return _count(await conn.execute(op.statement.postgres, *op.args))

    @staticmethod
    async def _execute_many(conn: Any, op: base.ExecuteMany) -> None:
        if op.rows:
            await conn.executemany(op.statement.postgres, op.rows)

    @staticmethod
    async def _fetch(conn: Any, op: base.Fetch[Any]) -> list[Any]:
        return [op.into(r, DECODER) for r in await conn.fetch(op.statement.postgres, *op.args)]

    # -- the debit path ------------------------------------------------------------------------
    @staticmethod
    async def _lock_accounts(conn: Any, op: base.LockAccounts) -> dict[str, AccountState]:
        found = await conn.fetch(_LOCK_ACCOUNTS, list(op.system_ids))
        return {r["system_id"]: rows.account_state(r, DECODER) for r in found}

    @staticmethod
    async def _look_up(
        conn: Any, op: base.LookUp
    ) -> tuple[dict[str, StoredEntry], dict[str, StoredMessage]]:
        entries: dict[str, StoredEntry] = {}
        messages: dict[str, StoredMessage] = {}
        for r in await conn.fetch(_LOOK_UP, list(op.keys), list(op.message_ids)):
            if r["src"] == "j":
                entries[r["idempotency_key"]] = rows.stored_entry(r, DECODER)
            else:
                messages[r["message_id"]] = rows.stored_message(r, DECODER)
        return entries, messages

    @classmethod
    async def _lock_and_look_up(
        cls, conn: Any, op: base.LockAndLookUp
    ) -> tuple[dict[str, AccountState], dict[str, StoredEntry], dict[str, StoredMessage]]:
        # Two statements, in this order: under READ COMMITTED the look-up then sees what
        # committed before it, including the batch the lock may have waited for.
        accounts = await cls._lock_accounts(conn, base.LockAccounts(op.system_ids))
        entries, messages = await cls._look_up(conn, base.LookUp(op.keys, op.message_ids))
        return accounts, entries, messages

    @staticmethod
    async def _write_plan(
        conn: Any, op: base.WritePlan, seen: dict[str, int] | None = None
    ) -> list[int]:
        """Write the plan; ``seen`` (account -> the xmin read): only if none changed."""
        plan = op.plan
        ents = plan.entries
        accounts = _columns([rows.state_row(a) for a in plan.accounts.values()], 6)
        messages = _columns([rows.message_row(m) for m in plan.messages], 10)
        entries = _columns([rows.entry_row(e) for e in ents], 9)
        houses = _columns(plan.house_deltas(), 2)
        args = [*accounts, *messages, *entries, op.now, *houses, _HOUSE_SHARDS]
        states = plan.message_states
        if states:
            args += [list(states), [s.value for s in states.values()]]
        if seen is not None:
            args.append([seen.get(a) for a in plan.accounts])
        found = await conn.fetch(_WRITE_PLAN[bool(states), seen is not None], *args)
        ids = {r["idempotency_key"]: r["id"] for r in found}
        counts = (len(plan.accounts), len(plan.messages), len(houses[0]), len(states))
        written = (
            (found[0]["accounts"], found[0]["messages"], found[0]["houses"], found[0]["states"])
            if found
            else counts
        )
        if len(ids) != len(ents) or written != counts:
            # Cannot happen with one row per account and unique keys; if it did, the
            # rollback keeps the books straight rather than commit a partial plan.
            raise RuntimeError("a movement wrote an unexpected number of rows")
        return [ids[e.idempotency_key] for e in ents]

    @staticmethod
    async def _serialise_binds(conn: Any, op: base.SerialiseBinds) -> None:
        await conn.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext($2))", _BIND_LOCK_CLASS, op.system_id
        )

    # -- the outbox ----------------------------------------------------------------------------
    @staticmethod
    async def _adopt(conn: Any, op: base.Adopt) -> list[MessageRecord]:
        picked = [
            r["message_id"]
            for r in await conn.fetch(_ADOPT_LOCK, op.gateway_id, op.cutoff, op.limit)
        ]
        if not picked:
            return []
        found = await conn.fetch(_ADOPT_TAKE, picked, op.gateway_id, op.cutoff, op.now)
        return sorted((rows.message(r, DECODER) for r in found), key=adoption_order)

    @staticmethod
    async def _claim(conn: Any, op: base.Claim) -> list[PendingReceipt]:
        found = await conn.fetch(_CLAIM, op.system_id, op.gateway_id, op.until, op.now, op.limit)
        return sorted((rows.receipt(r, DECODER) for r in found), key=lambda r: r.id)

    @staticmethod
    async def _store_receipts(conn: Any, op: base.StoreReceipts) -> list[int]:
        items = op.items
        found = await conn.fetch(
            _STORE_RECEIPTS,
            list(op.states),
            [s.value for s in op.states.values()],
            [i.system_id for i in items],
            [i.message_id for i in items],
            [bytes(i.pdu_body) for i in items],
            [i.claimed_by for i in items],
            list(op.notify),
            op.now,
            op.until,
        )
        if len(found) != len(items) or found[0]["notes"] != len(op.notify):
            # Cannot happen (every item was checked); never commit half a batch.
            raise RuntimeError("add_receipts wrote an unexpected number of rows")
        return [r["id"] for r in found]
