"""The service layer: every operator action, whichever front end asks for it.

The CLI (:mod:`gateway.cli`) is one front end over it; an HTTP API is meant to be
another. Each action validates its input, calls the ledger :class:`~ledger.store.Store`
and returns a typed, frozen result, or raises an :class:`AdminError` (see
:mod:`gateway.admin.errors` for the hierarchy and how ledger errors map onto it).
Front ends parse their input with :mod:`gateway.admin.inputs` and show results with
the JSON shapes of :mod:`gateway.admin.views`; they hold no business rule of their own.

Actions take the store as their first argument and amounts in integer milli-credits.
The demo account of ``serve --demo`` is :mod:`gateway.admin.demo`, imported by its one
caller: it needs the logging stack, which no other action loads.
"""

from gateway.admin.accounts import (
    DEFAULT_MAX_BINDS,
    CreatedAccount,
    PasswordChange,
    allow_ip,
    create_account,
    deny_ip,
    list_accounts,
    set_password,
    set_status,
    show_account,
)
from gateway.admin.credits import DEFAULT_STATEMENT_LIMIT, Statement, add_credit, statement
from gateway.admin.errors import (
    AccountNotFound,
    AccountTaken,
    AdminError,
    Conflict,
    InvalidInput,
    KeyReused,
    MailNotConfigured,
    MailNotSent,
    MailRejected,
    NoContactEmail,
    NotFound,
    PasswordNotChanged,
    PasswordNotShown,
    RechargeAmountNotAllowed,
    Refused,
    Unavailable,
)
from gateway.admin.password_reset import PasswordReset, reset_password
from gateway.admin.recharge import recharge_off, set_recharge
from gateway.admin.schema import SchemaUpgrade, open_ledger, upgrade_schema
from gateway.admin.senders import add_sender, remove_sender
from gateway.admin.tariff import TariffRates, show_tariff

__all__ = [
    "DEFAULT_MAX_BINDS",
    "DEFAULT_STATEMENT_LIMIT",
    "AccountNotFound",
    "AccountTaken",
    "AdminError",
    "Conflict",
    "CreatedAccount",
    "InvalidInput",
    "KeyReused",
    "MailNotConfigured",
    "MailNotSent",
    "MailRejected",
    "NoContactEmail",
    "NotFound",
    "PasswordChange",
    "PasswordNotChanged",
    "PasswordNotShown",
    "PasswordReset",
    "RechargeAmountNotAllowed",
    "Refused",
    "SchemaUpgrade",
    "Statement",
    "TariffRates",
    "Unavailable",
    "add_credit",
    "add_sender",
    "allow_ip",
    "create_account",
    "deny_ip",
    "list_accounts",
    "open_ledger",
    "recharge_off",
    "remove_sender",
    "reset_password",
    "set_password",
    "set_recharge",
    "set_status",
    "show_account",
    "show_tariff",
    "statement",
    "upgrade_schema",
]
