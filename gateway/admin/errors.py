"""The service layer's errors: one hierarchy, and the one place ledger errors are mapped.

Every action of :mod:`gateway.admin` either returns its result or raises an
:class:`AdminError` whose message is the one line an operator reads (the CLI prints it
after ``smppgw:``; an HTTP front end puts it in its error body). The direct
subclasses say what kind of refusal it is, which is all a front end needs to choose an
exit status or an HTTP status:

==========================  ==========================================  ============
class                       meaning                                     HTTP, say
==========================  ==========================================  ============
:class:`InvalidInput`       a value is malformed or out of range         400
:class:`NotAuthenticated`   no credentials, or unknown or revoked ones   401
:class:`Forbidden`          credentials valid, but not for this action   403
:class:`NotFound`           the account (rate, message) does not exist   404
:class:`Conflict`           clashes with what exists (name, key reuse)   409
:class:`Refused`            well formed, but a business rule says no     422
:class:`Unavailable`        the ledger or a configured file cannot serve 503
==========================  ==========================================  ============

An account outside the caller's :class:`~gateway.admin.scope.Scope` is an
:class:`AccountNotFound`, exactly as if it did not exist, so a scoped caller learns
nothing of other owners' accounts, not even that they exist.

Each class also has a stable ``code`` for machine-readable error bodies. The ledger's own
errors (:class:`ledger.errors.LedgerError`) never leave an action: :func:`ledger_errors`
translates them, and the original stays reachable as ``__cause__``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, ParamSpec, TypeVar

from ledger.errors import (
    AccountClosed,
    AccountExists,
    AccountNotActive,
    AccountNotEmpty,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidAccountData,
    InvalidPurchase,
    InvalidRequest,
    LedgerError,
    LedgerUnavailable,
    LimitExceeded,
    OwnersDiffer,
    SameAccount,
    TokenExists,
    UnknownAccount,
    UnknownMessage,
    UnknownPackage,
    UnknownToken,
)
from ledger.migrate import MigrationError

P = ParamSpec("P")
R = TypeVar("R")


class AdminError(Exception):
    """Base of every refusal of the service layer; ``str()`` is the operator's message."""

    code: ClassVar[str] = "error"


class InvalidInput(AdminError):
    """A value given to an action is malformed or out of range; nothing was written."""

    code = "invalid_input"


class NotFound(AdminError):
    """What the action names does not exist."""

    code = "not_found"


class Conflict(AdminError):
    """The action clashes with what exists: a taken name, a key used for another body."""

    code = "conflict"


class Refused(AdminError):
    """The input is well formed but a business rule refuses it."""

    code = "refused"


class Unavailable(AdminError):
    """The ledger (or a file the action reads) cannot be used now; nothing was written.

    ``outcome_unknown`` is True when the ledger lost the connection during COMMIT: the
    change may have landed, and retrying with the same idempotency key tells which.
    """

    code = "unavailable"

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class NotAuthenticated(AdminError):
    """The caller gave no credentials, or ones that are unknown or revoked."""

    code = "not_authenticated"


class Forbidden(AdminError):
    """The caller's credentials are valid but do not allow this action."""

    code = "forbidden"


class TokenNotFound(NotFound):
    """No API token has this id."""

    code = "token_not_found"

    def __init__(self, token_id: str) -> None:
        super().__init__(f"token {token_id}: no such token")
        self.token_id = token_id


class PurchaseRefused(Refused):
    """A package purchase the rules refuse: the quantity (units of 100) or the name."""

    code = "purchase_refused"


class PackageNotFound(NotFound):
    """No credit package has this id (or it is another owner's)."""

    code = "package_not_found"


class AccountNotFound(NotFound):
    """No account has this system_id."""

    code = "account_not_found"

    def __init__(self, system_id: str) -> None:
        super().__init__(f"account {system_id}: no such account")
        self.system_id = system_id


class AccountTaken(Conflict):
    """An account with this system_id exists already."""

    code = "account_exists"

    def __init__(self, system_id: str) -> None:
        super().__init__(f"account {system_id}: already exists")
        self.system_id = system_id


class KeyReused(Conflict):
    """The idempotency key was used before for a different operation."""

    code = "idempotency_conflict"

    def __init__(self, key: str) -> None:
        super().__init__(f"key {key} was already used for a different operation")
        self.key = key


class NotEnoughCredit(Conflict):
    """A transfer (or manual debit) beyond the source's balance; nothing moved."""

    code = "insufficient_credit"


class SameAccountTransfer(Refused):
    """A transfer whose source and target are one account."""

    code = "same_account"


class InvalidAmount(Refused):
    """An amount of credits that no transfer can move: not above zero, or more than 3
    decimals (front ends raise it for a well-typed amount; a mistyped one is invalid input)."""

    code = "invalid_amount"


class AccountInactive(Refused):
    """The account is disabled or closed, so money may not move to or from it."""

    code = "account_inactive"


class DifferentOwners(Refused):
    """A transfer between accounts that do not belong to one owner."""

    code = "different_owners"


class AmountLimit(Refused):
    """An amount, or the balance it would make, is beyond ``[ledger]`` max_credit or
    max_balance."""

    code = "limit_exceeded"


class AccountNotClosable(Refused):
    """The account still holds credits (or packages) and cannot be closed."""

    code = "account_not_empty"


class RechargeAmountNotAllowed(Refused):
    """An auto-recharge amount that is not one of the amounts an account may choose."""

    code = "recharge_amount_not_allowed"

    def __init__(self, amount: str, allowed: tuple[int, ...]) -> None:
        listed = ", ".join(map(str, allowed))
        super().__init__(f"recharge amount {amount} is not allowed: choose one of {listed} credits")
        self.amount = amount
        self.allowed = allowed


class PasswordNotChanged(Refused):
    """A password reset refused before anything changed; ``reason`` says why."""

    code = "password_not_changed"
    reason: ClassVar[str] = "refused"

    def __init__(self, system_id: str) -> None:
        super().__init__(f"account {system_id}: password not changed: {self.reason}")
        self.system_id = system_id


class MailNotConfigured(PasswordNotChanged):
    """A new password cannot be mailed: outbound mail (``[smtp]``) is not enabled."""

    code = "mail_not_configured"
    reason = (
        "outbound mail is not configured (smtp.enabled is false), so a new password"
        " cannot be mailed"
    )


class PasswordNotShown(PasswordNotChanged):
    """Outbound mail is configured: a new password goes to the contact, never to the screen."""

    code = "password_not_shown"
    reason = (
        "outbound mail is configured, so a new password is mailed to the contact and never printed"
    )


class NoContactEmail(PasswordNotChanged):
    """The account has no contact address to mail to."""

    code = "no_contact_email"
    reason = "the account has no contact e-mail address to mail it to"


class MailNotSent(Unavailable):
    """The SMTP server did not take the mail for now (temporary); nothing changed."""

    code = "mail_not_sent"


class MailRejected(Refused):
    """The SMTP server refused the mail (permanent); nothing changed."""

    code = "mail_rejected"


def _message(e: Exception) -> str:
    return str(e) or type(e).__name__


def admin_error(e: LedgerError) -> AdminError:
    """The service-layer error that tells the operator what ``e`` means."""
    if isinstance(e, UnknownAccount):
        return AccountNotFound(str(e))
    if isinstance(e, AccountExists):
        return AccountTaken(str(e))
    if isinstance(e, IdempotencyConflict):
        return KeyReused(str(e))
    if isinstance(e, InvalidAccountData):
        return InvalidInput(_message(e))
    if isinstance(e, UnknownToken):
        return TokenNotFound(str(e))
    if isinstance(e, TokenExists):
        return Conflict(f"token {e}: already exists")
    if isinstance(e, UnknownMessage):
        return NotFound(_message(e))
    if isinstance(e, UnknownPackage):
        return PackageNotFound(_message(e))
    if isinstance(e, InsufficientCredit):
        return NotEnoughCredit(_message(e))
    if isinstance(e, AccountClosed):
        return AccountInactive(f"{_message(e)} (a closed account stays closed)")
    if isinstance(e, AccountNotActive):
        return AccountInactive(_message(e))
    if isinstance(e, OwnersDiffer):
        return DifferentOwners(f"transfer refused: {_message(e)}")
    if isinstance(e, LimitExceeded):
        return AmountLimit(_message(e))
    if isinstance(e, AccountNotEmpty):
        return AccountNotClosable(f"{_message(e)}: transfer or spend it before closing")
    if isinstance(e, InvalidPurchase):
        return PurchaseRefused(_message(e))
    if isinstance(e, SameAccount):
        return SameAccountTransfer(_message(e))
    if isinstance(e, InvalidRequest):  # a bad cursor, a malformed request: the input is wrong
        return InvalidInput(_message(e))
    if isinstance(e, LedgerUnavailable):
        return Unavailable(_message(e), outcome_unknown=e.outcome_unknown)
    if isinstance(e, MigrationError):
        # The schema and the migration files disagree: no action can run until an
        # operator repairs the database, so it is the ledger being unusable, not a refusal.
        return Unavailable(_message(e))
    return Refused(_message(e))


@contextmanager
def ledger_errors() -> Iterator[None]:
    """Translate any LedgerError raised inside the block with :func:`admin_error`."""
    try:
        yield
    except LedgerError as e:
        raise admin_error(e) from e


def action(fn: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
    """Mark a coroutine function as a service action: ledger errors leave it translated."""

    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with ledger_errors():
            return await fn(*args, **kwargs)

    return run
