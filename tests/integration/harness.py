"""Start a real gateway in-process (SQLite ledger, built-in simulator, port 0) for tests."""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from gateway.app import Gateway
from gateway.config import (
    Config,
    LedgerConfig,
    LoggingConfig,
    PricingConfig,
    ServerConfig,
    SimulatorConfig,
    UpstreamConfig,
)
from ledger import Store
from ledger.models import NewAccount, RechargePolicy, Sender, credits_to_milli
from ledger.passwords import hash_password

REPO = Path(__file__).resolve().parents[2]
TARIFF = REPO / "config" / "tariff.csv"
PASSWORD = "secret12"
T = TypeVar("T")


def gateway_config(ledger_url: str, **sections: Any) -> Config:
    """A config for one test: ephemeral ports, fast receipts, the shipped tariff."""
    config = Config(
        server=ServerConfig(port=0),
        ledger=LedgerConfig(url=ledger_url),
        pricing=PricingConfig(tariff=TARIFF),
        upstream=UpstreamConfig(window=20, reconnect_min_s=0.05, reconnect_max_s=0.5),
        simulator=SimulatorConfig(port=0, dlr_delay_ms=20),
        logging=LoggingConfig(level="warning"),
    )
    for name, changes in sections.items():
        config = replace(config, **{name: replace(getattr(config, name), **changes)})
    return config


@asynccontextmanager
async def running_gateway(config: Config, store: Store | None = None) -> AsyncIterator[Gateway]:
    """A started gateway; stopped (gracefully) on exit."""
    gw = Gateway(config, store=store)
    await gw.start()
    assert gw.upstream is not None
    await asyncio.wait_for(gw.upstream.wait_bound(), 10)
    try:
        yield gw
    finally:
        await gw.stop()


async def make_account(
    store: Store,
    system_id: str,
    *,
    credits: str = "100",
    allowed_ips: tuple[str, ...] = ("127.0.0.1/32",),
    senders: tuple[Sender, ...] = (Sender(5, 0, "SMPPGW"),),
    recharge: RechargePolicy | None = None,
    max_binds: int = 32,
) -> None:
    """Create a funded account the test clients can bind to."""
    await store.create_account(
        NewAccount(
            system_id=system_id,
            password_hash=hash_password(PASSWORD),
            owner="tests",
            contact_email="ops@example.invalid",
            allowed_ips=allowed_ips,
            senders=senders,
            max_binds=max_binds,
        )
    )
    if credits != "0":
        await store.credit(
            system_id, credits_to_milli(credits), idempotency_key=f"seed:{system_id}"
        )
    if recharge is not None:
        await store.set_recharge(system_id, recharge)


#: Client threads of their own: blocking smpplib clients must never occupy the pool the
#: code under test might use, or a test of 16 clients could deadlock on its own harness.
_CLIENTS = ThreadPoolExecutor(64, thread_name_prefix="test-esme")


async def until(check: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    """Wait for ``check()`` to hold (polling), or fail saying ``what``; the deadline only
    guards against a hang, it is not a measure of speed. ``check`` may be a coroutine
    function (a ledger read): its result is awaited."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        held = check()
        if inspect.isawaitable(held):
            held = await held
        if held:
            return
        if loop.time() > deadline:
            raise AssertionError(f"never happened: {what}")
        await asyncio.sleep(0.02)


async def in_thread(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking client code (smpplib) without blocking the gateway's loop."""
    return await asyncio.get_running_loop().run_in_executor(
        _CLIENTS, functools.partial(fn, *args, **kwargs)
    )
