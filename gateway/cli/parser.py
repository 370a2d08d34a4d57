"""The ``smppgw`` command line: global options, one subcommand, typed arguments.

Argument values are checked by :mod:`gateway.admin.inputs` as they are parsed, so a
malformed one is a usage error (exit 2) before anything is attempted.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from gateway.admin import (
    DEFAULT_HISTORY_LIMIT,
    DEFAULT_MAX_BINDS,
    DEFAULT_PACKAGE_LIMIT,
    DEFAULT_STATEMENT_LIMIT,
    InvalidInput,
    inputs,
)
from gateway.cli import bench, commands
from gateway.cli.argtypes import int_at_least
from gateway.cli.commands import Handler
from gateway.cli.errors import PROG, UsageError
from ledger.models import RECHARGE_AMOUNTS_CREDITS, USE_GATEWAY_DEFAULT, Category, MessageState

T = TypeVar("T")

#: Used when --config is not given and this file exists (relative to the cwd).
DEFAULT_CONFIG = Path("config/smppgw.toml")


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (raised, not printed with the usage)."""

    def error(self, message: str) -> NoReturn:
        """Report a command-line error as UsageError (exit 2)."""
        raise UsageError(f"{message} (see: {self.prog} --help)")


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: global options, then one subcommand."""
    parser = _Parser(prog=PROG, description="SMPP gateway selling SMS capacity on credit.")
    parser.add_argument(
        "--config", metavar="PATH", help=f"TOML file (default: {DEFAULT_CONFIG} if present)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    subcommands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Each subcommand accepts --json too; SUPPRESS keeps a global --json when it is absent.
    # --config, likewise, may come after the subcommand (`smppgw serve --config X`).
    config_opt = _Parser(add_help=False)
    config_opt.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="TOML file")
    common = _Parser(add_help=False, parents=[config_opt])
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document"
    )

    serve = subcommands.add_parser("serve", help="run the gateway", parents=[config_opt])
    serve.add_argument("--demo", action="store_true", help="create a demo account with credit")
    bench.add_parser(subcommands, config_opt)
    _add_db(subcommands, common)
    _add_account(subcommands, common)
    _add_sender(subcommands, common)
    _add_mo(subcommands, common)
    _add_credits(subcommands, common)
    _add_recharge(subcommands, common)
    _add_alert(subcommands, common)
    _add_package(subcommands, common)
    _add_tariff(subcommands, common)
    _add_token(subcommands, common)
    _add_history(subcommands, common)
    return parser


def _group(subcommands: Any, name: str, help_text: str) -> Any:
    parser = subcommands.add_parser(name, help=help_text)
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def _leaf(group: Any, name: str, handler: Handler, help_text: str, common: _Parser) -> Any:
    parser = group.add_parser(name, help=help_text, parents=[common])
    parser.set_defaults(handler=handler)
    return parser


def _account_leaf(group: Any, name: str, handler: Handler, help_text: str, common: _Parser) -> Any:
    """A leaf whose first argument is the account's system_id."""
    parser = _leaf(group, name, handler, help_text, common)
    parser.add_argument("system_id", metavar="ID")
    return parser


def _add_db(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "db", "ledger schema")
    _leaf(group, "upgrade", commands.db_upgrade, "apply pending schema migrations", common)


def _add_account(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "account", "SMPP accounts")
    p = _leaf(group, "create", commands.account_create, "create an account", common)
    p.add_argument("system_id", metavar="SYSTEM_ID")
    p.add_argument("--password", type=_password, help="default: generated, printed once")
    p.add_argument("--owner", default="", help="customer name, free text")
    p.add_argument("--contact", metavar="EMAIL", default="", help="contact e-mail address")
    # One value per flag, repeated: "nargs=+" would swallow a SYSTEM_ID written after it.
    p.add_argument(
        "--allow-ip",
        metavar="CIDR",
        action="append",
        type=_address,
        help="bind allowlist (repeat)",
    )
    _allowlist_confirmations(p)
    p.add_argument(
        "--sender", metavar="TON:ADDR", action="append", type=_sender, help="source (repeat)"
    )
    p.add_argument("--max-binds", metavar="N", type=int_at_least(1), default=DEFAULT_MAX_BINDS)
    p.add_argument(
        "--throughput", metavar="N", type=int_at_least(0), default=0, help="0 = unlimited"
    )
    p.add_argument(
        "--default-category",
        metavar="C",
        type=_category,
        default=Category.GENERAL,
        help=_CATEGORIES,
    )
    for name, handler, text in (
        ("show", commands.account_show, "show an account and its current binds"),
        ("disable", commands.account_disable, "refuse binds and submits"),
        ("enable", commands.account_enable, "allow binds again"),
        ("close", commands.account_close, "close an empty account for good"),
    ):
        _account_leaf(group, name, handler, text, common)
    p = _account_leaf(group, "set", commands.account_set, "change an account's settings", common)
    p.add_argument("--contact", metavar="EMAIL", help="contact e-mail address ('' for none)")
    p.add_argument("--owner", metavar="O", help="customer name, free text")
    p.add_argument("--throughput", metavar="N", type=int_at_least(0), help="0 = unlimited")
    p.add_argument("--max-binds", metavar="N", type=int_at_least(1))
    p.add_argument("--default-category", metavar="C", type=_category, help=_CATEGORIES)
    p.add_argument(
        "--default-country",
        metavar="CC",
        type=_country,
        help="region national numbers are read in (FR, GB ...), 'none' to clear",
    )
    pin = p.add_mutually_exclusive_group()
    pin.add_argument(
        "--client-cert-sha256",
        metavar="HEX",
        type=inputs.client_cert_fingerprint,
        help="pin the TLS client certificate binds must show (SHA-256), 'none' to unpin",
    )
    pin.add_argument(
        "--client-cert-pem",
        metavar="FILE",
        dest="client_cert_sha256",
        type=_pem_fingerprint,
        help="pin the certificate in this PEM file (the client's certificate, not its key)",
    )
    p.add_argument(
        "--submit-window",
        metavar="N",
        type=_own_limit,
        help="submits in progress on one gateway, 0 = no limit, 'default' = the gateway's"
        " [server] account_submit_window",
    )
    p.add_argument(
        "--max-session-age",
        metavar="S",
        type=_own_limit,
        help="seconds before a session is unbound, 0 = never, 'default' = the gateway's"
        " [server] max_session_age_s",
    )
    _leaf(group, "list", commands.account_list, "list every account", common)
    p = _account_leaf(
        group, "allow-ip", commands.account_allow_ip, "add a CIDR to the bind allowlist", common
    )
    p.add_argument("cidr", metavar="CIDR", type=_address)
    _allowlist_confirmations(p)
    p = _account_leaf(
        group, "deny-ip", commands.account_deny_ip, "remove a CIDR from the bind allowlist", common
    )
    p.add_argument("cidr", metavar="CIDR", type=_cidr)
    p = _account_leaf(
        group, "password", commands.account_password, "set or regenerate the password", common
    )
    p.add_argument("--password", type=_password, help="default: generated, printed once")
    p = _account_leaf(
        group,
        "reset-password",
        commands.account_reset_password,
        "generate a new password and mail it to the contact",
        common,
    )
    p.add_argument(
        "--print",
        action="store_true",
        help="without [smtp]: print the new password once instead of mailing it",
    )


def _allowlist_confirmations(p: Any) -> None:
    """The two confirmations an allowlist entry may need (gateway.admin.inputs)."""
    p.add_argument(
        "--normalise",
        action="store_true",
        help="store 10.0.0.5/24 as the network it means, 10.0.0.0/24",
    )
    p.add_argument(
        "--any",
        dest="allow_any",
        action="store_true",
        help="allow a catch-all, 0.0.0.0/0 or ::/0: binds from anywhere",
    )


def _add_sender(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "sender", "registered source addresses")
    for name, handler, text in (
        ("add", commands.sender_add, "register a source address"),
        ("remove", commands.sender_remove, "unregister a source address"),
    ):
        p = _account_leaf(group, name, handler, text, common)
        p.add_argument("sender", metavar="TON:ADDR", type=_sender)


def _add_mo(subcommands: Any, common: _Parser) -> None:
    group = _group(
        subcommands, "mo", "numbers and keywords whose messages from handsets an account gets"
    )
    for name, handler, text in (
        ("add", commands.mo_add, "the account gets MOs to this number or with this keyword"),
        ("remove", commands.mo_remove, "the account stops getting them"),
    ):
        p = _account_leaf(group, name, handler, text, common)
        which = p.add_mutually_exclusive_group(required=True)
        which.add_argument("--number", default="", help="destination number, international")
        which.add_argument("--keyword", default="", help="first word of the message, any case")
    _account_leaf(group, "list", commands.mo_list, "what the account gets MOs for", common)


def _add_credits(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "credits", "balance and journal")
    p = _account_leaf(group, "add", commands.credits_add, "credit an account", common)
    p.add_argument("amount", metavar="AMOUNT", type=_credits, help="credits, e.g. 12.5")
    p.add_argument("--note", default="")
    p.add_argument("--key", help="idempotency key (default: a fresh UUID)")
    p = _account_leaf(group, "show", commands.credits_show, "balance and recent journal", common)
    p.add_argument("--limit", metavar="N", type=int_at_least(1), default=DEFAULT_STATEMENT_LIMIT)
    p = _leaf(
        group, "transfer", commands.credits_transfer, "move credits to another account", common
    )
    p.add_argument("source", metavar="SRC", help="the account the credits leave")
    p.add_argument("target", metavar="DST", help="an account of the same owner")
    p.add_argument("amount", metavar="AMOUNT", type=_credits, help="credits, e.g. 12.5")
    p.add_argument("--note", default="")
    p.add_argument("--key", help="idempotency key (default: a fresh UUID)")


def _add_recharge(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "recharge", "automatic recharge")
    p = _account_leaf(group, "set", commands.recharge_set, "set auto-recharge", common)
    p.add_argument("--threshold", metavar="CREDITS", type=_credits_or_zero, required=True)
    allowed = ", ".join(map(str, RECHARGE_AMOUNTS_CREDITS))
    p.add_argument("--amount", metavar="CREDITS", type=_credits, required=True, help=allowed)
    p.add_argument("--daily-cap", metavar="N", type=int_at_least(1), default=1)
    _account_leaf(group, "off", commands.recharge_off, "turn auto-recharge off", common)


def _add_alert(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "alert", "low-balance alerts by mail")
    p = _account_leaf(
        group, "set", commands.alert_set, "mail the contact when the balance falls below", common
    )
    p.add_argument("--below", metavar="CREDITS", type=_credits, required=True)
    p.add_argument(
        "--category", metavar="C", type=_category, help="watch a package category instead"
    )
    _account_leaf(group, "show", commands.alert_show, "show the account's alerts", common)
    p = _account_leaf(group, "clear", commands.alert_clear, "remove an alert", common)
    p.add_argument("--category", metavar="C", type=_category, help="a package category's alert")


def _add_package(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "package", "credit packages: prepaid messages by category")
    p = _account_leaf(group, "buy", commands.package_buy, "buy a package of messages", common)
    p.add_argument("category", metavar="CATEGORY", type=_category, help=_CATEGORIES)
    p.add_argument(
        "quantity", metavar="QUANTITY", type=int_at_least(1), help="messages, in units of 100"
    )
    p.add_argument("--name", default="", help='default: "QUANTITY CATEGORY"')
    p.add_argument("--key", help="idempotency key (default: a fresh UUID)")
    p = _account_leaf(
        group, "list", commands.package_list, "purchase records and what is left", common
    )
    p.add_argument("--limit", metavar="N", type=int_at_least(1), default=DEFAULT_PACKAGE_LIMIT)
    p.add_argument("--before", metavar="CURSOR", help="the next page (printed under a full one)")
    p = _leaf(group, "show", commands.package_show, "one package and its entries", common)
    p.add_argument("package_id", metavar="PACKAGE_ID")


def _add_tariff(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "tariff", "prices per destination")
    p = group.add_parser("show", help="list rates (pricing.tariff)", parents=[common])
    which = p.add_mutually_exclusive_group()
    which.add_argument("--prefix", metavar="P", help="only prefixes starting with P")
    which.add_argument("--number", metavar="MSISDN", help="the rate a number is charged")
    group.add_parser(
        "packs",
        help="what packs of credits cost, per credit (pricing.price_list)",
        parents=[common],
    )


def _add_token(subcommands: Any, common: _Parser) -> None:
    group = _group(subcommands, "token", "bearer tokens of the management HTTP API")
    p = _leaf(group, "create", commands.token_create, "create a token, printed once", common)
    whose = p.add_mutually_exclusive_group(required=True)
    whose.add_argument("--owner", metavar="O", help="the token sees only owner O's accounts")
    whose.add_argument("--admin", action="store_true", help="the token sees every account")
    p.add_argument("--note", default="", help="what the token is for (shown by token list)")
    _leaf(group, "list", commands.token_list, "list tokens (never their secrets)", common)
    p = _leaf(group, "revoke", commands.token_revoke, "revoke a token for good", common)
    p.add_argument("token_id", metavar="ID")


def _add_history(subcommands: Any, common: _Parser) -> None:
    p = subcommands.add_parser(
        "history", help="an account's messages, or `history prune`", parents=[common]
    )
    p.set_defaults(handler=commands.history)
    p.add_argument("system_id", metavar="ID|prune", help="the account, or prune (retention)")
    p.add_argument("--since", metavar="TIME", type=_moment, help="from (2024-05-01 or ISO 8601)")
    p.add_argument("--until", metavar="TIME", type=_moment, help="up to, not included")
    p.add_argument("--dest", metavar="PREFIX", type=_prefix, help="e.g. 33 or +336")
    p.add_argument("--status", metavar="STATE", type=_state, help=_STATES)
    p.add_argument("--limit", metavar="N", type=int_at_least(1), default=DEFAULT_HISTORY_LIMIT)
    p.add_argument("--before", metavar="CURSOR", help="the next page (printed under a full one)")
    p.add_argument(
        "--days", metavar="N", type=int_at_least(1), help="prune: keep N days (default: config)"
    )


# -- argument types (their errors become one-line usage errors) ------------------------------
def _checked(parse: Callable[[str], T]) -> Callable[[str], T]:
    """``parse`` with its InvalidInput turned into argparse's error for a bad value."""

    def check(text: str) -> T:
        try:
            return parse(text)
        except InvalidInput as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return check


_password = _checked(inputs.password)
_pem_fingerprint = _checked(inputs.pem_fingerprint)
_cidr = _checked(inputs.cidr)


def _address(text: str) -> str:
    """An address or CIDR as typed (checked only for being one): whether its host bits or
    a catch-all are accepted depends on --normalise and --any, so the service decides."""
    _cidr(text)
    return text


_sender = _checked(inputs.parse_sender)
_credits = _checked(inputs.credits)
_credits_or_zero = _checked(inputs.credits_or_zero)
_category = _checked(inputs.category)
_moment = _checked(inputs.moment)
_prefix = _checked(inputs.destination_prefix)
_CATEGORIES = ", ".join(c.value for c in Category)


def _country(value: str) -> str:
    """``--default-country``: 'none' clears it; the ledger validates the rest."""
    return "" if value.strip().lower() == "none" else value


_STATES = ", ".join(s.value for s in MessageState)


def _state(text: str) -> MessageState:
    try:
        return MessageState(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not one of {_STATES}") from None


def _own_limit(text: str) -> int:
    """An account's own limit: a whole number >= 0, or 'default' (the gateway's)."""
    if text.strip().lower() == "default":
        return USE_GATEWAY_DEFAULT
    return int_at_least(0)(text)
