"""The expiry sweep of credit packages: a periodic task of ``serve``, like the alert scan.

Every gateway on one ledger may sweep: a package is written off once (its key), and a
sweep that finds nothing costs one index probe.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog

from ledger import LedgerError, Store
from ledger.money import milli_to_credits


@asynccontextmanager
async def package_expiry(store: Store, *, interval: float) -> AsyncIterator[None]:
    """Write off expired credit packages now and every ``interval`` seconds until exit.

    Every gateway on one ledger may sweep: a package is written off once (its key), and
    a sweep that finds nothing costs one index probe.
    """
    task = asyncio.get_running_loop().create_task(_expire(store, interval))
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _expire(store: Store, interval: float) -> None:
    log = structlog.get_logger("smppgw")
    while True:
        try:
            done = await store.expire_packages()
        except LedgerError as e:
            log.warning("package.expiry_failed", error=repr(e))
        else:
            for system_id, package_id, amount in done:
                log.info(
                    "package.expired",
                    system_id=system_id,
                    package_id=package_id,
                    messages_written_off=milli_to_credits(amount),
                )
        await asyncio.sleep(interval)
