"""The receipt sweep survives a transient ledger error and keeps sweeping.

Stand-ins: a receiver connection that acknowledges everything, and a store whose first
acknowledgement write fails; the dispatcher under test is the real one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.delivery.dispatch import ReceiptDispatcher
from gateway.delivery.registry import BindRegistry
from gateway.smpp import DeliverSm, DeliverSmResp, Pdu, State
from ledger import LedgerUnavailable
from ledger.models import PendingReceipt

BODY = DeliverSm(
    sequence_number=0, source_addr="1", destination_addr="2", esm_class=4, short_message=b"x"
).body()


class _Store:
    def __init__(self) -> None:
        self.claims = 0
        self.acked: list[int] = []
        self.fail_next_ack = True

    async def claim_receipts(self, system_id: str, **_: Any) -> list[PendingReceipt]:
        self.claims += 1
        return [PendingReceipt(self.claims, system_id, "m1", BODY, datetime.now(UTC))]

    async def receipts_delivered(self, ids: Sequence[int]) -> None:
        if self.fail_next_ack:
            self.fail_next_ack = False
            raise LedgerUnavailable("blip")
        self.acked.extend(ids)

    async def release_receipts(self, ids: Sequence[int]) -> None:
        pass


class _Session:
    state = State.BOUND_TRX
    window_available = 10


class _Receiver:
    session = _Session()
    log = structlog.get_logger()

    async def request(self, pdu: Pdu) -> Pdu:
        return DeliverSmResp(sequence_number=1)


async def test_sweep_keeps_running_after_a_failed_acknowledgement_write() -> None:
    store = _Store()
    registry = BindRegistry()
    registry.add("smpp-a", _Receiver())  # type: ignore[arg-type]
    receipts = ReceiptDispatcher(store, registry, gateway_id="gw", retry_interval=0.02)  # type: ignore[arg-type]
    receipts.start()
    try:
        for _ in range(200):
            if len(store.acked) >= 3:
                break
            await asyncio.sleep(0.01)
        assert not store.fail_next_ack, "the failing write happened"
        assert len(store.acked) >= 3, "sweeps went on delivering after the failure"
    finally:
        await receipts.stop()
