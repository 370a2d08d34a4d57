"""A receiver that stops reading does not starve its account's other receivers."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from gateway.app import Gateway
from gateway.smpp import BindReceiver, PduReader, decode, encode
from ledger import Store
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)

SYSTEM_ID = "smpp-rx"
MESSAGES = 60


@pytest.fixture
async def gw(store: Store, tmp_path: Path) -> AsyncIterator[Gateway]:
    config = gateway_config(
        f"sqlite:///{tmp_path}/ledger.db",
        server={"response_timeout_s": 1.0, "receiver_max_unanswered": 3},
    )
    await make_account(store, SYSTEM_ID, max_binds=4)
    async with running_gateway(config, store) as g:
        yield g


def _bind_and_stop_reading(port: int) -> socket.socket:
    """A receiver that binds, then never reads again (its deliver_sm go unanswered)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(encode(BindReceiver(sequence_number=1, system_id=SYSTEM_ID, password=PASSWORD)))
    reader = PduReader()
    while True:
        reader.feed(s.recv(64))  # small reads: leave whatever follows the bind_resp unread
        frames = list(reader.frames())
        if frames:
            assert decode(frames[0]).command_status == 0
            return s


def _dropped(s: socket.socket) -> bool:
    """True when the gateway has closed ``s`` (EOF after the unread backlog, or a reset)."""
    s.settimeout(5)
    try:
        while s.recv(65536):
            pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def test_the_healthy_receiver_gets_every_receipt(gw: Gateway, store: Store) -> None:
    port = gw.endpoints.port
    stuck = await in_thread(_bind_and_stop_reading, port)
    healthy = await in_thread(Esme, port, timeout=30)
    await in_thread(healthy.bind, "rx", SYSTEM_ID, PASSWORD)
    sender = await in_thread(Esme, port)
    await in_thread(sender.bind, "tx", SYSTEM_ID, PASSWORD)
    with structlog.testing.capture_logs() as logs:
        ids = set()
        for i in range(MESSAGES):
            status, mid = await in_thread(sender.submit, f"m{i}".encode(), registered_delivery=1)
            assert status == 0
            ids.add(mid)
        receipts = await in_thread(healthy.wait_receipts, MESSAGES)
    assert {r.receipted_message_id for r in receipts} >= ids
    # Closed as stuck after 3 unanswered deliver_sm, not kept until the inactivity timeout.
    assert [e["event"] for e in logs if e["event"] == "receiver.stuck"] == ["receiver.stuck"]
    assert await in_thread(_dropped, stuck)
    stuck.close()
    await in_thread(sender.close)
    await in_thread(healthy.close)
