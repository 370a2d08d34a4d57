"""The bind policy: who may bind (``auth.Authenticator``) and how many sessions at once.

The quota (``Account.max_binds``) holds across every gateway sharing the ledger: each
accepted bind takes a row in the ledger's bind table, given back when the session ends
(or when this gateway's heartbeat stops, if it dies). SMPP 3.4 has no "too many binds"
status; like the providers our clients come from, a bind over the quota is answered
ESME_RALYBND.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from gateway.policy.auth import Authenticator, BindDecision
from gateway.smpp import CommandStatus
from ledger import LedgerError, Store

BindKind = Literal["tx", "rx", "trx"]


class BindPolicy:
    """Decides binds for one gateway: credentials first, then the account's quota."""

    def __init__(self, store: Store, *, gateway_id: str) -> None:
        self.store = store
        self.gateway_id = gateway_id
        self.authenticator = Authenticator(store)

    async def admit(
        self, system_id: str, password: str, peer_ip: str, *, kind: BindKind, session_id: str
    ) -> BindDecision:
        """Authenticate, then take a bind slot for ``session_id``; never raises.

        On ESME_ROK the slot is held until ``release(session_id)``.
        """
        decision = await self.authenticator.authenticate(system_id, password, peer_ip)
        account = decision.account
        if decision.status != CommandStatus.ESME_ROK or account is None:
            return decision
        try:
            acquired = await self.store.acquire_bind(
                account.system_id,
                gateway_id=self.gateway_id,
                session_id=session_id,
                kind=kind,
                max_binds=account.max_binds,
                peer=peer_ip,
            )
        except (LedgerError, ValueError):
            # ValueError: this gateway is not registered (a bind racing shutdown).
            return replace(decision, status=CommandStatus.ESME_RBINDFAIL, reason="ledger_down")
        if not acquired:
            return replace(decision, status=CommandStatus.ESME_RALYBND, reason="max_binds_reached")
        return decision

    async def release(self, session_id: str) -> None:
        """Give back the slot ``session_id`` held; raises LedgerError if the ledger is down."""
        await self.store.release_bind(self.gateway_id, session_id)

    def close(self) -> None:
        """Release the password-hashing threads."""
        self.authenticator.close()
