"""Receipts entering the gateway, matched to our message ids and handed to the dispatcher.

Two sources: the upstream's deliver_sm receipts (``on_upstream_deliver``), which name the
message by the upstream's id, and the forwarder, which reports the upstream's id of every
message it sent (``remember``) and each message the upstream refused for good
(``rejected``: the client gets a REJECTD receipt). The upstream id -> our id map is a
bounded in-memory cache filled by the forwarder, so the common case needs no ledger read;
a miss (a restart, an evicted entry, another gateway's message) asks the ledger.

Ids are matched whatever their spelling (``ledger.rules.receipts.upstream_keys``: hex in
submit_sm_resp and decimal in the receipt, padded or not, any case). A receipt that
matches nothing yet (it can overtake the submit_sm_resp it belongs to, whose id the
forwarder records a moment later) is looked up again for ``unmatched_grace`` seconds
before it is logged ``receipt.unmatched`` and acknowledged; its deliver_sm_resp waits
meanwhile, so until then the upstream still holds it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict

import structlog

from gateway.delivery.dispatch import ReceiptDispatcher
from gateway.delivery.receipt_pdus import (
    Address,
    client_receipt,
    read_upstream_receipt,
    receipt_pdu,
)
from gateway.delivery.receipts import is_final
from gateway.smpp import CommandStatus, DeliverSm
from ledger import LedgerError, Store
from ledger.models import MessageState, OutboundMessage
from ledger.rules.receipts import upstream_key, upstream_keys

#: Address type and plan of the handset a REJECTD receipt comes from (international E.164,
#: the only destinations the gateway accepts).
_HANDSET_TON = 1
_HANDSET_NPI = 1
#: How long an unmatched receipt is looked up again before it is given up (seconds), and
#: the pause between two lookups: a receipt that overtook its submit_sm_resp matches
#: within milliseconds, an upstream that truly sent a foreign id waits no longer than this.
UNMATCHED_GRACE_S = 10.0
_RETRY_PAUSE_S = (0.02, 0.05, 0.1, 0.25, 0.5, 1.0)


class ReceiptIntake:
    """Maps upstream receipts to our message ids and hands them to the dispatcher."""

    def __init__(
        self,
        store: Store,
        dispatcher: ReceiptDispatcher,
        *,
        cache_size: int = 200_000,
        unmatched_grace: float = UNMATCHED_GRACE_S,
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.log = structlog.get_logger("smppgw.receipts")
        #: upstream_key(upstream id) -> (our message id, system_id). Bounded: oldest
        #: entries fall out.
        self._by_upstream: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._cache_size = cache_size
        self._grace = unmatched_grace

    # -- from the forwarder ---------------------------------------------------------------
    def remember(self, upstream_id: str, message: OutboundMessage) -> None:
        """The upstream accepted ``message`` under ``upstream_id``."""
        if message.registered_delivery & 0x03 == 0:
            return  # no receipt asked for: nothing will look it up (a miss reads the ledger)
        if len(self._by_upstream) >= self._cache_size:
            self._by_upstream.popitem(last=False)  # O(1), unlike popping a dict's first key
        self._by_upstream[upstream_key(upstream_id)] = (message.message_id, message.system_id)

    async def rejected(self, message: OutboundMessage) -> None:
        """The upstream refused ``message`` for good: tell the client with REJECTD."""
        if message.registered_delivery & 0x03 == 0:
            return
        receipt = receipt_pdu(
            message.message_id,
            "REJECTD",
            source=Address(_HANDSET_TON, _HANDSET_NPI, message.destination_addr),
            destination=Address(0, 0, message.source_addr),
        )
        await self.dispatcher.store_and_push(message.system_id, message.message_id, receipt, None)

    # -- from the upstream ----------------------------------------------------------------
    async def on_upstream_deliver(self, pdu: DeliverSm) -> int:
        """Handle a deliver_sm from the upstream; returns the deliver_sm_resp status."""
        if not pdu.is_receipt:
            # Mobile-originated messages are not part of the product yet; acknowledge so
            # the upstream does not retry for days, and say so in the log.
            self.log.warning("mo.dropped", source=pdu.source_addr)
            return CommandStatus.ESME_ROK
        receipt = read_upstream_receipt(pdu)
        upstream_id = receipt.upstream_id
        if upstream_id is None:
            self.log.warning("receipt.unparsable", text=pdu.short_message[:80].hex())
            return CommandStatus.ESME_ROK
        try:
            found = await self._match(upstream_id)
        except LedgerError:
            # Ask the upstream to retry later rather than lose the receipt.
            return CommandStatus.ESME_RX_T_APPN
        if found is None:
            self.log.warning("receipt.unmatched", upstream_id=upstream_id, waited_s=self._grace)
            return CommandStatus.ESME_ROK
        cache_key, (message_id, system_id) = found
        final = is_final(receipt.stat)
        state = None
        if final:
            state = MessageState.DELIVERED if receipt.stat == "DELIVRD" else MessageState.FAILED
        try:
            await self.dispatcher.store_and_push(
                system_id, message_id, client_receipt(pdu, receipt, message_id), state
            )
        except LedgerError:
            return CommandStatus.ESME_RX_T_APPN
        if final:
            self._by_upstream.pop(cache_key, None)
        return CommandStatus.ESME_ROK

    async def _match(self, upstream_id: str) -> tuple[str, tuple[str, str]] | None:
        """(cache key, (our message id, system_id)) of ``upstream_id``, looked up again
        for the grace period; None if nothing matched by then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        pauses = iter(_RETRY_PAUSE_S)
        keys = upstream_keys(upstream_id)
        while True:
            for key in keys:
                cached = self._by_upstream.get(key)
                if cached is not None:
                    return key, cached
            record = await self.store.message_by_upstream_id(upstream_id)
            if record is not None:
                return upstream_key(record.upstream_id or upstream_id), (
                    record.message_id,
                    record.system_id,
                )
            left = deadline - loop.time()
            if left <= 0:
                return None
            await asyncio.sleep(min(next(pauses, _RETRY_PAUSE_S[-1]), left))
