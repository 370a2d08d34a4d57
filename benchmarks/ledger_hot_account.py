"""One hot account at the ledger layer: durable debits per second through group commit.

    .venv/bin/python benchmarks/ledger_hot_account.py                    # both stores
    .venv/bin/python benchmarks/ledger_hot_account.py --trees ../base .  # interleaved
    .venv/bin/python benchmarks/ledger_hot_account.py --profile sqlite   # cProfile summary

Every debit is charged to the same account (the case where row locks cannot spread the
work): ``--submitters`` concurrent tasks each await ``DebitBatcher.debit`` in a loop, so
at most that many debits are queued and each group commit takes up to ``--max-batch``.
Commits are durable: SQLite in WAL mode with ``synchronous=FULL``, PostgreSQL with
``synchronous_commit=on`` (the stores' own settings). Each run is a child process on a
fresh database (a SQLite file in a temporary folder, or a fresh schema of
``SMPPGW_TEST_PG_DSN``); trees alternate ABBA; median [min-max] of ``--repeat`` runs.
The child also reports the process CPU per debit (all threads; PostgreSQL's server CPU is
not in it), which compares on a loaded machine where debits/s do not.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import json
import pstats
import time
from pathlib import Path
from typing import Any

from ledger_bench import cell, fresh_ledger_url, message, run_child

HOT = "smpp-hot"
#: Credits of 10,000,000 credits (10**10 milli) given to the hot account first.
SEED_CREDITS = 10


async def _child(
    store_kind: str, submitters: int, count: int, max_batch: int, profile: bool
) -> dict[str, Any]:
    import ledger
    from ledger.batcher import DebitBatcher
    from ledger.models import DebitRequest, DebitStatus, NewAccount
    from ledger.store import open_store

    async with fresh_ledger_url(store_kind, "hot") as url:
        store = await open_store(url)
        try:
            await store.upgrade()
            await store.create_account(NewAccount(system_id=HOT, password_hash="x"))  # noqa: S106 — bench data
            # Below ledger.max_credit (10,000,000 credits) each; enough for any --count.
            for n in range(SEED_CREDITS):
                await store.credit(HOT, 10**10, idempotency_key=f"seed:{n}")
            batcher = DebitBatcher(store, max_batch=max_batch)
            messages = [message(i, HOT) for i in range(count)]
            next_i = 0

            async def submitter() -> None:
                nonlocal next_i
                while next_i < count:
                    i = next_i
                    next_i += 1
                    result = await batcher.debit(DebitRequest(f"k{i}", messages[i]))
                    assert result.status is DebitStatus.OK, result

            profiler = cProfile.Profile() if profile else None
            worker = cProfile.Profile() if profile else None
            if worker is not None:
                _profile_worker_threads(worker)
            cpu0, start = time.process_time(), time.perf_counter()
            if profiler is not None:
                profiler.enable()
            await asyncio.gather(*(submitter() for _ in range(submitters)))
            if profiler is not None:
                profiler.disable()
            elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
            await batcher.close()
            balance = (await store.get_account(HOT)).balance
            assert balance == SEED_CREDITS * 10**10 - 100 * count, balance
            assert await store.audit() == []
        finally:
            await store.close()
    summary = ""
    if profiler is not None:
        out = io.StringIO()
        out.write("== event loop thread ==\n")
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        if worker is not None and worker.getstats():
            out.write("== worker threads (the SQLite writer) ==\n")
            pstats.Stats(worker, stream=out).sort_stats("tottime").print_stats(20)
        summary = out.getvalue()
    return {
        "rate": count / elapsed,
        "cpu_us": cpu / count * 1e6,
        "batch": count / batcher.batches,
        "module": str(Path(ledger.__file__).parent),
        "profile": summary,
    }


def _profile_worker_threads(profiler: cProfile.Profile) -> None:
    """Profile every job an executor thread runs (the SQLite writer does the work there,
    where the event loop's profiler does not see it)."""
    from concurrent.futures import thread

    run = thread._WorkItem.run

    def profiled(self: Any) -> None:
        profiler.enable()
        try:
            run(self)
        finally:
            profiler.disable()

    thread._WorkItem.run = profiled  # type: ignore[method-assign]


def main() -> None:
    """Parse arguments; run the scenarios (or one child run, or one profile)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--trees", nargs="+", type=Path, default=[Path(".")])
    parser.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--submitters", nargs="+", type=int, default=[256, 1024])
    parser.add_argument("--max-batch", type=int, default=256, help="the batcher's max_batch")
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", metavar="STORE", help="one cProfile run of this store")
    args = parser.parse_args()
    if args.child:
        scenario = json.loads(args.child)
        print(json.dumps(asyncio.run(_child(**scenario))))
        return
    if args.profile:
        scenario = {
            "store_kind": args.profile,
            "submitters": args.submitters[-1],
            "count": args.count,
            "max_batch": args.max_batch,
            "profile": True,
        }
        r = run_child(__file__, args.trees[0], scenario)
        print(f"{r['rate']:,.0f} debits/s under cProfile, batch {r['batch']:.0f}")
        print(r["profile"])
        return
    print(f"trees: {', '.join(str(t) for t in args.trees)}; max_batch {args.max_batch}")
    heads = " | ".join(f"{t} debits/s | {t} CPU µs/debit" for t in args.trees)
    print(f"| store | submitters | {heads} |")
    print("|---|---|" + "---|---|" * len(args.trees))
    for store in args.stores:
        for submitters in args.submitters:
            scenario = {
                "store_kind": store,
                "submitters": submitters,
                "count": args.count,
                "max_batch": args.max_batch,
                "profile": False,
            }
            rates: dict[Path, list[float]] = {t: [] for t in args.trees}
            cpus: dict[Path, list[float]] = {t: [] for t in args.trees}
            batch: dict[Path, float] = {}
            for rep in range(args.repeat):
                for tree in args.trees if rep % 2 == 0 else args.trees[::-1]:
                    r = run_child(__file__, tree, scenario)
                    rates[tree].append(r["rate"])
                    cpus[tree].append(r["cpu_us"])
                    batch[tree] = r["batch"]
            cells = [
                f"{cell(rates[t], ',.0f')} (batch {batch[t]:.0f}) | {cell(cpus[t], '.1f')}"
                for t in args.trees
            ]
            print(f"| {store} | {submitters} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
