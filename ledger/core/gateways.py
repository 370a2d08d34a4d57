"""Gateway processes and the bind quota, over a backend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends.base import Access, Execute, Fetch, Script, SerialiseBinds, do
from ledger.core.base import CoreBase
from ledger.errors import BindHeldElsewhere, GatewayNotRegistered, UnknownAccount
from ledger.models import BindRecord
from ledger.rules.binds import (
    BindClaim,
    BindOp,
    BindOutcome,
    BindRelease,
    already_bound,
    has_room,
)
from ledger.rules.validation import require_gateway_id


def _acquire(
    system_id: str,
    gateway_id: str,
    session_id: str,
    kind: str,
    max_binds: int,
    now: datetime,
    cutoff: datetime,
    peer: str,
) -> Script[bool]:
    # Serialised per account: the sweep, the count and the insert are one critical
    # section across every gateway, and each statement sees what the previous holder
    # committed.
    yield from do(SerialiseBinds(system_id))
    return (
        yield from _claim(system_id, gateway_id, session_id, kind, max_binds, now, cutoff, peer)
    )


def _claim(
    system_id: str,
    gateway_id: str,
    session_id: str,
    kind: str,
    max_binds: int,
    now: datetime,
    cutoff: datetime,
    peer: str,
) -> Script[bool]:
    # The caller holds SerialiseBinds(system_id).
    [state] = yield from do(
        Fetch(sql.BIND_STATE, (system_id, gateway_id, session_id), rows.bind_state)
    )
    if already_bound(state, system_id, gateway_id, session_id):
        return True
    yield from do(Execute(sql.SWEEP_BINDS, (system_id, cutoff)))
    [live] = yield from do(Fetch(sql.COUNT_BINDS, (system_id,), rows.first))
    if not has_room(live, max_binds):
        return False
    yield from do(Execute(sql.INSERT_BIND, (system_id, gateway_id, session_id, kind, now, peer)))
    return True


def _batch(ops: Sequence[BindOp], now: datetime) -> Script[list[BindOutcome]]:
    # Every account lock first, in one order: two gateways' batches sharing accounts then
    # queue for the first of them instead of each holding one the other waits for.
    for system_id in sorted({op.system_id for op in ops if isinstance(op, BindClaim)}):
        yield from do(SerialiseBinds(system_id))
    # Each account is swept and counted once per batch, then counted here as the batch
    # inserts and releases: the sweep scans every bind of the account, so doing it per
    # claim made a storm of N binds of one account O(N^2) (measured: 5,000 re-binds spent
    # ~60% of the gateway's samples in it, 2.3 ms a claim at 2,500 binds held).
    live: dict[str, int] = {}
    outcomes: list[BindOutcome] = []
    for op in ops:
        if isinstance(op, BindRelease):
            released = yield from do(
                Fetch(sql.RELEASE_BIND_RETURNING, (op.gateway_id, op.session_id), rows.first)
            )
            if released and released[0] in live:
                live[released[0]] -= 1
            outcomes.append(True)
            continue
        cutoff = now - timedelta(seconds=op.stale_after)
        try:
            outcomes.append((yield from _claim_counted(op, now, cutoff, live)))
        except (UnknownAccount, GatewayNotRegistered, BindHeldElsewhere) as e:
            # Raised by the rule before this claim wrote anything: its caller gets the
            # error acquire_bind would raise, the others' answers still commit.
            outcomes.append(e)
    return outcomes


def _claim_counted(
    op: BindClaim, now: datetime, cutoff: datetime, live: dict[str, int]
) -> Script[bool]:
    """``_claim`` inside a batch: the same answers, the sweep and count done once per
    account, with the first claim's cutoff (every claim of a gateway has the same
    ``stale_after``); ``live`` holds the count as the batch has changed it so far."""
    [state] = yield from do(
        Fetch(sql.BIND_STATE, (op.system_id, op.gateway_id, op.session_id), rows.bind_state)
    )
    if already_bound(state, op.system_id, op.gateway_id, op.session_id):
        return True
    if op.system_id not in live:
        yield from do(Execute(sql.SWEEP_BINDS, (op.system_id, cutoff)))
        [live[op.system_id]] = yield from do(Fetch(sql.COUNT_BINDS, (op.system_id,), rows.first))
    if not has_room(live[op.system_id], op.max_binds):
        return False
    yield from do(
        Execute(
            sql.INSERT_BIND,
            (op.system_id, op.gateway_id, op.session_id, op.kind, now, op.peer),
        )
    )
    live[op.system_id] += 1
    return True


def _unregister(gateway_id: str) -> Script[None]:
    yield from do(Execute(sql.DELETE_GATEWAY_BINDS, (gateway_id,)))
    yield from do(Execute(sql.DELETE_GATEWAY, (gateway_id,)))


class GatewaysCore(CoreBase):
    """``GatewayStore`` over a backend."""

    async def register_gateway(self, gateway_id: str, *, address: str) -> None:
        """Record a gateway process as alive (upsert; started_at = heartbeat_at = now)."""
        require_gateway_id(gateway_id, "registering a gateway")
        await self._statement(Execute(sql.REGISTER_GATEWAY, (gateway_id, address, self._now())))

    async def heartbeat(self, gateway_id: str) -> None:
        """The gateway is still alive (heartbeat_at = now). Unknown gateways: no-op."""
        await self._statement(Execute(sql.HEARTBEAT, (gateway_id, self._now())))

    async def unregister_gateway(self, gateway_id: str) -> None:
        """Clean shutdown: delete the gateway's binds and its row. Idempotent."""
        await self._run(partial(_unregister, gateway_id), Access.TRANSACTION)

    async def acquire_bind(
        self,
        system_id: str,
        *,
        gateway_id: str,
        session_id: str,
        kind: str,
        max_binds: int,
        stale_after: float = 30.0,
        peer: str = "",
    ) -> bool:
        """Take one of the account's ``max_binds`` bind slots for a session; False if full.

        See ``Store.acquire_bind``: one transaction serialised per account.
        """
        now = self._now()
        cutoff = now - timedelta(seconds=stale_after)
        script = partial(
            _acquire, system_id, gateway_id, session_id, kind, max_binds, now, cutoff, peer
        )
        return await self._run(script, Access.TRANSACTION)

    async def release_bind(self, gateway_id: str, session_id: str) -> None:
        """The session unbound or dropped: free its slot. Idempotent."""
        await self._statement(Execute(sql.RELEASE_BIND, (gateway_id, session_id)))

    async def bind_batch(self, ops: Sequence[BindOp]) -> list[BindOutcome]:
        """Claims and releases in one transaction; one outcome per op, in order.

        See ``Store.bind_batch``.
        """
        if not ops:
            return []
        return await self._run(partial(_batch, list(ops), self._now()), Access.TRANSACTION)

    async def bind_count(self, system_id: str, *, stale_after: float = 30.0) -> int:
        """Binds of the account held by live gateways (heartbeat within ``stale_after``)."""
        cutoff = self._now() - timedelta(seconds=stale_after)
        [count] = await self._read(Fetch(sql.LIVE_BINDS, (system_id, cutoff), rows.first))
        return int(count)

    async def account_binds(self, system_id: str, *, stale_after: float = 30.0) -> list[BindRecord]:
        """The binds ``bind_count`` counts, oldest first: peer, gateway, kind, since when."""
        cutoff = self._now() - timedelta(seconds=stale_after)
        return await self._read(Fetch(sql.LIVE_BIND_ROWS, (system_id, cutoff), rows.bind_record))
