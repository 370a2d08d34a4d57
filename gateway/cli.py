"""The ``smppgw`` command: run the gateway and administer accounts, credit and tariff.

``main(argv)`` parses, runs one command and returns the exit status; it never lets a
traceback out. Exit statuses:

- 0: done;
- 1: refused or failed (no such account, recharge amount not allowed, ledger down, ...);
- 2: the command line or the configuration is wrong; nothing was attempted.

Errors are one line on stderr (``smppgw: account smpp-x: no such account``). Results go
to stdout, aligned for people or, with ``--json``, as one JSON document for scripts.
Credits are shown as decimals (``12.5``); JSON adds the exact integer milli-credits
(``"balance": "12.5", "balance_milli": 12500``).

Commands that use the ledger open it from the configuration. On SQLite they first apply
pending migrations, so a fresh checkout (``./var`` absent) just works; on PostgreSQL,
which several gateways share, the schema changes only with an explicit
``smppgw db upgrade``. See docs/cli.md.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import sys
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from gateway.config import Config, ConfigError, default_config, load_config
from ledger.errors import (
    AccountExists,
    IdempotencyConflict,
    LedgerError,
    UnknownAccount,
)
from ledger.models import (
    MAX_PASSWORD_LEN,
    RECHARGE_AMOUNTS_CREDITS,
    Account,
    AccountStatus,
    JournalEntry,
    NewAccount,
    RechargePolicy,
    Sender,
    credits_to_milli,
    milli_to_credits,
)
from ledger.passwords import generate_password, hash_password
from ledger.store import Store, open_store

if TYPE_CHECKING:
    from gateway.policy.tariff import Rate

PROG = "smppgw"
#: Used when --config is not given and this file exists (relative to the cwd).
DEFAULT_CONFIG = Path("config/smppgw.toml")
EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
#: NPI registered for a sender given as TON:ADDR (SMPP 3.4 §5.2.6): E.164 numbers are
#: ISDN (1), alphanumeric and short codes "unknown" (0). Submits match on TON and address.
_DEFAULT_NPI = {1: 1, 2: 1}


class UsageError(Exception):
    """The command line is wrong (exit 2)."""


class Refusal(Exception):
    """The command is understood but refused (exit 1)."""


@dataclass(frozen=True, slots=True)
class Result:
    """What a command shows: ``data`` for ``--json``, ``text`` for people."""

    data: Any
    text: str


Handler = Callable[[Store, argparse.Namespace], Awaitable[Result]]


# -- entry point ----------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    """Run ``smppgw`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    try:
        args = build_parser().parse_args(argv)
        return _run(args)
    except SystemExit as e:  # --help, --version: argparse exits on its own
        return e.code if isinstance(e.code, int) else EXIT_OK
    except KeyboardInterrupt:
        return 130
    except Exception as e:
        status, message = describe_error(e)
        print(f"{PROG}: {message}", file=sys.stderr)
        return status


def _run(args: argparse.Namespace) -> int:
    if args.command == "bench":  # the runner writes its own configs: ours is not read
        return _bench(args.bench_args)
    config = _config(args.config)
    if args.command == "serve":
        return _serve(config, demo=args.demo)
    if args.command == "tariff":
        result = _tariff_show(config, args)
    else:
        result = asyncio.run(_with_store(config, args.handler, args))
    _emit(result, as_json=args.json, out=sys.stdout)
    return EXIT_OK


def _config(path: str | None) -> Config:
    """--config PATH, else config/smppgw.toml if present, else the built-in defaults."""
    if path is not None:
        return load_config(path)
    if DEFAULT_CONFIG.is_file():
        return load_config(DEFAULT_CONFIG)
    return default_config()


async def _with_store(config: Config, handler: Handler, args: argparse.Namespace) -> Result:
    store = await open_store(config.ledger.url)
    try:
        if config.ledger.url.startswith("sqlite:") and args.command != "db":
            # Embedded ledger, one owner: bring the schema up to date silently.
            await store.upgrade()
        return await handler(store, args)
    finally:
        await store.close()


def _emit(result: Result, *, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(result.data, indent=2, ensure_ascii=False) + "\n")
    elif result.text:
        out.write(result.text.rstrip("\n") + "\n")


def describe_error(e: BaseException) -> tuple[int, str]:
    """The exit status and the one-line message for an error that ended a command."""
    if isinstance(e, UsageError | ConfigError):
        status, message = EXIT_USAGE, str(e)
    elif isinstance(e, UnknownAccount):
        status, message = EXIT_REFUSED, f"account {e}: no such account"
    elif isinstance(e, AccountExists):
        status, message = EXIT_REFUSED, f"account {e}: already exists"
    elif isinstance(e, IdempotencyConflict):
        status, message = EXIT_REFUSED, f"key {e} was already used for a different operation"
    elif isinstance(e, LedgerError | Refusal | ValueError | _tariff_error()):
        status, message = EXIT_REFUSED, str(e) or type(e).__name__
    elif isinstance(e, OSError):
        where = f": {e.filename}" if e.filename else ""
        status, message = EXIT_REFUSED, f"{e.strerror or e}{where}"
    else:
        status, message = EXIT_REFUSED, f"unexpected error: {type(e).__name__}: {e}"
    return status, " ".join(message.split())  # one line, whatever the exception held


def _tariff_error() -> type[Exception]:
    """``gateway.policy.tariff.TariffError``, imported lazily: only ``tariff show`` needs it."""
    try:
        from gateway.policy.tariff import TariffError
    except ImportError:  # this handler must never fail itself
        return Refusal
    return TariffError


# -- the parser -----------------------------------------------------------------------------
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
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Each subcommand accepts --json too; SUPPRESS keeps a global --json when it is absent.
    # --config, likewise, may come after the subcommand (`smppgw serve --config X`).
    config_opt = _Parser(add_help=False)
    config_opt.add_argument("--config", metavar="PATH", default=argparse.SUPPRESS, help="TOML file")
    common = _Parser(add_help=False, parents=[config_opt])
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print one JSON document"
    )

    serve = commands.add_parser("serve", help="run the gateway", parents=[config_opt])
    serve.add_argument("--demo", action="store_true", help="create a demo account with credit")
    # Every argument after "bench" (--help included) goes to benchmarks/run.py: no prefix
    # character is an option marker here.
    bench = commands.add_parser(
        "bench", help="run the benchmarks (source checkout)", add_help=False, prefix_chars="\0"
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    _add_db(commands, common)
    _add_account(commands, common)
    _add_sender(commands, common)
    _add_credits(commands, common)
    _add_recharge(commands, common)
    _add_tariff(commands, common)
    return parser


def _group(commands: Any, name: str, help_text: str) -> Any:
    parser = commands.add_parser(name, help=help_text)
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION")


def _leaf(group: Any, name: str, handler: Handler, help_text: str, common: _Parser) -> Any:
    parser = group.add_parser(name, help=help_text, parents=[common])
    parser.set_defaults(handler=handler)
    return parser


def _add_db(commands: Any, common: _Parser) -> None:
    group = _group(commands, "db", "ledger schema")
    _leaf(group, "upgrade", _db_upgrade, "apply pending schema migrations", common)


def _add_account(commands: Any, common: _Parser) -> None:
    group = _group(commands, "account", "SMPP accounts")
    p = _leaf(group, "create", _account_create, "create an account", common)
    p.add_argument("system_id", metavar="SYSTEM_ID")
    p.add_argument("--password", type=_password, help="default: generated, printed once")
    p.add_argument("--owner", default="", help="customer name, free text")
    p.add_argument("--contact", metavar="EMAIL", default="", help="contact e-mail address")
    # One value per flag, repeated: "nargs=+" would swallow a SYSTEM_ID written after it.
    p.add_argument(
        "--allow-ip", metavar="CIDR", action="append", type=_cidr, help="bind allowlist (repeat)"
    )
    p.add_argument(
        "--sender", metavar="TON:ADDR", action="append", type=_sender, help="source (repeat)"
    )
    p.add_argument("--max-binds", metavar="N", type=_int_min(1), default=_new_default("max_binds"))
    p.add_argument("--throughput", metavar="N", type=_int_min(0), default=0, help="0 = unlimited")
    for name, handler, text in (
        ("show", _account_show, "show an account"),
        ("disable", _account_disable, "refuse binds and submits"),
        ("enable", _account_enable, "allow binds again"),
    ):
        _leaf(group, name, handler, text, common).add_argument("system_id", metavar="ID")
    _leaf(group, "list", _account_list, "list every account", common)
    for name, handler, text in (
        ("allow-ip", _account_allow_ip, "add a CIDR to the bind allowlist"),
        ("deny-ip", _account_deny_ip, "remove a CIDR from the bind allowlist"),
    ):
        p = _leaf(group, name, handler, text, common)
        p.add_argument("system_id", metavar="ID")
        p.add_argument("cidr", metavar="CIDR", type=_cidr)
    p = _leaf(group, "password", _account_password, "set or regenerate the password", common)
    p.add_argument("system_id", metavar="ID")
    p.add_argument("--password", type=_password, help="default: generated, printed once")


def _add_sender(commands: Any, common: _Parser) -> None:
    group = _group(commands, "sender", "registered source addresses")
    for name, handler, text in (
        ("add", _sender_add, "register a source address"),
        ("remove", _sender_remove, "unregister a source address"),
    ):
        p = _leaf(group, name, handler, text, common)
        p.add_argument("system_id", metavar="ID")
        p.add_argument("sender", metavar="TON:ADDR", type=_sender)


def _add_credits(commands: Any, common: _Parser) -> None:
    group = _group(commands, "credits", "balance and journal")
    p = _leaf(group, "add", _credits_add, "credit an account", common)
    p.add_argument("system_id", metavar="ID")
    p.add_argument("amount", metavar="AMOUNT", type=_credits, help="credits, e.g. 12.5")
    p.add_argument("--note", default="")
    p.add_argument("--key", help="idempotency key (default: a fresh UUID)")
    p = _leaf(group, "show", _credits_show, "balance and recent journal", common)
    p.add_argument("system_id", metavar="ID")
    p.add_argument("--limit", metavar="N", type=_int_min(1), default=20)


def _add_recharge(commands: Any, common: _Parser) -> None:
    group = _group(commands, "recharge", "automatic recharge")
    p = _leaf(group, "set", _recharge_set, "set auto-recharge", common)
    p.add_argument("system_id", metavar="ID")
    p.add_argument("--threshold", metavar="CREDITS", type=_credits_or_zero, required=True)
    allowed = ", ".join(map(str, RECHARGE_AMOUNTS_CREDITS))
    p.add_argument("--amount", metavar="CREDITS", type=_credits, required=True, help=allowed)
    p.add_argument("--daily-cap", metavar="N", type=_int_min(1), default=1)
    p = _leaf(group, "off", _recharge_off, "turn auto-recharge off", common)
    p.add_argument("system_id", metavar="ID")


def _add_tariff(commands: Any, common: _Parser) -> None:
    group = _group(commands, "tariff", "prices per destination")
    p = group.add_parser("show", help="list rates (pricing.tariff)", parents=[common])
    which = p.add_mutually_exclusive_group()
    which.add_argument("--prefix", metavar="P", help="only prefixes starting with P")
    which.add_argument("--number", metavar="MSISDN", help="the rate a number is charged")


def _new_default(name: str) -> Any:
    """A NewAccount default, so the CLI and the ledger agree on it."""
    return next(f.default for f in fields(NewAccount) if f.name == name)


# -- argument types (their errors become one-line usage errors) ------------------------------
def _password(text: str) -> str:
    if not 1 <= len(text) <= MAX_PASSWORD_LEN or not (text.isascii() and text.isprintable()):
        raise argparse.ArgumentTypeError(
            f"a password is 1 to {MAX_PASSWORD_LEN} printable ASCII characters (SMPP limit)"
        )
    return text


def _cidr(text: str) -> str:
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address or CIDR: {text!r}") from None
    return text


def _sender(text: str) -> Sender:
    """``TON:ADDR`` or ``TON:NPI:ADDR`` (``5:MyShop``, ``1:33612345678``, ``3:12345``)."""
    parts = text.split(":")
    try:
        numbers = [int(p) for p in parts[:-1]]
    except ValueError:
        numbers = []
    if len(parts) not in (2, 3) or len(numbers) != len(parts) - 1 or not parts[-1]:
        raise argparse.ArgumentTypeError(
            f"a sender is TON:ADDR, e.g. 5:MyShop or 1:33612345678, not {text!r}"
        )
    ton = numbers[0]
    npi = numbers[1] if len(numbers) == 2 else _DEFAULT_NPI.get(ton, 0)
    return Sender(ton=ton, npi=npi, address=parts[-1])


def _credits_or_zero(text: str) -> int:
    try:
        milli = credits_to_milli(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if milli < 0 or not text.replace(".", "", 1).isdigit():
        # isdigit: refuse "1e3", "NaN", "-0": an operator never means those as money.
        raise argparse.ArgumentTypeError(f"not a plain decimal number of credits: {text!r}")
    return milli


def _credits(text: str) -> int:
    milli = _credits_or_zero(text)
    if milli == 0:
        raise argparse.ArgumentTypeError("an amount of credits must be more than 0")
    return milli


def _int_min(low: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value

    return parse


# -- commands -------------------------------------------------------------------------------
def _serve(config: Config, *, demo: bool) -> int:
    """Run ``gateway.app.serve`` until it returns (SIGINT/SIGTERM), on uvloop if present."""
    try:
        from gateway import app
    except ModuleNotFoundError as e:
        if e.name != "gateway.app":
            raise
        raise Refusal("serve is not available: gateway/app.py is missing") from None
    with asyncio.Runner(loop_factory=_loop_factory()) as runner:
        runner.run(app.serve(config, demo=demo))
    return EXIT_OK


def _bench(argv: list[str]) -> int:
    """``smppgw bench ARGS``: ``benchmarks/run.py`` of the source checkout (its ``--help``)."""
    import runpy

    script = Path(__file__).resolve().parents[1] / "benchmarks" / "run.py"
    if not script.is_file():
        raise Refusal(f"bench needs a source checkout: {script} not found")
    return int(runpy.run_path(str(script))["main"](argv))


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    try:
        import uvloop
    except ImportError:
        return None  # the standard loop: slower, same behaviour
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


async def _db_upgrade(store: Store, args: argparse.Namespace) -> Result:
    applied = await store.upgrade()
    text = "\n".join(f"applied {name}" for name in applied) or "schema is up to date"
    return Result({"applied": applied}, text)


async def _account_create(store: Store, args: argparse.Namespace) -> Result:
    password = args.password or generate_password(MAX_PASSWORD_LEN)
    account = await store.create_account(
        NewAccount(
            system_id=args.system_id,
            password_hash=hash_password(password),
            owner=args.owner,
            contact_email=args.contact,
            allowed_ips=tuple(args.allow_ip or ()),
            senders=tuple(args.sender or ()),
            max_binds=args.max_binds,
            throughput=args.throughput,
        )
    )
    data: dict[str, Any] = {"account": account_json(account)}
    text = f"created account {account.system_id}\n{_describe_account(account)}"
    if args.password is None:
        # Shown once, on stdout only: the store keeps a hash and nothing logs it.
        data["password"] = password
        text += f"\npassword: {password}  (shown once; it cannot be recovered)"
    return Result(data, text)


async def _account_show(store: Store, args: argparse.Namespace) -> Result:
    account = await store.get_account(args.system_id)
    return Result(account_json(account), _describe_account(account))


async def _account_list(store: Store, args: argparse.Namespace) -> Result:
    accounts = await store.list_accounts()
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
    text = table(headers, rows, right={2, 3, 4}) if rows else "no accounts"
    return Result({"accounts": [account_json(a) for a in accounts]}, text)


async def _account_disable(store: Store, args: argparse.Namespace) -> Result:
    account = await store.set_status(args.system_id, AccountStatus.DISABLED)
    return Result(account_json(account), f"{account.system_id}: disabled")


async def _account_enable(store: Store, args: argparse.Namespace) -> Result:
    account = await store.set_status(args.system_id, AccountStatus.ACTIVE)
    return Result(account_json(account), f"{account.system_id}: active")


async def _account_allow_ip(store: Store, args: argparse.Namespace) -> Result:
    account = await store.allow_ip(args.system_id, args.cidr)
    return Result(account_json(account), f"{account.system_id}: allowed IPs {_ips(account)}")


async def _account_deny_ip(store: Store, args: argparse.Namespace) -> Result:
    account = await store.deny_ip(args.system_id, args.cidr)
    return Result(account_json(account), f"{account.system_id}: allowed IPs {_ips(account)}")


async def _account_password(store: Store, args: argparse.Namespace) -> Result:
    password = args.password or generate_password(MAX_PASSWORD_LEN)
    await store.set_password_hash(args.system_id, hash_password(password))
    data: dict[str, Any] = {"system_id": args.system_id}
    text = f"{args.system_id}: password changed"
    if args.password is None:
        data["password"] = password
        text += f"\npassword: {password}  (shown once; it cannot be recovered)"
    return Result(data, text)


async def _sender_add(store: Store, args: argparse.Namespace) -> Result:
    account = await store.add_sender(args.system_id, args.sender)
    return Result(account_json(account), f"{account.system_id}: senders {_senders(account)}")


async def _sender_remove(store: Store, args: argparse.Namespace) -> Result:
    wanted: Sender = args.sender
    account = await store.get_account(args.system_id)
    # Match on TON and address as submits do, so the NPI need not be typed again.
    registered = next(
        (s for s in account.senders if (s.ton, s.address) == (wanted.ton, wanted.address)),
        wanted,
    )
    account = await store.remove_sender(args.system_id, registered)
    return Result(account_json(account), f"{account.system_id}: senders {_senders(account)}")


async def _credits_add(store: Store, args: argparse.Namespace) -> Result:
    # A fresh key by default; a script that may retry passes its own, and a replay
    # returns the first entry instead of crediting twice.
    key = args.key or f"cli:{uuid.uuid4()}"
    entry = await store.credit(args.system_id, args.amount, idempotency_key=key, note=args.note)
    text = (
        f"{entry.system_id}: +{milli_to_credits(entry.amount)} credits, "
        f"balance {milli_to_credits(entry.balance_after)} (entry {entry.id}, key {key})"
    )
    return Result(entry_json(entry), text)


async def _credits_show(store: Store, args: argparse.Namespace) -> Result:
    account = await store.get_account(args.system_id)
    entries = await store.journal(args.system_id, limit=args.limit)
    data = {**_money("balance", account.balance), "system_id": account.system_id}
    data["journal"] = [entry_json(e) for e in entries]
    rows = [
        [
            str(e.id),
            e.created_at.isoformat(timespec="seconds"),
            e.kind.value,
            _signed(e.amount),
            milli_to_credits(e.balance_after),
            e.message_id or e.note,
        ]
        for e in entries
    ]
    headers = ["ID", "TIME", "KIND", "AMOUNT", "BALANCE", "MESSAGE/NOTE"]
    journal = table(headers, rows, right={0, 3, 4}) if rows else "no journal entries"
    text = f"{account.system_id}: balance {milli_to_credits(account.balance)} credits\n{journal}"
    return Result(data, text)


async def _recharge_set(store: Store, args: argparse.Namespace) -> Result:
    allowed = [c * 1000 for c in RECHARGE_AMOUNTS_CREDITS]
    if args.amount not in allowed:
        listed = ", ".join(map(str, RECHARGE_AMOUNTS_CREDITS))
        raise Refusal(
            f"recharge amount {milli_to_credits(args.amount)} is not allowed: "
            f"choose one of {listed} credits"
        )
    policy = RechargePolicy(args.threshold, args.amount, args.daily_cap)
    account = await store.set_recharge(args.system_id, policy)
    return Result(account_json(account), f"{account.system_id}: {_recharge(account)}")


async def _recharge_off(store: Store, args: argparse.Namespace) -> Result:
    account = await store.set_recharge(args.system_id, None)
    return Result(account_json(account), f"{account.system_id}: {_recharge(account)}")


def _tariff_show(config: Config, args: argparse.Namespace) -> Result:
    from gateway.policy.tariff import Tariff  # lazily: only this command reads the tariff

    tariff = Tariff.load(config.pricing.tariff)
    if args.number is not None:
        rate = tariff.rate_for(args.number.lstrip("+"))
        if rate is None:
            raise Refusal(f"no rate for {args.number} in {tariff.source}")
        rates = [rate]
    else:
        rates = [r for r in tariff if r.prefix.startswith(args.prefix or "")]
    data = {"source": tariff.source, "rates": [rate_json(r) for r in rates]}
    rows = [[r.prefix, r.country, milli_to_credits(r.milli)] for r in rates]
    text = table(["PREFIX", "COUNTRY", "CREDITS"], rows, right={2}) if rows else "no rates"
    return Result(data, text)


# -- presentation ---------------------------------------------------------------------------
def table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, right: set[int]) -> str:
    """Columns aligned on the widest cell; columns in ``right`` (numbers) right-aligned."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if i in right else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    return "\n".join(line(r) for r in [headers, *rows])


def _describe_account(a: Account) -> str:
    pairs = [
        ("system_id", a.system_id),
        ("status", a.status.value),
        ("owner", a.owner or "-"),
        ("contact", a.contact_email or "-"),
        ("balance", f"{milli_to_credits(a.balance)} credits"),
        ("allowed IPs", _ips(a)),
        ("senders", _senders(a)),
        ("recharge", _recharge(a)),
        ("max binds", str(a.max_binds)),
        ("throughput", f"{a.throughput} msg/s" if a.throughput else "unlimited"),
        ("created", a.created_at.isoformat(timespec="seconds")),
    ]
    width = max(len(k) for k, _ in pairs)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in pairs)


def _ips(a: Account) -> str:
    # An empty allowlist refuses every bind: say so rather than print nothing.
    return ", ".join(a.allowed_ips) or "none (every bind is refused)"


def _senders(a: Account) -> str:
    return ", ".join(f"{s.ton}:{s.address}" for s in a.senders) or "none"


def _recharge(a: Account) -> str:
    p = a.recharge
    if p is None:
        return "auto-recharge off"
    times = "time" if p.daily_cap == 1 else "times"
    return (
        f"add {milli_to_credits(p.amount)} credits when the balance falls to "
        f"{milli_to_credits(p.threshold)} or below, at most {p.daily_cap} {times} a UTC day"
    )


def _signed(milli: int) -> str:
    text = milli_to_credits(milli)
    return text if milli < 0 else f"+{text}"


def _money(name: str, milli: int) -> dict[str, Any]:
    return {name: milli_to_credits(milli), f"{name}_milli": milli}


def account_json(a: Account) -> dict[str, Any]:
    """An account for --json output; the password hash is never included."""
    recharge = None
    if a.recharge is not None:
        recharge = {
            **_money("threshold", a.recharge.threshold),
            **_money("amount", a.recharge.amount),
            "daily_cap": a.recharge.daily_cap,
        }
    return {
        "system_id": a.system_id,
        "status": a.status.value,
        "owner": a.owner,
        "contact_email": a.contact_email,
        **_money("balance", a.balance),
        "allowed_ips": list(a.allowed_ips),
        "senders": [{"ton": s.ton, "npi": s.npi, "address": s.address} for s in a.senders],
        "recharge": recharge,
        "max_binds": a.max_binds,
        "throughput": a.throughput,
        "created_at": a.created_at.isoformat(),
    }


def entry_json(e: JournalEntry) -> dict[str, Any]:
    """A journal entry for --json output."""
    return {
        "id": e.id,
        "system_id": e.system_id,
        "kind": e.kind.value,
        **_money("amount", e.amount),
        **_money("balance_after", e.balance_after),
        "idempotency_key": e.idempotency_key,
        "message_id": e.message_id,
        "note": e.note,
        "created_at": e.created_at.isoformat(),
    }


def rate_json(r: Rate) -> dict[str, Any]:
    """A tariff rate for --json output."""
    return {"prefix": r.prefix, "country": r.country, **_money("credits", r.milli)}
