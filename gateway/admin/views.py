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
from datetime import datetime
from typing import TYPE_CHECKING, Any, NotRequired

# typing_extensions' TypedDict: pydantic (the API's schemas) needs it before Python 3.12.
from typing_extensions import TypedDict

from gateway.admin.accounts import AccountDetails, CreatedAccount, PasswordChange
from gateway.admin.alerts import AlertCleared, AlertSettings
from gateway.admin.credits import Statement
from gateway.admin.password_reset import PasswordReset
from gateway.admin.schema import SchemaUpgrade
from gateway.admin.tariff import TariffRates
from gateway.admin.tokens import CreatedToken
from gateway.policy.tariff import Rate
from ledger.models import (
    Account,
    ApiToken,
    BindRecord,
    JournalEntry,
    RechargePolicy,
    Sender,
    TransferResult,
    milli_to_credits,
)
from ledger.models.history import HistoryItem, HistoryPage, PruneResult
from ledger.models.notices import BalanceAlert

if TYPE_CHECKING:  # the job action loads the submit path: only the API imports it
    from gateway.admin.jobs import JobMessage, JobResult

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
    default_category: str
    default_country: str
    client_cert_sha256: str
    #: The account's own limits; null = the gateway's ``[server]`` ones.
    submit_window: int | None
    max_session_age_s: int | None
    created_at: str
    closed_at: str | None


class BindView(TypedDict):
    """A session bound now: its peer, gateway, kind and since when."""

    peer: str
    gateway_id: str
    session_id: str
    kind: str
    bound_at: str


class AccountDetailsView(AccountView):
    """An account and the sessions bound to it now over every gateway, oldest first."""

    binds: list[BindView]


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
    counter_account: str
    idempotency_key: str
    message_id: str | None
    note: str
    created_at: str


class TransferView(TypedDict):
    """A transfer: its amount, both balances after it, and its pair of entries."""

    source: str
    target: str
    amount: str
    amount_milli: int
    source_balance: str
    source_balance_milli: int
    target_balance: str
    target_balance_milli: int
    idempotency_key: str
    note: str
    created_at: str
    entries: list[EntryView]


class DrawnFromView(TypedDict):
    """What paid for (part of) a message: ``credits`` or a package id, and how much in
    that source's unit (credits, or package messages; ``amount_milli``: thousandths)."""

    source: str
    amount: str
    amount_milli: int


class HistoryItemView(TypedDict):
    """A message of the history, with its receipt's times."""

    message_id: str
    created_at: str
    destination: str
    source: str
    segments: int
    cost: str
    cost_milli: int
    drawn_from: list[DrawnFromView]
    state: str
    upstream_id: str | None
    receipt_at: str | None
    receipt_delivered_at: str | None


class HistoryPageView(TypedDict):
    """A page of history, newest first; ``next_before`` reads the next page, null at the end."""

    messages: list[HistoryItemView]
    next_before: str | None


class JobMessageView(TypedDict):
    """One receiver of a job: sent with ``message_id``, or refused with ``reason``.

    ``status`` is the submit_sm_resp status the same submit over SMPP gets (``ESME_ROK``,
    ``ESME_RNOCREDIT`` ...); ``segments`` and ``cost`` are the price (0 before pricing).
    """

    receiver: str
    accepted: bool
    message_id: str | None
    status: str
    reason: str | None
    segments: int
    cost: str
    cost_milli: int


class JobView(TypedDict):
    """A job: each receiver in the order given, and what the sent ones cost together."""

    system_id: str
    accepted: int
    refused: int
    cost: str
    cost_milli: int
    messages: list[JobMessageView]


class PruneView(TypedDict):
    """What a retention sweep deleted (messages and receipts older than ``before``)."""

    before: str
    messages: int
    receipts: int


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
        "default_category": a.default_category.value,
        "default_country": a.default_country,
        "client_cert_sha256": a.client_cert_sha256,
        "submit_window": a.submit_window,
        "max_session_age_s": a.max_session_age_s,
        "created_at": a.created_at.isoformat(),
        "closed_at": _time(a.closed_at),
    }


def _time(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def bind_view(b: BindRecord) -> BindView:
    """A session bound now: its peer, gateway, kind and since when."""
    return {
        "peer": b.peer,
        "gateway_id": b.gateway_id,
        "session_id": b.session_id,
        "kind": b.kind,
        "bound_at": b.bound_at.isoformat(),
    }


def account_details_view(d: AccountDetails) -> AccountDetailsView:
    """An account and the sessions bound to it now."""
    return {**account_view(d.account), "binds": [bind_view(b) for b in d.binds]}


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
        "counter_account": e.counter_account,
        "idempotency_key": e.idempotency_key,
        "message_id": e.message_id,
        "note": e.note,
        "created_at": e.created_at.isoformat(),
    }


def transfer_view(t: TransferResult) -> TransferView:
    """A transfer: its amount, both accounts' balances after it, and both entries."""
    return {
        "source": t.out.system_id,
        "target": t.in_.system_id,
        "amount": milli_to_credits(t.in_.amount),
        "amount_milli": t.in_.amount,
        "source_balance": milli_to_credits(t.source_balance),
        "source_balance_milli": t.source_balance,
        "target_balance": milli_to_credits(t.target_balance),
        "target_balance_milli": t.target_balance,
        "idempotency_key": t.out.idempotency_key,
        "note": t.out.note,
        "created_at": t.out.created_at.isoformat(),
        "entries": [entry_view(t.out), entry_view(t.in_)],
    }


def history_item_view(h: HistoryItem) -> HistoryItemView:
    """A message of the history; ``drawn_from`` lists what paid for it."""
    return {
        "message_id": h.message_id,
        "created_at": h.created_at.isoformat(),
        "destination": h.destination_addr,
        "source": h.source_addr,
        "segments": h.segments,
        "cost": milli_to_credits(h.cost),
        "cost_milli": h.cost,
        "drawn_from": [_drawn_from_view(d.source, d.amount) for d in h.drawn_from],
        "state": h.state.value,
        "upstream_id": h.upstream_id,
        "receipt_at": _time(h.receipt_at),
        "receipt_delivered_at": _time(h.receipt_delivered_at),
    }


def history_page_view(p: HistoryPage) -> HistoryPageView:
    """A page of history, newest first; ``next_before`` is the next page's cursor."""
    return {"messages": [history_item_view(h) for h in p.items], "next_before": p.next_before}


def job_message_view(m: JobMessage) -> JobMessageView:
    """One receiver of a job."""
    return {
        "receiver": m.receiver,
        "accepted": m.accepted,
        "message_id": m.message_id,
        "status": m.status.name,
        "reason": m.reason,
        "segments": m.segments,
        "cost": milli_to_credits(m.cost),
        "cost_milli": m.cost,
    }


def job_view(j: JobResult) -> JobView:
    """A job's receivers and the cost of those sent."""
    sent = [m for m in j.messages if m.accepted]
    cost = sum(m.cost for m in sent)
    return {
        "system_id": j.system_id,
        "accepted": len(sent),
        "refused": len(j.messages) - len(sent),
        "cost": milli_to_credits(cost),
        "cost_milli": cost,
        "messages": [job_message_view(m) for m in j.messages],
    }


def prune_view(r: PruneResult) -> PruneView:
    """What a retention sweep deleted."""
    return {"before": r.cutoff.isoformat(), "messages": r.messages, "receipts": r.receipts}


def _drawn_from_view(source: str, amount: int) -> DrawnFromView:
    # Credits for the balance, messages for a package: both with 3 decimals at most.
    return {"source": source, "amount": milli_to_credits(amount), "amount_milli": amount}


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


# -- low-balance alerts (issue 7) -------------------------------------------------------------


class AlertView(TypedDict):
    """A low-balance alert: ``category`` null watches the credit balance.

    ``armed`` false: the balance is below (it fired, or was below when set); it re-arms
    once the balance is back at ``below`` or above.
    """

    category: str | None
    below: str
    below_milli: int
    armed: bool
    updated_at: str


class AlertsView(TypedDict):
    """An account's low-balance alerts and where they are mailed."""

    system_id: str
    contact_email: str
    alerts: list[AlertView]


class AlertClearedView(TypedDict):
    """The outcome of clearing an alert (``cleared`` false: there was none)."""

    system_id: str
    category: str | None
    cleared: bool


def alert_view(a: BalanceAlert) -> AlertView:
    """One low-balance alert."""
    return {
        "category": a.category,
        "below": milli_to_credits(a.threshold),
        "below_milli": a.threshold,
        "armed": a.armed,
        "updated_at": a.updated_at.isoformat(),
    }


def alerts_view(s: AlertSettings) -> AlertsView:
    """An account's low-balance alerts."""
    return {
        "system_id": s.account.system_id,
        "contact_email": s.account.contact_email,
        "alerts": [alert_view(a) for a in s.alerts],
    }


def alert_cleared_view(c: AlertCleared) -> AlertClearedView:
    """The outcome of ``alert clear``."""
    category = c.category.value if c.category is not None else None
    return {"system_id": c.system_id, "category": category, "cleared": c.cleared}
