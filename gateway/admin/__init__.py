"""The service layer: every operator action, whichever front end asks for it.

The CLI (:mod:`gateway.cli`) is one front end over it; an HTTP API is meant to be
another. Each action validates its input, calls the ledger :class:`~ledger.store.Store`
and returns a typed, frozen result, or raises an :class:`AdminError` (see
:mod:`gateway.admin.errors` for the hierarchy and how ledger errors map onto it).
Front ends parse their input with :mod:`gateway.admin.inputs` and show results with
the JSON shapes of :mod:`gateway.admin.views`; they hold no business rule of their own.

Actions take the store as their first argument and amounts in integer milli-credits.
Those that name an account also take a ``scope`` (:mod:`gateway.admin.scope`; the
operator's ``ADMIN`` by default): an account outside it is refused as unknown.
The demo account of ``serve --demo`` is :mod:`gateway.admin.demo`, imported by its one
caller: it needs the logging stack, which no other action loads.
"""

from gateway.admin.accounts import (
    DEFAULT_MAX_BINDS,
    AccountDetails,
    CreatedAccount,
    PasswordChange,
    account_details,
    allow_ip,
    close_account,
    create_account,
    deny_ip,
    list_accounts,
    set_password,
    set_status,
    show_account,
    update_account,
)
from gateway.admin.alerts import AlertCleared, AlertSettings, clear_alert, set_alert, show_alerts
from gateway.admin.credits import (
    DEFAULT_STATEMENT_LIMIT,
    Statement,
    add_credit,
    statement,
    transfer,
)
from gateway.admin.errors import (
    AccountInactive,
    AccountNotClosable,
    AccountNotFound,
    AccountTaken,
    AdminError,
    AmountLimit,
    Conflict,
    DifferentOwners,
    Forbidden,
    InvalidAmount,
    InvalidInput,
    KeyReused,
    MailNotConfigured,
    MailNotSent,
    MailRejected,
    NoContactEmail,
    NotAuthenticated,
    NotEnoughCredit,
    NotFound,
    PackageNotFound,
    PasswordNotChanged,
    PasswordNotShown,
    RechargeAmountNotAllowed,
    Refused,
    SameAccountTransfer,
    TokenNotFound,
    Unavailable,
)
from gateway.admin.history import DEFAULT_HISTORY_LIMIT, history, prune_history
from gateway.admin.mo import add_mo_route, mo_routes, remove_mo_route
from gateway.admin.packages import (
    DEFAULT_PACKAGE_LIMIT,
    PackageDetails,
    PackageListing,
    buy_package,
    list_packages,
    show_package,
)
from gateway.admin.password_reset import PasswordReset, reset_password
from gateway.admin.prices import show_prices
from gateway.admin.recharge import recharge_off, set_recharge
from gateway.admin.schema import SchemaUpgrade, open_ledger, upgrade_schema
from gateway.admin.scope import ADMIN, Scope, visible_account
from gateway.admin.senders import add_sender, remove_sender
from gateway.admin.tariff import TariffRates, show_tariff
from gateway.admin.tokens import (
    CreatedToken,
    authenticate,
    create_token,
    list_tokens,
    revoke_token,
    scope_of,
)
from gateway.admin.usage import CHART_DAYS, daily_usage

__all__ = [
    "ADMIN",
    "CHART_DAYS",
    "DEFAULT_HISTORY_LIMIT",
    "DEFAULT_MAX_BINDS",
    "DEFAULT_PACKAGE_LIMIT",
    "DEFAULT_STATEMENT_LIMIT",
    "AccountDetails",
    "AccountInactive",
    "AccountNotClosable",
    "AccountNotFound",
    "AccountTaken",
    "AdminError",
    "AlertCleared",
    "AlertSettings",
    "AmountLimit",
    "Conflict",
    "CreatedAccount",
    "CreatedToken",
    "DifferentOwners",
    "Forbidden",
    "InvalidAmount",
    "InvalidInput",
    "KeyReused",
    "MailNotConfigured",
    "MailNotSent",
    "MailRejected",
    "NoContactEmail",
    "NotAuthenticated",
    "NotEnoughCredit",
    "NotFound",
    "PackageDetails",
    "PackageListing",
    "PackageNotFound",
    "PasswordChange",
    "PasswordNotChanged",
    "PasswordNotShown",
    "PasswordReset",
    "RechargeAmountNotAllowed",
    "Refused",
    "SameAccountTransfer",
    "SchemaUpgrade",
    "Scope",
    "Statement",
    "TariffRates",
    "TokenNotFound",
    "Unavailable",
    "account_details",
    "add_credit",
    "add_mo_route",
    "add_sender",
    "allow_ip",
    "authenticate",
    "buy_package",
    "clear_alert",
    "close_account",
    "create_account",
    "create_token",
    "daily_usage",
    "deny_ip",
    "history",
    "list_accounts",
    "list_packages",
    "list_tokens",
    "mo_routes",
    "open_ledger",
    "prune_history",
    "recharge_off",
    "remove_mo_route",
    "remove_sender",
    "reset_password",
    "revoke_token",
    "scope_of",
    "set_alert",
    "set_password",
    "set_recharge",
    "set_status",
    "show_account",
    "show_alerts",
    "show_package",
    "show_prices",
    "show_tariff",
    "statement",
    "transfer",
    "update_account",
    "upgrade_schema",
    "visible_account",
]
