"""smppgw's credit ledger: accounts, an immutable journal, messages and receipts.

Never imports ``gateway``: the ledger is usable on its own (CLI, future HTTP API).
"""

from ledger.errors import (
    AccountClosed,
    AccountExists,
    AccountNotActive,
    AccountNotEmpty,
    BindHeldElsewhere,
    ForeignMessage,
    GatewayNotRegistered,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidAccountData,
    InvalidRequest,
    LedgerError,
    LedgerUnavailable,
    LimitExceeded,
    MessageNotAccepted,
    OwnersDiffer,
    RefundRequired,
    SameAccount,
    UnknownAccount,
    UnknownMessage,
)
from ledger.migrate import MigrationError
from ledger.rules.limits import LedgerLimits
from ledger.store import Store, open_store

__all__ = [
    "AccountClosed",
    "AccountExists",
    "AccountNotActive",
    "AccountNotEmpty",
    "BindHeldElsewhere",
    "ForeignMessage",
    "GatewayNotRegistered",
    "IdempotencyConflict",
    "InsufficientCredit",
    "InvalidAccountData",
    "InvalidRequest",
    "LedgerError",
    "LedgerLimits",
    "LedgerUnavailable",
    "LimitExceeded",
    "MessageNotAccepted",
    "MigrationError",
    "OwnersDiffer",
    "RefundRequired",
    "SameAccount",
    "Store",
    "UnknownAccount",
    "UnknownMessage",
    "open_store",
]
