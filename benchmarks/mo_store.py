"""What pricing and the retry check cost storing an MO: CPU time per ``store_mo``.

    .venv/bin/python benchmarks/mo_store.py                       # SQLite
    .venv/bin/python benchmarks/mo_store.py --url postgresql://127.0.0.1/test?schema=bench_mo

A fresh ledger (a SQLite file in a temporary directory, or a PostgreSQL schema that
does not exist yet: give a new name each run) with one account owning ``--old`` MOs
stored a day ago, then ``--count`` MOs stored one per transaction (as a quiet upstream
sends them) in three modes: ``free`` (price 0, no retry check: the path before pricing),
``window`` (no price, the 600 s retry check), ``priced`` (the check and the debit). CPU
of the process (Python and SQLite's thread), so the fsync of each commit, which waits
without CPU, is left out; median of ``--passes`` passes.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta

MODES = {"free": (0, 0.0), "window": (0, 600.0), "priced": (250, 600.0)}


async def _pass(url: str | None, mode: str, old: int, count: int) -> float:
    from ledger.models import NewAccount
    from ledger.models.mo import NewMo
    from ledger.store import open_store

    price, window = MODES[mode]
    with tempfile.TemporaryDirectory() as tmp:
        now = [datetime.now(UTC) - timedelta(days=1)]
        store = await open_store(url or f"sqlite:///{tmp}/ledger.db", clock=lambda: now[0])
        try:
            await store.upgrade()
            await store.create_account(NewAccount(system_id="smpp-mo", password_hash="x"))  # noqa: S106 — bench data
            await store.credit("smpp-mo", 10**9, idempotency_key="seed")

            def mo(i: int) -> NewMo:
                text = f"vote {i}".encode()
                return NewMo("smpp-mo", "default", "33612345678", "33700000001", text, price=price)

            for start in range(0, old, 500):
                await store.add_mo([mo(-1 - i) for i in range(start, min(start + 500, old))])
            now[0] = datetime.now(UTC)
            started = time.process_time()
            for i in range(count):
                await store.store_mo([mo(i)], retry_window=window)
            return (time.process_time() - started) / count
        finally:
            await store.close()


def main() -> None:
    """Run the passes and print µs per MO by mode."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--url", default=None, help="a PostgreSQL ledger URL (default: SQLite)")
    p.add_argument("--old", type=int, default=50_000)
    p.add_argument("--count", type=int, default=500)
    p.add_argument("--passes", type=int, default=3)
    args = p.parse_args()
    for mode in MODES:
        runs = [
            asyncio.run(_pass(args.url, mode, args.old, args.count)) for _ in range(args.passes)
        ]
        print(
            f"{mode:7} {statistics.median(runs) * 1e6:8.0f} µs/MO  (runs: "
            + ", ".join(f"{r * 1e6:.0f}" for r in runs)
            + ")"
        )


if __name__ == "__main__":
    main()
