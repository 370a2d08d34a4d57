"""Gateway start and stop: a start that fails half-way gives back what it had taken."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.app import Gateway
from ledger import Store, open_store
from tests.integration.harness import gateway_config, make_account, running_gateway


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:///{tmp_path}/ledger.db")
    await s.upgrade()
    yield s
    await s.close()


def _taken_port() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    return sock


async def test_a_failed_start_releases_its_port_and_its_place_in_the_ledger(
    store: Store, tmp_path: Path
) -> None:
    await make_account(store, "smpp-a")
    url = f"sqlite:///{tmp_path}/ledger.db"
    free = _taken_port()
    port = free.getsockname()[1]
    free.close()
    blocker = _taken_port()
    try:
        config = gateway_config(
            url,
            server={"port": port, "gateway_id": "gw-fails"},
            simulator={"port": blocker.getsockname()[1]},  # the simulator cannot listen
        )
        gw = Gateway(config, store=store)
        with pytest.raises(OSError, match="address already in use"):
            await gw.start()  # after listening on `port` and registering "gw-fails"
        assert gw.running is None
        with pytest.raises(ValueError, match="not registered"):
            await store.acquire_bind(
                "smpp-a", gateway_id="gw-fails", session_id="s", kind="tx", max_binds=1
            )
    finally:
        blocker.close()
    # The same port and identity start at once: the failed attempt holds neither.
    again = gateway_config(url, server={"port": port, "gateway_id": "gw-fails"})
    async with running_gateway(again, store) as gw:
        assert gw.endpoints.port == port
        assert await store.acquire_bind(
            "smpp-a", gateway_id="gw-fails", session_id="s", kind="tx", max_binds=1
        )


async def test_parts_are_reachable_only_once_started(store: Store, tmp_path: Path) -> None:
    gw = Gateway(gateway_config(f"sqlite:///{tmp_path}/ledger.db"), store=store)
    with pytest.raises(RuntimeError, match="not started"):
        _ = gw.forwarder
    await gw.start()
    try:
        assert gw.forwarder.held == 0
        assert gw.simulator is not None and gw.upstream is not None
    finally:
        await gw.stop()
    await gw.stop()  # a second stop has nothing left to do
