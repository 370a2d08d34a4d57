"""Bind authentication: who may bind, from where, with which password.

Order of checks, and the status each refusal gets (the operator's documented behaviour):
unknown system_id -> ESME_RINVSYSID, without hashing anything (the status already says
the account does not exist, so a dummy hash would hide nothing and only hand an attacker
a lever on the hashing threads); source address not on the account's allowlist ->
ESME_RBINDFAIL whatever the password (the password is not even checked, so an attacker
off the list learns nothing about it); disabled account -> ESME_RBINDFAIL; wrong password
-> ESME_RINVPASWD. scrypt runs in worker threads so a bind never stalls other sessions.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gateway.smpp import CommandStatus
from ledger import LedgerError, Store, UnknownAccount
from ledger.models import Account, AccountStatus
from ledger.passwords import verify_password


@dataclass(frozen=True, slots=True)
class BindDecision:
    """The outcome of a bind attempt; ``reason`` is logged, never sent."""

    status: CommandStatus
    reason: str
    account: Account | None = None
    #: Close the connection once the answer is out (the client's address is throttled).
    close: bool = False


class Authenticator:
    """Checks bind credentials against the ledger's accounts.

    scrypt runs on a small pool of its own: a burst of binds (or a brute-force attempt)
    queues there instead of occupying the loop's default executor, and at most
    ``hash_workers`` hashes (16 MiB each) run at once.
    """

    def __init__(self, store: Store, *, hash_workers: int = 2) -> None:
        self.store = store
        self._pool = ThreadPoolExecutor(hash_workers, thread_name_prefix="smppgw-scrypt")

    async def _verify(self, password: str, stored: str) -> bool:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, verify_password, password, stored)

    def close(self) -> None:
        """Release the hashing threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def authenticate(self, system_id: str, password: str, peer_ip: str) -> BindDecision:
        """Decide a bind; never raises for bad input."""
        S = CommandStatus
        try:
            account = await self.store.get_account(system_id)
        except UnknownAccount:
            return BindDecision(S.ESME_RINVSYSID, "unknown_system_id")
        except LedgerError:
            return BindDecision(S.ESME_RBINDFAIL, "ledger_unavailable")
        if not account.allows_address(peer_ip):
            return BindDecision(S.ESME_RBINDFAIL, "ip_not_allowed", account)
        if account.status is not AccountStatus.ACTIVE:
            return BindDecision(S.ESME_RBINDFAIL, f"account_{account.status.value}", account)
        if not await self._verify(password, account.password_hash):
            return BindDecision(S.ESME_RINVPASWD, "bad_password", account)
        return BindDecision(S.ESME_ROK, "ok", account)
