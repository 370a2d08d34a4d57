"""Account actions: create, show, list, enable/disable, allowed IPs, password.

Actions that name an account take a ``scope`` (:mod:`gateway.admin.scope`): an account
outside it is refused as unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.admin import inputs
from gateway.admin.errors import action
from gateway.admin.scope import ADMIN, Scope, check_visible, visible_account
from ledger.models import MAX_PASSWORD_LEN, Account, AccountStatus, NewAccount, Sender
from ledger.passwords import generate_password, hash_password
from ledger.store import Store

#: How many simultaneous binds a new account gets unless told otherwise (the ledger's).
DEFAULT_MAX_BINDS = NewAccount(system_id="", password_hash="").max_binds


@dataclass(frozen=True, slots=True)
class CreatedAccount:
    """A new account, and its password when it was generated (shown once, never stored)."""

    account: Account
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class AccountDetails:
    """An account and how many sessions hold one of its binds now, over every gateway."""

    account: Account
    binds: int


@dataclass(frozen=True, slots=True)
class PasswordChange:
    """A password replaced; ``password`` is the new one when it was generated."""

    system_id: str
    password: str | None = field(default=None, repr=False)


async def new_password(given: str | None = None) -> tuple[str, str]:
    """The password (``given``, checked, or a generated one) and its hash."""
    plain = generate_password(MAX_PASSWORD_LEN) if given is None else inputs.password(given)
    # scrypt is deliberately slow (~30 ms): off the event loop, which may be serving binds.
    return plain, await asyncio.to_thread(hash_password, plain)


@action
async def create_account(
    store: Store,
    system_id: str,
    *,
    password: str | None = None,
    owner: str = "",
    contact_email: str = "",
    allowed_ips: Sequence[str] = (),
    senders: Sequence[Sender] = (),
    max_binds: int = DEFAULT_MAX_BINDS,
    throughput: int = 0,
) -> CreatedAccount:
    """Create an active account with a zero balance; generate its password if none given.

    Only the password's hash is stored. An empty ``allowed_ips`` refuses every bind.
    """
    plain, password_hash = await new_password(password)
    account = await store.create_account(
        NewAccount(
            system_id=system_id,
            password_hash=password_hash,
            owner=owner,
            contact_email=contact_email,
            allowed_ips=tuple(allowed_ips),
            senders=tuple(senders),
            max_binds=max_binds,
            throughput=throughput,
        )
    )
    return CreatedAccount(account, plain if password is None else None)


@action
async def show_account(store: Store, system_id: str, *, scope: Scope = ADMIN) -> Account:
    """The account, with its allowed IPs, senders and recharge policy."""
    return await visible_account(store, scope, system_id)


@action
async def account_details(store: Store, system_id: str, *, scope: Scope = ADMIN) -> AccountDetails:
    """The account and its current binds (sessions of live gateways)."""
    account = await visible_account(store, scope, system_id)
    return AccountDetails(account, await store.bind_count(system_id))


@action
async def list_accounts(store: Store, *, scope: Scope = ADMIN) -> list[Account]:
    """Every account ``scope`` sees, ordered by system_id."""
    return [a for a in await store.list_accounts() if scope.sees(a)]


@action
async def set_status(store: Store, system_id: str, status: AccountStatus) -> Account:
    """Enable or disable an account (a disabled one cannot bind or submit; data stays)."""
    return await store.set_status(system_id, status)


@action
async def allow_ip(store: Store, system_id: str, cidr: str, *, scope: Scope = ADMIN) -> Account:
    """Add a network to the bind allowlist (a bare address means /32 or /128)."""
    await check_visible(store, scope, system_id)
    return await store.allow_ip(system_id, cidr)


@action
async def deny_ip(store: Store, system_id: str, cidr: str, *, scope: Scope = ADMIN) -> Account:
    """Remove a network from the bind allowlist; refused when it is not there."""
    await check_visible(store, scope, system_id)
    return await store.deny_ip(system_id, cidr)


@action
async def set_password(store: Store, system_id: str, password: str | None = None) -> PasswordChange:
    """Replace the password with ``password``, or a generated one returned once."""
    plain, password_hash = await new_password(password)
    await store.set_password_hash(system_id, password_hash)
    return PasswordChange(system_id, plain if password is None else None)
