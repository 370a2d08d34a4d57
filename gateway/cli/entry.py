"""``main``: parse, run one command, print its result or its one-line error."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from typing import TextIO

from gateway.admin import open_ledger
from gateway.cli import bench, runners
from gateway.cli.commands import Handler, Result, tariff_packs, tariff_show
from gateway.cli.errors import EXIT_OK, PROG, describe_error
from gateway.cli.parser import DEFAULT_CONFIG, build_parser
from gateway.config import Config, default_config, exposed_ledger_files, load_config


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
    if args.command == "bench":  # reads --config only for --check-ledger
        return bench.run(args)
    config = _config(args.config)
    if args.command == "serve":
        return runners.serve(config, demo=args.demo)
    if args.command == "tariff" and args.action == "packs":
        result = tariff_packs(config.pricing.price_list)
    elif args.command == "tariff":
        result = tariff_show(config.pricing.tariff, args)
    else:
        # Handlers that need a setting beyond the ledger (reset-password: [smtp]) read it here.
        args.settings = config
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
    # `db upgrade` reports what it applies, so the store must not be upgraded before it.
    async with open_ledger(
        config.ledger.url,
        migrate_embedded=args.command != "db",
        limits=config.ledger.limits(),
    ) as store:
        # stderr: a warning must not end up in the --json document a script parses.
        for path, mode in exposed_ledger_files(config.ledger.url):
            print(
                f"{PROG}: warning: {path} is mode {mode:04o}; others may read the ledger"
                f" (chmod 600 {path})",
                file=sys.stderr,
            )
        return await handler(store, args)


def _emit(result: Result, *, as_json: bool, out: TextIO) -> None:
    if as_json:
        out.write(json.dumps(result.data, indent=2, ensure_ascii=False) + "\n")
    elif result.text:
        out.write(result.text.rstrip("\n") + "\n")
