"""Delivery receipts: from the upstream's id space back to ours, and on to the client.

A receipt is made durable (``Store.add_receipts``, group-committed) before the upstream's
deliver_sm is acknowledged. If this gateway has a receiver bound for the account, the
receipt is stored already claimed by this gateway and pushed at once; otherwise it is
stored unclaimed, and the store tells every gateway (PostgreSQL NOTIFY) so the one holding
the account's receiver claims and delivers it. A receipt stays pending until the client
answers deliver_sm_resp ESME_ROK; binds, notifications and a periodic sweep claim what is
left, so a receipt is never lost, and is delivered twice only if a client dropped the
connection before acknowledging it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.connection import ConnectionClosed, ResponseTimeout
from gateway.receipts import (
    Receipt,
    ReceiptParseError,
    format_receipt,
    is_final,
    new_receipt,
    parse_receipt,
    receipt_tlvs,
    stat_for_state,
)
from gateway.registry import BindRegistry
from gateway.smpp import (
    ESM_CLASS_DELIVERY_RECEIPT,
    HEADER,
    HEADER_SIZE,
    CommandId,
    CommandStatus,
    DeliverSm,
    LocalProtocolError,
    Tag,
    decode,
)
from ledger import LedgerError, Store
from ledger.batcher import GroupCommit
from ledger.models import MessageState, NewReceipt, OutboundMessage


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
        gateway_id: str,
        cache_size: int = 200_000,
        retry_interval: float = 5.0,
        lease: float = 60.0,
    ):
        self.store = store
        self.registry = registry
        self.gateway_id = gateway_id
        self.retry_interval = retry_interval
        self.lease = lease
        self.log = structlog.get_logger("smppgw.relay")
        #: upstream id -> (our message id, system_id), filled by the forwarder so the
        #: common case needs no database read. Bounded: oldest entries fall out first.
        self._by_upstream: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._cache_size = cache_size
        self._tasks: set[asyncio.Task[None]] = set()
        self._adds: GroupCommit[NewReceipt, int] = GroupCommit(
            self._add_batch, name="receipt-writer"
        )
        self._acks: GroupCommit[int, None] = GroupCommit(self._ack_batch, name="receipt-acks")

    async def _add_batch(self, items: list[NewReceipt]) -> list[int]:
        return await self.store.add_receipts(items, lease=self.lease)

    async def _ack_batch(self, ids: list[int]) -> list[None]:
        await self.store.receipts_delivered(ids)
        return [None] * len(ids)

    # -- from the forwarder ---------------------------------------------------------------
    def remember(self, upstream_id: str, message: OutboundMessage) -> None:
        """The upstream accepted ``message`` under ``upstream_id``."""
        if message.registered_delivery & 0x03 == 0:
            return  # no receipt asked for: nothing will look it up (a miss reads the ledger)
        if len(self._by_upstream) >= self._cache_size:
            self._by_upstream.popitem(last=False)  # O(1), unlike popping a dict's first key
        self._by_upstream[upstream_id] = (message.message_id, message.system_id)

    async def rejected(self, message: OutboundMessage) -> None:
        """The upstream refused ``message`` for good: tell the client with REJECTD."""
        if message.registered_delivery & 0x03 == 0:
            return
        receipt = DeliverSm(
            sequence_number=0,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr=message.destination_addr,
            destination_addr=message.source_addr,
            esm_class=ESM_CLASS_DELIVERY_RECEIPT,
            short_message=format_receipt(new_receipt(message.message_id, "REJECTD")).encode(
                "latin-1"
            ),
            tlvs=receipt_tlvs(message.message_id, "REJECTD"),
        )
        await self._store_and_push(message.system_id, message.message_id, receipt, None)

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
        state = None
        if is_final(stat):
            state = MessageState.DELIVERED if stat == "DELIVRD" else MessageState.FAILED
        try:
            await self._store_and_push(system_id, message_id, ours, state)
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
            stat = stat_for_state(tlv_state[0])
        else:
            stat = "UNKNOWN"
        return upstream_id, stat, parsed

    @staticmethod
    def _rewrite(pdu: DeliverSm, message_id: str, stat: str, parsed: Receipt | None) -> DeliverSm:
        if parsed is None:
            receipt = new_receipt(message_id, stat)
        else:
            # Upstreams omit dates now and then; the standard form needs both.
            now = datetime.now(UTC)
            receipt = replace(
                parsed,
                id=message_id,
                submit_date=parsed.submit_date or now,
                done_date=parsed.done_date or now,
            )
        kept = (t for t in pdu.tlvs if t.tag not in (Tag.RECEIPTED_MESSAGE_ID, Tag.MESSAGE_STATE))
        tlvs = (*kept, *receipt_tlvs(message_id, stat))
        return replace(
            pdu,
            sequence_number=0,
            short_message=format_receipt(receipt).encode("latin-1"),
            tlvs=tlvs,
        )

    # -- towards the client ---------------------------------------------------------------
    async def _store_and_push(
        self, system_id: str, message_id: str, receipt: DeliverSm, state: MessageState | None
    ) -> None:
        local = bool(self.registry.receivers(system_id))
        receipt_id = await self._adds.submit(
            NewReceipt(
                system_id=system_id,
                message_id=message_id,
                pdu_body=receipt.body(),
                state=state,
                claimed_by=self.gateway_id if local else None,
            )
        )
        self.log.debug("receipt.stored", system_id=system_id, message_id=message_id, local=local)
        if local:
            self._spawn(self._push(system_id, receipt_id, message_id, receipt))

    def receiver_bound(self, system_id: str) -> None:
        """A receiver bound here: claim and deliver everything that waited for it."""
        self._spawn(self._claim_and_push(system_id))

    def on_notify(self, system_id: str) -> None:
        """Another gateway stored a receipt nobody claimed; take it if we can deliver it."""
        if self.registry.receivers(system_id):
            self._spawn(self._claim_and_push(system_id))

    async def _claim_and_push(self, system_id: str) -> None:
        limit = 100
        while self.registry.receivers(system_id):
            try:
                claimed = await self.store.claim_receipts(
                    system_id, gateway_id=self.gateway_id, limit=limit, lease=self.lease
                )
            except LedgerError as e:
                self.log.error("receipt.pending_unreadable", system_id=system_id, error=repr(e))
                return
            outcomes = await asyncio.gather(
                *(
                    self._push(system_id, r.id, r.message_id, deliver_sm_from_body(r.pdu_body))
                    for r in claimed
                ),
                return_exceptions=True,
            )
            delivered = [o is True for o in outcomes]
            for o in outcomes:
                if isinstance(o, Exception):
                    self.log.error("receipt.push_failed", system_id=system_id, error=repr(o))
            # Go on only while a full batch went through: a receipt the client refuses
            # is released and would be claimed again at once; the sweep retries it later.
            if len(claimed) < limit or not all(delivered):
                return

    async def _push(
        self, system_id: str, receipt_id: int, message_id: str, receipt: DeliverSm
    ) -> bool:
        """Deliver one claimed receipt; True once the client acknowledged it."""
        conn = self.registry.pick_receiver(system_id)
        resp = None
        if conn is not None:
            try:
                resp = await conn.request(receipt)
            except (ConnectionClosed, ResponseTimeout, LocalProtocolError) as e:
                # LocalProtocolError: the session began unbinding while we waited.
                self.log.info("receipt.not_acknowledged", message_id=message_id, reason=repr(e))
        if resp is not None and resp.command_status == CommandStatus.ESME_ROK:
            assert conn is not None
            conn.log.info("receipt.relayed", message_id=message_id)
            try:
                await self._acks.submit(receipt_id)
            except LedgerError as e:
                # Delivered but not recorded: the lease expires and it may be sent again
                # (a duplicate receipt, never a lost one).
                self.log.warning("receipt.ack_unrecorded", message_id=message_id, error=repr(e))
            return True
        if resp is not None:
            self.log.warning(
                "receipt.refused_by_client",
                system_id=system_id,
                message_id=message_id,
                status=f"0x{resp.command_status:x}",
            )
        # Give the claim back so the next bind, notification or sweep (here or on
        # another gateway) can deliver it without waiting for the lease to expire.
        with contextlib.suppress(LedgerError):  # if not, the lease expires by itself
            await self.store.release_receipts([receipt_id])
        return False

    def start(self) -> None:
        """Sweep now and then: receipts whose notification was missed or claim expired."""
        self._spawn(self._sweep())

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(self.retry_interval)
            for system_id in self.registry.bound_accounts():
                if not self.registry.receivers(system_id):
                    continue
                try:
                    await self._claim_and_push(system_id)
                except Exception as e:  # one bad account or a blip must not end the sweep
                    self.log.error("receipt.push_failed", system_id=system_id, error=repr(e))

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
        await self._adds.close()
        await self._acks.close()
