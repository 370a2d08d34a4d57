"""Group commit for debits: many concurrent ``debit()`` calls, one transaction per batch.

Each submit_sm needs a durable debit before its response, and a durable commit costs an
fsync. Committing one debit per transaction caps throughput at the disk's fsync rate;
committing together whatever arrived meanwhile pays one fsync for many debits, and the
batch grows by itself with load. There is no timer: one flusher task takes everything
queued (up to ``max_batch``), calls ``Store.debit_batch``, hands each caller its own
result, and loops while more has arrived. An idle gateway therefore commits a lone debit
at once, and a busy one commits in larger batches, never waiting on a clock.

If the batch fails (``LedgerUnavailable`` ...), every caller in it gets that exception;
callers of later batches are unaffected.
"""

from __future__ import annotations

import asyncio
from collections import deque

from ledger.errors import LedgerUnavailable
from ledger.models import DebitRequest, DebitResult
from ledger.recharge import validate_request
from ledger.store import Store


class DebitBatcher:
    """Queue debits and commit them in batches through ``store.debit_batch``."""

    def __init__(self, store: Store, max_batch: int = 256) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self._store = store
        self._max_batch = max_batch
        self._queue: deque[tuple[DebitRequest, asyncio.Future[DebitResult]]] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._closed = False
        #: Batches committed (or attempted) so far; for metrics and tests.
        self.batches = 0
        #: Requests handed to the store so far.
        self.requests = 0

    async def debit(self, request: DebitRequest) -> DebitResult:
        """Debit one request with whatever else is pending; return its own result.

        Raises ValueError for a malformed request (alone, without failing the batch),
        LedgerUnavailable when the batch could not be committed or the batcher is closed.
        """
        if self._closed:
            raise LedgerUnavailable("the debit batcher is closed")
        validate_request(request)
        future: asyncio.Future[DebitResult] = asyncio.get_running_loop().create_future()
        self._queue.append((request, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="ledger-debit-batcher")
        # shield: a caller that gives up (client disconnected) must not cancel the batch
        # that carries other callers' debits; its own debit still commits or fails.
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._queue:
            n = min(len(self._queue), self._max_batch)
            batch = [self._queue.popleft() for _ in range(n)]
            self.batches += 1
            self.requests += n
            try:
                results = await self._store.debit_batch([req for req, _ in batch])
                if len(results) != len(batch):
                    raise RuntimeError(
                        f"store returned {len(results)} results for {len(batch)} debits"
                    )
            except Exception as exc:
                for _, fut in batch:
                    _fail(fut, exc)
                continue
            except BaseException as exc:
                # Cancelled (close() during shutdown): the outcome is unknown to us, so
                # tell the callers the ledger is unavailable rather than leave them hanging.
                for _, fut in batch:
                    _fail(fut, LedgerUnavailable(f"debit batch interrupted: {exc!r}"))
                raise
            for (_, fut), result in zip(batch, results, strict=True):
                if not fut.done():
                    fut.set_result(result)

    async def close(self) -> None:
        """Refuse new debits and wait for the queued ones to be committed."""
        self._closed = True
        if self._flusher is not None:
            await asyncio.shield(self._flusher)


def _fail(fut: asyncio.Future[DebitResult], exc: BaseException) -> None:
    if fut.done():
        return
    fut.set_exception(exc)
    # Mark it retrieved: a caller that was cancelled no longer awaits this future, and
    # asyncio would log "exception was never retrieved" for a failure already reported
    # to everyone still waiting.
    fut.exception()
