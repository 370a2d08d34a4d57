"""``smppgw bench HOST:PORT ...``: the load generator (``gateway.loadgen``) on the command line.

It runs against any SMPP server. Against smppgw, ``--check-ledger`` reads the ledger of
``--config`` (or ``--ledger-url``) before and after the run and compares the account's
balance change with the cost of the accepted messages. The side-by-side comparison
with the Node peers is ``benchmarks/run.py`` (``make bench``), not this command.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from gateway.admin import InvalidInput, inputs, open_ledger
from gateway.cli.errors import EXIT_OK, EXIT_REFUSED, PROG, UsageError
from gateway.cli.runners import loop_factory
from gateway.config import default_config, load_config
from gateway.loadgen import BindType, LoadOptions, RunResult, run_load
from gateway.loadgen.destinations import random_numbers
from gateway.loadgen.ledger_check import LedgerCheck, check, mark
from gateway.loadgen.messages import Kind, parse_mix
from gateway.loadgen.report import progress_line, result_json, summary_text
from gateway.loadgen.stats import RunStats
from gateway.loadgen.weights import parse_weights

#: Used for --check-ledger when neither --ledger-url nor --config is given (if present).
DEFAULT_CONFIG = Path("config/smppgw.toml")


def add_parser(subcommands: Any, config_opt: argparse.ArgumentParser) -> None:
    """The ``bench`` subcommand and its options."""
    p = subcommands.add_parser(
        "bench",
        help="load-test an SMPP server (smppgw or any other)",
        description="Bind N sessions to an SMPP server and submit messages through them.",
        parents=[config_opt],
    )
    p.add_argument("target", metavar="HOST:PORT", type=_target, help="the SMPP server")
    p.add_argument("--system-id", required=True, help="bind as this system_id")
    p.add_argument("--password", default="", help="bind password (default: empty)")
    p.add_argument("--system-type", default="", help="bind system_type (default: empty)")
    p.add_argument(
        "--bind-type",
        type=BindType,
        choices=list(BindType),
        default=BindType.TRX,
        help="how the submitting binds bind (default: trx)",
    )
    p.add_argument("--binds", metavar="N", type=_int_min(1), default=1, help="submitting binds")
    p.add_argument(
        "--rx-binds", metavar="N", type=_int_min(0), default=0, help="extra receiver binds"
    )
    p.add_argument("--window", metavar="W", type=_int_min(1), default=10, help="per bind")
    p.add_argument(
        "--rate",
        metavar="R",
        type=_float_min(0.0),
        default=0.0,
        help="submit_sm/s over all binds (default 0: as fast as the windows allow)",
    )
    amount = p.add_mutually_exclusive_group()
    amount.add_argument(
        "--count", metavar="N", type=_int_min(1), default=10_000, help="submit_sm PDUs"
    )
    amount.add_argument(
        "--duration", metavar="S", type=_float_min(0.001), help="send for S seconds instead"
    )
    p.add_argument(
        "--receipts",
        action="store_true",
        help="registered_delivery=1; count and answer the receipts",
    )
    p.add_argument(
        "--receipt-wait",
        metavar="S",
        type=_float_min(0.0),
        default=10.0,
        help="after the last answer, wait up to S s without a new receipt (default 10)",
    )
    p.add_argument(
        "--timeout",
        metavar="S",
        type=_float_min(0.001),
        default=30.0,
        help="a submit unanswered for S s is a timeout (default 30)",
    )
    p.add_argument(
        "--mix",
        type=_mix,
        default={Kind.GSM7: 1},
        help=f"message kinds by weight, e.g. gsm7=70,ucs2=20,long=10 ({', '.join(Kind)})",
    )
    p.add_argument(
        "--to",
        type=_countries,
        default={"FR": 1},
        metavar="CC=W,...",
        help="destination countries by weight, e.g. FR=5,GB=3,IN=2 (default FR)",
    )
    p.add_argument(
        "--source",
        metavar="TON:ADDR",
        type=_source,
        default=(5, 0, "SMPPGW"),
        help="source_addr (default 5:SMPPGW, alphanumeric)",
    )
    p.add_argument("--seed", type=int, help="seed of the random mixes (reproducible runs)")
    p.add_argument("--json", dest="json_file", metavar="FILE", help="write the result as JSON")
    p.add_argument(
        "--progress",
        choices=("auto", "on", "off"),
        default="auto",
        help="the live line on stderr (auto: when stderr is a terminal)",
    )
    ledger = p.add_argument_group("ledger check (against smppgw)")
    ledger.add_argument(
        "--check-ledger",
        action="store_true",
        help="compare the account's balance change with the accepted messages' costs",
    )
    ledger.add_argument(
        "--ledger-url",
        metavar="URL",
        help="the gateway's ledger (default: [ledger] url of --config)",
    )
    ledger.add_argument(
        "--account", metavar="ID", help="the account to check (default: --system-id)"
    )


def options_from(args: argparse.Namespace) -> LoadOptions:
    """The run the parsed arguments describe; UsageError when they cannot run."""
    host, port = args.target
    ton, npi, source = args.source
    options = LoadOptions(
        host=host,
        port=port,
        system_id=args.system_id,
        password=args.password,
        system_type=args.system_type,
        bind_type=args.bind_type,
        binds=args.binds,
        rx_binds=args.rx_binds,
        window=args.window,
        rate=args.rate,
        count=args.count,
        duration_s=args.duration,
        receipts=args.receipts,
        receipt_wait_s=args.receipt_wait,
        resp_timeout_s=args.timeout,
        mix=args.mix,
        to=args.to,
        source_ton=ton,
        source_npi=npi,
        source_addr=source,
        seed=args.seed,
        keep_ids=args.check_ledger,
    )
    if problems := options.problems():
        raise UsageError(f"{'; '.join(problems)} (see: {PROG} bench --help)")
    return options


def run(args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """``smppgw bench``: run, print the summary (or JSON), write --json; the exit status.

    0 when every bind bound, every submit was answered and the ledger (if checked)
    agrees; 1 otherwise, with one line on stderr saying why.
    """
    options = options_from(args)
    ledger_url = _ledger_url(args) if args.check_ledger else None
    show = args.progress == "on" or (args.progress == "auto" and err.isatty())
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        result, ledger = runner.run(
            _run(options, ledger_url, args.account or options.system_id, err if show else None)
        )
    document = result_json(result, ledger)
    if args.json_file:
        Path(args.json_file).write_text(json.dumps(document, indent=2) + "\n")
    if getattr(args, "json", False):
        out.write(json.dumps(document, indent=2) + "\n")
    else:
        out.write(summary_text(result, ledger) + "\n")
    why = _failure(result, ledger)
    if why:
        print(f"{PROG}: bench: {why}", file=err)
        return EXIT_REFUSED
    return EXIT_OK


async def _run(
    options: LoadOptions, ledger_url: str | None, account: str, live: TextIO | None
) -> tuple[RunResult, LedgerCheck | None]:
    progress = _live_line(live) if live is not None else None
    if ledger_url is None:
        result = await run_load(options, progress=progress)
        _end_line(live)
        return result, None
    async with open_ledger(ledger_url, migrate_embedded=False) as store:
        before = await mark(store, account)
        result = await run_load(options, progress=progress)
        _end_line(live)
        return result, await check(store, before, result.accepted_ids)


def _end_line(live: TextIO | None) -> None:
    """Leave the last progress line on the terminal, and the summary under it."""
    if live is not None:
        live.write("\n")
        live.flush()


def _live_line(stream: TextIO) -> Callable[[RunStats, float], None]:
    last = {"answered": 0.0, "elapsed": 0.0}

    def show(stats: RunStats, elapsed_s: float) -> None:
        interval = elapsed_s - last["elapsed"]
        rate = (stats.answered - last["answered"]) / interval if interval > 0 else 0.0
        stream.write("\r\033[K" + progress_line(stats, elapsed_s, rate))
        stream.flush()
        last["answered"], last["elapsed"] = stats.answered, elapsed_s

    return show


def _failure(result: RunResult, ledger: LedgerCheck | None) -> str:
    s = result.stats
    if s.bind_failures:
        return f"{s.bind_failures} bind(s) failed: {s.bind_errors[0]}"
    if result.unanswered:
        return f"{result.unanswered} of {s.sent} submits unanswered"
    if ledger is not None and not ledger.ok:
        return f"ledger check failed: {ledger.describe()}"
    return ""


def _ledger_url(args: argparse.Namespace) -> str:
    if args.ledger_url:
        return str(args.ledger_url)
    path = getattr(args, "config", None)
    if path is not None:
        return load_config(path).ledger.url
    if DEFAULT_CONFIG.is_file():
        return load_config(DEFAULT_CONFIG).ledger.url
    return default_config().ledger.url


# -- argument types (their errors become one-line usage errors) ------------------------------
def _target(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.strip("[]")  # [::1]:2775
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (port 1-65535), not {text!r}")
    return host, int(port)


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


def _float_min(low: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not value >= low or value == float("inf"):
            raise argparse.ArgumentTypeError(f"must be a number of at least {low:g}, got {text}")
        return value

    return parse


def _mix(text: str) -> dict[Kind, int]:
    try:
        return parse_mix(parse_weights(text))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _countries(text: str) -> dict[str, int]:
    try:
        weights = {cc.upper(): w for cc, w in parse_weights(text).items()}
        for country in weights:
            random_numbers(country, 1, random.Random(0))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return weights


def _source(text: str) -> tuple[int, int, str]:
    try:
        sender = inputs.parse_sender(text)
    except InvalidInput as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return sender.ton, sender.npi, sender.address


__all__ = ["DEFAULT_CONFIG", "add_parser", "options_from", "run"]
