"""Real forwarding parts for tests: a SQLite ledger, the simulator over TCP, the upstream
client, forwarders and submitters wired as the gateway wires them (``Rig``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from gateway.config import UpstreamConfig
from gateway.delivery.dispatch import ReceiptDispatcher
from gateway.delivery.forwarder import Forwarder
from gateway.delivery.intake import ReceiptIntake
from gateway.delivery.links import UpstreamLink, UpstreamLinks
from gateway.delivery.registry import BindRegistry
from gateway.policy.ids import MessageIdGenerator
from gateway.policy.submit import SubmitOutcome, Submitter
from gateway.policy.tariff import Tariff
from gateway.simulator import UpstreamSimulator
from gateway.smpp import SubmitSm
from gateway.transport.upstream import UpstreamClient
from ledger import Store, open_store
from ledger.batcher import DebitBatcher
from ledger.models import DebitRequest, DebitResult, MessageState
from tests.integration.harness import TARIFF, make_account

GATEWAY_ID = "gw1"
PDU = SubmitSm(
    sequence_number=1,
    source_addr_ton=5,
    source_addr="SMPPGW",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr="33612345678",
    short_message=b"hi",
)


async def ack(_: object) -> int:
    """An upstream deliver_sm handler that acknowledges everything."""
    return 0


class AfterCommit:
    """A real store whose ``debit_batch`` runs ``then(requests)`` once it has committed,
    before its caller learns the result: the moment a sweep can read the fresh rows."""

    def __init__(self, store: Store, then: Callable[[Sequence[DebitRequest]], Awaitable[Any]]):
        self._store = store
        self._then = then

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def debit_batch(self, reqs: Sequence[DebitRequest]) -> list[DebitResult]:
        results = await self._store.debit_batch(reqs)
        await self._then(reqs)
        return results


@dataclass
class Rig:
    """A funded account ``smpp-a`` in a fresh ledger, a simulator and a bound upstream."""

    store: Store
    sim: UpstreamSimulator
    upstream: UpstreamClient
    forwarders: list[Forwarder] = field(default_factory=list)

    def forwarder(self, store: Any = None, **kwargs: Any) -> Forwarder:
        """A forwarder over ``store`` (default: the ledger), stopped with the rig."""
        receipts = ReceiptIntake(
            self.store, ReceiptDispatcher(self.store, BindRegistry(), gateway_id=GATEWAY_ID)
        )
        fwd = Forwarder(
            store or self.store, links_of(self.upstream), receipts, gateway_id=GATEWAY_ID, **kwargs
        )
        self.forwarders.append(fwd)
        return fwd

    def submitter(self, outbox: Forwarder, debits: Any = None) -> Submitter:
        """A submitter debiting through ``debits`` (default: the ledger) into ``outbox``."""
        return Submitter(
            Tariff.load(TARIFF),
            DebitBatcher(debits or self.store),
            outbox,
            MessageIdGenerator(),
            gateway_id=GATEWAY_ID,
        )

    async def submit(self, submitter: Submitter) -> SubmitOutcome:
        """Submit ``PDU`` for ``smpp-a``."""
        account = await self.store.get_account("smpp-a")
        return await submitter.submit(account, PDU, structlog.get_logger())

    async def until_recorded(self, fwd: Forwarder, message_id: str) -> None:
        """Wait until the message is FORWARDED in the ledger and ``fwd`` let go of it."""
        for _ in range(250):
            message = await self.store.get_message(message_id)
            if message.state == MessageState.FORWARDED and fwd.held == 0:
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"{message_id} was not forwarded and recorded")


async def open_ledger(tmp_path: Path) -> Store:
    """A fresh SQLite ledger with ``smpp-a`` (10 credits) and this gateway registered."""
    store = await open_store(f"sqlite:///{tmp_path}/l.db")
    await store.upgrade()
    await make_account(store, "smpp-a", credits="10")
    await store.register_gateway(GATEWAY_ID, address="test")
    return store


def links_of(*clients: UpstreamClient) -> UpstreamLinks:
    """Each client as the one bind of an upstream of its config's name."""
    return UpstreamLinks([UpstreamLink(c.config, [c]) for c in clients])


async def bound_upstream(sim: UpstreamSimulator) -> UpstreamClient:
    """An upstream client bound to ``sim``."""
    client = UpstreamClient(
        UpstreamConfig(port=sim.port, system_id="gw", reconnect_min_s=0.05, reconnect_max_s=0.1),
        ack,
    )
    client.start()
    await asyncio.wait_for(client.wait_bound(), 5)
    return client


@asynccontextmanager
async def rig(tmp_path: Path, sim: UpstreamSimulator | None = None) -> AsyncIterator[Rig]:
    """A started ``Rig``; its forwarders, upstream, simulator and ledger stop on exit."""
    store = await open_ledger(tmp_path)
    sim = sim or UpstreamSimulator()
    await sim.start()
    upstream = await bound_upstream(sim)
    r = Rig(store, sim, upstream)
    try:
        yield r
    finally:
        for fwd in r.forwarders:
            await fwd.stop()
        await upstream.stop()
        await sim.stop()
        await store.close()
