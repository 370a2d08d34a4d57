"""Two node-smpp upstreams (smsc-sim.js), one killed with SIGKILL mid-run: its traffic
moves to the other, and comes back when it is started again on its port. Every message
is delivered and its receipt reaches the client under our id.

The gateway runs in-process (to watch its links); the upstreams are the independent
Node implementation in their own processes; the client is smpplib.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from gateway.config import UpstreamConfig
from gateway.smpp import CommandStatus as S
from ledger import Store, open_store
from ledger.models import MessageState
from tests.integration.esme import Esme
from tests.integration.harness import (
    PASSWORD,
    gateway_config,
    in_thread,
    make_account,
    running_gateway,
)
from tests.integration.test_routing import until
from tests.interop.peers import NodePeers, SmscSim

pytestmark = pytest.mark.node

SIM = {"dlr-delay-ms": 10, "id-format": "hex"}


def link(name: str, sim: SmscSim) -> UpstreamConfig:
    return UpstreamConfig(
        name=name, port=sim.port, system_id="gw", reconnect_min_s=0.05, reconnect_max_s=0.2
    )


async def send(esme: Esme, prefix: str, n: int) -> list[str]:
    ids = []
    for i in range(n):
        status, mid = await in_thread(esme.submit, f"{prefix}{i}".encode(), registered_delivery=1)
        assert status == S.ESME_ROK
        ids.append(mid)
    return ids


async def test_a_killed_node_upstream_hands_its_traffic_over_and_takes_it_back(
    node_peers: NodePeers, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    store: Store = await open_store(url)
    await store.upgrade()
    await make_account(store, "smpp-node2")
    a = SmscSim(node_peers, tmp_path / "a", SIM, max_runtime_s=120)
    b = SmscSim(node_peers, tmp_path / "b", SIM, max_runtime_s=120)
    a.start()
    b.start()
    a_again = SmscSim(node_peers, tmp_path / "a2", SIM, max_runtime_s=120, port=a.port)
    config = replace(
        gateway_config(url, simulator={"enabled": False}),
        upstreams=(link("a", a), link("b", b)),
    )
    try:
        async with running_gateway(config, store) as gw:
            esme = await in_thread(Esme, gw.endpoints.port)
            await in_thread(esme.bind, "trx", "smpp-node2", PASSWORD)
            first = await send(esme, "first", 20)
            await in_thread(esme.wait_receipts, 20)  # a delivered them all before it dies
            assert a.proc is not None
            a.proc.kill()  # SIGKILL: no unbind, the socket just ends
            a.proc.wait(5)
            await until(lambda: not gw.upstream.is_live("a"), "the link to a is down")
            during = await send(esme, "during", 20)
            await in_thread(esme.wait_receipts, 40)
            await asyncio.get_running_loop().run_in_executor(None, a_again.start)
            await until(lambda: gw.upstream.is_live("a"), "the link to a is back")
            after = await send(esme, "after", 20)
            receipts = await in_thread(esme.wait_receipts, 60)
            await in_thread(esme.close)
        ids = first + during + after
        assert sorted({r.receipted_message_id for r in receipts}) == sorted(ids)
        for group, name in ((first, "a"), (during, "b"), (after, "a")):
            for mid in group:
                record = await store.get_message(mid)
                assert (record.state, record.upstream) == (MessageState.DELIVERED, name)
        assert b.stop()["submit_ok"] == 20
        assert a_again.stop()["submit_ok"] == 20
        assert await store.audit() == []
    finally:
        for sim in (a, b, a_again):
            if sim.proc is not None and sim.totals is None:
                sim.proc.kill()
        await store.close()
