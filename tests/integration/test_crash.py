"""kill -9 the gateway under load, restart it: nothing acknowledged is lost or charged twice.

The gateway runs as a real process (`python -m gateway serve`) against the built-in
simulator running here in the test, which records every message it receives. Clients
send unique texts so each upstream arrival can be traced to the client's ESME_ROK.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from gateway.simulator import UpstreamSimulator
from ledger import open_store
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD, in_thread, make_account
from tests.integration.procs import GatewayProcess, free_port, write_config
from tests.integration.reconcile import assert_nothing_lost

pytestmark = pytest.mark.slow
UPSTREAM_WINDOW = 10  # as write_config sets it


def _client(port: int, name: str, acked: dict[bytes, str], stop: threading.Event) -> None:
    """Submit unique texts until the connection dies; record every ESME_ROK."""
    esme = Esme(port, timeout=5)
    try:
        if esme.bind("tx", "smpp-crash", PASSWORD) != 0:
            return
        n = 0
        while not stop.is_set():
            text = f"{name}-{n}".encode()
            status, mid = esme.submit(text)
            if status == 0:
                acked[text] = mid
            n += 1
    except Exception:  # the gateway was killed under us: expected
        return
    finally:
        esme.close()


async def test_kill_9_under_load_loses_nothing(tmp_path: Path) -> None:
    db = tmp_path / "ledger.db"
    store = await open_store(f"sqlite:///{db}")
    await store.upgrade()
    await make_account(store, "smpp-crash", credits="100000")
    await store.close()

    sim = UpstreamSimulator(dlr_delay_ms=10, keep_ids=True)
    await sim.start()
    port = free_port()
    config = write_config(
        tmp_path / "smppgw.toml", port=port, upstream_port=sim.port, ledger_url=f"sqlite:///{db}"
    )

    acked: dict[bytes, str] = {}
    stop = threading.Event()
    gw = await GatewayProcess(config, port).start()
    try:
        clients = [
            asyncio.ensure_future(in_thread(_client, port, f"c{i}", acked, stop)) for i in range(4)
        ]
        while len(acked) < 300:
            await asyncio.sleep(0.02)
        await gw.kill9()
        stop.set()
        await asyncio.gather(*clients)
        killed_with = len(acked)

        await gw.start()  # recovery: re-queue what was ACCEPTED
        store = await open_store(f"sqlite:///{db}")
        try:
            await assert_nothing_lost(
                store,
                "smpp-crash",
                acked,
                sim.stats.submitted_messages,
                max_resent=UPSTREAM_WINDOW,  # what was in flight at the kill
            )
            assert killed_with >= 300
        finally:
            await store.close()
    finally:
        code = await gw.stop()
        await sim.stop()
    assert code == 0, "SIGTERM stops the gateway cleanly"
