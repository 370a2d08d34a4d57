"""Group commit of the bind table: the claims and releases of concurrent binds together.

A reconnect storm is thousands of binds (and, before them, as many dropped sessions) at
once; each ``acquire_bind`` and ``release_bind`` on its own is a write transaction and a
durable commit. ``BindBatcher`` queues them on a :class:`ledger.batcher.GroupCommit` and
commits whatever arrived meanwhile with one ``Store.bind_batch``: the same answer per
bind (each claim decided under its account's lock, in arrival order), one fsync per
batch. There is no timer; a lone bind on an idle gateway commits at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from ledger.batcher import GroupCommit
from ledger.rules.binds import BindClaim, BindOp, BindOutcome, BindRelease


class BindBatchStore(Protocol):
    """What ``BindBatcher`` needs of a store."""

    async def bind_batch(self, ops: Sequence[BindOp]) -> list[BindOutcome]:
        """Claims and releases in one transaction (``Store.bind_batch``)."""
        ...


class BindBatcher(GroupCommit[BindOp, BindOutcome]):
    """Queue bind claims and releases and commit them in batches via ``store.bind_batch``."""

    def __init__(
        self,
        store: BindBatchStore,
        max_batch: int = 256,
        *,
        observe: Callable[[int, float], None] | None = None,
    ) -> None:
        super().__init__(
            store.bind_batch, max_batch=max_batch, name="ledger-bind-batcher", observe=observe
        )

    async def acquire(self, claim: BindClaim) -> bool:
        """``acquire_bind`` with whatever else is pending: True if the slot is taken.

        Raises what ``acquire_bind`` raises for this claim (UnknownAccount,
        GatewayNotRegistered, BindHeldElsewhere), LedgerUnavailable if the batch failed.
        """
        outcome = await self.submit(claim)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    async def release(self, gateway_id: str, session_id: str) -> None:
        """``release_bind`` with whatever else is pending; LedgerUnavailable if it failed."""
        await self.submit(BindRelease(gateway_id, session_id))
