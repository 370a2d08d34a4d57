"""The bind policy: who may bind (``auth.Authenticator``) and how many sessions at once.

The quota (``Account.max_binds``) holds across every gateway sharing the ledger: each
accepted bind takes a row in the ledger's bind table, given back when the session ends
(or when this gateway's heartbeat stops, if it dies). SMPP 3.4 has no "too many binds"
status; like the providers our clients come from, a bind over the quota is answered
ESME_RALYBND. The claims and releases of concurrent sessions are group-committed
(``ledger.bind_batcher``): a reconnect storm pays one commit per batch, not per bind.

Failed binds are counted twice (``gateway.policy.throttle``): per client address, and
per system_id of an existing account over every address. A blocked address gets
ESME_RBINDTHROTTLED whatever it binds as; a blocked system_id gets it from every address
except those that bound it successfully within ``known_address_s`` (``KnownAddresses``),
so a guesser spread over many addresses cannot lock the customer out of its own.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from typing import Literal

import structlog

from gateway.policy.auth import Authenticator, BindDecision
from gateway.policy.throttle import BindThrottle, KnownAddresses, ThrottleSettings
from gateway.smpp import CommandStatus
from ledger import LedgerError, Store
from ledger.bind_batcher import BindBatcher
from ledger.rules.binds import BindClaim

BindKind = Literal["tx", "rx", "trx"]
#: What counts as a failed bind for throttling: the credentials or the address were
#: wrong. The ledger being down or the quota being full are not the client's guesses.
_FAILURES = frozenset(
    {CommandStatus.ESME_RINVSYSID, CommandStatus.ESME_RINVPASWD, CommandStatus.ESME_RBINDFAIL}
)
_NOT_GUESSES = frozenset({"ledger_unavailable"})


class BindPolicy:
    """Decides binds for one gateway: credentials first, then the account's quota."""

    def __init__(
        self,
        store: Store,
        *,
        gateway_id: str,
        throttle: ThrottleSettings | None = None,
        system_id_throttle: ThrottleSettings | None = None,
        known_address_s: float = 86_400.0,
        hashes_per_address: int = 4,
        clock: Callable[[], float] = time.monotonic,
        uniform_refusals: bool = False,
        refused: Callable[[str, int], None] | None = None,
    ) -> None:
        self.store = store
        self.gateway_id = gateway_id
        self.authenticator = Authenticator(
            store, uniform=uniform_refusals, hashes_per_address=hashes_per_address
        )
        self.throttle = BindThrottle(throttle)
        #: Failures per system_id (existing accounts only: an unknown one costs nothing
        #: and must not flush the table), 20 in 60 s by default.
        self.system_id_throttle = BindThrottle(
            system_id_throttle or ThrottleSettings(max_failures=20)
        )
        self.known = KnownAddresses(known_address_s)
        #: Told (reason, status) of every refusal: the gateway counts them as a metric.
        self._refused = refused
        self.batcher = BindBatcher(store)
        self._clock = clock
        self._log = structlog.get_logger("smppgw.binds")

    async def admit(
        self,
        system_id: str,
        password: str,
        peer_ip: str,
        *,
        kind: BindKind,
        session_id: str,
        client_cert: str | None = None,
    ) -> BindDecision:
        """Authenticate, then take a bind slot for ``session_id``; never raises.

        A throttled address (or system_id, from an address that did not bind it lately)
        is refused (ESME_RBINDTHROTTLED, ``close``) before the ledger is read or a
        password hashed. On ESME_ROK the slot is held until ``release(session_id)``.
        ``client_cert`` is the SHA-256 of the connection's TLS client certificate, if it
        showed one.
        """
        decision = await self._admit(
            system_id, password, peer_ip, kind=kind, session_id=session_id, client_cert=client_cert
        )
        if decision.status != CommandStatus.ESME_ROK and self._refused is not None:
            self._refused(decision.reason, decision.status)
        return decision

    async def _admit(
        self,
        system_id: str,
        password: str,
        peer_ip: str,
        *,
        kind: BindKind,
        session_id: str,
        client_cert: str | None = None,
    ) -> BindDecision:
        now = self._clock()
        if self.throttle.blocked_for(peer_ip, now) > 0:
            return BindDecision(CommandStatus.ESME_RBINDTHROTTLED, "throttled", close=True)
        if self.system_id_throttle.blocked_for(system_id, now) > 0 and not self.known.known(
            system_id, peer_ip, now
        ):
            return BindDecision(
                CommandStatus.ESME_RBINDTHROTTLED, "system_id_throttled", close=True
            )
        decision = await self.authenticator.authenticate(system_id, password, peer_ip, client_cert)
        account = decision.account
        if decision.status != CommandStatus.ESME_ROK or account is None:
            return self._failed(decision, peer_ip)
        self.known.bound(account.system_id, peer_ip, self._clock())
        try:
            acquired = await self.batcher.acquire(
                BindClaim(
                    account.system_id,
                    self.gateway_id,
                    session_id,
                    kind,
                    account.max_binds,
                    peer=peer_ip,
                )
            )
        except (LedgerError, ValueError):
            # ValueError: this gateway is not registered (a bind racing shutdown).
            return replace(decision, status=CommandStatus.ESME_RBINDFAIL, reason="ledger_down")
        if not acquired:
            return replace(decision, status=CommandStatus.ESME_RALYBND, reason="max_binds_reached")
        return decision

    def _failed(self, decision: BindDecision, peer_ip: str) -> BindDecision:
        """Count a failed bind; the one that reaches the address's limit closes the
        connection, the one that reaches the system_id's blocks it for the others."""
        if decision.status not in _FAILURES or decision.reason in _NOT_GUESSES:
            return decision
        now = self._clock()
        account = decision.account
        if account is not None and self.system_id_throttle.failed(account.system_id, now):
            s = self.system_id_throttle.settings
            self._log.warning(
                "bind.throttled",
                reason="system_id",
                system_id=account.system_id,
                peer_ip=peer_ip,
                failures=s.max_failures,
                window_s=s.window_s,
                backoff_s=s.backoff_s,
            )
        if not self.throttle.failed(peer_ip, now):
            return decision
        s = self.throttle.settings
        self._log.warning(
            "bind.throttled",
            reason="address",
            peer_ip=peer_ip,
            failures=s.max_failures,
            window_s=s.window_s,
            backoff_s=s.backoff_s,
        )
        return replace(decision, close=True)

    async def release(self, session_id: str) -> None:
        """Give back the slot ``session_id`` held; raises LedgerError if the ledger is down."""
        await self.batcher.release(self.gateway_id, session_id)

    def close(self) -> None:
        """Release the password-hashing threads."""
        self.authenticator.close()
