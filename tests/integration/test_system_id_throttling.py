"""Failed binds counted per system_id, and the hashing queue per address, over real
sockets (issue 9).

Guesses for one system_id spread over many client addresses (127.0.0.x: every one of
them reaches the gateway's loopback listener) block that system_id for addresses that
never bound it, while the customer's own address, which bound it before, still binds.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from gateway.smpp import CommandStatus as S
from ledger import Store, open_store
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.raw_esme import bind_status

SYSTEM_ID = "smpp-victim"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:///{tmp_path}/ledger.db")
    await s.upgrade()
    await make_account(s, SYSTEM_ID, allowed_ips=("127.0.0.0/8",))
    yield s
    await s.close()


def _bind(port: int, source_ip: str, password: str) -> int:
    """One connection from ``source_ip``, one bind; its command_status (-1: closed)."""
    with socket.socket() as s:
        s.settimeout(10)
        s.bind((source_ip, 0))
        s.connect(("127.0.0.1", port))
        return bind_status(s, SYSTEM_ID, password)


async def test_a_system_id_guessed_from_many_addresses_stays_open_to_its_own(
    store: Store, tmp_path: Path
) -> None:
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={
            "bind_max_failures": 5,
            "bind_system_id_max_failures": 4,
            "bind_system_id_window_s": 60.0,
            "bind_system_id_backoff_s": 60.0,
        },
    )
    async with running_gateway(config, store) as gw:
        assert gw.endpoints is not None
        port = gw.endpoints.port
        # The customer binds from its own address first.
        assert await in_thread(_bind, port, "127.0.0.2", PASSWORD) == S.ESME_ROK
        with structlog.testing.capture_logs() as logs:
            # Four guesses, each from an address of its own: none reaches the per-address
            # limit (5), together they reach the system_id's (4).
            statuses = [
                await in_thread(_bind, port, f"127.0.0.{10 + n}", f"guess{n}") for n in range(4)
            ]
            assert statuses == [S.ESME_RINVPASWD] * 4
            # A new address, even with the right password: 0x400, nothing hashed.
            assert await in_thread(_bind, port, "127.0.0.30", PASSWORD) == S.ESME_RBINDTHROTTLED
            # The customer's own address still binds.
            assert await in_thread(_bind, port, "127.0.0.2", PASSWORD) == S.ESME_ROK
        throttled = [e for e in logs if e["event"] == "bind.throttled"]
        assert [(e["reason"], e["system_id"]) for e in throttled] == [("system_id", SYSTEM_ID)]
        refused = [e["reason"] for e in logs if e["event"] == "bind.refused"]
        assert refused == ["bad_password"] * 4 + ["system_id_throttled"]
        # Counted as metrics too, by reason and status.
        sample = gw.metrics.registry.get_sample_value
        name = "smppgw_binds_refused_total"
        throttled = {"reason": "system_id_throttled", "status": "ESME_RBINDTHROTTLED"}
        assert sample(name, throttled) == 1
        assert sample(name, {"reason": "bad_password", "status": "ESME_RINVPASWD"}) == 4


async def test_one_address_holds_at_most_its_share_of_the_hashing_queue(
    store: Store, tmp_path: Path
) -> None:
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={"bind_max_failures": 0, "bind_hashes_per_address": 2},
    )
    async with running_gateway(config, store) as gw:
        assert gw.endpoints is not None
        port = gw.endpoints.port
        with structlog.testing.capture_logs() as logs:
            # Twelve wrong binds at once from one address: at most two hashes of it wait
            # or run at a time, the others are answered 0x400 before any hash.
            statuses = await asyncio.gather(
                *(in_thread(_bind, port, "127.0.0.5", f"guess{n}") for n in range(12))
            )
            assert set(statuses) <= {S.ESME_RINVPASWD, S.ESME_RBINDTHROTTLED}
            assert statuses.count(S.ESME_RBINDTHROTTLED) >= 1
            # Another address is not held up by that address's queue.
            assert await in_thread(_bind, port, "127.0.0.6", PASSWORD) == S.ESME_ROK
        reasons = [e["reason"] for e in logs if e["event"] == "bind.refused"]
        assert reasons.count("hash_queue_full") == statuses.count(S.ESME_RBINDTHROTTLED)
        assert reasons.count("bad_password") == statuses.count(S.ESME_RINVPASWD)
