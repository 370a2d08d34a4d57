"""Bind authentication: who may bind, from where, with which password.

Order of checks, and the status each refusal gets (the operator's documented behaviour):
unknown system_id -> ESME_RINVSYSID; source address not on the account's allowlist ->
ESME_RBINDFAIL whatever the password (the password is not even checked, so an attacker
off the list learns nothing about it); disabled account -> ESME_RBINDFAIL; wrong password
-> ESME_RINVPASWD. scrypt runs in a worker thread so a bind never stalls other sessions.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from gateway.pdu import CommandStatus
from ledger import LedgerError, Store, UnknownAccount
from ledger.models import Account, AccountStatus
from ledger.passwords import hash_password, verify_password

# Compared against when the system_id is unknown, so that "no such account" and "wrong
# password" cost the same time and cannot be told apart by a stopwatch.
_DUMMY_HASH = hash_password("-dummy-")


@dataclass(frozen=True, slots=True)
class BindDecision:
    """The outcome of a bind attempt; ``reason`` is logged, never sent."""

    status: CommandStatus
    reason: str
    account: Account | None = None


class Authenticator:
    """Checks bind credentials against the ledger's accounts."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def authenticate(self, system_id: str, password: str, peer_ip: str) -> BindDecision:
        """Decide a bind; never raises for bad input."""
        S = CommandStatus
        try:
            account = await self.store.get_account(system_id)
        except UnknownAccount:
            await asyncio.to_thread(verify_password, password, _DUMMY_HASH)
            return BindDecision(S.ESME_RINVSYSID, "unknown_system_id")
        except LedgerError:
            return BindDecision(S.ESME_RBINDFAIL, "ledger_unavailable")
        if not account.allows_address(peer_ip):
            return BindDecision(S.ESME_RBINDFAIL, "ip_not_allowed", account)
        if account.status is not AccountStatus.ACTIVE:
            return BindDecision(S.ESME_RBINDFAIL, "account_disabled", account)
        if not await asyncio.to_thread(verify_password, password, account.password_hash):
            return BindDecision(S.ESME_RINVPASWD, "bad_password", account)
        return BindDecision(S.ESME_ROK, "ok", account)
