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

from gateway.config import UpstreamConfig
from gateway.delivery.dispatch import ReceiptDispatcher
from gateway.delivery.forwarder import Forwarder
from gateway.delivery.intake import ReceiptIntake
from gateway.delivery.registry import BindRegistry
from gateway.pdu import CommandStatus as S
from gateway.pdu import SubmitSm
from gateway.policy.ids import MessageIdGenerator
from gateway.policy.submit import Submitter
from gateway.policy.tariff import Tariff
from gateway.simulator import UpstreamSimulator
from gateway.transport.upstream import UpstreamClient
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


def _receipts(store: Store) -> ReceiptIntake:
    return ReceiptIntake(store, ReceiptDispatcher(store, BindRegistry(), gateway_id="gw1"))


async def _ack(_: object) -> int:
    return 0


async def _upstream(sim: UpstreamSimulator) -> UpstreamClient:
    client = UpstreamClient(
        UpstreamConfig(port=sim.port, system_id="gw", reconnect_min_s=0.05, reconnect_max_s=0.1),
        _ack,
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
        UpstreamConfig(
            port=port,
            system_id="gw",
            response_timeout_s=0.1,
            reconnect_min_s=0.02,
            reconnect_max_s=0.05,
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


async def test_upstream_stop_while_binding_ends_the_link() -> None:
    """stop() at any moment of connect and bind returns, and leaves no link behind."""
    sim = UpstreamSimulator()
    await sim.start()
    try:
        for turns in range(200):
            client = UpstreamClient(UpstreamConfig(port=sim.port, system_id="gw"), _ack)
            client.start()
            for _ in range(turns):  # from before the connect to after the bind, a turn on
                await asyncio.sleep(0)
            await asyncio.wait_for(client.stop(), 5)
            assert client._runner is not None and client._runner.done()
        for _ in range(100):
            if not sim._conns:
                break
            await asyncio.sleep(0.01)
        assert not sim._conns, "every link was closed"
    finally:
        await sim.stop()


async def test_unknown_commit_outcome_is_resolved_with_the_same_key(tmp_path: Path) -> None:
    """The COMMIT landed but its acknowledgement was lost: one debit, ESME_ROK, forwarded."""
    store = await _store(tmp_path)
    faulty = Faulty(store)
    faulty.fail("debit_batch", after=True)
    sim = UpstreamSimulator(keep_ids=True)
    await sim.start()
    upstream = await _upstream(sim)
    receipts = _receipts(store)
    fwd = Forwarder(store, upstream, receipts, gateway_id="gw1", workers=2)
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
    fwd = Forwarder(store, upstream, _receipts(store), gateway_id="gw1")

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


async def _until_recorded(store: Store, fwd: Forwarder, message_id: str) -> None:
    """Wait until the message is FORWARDED in the ledger and the forwarder let go of it."""
    for _ in range(250):
        message = await store.get_message(message_id)
        if message.state == MessageState.FORWARDED and fwd.held == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{message_id} was not forwarded and recorded")


async def test_a_swept_copy_finished_before_the_submit_path_hands_it_over_is_not_resent(
    tmp_path: Path,
) -> None:
    """The sweep takes the fresh row, sends and records it, and only then does the submit
    path (still resolving its debit, as after an unknown COMMIT) hand the message over."""
    store = await _store(tmp_path)
    sim = UpstreamSimulator()
    await sim.start()
    upstream = await _upstream(sim)
    fwd = Forwarder(store, upstream, _receipts(store), gateway_id="gw1")

    class SweepAndSendBeforeAnswering:
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def debit_batch(self, reqs: Sequence[DebitRequest]) -> list[DebitResult]:
            results = await store.debit_batch(reqs)
            assert await fwd.recover(limit=1000) == 1, "the sweep took the fresh row"
            await _until_recorded(store, fwd, reqs[0].message.message_id)
            return results

    submitter = Submitter(
        Tariff.load(TARIFF),
        DebitBatcher(SweepAndSendBeforeAnswering()),  # type: ignore[arg-type]
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
        assert fwd.held == 0
    finally:
        await fwd.stop()
        await upstream.stop()
        await sim.stop()
        await store.close()


async def test_a_sweep_that_read_the_row_before_it_was_sent_does_not_resend_it(
    tmp_path: Path,
) -> None:
    """A sweep reads the fresh row, the submit path's copy is sent and recorded, and only
    then does the sweep return with what it read (a slow ledger round trip)."""
    store = await _store(tmp_path)
    sim = UpstreamSimulator()
    await sim.start()
    upstream = await _upstream(sim)
    read_done, release = asyncio.Event(), asyncio.Event()

    class SlowSweep:
        armed = True

        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def adopt_unforwarded(self, gateway_id: str, **kw: Any) -> Any:
            rows = await store.adopt_unforwarded(gateway_id, **kw)
            if self.armed:
                self.armed = False
                read_done.set()
                await release.wait()
            return rows

    slow = SlowSweep()
    fwd = Forwarder(slow, upstream, _receipts(store), gateway_id="gw1")  # type: ignore[arg-type]
    sweeps: list[asyncio.Task[int]] = []

    class SweepReadsRightAfterCommit:
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def debit_batch(self, reqs: Sequence[DebitRequest]) -> list[DebitResult]:
            results = await store.debit_batch(reqs)
            sweeps.append(asyncio.ensure_future(fwd.recover(limit=1000)))
            await asyncio.wait_for(read_done.wait(), 5)
            return results

    submitter = Submitter(
        Tariff.load(TARIFF),
        DebitBatcher(SweepReadsRightAfterCommit()),  # type: ignore[arg-type]
        fwd,
        MessageIdGenerator(),
        gateway_id="gw1",
    )
    fwd.start()
    try:
        out = await submitter.submit(await store.get_account("smpp-a"), PDU, structlog.get_logger())
        assert out.status == S.ESME_ROK
        await _until_recorded(store, fwd, out.message_id)
        release.set()
        assert await asyncio.wait_for(sweeps[0], 5) == 0, "the stale read queued nothing"
        assert await fwd.drain(5)
        assert sim.stats.submits == 1
    finally:
        release.set()
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
    receipts = _receipts(store)
    fwd = Forwarder(faulty, upstream, receipts, gateway_id="gw1", adopt_interval=0.05)  # type: ignore[arg-type]
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
    receipts = _receipts(store)
    fwd = Forwarder(faulty, upstream, receipts, gateway_id="gw1")  # type: ignore[arg-type]
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
