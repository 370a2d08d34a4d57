"""smppgw's credit ledger: accounts, an immutable journal, messages and receipts.

Never imports ``gateway``: the ledger is usable on its own (CLI, future HTTP API).
"""

from ledger.errors import (
    AccountExists,
    BindHeldElsewhere,
    ForeignMessage,
    GatewayNotRegistered,
    IdempotencyConflict,
    InsufficientCredit,
    InvalidAccountData,
    InvalidRequest,
    LedgerError,
    LedgerUnavailable,
    RefundRequired,
    UnknownAccount,
    UnknownMessage,
)
from ledger.migrate import MigrationError
from ledger.store import Store, open_store

__all__ = [
    "AccountExists",
    "BindHeldElsewhere",
    "ForeignMessage",
    "GatewayNotRegistered",
    "IdempotencyConflict",
    "InsufficientCredit",
    "InvalidAccountData",
    "InvalidRequest",
    "LedgerError",
    "LedgerUnavailable",
    "MigrationError",
    "RefundRequired",
    "Store",
    "UnknownAccount",
    "UnknownMessage",
    "open_store",
]
