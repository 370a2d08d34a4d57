"""Ledger errors. Each names one refusal a caller can act on; none carries a password."""

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


class LedgerUnavailable(LedgerError):
    """The database cannot be reached.

    Nothing was written, unless ``outcome_unknown``: the connection dropped during
    COMMIT, so the transaction may have landed. A caller then retries with the same
    idempotency key to learn which (a committed debit answers DUPLICATE).
    """

    def __init__(self, message: str, *, outcome_unknown: bool = False) -> None:
        super().__init__(message)
        self.outcome_unknown = outcome_unknown
