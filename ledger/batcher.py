"""Group commit: many concurrent callers, one transaction per batch.

Each submit_sm needs a durable debit before its response, and a durable commit costs an
fsync. Committing one debit per transaction caps throughput at the disk's fsync rate;
committing together whatever arrived meanwhile pays one fsync for many debits, and the
batch grows by itself with load. There is no timer: one flusher task takes everything
queued (up to ``max_batch``), calls the store's batch operation, hands each caller its own
result, and loops while more has arrived. An idle gateway therefore commits a lone item
at once, and a busy one commits in larger batches, never waiting on a clock.

If a batch fails (``LedgerUnavailable`` ...), every caller in it gets that exception;
callers of later batches are unaffected. ``GroupCommit`` is the mechanism; the gateway
uses it for debits (``DebitBatcher``), receipts and acknowledgements alike.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from ledger.errors import LedgerUnavailable
from ledger.models import DebitRequest, DebitResult
from ledger.rules.validation import validate_request
from ledger.store import DebitStore

T = TypeVar("T")
R = TypeVar("R")


class GroupCommit(Generic[T, R]):
    """Queue items and hand them to ``commit`` in batches; one result per item."""

    def __init__(
        self,
        commit: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_batch: int = 256,
        name: str = "ledger-group-commit",
        observe: Callable[[int, float], None] | None = None,
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self._commit = commit
        self._max_batch = max_batch
        self._name = name
        #: Told each batch's size and commit time in seconds (the gateway's metrics).
        self._observe = observe
        self._queue: deque[tuple[T, asyncio.Future[R]]] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        #: Batches committed (or attempted) so far; for metrics and tests.
        self.batches = 0
        #: Items handed to the store so far.
        self.requests = 0

    async def submit(self, item: T) -> R:
        """Commit ``item`` with whatever else is pending; return its own result.

        Raises LedgerUnavailable when the batch could not be committed or the batcher is
        closed, or whatever the commit raised.
        """
        future = self.enqueue(item)
        # A caller that gives up (client disconnected) cancels only its own future: the
        # batch is the flusher task's, so its item still commits or fails with the
        # others, and the flusher skips a future already done. (No shield: it cost a
        # second future and two callbacks per item.)
        return await future

    def enqueue(self, item: T) -> asyncio.Future[R]:
        """Queue ``item`` for the next batch; the future of its own result (or of what
        ``submit`` would raise). For callers that wait with a callback, not a task.

        Raises LedgerUnavailable at once when the batcher is closed.
        """
        if self._closed:
            raise LedgerUnavailable(f"{self._name} is closed")
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name=self._name)
        return future

    async def _flush(self) -> None:
        while self._queue:
            n = min(len(self._queue), self._max_batch)
            batch = [self._queue.popleft() for _ in range(n)]
            self.batches += 1
            self.requests += n
            started = time.perf_counter()
            try:
                results = await self._commit([item for item, _ in batch])
                if self._observe is not None:
                    self._observe(n, time.perf_counter() - started)
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"store returned {len(results)} results for {len(batch)} items"
                    )
            except Exception as exc:
                for _, fut in batch:
                    _fail(fut, exc)
                continue
            except BaseException as exc:
                # Cancelled (close() during shutdown): the outcome is unknown to us, so
                # tell the callers the ledger is unavailable rather than leave them hanging.
                for _, fut in batch:
                    _fail(fut, LedgerUnavailable(f"batch interrupted: {exc!r}"))
                raise
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def close(self) -> None:
        """Refuse new items and wait for the queued ones to be committed."""
        self._closed = True
        if self._flusher is not None:
            await asyncio.shield(self._flusher)


class DebitBatcher(GroupCommit[DebitRequest, DebitResult]):
    """Queue debits and commit them in batches through ``store.debit_batch``."""

    def __init__(
        self,
        store: DebitStore,
        max_batch: int = 256,
        *,
        observe: Callable[[int, float], None] | None = None,
    ) -> None:
        super().__init__(
            store.debit_batch, max_batch=max_batch, name="ledger-debit-batcher", observe=observe
        )

    async def debit(self, request: DebitRequest) -> DebitResult:
        """Debit one request with whatever else is pending; return its own result.

        Raises InvalidRequest for a malformed request (alone, without failing the batch),
        LedgerUnavailable when the batch could not be committed or the batcher is closed.
        """
        validate_request(request)
        return await self.submit(request)

    def enqueue_debit(self, request: DebitRequest) -> asyncio.Future[DebitResult]:
        """``debit`` without a coroutine: the future of the request's result.

        Raises InvalidRequest for a malformed request and LedgerUnavailable for a closed
        batcher at once; the future holds what the batch raised, if it failed.
        """
        validate_request(request)
        return self.enqueue(request)


def _fail(fut: asyncio.Future[R], exc: BaseException) -> None:
    if fut.done():
        return
    fut.set_exception(exc)
    # Mark it retrieved: a caller that was cancelled no longer awaits this future, and
    # asyncio would log "exception was never retrieved" for a failure already reported
    # to everyone still waiting.
    fut.exception()
