"""Ledger errors. Each names one refusal a caller can act on; none carries a password.

Every error the ledger raises on purpose derives from :class:`LedgerError`, so one
``except LedgerError`` covers the ledger. :class:`InvalidRequest` and its subclasses are
the caller's mistakes (arguments no store accepts, a gateway that skipped a step): they
are ``ValueError`` too, because that is what they are in Python's terms, so a caller
that treats a bad argument as a ``ValueError`` (as the standard library teaches) still
sees them as one.
"""

from __future__ import annotations


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


class InsufficientCredit(LedgerError):
    """A transfer or manual debit would make a balance negative."""


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
