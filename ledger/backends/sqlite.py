"""The embedded ledger: SQLite in WAL mode with ``synchronous=FULL``, one writer thread.

Every database call runs on one dedicated thread (a single-worker executor that owns the
``sqlite3`` connection), so the event loop never blocks on the disk and this process has
exactly one writer. A script runs there whole, inside one transaction: writes use
``BEGIN IMMEDIATE``, so the write lock is taken before anything is read and a decision
is never made on a row another process may still change (a second process on the same
file waits on ``busy_timeout``). ``synchronous=FULL`` makes a commit durable before the
gateway answers ``ESME_ROK``; group commit (``debit_batch``, fed by ``ledger.batcher``)
pays that fsync once per batch.

Because every write takes the database's one write lock, the serialisation PostgreSQL
needs row locks for (accounts, binds, claims, adoption) needs nothing more here, also
when several processes open the same file. There is no NOTIFY: ``listen`` returns None
and the gateway delivers receipts itself and sweeps.

The file holds message bodies and password hashes, so it is created owner-only (0600)
whatever the umask, and its ``-wal`` and ``-shm`` companions are kept so too (SQLite
gives them the main file's mode when it creates them). A file that already exists keeps
the mode its operator gave it: :func:`exposed_files` names the ones others may read, and
the gateway and the CLI warn about them.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import stat
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from ledger.backends import base, rows
from ledger.errors import InvalidRequest, LedgerUnavailable
from ledger.migrate import Dialect, upgrade_sqlite
from ledger.models import MessageRecord, MessageState, PendingReceipt
from ledger.rules.adoption import adoption_order
from ledger.rules.planning import AccountState, StoredEntry, StoredMessage
from ledger.store import RECEIPTS_CHANNEL

T = TypeVar("T")

#: How long a write waits for another process's write lock before giving up (seconds).
_BUSY_TIMEOUT_S = 30.0
#: The mode of a ledger file this module creates: read and write for its owner only.
FILE_MODE: Final = 0o600
#: The files SQLite keeps next to the database in WAL mode; they hold the same data.
COMPANIONS: Final = ("-wal", "-shm")
#: Permission bits that let anyone but the owner in (group and others, any access).
_NOT_OWNER = stat.S_IRWXG | stat.S_IRWXO


def ledger_files(path: str | os.PathLike[str]) -> list[Path]:
    """The database file and its WAL companions that exist now, main file first."""
    main = Path(path)
    every = [main, *(main.with_name(main.name + suffix) for suffix in COMPANIONS)]
    return [p for p in every if p.exists()]


def exposed_files(path: str | os.PathLike[str]) -> list[tuple[Path, int]]:
    """Each ledger file (main, ``-wal``, ``-shm``) its group or others may access, with its
    permission bits (``0o644``); empty when all are private."""
    found = []
    for p in ledger_files(path):
        mode = stat.S_IMODE(p.stat().st_mode)
        if mode & _NOT_OWNER:
            found.append((p, mode))
    return found


def _create_private(path: str) -> None:
    """Create the database file 0600 before SQLite opens it; an existing one is left be.

    ``os.open``'s mode is narrowed by the umask, never widened, and the ``fchmod`` makes it
    exactly 0600 even under an unusual umask. O_EXCL: only a file made here is changed.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def _tighten_companions(path: str) -> None:
    """Make ``-wal``/``-shm`` 0600 when the main file is private and they are not.

    SQLite creates them with the main file's mode, so this only corrects companions left
    wider by an earlier version; a main file its operator opened up is left as it is.
    """
    files = ledger_files(path)
    if not files or files[0] != Path(path) or stat.S_IMODE(files[0].stat().st_mode) & _NOT_OWNER:
        return
    for companion in files[1:]:
        if stat.S_IMODE(companion.stat().st_mode) & _NOT_OWNER:
            companion.chmod(FILE_MODE)


def path_from_url(url: str) -> str:
    """The file path of ``sqlite:///PATH`` (relative) or ``sqlite:////PATH`` (absolute).

    ``sqlite:///:memory:`` is an in-memory database (tests, demos).
    """
    prefix = "sqlite:///"
    if not url.startswith(prefix) or len(url) == len(prefix):
        raise InvalidRequest(f"SQLite ledger URL must look like sqlite:///PATH, not {url!r}")
    return url[len(prefix) :]


def _ts(moment: datetime) -> str:
    # One textual form for every stored time, so text order is time order.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


DECODER = base.Decoder(time=datetime.fromisoformat, day=date.fromisoformat)


def _arg(value: object) -> object:
    """A parameter as SQLite stores it: times as text, lists as JSON (see ``json_each``)."""
    if isinstance(value, datetime):
        return _ts(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return json.dumps(list(value))
    return value


def _args(values: Sequence[object]) -> tuple[object, ...]:
    return tuple(_arg(v) for v in values)


def _state_row(a: AccountState) -> tuple[object, ...]:
    # rows.state_row with its day and time as text; the hot path converts only those two.
    system_id, balance, day, today, tokens, at = rows.state_row(a)
    return (system_id, balance, day and day.isoformat(), today, tokens, at and _ts(at))


def _in_json(values: Sequence[str]) -> str:
    return json.dumps(list(values))


_LOCK = (
    f"SELECT {rows.STATE_COLS} FROM accounts WHERE system_id IN (SELECT value FROM json_each(?))"
)
_ENTRIES = (
    f"SELECT {rows.JOURNAL_COLS} FROM journal"
    " WHERE idempotency_key IN (SELECT value FROM json_each(?))"
)
_MESSAGES = (
    "SELECT message_id, system_id, cost FROM messages"
    " WHERE message_id IN (SELECT value FROM json_each(?))"
)
_SAVE_ACCOUNT = (
    "UPDATE accounts SET balance = ?2, recharge_day = ?3, recharges_today = ?4,"
    " tb_tokens = ?5, tb_updated_at = ?6 WHERE system_id = ?1"
)
_INSERT_ENTRY = (
    f"INSERT INTO journal ({rows.ENTRY_WRITE}, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_MESSAGE = (
    f"INSERT INTO messages ({rows.MESSAGE_WRITE}, created_at, updated_at, state)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'accepted')"
)
_SET_STATE = "UPDATE messages SET state = ?, updated_at = ? WHERE message_id = ?"
# One writer: every movement uses shard 0 (see migration 0004).
_MOVE_HOUSE = (
    "INSERT INTO house_accounts (name, shard, balance) VALUES (?, 0, ?) ON CONFLICT (name, shard)"
    " DO UPDATE SET balance = house_accounts.balance + excluded.balance"
)
_ADOPT_PICK = (
    "SELECT message_id FROM messages m WHERE state = 'accepted'"
    " AND (owner IS NULL OR owner = ? OR NOT EXISTS ("
    "  SELECT 1 FROM gateways g WHERE g.gateway_id = m.owner AND g.heartbeat_at >= ?))"
    " ORDER BY created_at, message_id LIMIT ?"
)
# Our own rows are left as they are: nothing to write for them.
_ADOPT_TAKE = (
    "UPDATE messages SET owner = ?, updated_at = ?"
    " WHERE message_id IN (SELECT value FROM json_each(?)) AND owner IS NOT ?"
)
_ADOPTED = (
    f"SELECT {rows.MESSAGE_COLS} FROM messages WHERE message_id IN (SELECT value FROM json_each(?))"
)
_CLAIM_PICK = (
    "SELECT id FROM receipts WHERE system_id = ? AND delivered_at IS NULL"
    " AND (claimed_until IS NULL OR claimed_until <= ?) ORDER BY id LIMIT ?"
)
_CLAIM_TAKE = (
    "UPDATE receipts SET claimed_by = ?, claimed_until = ?"
    f" WHERE id IN (SELECT value FROM json_each(?)) RETURNING {rows.RECEIPT_COLS}"
)
_INSERT_RECEIPT = (
    "INSERT INTO receipts (system_id, message_id, pdu_body, created_at, claimed_by,"
    " claimed_until) VALUES (?, ?, ?, ?, ?, ?)"
)


class SqliteBackend:
    """One SQLite file, one connection on one thread. Create with :meth:`open`."""

    #: Which SQL this backend speaks.
    dialect: Final[Dialect] = "sqlite"

    def __init__(self, path: str) -> None:
        self._path = path
        # One worker: the connection lives on that thread and every call is serialised.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger-sqlite")
        self._conn: sqlite3.Connection | None = None
        self._closed = False
        self._ops = base.performers(self)

    @classmethod
    async def open(cls, url: str) -> SqliteBackend:
        """Open (creating the file and its parent folders) the database at ``url``."""
        path = path_from_url(url)
        backend = cls(path)
        try:
            await asyncio.get_running_loop().run_in_executor(backend._executor, backend._connect)
        except (sqlite3.OperationalError, OSError) as exc:
            # OSError: its folder or file could not be created (permissions, read-only disk).
            backend._executor.shutdown(wait=False)
            raise LedgerUnavailable(f"cannot open SQLite ledger {path}: {exc}") from exc
        except BaseException:
            backend._executor.shutdown(wait=False)
            raise
        return backend

    def _connect(self) -> None:
        on_disk = self._path != ":memory:"
        if on_disk:
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
            _create_private(self._path)
        # isolation_level=None: no implicit transactions; this module says BEGIN itself.
        conn = sqlite3.connect(self._path, isolation_level=None, timeout=_BUSY_TIMEOUT_S)
        try:
            conn.row_factory = sqlite3.Row
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if mode != "wal" and self._path != ":memory:":
                raise LedgerUnavailable(f"SQLite refused WAL mode for {self._path} ({mode})")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            if on_disk:
                _tighten_companions(self._path)
        except BaseException:
            conn.close()
            raise
        self._conn = conn

    async def _call(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn(conn)`` on the store's thread; map I/O failures."""
        if self._closed:
            raise LedgerUnavailable("the ledger store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._guarded, fn)
        except sqlite3.OperationalError as exc:
            # Locked past busy_timeout, disk full, I/O error: the transaction was rolled
            # back, so nothing was written.
            raise LedgerUnavailable(f"SQLite ledger unavailable: {exc}") from exc

    def _guarded(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._conn is None:
            raise LedgerUnavailable("the ledger store is closed")
        return fn(self._conn)

    async def run(self, script: Callable[[], base.Script[T]], access: base.Access) -> T:
        """Run the whole script on the writer thread, in one transaction (OPTIMISTIC too:
        the write lock makes it as cheap)."""
        begin = "BEGIN" if access is base.Access.READ else "BEGIN IMMEDIATE"

        def transaction(conn: sqlite3.Connection) -> T:
            conn.execute(begin)
            try:
                result = self._drive(conn, script())
                conn.execute("COMMIT")
            except BaseException:
                # SQLite may already have rolled back by itself (disk full, I/O error).
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        return await self._call(transaction)

    def _drive(self, conn: sqlite3.Connection, steps: base.Script[T]) -> T:
        try:
            op: base.Op[Any] = next(steps)
            while True:
                op = steps.send(self._ops[type(op)](conn, op))
        except StopIteration as done:
            result: T = done.value
            return result

    async def upgrade(self, now: datetime) -> list[str]:
        """Apply pending migrations; return the names applied now."""
        return await self._call(lambda conn: upgrade_sqlite(conn, now))

    async def listen(
        self, callback: Callable[[str], None], channel: str = RECEIPTS_CHANNEL
    ) -> Callable[[], Awaitable[None]] | None:
        """None: SQLite has no notifications; the gateway delivers directly and sweeps."""
        return None

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

    @staticmethod
    def _serialise_binds(conn: sqlite3.Connection, op: base.SerialiseBinds) -> None:
        """Nothing to do: BEGIN IMMEDIATE holds the write lock already."""

    # -- plain operations ----------------------------------------------------------------------
    @staticmethod
    def _execute(conn: sqlite3.Connection, op: base.Execute) -> int:
        return conn.execute(op.statement.sqlite, _args(op.args)).rowcount

    @staticmethod
    def _execute_many(conn: sqlite3.Connection, op: base.ExecuteMany) -> None:
        conn.executemany(op.statement.sqlite, [_args(r) for r in op.rows])

    @staticmethod
    def _fetch(conn: sqlite3.Connection, op: base.Fetch[Any]) -> list[Any]:
        found = conn.execute(op.statement.sqlite, _args(op.args)).fetchall()
        return [op.into(r, DECODER) for r in found]

    # -- the debit path ------------------------------------------------------------------------
    @staticmethod
    def _lock_accounts(conn: sqlite3.Connection, op: base.LockAccounts) -> dict[str, AccountState]:
        # BEGIN IMMEDIATE holds the write lock already: loading is locking.
        found = conn.execute(_LOCK, (_in_json(op.system_ids),))
        return {r["system_id"]: rows.account_state(r, DECODER) for r in found}

    @staticmethod
    def _look_up(
        conn: sqlite3.Connection, op: base.LookUp
    ) -> tuple[dict[str, StoredEntry], dict[str, StoredMessage]]:
        entries: dict[str, StoredEntry] = {}
        if op.keys:
            for r in conn.execute(_ENTRIES, (_in_json(list(op.keys)),)):
                entries[r["idempotency_key"]] = rows.stored_entry(r, DECODER)
        messages: dict[str, StoredMessage] = {}
        if op.message_ids:
            for r in conn.execute(_MESSAGES, (_in_json(list(op.message_ids)),)):
                messages[r["message_id"]] = rows.stored_message(r, DECODER)
        return entries, messages

    @classmethod
    def _lock_and_look_up(
        cls, conn: sqlite3.Connection, op: base.LockAndLookUp
    ) -> tuple[dict[str, AccountState], dict[str, StoredEntry], dict[str, StoredMessage]]:
        # In-process, two statements cost no round trip.
        accounts = cls._lock_accounts(conn, base.LockAccounts(op.system_ids))
        entries, messages = cls._look_up(conn, base.LookUp(op.keys, op.message_ids))
        return accounts, entries, messages

    @staticmethod
    def _write_plan(conn: sqlite3.Connection, op: base.WritePlan) -> list[int]:
        plan, stamp = op.plan, _ts(op.now)
        conn.executemany(_SAVE_ACCOUNT, [_state_row(a) for a in plan.accounts.values()])
        entry_ids: list[int] = []
        if plan.entries:
            # One executemany, not a statement per entry. The ids are consecutive: the
            # journal's id is AUTOINCREMENT and this transaction holds the write lock
            # (BEGIN IMMEDIATE), so its inserts take last+1, last+2, ... in order.
            conn.executemany(_INSERT_ENTRY, [(*rows.entry_row(e), stamp) for e in plan.entries])
            last = conn.execute("SELECT last_insert_rowid()").fetchone()[0]
            entry_ids = list(range(last - len(plan.entries) + 1, last + 1))
        conn.executemany(
            _INSERT_MESSAGE, [(*rows.message_row(m), stamp, stamp) for m in plan.messages]
        )
        if plan.message_states:
            conn.executemany(
                _SET_STATE, [(s.value, stamp, mid) for mid, s in plan.message_states.items()]
            )
        conn.executemany(_MOVE_HOUSE, plan.house_deltas())
        return entry_ids

    # -- the outbox ----------------------------------------------------------------------------
    @staticmethod
    def _adopt(conn: sqlite3.Connection, op: base.Adopt) -> list[MessageRecord]:
        # The write lock makes picking and taking atomic against every other adopter.
        stamp = _ts(op.now)
        picked = [
            r[0] for r in conn.execute(_ADOPT_PICK, (op.gateway_id, _ts(op.cutoff), op.limit))
        ]
        if not picked:
            return []
        ids = _in_json(picked)
        conn.execute(_ADOPT_TAKE, (op.gateway_id, stamp, ids, op.gateway_id))
        taken = [rows.message(r, DECODER) for r in conn.execute(_ADOPTED, (ids,))]
        return sorted(taken, key=adoption_order)

    @staticmethod
    def _claim(conn: sqlite3.Connection, op: base.Claim) -> list[PendingReceipt]:
        picked = [r[0] for r in conn.execute(_CLAIM_PICK, (op.system_id, _ts(op.now), op.limit))]
        if not picked:
            return []
        found = conn.execute(_CLAIM_TAKE, (op.gateway_id, _ts(op.until), _in_json(picked)))
        return sorted((rows.receipt(r, DECODER) for r in found), key=lambda r: r.id)

    @staticmethod
    def _store_receipts(conn: sqlite3.Connection, op: base.StoreReceipts) -> list[int]:
        stamp, until = _ts(op.now), _ts(op.until)
        conn.executemany(
            _SET_STATE, [(MessageState(s).value, stamp, mid) for mid, s in op.states.items()]
        )
        ids: list[int] = []
        for item in op.items:
            cur = conn.execute(
                _INSERT_RECEIPT,
                (
                    item.system_id,
                    item.message_id,
                    bytes(item.pdu_body),
                    stamp,
                    item.claimed_by,
                    until if item.claimed_by is not None else None,
                ),
            )
            assert cur.lastrowid is not None
            ids.append(cur.lastrowid)
        return ids
