"""``Submitter.prepare`` in-process: checks and price of a submit_sm, no sockets, no debit.

What it times: ``--count`` submit_sm PDUs (default 20,000), each to a different mobile
(French, UK and Indian in turn, valid in libphonenumber's plan, the same list in every
round and checkout), through ``Submitter.prepare`` of one account, with the shipped
tariff (``config/tariff.csv``), the shipped destination check (``valid``) and logging
configured at ``info`` (to /dev/null). After a warm-up pass over 1,000 of them (what a
process loads once: metadata, regular expressions), the destination LRU cache is
cleared, so every destination is a first sight, as in traffic that never repeats one.
Every PDU must come out as a debit to make (nothing refused). The figure is microseconds
per submit_sm, the median [min-max] of ``--repeat`` rounds.

Each checkout is measured in its own interpreter (``PYTHONPATH=<checkout>``), rounds
alternating between checkouts, so a change in the machine's load spreads over all:

    python benchmarks/prepare.py                      # this checkout only
    python benchmarks/prepare.py /tmp/before .        # an earlier commit against this one
    python benchmarks/prepare.py . --profile          # where this checkout's time goes

``--profile`` runs one round under cProfile and prints the share of the round spent in
the destination check, the quote, and the top functions by cumulative time.

``--check`` times the destination check alone instead: the uncached
``addresses._international`` (what a new destination costs) on the same destinations,
in each ``destination_check`` mode, microseconds per call.

    python benchmarks/prepare.py /tmp/before . --check
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import os
import pstats
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: (calling code prefix, digits after it, region): mobile ranges of the three countries
#: of the operator's published tariff. Candidates outside the plan are dropped.
_RANGES = (("336", 8, "FR"), ("447", 9, "GB"), ("919", 9, "IN"))


def destinations(count: int) -> list[str]:
    """``count`` distinct valid mobiles, FR/GB/IN in turn, the same for a given count."""
    import phonenumbers

    rng = random.Random(11)  # noqa: S311 — test data, the same every run
    found: list[str] = []
    seen: set[str] = set()
    while len(found) < count:
        prefix, rest, region = _RANGES[len(found) % len(_RANGES)]
        digits = prefix + "".join(rng.choice("0123456789") for _ in range(rest))
        if digits in seen:
            continue
        number = phonenumbers.parse("+" + digits)
        if phonenumbers.is_valid_number(number) and (
            phonenumbers.region_code_for_number(number) == region
        ):
            seen.add(digits)
            found.append(digits)
    return found


def _check_round(tree: Path, count: int) -> dict[str, Any]:
    """Microseconds per uncached destination check, per mode (best of 3 passes)."""
    from gateway.policy import addresses

    where = Path(addresses.__file__).resolve()
    assert where.is_relative_to(tree), f"gateway comes from {where}, not {tree}"
    found = destinations(count)
    uncached = addresses._international.__wrapped__
    for digits in found[:1000]:  # warm-up: metadata and patterns
        uncached(1, 1, digits, "", "valid")
    result: dict[str, Any] = {}
    for mode in addresses.DESTINATION_MODES:
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            for digits in found:
                assert uncached(1, 1, digits, "", mode) == digits
            best = min(best, time.perf_counter() - start)
        result[mode] = best / count * 1e6
    result["us"] = result["valid"]
    return result


def _round(tree: Path, count: int, profile: bool) -> dict[str, Any]:
    from gateway.observability.logs import configure_logging, get_logger
    from gateway.policy import addresses
    from gateway.smpp import SubmitSm
    from ledger.models import Account, AccountStatus, Sender

    where = Path(addresses.__file__).resolve()
    assert where.is_relative_to(tree), f"gateway comes from {where}, not {tree}"
    devnull = open(os.devnull, "w")  # noqa: SIM115 — for the whole process
    configure_logging("info", stream=devnull)
    log = get_logger("bench", system_id="smpp-bench")
    account = Account(
        system_id="smpp-bench",
        owner="bench",
        contact_email="ops@bench.example",
        status=AccountStatus.ACTIVE,
        balance=10**12,
        password_hash="x",  # noqa: S106 — bench data
        allowed_ips=("127.0.0.1/32",),
        senders=(Sender(5, 0, "SHOP"),),
        recharge=None,
        max_binds=1,
        throughput=0,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    pdus = [
        SubmitSm(
            sequence_number=n + 1,
            source_addr_ton=5,
            source_addr="SHOP",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr=d,
            registered_delivery=1,
            short_message=b"Your code is 123456",
        )
        for n, d in enumerate(destinations(count))
    ]
    return asyncio.run(_timed(tree, account, pdus, log, profile))


async def _timed(
    tree: Path, account: Any, pdus: list[Any], log: Any, profile: bool
) -> dict[str, Any]:
    from gateway.policy import addresses
    from gateway.policy.ids import MessageIdGenerator
    from gateway.policy.submit import PendingDebit, Submitter
    from gateway.policy.tariff import Tariff
    from ledger.batcher import DebitBatcher
    from ledger.store import open_store

    count = len(pdus)
    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{tmp}/ledger.db")  # never written: no debit
        try:
            submitter = Submitter(
                Tariff.load(tree / "config" / "tariff.csv"),
                DebitBatcher(store),
                outbox=_NoOutbox(),
                ids=MessageIdGenerator(),
            )
            # A warm-up pass: the numbering plans' metadata, the regular expressions and
            # the tariff are loaded once per process, not per submit_sm.
            for pdu in pdus[:1000]:
                submitter.prepare(account, pdu, log)
            addresses._international.cache_clear()
            profiler = cProfile.Profile() if profile else None
            start = time.perf_counter()
            if profiler is not None:
                profiler.enable()
            for pdu in pdus:
                out = submitter.prepare(account, pdu, log)
                assert isinstance(out, PendingDebit), out
            if profiler is not None:
                profiler.disable()
            elapsed = time.perf_counter() - start
        finally:
            await store.close()
    result: dict[str, Any] = {"us": elapsed / count * 1e6}
    if profiler is not None:
        result["profile"] = _profile_text(profiler)
    return result


class _NoOutbox:
    """prepare never hands a message on (that is settle's job, after the debit)."""

    def enqueue(self, message: object) -> None:
        raise AssertionError(f"prepare forwarded {message!r}")


def _profile_text(profiler: cProfile.Profile) -> str:
    stats = pstats.Stats(profiler)
    raw: Any = stats.stats  # type: ignore[attr-defined]  # pstats keeps it untyped
    total = max(ct for (_cc, _nc, _tt, ct, _callers) in raw.values())
    shares = []
    for (file, _line, name), (_cc, _nc, _tt, ct, _callers) in raw.items():
        if name in ("_international", "quote", "_check", "bind", "prepare") and (
            "gateway" in file or name == "bind"
        ):
            shares.append(f"{ct / total:6.1%}  {name} ({Path(file).name})")
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(25)
    return "\n".join(sorted(shares, reverse=True)) + "\n" + out.getvalue()


def main() -> None:
    """Measure every checkout given, alternating rounds, and print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("checkouts", nargs="*", default=["."], help="trees to measure")
    parser.add_argument("--count", type=int, default=20_000, help="submit_sm per round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds per checkout")
    parser.add_argument("--profile", action="store_true", help="one cProfile round each")
    parser.add_argument("--check", action="store_true", help="the destination check alone")
    parser.add_argument("--one", metavar="TREE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        if args.check:
            print(json.dumps(_check_round(Path(args.one), args.count)))
        else:
            print(json.dumps(_round(Path(args.one), args.count, args.profile)))
        return
    trees = [str(Path(t).resolve()) for t in args.checkouts]
    results: dict[str, list[float]] = {t: [] for t in trees}
    modes: dict[str, list[dict[str, float]]] = {t: [] for t in trees}
    for _ in range(1 if args.profile else args.repeat):
        for tree in trees:
            cmd = [sys.executable, __file__, "--one", tree, "--count", str(args.count)]
            out = subprocess.run(  # noqa: S603 — this interpreter on this file
                [
                    *cmd,
                    *(["--profile"] if args.profile else []),
                    *(["--check"] if args.check else []),
                ],
                env={**os.environ, "PYTHONPATH": tree},
                cwd=tree,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            results[tree].append(result["us"])
            modes[tree].append(result)
            if args.profile:
                print(f"== {tree}: {result['us']:.2f} us/submit_sm under cProfile")
                print(result["profile"])
    if args.profile:
        return
    if args.check:
        print(f"us per uncached destination check, {args.count} destinations, median [min-max]")
        for tree in trees:
            cells = []
            for mode in ("valid", "possible", "prefix"):
                values = [r[mode] for r in modes[tree]]
                cells.append(
                    f"{mode} {statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"
                )
            print("  ".join(cells) + f"  {tree}")
        return
    print(f"us per submit_sm, {args.count} distinct destinations, median [min-max]")
    for tree in trees:
        values = results[tree]
        print(f"{statistics.median(values):8.2f} [{min(values):.2f}-{max(values):.2f}]  {tree}")


if __name__ == "__main__":
    main()
