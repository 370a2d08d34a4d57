"""PostgreSQL notifications: one LISTEN connection per listener, kept alive.

``add_receipts`` sends ``NOTIFY smppgw_receipts, '<system_id>'`` for unclaimed receipts in
its transaction, ``store_mo`` ``NOTIFY smppgw_mo, '<system_id>'`` for unclaimed messages
from handsets; a listener of the channel calls back with the system_id. Notifications
are a hint, not a queue: those sent while a listener reconnects are lost, so gateways
also sweep.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import asyncpg

from ledger.errors import LedgerUnavailable
from ledger.store import RECEIPTS_CHANNEL

_CONNECT_TIMEOUT_S = 10.0
_COMMAND_TIMEOUT_S = 60.0
#: Wait between reconnect attempts (doubling up to the maximum), and how often an idle
#: listening connection is probed (a silently dead TCP connection never reports itself,
#: and would lose every notification after it).
_LISTEN_BACKOFF_S = (0.1, 5.0)
_LISTEN_PROBE_S = 15.0

#: Errors that mean "the database cannot be used now", not "this request is wrong".
UNAVAILABLE: tuple[type[BaseException], ...] = (
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


class ReceiptListener:
    """One LISTEN connection on ``channel`` (receipts by default) kept alive until
    ``stop()``."""

    def __init__(
        self,
        dsn: str,
        callback: Callable[[str], None],
        on_stop: Callable[[ReceiptListener], None],
        channel: str = RECEIPTS_CHANNEL,
    ) -> None:
        self._dsn = dsn
        self._channel = channel
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
            await conn.add_listener(self._channel, self._notified)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def start(self) -> None:
        """Connect and LISTEN (so notifications committed after this returns arrive)."""
        try:
            self._conn = await self._connect()
        except UNAVAILABLE as exc:
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
            except (*UNAVAILABLE, asyncpg.PostgresError):
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
            except (*UNAVAILABLE, asyncpg.PostgresError):
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
            with contextlib.suppress(*UNAVAILABLE, asyncpg.PostgresError):
                await asyncio.wait_for(conn.close(), timeout=_CONNECT_TIMEOUT_S)
            if not conn.is_closed():
                conn.terminate()
