"""Live bound sessions of this process, by system_id (receipt targets).

Bind quotas are not counted here: they hold across gateways, in the ledger.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

from gateway.smpp import State
from gateway.transport.connection import SmppConnection


class BindRegistry:
    """Which connections are bound for which account, and how."""

    def __init__(self) -> None:
        self._binds: dict[str, set[SmppConnection]] = defaultdict(set)
        self._rr = itertools.count()

    def add(self, system_id: str, conn: SmppConnection) -> None:
        """Record a bound connection."""
        self._binds[system_id].add(conn)

    def remove(self, system_id: str, conn: SmppConnection) -> None:
        """Forget a connection (idempotent)."""
        conns = self._binds.get(system_id)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del self._binds[system_id]

    def receivers(self, system_id: str) -> list[SmppConnection]:
        """Bound RX/TRX connections able to take a deliver_sm now."""
        return [
            c
            for c in self._binds.get(system_id, ())
            if c.session.state in (State.BOUND_RX, State.BOUND_TRX)
        ]

    def pick_receiver(self, system_id: str) -> SmppConnection | None:
        """One receiver, round-robin, so receipts spread over an account's sessions.

        Those with room in their window come first: a receiver that stopped answering
        fills its window and stops being picked while the others can take receipts.
        """
        conns = self.receivers(system_id)
        if not conns:
            return None
        free = [c for c in conns if c.session.window_available > 0]
        pool = free or conns
        return pool[next(self._rr) % len(pool)]

    def sessions_by_state(self) -> dict[State, int]:
        """How many registered connections are in each session state (metrics)."""
        counts: dict[State, int] = {}
        for conns in self._binds.values():
            for c in conns:
                counts[c.session.state] = counts.get(c.session.state, 0) + 1
        return counts

    def bound_accounts(self) -> list[str]:
        """system_ids with at least one live bind."""
        return list(self._binds)
