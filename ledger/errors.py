"""Ledger errors. Each names one refusal a caller can act on; none carries a password.

Every error the ledger raises on purpose derives from :class:`LedgerError`, so one
``except LedgerError`` covers the ledger. :class:`InvalidRequest` and its subclasses are
the caller's mistakes (arguments no store accepts, a gateway that skipped a step): they
are ``ValueError`` too, because that is what they are in Python's terms, so a caller
that treats a bad argument as a ``ValueError`` (as the standard library teaches) still
sees them as one.
"""

from __future__ import annotations

from ledger.money import milli_to_credits


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""


class UnknownAccount(LedgerError):
    """No account has this system_id."""


class AccountExists(LedgerError):
    """create_account for a system_id that is taken."""


class InvalidAccountData(LedgerError):
    """A field fails validation (system_id form, CIDR, sender, recharge amount, ...)."""


class UnknownMessage(LedgerError):
    """No message has this message_id."""


class UnknownPackage(LedgerError):
    """No credit package has this id."""


class MessageNotAccepted(LedgerError):
    """The message has left the ACCEPTED state (forwarded, rejected ...): it can no
    longer be replaced."""


class AdoptedMeanwhile(LedgerError):
    """A held batch refund (``refund_many(..., holder=...)``) found, once written, a
    message another gateway adopted meanwhile: rolled back and run again, raised only
    when that kept happening. Nothing is written."""


class PackagePaidMessage(MessageNotAccepted):
    """The message drew on a credit package: its price cannot be changed (replaced),
    because its draws are in messages, not credits; it may still be refunded."""


class InsufficientCredit(LedgerError):
    """A transfer or manual debit would make a balance negative."""


class AccountNotActive(LedgerError):
    """The account is disabled or closed, so money may not move to or from it."""

    def __init__(self, system_id: str, status: str) -> None:
        super().__init__(f"account {system_id} is {status}")
        self.system_id = system_id
        self.status = status


class AccountClosed(AccountNotActive):
    """The account is closed: it takes no credit, binds or submits, and stays closed."""

    def __init__(self, system_id: str) -> None:
        super().__init__(system_id, "closed")


class OwnersDiffer(LedgerError):
    """A transfer between accounts of different owners (or without an owner)."""

    def __init__(self, source: str, source_owner: str, target: str, target_owner: str) -> None:
        def who(owner: str) -> str:
            return f"owner {owner!r}" if owner else "no owner"

        super().__init__(
            f"{source} ({who(source_owner)}) and {target} ({who(target_owner)})"
            " do not belong to one owner"
        )
        self.source, self.source_owner = source, source_owner
        self.target, self.target_owner = target, target_owner


class LimitExceeded(LedgerError):
    """An amount, or the balance it would make, is beyond a configured ledger limit.

    ``limit`` names the setting (``max_credit``, ``max_balance``), ``maximum`` is its
    value and ``amount`` what was asked (both in milli-credits).
    """

    def __init__(self, message: str, *, limit: str, maximum: int, amount: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum
        self.amount = amount


class AccountNotEmpty(LedgerError):
    """An account still holds something (credits, packages) and cannot be closed.

    ``holdings`` maps what it holds to how much: ``credits`` in milli-credits, and
    whatever else the ledger counts (``packages``: how many still usable); only the
    non-zero ones are listed.
    """

    def __init__(self, system_id: str, holdings: dict[str, int]) -> None:
        listed = " and ".join(
            f"{milli_to_credits(n)} credits" if what == "credits" else f"{n} {what}"
            for what, n in holdings.items()
        )
        super().__init__(f"account {system_id} still holds {listed}")
        self.system_id = system_id
        self.holdings = holdings


class IdempotencyConflict(LedgerError):
    """The idempotency key was already used for an operation with a different body."""


class InvalidRequest(LedgerError, ValueError):
    """Arguments no store accepts: a programming error of the caller, not a refusal."""


class GatewayNotRegistered(InvalidRequest):
    """The gateway must ``register_gateway`` first: what it holds would count for nobody."""

    def __init__(self, gateway_id: str) -> None:
        super().__init__(f"gateway {gateway_id!r} is not registered")
        self.gateway_id = gateway_id


class BindHeldElsewhere(InvalidRequest):
    """The session already holds a bind of another account."""


class ForeignMessage(InvalidRequest):
    """The message belongs to another account than the one named with it."""


class SameAccount(InvalidRequest):
    """A transfer whose source and target are one account."""


class InvalidPurchase(InvalidRequest):
    """A package purchase no rule allows: a quantity not in units of 100 (at least 100,
    at most the largest purchase), or a name too long."""


class RefundRequired(InvalidRequest):
    """REJECTED is only reached through ``refund()``: a rejection gives the money back."""


class LedgerUnavailable(LedgerError):
    """The database cannot be reached.

    Nothing was written, unless ``outcome_unknown``: the connection dropped during
    COMMIT, so the transaction may have landed. A caller then retries with the same
    idempotency key to learn which (a committed debit answers DUPLICATE).
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown


class UnknownToken(LedgerError):
    """No API token has this id."""


class TokenExists(LedgerError):
    """create_api_token with an id or hash that is taken."""
