"""What credit packages cost a debit: CPU per debit of ``debit_batch``, by scenario.

    .venv/bin/python benchmarks/package_debits.py                     # this checkout
    PYTHONPATH=../main .venv/bin/python benchmarks/package_debits.py --scenarios none

A fresh SQLite ledger file per pass (the store's own durable settings), ``--accounts``
accounts with a large balance, then ``--batches`` batches of ``--size`` one-segment
debits spread over the accounts, called directly (no batcher, no sockets). The figure
is the process's CPU time per debit (Python and SQLite's thread both), the minimum of
``--passes`` passes, so the fsync of each commit, which waits without CPU, is left out:
it is the work the code and the database do.

Scenarios: ``none``, accounts that never had a package (the hot path every account
without packages takes; the only scenario an older tree can run); ``holders``, every
account holds a general package that pays each message (the draws, their package
journal entries and draw records).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time


async def _pass(scenario: str, accounts: int, batches: int, size: int) -> float:
    from ledger.models import DebitRequest, DebitStatus, NewAccount, OutboundMessage
    from ledger.store import open_store

    with tempfile.TemporaryDirectory() as tmp:
        store = await open_store(f"sqlite:///{tmp}/ledger.db")
        try:
            await store.upgrade()
            ids = [f"smpp-b{i}" for i in range(accounts)]
            for sid in ids:
                await store.create_account(NewAccount(system_id=sid, password_hash="x"))  # noqa: S106 — bench data
                await store.credit(sid, 10**10, idempotency_key=f"seed:{sid}")
                if scenario == "holders":
                    await store.buy_package(  # type: ignore[attr-defined]
                        sid, "general", 100_000, idempotency_key=f"pkg:{sid}"
                    )
            body = b"\x00\x05\x00Shop\x00\x01\x01447700900123\x00" + b"x" * 40
            n = 0
            started = time.process_time()
            for _ in range(batches):
                requests = []
                for _ in range(size):
                    msg = OutboundMessage(
                        message_id=f"m{n}",
                        system_id=ids[n % accounts],
                        source_addr="Shop",
                        destination_addr="447700900123",
                        segments=1,
                        cost=1000,
                        registered_delivery=0,
                        pdu_body=body + str(n).encode(),
                    )
                    requests.append(DebitRequest(f"k{n}", msg))
                    n += 1
                results = await store.debit_batch(requests)
                assert all(r.status is DebitStatus.OK for r in results)
            spent = time.process_time() - started
            if scenario == "holders":
                left = await store.package_totals(ids[0])  # type: ignore[attr-defined]
                assert left["general"] < 100_000 * 1000, "the packages paid nothing"
            else:
                assert (await store.get_account(ids[0])).balance < 10**10
            assert await store.audit() == []
        finally:
            await store.close()
    return spent / n * 1e6


def main() -> None:
    """Run each scenario ``--passes`` times and print µs of CPU per debit (min, all)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenarios", nargs="+", default=["none", "holders"])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--batches", type=int, default=200)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--passes", type=int, default=5)
    args = parser.parse_args()
    for scenario in args.scenarios:
        figures = [
            asyncio.run(_pass(scenario, args.accounts, args.batches, args.size))
            for _ in range(args.passes)
        ]
        shown = ", ".join(f"{f:.1f}" for f in figures)
        print(f"{scenario}: {min(figures):.1f} µs of CPU per debit (passes: {shown})")


if __name__ == "__main__":
    main()
