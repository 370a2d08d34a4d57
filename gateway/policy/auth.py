"""Bind authentication: who may bind, from where, with which password.

Order of checks, and the status each refusal gets (the operator's documented behaviour):
unknown system_id -> ESME_RINVSYSID, without hashing anything (the status already says
the account does not exist, so a dummy hash would hide nothing and only hand an attacker
a lever on the hashing threads); source address not on the account's allowlist ->
ESME_RBINDFAIL whatever the password (the password is not even checked, so an attacker
off the list learns nothing about it); disabled account -> ESME_RBINDFAIL; a TLS client
certificate other than the account's pinned one, or none -> ESME_RBINDFAIL, password
unchecked as well; wrong password -> ESME_RINVPASWD. scrypt runs in worker threads so a
bind never stalls other sessions, and one client address may have at most
``hashes_per_address`` checks waiting or running (``gateway.policy.hash_queue``), hashed
one at a time: one more is answered ESME_RBINDTHROTTLED at once, nothing hashed
(``hash_queue_full``).

A verified bind is remembered (``VerifiedBinds``): an HMAC-SHA256 of the password that
passed, under a random key of this process, kept while the account's stored hash is the
same. A client reconnecting with that password is checked in microseconds, so a restart
or a network blip does not queue every customer behind scrypt. The stored hash is never
weakened, the first check of a password is always scrypt, a wrong password is never
remembered, and a password change (a new stored hash) forgets the old one.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from gateway.policy.hash_queue import HashQueue
from gateway.policy.shared_reads import SharedReads
from gateway.smpp import CommandStatus
from ledger import LedgerError, Store, UnknownAccount
from ledger.models import Account, AccountStatus
from ledger.passwords import hash_password, verify_password


@dataclass(frozen=True, slots=True)
class BindDecision:
    """The outcome of a bind attempt; ``reason`` is logged, never sent."""

    status: CommandStatus
    reason: str
    account: Account | None = None
    #: Close the connection once the answer is out (the client's address is throttled).
    close: bool = False


class VerifiedBinds:
    """Passwords that passed scrypt, as HMACs under a per-process key, per account.

    One entry per system_id (the last password verified), at most ``max_entries``; the
    oldest goes first. Only as good as the process's memory is private: anyone who can
    read it gets the key too, and could test guesses at HMAC speed rather than scrypt's.
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._key = secrets.token_bytes(32)
        self._seen: dict[str, tuple[str, bytes]] = {}

    def _mac(self, system_id: str, password: str) -> bytes:
        message = f"{system_id}\0{password}".encode("utf-8", "surrogateescape")
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def fingerprint(self, system_id: str, password: str) -> bytes:
        """The HMAC of ``password`` for ``system_id`` under this process's key: what
        identifies a check without keeping the password."""
        return self._mac(system_id, password)

    def known(self, system_id: str, stored_hash: str, password: str) -> bool:
        """True when ``password`` passed scrypt for this account while its stored hash
        was ``stored_hash``."""
        entry = self._seen.get(system_id)
        if entry is None or entry[0] != stored_hash:
            return False
        return hmac.compare_digest(entry[1], self._mac(system_id, password))

    def remember(self, system_id: str, stored_hash: str, password: str) -> None:
        """``password`` just passed scrypt against ``stored_hash``."""
        self._seen.pop(system_id, None)
        while len(self._seen) >= self.max_entries:
            del self._seen[next(iter(self._seen))]
        self._seen[system_id] = (stored_hash, self._mac(system_id, password))

    def __len__(self) -> int:
        return len(self._seen)


#: A check beyond the address's share of the hashing queue: refused, nothing hashed,
#: not counted as a failure (no password was found wrong).
_QUEUE_FULL = BindDecision(CommandStatus.ESME_RBINDTHROTTLED, "hash_queue_full")


@functools.cache
def _dummy_hash() -> str:
    """A hash no password matches, checked so that a refusal costs what a wrong password
    does (made on first use: a gateway with uniform refusals off never pays for it)."""
    return hash_password(secrets.token_urlsafe(16))


class Authenticator:
    """Checks bind credentials against the ledger's accounts.

    scrypt runs on a small pool of its own: a burst of binds (or a brute-force attempt)
    queues there instead of occupying the loop's default executor, and at most
    ``hash_workers`` hashes (16 MiB each) run at once.
    """

    def __init__(
        self,
        store: Store,
        *,
        hash_workers: int = 2,
        uniform: bool = False,
        hashes_per_address: int = 4,
    ) -> None:
        self.store = store
        #: ``[server] uniform_bind_refusals``: every refused credential gets ESME_RBINDFAIL
        #: after one hash, so neither the status nor the time tells which check failed.
        self.uniform = uniform
        self._pool = ThreadPoolExecutor(hash_workers, thread_name_prefix="smppgw-scrypt")
        self.verified = VerifiedBinds()
        #: ``[server] bind_hashes_per_address``: checks one address may have queued.
        self.queue = HashQueue(hashes_per_address)
        #: Per address with checks under way: the lock its checks hash under in turn.
        self._turns: dict[str, asyncio.Lock] = {}
        #: Concurrent binds of one account share one read of it (a reconnect storm).
        self.accounts: SharedReads[Account] = SharedReads(store.get_account)
        #: Password checks under way, by (HMAC of system_id and password, stored hash).
        self._checks: dict[tuple[bytes, str], asyncio.Future[bool | None]] = {}

    async def _verify(self, password: str, stored: str, peer_ip: str) -> bool | None:
        """scrypt on the pool; None (nothing hashed) when ``peer_ip`` has its share of
        the queue already."""
        if not self.queue.enter(peer_ip):
            return None
        try:
            # One hash at a time per address: its other checks wait their turn here, so
            # one address never holds more than one of the hashing threads.
            turn = self._turns.setdefault(peer_ip, asyncio.Lock())
            async with turn:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._pool, verify_password, password, stored)
        finally:
            self.queue.leave(peer_ip)
            if not self.queue.in_flight(peer_ip):
                self._turns.pop(peer_ip, None)  # nobody of that address waits on it

    async def _check(self, account: Account, password: str, peer_ip: str) -> bool | None:
        """``_verify`` of ``password`` against the account's hash, shared by the binds
        checking the same password of the same account at the same time.

        The sessions of one customer reconnecting together to a gateway that has not seen
        them yet (a restart) pay one scrypt and one place in the hash queue, not one
        each; the others, which would have found their address's place taken, wait for
        its answer instead of being refused.
        """
        key = (self.verified.fingerprint(account.system_id, password), account.password_hash)
        check = self._checks.get(key)
        if check is None:
            check = asyncio.ensure_future(self._verify(password, account.password_hash, peer_ip))
            self._checks[key] = check
            check.add_done_callback(lambda _: self._checks.pop(key, None))
        # Shielded: one client leaving must not cancel the check the others wait for.
        return await asyncio.shield(check)

    async def _refuse(
        self,
        status: int,
        reason: str,
        password: str,
        peer_ip: str,
        account: Account | None = None,
    ) -> BindDecision:
        """A refusal before the password check: as it is, or (uniform) hashed like one.

        Uniform refusals cost the gateway a hash each; bind throttling and the hash queue
        bound how many an address can ask for.
        """
        if not self.uniform:
            return BindDecision(CommandStatus(status), reason, account)
        if await self._verify(password, _dummy_hash(), peer_ip) is None:
            return _QUEUE_FULL
        return BindDecision(CommandStatus.ESME_RBINDFAIL, reason, account)

    def close(self) -> None:
        """Release the hashing threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def authenticate(
        self, system_id: str, password: str, peer_ip: str, client_cert: str | None = None
    ) -> BindDecision:
        """Decide a bind; never raises for bad input.

        ``client_cert``: the SHA-256 of the TLS client certificate the connection showed
        (None: none, or plain TCP); an account with a pinned one refuses any other.
        """
        S = CommandStatus
        try:
            account = await self.accounts.read(system_id)
        except UnknownAccount:
            return await self._refuse(S.ESME_RINVSYSID, "unknown_system_id", password, peer_ip)
        except LedgerError:
            return BindDecision(S.ESME_RBINDFAIL, "ledger_unavailable")
        if not account.allows_address(peer_ip):
            return await self._refuse(
                S.ESME_RBINDFAIL, "ip_not_allowed", password, peer_ip, account
            )
        if account.status is not AccountStatus.ACTIVE:
            reason = f"account_{account.status.value}"
            return await self._refuse(S.ESME_RBINDFAIL, reason, password, peer_ip, account)
        cert_refusal = account.client_cert_refusal(client_cert)
        if cert_refusal is not None:
            # Like an address off the allowlist: the password is not even checked.
            return await self._refuse(S.ESME_RBINDFAIL, cert_refusal, password, peer_ip, account)
        if self.verified.known(account.system_id, account.password_hash, password):
            return BindDecision(S.ESME_ROK, "ok", account)
        matched = await self._check(account, password, peer_ip)
        if matched is None:
            return _QUEUE_FULL
        if not matched:
            status = S.ESME_RBINDFAIL if self.uniform else S.ESME_RINVPASWD
            return BindDecision(status, "bad_password", account)
        self.verified.remember(account.system_id, account.password_hash, password)
        return BindDecision(S.ESME_ROK, "ok", account)
