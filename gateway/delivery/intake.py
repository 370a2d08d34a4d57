"""Receipts entering the gateway, matched to our message ids and handed to the dispatcher.

Two sources: the upstreams' deliver_sm receipts (``on_upstream_deliver``), which name the
message by the id the upstream that sends them gave it, and the forwarder, which reports
the upstream and its id of every message it sent (``remember``), each message an upstream
refused for good (``rejected``: the client gets a REJECTD receipt) and each one that
expired unsent (``expired``: EXPIRED). Ids are only unique per upstream, so every match
is on (upstream name, id). The (upstream, id) -> our id map is a bounded in-memory cache
filled by the forwarder, so the common case needs no ledger read; a miss (a restart, an
evicted entry, another gateway's message) asks the ledger.

A final receipt other than DELIVRD is relayed as it came; with ``[delivery]
undelivered_refund`` the message is refunded too (by default not: the upstream charged us).

Ids are matched whatever their spelling, or in the one the upstream's ``receipt_ids``
names (``ledger.rules.receipts.upstream_keys``: hex in
submit_sm_resp and decimal in the receipt, padded or not, any case). A receipt that
matches nothing yet (it can overtake the submit_sm_resp it belongs to, whose id the
forwarder records a moment later) is looked up again for ``unmatched_grace`` seconds
before it is logged ``receipt.unmatched`` and acknowledged; its deliver_sm_resp waits
meanwhile, so until then the upstream still holds it.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Mapping

import structlog

from gateway.delivery.dispatch import ReceiptDispatcher
from gateway.delivery.mo import MoIntake
from gateway.delivery.receipt_pdus import (
    Address,
    client_receipt,
    read_upstream_receipt,
    receipt_pdu,
)
from gateway.delivery.receipts import is_final
from gateway.policy.message_state import UNDELIVERED_PREFIX
from gateway.smpp import CommandStatus, DeliverSm
from ledger import LedgerError, Store
from ledger.models import DEFAULT_UPSTREAM, MessageState, OutboundMessage, milli_to_credits
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
        undelivered_refund: bool = False,
        mo: MoIntake | None = None,
        receipt_ids: Mapping[str, str] | None = None,
    ) -> None:
        self.store = store
        #: upstream name -> how its receipts spell ids (``upstream_keys``; default auto).
        self.receipt_ids = dict(receipt_ids or {})
        self.dispatcher = dispatcher
        #: Where MOs go (None: acknowledged and dropped, ``mo.dropped``).
        self.mo = mo
        self.undelivered_refund = undelivered_refund
        self.log = structlog.get_logger("smppgw.receipts")
        #: (upstream name, upstream_key(upstream id)) -> (our message id, system_id).
        #: Bounded: oldest entries fall out.
        self._by_upstream: OrderedDict[tuple[str, str], tuple[str, str]] = OrderedDict()
        self._cache_size = cache_size
        self._grace = unmatched_grace

    # -- from the forwarder ---------------------------------------------------------------
    def remember(self, upstream: str, upstream_id: str, message: OutboundMessage) -> None:
        """The upstream named ``upstream`` accepted ``message`` under ``upstream_id``."""
        if message.registered_delivery & 0x03 == 0:
            return  # no receipt asked for: nothing will look it up (a miss reads the ledger)
        if len(self._by_upstream) >= self._cache_size:
            self._by_upstream.popitem(last=False)  # O(1), unlike popping a dict's first key
        key = (upstream, upstream_key(upstream_id))
        self._by_upstream[key] = (message.message_id, message.system_id)

    async def rejected(self, message: OutboundMessage) -> None:
        """The upstream refused ``message`` for good: tell the client with REJECTD."""
        await self._our_receipt(message, "REJECTD")

    async def expired(self, message: OutboundMessage) -> None:
        """``message`` expired before any upstream took it: tell the client with EXPIRED."""
        await self._our_receipt(message, "EXPIRED")

    async def _our_receipt(self, message: OutboundMessage, stat: str) -> None:
        if message.registered_delivery & 0x03 == 0:
            return
        receipt = receipt_pdu(
            message.message_id,
            stat,
            source=Address(_HANDSET_TON, _HANDSET_NPI, message.destination_addr),
            destination=Address(0, 0, message.source_addr),
        )
        await self.dispatcher.store_and_push(message.system_id, message.message_id, receipt, None)

    # -- from the upstream ----------------------------------------------------------------
    async def on_upstream_deliver(self, pdu: DeliverSm, upstream: str = DEFAULT_UPSTREAM) -> int:
        """Handle a deliver_sm from the upstream named ``upstream``; returns the
        deliver_sm_resp status."""
        if not pdu.is_receipt:
            if self.mo is not None:
                return await self.mo.on_mo(pdu, upstream)
            # No MO handling wired (tests of receipts alone): acknowledge so the
            # upstream does not retry for days, and say so in the log.
            self.log.warning("mo.dropped", source=pdu.source_addr)
            return CommandStatus.ESME_ROK
        receipt = read_upstream_receipt(pdu)
        upstream_id = receipt.upstream_id
        if upstream_id is None:
            self.log.warning("receipt.unparsable", text=pdu.short_message[:80].hex())
            return CommandStatus.ESME_ROK
        try:
            found = await self._match(upstream, upstream_id)
        except LedgerError:
            # Ask the upstream to retry later rather than lose the receipt.
            return CommandStatus.ESME_RX_T_APPN
        if found is None:
            self.log.warning(
                "receipt.unmatched",
                upstream=upstream,
                upstream_id=upstream_id,
                waited_s=self._grace,
            )
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
            if state is MessageState.FAILED and self.undelivered_refund:
                await self._refund_undelivered(message_id, system_id, upstream, receipt.stat)
        return CommandStatus.ESME_ROK

    async def _refund_undelivered(
        self, message_id: str, system_id: str, upstream: str, stat: str
    ) -> None:
        """``[delivery] undelivered_refund``: give back a message reported undelivered.

        The ledger's refund is once per message whatever calls it, so a repeated receipt
        refunds nothing more. A refund that fails is logged; the receipt is already the
        client's, and an operator can refund it by hand.
        """
        log = self.log.bind(message_id=message_id, system_id=system_id, upstream=upstream)
        try:
            entry = await self.store.refund(message_id, reason=f"{UNDELIVERED_PREFIX}{stat}")
        except LedgerError as e:
            log.error("message.refund_failed", error=repr(e))
            return
        log.info(
            "message.refunded",
            reason=f"{UNDELIVERED_PREFIX}{stat}",
            amount=milli_to_credits(entry.amount),
            balance_after=milli_to_credits(entry.balance_after),
        )

    async def _match(
        self, upstream: str, upstream_id: str
    ) -> tuple[tuple[str, str], tuple[str, str]] | None:
        """(cache key, (our message id, system_id)) of ``upstream_id`` from ``upstream``,
        looked up again for the grace period; None if nothing matched by then."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._grace
        pauses = iter(_RETRY_PAUSE_S)
        form = self.receipt_ids.get(upstream, "auto")
        keys = upstream_keys(upstream_id, form)
        while True:
            for key in keys:
                cached = self._by_upstream.get((upstream, key))
                if cached is not None:
                    return (upstream, key), cached
            record = await self.store.message_by_upstream_id(
                upstream_id, upstream=upstream, form=form
            )
            if record is not None:
                return (upstream, upstream_key(record.upstream_id or upstream_id)), (
                    record.message_id,
                    record.system_id,
                )
            left = deadline - loop.time()
            if left <= 0:
                return None
            await asyncio.sleep(min(next(pauses, _RETRY_PAUSE_S[-1]), left))
