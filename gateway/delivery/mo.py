"""Messages from handsets (MO): routed to the account owning their number or keyword,
stored durably, then delivered to that account's RX/TRX sessions like receipts.

A deliver_sm from an upstream that is not a receipt is an MO. ``MoIntake`` asks the
ledger who owns its destination number, else its first word (``ledger.rules.mo``; owners
are an account setting: ``smppgw mo add``). Nobody: it is acknowledged and logged
(``mo.unrouted``), since an SMSC would otherwise retry it for days. An owner: the MO is
stored (``Store.add_mo``) before the upstream is answered, then pushed by
``MoDispatcher`` to one of the owner's receivers here, or claimed by the gateway holding
one (at its bind or its sweep), exactly as receipts are (``gateway.delivery.dispatch``):
kept until the client answers ``deliver_sm_resp`` ESME_ROK, released when a push fails,
never delivered once older than ``[delivery] mo_max_age_s``. A ledger that cannot be
reached answers the upstream ESME_RX_T_APPN (retry later).

Priced at ``[delivery] mo_weight_credits``: the debit is written with the MO
(``Store.store_mo``, rules in ``ledger.rules.mo_pricing``); an account that cannot pay
gets the MO unpriced (``mo.unpriced``). The same deliver_sm again within
``mo_retry_window_s`` (the upstream lost our answer) is acknowledged, not stored, not
charged and not pushed again (``mo.retried``).
"""

from __future__ import annotations

import structlog

from gateway.delivery.dispatch import Claimed, ReceiptDispatcher
from gateway.delivery.receipt_pdus import from_stored_body, stored_body
from gateway.delivery.registry import BindRegistry
from gateway.observability.metrics import Metrics
from gateway.smpp import CommandStatus, DeliverSm
from ledger import LedgerError, Store
from ledger.batcher import GroupCommit
from ledger.models.mo import NewMo, StoredMo

#: MOs claimed per ledger read while a receiver takes them.
MO_CLAIM_BATCH = 100
#: Default age limit: an MO nobody took in a week is not delivered any more.
MO_MAX_AGE_S = 7 * 86_400.0


class MoDispatcher(ReceiptDispatcher):
    """Stores MOs and delivers them to the receivers bound on this gateway."""

    EVENTS = {
        "relayed": "mo.relayed",
        "not_acknowledged": "mo.not_acknowledged",
        "refused": "mo.refused_by_client",
        "unreadable": "mo.pending_unreadable",
        "push_failed": "mo.push_failed",
        "ack_unrecorded": "mo.ack_unrecorded",
    }

    def __init__(
        self,
        store: Store,
        registry: BindRegistry,
        *,
        gateway_id: str,
        max_age: float = MO_MAX_AGE_S,
        retry_interval: float = 5.0,
        lease: float = 60.0,
        stuck_after: int = 3,
        price: int = 0,
        retry_window: float = 0.0,
    ) -> None:
        super().__init__(
            store,
            registry,
            gateway_id=gateway_id,
            retry_interval=retry_interval,
            lease=lease,
            stuck_after=stuck_after,
        )
        self.max_age = max_age
        self.price = price  # milli-credits per MO
        self.retry_window = retry_window
        self.log = structlog.get_logger("smppgw.mo")
        self._mo_adds: GroupCommit[NewMo, StoredMo] = GroupCommit(
            self._add_mo_batch, name="mo-writer"
        )

    async def _add_mo_batch(self, items: list[NewMo]) -> list[StoredMo]:
        return await self.store.store_mo(items, lease=self.lease, retry_window=self.retry_window)

    async def _ack_batch(self, ids: list[int]) -> list[None]:
        await self.store.mo_delivered(ids)
        return [None] * len(ids)

    async def _claim(self, system_id: str) -> list[Claimed]:
        claimed = await self.store.claim_mo(
            system_id,
            gateway_id=self.gateway_id,
            max_age=self.max_age,
            limit=MO_CLAIM_BATCH,
            lease=self.lease,
        )
        return [(m.id, f"mo:{m.id}", from_stored_body(m.pdu_body)) for m in claimed]

    async def _release(self, ids: list[int]) -> None:
        await self.store.release_mo(ids)

    async def store_mo_and_push(self, system_id: str, upstream: str, pdu: DeliverSm) -> StoredMo:
        """Make the MO durable (and charged) for ``system_id``, then push it if a
        receiver is here; a retried one is not pushed again (its first is on its way).

        Returns what was stored once it is; raises LedgerError if not.
        """
        local = bool(self.registry.receivers(system_id))
        stored = await self._mo_adds.submit(
            NewMo(
                system_id=system_id,
                upstream=upstream,
                source_addr=pdu.source_addr,
                destination_addr=pdu.destination_addr,
                pdu_body=stored_body(pdu),
                claimed_by=self.gateway_id if local else None,
                price=self.price,
            )
        )
        if local and not stored.retried:
            self._spawn(self._push(system_id, stored.id, f"mo:{stored.id}", pdu))
        return stored

    async def stop(self) -> None:
        """Cancel pushes in progress (their MOs stay pending in the ledger)."""
        await super().stop()
        await self._mo_adds.close()


class MoIntake:
    """Routes the upstreams' MOs to their owning accounts."""

    def __init__(
        self, store: Store, dispatcher: MoDispatcher, *, metrics: Metrics | None = None
    ) -> None:
        self.store = store
        self.dispatcher = dispatcher
        self.metrics = metrics or Metrics()
        self.log = structlog.get_logger("smppgw.mo")

    async def on_mo(self, pdu: DeliverSm, upstream: str) -> int:
        """Handle one MO from ``upstream``; returns the deliver_sm_resp status."""
        log = self.log.bind(
            upstream=upstream, source=pdu.source_addr, destination=pdu.destination_addr
        )
        try:
            owner = await self.store.mo_owner(pdu.destination_addr, pdu.short_message)
            if owner is None:
                log.warning("mo.unrouted")
                self.metrics.mo_messages.labels("unrouted").inc()
                return CommandStatus.ESME_ROK
            stored = await self.dispatcher.store_mo_and_push(owner, upstream, pdu)
        except LedgerError as e:
            # Ask the upstream to retry later rather than lose the message.
            log.error("mo.store_failed", error=repr(e))
            return CommandStatus.ESME_RX_T_APPN
        log = log.bind(system_id=owner, mo_id=stored.id)
        if stored.retried:
            log.info("mo.retried")
            self.metrics.mo_messages.labels("retried").inc()
            return CommandStatus.ESME_ROK
        if stored.unpriced:
            log.warning("mo.unpriced", reason=stored.unpriced, price=self.dispatcher.price)
            self.metrics.mo_messages.labels("unpriced").inc()
        log.info("mo.stored", charged=stored.charged)
        self.metrics.mo_messages.labels("stored").inc()
        return CommandStatus.ESME_ROK
