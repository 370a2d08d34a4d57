"""Ledger debits per second through DebitBatcher, for one tree or two trees interleaved.

    .venv/bin/python benchmarks/ledger_debits.py                      # this checkout
    .venv/bin/python benchmarks/ledger_debits.py --trees ../baseline .  # main vs this, interleaved

Each run is a child process whose PYTHONPATH is the tree under test, on a fresh database
(a SQLite file in a temporary folder with the store's durable settings, or a fresh
schema of the test PostgreSQL, ``SMPPGW_TEST_PG_DSN``): accounts with a large balance,
then ``--count`` debits of 100 milli-credits from ``callers`` concurrent tasks through
``DebitBatcher`` (``--writers 2``: two stores on one database, as two gateways, each
with its own batcher). Every scenario runs ``--repeat`` times per tree, trees
alternating in ABBA order, and the median (min-max) is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path
from typing import Any

from ledger_bench import cell, fresh_ledger_url, message, run_child


async def _child(
    store_kind: str, accounts: int, callers: int, count: int, writers: int
) -> dict[str, Any]:
    import ledger
    from ledger.batcher import DebitBatcher
    from ledger.models import DebitRequest, DebitStatus, NewAccount
    from ledger.store import open_store

    async with fresh_ledger_url(store_kind, "bench") as url:
        stores = [await open_store(url) for _ in range(writers)]
        try:
            await stores[0].upgrade()
            ids = [f"smpp-b{i}" for i in range(accounts)]
            for sid in ids:
                await stores[0].create_account(NewAccount(system_id=sid, password_hash="x"))  # noqa: S106 — bench data
                await stores[0].credit(sid, 10**10, idempotency_key=f"seed:{sid}")
            batchers = [DebitBatcher(s, max_batch=256) for s in stores]
            next_i = 0

            async def caller(n: int) -> None:
                nonlocal next_i
                batcher = batchers[n % writers]
                while next_i < count:
                    i = next_i
                    next_i += 1
                    msg = message(i, ids[i % accounts])
                    result = await batcher.debit(DebitRequest(f"k{i}", msg))
                    assert result.status is DebitStatus.OK, result

            start = time.perf_counter()
            await asyncio.gather(*(caller(n) for n in range(callers)))
            elapsed = time.perf_counter() - start
            batches = sum(b.batches for b in batchers)
            for b in batchers:
                await b.close()
            assert await stores[0].audit() == []
        finally:
            for s in stores:
                await s.close()
    return {
        "rate": count / elapsed,
        "batch": count / batches,
        "module": str(Path(ledger.__file__).parent),
    }


def main() -> None:
    """Parse arguments; run the scenarios (or one child run)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--trees", nargs="+", type=Path, default=[Path(".")])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--accounts", nargs="+", type=int, default=[1, 1000])
    parser.add_argument("--callers", nargs="+", type=int, default=[1, 64, 512])
    parser.add_argument("--writers", type=int, default=1)
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--single-count", type=int, default=3_000, help="count for 1 caller")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if args.child:
        scenario = json.loads(args.child)
        print(json.dumps(asyncio.run(_child(**scenario))))
        return
    print(f"trees: {', '.join(str(t) for t in args.trees)}; writers {args.writers}")
    print(
        "| store | accounts | callers | " + " | ".join(f"{t} debits/s" for t in args.trees) + " |"
    )
    print("|---|---|---|" + "---|" * len(args.trees))
    for store in args.stores:
        for accounts in args.accounts:
            for callers in args.callers:
                scenario = {
                    "store_kind": store,
                    "accounts": accounts,
                    "callers": callers,
                    "count": args.single_count if callers == 1 else args.count,
                    "writers": args.writers,
                }
                rates: dict[Path, list[float]] = {t: [] for t in args.trees}
                batch: dict[Path, float] = {}
                for rep in range(args.repeat):
                    # ABBA: a run may pay for the one before it (checkpoints, vacuum),
                    # so no tree always comes second.
                    for tree in args.trees if rep % 2 == 0 else args.trees[::-1]:
                        r = run_child(__file__, tree, scenario)
                        rates[tree].append(r["rate"])
                        batch[tree] = r["batch"]
                cells = [f"{cell(v, ',.0f')} (batch {batch[t]:.0f})" for t, v in rates.items()]
                print(
                    f"| {store} | {accounts} | {callers} | " + " | ".join(cells) + " |", flush=True
                )


if __name__ == "__main__":
    main()
