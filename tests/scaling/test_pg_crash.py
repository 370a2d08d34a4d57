"""Crash matrix on PostgreSQL: kill -9 a gateway under load, then stop the database hard.

A throw-away cluster is started for the test so it can be stopped with
``pg_ctl stop -m immediate`` (no checkpoint: what is not in the WAL is gone). Afterwards,
every ESME_ROK a client saw must have exactly one debit and one message row, no debit may
lack its message, every acknowledged message must reach the upstream, and while the
database is down the gateway must refuse with ESME_RLEDGERDOWN, never accept unbilled.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path

import pytest

from gateway.simulator import UpstreamSimulator
from gateway.smpp import CommandStatus as S
from ledger import open_store
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD, in_thread, make_account
from tests.integration.procs import GatewayProcess, free_port, write_config
from tests.integration.reconcile import assert_nothing_lost
from tests.scaling.cluster import Cluster

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _load(
    port: int, name: str, acked: dict[bytes, str], seen: Counter[int], stop: threading.Event
) -> None:
    """Submit unique texts until told to stop; reconnect when the gateway goes away."""
    n = 0
    while not stop.is_set():
        try:
            esme = Esme(port, timeout=3)
        except Exception:
            stop.wait(0.05)
            continue
        try:
            if esme.bind("tx", "smpp-crash", PASSWORD) != 0:
                stop.wait(0.05)
                continue
            while not stop.is_set():
                text = f"{name}-{n}".encode()
                n += 1
                status, mid = esme.submit(text)
                seen[status] += 1
                if status == S.ESME_ROK:
                    acked[text] = mid
                elif status == S.ESME_RLEDGERDOWN:
                    stop.wait(0.02)
        except Exception:  # noqa: S110 — the gateway or its database went away mid-call
            pass
        finally:
            esme.close()


async def test_kill_gateway_and_stop_database_hard(
    tmp_path: Path, cluster: Cluster, upstream: UpstreamSimulator
) -> None:
    store = await open_store(cluster.dsn)
    await store.upgrade()
    await make_account(store, "smpp-crash", credits="1000000")
    await store.close()

    gws = []
    for name in ("a", "b"):
        port = free_port()
        cfg = write_config(
            tmp_path / f"{name}.toml",
            port=port,
            upstream_port=upstream.port,
            ledger_url=cluster.dsn,
        )
        gws.append(await GatewayProcess(cfg, port).start())
    a, b = gws

    acked: dict[bytes, str] = {}
    seen: Counter[int] = Counter()
    stop = threading.Event()
    clients = [
        asyncio.ensure_future(in_thread(_load, gws[i % 2].port, f"c{i}", acked, seen, stop))
        for i in range(8)
    ]
    try:
        while len(acked) < 300:
            await asyncio.sleep(0.02)
        await a.kill9()  # mid-load, no shutdown code
        before_db_stop = len(acked)
        while len(acked) < before_db_stop + 100:
            await asyncio.sleep(0.02)
        await cluster.stop_immediate()  # b keeps running without its database
        downs = seen[S.ESME_RLEDGERDOWN]
        for _ in range(300):
            if seen[S.ESME_RLEDGERDOWN] > downs + 5:
                break
            await asyncio.sleep(0.02)
        assert seen[S.ESME_RLEDGERDOWN] > downs, "a down ledger is refused by name"
        await cluster.start()
        await a.start()  # recovery re-queues what a left ACCEPTED
        accepted_after = len(acked)
        for _ in range(500):
            if len(acked) > accepted_after + 50:
                break
            await asyncio.sleep(0.02)
        assert len(acked) > accepted_after, "b recovers by itself once the database is back"
    finally:
        stop.set()
        await asyncio.gather(*clients)

    store = await open_store(cluster.dsn)
    try:
        # At-least-once upstream: resent only what the killed gateway had in flight.
        await assert_nothing_lost(
            store, "smpp-crash", acked, upstream.stats.submitted_messages, max_resent=2 * 10
        )
    finally:
        await store.close()
        assert await b.stop() == 0
        assert await a.stop() == 0
