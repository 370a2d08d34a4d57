"""Account actions: create, show (with its binds), list, edit, enable/disable, close,
allowed IPs, password.

Actions that name an account take a ``scope`` (:mod:`gateway.admin.scope`): an account
outside it is refused as unknown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from gateway.admin import inputs
from gateway.admin.errors import InvalidInput, action
from gateway.admin.scope import ADMIN, Scope, check_visible, visible_account
from ledger.models import (
    MAX_PASSWORD_LEN,
    Account,
    AccountChanges,
    AccountStatus,
    BindRecord,
    Category,
    NewAccount,
    Sender,
)
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
    """An account and the sessions bound to it now, over every gateway, oldest first."""

    account: Account
    binds: tuple[BindRecord, ...]


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
    default_category: Category = Category.GENERAL,
    normalise: bool = False,
    allow_any: bool = False,
) -> CreatedAccount:
    """Create an active account with a zero balance; generate its password if none given.

    Only the password's hash is stored. An empty ``allowed_ips`` refuses every bind; each
    entry is checked as :func:`allow_ip` checks it (``normalise``, ``allow_any``).
    """
    networks = [
        inputs.allowlist_network(c, normalise=normalise, allow_any=allow_any) for c in allowed_ips
    ]
    plain, password_hash = await new_password(password)
    account = await store.create_account(
        NewAccount(
            system_id=system_id,
            password_hash=password_hash,
            owner=owner,
            contact_email=contact_email,
            allowed_ips=tuple(networks),
            senders=tuple(senders),
            max_binds=max_binds,
            throughput=throughput,
            default_category=default_category,
        )
    )
    return CreatedAccount(account, plain if password is None else None)


@action
async def show_account(store: Store, system_id: str, *, scope: Scope = ADMIN) -> Account:
    """The account, with its allowed IPs, senders and recharge policy."""
    return await visible_account(store, scope, system_id)


@action
async def account_details(store: Store, system_id: str, *, scope: Scope = ADMIN) -> AccountDetails:
    """The account and its current binds: how many, from which peer, on which gateway."""
    account = await visible_account(store, scope, system_id)
    binds = await store.account_binds(system_id)
    return AccountDetails(account, tuple(binds))


@action
async def update_account(
    store: Store,
    system_id: str,
    *,
    owner: str | None = None,
    contact_email: str | None = None,
    default_category: Category | None = None,
    throughput: int | None = None,
    max_binds: int | None = None,
    default_country: str | None = None,
    client_cert_sha256: str | None = None,
    submit_window: int | None = None,
    max_session_age_s: int | None = None,
    scope: Scope = ADMIN,
) -> Account:
    """Change the settings given (None leaves one as it is), all in one transaction.

    ``default_country`` is the region (ISO 3166-1 alpha-2, any case) national numbers
    are read in, or "" for none; the ledger validates it. ``client_cert_sha256`` pins
    the TLS client certificate every bind must show (its SHA-256, see
    :func:`gateway.admin.inputs.pem_fingerprint`), "" unpins; sessions bound without it
    are ended by the account watch. ``submit_window`` and ``max_session_age_s`` are the
    account's own values of the gateway's ``[server]`` limits (0: no window / never;
    ``USE_GATEWAY_DEFAULT``, -1: the gateway's again); a window applies from the next
    submit, an age from the next bind.

    A new throughput starts with a full bucket; a lower max_binds keeps the binds held
    and applies to the next bind. Nothing given is an :class:`InvalidInput`. An owner's
    scope may change the contact and the default category; who owns the account and
    what capacity it has (throughput, binds, its limits) are the operator's
    (:class:`Forbidden`).
    """
    await check_visible(store, scope, system_id)
    capacity = (owner, throughput, max_binds, submit_window, max_session_age_s)
    if any(v is not None for v in capacity):
        scope.require_admin(
            "changing the owner, throughput, max binds, submit window or session age"
        )
    changes = AccountChanges(
        owner=owner,
        contact_email=contact_email,
        default_category=default_category,
        throughput=throughput,
        max_binds=max_binds,
        default_country=default_country,
        client_cert_sha256=client_cert_sha256,
        submit_window=submit_window,
        max_session_age_s=max_session_age_s,
    )
    if changes.empty:
        raise InvalidInput("nothing to change: give at least one setting")
    return await store.update_account(system_id, changes)


@action
async def close_account(store: Store, system_id: str, *, scope: Scope = ADMIN) -> Account:
    """Close an account for good: no more binds, submits, credits or transfers.

    Refused (:class:`AccountNotClosable`) while it holds credits: transfer them to
    another account of the owner first. Closing a closed account changes nothing.
    """
    await check_visible(store, scope, system_id)
    return await store.close_account(system_id)


@action
async def list_accounts(store: Store, *, scope: Scope = ADMIN) -> list[Account]:
    """Every account ``scope`` sees, ordered by system_id."""
    return [a for a in await store.list_accounts() if scope.sees(a)]


@action
async def set_status(store: Store, system_id: str, status: AccountStatus) -> Account:
    """Enable or disable an account (a disabled one cannot bind or submit; data stays)."""
    return await store.set_status(system_id, status)


@action
async def allow_ip(
    store: Store,
    system_id: str,
    cidr: str,
    *,
    normalise: bool = False,
    allow_any: bool = False,
    options: inputs.AllowlistOptions = inputs.CLI_OPTIONS,
    scope: Scope = ADMIN,
) -> Account:
    """Add a network to the bind allowlist (a bare address means /32 or /128).

    Host bits set need ``normalise``, a catch-all needs ``allow_any``
    (:func:`gateway.admin.inputs.allowlist_network`); ``options`` names them in the
    refusal as the caller's front end spells them.
    """
    network = inputs.allowlist_network(
        cidr, normalise=normalise, allow_any=allow_any, options=options
    )
    await check_visible(store, scope, system_id)
    return await store.allow_ip(system_id, network)


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
