"""The bind quota: how many sessions of one account may be bound, over every gateway.

``acquire_bind`` loads a :class:`BindState` under a per-account lock, asks
:func:`already_bound`, sweeps the binds of dead gateways, counts the rest and asks
:func:`has_room`. A gateway is dead when it is not registered or its heartbeat is older
than the caller's ``stale_after``; its binds stop counting at that instant.
"""

from __future__ import annotations

from dataclasses import dataclass

from ledger.errors import BindHeldElsewhere, GatewayNotRegistered, UnknownAccount


@dataclass(frozen=True, slots=True)
class BindState:
    """What ``acquire_bind`` reads before counting: the account, the gateway, the session."""

    account_exists: bool
    gateway_registered: bool
    #: The account of the bind this (gateway, session) already holds, if any.
    held: str | None


def already_bound(state: BindState, system_id: str, gateway_id: str, session_id: str) -> bool:
    """True when the session holds its slot already; raise when it may not bind at all."""
    if not state.account_exists:
        raise UnknownAccount(system_id)
    if not state.gateway_registered:
        raise GatewayNotRegistered(gateway_id)
    if state.held is None:
        return False
    if state.held != system_id:
        raise BindHeldElsewhere(
            f"session {session_id!r} of {gateway_id!r} holds a bind of {state.held}"
        )
    return True


def has_room(live_binds: int, max_binds: int) -> bool:
    """True when one more session fits under ``max_binds``."""
    return live_binds < max_binds


@dataclass(frozen=True, slots=True)
class BindClaim:
    """One ``acquire_bind`` of a ``bind_batch``: the same arguments, the same answer."""

    system_id: str
    gateway_id: str
    session_id: str
    kind: str
    max_binds: int
    stale_after: float = 30.0
    peer: str = ""


@dataclass(frozen=True, slots=True)
class BindRelease:
    """One ``release_bind`` of a ``bind_batch``."""

    gateway_id: str
    session_id: str


#: An operation of ``bind_batch``.
BindOp = BindClaim | BindRelease
#: Its outcome: a claim's True/False (a release's True), or the error ``acquire_bind``
#: would have raised for that claim alone (the rest of the batch still commits).
BindOutcome = bool | UnknownAccount | GatewayNotRegistered | BindHeldElsewhere
