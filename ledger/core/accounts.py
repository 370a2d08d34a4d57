"""Accounts: validated here, written by scripts of plain statements."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from ledger.backends import rows
from ledger.backends import statements as sql
from ledger.backends.base import Access, Execute, ExecuteMany, Fetch, Script, Statement, do
from ledger.core.base import CoreBase
from ledger.errors import AccountClosed, AccountExists, InvalidAccountData, UnknownAccount
from ledger.models import (
    Account,
    AccountChanges,
    AccountStatus,
    NewAccount,
    RechargePolicy,
    Sender,
)
from ledger.rules.accounts import changes_to_write, check_close
from ledger.rules.limits import check_threshold
from ledger.rules.validation import (
    normalise_cidr,
    validate_changes,
    validate_max_binds,
    validate_new_account,
    validate_password_hash,
    validate_policy,
    validate_sender,
    validate_throughput,
)


def load_account(system_id: str) -> Script[Account]:
    """The account with its allowlist and senders; UnknownAccount if there is none."""
    found = yield from do(Fetch(sql.ACCOUNT, (system_id,), rows.account))
    if not found:
        raise UnknownAccount(system_id)
    return found[0]


def _create(new: NewAccount, now: datetime) -> Script[Account]:
    created = yield from do(
        Fetch(
            sql.INSERT_ACCOUNT,
            (
                new.system_id,
                new.owner,
                new.contact_email,
                AccountStatus.ACTIVE.value,
                new.password_hash,
                new.max_binds,
                new.throughput,
                now,
                new.default_category.value,
            ),
            rows.first,
        )
    )
    if not created:
        raise AccountExists(new.system_id)
    yield from do(ExecuteMany(sql.INSERT_IP, [(new.system_id, c) for c in new.allowed_ips]))
    yield from do(
        ExecuteMany(
            sql.INSERT_SENDER, [(new.system_id, s.ton, s.npi, s.address) for s in new.senders]
        )
    )
    return (yield from load_account(new.system_id))


def _change(
    system_id: str, statement: Statement, args: tuple[object, ...], absent: str | None
) -> Script[Account]:
    """Lock the account, run ``statement(system_id, *args)``, return the account.

    ``absent``: the InvalidAccountData message when the statement must change a row
    (removing what is not there) and changed none.
    """
    if not (yield from do(Fetch(sql.LOCK_ACCOUNT, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    changed = yield from do(Execute(statement, (system_id, *args)))
    if absent is not None and changed == 0:
        raise InvalidAccountData(absent)
    return (yield from load_account(system_id))


def _set_status(system_id: str, status: AccountStatus) -> Script[Account]:
    account = yield from _locked(system_id)
    if account.status is AccountStatus.CLOSED:
        raise AccountClosed(system_id)
    yield from do(Execute(sql.SET_STATUS, (system_id, status.value)))
    return (yield from load_account(system_id))


def _locked(system_id: str) -> Script[Account]:
    """Lock the account row until the end of the transaction, then load it."""
    if not (yield from do(Fetch(sql.LOCK_ACCOUNT, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    return (yield from load_account(system_id))


def _apply_changes(system_id: str, changes: AccountChanges) -> Script[Account]:
    if not (yield from do(Fetch(sql.LOCK_ACCOUNT, (system_id,), rows.first))):
        raise UnknownAccount(system_id)
    for statement, value in changes_to_write(changes, _CHANGE_STATEMENTS):
        yield from do(Execute(statement, (system_id, value)))
    return (yield from load_account(system_id))


def _close(system_id: str, now: datetime) -> Script[Account]:
    account = yield from _locked(system_id)
    holdings = yield from do(Fetch(sql.ACCOUNT_HOLDINGS, (system_id, now), rows.pair))
    if check_close(account, dict(holdings)):
        yield from do(Execute(sql.CLOSE_ACCOUNT, (system_id, now)))
    return (yield from load_account(system_id))


#: The statement that writes each field of ``AccountChanges``.
_CHANGE_STATEMENTS: dict[str, Statement] = {
    "owner": sql.SET_OWNER,
    "contact_email": sql.SET_CONTACT,
    "default_category": sql.SET_DEFAULT_CATEGORY,
    "throughput": sql.SET_THROUGHPUT,
    "max_binds": sql.SET_MAX_BINDS,
    "default_country": sql.SET_DEFAULT_COUNTRY,
    "client_cert_sha256": sql.SET_CLIENT_CERT,
    "submit_window": sql.SET_SUBMIT_WINDOW,
    "max_session_age_s": sql.SET_MAX_SESSION_AGE,
}


class AccountsCore(CoreBase):
    """``AccountStore`` over a backend."""

    async def _update(
        self, system_id: str, statement: Statement, *args: object, absent: str | None = None
    ) -> Account:
        return await self._run(
            partial(_change, system_id, statement, args, absent), Access.TRANSACTION
        )

    async def create_account(self, new: NewAccount) -> Account:
        """Create an account with a zero balance. Raises AccountExists, InvalidAccountData."""
        new = validate_new_account(new)
        return await self._run(partial(_create, new, self._now()), Access.TRANSACTION)

    async def get_account(self, system_id: str) -> Account:
        """The account, with IPs and senders. Raises UnknownAccount."""
        return await self._run(partial(load_account, system_id), Access.READ)

    async def list_accounts(self) -> list[Account]:
        """Every account, ordered by system_id."""
        return await self._read(Fetch(sql.ALL_ACCOUNTS, (), rows.account))

    async def set_status(self, system_id: str, status: AccountStatus) -> Account:
        """Enable or disable binding (and debits: a disabled account is refused).

        Raises AccountClosed for a closed account (it stays closed), InvalidAccountData
        for CLOSED (``close_account`` closes).
        """
        status = AccountStatus(status)
        if status is AccountStatus.CLOSED:
            raise InvalidAccountData("an account is closed with close_account, not set_status")
        return await self._run(partial(_set_status, system_id, status), Access.TRANSACTION)

    async def update_account(self, system_id: str, changes: AccountChanges) -> Account:
        """Change the given fields (owner, contact, default category, throughput, max
        binds) in one transaction. Raises UnknownAccount, InvalidAccountData."""
        changes = validate_changes(changes)
        return await self._run(partial(_apply_changes, system_id, changes), Access.TRANSACTION)

    async def close_account(self, system_id: str) -> Account:
        """Close an empty account for good: status CLOSED, refused like a disabled one.

        Idempotent (closing a closed account returns it as it is). Raises
        UnknownAccount; AccountNotEmpty while it holds credits (transfer them first) or
        anything else ``ACCOUNT_HOLDINGS`` counts.
        """
        return await self._run(partial(_close, system_id, self._now()), Access.TRANSACTION)

    async def set_password_hash(self, system_id: str, password_hash: str) -> None:
        """Replace the stored password hash."""
        validate_password_hash(password_hash)
        await self._update(system_id, sql.SET_PASSWORD_HASH, password_hash)

    async def allow_ip(self, system_id: str, cidr: str) -> Account:
        """Add a CIDR (normalised; a bare address means /32 or /128); a repeat is a no-op."""
        return await self._update(system_id, sql.INSERT_IP, normalise_cidr(cidr))

    async def deny_ip(self, system_id: str, cidr: str) -> Account:
        """Remove a CIDR from the allowlist (InvalidAccountData if absent)."""
        net = normalise_cidr(cidr)
        absent = f"{net} is not on the allowlist of {system_id}"
        return await self._update(system_id, sql.DELETE_IP, net, absent=absent)

    async def add_sender(self, system_id: str, sender: Sender) -> Account:
        """Register a source address; registering it again is a no-op."""
        s = validate_sender(sender)
        return await self._update(system_id, sql.INSERT_SENDER, s.ton, s.npi, s.address)

    async def remove_sender(self, system_id: str, sender: Sender) -> Account:
        """Unregister a source address (InvalidAccountData if absent)."""
        s, absent = sender, f"{sender.ton}:{sender.address} is not a sender of {system_id}"
        return await self._update(
            system_id, sql.DELETE_SENDER, s.ton, s.npi, s.address, absent=absent
        )

    async def set_recharge(self, system_id: str, policy: RechargePolicy | None) -> Account:
        """Set or clear auto-recharge; today's recharge count is kept either way."""
        if policy is None:
            return await self._update(system_id, sql.SET_RECHARGE, 0, 0, None)
        p = validate_policy(policy)
        check_threshold(p.threshold, self._limits)
        return await self._update(system_id, sql.SET_RECHARGE, p.threshold, p.amount, p.daily_cap)

    async def set_throughput(self, system_id: str, per_second: int) -> Account:
        """Set the messages-per-second limit (>= 0; 0 = unlimited); the bucket starts full."""
        return await self._update(system_id, sql.SET_THROUGHPUT, validate_throughput(per_second))

    async def set_max_binds(self, system_id: str, max_binds: int) -> Account:
        """Set how many sessions may be bound at once, over all gateways (>= 1)."""
        return await self._update(system_id, sql.SET_MAX_BINDS, validate_max_binds(max_binds))
