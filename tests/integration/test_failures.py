"""Failures at awkward moments, each with the guarantee the gateway keeps through it.

The parts are real (SQLite store, the SMPP simulator over TCP, the upstream client); a
thin proxy around the store injects a failure exactly where the scenario needs it.
"""

from __future__ import annotations

import asyncio
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
from gateway.smpp import (
    ESM_CLASS_DELIVERY_RECEIPT,
    DeliverSm,
    Pdu,
    Role,
    Session,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    response_to,
)
from gateway.smpp import CommandStatus as S
from gateway.transport.connection import ConnectionClosed, SmppConnection
from gateway.transport.upstream import UpstreamClient
from ledger import LedgerUnavailable, Store
from ledger.batcher import DebitBatcher
from ledger.models import EntryKind, MessageState
from tests.integration.forwarding import GATEWAY_ID, PDU, ack, open_ledger, rig
from tests.integration.harness import TARIFF


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
            client = UpstreamClient(UpstreamConfig(port=sim.port, system_id="gw"), ack)
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
    async with rig(tmp_path, UpstreamSimulator(keep_ids=True)) as r:
        faulty = Faulty(r.store)
        faulty.fail("debit_batch", after=True)
        fwd = r.forwarder(workers=2)
        fwd.start()
        out = await r.submit(r.submitter(fwd, faulty))
        assert out.status == S.ESME_ROK
        assert await fwd.drain(5)
        debits = [e for e in await r.store.journal("smpp-a") if e.kind == EntryKind.DEBIT]
        assert [e.message_id for e in debits] == [out.message_id]
        assert r.sim.stats.submits == 1
        assert (await r.store.get_message(out.message_id)).state == MessageState.FORWARDED


async def test_unknown_outcome_of_an_enqueued_debit_is_asked_again(tmp_path: Path) -> None:
    """The server's path (no task per submit_sm): prepare, enqueue the debit, and when its
    future says the COMMIT's outcome is unknown, ask again from attempt 2 with the key."""
    async with rig(tmp_path, UpstreamSimulator(keep_ids=True)) as r:
        faulty = Faulty(r.store)
        faulty.fail("debit_batch", after=True)
        fwd = r.forwarder(workers=2)
        fwd.start()
        submitter = r.submitter(fwd, faulty)
        account = await r.store.get_account("smpp-a")
        pending = submitter.prepare(account, PDU, structlog.get_logger())
        assert not isinstance(pending, SubmitOutcome)
        first = submitter.batcher.enqueue_debit(pending.request)
        error = await asyncio.wait_for(asyncio.gather(first, return_exceptions=True), 5)
        assert isinstance(error[0], LedgerUnavailable) and error[0].outcome_unknown
        out = await submitter.debit(pending, attempt=2)
        assert out.status == S.ESME_ROK
        assert out.message_id == pending.message.message_id
        assert await fwd.drain(5)
        debits = [e for e in await r.store.journal("smpp-a") if e.kind == EntryKind.DEBIT]
        assert [e.message_id for e in debits] == [out.message_id]
        assert r.sim.stats.submits == 1


async def test_a_failed_refund_is_retried_by_the_next_sweep(tmp_path: Path) -> None:
    sim = UpstreamSimulator(reject_status=S.ESME_RINVDSTADR)  # permanent refusal
    async with rig(tmp_path, sim) as r:
        faulty = Faulty(r.store)
        faulty.fail("refund")
        fwd = r.forwarder(faulty, adopt_interval=0.05)
        fwd.start()
        out = await r.submit(r.submitter(fwd))
        for _ in range(200):
            if (await r.store.get_message(out.message_id)).state == MessageState.REJECTED:
                break
            await asyncio.sleep(0.02)
        assert (await r.store.get_message(out.message_id)).state == MessageState.REJECTED
        assert faulty.calls["refund"] >= 2
        assert (await r.store.get_account("smpp-a")).balance == 10_000, "refunded once"


async def test_stop_does_not_wait_for_a_ledger_that_is_down(tmp_path: Path) -> None:
    async with rig(tmp_path) as r:
        faulty = Faulty(r.store)
        faulty.fail("mark_forwarded", times=1000)
        fwd = r.forwarder(faulty)
        fwd.start()
        out = await r.submit(r.submitter(fwd))
        assert out.status == S.ESME_ROK
        for _ in range(100):
            if r.sim.stats.submits:
                break
            await asyncio.sleep(0.02)
        await asyncio.wait_for(fwd.stop(timeout=0.5), 5)  # returns although nothing records
        # Not recorded, so still ACCEPTED: the next start sends it again (at-least-once).
        assert (await r.store.get_message(out.message_id)).state == MessageState.ACCEPTED


class _Smsc:
    """An SMSC that accepts any bind and submit_sm, and lets the test send it requests."""

    def __init__(self) -> None:
        self.conns: list[SmppConnection] = []
        self.submits = 0
        self.bound = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        loop = asyncio.get_running_loop()

        def factory() -> SmppConnection:
            return SmppConnection(Session(Role.SMSC, now=loop.time()), self)

        self._server = await loop.create_server(factory, "127.0.0.1", 0)
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        for conn in self.conns:
            conn.abort()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def on_request(self, conn: SmppConnection, pdu: Pdu) -> None:
        if isinstance(pdu, SubmitSm):
            self.submits += 1
            conn.respond(response_to(pdu, message_id=f"up{self.submits}"))
            return
        self.conns.append(conn)  # a bind
        conn.respond(response_to(pdu, system_id="SMSC"))
        self.bound.set()

    def on_bound(self, conn: SmppConnection) -> None:
        pass

    def on_closed(self, conn: SmppConnection) -> None:
        pass


class _Watched(UpstreamLink):
    """The upstream client's link, noting every error ``submit`` raised to the forwarder."""

    def __init__(self, upstream: UpstreamClient) -> None:
        super().__init__(upstream.config, [upstream])
        self.errors: list[Exception] = []
        self.failed = asyncio.Event()

    async def wait_bound(self) -> None:
        await self.upstream.wait_bound()

    async def submit(self, body: bytes) -> SubmitSmResp:
        try:
            return await super().submit(body)
        except Exception as e:
            self.errors.append(e)
            self.failed.set()
            raise


async def test_a_message_sent_while_the_upstream_unbinds_goes_out_after_the_reconnect(
    tmp_path: Path,
) -> None:
    """The SMSC sends a receipt and, in the same write, an unbind: the link stays up until
    the receipt is answered, but takes no new submit_sm. A message the forwarder tries
    then is retried on the next link, not let go until an adoption sweep."""
    receipt_pending, answer_receipt = asyncio.Event(), asyncio.Event()

    async def slow_ack(_: DeliverSm) -> int:
        receipt_pending.set()
        await answer_receipt.wait()
        return 0

    store = await open_ledger(tmp_path)
    smsc = _Smsc()
    port = await smsc.start()
    upstream = UpstreamClient(
        UpstreamConfig(port=port, system_id="gw", reconnect_min_s=0.05, reconnect_max_s=0.1),
        slow_ack,
    )
    upstream.start()
    watched = _Watched(upstream)
    intake = ReceiptIntake(store, ReceiptDispatcher(store, BindRegistry(), gateway_id=GATEWAY_ID))
    # No sweep within the test: only a retry can send the message.
    fwd = Forwarder(
        store,
        UpstreamLinks([watched]),
        intake,
        gateway_id=GATEWAY_ID,
        workers=1,
        adopt_interval=3600,
        retry_base=0.05,
    )
    try:
        await asyncio.wait_for(upstream.wait_bound(), 5)
        account = await store.get_account("smpp-a")
        submitter = Submitter(
            Tariff.load(TARIFF),
            DebitBatcher(store),
            fwd,
            MessageIdGenerator(),
            gateway_id=GATEWAY_ID,
        )
        out = await submitter.submit(account, PDU, structlog.get_logger())
        assert out.status == S.ESME_ROK  # queued; no worker runs yet
        (smsc_side,) = smsc.conns
        smsc_side.send_request_nowait(
            DeliverSm(sequence_number=0, esm_class=ESM_CLASS_DELIVERY_RECEIPT, short_message=b"x")
        )
        smsc_side.send_request_nowait(Unbind(sequence_number=0))
        await asyncio.wait_for(receipt_pending.wait(), 5)
        fwd.start()
        await asyncio.wait_for(watched.failed.wait(), 5)
        assert isinstance(watched.errors[0], ConnectionClosed), repr(watched.errors[0])
        answer_receipt.set()
        for _ in range(250):
            message = await store.get_message(out.message_id)
            if message.state == MessageState.FORWARDED and fwd.held == 0:
                break
            await asyncio.sleep(0.02)
        assert (await store.get_message(out.message_id)).state == MessageState.FORWARDED
        assert smsc.submits == 1
        assert len(smsc.conns) == 2, "sent on the second link"
    finally:
        await fwd.stop()
        await upstream.stop()
        await smsc.stop()
        await store.close()
