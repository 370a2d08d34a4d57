"""Whose accounts a caller may see and act on: the one owner-scoping rule.

Every action that names an account takes a :class:`Scope` (``ADMIN`` unless told
otherwise, as for the local CLI). An owner's scope sees the accounts whose ``owner`` is
exactly that owner; any other account is reported as :class:`AccountNotFound`, the same
refusal as an account that does not exist, so a scoped caller cannot tell the two apart
or read anything of another owner's account. The API's owner tokens carry such a scope;
any front end that authenticates someone narrower than the operator passes one.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.admin.errors import AccountNotFound, Forbidden
from ledger.models import SYSTEM_ID_RE, Account
from ledger.store import AccountStore


@dataclass(frozen=True, slots=True)
class Scope:
    """Every account (``owner`` None), or only those of one owner."""

    owner: str | None = None

    @property
    def is_admin(self) -> bool:
        """True for the operator's scope: every account, and the admin-only actions."""
        return self.owner is None

    def sees(self, account: Account) -> bool:
        """True when ``account`` is within this scope."""
        return self.owner is None or account.owner == self.owner

    def require_admin(self, what: str) -> None:
        """Refuse (:class:`Forbidden`) an admin-only action ``what`` to an owner's scope."""
        if not self.is_admin:
            raise Forbidden(f"{what} needs an admin token")


#: The operator's scope: every account.
ADMIN = Scope()


async def visible_account(store: AccountStore, scope: Scope, system_id: str) -> Account:
    """The account, if it exists and ``scope`` sees it; :class:`AccountNotFound` otherwise.

    Ledger errors are left to the calling action, which translates them.
    """
    _plausible(system_id)
    account = await store.get_account(system_id)
    if not scope.sees(account):
        raise AccountNotFound(system_id)
    return account


async def check_visible(store: AccountStore, scope: Scope, system_id: str) -> None:
    """Refuse an account ``scope`` does not see, as if it did not exist.

    The admin scope sees everything: no read is spent on it, and the action's own call
    reports an unknown account.
    """
    _plausible(system_id)
    if not scope.is_admin:
        await visible_account(store, scope, system_id)


def _plausible(system_id: str) -> None:
    """A string no account can have names none: refused before the ledger is asked.

    Front ends pass what a caller typed (an HTTP path may hold any character, even ones
    a database refuses in text), and the answer is the same as for an unknown account.
    """
    if not isinstance(system_id, str) or SYSTEM_ID_RE.fullmatch(system_id) is None:
        raise AccountNotFound(system_id)
