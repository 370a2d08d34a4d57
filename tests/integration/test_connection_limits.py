"""Connection caps and the bind deadline, over real sockets."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from gateway.app import Gateway
from gateway.smpp import EnquireLink, encode
from ledger import Store
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.raw_esme import bind_status


@pytest.fixture
async def limited(store: Store, tmp_path: Path) -> AsyncIterator[Gateway]:
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={"max_connections_per_address": 2, "max_connections": 3, "bind_timeout_s": 1.0},
    )
    await make_account(store, "smpp-caps")
    async with running_gateway(config, store) as g:
        yield g


def _connect(port: int, source: str = "127.0.0.1") -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=5, source_address=(source, 0))
    s.settimeout(3)
    return s


def _closed_by_peer(s: socket.socket) -> bool:
    try:
        return s.recv(4096) == b""
    except TimeoutError:
        return False


def _bind(s: socket.socket) -> int:
    return bind_status(s, "smpp-caps", PASSWORD)


async def test_a_connection_beyond_a_cap_is_closed_at_once(limited: Gateway) -> None:
    port = limited.endpoints.port
    with structlog.testing.capture_logs() as logs:
        first, second = await in_thread(_connect, port), await in_thread(_connect, port)
        third = await in_thread(_connect, port)
        assert await in_thread(_closed_by_peer, third)  # a third from 127.0.0.1
        other = await in_thread(_connect, port, "127.0.0.2")  # another address: room left
        fourth = await in_thread(_connect, port, "127.0.0.3")  # but 3 in total
        assert await in_thread(_closed_by_peer, fourth)
        assert await in_thread(_bind, first) == 0 and await in_thread(_bind, second) == 0
    refused = [e["reason"] for e in logs if e["event"] == "connection.refused"]
    assert refused == ["max_connections_per_address", "max_connections"]
    for s in (first, second, third, other, fourth):
        s.close()


def _enquire_until_closed(port: int) -> float:
    s = _connect(port)
    started = time.monotonic()
    s.settimeout(0.2)
    seq = 1
    try:
        while time.monotonic() - started < 10:
            s.sendall(encode(EnquireLink(sequence_number=seq)))
            seq += 1
            try:
                while True:
                    if s.recv(4096) == b"":
                        return time.monotonic() - started
            except TimeoutError:
                pass
        raise AssertionError("an unbound connection was kept 10 s")
    finally:
        s.close()


async def test_an_unbound_connection_is_closed_at_the_deadline_whatever_it_sends(
    limited: Gateway,
) -> None:
    with structlog.testing.capture_logs() as logs:
        lived = await in_thread(_enquire_until_closed, limited.endpoints.port)
        bound = await in_thread(_connect, limited.endpoints.port)
        assert await in_thread(_bind, bound) == 0
        assert not await in_thread(_closed_by_peer, bound)  # 3 s after binding: still open
        bound.close()
    assert lived > 0.8  # not before the 1 s deadline (after it: the helper gives up at 10 s)
    assert [e["event"] for e in logs if e["event"] == "session.bind_deadline"] == [
        "session.bind_deadline"
    ]
