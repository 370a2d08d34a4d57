"""Two `smppgw serve` processes sharing one PostgreSQL ledger.

What must hold across processes: one balance (exactly K accepted, never more), one
recharge per crossing, one bind quota, one throughput limit, and receipts that reach the
account's receiver on whichever gateway it is bound.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.simulator import UpstreamSimulator
from gateway.smpp import CommandStatus as S
from ledger import Store, open_store
from ledger.models import EntryKind, RechargePolicy
from tests.integration.esme import Esme
from tests.integration.harness import PASSWORD, in_thread, make_account
from tests.integration.procs import GatewayProcess, free_port, write_config

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


@pytest.fixture
async def ledger(pg_schema_url: str) -> AsyncIterator[Store]:
    store = await open_store(pg_schema_url)
    await store.upgrade()
    yield store
    assert await store.audit() == []
    await store.close()


@pytest.fixture
async def gateways(
    tmp_path: Path, pg_schema_url: str, ledger: Store, upstream: UpstreamSimulator
) -> AsyncIterator[list[GatewayProcess]]:
    procs = []
    for name in ("a", "b"):
        port = free_port()
        config = write_config(
            tmp_path / f"{name}.toml",
            port=port,
            upstream_port=upstream.port,
            ledger_url=pg_schema_url,
        )
        procs.append(GatewayProcess(config, port))
    await asyncio.gather(*(p.start() for p in procs))
    try:
        yield procs
    finally:
        codes = await asyncio.gather(*(p.stop() for p in procs))
    assert codes == [0, 0], "both gateways stop cleanly on SIGTERM"


def _until_refused(port: int, system_id: str) -> tuple[int, list[int]]:
    """Submit until ESME_RNOCREDIT; returns (accepted, other statuses seen)."""
    esme = Esme(port)
    try:
        assert esme.bind("trx", system_id, PASSWORD) == 0
        ok, other = 0, []
        while True:
            status, _ = esme.submit(b"k", destination="33612345678")
            if status == S.ESME_ROK:
                ok += 1
            elif status == S.ESME_RNOCREDIT:
                return ok, other
            else:
                other.append(status)
                if len(other) > 5:
                    return ok, other
    finally:
        esme.close()


async def _debits(store: Store, system_id: str) -> int:
    journal = await store.journal(system_id, limit=1_000_000)
    return len([e for e in journal if e.kind == EntryKind.DEBIT])


async def test_exactly_k_across_two_gateways(ledger: Store, gateways: list[GatewayProcess]) -> None:
    k = 150
    await make_account(ledger, "smpp-k", credits=str(k))
    ports = [g.port for g in gateways]
    results = await asyncio.gather(
        *(in_thread(_until_refused, ports[i % 2], "smpp-k") for i in range(16))
    )
    assert [other for _, other in results if other] == []
    assert sum(ok for ok, _ in results) == k
    assert (await ledger.get_account("smpp-k")).balance == 0
    assert await _debits(ledger, "smpp-k") == k
    journal = await ledger.journal("smpp-k", limit=1_000_000)
    assert sum(e.amount for e in journal) == 0


async def test_auto_recharge_once_per_crossing_across_two_gateways(
    ledger: Store, gateways: list[GatewayProcess]
) -> None:
    # 10 credits, threshold 5, recharge 100, at most 2 a day: 10 + 2 x 100 = 210 messages.
    await make_account(
        ledger,
        "smpp-rc",
        credits="10",
        recharge=RechargePolicy(threshold=5_000, amount=100_000, daily_cap=2),
    )
    ports = [g.port for g in gateways]
    results = await asyncio.gather(
        *(in_thread(_until_refused, ports[i % 2], "smpp-rc") for i in range(16))
    )
    assert sum(ok for ok, _ in results) == 210
    journal = await ledger.journal("smpp-rc", limit=1_000_000)
    recharges = [e for e in journal if e.kind == EntryKind.RECHARGE]
    assert [e.amount for e in recharges] == [100_000, 100_000]
    assert (await ledger.get_account("smpp-rc")).balance == 0


async def test_receipt_reaches_the_receiver_on_the_other_gateway(
    ledger: Store, gateways: list[GatewayProcess]
) -> None:
    await make_account(ledger, "smpp-x")
    a, b = gateways
    rx = await in_thread(Esme, b.port)
    assert await in_thread(rx.bind, "rx", "smpp-x", PASSWORD) == S.ESME_ROK
    tx = await in_thread(Esme, a.port)
    assert await in_thread(tx.bind, "tx", "smpp-x", PASSWORD) == S.ESME_ROK
    status, mid = await in_thread(tx.submit, b"cross", registered_delivery=1)
    assert status == S.ESME_ROK
    (receipt,) = await in_thread(rx.wait_receipts, 1)
    assert receipt.receipted_message_id == mid
    assert "stat:DELIVRD" in receipt.text
    await in_thread(tx.close)
    await in_thread(rx.close)


async def test_receipt_waits_for_a_receiver_that_binds_later_elsewhere(
    ledger: Store, gateways: list[GatewayProcess]
) -> None:
    await make_account(ledger, "smpp-late")
    a, b = gateways
    tx = await in_thread(Esme, a.port)
    await in_thread(tx.bind, "tx", "smpp-late", PASSWORD)
    status, mid = await in_thread(tx.submit, b"later", registered_delivery=1)
    assert status == S.ESME_ROK
    for _ in range(250):
        if await ledger.pending_receipts("smpp-late"):
            break
        await asyncio.sleep(0.02)
    assert [r.message_id for r in await ledger.pending_receipts("smpp-late")] == [mid]
    rx = await in_thread(Esme, b.port)
    assert await in_thread(rx.bind, "rx", "smpp-late", PASSWORD) == S.ESME_ROK
    (receipt,) = await in_thread(rx.wait_receipts, 1)
    assert receipt.receipted_message_id == mid
    await in_thread(tx.close)
    await in_thread(rx.close)


async def test_bind_quota_holds_across_gateways(
    ledger: Store, gateways: list[GatewayProcess]
) -> None:
    await make_account(ledger, "smpp-q", max_binds=2)
    a, b = gateways
    clients = [await in_thread(Esme, g.port) for g in (a, b, a, b)]
    statuses = [await in_thread(c.bind, "trx", "smpp-q", PASSWORD) for c in clients]
    assert statuses == [S.ESME_ROK, S.ESME_ROK, S.ESME_RALYBND, S.ESME_RALYBND]
    await in_thread(clients[0].close)
    # The slot comes back when the session ends (released asynchronously).
    for _ in range(100):
        again = await in_thread(Esme, b.port)
        status = await in_thread(again.bind, "trx", "smpp-q", PASSWORD)
        await in_thread(again.close)
        if status == S.ESME_ROK:
            break
        await asyncio.sleep(0.05)
    assert status == S.ESME_ROK
    for c in clients[1:]:
        await in_thread(c.close)


async def test_throughput_limit_is_shared_by_the_gateways(
    ledger: Store, gateways: list[GatewayProcess]
) -> None:
    await make_account(ledger, "smpp-tp")
    await ledger.set_throughput("smpp-tp", 5)

    def burst(port: int) -> list[int]:
        esme = Esme(port)
        try:
            assert esme.bind("tx", "smpp-tp", PASSWORD) == 0
            return [esme.submit(b"fast")[0] for _ in range(10)]
        finally:
            esme.close()

    started = time.monotonic()
    statuses = await asyncio.gather(*(in_thread(burst, g.port) for g in gateways))
    elapsed = time.monotonic() - started
    flat = [s for per in statuses for s in per]
    accepted = flat.count(S.ESME_ROK)
    assert set(flat) <= {S.ESME_ROK, S.ESME_RTHROTTLED}
    assert flat.count(S.ESME_RTHROTTLED) > 0
    # One bucket for both gateways: 5 of burst plus what 5/s refills meanwhile.
    assert accepted <= 5 + int(5 * elapsed) + 1
    assert await _debits(ledger, "smpp-tp") == accepted
