"""Delivery receipts: from the upstream's id space back to ours, and on to the client.

A receipt is made durable (``Store.add_receipt``) before the upstream's deliver_sm is
acknowledged, then pushed to one of the account's RX/TRX sessions. It stays pending until
the client answers deliver_sm_resp ESME_ROK; a client that is not bound gets every
pending receipt when a receiver binds. So a receipt is never lost, and is delivered more
than once only if the client dropped the connection before acknowledging it.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.connection import ConnectionClosed, ResponseTimeout
from gateway.pdu import (
    ESM_CLASS_DELIVERY_RECEIPT,
    HEADER,
    HEADER_SIZE,
    CommandId,
    CommandStatus,
    DeliverSm,
    Tag,
    Tlv,
    decode,
)
from gateway.receipts import (
    Receipt,
    ReceiptParseError,
    format_receipt,
    is_final,
    message_state_for,
    parse_receipt,
)
from gateway.registry import BindRegistry
from ledger import LedgerError, Store
from ledger.models import MessageState, OutboundMessage

_STATE_NAMES = {
    1: "ENROUTE",
    2: "DELIVRD",
    3: "EXPIRED",
    4: "DELETED",
    5: "UNDELIV",
    6: "ACCEPTD",
    7: "UNKNOWN",
    8: "REJECTD",
}


def _cstring_tlv(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("latin-1")


def deliver_sm_from_body(body: bytes) -> DeliverSm:
    """Rebuild a stored deliver_sm (the ledger keeps bodies, not headers)."""
    frame = HEADER.pack(HEADER_SIZE + len(body), CommandId.DELIVER_SM, 0, 0) + body
    pdu = decode(frame)
    assert isinstance(pdu, DeliverSm)
    return pdu


class ReceiptRelay:
    """Maps upstream receipts to our message ids and delivers them to clients."""

    def __init__(
        self,
        store: Store,
        registry: BindRegistry,
        *,
        cache_size: int = 200_000,
        retry_interval: float = 30.0,
    ):
        self.store = store
        self.registry = registry
        self.retry_interval = retry_interval
        self.log = structlog.get_logger("smppgw.relay")
        #: upstream id -> (our message id, system_id), filled by the forwarder so the
        #: common case needs no database read. Bounded: oldest entries fall out first.
        self._by_upstream: dict[str, tuple[str, str]] = {}
        self._cache_size = cache_size
        self._inflight: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    # -- from the forwarder ---------------------------------------------------------------
    def remember(self, upstream_id: str, message: OutboundMessage) -> None:
        """The upstream accepted ``message`` under ``upstream_id``."""
        if len(self._by_upstream) >= self._cache_size:
            self._by_upstream.pop(next(iter(self._by_upstream)))
        self._by_upstream[upstream_id] = (message.message_id, message.system_id)

    async def rejected(self, message: OutboundMessage) -> None:
        """The upstream refused ``message`` for good: tell the client with REJECTD."""
        if message.registered_delivery & 0x03 == 0:
            return
        now = datetime.now(UTC)
        text = format_receipt(
            Receipt(
                id=message.message_id,
                sub=1,
                dlvrd=0,
                submit_date=now,
                done_date=now,
                stat="REJECTD",
                err="001",
                text="",
            )
        )
        receipt = DeliverSm(
            sequence_number=0,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=message.destination_addr,
            destination_addr=message.source_addr,
            esm_class=ESM_CLASS_DELIVERY_RECEIPT,
            short_message=text.encode("latin-1"),
            tlvs=(
                Tlv(Tag.RECEIPTED_MESSAGE_ID, message.message_id.encode("ascii") + b"\x00"),
                Tlv(Tag.MESSAGE_STATE, bytes((8,))),
            ),
        )
        await self._store_and_push(message.system_id, message.message_id, receipt)

    # -- from the upstream ----------------------------------------------------------------
    async def on_upstream_deliver(self, pdu: DeliverSm) -> int:
        """Handle a deliver_sm from the upstream; returns the deliver_sm_resp status."""
        if not pdu.is_receipt:
            # Mobile-originated messages are not part of the product yet; acknowledge so
            # the upstream does not retry for days, and say so in the log.
            self.log.warning("mo.dropped", source=pdu.source_addr)
            return CommandStatus.ESME_ROK
        upstream_id, stat, parsed = self._read(pdu)
        if upstream_id is None:
            self.log.warning("receipt.unparsable", text=pdu.short_message[:80].hex())
            return CommandStatus.ESME_ROK
        found = self._by_upstream.get(upstream_id)
        if found is None:
            try:
                record = await self.store.message_by_upstream_id(upstream_id)
            except LedgerError:
                # Ask the upstream to retry later rather than lose the receipt.
                return CommandStatus.ESME_RX_T_APPN
            if record is None:
                self.log.warning("receipt.unmatched", upstream_id=upstream_id)
                return CommandStatus.ESME_ROK
            found = (record.message_id, record.system_id)
        message_id, system_id = found
        ours = self._rewrite(pdu, message_id, stat, parsed)
        try:
            if is_final(stat):
                state = MessageState.DELIVERED if stat == "DELIVRD" else MessageState.FAILED
                await self.store.set_message_state(message_id, state)
            await self._store_and_push(system_id, message_id, ours)
        except LedgerError:
            return CommandStatus.ESME_RX_T_APPN
        if is_final(stat):
            self._by_upstream.pop(upstream_id, None)
        return CommandStatus.ESME_ROK

    @staticmethod
    def _read(pdu: DeliverSm) -> tuple[str | None, str, Receipt | None]:
        parsed: Receipt | None
        try:
            parsed = parse_receipt(pdu.short_message)
        except ReceiptParseError:
            parsed = None
        tlv_id = pdu.tlv(Tag.RECEIPTED_MESSAGE_ID)
        upstream_id = _cstring_tlv(tlv_id) if tlv_id else (parsed.id if parsed else None)
        tlv_state = pdu.tlv(Tag.MESSAGE_STATE)
        if parsed is not None:
            stat = parsed.stat
        elif tlv_state:
            stat = _STATE_NAMES.get(tlv_state[0], "UNKNOWN")
        else:
            stat = "UNKNOWN"
        return upstream_id, stat, parsed

    @staticmethod
    def _rewrite(pdu: DeliverSm, message_id: str, stat: str, parsed: Receipt | None) -> DeliverSm:
        now = datetime.now(UTC)
        receipt = (
            # Upstreams omit dates now and then; the standard form needs both.
            replace(
                parsed,
                id=message_id,
                submit_date=parsed.submit_date or now,
                done_date=parsed.done_date or now,
            )
            if parsed is not None
            else Receipt(
                id=message_id,
                sub=1,
                dlvrd=1 if stat == "DELIVRD" else 0,
                submit_date=now,
                done_date=now,
                stat=stat,
                err="000",
                text="",
            )
        )
        kept = (t for t in pdu.tlvs if t.tag not in (Tag.RECEIPTED_MESSAGE_ID, Tag.MESSAGE_STATE))
        tlvs = (
            *kept,
            Tlv(Tag.RECEIPTED_MESSAGE_ID, message_id.encode("ascii") + b"\x00"),
            Tlv(Tag.MESSAGE_STATE, bytes((message_state_for(stat),))),
        )
        return replace(
            pdu,
            sequence_number=0,
            short_message=format_receipt(receipt).encode("latin-1"),
            tlvs=tlvs,
        )

    # -- towards the client ---------------------------------------------------------------
    async def _store_and_push(self, system_id: str, message_id: str, receipt: DeliverSm) -> None:
        body = receipt.body()
        receipt_id = await self.store.add_receipt(system_id, message_id, body)
        self.log.info("receipt.stored", system_id=system_id, message_id=message_id)
        self._spawn(self._push(system_id, receipt_id, message_id, receipt))

    def receiver_bound(self, system_id: str) -> None:
        """A receiver bound: deliver everything that waited for it."""
        self._spawn(self._flush_pending(system_id))

    async def _flush_pending(self, system_id: str) -> None:
        try:
            pending = await self.store.pending_receipts(system_id)
        except LedgerError as e:
            self.log.error("receipt.pending_unreadable", system_id=system_id, error=repr(e))
            return
        for r in pending:
            if r.id not in self._inflight:
                await self._push(system_id, r.id, r.message_id, deliver_sm_from_body(r.pdu_body))

    async def _push(
        self, system_id: str, receipt_id: int, message_id: str, receipt: DeliverSm
    ) -> None:
        conn = self.registry.pick_receiver(system_id)
        if conn is None or receipt_id in self._inflight:
            return  # stays pending until a receiver binds
        self._inflight.add(receipt_id)
        try:
            resp = await conn.request(receipt)
        except (ConnectionClosed, ResponseTimeout) as e:
            self.log.info("receipt.not_acknowledged", message_id=message_id, reason=repr(e))
            return
        finally:
            self._inflight.discard(receipt_id)
        log = conn.log.bind(message_id=message_id)
        if resp.command_status == CommandStatus.ESME_ROK:
            await self.store.receipt_delivered(receipt_id)
            log.info("receipt.relayed")
        else:
            log.warning("receipt.refused_by_client", status=f"0x{resp.command_status:x}")

    def start(self) -> None:
        """Retry, now and then, receipts a bound client has not acknowledged yet."""
        self._spawn(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.retry_interval)
            for system_id in self.registry.bound_accounts():
                if self.registry.receivers(system_id):
                    await self._flush_pending(system_id)

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def stop(self) -> None:
        """Cancel pushes in progress (their receipts stay pending in the ledger)."""
        for t in list(self._tasks):
            t.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
