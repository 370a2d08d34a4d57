"""JSON views of the service layer's results, shared by every front end.

The CLI's ``--json`` prints them and the HTTP API returns them, so a script sees one
shape whichever it uses. Each shape is declared once, as a ``TypedDict`` below: mypy
checks the view functions against it, and the API's OpenAPI description is generated
from the same classes, so the documented shape is the returned one. Money is given
twice: a decimal string of credits for people and the exact integer of milli-credits
for programs (``"balance": "12.5", "balance_milli": 12500``). Times are ISO 8601 with
their UTC offset. A password hash is never part of any view, nor a token's hash or
secret except in the one result that created it; a plaintext password only in the
results that generated it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NotRequired

# typing_extensions' TypedDict: pydantic (the API's schemas) needs it before Python 3.12.
from typing_extensions import TypedDict

from gateway.admin.accounts import AccountDetails, CreatedAccount, PasswordChange
from gateway.admin.credits import Statement
from gateway.admin.password_reset import PasswordReset
from gateway.admin.schema import SchemaUpgrade
from gateway.admin.tariff import TariffRates
from gateway.admin.tokens import CreatedToken
from gateway.policy.tariff import Rate
from ledger.models import (
    Account,
    ApiToken,
    JournalEntry,
    RechargePolicy,
    Sender,
    milli_to_credits,
)

JSONObject = dict[str, Any]


def money(name: str, milli: int) -> JSONObject:
    """``{name: "12.5", name_milli: 12500}``."""
    return {name: milli_to_credits(milli), f"{name}_milli": milli}


class SenderView(TypedDict):
    """A registered source address."""

    ton: int
    npi: int
    address: str


class RechargeView(TypedDict):
    """An auto-recharge policy."""

    threshold: str
    threshold_milli: int
    amount: str
    amount_milli: int
    daily_cap: int


class AccountView(TypedDict):
    """An account, without its password hash."""

    system_id: str
    status: str
    owner: str
    contact_email: str
    balance: str
    balance_milli: int
    allowed_ips: list[str]
    senders: list[SenderView]
    recharge: RechargeView | None
    max_binds: int
    throughput: int
    created_at: str


class AccountDetailsView(AccountView):
    """An account and its current binds over every gateway."""

    binds: int


class AllowlistView(TypedDict):
    """An account's bind allowlist (empty: every bind is refused)."""

    system_id: str
    allowed_ips: list[str]


class SendersView(TypedDict):
    """An account's registered source addresses."""

    system_id: str
    senders: list[SenderView]


class RechargeSettingView(TypedDict):
    """An account's auto-recharge policy (null: off)."""

    system_id: str
    recharge: RechargeView | None


class AccountsView(TypedDict):
    """A list of accounts."""

    accounts: list[AccountView]


class EntryView(TypedDict):
    """A journal entry; ``amount`` is signed."""

    id: int
    system_id: str
    kind: str
    amount: str
    amount_milli: int
    balance_after: str
    balance_after_milli: int
    idempotency_key: str
    message_id: str | None
    note: str
    created_at: str


class StatementView(TypedDict):
    """An account's balance and newest journal entries."""

    balance: str
    balance_milli: int
    system_id: str
    journal: list[EntryView]


class JournalPageView(StatementView):
    """A page of the journal; ``next_before`` reads the next (older) page, null at the end."""

    next_before: int | None


class CreatedAccountView(TypedDict):
    """A new account, with ``password`` only when it was generated."""

    account: AccountView
    password: NotRequired[str]


class PasswordChangeView(TypedDict):
    """A replaced password, with ``password`` only when it was generated."""

    system_id: str
    password: NotRequired[str]


class PasswordResetView(TypedDict):
    """A reset password: ``mailed_to`` (null when not mailed), ``password`` only if shown."""

    system_id: str
    mailed_to: str | None
    password: NotRequired[str]


class SchemaUpgradeView(TypedDict):
    """The migrations applied."""

    applied: list[str]


class RateView(TypedDict):
    """A tariff rate: credits per segment to numbers starting with ``prefix``."""

    prefix: str
    country: str
    credits: str
    credits_milli: int


class TariffView(TypedDict):
    """Rates and the file they come from."""

    source: str
    rates: list[RateView]


class TokenView(TypedDict):
    """An API token without its secret or hash; ``owner`` null for an admin token."""

    token_id: str
    owner: str | None
    admin: bool
    note: str
    created_at: str
    revoked_at: str | None


class CreatedTokenView(TypedDict):
    """A new token and its secret, shown this once."""

    token: TokenView
    secret: str


class TokensView(TypedDict):
    """A list of tokens."""

    tokens: list[TokenView]


def sender_view(s: Sender) -> SenderView:
    """A registered source address."""
    return {"ton": s.ton, "npi": s.npi, "address": s.address}


def recharge_view(p: RechargePolicy | None) -> RechargeView | None:
    """An auto-recharge policy, or None when it is off."""
    if p is None:
        return None
    return {
        "threshold": milli_to_credits(p.threshold),
        "threshold_milli": p.threshold,
        "amount": milli_to_credits(p.amount),
        "amount_milli": p.amount,
        "daily_cap": p.daily_cap,
    }


def account_view(a: Account) -> AccountView:
    """An account, without its password hash."""
    return {
        "system_id": a.system_id,
        "status": a.status.value,
        "owner": a.owner,
        "contact_email": a.contact_email,
        "balance": milli_to_credits(a.balance),
        "balance_milli": a.balance,
        "allowed_ips": list(a.allowed_ips),
        "senders": [sender_view(s) for s in a.senders],
        "recharge": recharge_view(a.recharge),
        "max_binds": a.max_binds,
        "throughput": a.throughput,
        "created_at": a.created_at.isoformat(),
    }


def account_details_view(d: AccountDetails) -> AccountDetailsView:
    """An account and its current binds."""
    return {**account_view(d.account), "binds": d.binds}


def allowlist_view(a: Account) -> AllowlistView:
    """An account's bind allowlist."""
    return {"system_id": a.system_id, "allowed_ips": list(a.allowed_ips)}


def senders_view(a: Account) -> SendersView:
    """An account's senders."""
    return {"system_id": a.system_id, "senders": [sender_view(s) for s in a.senders]}


def recharge_setting_view(a: Account) -> RechargeSettingView:
    """An account's auto-recharge policy."""
    return {"system_id": a.system_id, "recharge": recharge_view(a.recharge)}


def accounts_view(accounts: Iterable[Account]) -> AccountsView:
    """A list of accounts."""
    return {"accounts": [account_view(a) for a in accounts]}


def entry_view(e: JournalEntry) -> EntryView:
    """A journal entry; ``amount`` is signed."""
    return {
        "id": e.id,
        "system_id": e.system_id,
        "kind": e.kind.value,
        "amount": milli_to_credits(e.amount),
        "amount_milli": e.amount,
        "balance_after": milli_to_credits(e.balance_after),
        "balance_after_milli": e.balance_after,
        "idempotency_key": e.idempotency_key,
        "message_id": e.message_id,
        "note": e.note,
        "created_at": e.created_at.isoformat(),
    }


def created_account_view(c: CreatedAccount) -> CreatedAccountView:
    """A new account, with ``password`` only when it was generated."""
    data: CreatedAccountView = {"account": account_view(c.account)}
    if c.password is not None:
        data["password"] = c.password
    return data


def password_change_view(p: PasswordChange) -> PasswordChangeView:
    """A replaced password, with ``password`` only when it was generated."""
    data: PasswordChangeView = {"system_id": p.system_id}
    if p.password is not None:
        data["password"] = p.password
    return data


def password_reset_view(r: PasswordReset) -> PasswordResetView:
    """A reset password: ``mailed_to`` (null when not mailed), ``password`` only if shown."""
    data: PasswordResetView = {"system_id": r.system_id, "mailed_to": r.mailed_to}
    if r.password is not None:
        data["password"] = r.password
    return data


def statement_view(s: Statement) -> StatementView:
    """An account's balance and newest journal entries."""
    return {
        "balance": milli_to_credits(s.account.balance),
        "balance_milli": s.account.balance,
        "system_id": s.account.system_id,
        "journal": [entry_view(e) for e in s.entries],
    }


def journal_page_view(s: Statement) -> JournalPageView:
    """A statement as one page of the journal, with the bound of the next page."""
    return {**statement_view(s), "next_before": s.next_before}


def schema_upgrade_view(u: SchemaUpgrade) -> SchemaUpgradeView:
    """The migrations applied."""
    return {"applied": list(u.applied)}


def rate_view(r: Rate) -> RateView:
    """A tariff rate: credits per segment to numbers starting with ``prefix``."""
    return {
        "prefix": r.prefix,
        "country": r.country,
        "credits": milli_to_credits(r.milli),
        "credits_milli": r.milli,
    }


def tariff_view(t: TariffRates) -> TariffView:
    """Rates and the file they come from."""
    return {"source": t.source, "rates": [rate_view(r) for r in t.rates]}


def token_view(t: ApiToken) -> TokenView:
    """An API token without its secret or hash."""
    return {
        "token_id": t.token_id,
        "owner": t.owner,
        "admin": t.is_admin,
        "note": t.note,
        "created_at": t.created_at.isoformat(),
        "revoked_at": t.revoked_at.isoformat() if t.revoked_at is not None else None,
    }


def created_token_view(c: CreatedToken) -> CreatedTokenView:
    """A new token and its secret (the only view that shows one)."""
    return {"token": token_view(c.token), "secret": c.secret}


def tokens_view(tokens: Iterable[ApiToken]) -> TokensView:
    """A list of tokens."""
    return {"tokens": [token_view(t) for t in tokens]}
