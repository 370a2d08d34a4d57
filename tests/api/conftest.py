"""A running gateway with its management API on port 0, and the tokens the tests use.

The gateway is ``app.Gateway`` in-process (SQLite ledger, built-in simulator), reached
over real HTTP by httpx; ``live_api`` also runs one in a thread of its own, for the
blocking clients (schemathesis, smpplib) that must not share the gateway's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway import admin
from gateway.app import Gateway
from gateway.config import Config
from ledger import Store, open_store
from ledger.models import Sender, credits_to_milli
from tests.integration.harness import gateway_config

SHOP, BANK = "Shop Ltd", "Bank"


@dataclass
class Api:
    """A started gateway, an HTTP client on its API, and tokens of three kinds."""

    gateway: Gateway
    store: Store
    http: httpx.AsyncClient
    admin_token: str
    shop_token: str  # owner "Shop Ltd": smpp-shop and smpp-shop2
    bank_token: str  # owner "Bank": smpp-bank
    extra: dict[str, Any] = field(default_factory=dict)

    def auth(self, token: str) -> dict[str, str]:
        """The header of a bearer token."""
        return {"Authorization": f"Bearer {token}"}

    @property
    def as_admin(self) -> dict[str, str]:
        """Headers of the admin token."""
        return self.auth(self.admin_token)

    @property
    def as_shop(self) -> dict[str, str]:
        """Headers of Shop Ltd's token."""
        return self.auth(self.shop_token)


def api_config(url: str, smtp: dict[str, Any] | None = None, **api: Any) -> Config:
    """The test gateway's config with the API on port 0 (and ``smtp`` settings if given)."""
    sections: dict[str, Any] = {"api": {"enabled": True, "port": 0, **api}}
    if smtp is not None:
        sections["smtp"] = smtp
    return gateway_config(url, **sections)


async def seed(store: Store) -> tuple[str, str, str]:
    """Three accounts of two owners, funded; an admin token and one per owner."""
    for system_id, owner in (("smpp-shop", SHOP), ("smpp-shop2", SHOP), ("smpp-bank", BANK)):
        await admin.create_account(
            store,
            system_id,
            password="secret12",
            owner=owner,
            contact_email=f"ops@{system_id}.example",
            allowed_ips=("127.0.0.1",),
            senders=(Sender(5, 0, "SMPPGW"),),
        )
        await admin.add_credit(store, system_id, credits_to_milli("100"), key=f"seed:{system_id}")
    root = await admin.create_token(store, admin=True)
    shop = await admin.create_token(store, owner=SHOP)
    bank = await admin.create_token(store, owner=BANK)
    return root.secret, shop.secret, bank.secret


@dataclass(frozen=True)
class Seeded:
    """A seeded ledger: its URL, the open store and the three tokens' secrets."""

    url: str
    store: Store
    admin_token: str
    shop_token: str
    bank_token: str


@asynccontextmanager
async def seeded(tmp_path: Path) -> AsyncIterator[Seeded]:
    """A fresh SQLite ledger under ``tmp_path`` with :func:`seed`'s accounts and tokens."""
    url = f"sqlite:///{tmp_path}/ledger.db"
    store = await open_store(url)
    await store.upgrade()
    try:
        yield Seeded(url, store, *(await seed(store)))
    finally:
        await store.close()


def mail_settings(port: int, **extra: Any) -> dict[str, Any]:
    """``[smtp]`` settings for the test SMTP server on ``port``."""
    return {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "from_address": "noreply@gw.example",
        **extra,
    }


@asynccontextmanager
async def running_api(config: Config, store: Store) -> AsyncIterator[Gateway]:
    """A started gateway whose API answers; stopped on exit."""
    gw = Gateway(config, store=store)
    await gw.start()
    await asyncio.wait_for(gw.upstream.wait_bound(), 10)
    try:
        yield gw
    finally:
        await gw.stop()


def base_url(gw: Gateway) -> str:
    """Where ``gw``'s API listens."""
    return f"http://127.0.0.1:{gw.endpoints.api_port}"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    """A gateway with the API, three accounts, three tokens; its ledger audited after."""
    async with (
        seeded(tmp_path) as s,
        running_api(api_config(s.url), s.store) as gw,
        httpx.AsyncClient(base_url=base_url(gw), timeout=10) as http,
    ):
        yield Api(gw, s.store, http, s.admin_token, s.shop_token, s.bank_token)
        await gw.stop()
        assert await s.store.audit() == []


@dataclass(frozen=True)
class LiveApi:
    """A gateway serving from a thread of its own: for blocking clients."""

    url: str
    smpp_port: int
    admin_token: str
    shop_token: str
    gateway: Gateway
    loop: asyncio.AbstractEventLoop
    store: Store

    def run(self, coro: Any) -> Any:
        """Run ``coro`` on the gateway's loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)


@contextmanager
def live_gateway(
    tmp_path: Path, smtp: dict[str, Any] | None = None, **api: Any
) -> Iterator[LiveApi]:
    """A seeded gateway with the API, on an event loop in another thread."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="live-gateway", daemon=True)
    thread.start()
    url = f"sqlite:///{tmp_path}/live.db"

    async def start() -> tuple[Gateway, Store, tuple[str, str, str]]:
        store = await open_store(url)
        await store.upgrade()
        tokens = await seed(store)
        gw = Gateway(api_config(url, smtp, **api), store=store)
        await gw.start()
        await asyncio.wait_for(gw.upstream.wait_bound(), 10)
        return gw, store, tokens

    gw, store, (root, shop, _bank) = asyncio.run_coroutine_threadsafe(start(), loop).result(30)
    try:
        yield LiveApi(base_url(gw), gw.endpoints.port, root, shop, gw, loop, store)
    finally:

        async def stop() -> None:
            await gw.stop()
            await store.close()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
