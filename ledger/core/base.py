"""What every part of the core shares: the backend, the clock, running a script."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from ledger.backends.base import Access, Backend, Op, Script, do
from ledger.rules.limits import LedgerLimits
from ledger.store import Clock, utc_now

T = TypeVar("T")


class CoreBase:
    """Holds the backend, the injected clock and the amount limits; runs scripts."""

    def __init__(
        self, backend: Backend, *, clock: Clock = utc_now, limits: LedgerLimits | None = None
    ) -> None:
        self._db = backend
        self._clock = clock
        self._limits = limits if limits is not None else LedgerLimits()

    @property
    def limits(self) -> LedgerLimits:
        """The amount limits this ledger enforces."""
        return self._limits

    @property
    def backend(self) -> Backend:
        """The database this ledger runs on (tests and diagnostics look at it)."""
        return self._db

    def _now(self) -> datetime:
        """The injected clock's time, aware (a naive clock is taken as UTC)."""
        now = self._clock()
        return now if now.tzinfo is not None else now.replace(tzinfo=UTC)

    async def _run(self, script: Callable[[], Script[T]], access: Access) -> T:
        return await self._db.run(script, access)

    async def _read(self, op: Op[T]) -> T:
        """One reading operation."""
        return await self._db.run(lambda: do(op), Access.READ)

    async def _statement(self, op: Op[T]) -> T:
        """One writing statement, its own transaction."""
        return await self._db.run(lambda: do(op), Access.STATEMENT)

    async def close(self) -> None:
        """Release connections and threads. Later calls raise LedgerUnavailable."""
        await self._db.close()

    async def upgrade(self) -> list[str]:
        """Apply pending schema migrations; return the names of those applied now."""
        return await self._db.upgrade(self._now())
