"""Failures at awkward moments (from review findings), each once reproduced as a bug.

The parts are real (SQLite store, the SMPP simulator over TCP, the upstream client); a
thin proxy around the store injects a failure exactly where the scenario needs it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import structlog

from gateway.forwarder import Forwarder
from gateway.ids import MessageIdGenerator
from gateway.registry import BindRegistry
from gateway.relay import ReceiptRelay
from gateway.simulator import UpstreamSimulator
from gateway.smpp import CommandStatus as S
from gateway.smpp import SubmitSm
from gateway.submit import Submitter
from gateway.tariff import Tariff
from gateway.upstream import UpstreamClient, UpstreamSettings
from ledger import LedgerUnavailable, Store, open_store
from ledger.batcher import DebitBatcher
from ledger.models import DebitRequest, DebitResult, EntryKind, MessageState
from tests.integration.harness import TARIFF, make_account

PDU = SubmitSm(
    sequence_number=1,
    source_addr_ton=5,
    source_addr="SMPPGW",
    dest_addr_ton=1,
    dest_addr_npi=1,
    destination_addr="33612345678",
    short_message=b"hi",
)


class Faulty:
    """A real store whose chosen methods fail the first ``times`` calls.

    ``after=True`` makes a call do its work first and then fail: a COMMIT that landed
    while its acknowledgement was lost.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self.faults: dict[str, tuple[int, bool]] = {}
        self.calls: dict[str, int] = {}

    def fail(self, method: str, *, times: int = 1, after: bool = False) -> None:
        self.faults[method] = (times, after)

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._store, name)
        if name not in self.faults:
            return real

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] = self.calls.get(name, 0) + 1
            times, after = self.faults[name]
            if times <= 0:
                return await real(*args, **kwargs)
            self.faults[name] = (times - 1, after)
            if after:
                await real(*args, **kwargs)
                raise LedgerUnavailable("link lost during COMMIT", outcome_unknown=True)
            raise LedgerUnavailable("injected outage")

        return wrapper


async def _store(tmp_path: Path) -> Store:
    store = await open_store(f"sqlite:///{tmp_path}/l.db")
    await store.upgrade()
    await make_account(store, "smpp-a", credits="10")
    await store.register_gateway("gw1", address="test")
    return store


async def _upstream(sim: UpstreamSimulator) -> UpstreamClient:
    async def ack(_: object) -> int:
        return 0

    client = UpstreamClient(
        UpstreamSettings("127.0.0.1", sim.port, "gw", reconnect_min=0.05, reconnect_max=0.1),
        ack,
    )
    client.start()
    await asyncio.wait_for(client.wait_bound(), 5)
    return client


async def test_upstream_keeps_reconnecting_when_the_smsc_never_answers_the_bind() -> None:
    attempts: list[asyncio.StreamWriter] = []

    async def silent(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        attempts.append(w)  # accepts TCP, never answers bind_transceiver

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = UpstreamClient(
        UpstreamSettings(
            "127.0.0.1", port, "gw", response_timeout=0.1, reconnect_min=0.02, reconnect_max=0.05
        ),
        lambda _: asyncio.sleep(0, 0),
    )
    client.start()
    try:
        for _ in range(200):
            if len(attempts) >= 3:
                break
            await asyncio.sleep(0.02)
        assert len(attempts) >= 3, "a bind timeout must not end the reconnect loop"
        assert client._runner is not None and not client._runner.done()
    finally:
        await client.stop()
        for w in attempts:
            w.close()
        server.close()
        await server.wait_closed()


async def test_unknown_commit_outcome_is_resolved_with_the_same_key(tmp_path: Path) -> None:
    """The COMMIT landed but its acknowledgement was lost: one debit, ESME_ROK, forwarded."""
    store = await _store(tmp_path)
    faulty = Faulty(store)
    faulty.fail("debit_batch", after=True)
    sim = UpstreamSimulator(keep_ids=True)
    await sim.start()
    upstream = await _upstream(sim)
    relay = ReceiptRelay(store, BindRegistry(), gateway_id="gw1")
    fwd = Forwarder(store, upstream, relay, gateway_id="gw1", workers=2)
    fwd.start()
    submitter = Submitter(
        Tariff.load(TARIFF),
        DebitBatcher(faulty),  # type: ignore[arg-type]
        fwd,
        MessageIdGenerator(),
        gateway_id="gw1",
    )
    try:
        account = await store.get_account("smpp-a")
        out = await submitter.submit(account, PDU, structlog.get_logger())
        assert out.status == S.ESME_ROK
        assert await fwd.drain(5)
        debits = [e for e in await store.journal("smpp-a") if e.kind == EntryKind.DEBIT]
        assert [e.message_id for e in debits] == [out.message_id]
        assert sim.stats.submits == 1
        assert (await store.get_message(out.message_id)).state == MessageState.FORWARDED
    finally:
        await fwd.stop()
        await upstream.stop()
        await sim.stop()
        await store.close()


async def test_an_adoption_sweep_racing_a_fresh_debit_does_not_send_it_twice(
    tmp_path: Path,
) -> None:
    store = await _store(tmp_path)
    sim = UpstreamSimulator()
    await sim.start()
    upstream = await _upstream(sim)
    fwd = Forwarder(
        store, upstream, ReceiptRelay(store, BindRegistry(), gateway_id="gw1"), gateway_id="gw1"
    )

    class SweepRightAfterCommit:
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def debit_batch(self, reqs: Sequence[DebitRequest]) -> list[DebitResult]:
            results = await store.debit_batch(reqs)
            await fwd.recover(limit=1000)  # the sweep reads the fresh row here
            return results

    submitter = Submitter(
        Tariff.load(TARIFF),
        DebitBatcher(SweepRightAfterCommit()),  # type: ignore[arg-type]
        fwd,
        MessageIdGenerator(),
        gateway_id="gw1",
    )
    fwd.start()
    try:
        out = await submitter.submit(await store.get_account("smpp-a"), PDU, structlog.get_logger())
        assert out.status == S.ESME_ROK
        assert await fwd.drain(5)
        assert sim.stats.submits == 1
    finally:
        await fwd.stop()
        await upstream.stop()
        await sim.stop()
        await store.close()


async def test_a_failed_refund_is_retried_by_the_next_sweep(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    faulty = Faulty(store)
    faulty.fail("refund")
    sim = UpstreamSimulator(reject_status=S.ESME_RINVDSTADR)  # permanent refusal
    await sim.start()
    upstream = await _upstream(sim)
    relay = ReceiptRelay(store, BindRegistry(), gateway_id="gw1")
    fwd = Forwarder(faulty, upstream, relay, gateway_id="gw1", adopt_interval=0.05)  # type: ignore[arg-type]
    submitter = Submitter(
        Tariff.load(TARIFF), DebitBatcher(store), fwd, MessageIdGenerator(), gateway_id="gw1"
    )
    fwd.start()
    try:
        out = await submitter.submit(await store.get_account("smpp-a"), PDU, structlog.get_logger())
        for _ in range(200):
            if (await store.get_message(out.message_id)).state == MessageState.REJECTED:
                break
            await asyncio.sleep(0.02)
        assert (await store.get_message(out.message_id)).state == MessageState.REJECTED
        assert faulty.calls["refund"] >= 2
        assert (await store.get_account("smpp-a")).balance == 10_000, "refunded once"
    finally:
        await fwd.stop()
        await upstream.stop()
        await sim.stop()
        await store.close()


async def test_stop_does_not_wait_for_a_ledger_that_is_down(tmp_path: Path) -> None:
    store = await _store(tmp_path)
    faulty = Faulty(store)
    faulty.fail("mark_forwarded", times=1000)
    sim = UpstreamSimulator()
    await sim.start()
    upstream = await _upstream(sim)
    relay = ReceiptRelay(store, BindRegistry(), gateway_id="gw1")
    fwd = Forwarder(faulty, upstream, relay, gateway_id="gw1")  # type: ignore[arg-type]
    submitter = Submitter(
        Tariff.load(TARIFF), DebitBatcher(store), fwd, MessageIdGenerator(), gateway_id="gw1"
    )
    fwd.start()
    try:
        out = await submitter.submit(await store.get_account("smpp-a"), PDU, structlog.get_logger())
        assert out.status == S.ESME_ROK
        for _ in range(100):
            if sim.stats.submits:
                break
            await asyncio.sleep(0.02)
        await asyncio.wait_for(fwd.stop(timeout=0.5), 5)  # returns although nothing records
        # Not recorded, so still ACCEPTED: the next start sends it again (at-least-once).
        assert (await store.get_message(out.message_id)).state == MessageState.ACCEPTED
    finally:
        await upstream.stop()
        await sim.stop()
        await store.close()
