"""The embedded ledger: SQLite in WAL mode with ``synchronous=FULL``, one writer thread.

Every database call runs on one dedicated thread (a single-worker executor that owns the
``sqlite3`` connection), so the event loop never blocks on the disk and this process has
exactly one writer. Writes use ``BEGIN IMMEDIATE``: the write lock is taken before
anything is read, so a decision is never made on a row another process may still change
(a second process on the same file waits on ``busy_timeout``). ``synchronous=FULL``
makes a commit durable before the gateway answers ``ESME_ROK``; group commit
(``debit_batch``, fed by ``ledger.batcher``) pays that fsync once per batch.

Decisions (auto-recharge, idempotency, throughput, validation) live in
``ledger.recharge`` and are shared with the PostgreSQL store; this module only loads and
stores. Because every write takes the database's one write lock, the serialisation the
other store needs locks for (bind quota, token bucket, receipt claims, outbox adoption)
needs nothing more here, also when several processes open the same file. There is no
NOTIFY: ``listen_receipts`` returns None and the gateway delivers receipts itself and
sweeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ledger.errors import (
    AccountExists,
    IdempotencyConflict,
    InvalidAccountData,
    LedgerUnavailable,
    UnknownAccount,
    UnknownMessage,
)
from ledger.migrate import upgrade_sqlite
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
from ledger.store import Clock, utc_now

T = TypeVar("T")

#: Bound parameters per ``IN (...)`` list; SQLite's limit is far above, this keeps SQL short.
_CHUNK = 500
#: How long a write waits for another process's write lock before giving up (seconds).
_BUSY_TIMEOUT_S = 30.0

_JOURNAL_COLS = (
    "id, system_id, kind, amount, balance_after, idempotency_key, body_hash, message_id,"
    " created_at, note"
)
_MESSAGE_COLS = (
    "message_id, system_id, source_addr, destination_addr, segments, cost,"
    " registered_delivery, pdu_body, state, upstream_id, created_at, updated_at, owner"
)
_RECEIPT_COLS = "id, system_id, message_id, pdu_body, created_at, claimed_by, claimed_until"


def path_from_url(url: str) -> str:
    """The file path of ``sqlite:///PATH`` (relative) or ``sqlite:////PATH`` (absolute).

    ``sqlite:///:memory:`` is an in-memory database (tests, demos).
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise ValueError(f"SQLite ledger URL must look like sqlite:///PATH, not {url!r}")
    return url[len(prefix) :]


def _ts(moment: datetime) -> str:
    # One textual form for every stored time, so text order is time order.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def _parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


@contextlib.contextmanager
def _write(conn: sqlite3.Connection) -> Iterator[None]:
    """One write transaction: BEGIN IMMEDIATE, COMMIT on success, ROLLBACK on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        # SQLite may already have rolled back by itself (disk full, I/O error).
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


@contextlib.contextmanager
def _read(conn: sqlite3.Connection) -> Iterator[None]:
    """A read transaction, so that several SELECTs see one snapshot."""
    conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")


def _chunks(values: Sequence[T]) -> Iterator[Sequence[T]]:
    for i in range(0, len(values), _CHUNK):
        yield values[i : i + _CHUNK]


def _marks(n: int) -> str:
    return ",".join("?" * n)


def _entry(row: sqlite3.Row) -> JournalEntry:
    return JournalEntry(
        id=row["id"],
        system_id=row["system_id"],
        kind=EntryKind(row["kind"]),
        amount=row["amount"],
        balance_after=row["balance_after"],
        idempotency_key=row["idempotency_key"],
        message_id=row["message_id"],
        created_at=_parse_ts(row["created_at"]),
        note=row["note"],
    )


def _message(row: sqlite3.Row) -> MessageRecord:
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
        created_at=_parse_ts(row["created_at"]),
        updated_at=_parse_ts(row["updated_at"]),
        owner=row["owner"],
    )


def _receipt(row: sqlite3.Row) -> PendingReceipt:
    until = row["claimed_until"]
    return PendingReceipt(
        id=row["id"],
        system_id=row["system_id"],
        message_id=row["message_id"],
        pdu_body=bytes(row["pdu_body"]),
        created_at=_parse_ts(row["created_at"]),
        claimed_by=row["claimed_by"],
        claimed_until=_parse_ts(until) if until is not None else None,
    )


def _ids(values: Sequence[int]) -> list[int]:
    """Distinct receipt ids, refusing anything but ints (they are bound as parameters)."""
    out = list(dict.fromkeys(values))
    for v in out:
        if not isinstance(v, int) or isinstance(v, bool):
            raise ValueError(f"a receipt id is an int, not {v!r}")
    return out


def _policy(row: sqlite3.Row) -> RechargePolicy | None:
    if row["recharge_daily_cap"] is None:
        return None
    return RechargePolicy(
        threshold=row["recharge_threshold"],
        amount=row["recharge_amount"],
        daily_cap=row["recharge_daily_cap"],
    )


class SqliteStore:
    """``ledger.store.Store`` on one SQLite file. Create with :meth:`open`."""

    def __init__(self, path: str, *, clock: Clock = utc_now) -> None:
        self._path = path
        self._clock = clock
        # One worker: the connection lives on that thread and every call is serialised.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False

    @classmethod
    async def open(cls, url: str, *, clock: Clock = utc_now) -> SqliteStore:
        """Open (creating the file and its parent folders) the database at ``url``.

        Call :meth:`upgrade` before use to create or update the schema.
        """
        path = path_from_url(url)
        store = cls(path, clock=clock)
        try:
            await asyncio.get_running_loop().run_in_executor(store._executor, store._connect)
        except sqlite3.OperationalError as exc:
            store._executor.shutdown(wait=False)
            raise LedgerUnavailable(f"cannot open SQLite ledger {path}: {exc}") from exc
        except BaseException:
            store._executor.shutdown(wait=False)
            raise
        return store

    def _connect(self) -> None:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; this module says BEGIN itself.
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=_BUSY_TIMEOUT_S)
        try:
            conn.row_factory = sqlite3.Row
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal" and self._path != ":memory:":
                raise LedgerUnavailable(f"SQLite refused WAL mode for {self._path} ({mode})")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on the store's thread; map I/O failures."""
        if self._closed:
            raise LedgerUnavailable("the ledger store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._guarded, fn, args)
        except sqlite3.OperationalError as exc:
            # Locked past busy_timeout, disk full, I/O error: the transaction was rolled
            # back, so nothing was written.
            raise LedgerUnavailable(f"SQLite ledger unavailable: {exc}") from exc

    def _guarded(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        if self._conn is None:
            raise LedgerUnavailable("the ledger store is closed")
        return fn(self._conn, *args)

    async def close(self) -> None:
        """Close the connection and stop the thread. Later calls raise LedgerUnavailable."""
        if self._closed:
            return

        def _close(conn: sqlite3.Connection) -> None:
            conn.close()
            self._conn = None

        try:
            await self._call(_close)
        finally:
            self._closed = True
            self._executor.shutdown(wait=False)

    async def upgrade(self) -> list[str]:
        """Apply pending migrations; return the names applied now."""
        return await self._call(lambda conn: upgrade_sqlite(conn, self._now()))

    def _now(self) -> datetime:
        now = self._clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    # -- accounts -----------------------------------------------------------------------
    @staticmethod
    def _load_account(conn: sqlite3.Connection, system_id: str) -> Account:
        row = conn.execute("SELECT * FROM accounts WHERE system_id = ?", (system_id,)).fetchone()
        if row is None:
            raise UnknownAccount(system_id)
        ips = conn.execute(
            "SELECT cidr FROM account_ips WHERE system_id = ? ORDER BY id", (system_id,)
        ).fetchall()
        senders = conn.execute(
            "SELECT ton, npi, address FROM account_senders WHERE system_id = ? ORDER BY id",
            (system_id,),
        ).fetchall()
        return Account(
            system_id=row["system_id"],
            owner=row["owner"],
            contact_email=row["contact_email"],
            status=AccountStatus(row["status"]),
            balance=row["balance"],
            password_hash=row["password_hash"],
            allowed_ips=tuple(r["cidr"] for r in ips),
            senders=tuple(Sender(r["ton"], r["npi"], r["address"]) for r in senders),
            recharge=_policy(row),
            max_binds=row["max_binds"],
            throughput=row["throughput"],
            created_at=_parse_ts(row["created_at"]),
        )

    @staticmethod
    def _require_account(conn: sqlite3.Connection, system_id: str) -> None:
        if conn.execute("SELECT 1 FROM accounts WHERE system_id = ?", (system_id,)).fetchone():
            return
        raise UnknownAccount(system_id)

    async def create_account(self, new: NewAccount) -> Account:
        """Create an account with a zero balance. Raises AccountExists, InvalidAccountData."""
        new = validate_new_account(new)
        now = _ts(self._now())

        def run(conn: sqlite3.Connection) -> Account:
            with _write(conn):
                taken = conn.execute(
                    "SELECT 1 FROM accounts WHERE system_id = ?", (new.system_id,)
                ).fetchone()
                if taken:
                    raise AccountExists(new.system_id)
                conn.execute(
                    "INSERT INTO accounts (system_id, owner, contact_email, status,"
                    " password_hash, max_binds, throughput, created_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new.system_id,
                        new.owner,
                        new.contact_email,
                        AccountStatus.ACTIVE.value,
                        new.password_hash,
                        new.max_binds,
                        new.throughput,
                        now,
                    ),
                )
                conn.executemany(
                    "INSERT INTO account_ips (system_id, cidr) VALUES (?, ?)",
                    [(new.system_id, c) for c in new.allowed_ips],
                )
                conn.executemany(
                    "INSERT INTO account_senders (system_id, ton, npi, address)"
                    " VALUES (?, ?, ?, ?)",
                    [(new.system_id, s.ton, s.npi, s.address) for s in new.senders],
                )
                return self._load_account(conn, new.system_id)

        return await self._call(run)

    async def get_account(self, system_id: str) -> Account:
        """The account, with IPs and senders. Raises UnknownAccount."""

        def run(conn: sqlite3.Connection) -> Account:
            with _read(conn):
                return self._load_account(conn, system_id)

        return await self._call(run)

    async def list_accounts(self) -> list[Account]:
        """Every account, ordered by system_id."""

        def run(conn: sqlite3.Connection) -> list[Account]:
            with _read(conn):
                ids = [
                    r[0] for r in conn.execute("SELECT system_id FROM accounts ORDER BY system_id")
                ]
                return [self._load_account(conn, i) for i in ids]

        return await self._call(run)

    async def _update_account(
        self, system_id: str, change: Callable[[sqlite3.Connection], object]
    ) -> Account:
        """Check the account exists, apply ``change`` in one transaction, return it."""

        def run(conn: sqlite3.Connection) -> Account:
            with _write(conn):
                self._require_account(conn, system_id)
                change(conn)
                return self._load_account(conn, system_id)

        return await self._call(run)

    async def set_status(self, system_id: str, status: AccountStatus) -> Account:
        """Enable or disable binding (and debits: a disabled account is refused)."""
        status = AccountStatus(status)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "UPDATE accounts SET status = ? WHERE system_id = ?", (status.value, system_id)
            ),
        )

    async def set_password_hash(self, system_id: str, password_hash: str) -> None:
        """Replace the stored password hash."""
        if not password_hash:
            raise InvalidAccountData("an account needs a password hash")
        await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "UPDATE accounts SET password_hash = ? WHERE system_id = ?",
                (password_hash, system_id),
            ),
        )

    async def allow_ip(self, system_id: str, cidr: str) -> Account:
        """Add a CIDR (normalised; a bare address means /32 or /128); a repeat is a no-op."""
        net = normalise_cidr(cidr)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "INSERT INTO account_ips (system_id, cidr) VALUES (?, ?)"
                " ON CONFLICT (system_id, cidr) DO NOTHING",
                (system_id, net),
            ),
        )

    async def deny_ip(self, system_id: str, cidr: str) -> Account:
        """Remove a CIDR from the allowlist (InvalidAccountData if absent)."""
        net = normalise_cidr(cidr)

        def change(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "DELETE FROM account_ips WHERE system_id = ? AND cidr = ?", (system_id, net)
            )
            if cur.rowcount == 0:
                raise InvalidAccountData(f"{net} is not on the allowlist of {system_id}")

        return await self._update_account(system_id, change)

    async def add_sender(self, system_id: str, sender: Sender) -> Account:
        """Register a source address; registering it again is a no-op."""
        validate_sender(sender)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "INSERT INTO account_senders (system_id, ton, npi, address)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (system_id, ton, npi, address) DO NOTHING",
                (system_id, sender.ton, sender.npi, sender.address),
            ),
        )

    async def remove_sender(self, system_id: str, sender: Sender) -> Account:
        """Unregister a source address (InvalidAccountData if absent)."""

        def change(conn: sqlite3.Connection) -> None:
            cur = conn.execute(
                "DELETE FROM account_senders"
                " WHERE system_id = ? AND ton = ? AND npi = ? AND address = ?",
                (system_id, sender.ton, sender.npi, sender.address),
            )
            if cur.rowcount == 0:
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
                "UPDATE accounts SET recharge_threshold = ?, recharge_amount = ?,"
                " recharge_daily_cap = ? WHERE system_id = ?",
                (*values, system_id),
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
                "UPDATE accounts SET throughput = ?, tb_tokens = 0, tb_updated_at = NULL"
                " WHERE system_id = ?",
                (per_second, system_id),
            ),
        )

    async def set_max_binds(self, system_id: str, max_binds: int) -> Account:
        """Set how many sessions may be bound at once, over all gateways (>= 1)."""
        validate_max_binds(max_binds)
        return await self._update_account(
            system_id,
            lambda conn: conn.execute(
                "UPDATE accounts SET max_binds = ? WHERE system_id = ?", (max_binds, system_id)
            ),
        )

    # -- gateways and binds ----------------------------------------------------------------
    async def register_gateway(self, gateway_id: str, *, address: str) -> None:
        """Record a gateway process as alive (upsert; started_at = heartbeat_at = now)."""
        if not gateway_id:
            raise ValueError("a gateway needs an id")
        now = _ts(self._now())

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                conn.execute(
                    "INSERT INTO gateways (gateway_id, address, started_at, heartbeat_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (gateway_id) DO UPDATE SET"
                    " address = excluded.address, started_at = excluded.started_at,"
                    " heartbeat_at = excluded.heartbeat_at",
                    (gateway_id, address, now, now),
                )

        await self._call(run)

    async def heartbeat(self, gateway_id: str) -> None:
        """The gateway is still alive (heartbeat_at = now). Unknown gateways: no-op."""
        now = _ts(self._now())

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                conn.execute(
                    "UPDATE gateways SET heartbeat_at = ? WHERE gateway_id = ?", (now, gateway_id)
                )

        await self._call(run)

    async def unregister_gateway(self, gateway_id: str) -> None:
        """Clean shutdown: delete the gateway's binds and its row. Idempotent."""

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                conn.execute("DELETE FROM binds WHERE gateway_id = ?", (gateway_id,))
                conn.execute("DELETE FROM gateways WHERE gateway_id = ?", (gateway_id,))

        await self._call(run)

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

        See ``Store.acquire_bind``. BEGIN IMMEDIATE serialises every acquirer (of every
        process on the file), which is more than the per-account order needed.
        """
        now = self._now()
        stamp, cutoff = _ts(now), _ts(now - timedelta(seconds=stale_after))

        def run(conn: sqlite3.Connection) -> bool:
            with _write(conn):
                self._require_account(conn, system_id)
                if not conn.execute(
                    "SELECT 1 FROM gateways WHERE gateway_id = ?", (gateway_id,)
                ).fetchone():
                    raise ValueError(f"gateway {gateway_id!r} is not registered")
                held = conn.execute(
                    "SELECT system_id FROM binds WHERE gateway_id = ? AND session_id = ?",
                    (gateway_id, session_id),
                ).fetchone()
                if held is not None:
                    if held["system_id"] != system_id:
                        raise ValueError(
                            f"session {session_id!r} of {gateway_id!r} holds a bind"
                            f" of {held['system_id']}"
                        )
                    return True
                # Times are one text form (see _ts), so text comparison is time order.
                conn.execute(
                    "DELETE FROM binds WHERE system_id = ? AND NOT EXISTS ("
                    " SELECT 1 FROM gateways g WHERE g.gateway_id = binds.gateway_id"
                    " AND g.heartbeat_at >= ?)",
                    (system_id, cutoff),
                )
                (count,) = conn.execute(
                    "SELECT count(*) FROM binds WHERE system_id = ?", (system_id,)
                ).fetchone()
                if count >= max_binds:
                    return False
                conn.execute(
                    "INSERT INTO binds (system_id, gateway_id, session_id, kind, bound_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (system_id, gateway_id, session_id, kind, stamp),
                )
                return True

        return await self._call(run)

    async def release_bind(self, gateway_id: str, session_id: str) -> None:
        """The session unbound or dropped: free its slot. Idempotent."""

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                conn.execute(
                    "DELETE FROM binds WHERE gateway_id = ? AND session_id = ?",
                    (gateway_id, session_id),
                )

        await self._call(run)

    async def bind_count(self, system_id: str, *, stale_after: float = 30.0) -> int:
        """Binds of the account held by live gateways (heartbeat within ``stale_after``)."""
        cutoff = _ts(self._now() - timedelta(seconds=stale_after))

        def run(conn: sqlite3.Connection) -> int:
            (count,) = conn.execute(
                "SELECT count(*) FROM binds b JOIN gateways g ON g.gateway_id = b.gateway_id"
                " WHERE b.system_id = ? AND g.heartbeat_at >= ?",
                (system_id, cutoff),
            ).fetchone()
            return int(count)

        return await self._call(run)

    # -- money ----------------------------------------------------------------------------
    @staticmethod
    def _stored(conn: sqlite3.Connection, keys: Sequence[str]) -> dict[str, StoredEntry]:
        found: dict[str, StoredEntry] = {}
        for chunk in _chunks(keys):
            rows = conn.execute(
                f"SELECT {_JOURNAL_COLS} FROM journal"
                f" WHERE idempotency_key IN ({_marks(len(chunk))})",
                tuple(chunk),
            )
            for row in rows:
                found[row["idempotency_key"]] = StoredEntry(_entry(row), row["body_hash"])
        return found

    @staticmethod
    def _insert_entry(
        conn: sqlite3.Connection,
        *,
        system_id: str,
        kind: EntryKind,
        amount: int,
        balance_after: int,
        key: str,
        fingerprint: str,
        message_id: str | None,
        created_at: str,
        note: str,
    ) -> int:
        cur = conn.execute(
            "INSERT INTO journal (system_id, kind, amount, balance_after, idempotency_key,"
            " body_hash, message_id, created_at, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                system_id,
                kind.value,
                amount,
                balance_after,
                key,
                fingerprint,
                message_id,
                created_at,
                note,
            ),
        )
        assert cur.lastrowid is not None
        return cur.lastrowid

    def _entry_by_id(self, conn: sqlite3.Connection, entry_id: int) -> JournalEntry:
        row = conn.execute(
            f"SELECT {_JOURNAL_COLS} FROM journal WHERE id = ?", (entry_id,)
        ).fetchone()
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
        now = _ts(self._now())

        def run(conn: sqlite3.Connection) -> JournalEntry:
            with _write(conn):
                prior = self._stored(conn, [idempotency_key]).get(idempotency_key)
                if prior is not None:
                    if prior.fingerprint != fingerprint:
                        raise IdempotencyConflict(idempotency_key)
                    return prior.entry
                row = conn.execute(
                    "SELECT balance FROM accounts WHERE system_id = ?", (system_id,)
                ).fetchone()
                if row is None:
                    raise UnknownAccount(system_id)
                balance = row["balance"] + amount
                conn.execute(
                    "UPDATE accounts SET balance = ? WHERE system_id = ?", (balance, system_id)
                )
                entry_id = self._insert_entry(
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
                return self._entry_by_id(conn, entry_id)

        return await self._call(run)

    async def debit_batch(self, requests: Sequence[DebitRequest]) -> list[DebitResult]:
        """Debit each request and store its message, in one transaction, one result each.

        See ``ledger.recharge`` for the decision; this loads the batch's accounts and
        keys under ``BEGIN IMMEDIATE``, writes the plan and commits once.
        """
        requests = list(requests)
        if not requests:
            return []
        for request in requests:
            validate_request(request)
        now = self._now()
        stamp = _ts(now)

        def run(conn: sqlite3.Connection) -> list[DebitResult]:
            with _write(conn):
                ids = sorted({r.message.system_id for r in requests})
                accounts: dict[str, AccountState] = {}
                for chunk in _chunks(ids):
                    rows = conn.execute(
                        "SELECT system_id, status, balance, recharge_threshold,"
                        " recharge_amount, recharge_daily_cap, recharge_day, recharges_today,"
                        " throughput, tb_tokens, tb_updated_at"
                        f" FROM accounts WHERE system_id IN ({_marks(len(chunk))})",
                        tuple(chunk),
                    )
                    for row in rows:
                        day, bucket_at = row["recharge_day"], row["tb_updated_at"]
                        accounts[row["system_id"]] = AccountState(
                            system_id=row["system_id"],
                            status=AccountStatus(row["status"]),
                            balance=row["balance"],
                            policy=_policy(row),
                            recharge_day=date.fromisoformat(day) if day else None,
                            recharges_today=row["recharges_today"],
                            throughput=row["throughput"],
                            tb_tokens=row["tb_tokens"],
                            tb_updated_at=_parse_ts(bucket_at) if bucket_at else None,
                        )
                stored = self._stored(conn, lookup_keys(requests))
                message_ids = list(dict.fromkeys(r.message.message_id for r in requests))
                taken: set[str] = set()
                for chunk in _chunks(message_ids):
                    taken.update(
                        r[0]
                        for r in conn.execute(
                            "SELECT message_id FROM messages"
                            f" WHERE message_id IN ({_marks(len(chunk))})",
                            tuple(chunk),
                        )
                    )
                plan = plan_batch(requests, accounts, stored, taken, now)

                conn.executemany(
                    "UPDATE accounts SET balance = ?, recharge_day = ?, recharges_today = ?,"
                    " tb_tokens = ?, tb_updated_at = ? WHERE system_id = ?",
                    [
                        (
                            a.balance,
                            a.recharge_day.isoformat() if a.recharge_day else None,
                            a.recharges_today,
                            a.tb_tokens,
                            _ts(a.tb_updated_at) if a.tb_updated_at else None,
                            a.system_id,
                        )
                        for a in plan.accounts.values()
                    ],
                )
                entry_ids = [
                    self._insert_entry(
                        conn,
                        system_id=e.system_id,
                        kind=e.kind,
                        amount=e.amount,
                        balance_after=e.balance_after,
                        key=e.idempotency_key,
                        fingerprint=e.fingerprint,
                        message_id=e.message_id,
                        created_at=stamp,
                        note=e.note,
                    )
                    for e in plan.entries
                ]
                conn.executemany(
                    "INSERT INTO messages (message_id, system_id, idempotency_key, source_addr,"
                    " destination_addr, segments, cost, registered_delivery, pdu_body, state,"
                    " created_at, updated_at, owner)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            m.message.message_id,
                            m.message.system_id,
                            m.idempotency_key,
                            m.message.source_addr,
                            m.message.destination_addr,
                            m.message.segments,
                            m.message.cost,
                            m.message.registered_delivery,
                            m.message.pdu_body,
                            MessageState.ACCEPTED.value,
                            stamp,
                            stamp,
                            m.message.owner or None,  # "" = nobody: NULL, adoptable by all
                        )
                        for m in plan.messages
                    ],
                )
            return plan.resolve(entry_ids, _parse_ts(stamp))

        return await self._call(run)

    async def refund(self, message_id: str, *, reason: str) -> JournalEntry:
        """Give back a message's cost once (idempotent per message) and mark it REJECTED."""
        key = REFUND_KEY_PREFIX + message_id
        fingerprint = refund_fingerprint(message_id)
        now = _ts(self._now())

        def run(conn: sqlite3.Connection) -> JournalEntry:
            with _write(conn):
                msg = conn.execute(
                    "SELECT system_id, cost FROM messages WHERE message_id = ?", (message_id,)
                ).fetchone()
                if msg is None:
                    raise UnknownMessage(message_id)
                prior = self._stored(conn, [key]).get(key)
                if prior is not None:
                    if prior.fingerprint != fingerprint:
                        raise IdempotencyConflict(key)
                    return prior.entry
                balance = conn.execute(
                    "UPDATE accounts SET balance = balance + ? WHERE system_id = ?"
                    " RETURNING balance",
                    (msg["cost"], msg["system_id"]),
                ).fetchone()[0]
                entry_id = self._insert_entry(
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
                conn.execute(
                    "UPDATE messages SET state = ?, updated_at = ? WHERE message_id = ?",
                    (MessageState.REJECTED.value, now, message_id),
                )
                return self._entry_by_id(conn, entry_id)

        return await self._call(run)

    async def journal(self, system_id: str, *, limit: int = 100) -> list[JournalEntry]:
        """The newest ``limit`` entries of an account, newest first. Raises UnknownAccount."""

        def run(conn: sqlite3.Connection) -> list[JournalEntry]:
            with _read(conn):
                self._require_account(conn, system_id)
                rows = conn.execute(
                    f"SELECT {_JOURNAL_COLS} FROM journal WHERE system_id = ?"
                    " ORDER BY id DESC LIMIT ?",
                    (system_id, limit),
                )
                return [_entry(r) for r in rows]

        return await self._call(run)

    async def audit(self) -> list[AuditProblem]:
        """Accounts whose balance differs from their journal sum or is negative."""

        def run(conn: sqlite3.Connection) -> list[AuditProblem]:
            rows = conn.execute(
                "SELECT a.system_id, a.balance, COALESCE(SUM(j.amount), 0) AS total"
                " FROM accounts a LEFT JOIN journal j ON j.system_id = a.system_id"
                " GROUP BY a.system_id, a.balance"
                " HAVING a.balance <> COALESCE(SUM(j.amount), 0) OR a.balance < 0"
                " ORDER BY a.system_id"
            )
            return [audit_problem(r[0], r[1], r[2]) for r in rows]

        return await self._call(run)

    # -- outbox and receipts --------------------------------------------------------------
    async def get_message(self, message_id: str) -> MessageRecord:
        """A message by our id. Raises UnknownMessage."""

        def run(conn: sqlite3.Connection) -> MessageRecord:
            row = conn.execute(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE message_id = ?", (message_id,)
            ).fetchone()
            if row is None:
                raise UnknownMessage(message_id)
            return _message(row)

        return await self._call(run)

    async def unforwarded(self, *, limit: int = 1000) -> list[MessageRecord]:
        """Messages in state ACCEPTED, oldest first (the forwarder's recovery queue)."""

        def run(conn: sqlite3.Connection) -> list[MessageRecord]:
            rows = conn.execute(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE state = 'accepted'"
                " ORDER BY rowid LIMIT ?",  # insertion order, as PostgreSQL's seq
                (limit,),
            )
            return [_message(r) for r in rows]

        return await self._call(run)

    async def adopt_unforwarded(
        self, gateway_id: str, *, stale_after: float = 30.0, limit: int = 1000
    ) -> list[MessageRecord]:
        """Take the ACCEPTED messages ``gateway_id`` must forward; oldest first.

        See ``Store.adopt_unforwarded``. The write lock (BEGIN IMMEDIATE) makes the
        select-then-update atomic against every other adopter of every process.
        """
        validate_adopt(gateway_id, limit)
        now = self._now()
        stamp, cutoff = _ts(now), _ts(now - timedelta(seconds=stale_after))

        def run(conn: sqlite3.Connection) -> list[MessageRecord]:
            with _write(conn):
                # Adopting is a sign of life, and must look like one to the others as soon
                # as it commits, or they would take these messages back from us.
                cur = conn.execute(
                    "UPDATE gateways SET heartbeat_at = ? WHERE gateway_id = ?",
                    (stamp, gateway_id),
                )
                if cur.rowcount == 0:
                    raise ValueError(f"gateway {gateway_id!r} is not registered")
                # Times are one text form (see _ts), so text comparison is time order.
                ids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT message_id FROM messages m WHERE state = 'accepted'"
                        " AND (owner IS NULL OR owner = ? OR NOT EXISTS ("
                        "  SELECT 1 FROM gateways g WHERE g.gateway_id = m.owner"
                        "  AND g.heartbeat_at >= ?))"
                        " ORDER BY created_at, message_id LIMIT ?",
                        (gateway_id, cutoff, limit),
                    )
                ]
                taken: list[MessageRecord] = []
                for chunk in _chunks(ids):
                    marks = _marks(len(chunk))
                    # Our own rows are left as they are: nothing to write for them.
                    conn.execute(
                        f"UPDATE messages SET owner = ?, updated_at = ?"
                        f" WHERE message_id IN ({marks}) AND owner IS NOT ?",
                        (gateway_id, stamp, *chunk, gateway_id),
                    )
                    taken.extend(
                        _message(r)
                        for r in conn.execute(
                            f"SELECT {_MESSAGE_COLS} FROM messages WHERE message_id IN ({marks})",
                            tuple(chunk),
                        )
                    )
                return sorted(taken, key=adoption_order)

        return await self._call(run)

    async def mark_forwarded(self, items: Sequence[tuple[str, str]]) -> None:
        """Record (message_id, upstream_id) pairs; ACCEPTED becomes FORWARDED.

        A message already past FORWARDED (refunded, delivered) keeps its state but gets
        the upstream id. Raises UnknownMessage (and records nothing) for an unknown id.
        """
        items = list(items)
        if not items:
            return
        now = _ts(self._now())

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                for message_id, upstream_id in items:
                    cur = conn.execute(
                        "UPDATE messages SET upstream_id = ?, updated_at = ?,"
                        " state = CASE WHEN state = 'accepted' THEN 'forwarded' ELSE state END"
                        " WHERE message_id = ?",
                        (upstream_id, now, message_id),
                    )
                    if cur.rowcount == 0:
                        raise UnknownMessage(message_id)

        await self._call(run)

    async def message_by_upstream_id(self, upstream_id: str) -> MessageRecord | None:
        """The message the upstream knows by ``upstream_id`` (the newest, if reused)."""

        def run(conn: sqlite3.Connection) -> MessageRecord | None:
            row = conn.execute(
                f"SELECT {_MESSAGE_COLS} FROM messages WHERE upstream_id = ?"
                " ORDER BY rowid DESC LIMIT 1",
                (upstream_id,),
            ).fetchone()
            return None if row is None else _message(row)

        return await self._call(run)

    async def set_message_state(self, message_id: str, state: MessageState) -> None:
        """Record an outcome (DELIVERED, FAILED, ...). REJECTED only comes with a refund."""
        state = MessageState(state)
        if state is MessageState.REJECTED:
            raise ValueError("use refund() to reject a message: it must give the money back")
        now = _ts(self._now())

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                cur = conn.execute(
                    "UPDATE messages SET state = ?, updated_at = ? WHERE message_id = ?",
                    (state.value, now, message_id),
                )
                if cur.rowcount == 0:
                    raise UnknownMessage(message_id)

        await self._call(run)

    async def add_receipts(self, items: Sequence[NewReceipt], *, lease: float = 60.0) -> list[int]:
        """Keep receipts until a receiver acknowledges them; their ids, in order.

        See ``Store.add_receipts``. One transaction: an item that fails validation leaves
        nothing written. No notification exists on SQLite.
        """
        items = list(items)
        if not items:
            return []
        for item in items:
            if item.state is not None and MessageState(item.state) is MessageState.REJECTED:
                raise ValueError("use refund() to reject a message: it must give the money back")
        now = self._now()
        stamp, until = _ts(now), _ts(now + timedelta(seconds=lease))

        def run(conn: sqlite3.Connection) -> list[int]:
            with _write(conn):
                ids: list[int] = []
                for item in items:
                    self._require_account(conn, item.system_id)
                    owner = conn.execute(
                        "SELECT system_id FROM messages WHERE message_id = ?",
                        (item.message_id,),
                    ).fetchone()
                    if owner is None:
                        raise UnknownMessage(item.message_id)
                    if owner["system_id"] != item.system_id:
                        raise ValueError(
                            f"message {item.message_id} belongs to {owner['system_id']},"
                            f" not {item.system_id}"
                        )
                    if item.state is not None:
                        conn.execute(
                            "UPDATE messages SET state = ?, updated_at = ? WHERE message_id = ?",
                            (MessageState(item.state).value, stamp, item.message_id),
                        )
                    claimed = item.claimed_by is not None
                    cur = conn.execute(
                        "INSERT INTO receipts (system_id, message_id, pdu_body, created_at,"
                        " claimed_by, claimed_until) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            item.system_id,
                            item.message_id,
                            bytes(item.pdu_body),
                            stamp,
                            item.claimed_by,
                            until if claimed else None,
                        ),
                    )
                    assert cur.lastrowid is not None
                    ids.append(cur.lastrowid)
                return ids

        return await self._call(run)

    async def claim_receipts(
        self, system_id: str, *, gateway_id: str, limit: int = 100, lease: float = 60.0
    ) -> list[PendingReceipt]:
        """Claim up to ``limit`` undelivered receipts of the account for ``lease`` seconds.

        Unclaimed ones and those whose claim expired, oldest first. The write lock makes
        the select-then-update atomic against every other claimer.
        """
        if not gateway_id:
            raise ValueError("a claim needs a gateway id")
        now = self._now()
        stamp, until = _ts(now), _ts(now + timedelta(seconds=lease))

        def run(conn: sqlite3.Connection) -> list[PendingReceipt]:
            with _write(conn):
                ids = [
                    r[0]
                    for r in conn.execute(
                        "SELECT id FROM receipts WHERE system_id = ? AND delivered_at IS NULL"
                        " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY id LIMIT ?",
                        (system_id, stamp, limit),
                    )
                ]
                if not ids:
                    return []
                rows = conn.execute(
                    f"UPDATE receipts SET claimed_by = ?, claimed_until = ?"
                    f" WHERE id IN ({_marks(len(ids))}) RETURNING {_RECEIPT_COLS}",
                    (gateway_id, until, *ids),
                ).fetchall()
                return sorted((_receipt(r) for r in rows), key=lambda r: r.id)

        return await self._call(run)

    async def receipts_delivered(self, receipt_ids: Sequence[int]) -> None:
        """The receiver acknowledged these receipts. Idempotent; unknown ids are ignored."""
        ids = _ids(receipt_ids)
        if not ids:
            return
        now = _ts(self._now())

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                for chunk in _chunks(ids):
                    conn.execute(
                        f"UPDATE receipts SET delivered_at = ? WHERE id IN ({_marks(len(chunk))})"
                        " AND delivered_at IS NULL",
                        (now, *chunk),
                    )

        await self._call(run)

    async def release_receipts(self, receipt_ids: Sequence[int]) -> None:
        """Drop the claims (the push failed) so any gateway may claim them again."""
        ids = _ids(receipt_ids)
        if not ids:
            return

        def run(conn: sqlite3.Connection) -> None:
            with _write(conn):
                for chunk in _chunks(ids):
                    conn.execute(
                        "UPDATE receipts SET claimed_by = NULL, claimed_until = NULL"
                        f" WHERE id IN ({_marks(len(chunk))}) AND delivered_at IS NULL",
                        tuple(chunk),
                    )

        await self._call(run)

    async def pending_receipts(self, system_id: str, *, limit: int = 1000) -> list[PendingReceipt]:
        """Receipts not yet acknowledged, claimed or not, oldest first."""

        def run(conn: sqlite3.Connection) -> list[PendingReceipt]:
            rows = conn.execute(
                f"SELECT {_RECEIPT_COLS} FROM receipts"
                " WHERE system_id = ? AND delivered_at IS NULL ORDER BY id LIMIT ?",
                (system_id, limit),
            )
            return [_receipt(r) for r in rows]

        return await self._call(run)

    async def listen_receipts(
        self, callback: Callable[[str], None]
    ) -> Callable[[], Awaitable[None]] | None:
        """None: SQLite has no notifications; the gateway delivers directly and sweeps."""
        return None
