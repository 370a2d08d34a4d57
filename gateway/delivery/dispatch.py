"""Receipts toward the client: stored durably, then pushed to the account's RX/TRX session.

A receipt is made durable (``Store.add_receipts``, group-committed) before whoever handed
it over is answered (for an upstream receipt: before its deliver_sm_resp). If this gateway
has a receiver bound for the account, the receipt is stored already claimed by this
gateway and pushed at once; otherwise it is stored unclaimed, and the store tells every
gateway (PostgreSQL NOTIFY, ``on_notify``) so the one holding the account's receiver
claims and delivers it. A receipt stays pending until the client answers deliver_sm_resp
ESME_ROK; binds (``receiver_bound``), notifications and a periodic sweep claim what is
left, so a receipt is never lost, and is delivered twice only if a client dropped the
connection before acknowledging it.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from typing import Any

import structlog

from gateway.delivery.receipt_pdus import from_stored_body, stored_body
from gateway.delivery.registry import BindRegistry
from gateway.smpp import CommandStatus, DeliverSm, LocalProtocolError
from gateway.transport.connection import ConnectionClosed, ResponseTimeout, SmppConnection
from ledger import LedgerError, Store
from ledger.batcher import GroupCommit
from ledger.models import MessageState, NewReceipt

#: Receipts claimed per ledger read while a receiver takes them.
CLAIM_BATCH = 100
#: One claimed item to push: (its ledger id, the id logs name it by, the deliver_sm).
Claimed = tuple[int, str, DeliverSm]


class ReceiptDispatcher:
    """Stores receipts and delivers them to the receivers bound on this gateway.

    The claim, acknowledgement and release of what it pushes are the methods
    ``_claim``, ``_ack_batch`` and ``_release``, and its log events ``EVENTS``: the MO
    dispatcher (``gateway.delivery.mo``) pushes MOs the same way with its own.
    """

    #: What the log calls each step (the MO dispatcher has its own words).
    EVENTS = {
        "relayed": "receipt.relayed",
        "not_acknowledged": "receipt.not_acknowledged",
        "refused": "receipt.refused_by_client",
        "unreadable": "receipt.pending_unreadable",
        "push_failed": "receipt.push_failed",
        "ack_unrecorded": "receipt.ack_unrecorded",
    }

    def __init__(
        self,
        store: Store,
        registry: BindRegistry,
        *,
        gateway_id: str,
        retry_interval: float = 5.0,
        lease: float = 60.0,
        stuck_after: int = 3,
    ):
        self.store = store
        self.registry = registry
        self.gateway_id = gateway_id
        self.retry_interval = retry_interval
        self.lease = lease
        #: Unanswered deliver_sm in a row after which a receiver is closed as stuck.
        self.stuck_after = stuck_after
        self._unanswered: weakref.WeakKeyDictionary[SmppConnection, int] = (
            weakref.WeakKeyDictionary()
        )
        self.log = structlog.get_logger("smppgw.receipts")
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

    async def _claim(self, system_id: str) -> list[Claimed]:
        """Claim the next batch of the account's pending receipts for this gateway."""
        claimed = await self.store.claim_receipts(
            system_id, gateway_id=self.gateway_id, limit=CLAIM_BATCH, lease=self.lease
        )
        return [(r.id, r.message_id, from_stored_body(r.pdu_body)) for r in claimed]

    async def _release(self, ids: list[int]) -> None:
        """Give claims back (a push failed)."""
        await self.store.release_receipts(ids)

    async def store_and_push(
        self, system_id: str, message_id: str, receipt: DeliverSm, state: MessageState | None
    ) -> None:
        """Make ``receipt`` durable for ``system_id``, then push it if a receiver is here.

        ``state`` is the message's final state when the receipt says so (the ledger
        records it with the receipt). Returns once stored; raises LedgerError if not.
        """
        local = bool(self.registry.receivers(system_id))
        receipt_id = await self._adds.submit(
            NewReceipt(
                system_id=system_id,
                message_id=message_id,
                pdu_body=stored_body(receipt),
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
        while self.registry.receivers(system_id):
            try:
                claimed = await self._claim(system_id)
            except LedgerError as e:
                self.log.error(self.EVENTS["unreadable"], system_id=system_id, error=repr(e))
                return
            outcomes = await asyncio.gather(
                *(self._push(system_id, rid, label, pdu) for rid, label, pdu in claimed),
                return_exceptions=True,
            )
            delivered = [o is True for o in outcomes]
            for o in outcomes:
                if isinstance(o, Exception):
                    self.log.error(self.EVENTS["push_failed"], system_id=system_id, error=repr(o))
            # Go on only while a full batch went through: a receipt the client refuses
            # is released and would be claimed again at once; the sweep retries it later.
            if len(claimed) < CLAIM_BATCH or not all(delivered):
                return

    async def _push(
        self, system_id: str, receipt_id: int, message_id: str, receipt: DeliverSm
    ) -> bool:
        """Deliver one claimed receipt; True once the client acknowledged it."""
        conn = self.registry.pick_receiver(system_id)
        events = self.EVENTS
        resp = None
        if conn is not None:
            try:
                resp = await conn.request(receipt)
            except ResponseTimeout as e:
                self.log.info(events["not_acknowledged"], message_id=message_id, reason=repr(e))
                self._count_unanswered(conn)
            except (ConnectionClosed, LocalProtocolError) as e:
                # A session that began unbinding while we waited is ConnectionClosed;
                # LocalProtocolError would be a session that takes no deliver_sm at all.
                self.log.info(events["not_acknowledged"], message_id=message_id, reason=repr(e))
        if resp is not None:
            assert conn is not None
            self._unanswered.pop(conn, None)
        if resp is not None and resp.command_status == CommandStatus.ESME_ROK:
            assert conn is not None
            conn.log.debug(self.EVENTS["relayed"], message_id=message_id)
            try:
                await self._acks.submit(receipt_id)
            except LedgerError as e:
                # Delivered but not recorded: the lease expires and it may be sent again
                # (a duplicate receipt, never a lost one).
                self.log.warning(events["ack_unrecorded"], message_id=message_id, error=repr(e))
            return True
        if resp is not None:
            self.log.warning(
                self.EVENTS["refused"],
                system_id=system_id,
                message_id=message_id,
                status=f"0x{resp.command_status:x}",
            )
        # Give the claim back so the next bind, notification or sweep (here or on
        # another gateway) can deliver it without waiting for the lease to expire.
        with contextlib.suppress(LedgerError):  # if not, the lease expires by itself
            await self._release([receipt_id])
        return False

    def _count_unanswered(self, conn: SmppConnection) -> None:
        """One more deliver_sm ``conn`` left unanswered; close it when it is stuck.

        A receiver that stops reading must not hold its account's receipts until the
        inactivity timeout: after ``stuck_after`` unanswered in a row it is closed, its
        receipts are released, and the account's other receivers (on any gateway) or
        its next bind take them.
        """
        count = self._unanswered.get(conn, 0) + 1
        self._unanswered[conn] = count
        if count == self.stuck_after:
            conn.log.warning("receiver.stuck", unanswered=count)
            conn.abort()

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
                    self.log.error(self.EVENTS["push_failed"], system_id=system_id, error=repr(e))

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
