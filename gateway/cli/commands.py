"""The commands that administer the ledger and the tariff: call the service, render.

Each handler turns parsed arguments into one :mod:`gateway.admin` action and its result
into a :class:`Result`: the JSON view for ``--json`` and text for people. Rules belong
to the service layer, never here.
"""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway import admin
from gateway.admin import package_views, views
from gateway.cli import render
from gateway.cli.errors import Refusal, UsageError
from ledger.models import Account, AccountStatus, milli_to_credits
from ledger.models.mo import MoRoute
from ledger.store import Store


@dataclass(frozen=True, slots=True)
class Result:
    """What a command shows: ``data`` for ``--json``, ``text`` for people."""

    data: Any
    text: str


Handler = Callable[[Store, argparse.Namespace], Awaitable[Result]]


async def db_upgrade(store: Store, args: argparse.Namespace) -> Result:
    """``db upgrade``."""
    upgrade = await admin.upgrade_schema(store)
    text = "\n".join(f"applied {name}" for name in upgrade.applied) or "schema is up to date"
    return Result(views.schema_upgrade_view(upgrade), text)


async def account_create(store: Store, args: argparse.Namespace) -> Result:
    """``account create``."""
    created = await admin.create_account(
        store,
        args.system_id,
        password=args.password,
        owner=args.owner,
        contact_email=args.contact,
        allowed_ips=args.allow_ip or (),
        senders=args.sender or (),
        max_binds=args.max_binds,
        throughput=args.throughput,
        default_category=args.default_category,
        normalise=args.normalise,
        allow_any=args.allow_any,
    )
    account = created.account
    text = f"created account {account.system_id}\n{render.describe_account(account)}"
    if created.password is not None:
        text += "\n" + render.one_time_password(created.password)
    return Result(views.created_account_view(created), text)


async def account_show(store: Store, args: argparse.Namespace) -> Result:
    """``account show``: the account and its current binds."""
    details = await admin.account_details(store, args.system_id)
    text = f"{render.describe_account(details.account)}\n{render.binds(details.binds)}"
    return Result(views.account_details_view(details), text)


async def account_set(store: Store, args: argparse.Namespace) -> Result:
    """``account set``: change the settings given."""
    account = await admin.update_account(
        store,
        args.system_id,
        owner=args.owner,
        contact_email=args.contact,
        default_category=args.default_category,
        throughput=args.throughput,
        max_binds=args.max_binds,
        default_country=args.default_country,
        client_cert_sha256=args.client_cert_sha256,
        submit_window=args.submit_window,
        max_session_age_s=args.max_session_age,
    )
    text = f"updated account {account.system_id}\n{render.describe_account(account)}"
    return Result(views.account_view(account), text)


async def account_close(store: Store, args: argparse.Namespace) -> Result:
    """``account close``."""
    account = await admin.close_account(store, args.system_id)
    return _account_line(account, "closed")


async def account_list(store: Store, args: argparse.Namespace) -> Result:
    """``account list``."""
    accounts = await admin.list_accounts(store)
    rows = [
        [
            a.system_id,
            a.status.value,
            milli_to_credits(a.balance),
            str(len(a.allowed_ips)),
            str(len(a.senders)),
            "on" if a.recharge else "off",
            a.owner,
        ]
        for a in accounts
    ]
    headers = ["SYSTEM_ID", "STATUS", "BALANCE", "IPS", "SENDERS", "RECHARGE", "OWNER"]
    text = render.table(headers, rows, right={2, 3, 4}) if rows else "no accounts"
    return Result(views.accounts_view(accounts), text)


async def account_disable(store: Store, args: argparse.Namespace) -> Result:
    """``account disable``."""
    return await _status(store, args.system_id, AccountStatus.DISABLED)


async def account_enable(store: Store, args: argparse.Namespace) -> Result:
    """``account enable``."""
    return await _status(store, args.system_id, AccountStatus.ACTIVE)


async def _status(store: Store, system_id: str, status: AccountStatus) -> Result:
    account = await admin.set_status(store, system_id, status)
    return _account_line(account, account.status.value)


def _account_line(account: Account, what: str) -> Result:
    """A changed account: the account view, and one line ``system_id: what`` for people."""
    return Result(views.account_view(account), f"{account.system_id}: {what}")


def _allowlist(account: Account) -> Result:
    return _account_line(account, f"allowed IPs {render.ips(account)}")


def _senders(account: Account) -> Result:
    return _account_line(account, f"senders {render.senders(account)}")


async def account_allow_ip(store: Store, args: argparse.Namespace) -> Result:
    """``account allow-ip``."""
    changed = await admin.allow_ip(
        store, args.system_id, args.cidr, normalise=args.normalise, allow_any=args.allow_any
    )
    return _allowlist(changed)


async def account_deny_ip(store: Store, args: argparse.Namespace) -> Result:
    """``account deny-ip``."""
    return _allowlist(await admin.deny_ip(store, args.system_id, args.cidr))


async def account_password(store: Store, args: argparse.Namespace) -> Result:
    """``account password``."""
    change = await admin.set_password(store, args.system_id, args.password)
    text = f"{change.system_id}: password changed"
    if change.password is not None:
        text += "\n" + render.one_time_password(change.password)
    return Result(views.password_change_view(change), text)


async def account_reset_password(store: Store, args: argparse.Namespace) -> Result:
    """``account reset-password`` (mails through ``[smtp]`` of the configuration)."""
    # Imported here: only this command needs the SMTP client and its logging stack.
    import structlog

    from gateway.mail.sender import Mailer

    # The command's output says what happened; a log line would only repeat it, and on
    # stdout, where --json output goes: the mailer's events are returned, never written.
    silent = structlog.wrap_logger(structlog.ReturnLogger(), processors=[])
    mailer = Mailer.from_config(args.settings, log=silent)
    try:
        reset = await admin.reset_password(store, args.system_id, mailer, print_password=args.print)
    except admin.MailNotConfigured as e:
        raise Refusal(f"{e}; give --print to show it once instead") from e
    if reset.password is not None:
        text = f"{reset.system_id}: password changed\n{render.one_time_password(reset.password)}"
    else:
        text = f"{reset.system_id}: new password mailed to {reset.mailed_to}"
    return Result(views.password_reset_view(reset), text)


async def sender_add(store: Store, args: argparse.Namespace) -> Result:
    """``sender add``."""
    return _senders(await admin.add_sender(store, args.system_id, args.sender))


def _mo_routes(system_id: str, routes: list[MoRoute]) -> Result:
    data = {
        "system_id": system_id,
        "numbers": [r.value for r in routes if r.kind == "number"],
        "keywords": [r.value for r in routes if r.kind == "keyword"],
    }
    shown = ", ".join(f"{r.kind} {r.value}" for r in routes) or "none"
    return Result(data, f"{system_id}: MOs for {shown}")


async def mo_add(store: Store, args: argparse.Namespace) -> Result:
    """``mo add``."""
    await admin.add_mo_route(store, args.system_id, number=args.number, keyword=args.keyword)
    return _mo_routes(args.system_id, await admin.mo_routes(store, args.system_id))


async def mo_remove(store: Store, args: argparse.Namespace) -> Result:
    """``mo remove``."""
    routes = await admin.remove_mo_route(
        store, args.system_id, number=args.number, keyword=args.keyword
    )
    return _mo_routes(args.system_id, routes)


async def mo_list(store: Store, args: argparse.Namespace) -> Result:
    """``mo list``."""
    return _mo_routes(args.system_id, await admin.mo_routes(store, args.system_id))


async def sender_remove(store: Store, args: argparse.Namespace) -> Result:
    """``sender remove``."""
    return _senders(await admin.remove_sender(store, args.system_id, args.sender))


async def credits_add(store: Store, args: argparse.Namespace) -> Result:
    """``credits add``."""
    entry = await admin.add_credit(
        store, args.system_id, args.amount, key=args.key, note=args.note, origin="cli"
    )
    text = (
        f"{entry.system_id}: +{milli_to_credits(entry.amount)} credits, "
        f"balance {milli_to_credits(entry.balance_after)} "
        f"(entry {entry.id}, key {entry.idempotency_key})"
    )
    return Result(views.entry_view(entry), text)


async def credits_show(store: Store, args: argparse.Namespace) -> Result:
    """``credits show``."""
    shown = await admin.statement(store, args.system_id, limit=args.limit)
    rows = [
        [
            str(e.id),
            e.created_at.isoformat(timespec="seconds"),
            e.kind.value,
            render.signed(e.amount),
            milli_to_credits(e.balance_after),
            render.entry_detail(e),
        ]
        for e in shown.entries
    ]
    headers = ["ID", "TIME", "KIND", "AMOUNT", "BALANCE", "MESSAGE/NOTE"]
    journal = render.table(headers, rows, right={0, 3, 4}) if rows else "no journal entries"
    balance = milli_to_credits(shown.account.balance)
    text = f"{shown.account.system_id}: balance {balance} credits\n{journal}"
    return Result(views.statement_view(shown), text)


async def credits_transfer(store: Store, args: argparse.Namespace) -> Result:
    """``credits transfer``."""
    moved = await admin.transfer(
        store, args.source, args.target, args.amount, key=args.key, note=args.note, origin="cli"
    )
    text = (
        f"moved {milli_to_credits(moved.in_.amount)} credits from {moved.out.system_id}"
        f" (balance {milli_to_credits(moved.source_balance)}) to {moved.in_.system_id}"
        f" (balance {milli_to_credits(moved.target_balance)})"
        f" (entries {moved.out.id} and {moved.in_.id}, key {moved.out.idempotency_key})"
    )
    return Result(views.transfer_view(moved), text)


async def history(store: Store, args: argparse.Namespace) -> Result:
    """``history ID`` (a page of messages) and ``history prune`` (retention, now)."""
    if args.system_id == "prune":
        days = args.days if args.days is not None else args.settings.ledger.history_retention_days
        pruned = await admin.prune_history(store, days)
        text = (
            f"deleted {pruned.messages} messages and {pruned.receipts} receipts created"
            f" before {pruned.cutoff.isoformat(timespec='seconds')}"
        )
        return Result(views.prune_view(pruned), text)
    if args.days is not None:
        raise UsageError("--days goes with `history prune` (see: smppgw history --help)")
    page = await admin.history(
        store,
        args.system_id,
        since=args.since,
        until=args.until,
        dest_prefix=args.dest or "",
        state=args.status,
        limit=args.limit,
        before=args.before,
    )
    return Result(views.history_page_view(page), render.history(page))


async def recharge_set(store: Store, args: argparse.Namespace) -> Result:
    """``recharge set``."""
    account = await admin.set_recharge(
        store,
        args.system_id,
        threshold=args.threshold,
        amount=args.amount,
        daily_cap=args.daily_cap,
    )
    return _account_line(account, render.recharge(account))


async def recharge_off(store: Store, args: argparse.Namespace) -> Result:
    """``recharge off``."""
    account = await admin.recharge_off(store, args.system_id)
    return _account_line(account, render.recharge(account))


async def package_buy(store: Store, args: argparse.Namespace) -> Result:
    """``package buy``."""
    package = await admin.buy_package(
        store,
        args.system_id,
        args.category,
        args.quantity,
        name=args.name,
        key=args.key,
        validity_months=args.settings.packages.validity_months,
    )
    return Result(package_views.package_view(package), f"bought {render.package_line(package)}")


async def package_list(store: Store, args: argparse.Namespace) -> Result:
    """``package list``."""
    listing = await admin.list_packages(store, args.system_id, limit=args.limit, before=args.before)
    return Result(package_views.packages_view(listing), render.packages(listing))


async def package_show(store: Store, args: argparse.Namespace) -> Result:
    """``package show``."""
    details = await admin.show_package(store, args.package_id)
    return Result(package_views.package_details_view(details), render.package_details(details))


async def alert_set(store: Store, args: argparse.Namespace) -> Result:
    """``alert set``."""
    alert = await admin.set_alert(store, args.system_id, below=args.below, category=args.category)
    return Result(views.alert_view(alert), f"{args.system_id}: {render.alert(alert)}")


async def alert_show(store: Store, args: argparse.Namespace) -> Result:
    """``alert show``."""
    settings = await admin.show_alerts(store, args.system_id)
    return Result(views.alerts_view(settings), render.alerts(settings))


async def alert_clear(store: Store, args: argparse.Namespace) -> Result:
    """``alert clear``."""
    done = await admin.clear_alert(store, args.system_id, category=args.category)
    what = f"the {done.category.value} packages" if done.category else "the credit balance"
    verb = "cleared the alert on" if done.cleared else "there was no alert on"
    return Result(views.alert_cleared_view(done), f"{done.system_id}: {verb} {what}")


async def token_create(store: Store, args: argparse.Namespace) -> Result:
    """``token create``."""
    created = await admin.create_token(store, owner=args.owner, admin=args.admin, note=args.note)
    t = created.token
    scope = "every account" if t.is_admin else f"the accounts of owner {t.owner!r}"
    text = (
        f"created token {t.token_id} for {scope}\n"
        f"token: {created.secret}  (shown once; only its hash is stored)"
    )
    return Result(views.created_token_view(created), text)


async def token_list(store: Store, args: argparse.Namespace) -> Result:
    """``token list`` (never a secret: only hashes are stored)."""
    tokens = await admin.list_tokens(store)
    rows = [
        [
            t.token_id,
            "admin" if t.is_admin else f"owner {t.owner}",
            t.created_at.isoformat(timespec="seconds"),
            t.revoked_at.isoformat(timespec="seconds") if t.revoked_at else "-",
            t.note,
        ]
        for t in tokens
    ]
    headers = ["ID", "SCOPE", "CREATED", "REVOKED", "NOTE"]
    text = render.table(headers, rows, right=set()) if rows else "no tokens"
    return Result(views.tokens_view(tokens), text)


async def token_revoke(store: Store, args: argparse.Namespace) -> Result:
    """``token revoke``."""
    token = await admin.revoke_token(store, args.token_id)
    return Result(views.token_view(token), f"{token.token_id}: revoked")


def tariff_show(tariff: str | Path, args: argparse.Namespace) -> Result:
    """``tariff show`` (reads the tariff file, not the ledger)."""
    shown = admin.show_tariff(tariff, prefix=args.prefix, number=args.number)
    rows = [[r.prefix, r.country, milli_to_credits(r.milli)] for r in shown.rates]
    text = render.table(["PREFIX", "COUNTRY", "CREDITS"], rows, right={2}) if rows else "no rates"
    return Result(views.tariff_view(shown), text)


def tariff_packs(price_list: str | Path | None) -> Result:
    """``tariff packs`` (reads ``[pricing] price_list``, not the ledger)."""
    from gateway.admin.prices import price_list_view

    prices = admin.show_prices(price_list)
    rows = [
        [str(p.credits), f"{p.price} {p.currency}", f"{p.per_credit} {p.currency}"]
        for p in prices.packs
    ]
    text = render.table(["CREDITS", "PRICE", "PER CREDIT"], rows, right={0, 1, 2})
    return Result(price_list_view(prices), text)
