"""JSON views of the service layer's results, shared by every front end.

The CLI's ``--json`` prints them and an HTTP front end returns them, so a script sees
one shape whichever it uses. Money is given twice: a decimal string of credits for
people and the exact integer of milli-credits for programs (``"balance": "12.5",
"balance_milli": 12500``). Times are ISO 8601 with their UTC offset. A password hash is
never part of any view; a plaintext password only of the results that generated it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gateway.admin.accounts import CreatedAccount, PasswordChange
from gateway.admin.credits import Statement
from gateway.admin.password_reset import PasswordReset
from gateway.admin.schema import SchemaUpgrade
from gateway.admin.tariff import TariffRates
from gateway.policy.tariff import Rate
from ledger.models import Account, JournalEntry, RechargePolicy, Sender, milli_to_credits

JSONObject = dict[str, Any]


def money(name: str, milli: int) -> JSONObject:
    """``{name: "12.5", name_milli: 12500}``."""
    return {name: milli_to_credits(milli), f"{name}_milli": milli}


def sender_view(s: Sender) -> JSONObject:
    """A registered source address."""
    return {"ton": s.ton, "npi": s.npi, "address": s.address}


def recharge_view(p: RechargePolicy | None) -> JSONObject | None:
    """An auto-recharge policy, or None when it is off."""
    if p is None:
        return None
    return {
        **money("threshold", p.threshold),
        **money("amount", p.amount),
        "daily_cap": p.daily_cap,
    }


def account_view(a: Account) -> JSONObject:
    """An account, without its password hash."""
    return {
        "system_id": a.system_id,
        "status": a.status.value,
        "owner": a.owner,
        "contact_email": a.contact_email,
        **money("balance", a.balance),
        "allowed_ips": list(a.allowed_ips),
        "senders": [sender_view(s) for s in a.senders],
        "recharge": recharge_view(a.recharge),
        "max_binds": a.max_binds,
        "throughput": a.throughput,
        "created_at": a.created_at.isoformat(),
    }


def accounts_view(accounts: Iterable[Account]) -> JSONObject:
    """A list of accounts."""
    return {"accounts": [account_view(a) for a in accounts]}


def entry_view(e: JournalEntry) -> JSONObject:
    """A journal entry; ``amount`` is signed."""
    return {
        "id": e.id,
        "system_id": e.system_id,
        "kind": e.kind.value,
        **money("amount", e.amount),
        **money("balance_after", e.balance_after),
        "idempotency_key": e.idempotency_key,
        "message_id": e.message_id,
        "note": e.note,
        "created_at": e.created_at.isoformat(),
    }


def created_account_view(c: CreatedAccount) -> JSONObject:
    """A new account, with ``password`` only when it was generated."""
    data: JSONObject = {"account": account_view(c.account)}
    if c.password is not None:
        data["password"] = c.password
    return data


def password_change_view(p: PasswordChange) -> JSONObject:
    """A replaced password, with ``password`` only when it was generated."""
    data: JSONObject = {"system_id": p.system_id}
    if p.password is not None:
        data["password"] = p.password
    return data


def password_reset_view(r: PasswordReset) -> JSONObject:
    """A reset password: ``mailed_to`` (null when not mailed), ``password`` only if shown."""
    data: JSONObject = {"system_id": r.system_id, "mailed_to": r.mailed_to}
    if r.password is not None:
        data["password"] = r.password
    return data


def statement_view(s: Statement) -> JSONObject:
    """An account's balance and newest journal entries."""
    return {
        **money("balance", s.account.balance),
        "system_id": s.account.system_id,
        "journal": [entry_view(e) for e in s.entries],
    }


def schema_upgrade_view(u: SchemaUpgrade) -> JSONObject:
    """The migrations applied."""
    return {"applied": list(u.applied)}


def rate_view(r: Rate) -> JSONObject:
    """A tariff rate: credits per segment to numbers starting with ``prefix``."""
    return {"prefix": r.prefix, "country": r.country, **money("credits", r.milli)}


def tariff_view(t: TariffRates) -> JSONObject:
    """Rates and the file they come from."""
    return {"source": t.source, "rates": [rate_view(r) for r in t.rates]}
