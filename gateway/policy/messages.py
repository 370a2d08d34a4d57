"""query_sm, cancel_sm and replace_sm: what an account may do with a message it sent.

A message is the account's own or it does not exist: another account's message id gets
the same ESME_RINVMSGID as an unknown one, so ids cannot be probed. When the request
names a source address (it should, SMPP 3.4 §4.8-§4.10), it must be the message's, in
any form the account may write it (``gateway.policy.addresses``).

cancel_sm and replace_sm reach only a message not yet forwarded: the forwarder gives it
back (``withdraw``) only while it has never been handed to the upstream link, which
makes "not yet forwarded" a fact rather than a race. A cancelled message is refunded
(the ledger's ``refund``, state REJECTED); a replaced one is repriced with its new
content in one transaction (the ledger's ``reprice``) and forwarded with it. cancel_sm
without a message_id cancels by addresses (``gateway.policy.cancel``).

A message another gateway holds (its forwarder's queue, the row's ``owner``) cannot be
withdrawn from here: ESME_RCANCELFAIL / ESME_RREPLACEFAIL (``held_elsewhere``), and it
is never refunded while that gateway may still send it.
"""

from __future__ import annotations

import struct
import uuid
from dataclasses import dataclass, replace
from typing import Any, Protocol

from gateway.policy.addresses import international_number, source_address
from gateway.policy.cancel import cancel_by_address
from gateway.policy.message_state import CANCEL_REASON, is_final, needs_outcome, smpp_state
from gateway.policy.pricing import PricingError, quote
from gateway.policy.retry import until_decided
from gateway.policy.smpp_time import format_absolute
from gateway.policy.submit import Refusal, Submitter, check_times
from gateway.smpp import (
    CancelSm,
    CommandId,
    CommandStatus,
    QuerySm,
    ReplaceSm,
    SubmitSm,
    Tag,
    decode,
)
from ledger import (
    AccountNotActive,
    InsufficientCredit,
    LedgerError,
    LedgerUnavailable,
    MessageNotAccepted,
    Store,
    UnknownMessage,
)
from ledger.errors import PackagePaidMessage
from ledger.models import Account, MessageRecord, MessageState, OutboundMessage

S = CommandStatus


class Withdrawals(Protocol):
    """What cancel and replace need of the forwarder."""

    def withdraw(self, message_id: str) -> bool:
        """Take back a message never handed to the upstream; False if too late."""
        ...

    def restore(self, message: OutboundMessage) -> None:
        """Send ``message`` after all (new body, or the old one)."""

    def cancelled(self, message_id: str) -> None:
        """The withdrawn message was refunded."""


@dataclass(frozen=True, slots=True)
class QueryAnswer:
    """A query_sm_resp's status and fields."""

    status: int
    final_date: str = ""
    message_state: int = 0
    error_code: int = 0


class MessageOperations:
    """query_sm, cancel_sm and replace_sm for bound accounts."""

    def __init__(
        self, submitter: Submitter, store: Store, forwarder: Withdrawals, *, gateway_id: str
    ) -> None:
        self.submitter = submitter
        self.store = store
        self.forwarder = forwarder
        self.gateway_id = gateway_id

    async def _own(
        self, account: Account, message_id: str, source: tuple[int, int, str], log: Any
    ) -> MessageRecord | Refusal:
        """The account's message ``message_id``, or why not (logged by the caller)."""
        try:
            record = await self.store.get_message(message_id)
        except UnknownMessage:
            return Refusal(S.ESME_RINVMSGID, "unknown_message")
        except LedgerError as e:
            log.error("message.lookup_failed", error=repr(e))
            return Refusal(S.ESME_RLEDGERDOWN, "ledger_unavailable")
        if record.system_id != account.system_id:
            return Refusal(S.ESME_RINVMSGID, "unknown_message")  # never say whose it is
        if source[2]:
            form = source_address(*source, country=account.default_country)
            if form is None or form[2] != record.source_addr:
                detail = {"address": source[2], "ton": source[0], "npi": source[1]}
                return Refusal(S.ESME_RINVSRCADR, "source_mismatch", detail)
        return record

    async def query(self, account: Account, pdu: QuerySm, log: Any) -> QueryAnswer:
        """The state of one of the account's messages (query_sm)."""
        src = (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr)
        record = await self._own(account, pdu.message_id, src, log)
        if isinstance(record, Refusal):
            log.info("query.refused", status=f"0x{record.status:x}", reason=record.reason)
            return QueryAnswer(record.status)
        outcome = None
        if needs_outcome(record.state):
            try:
                outcome = await self.store.message_outcome(record.message_id)
            except LedgerError as e:
                log.error("message.lookup_failed", error=repr(e))
                return QueryAnswer(S.ESME_RLEDGERDOWN)
        final = format_absolute(record.updated_at) if is_final(record.state) else ""
        return QueryAnswer(S.ESME_ROK, final, smpp_state(record.state, outcome))

    async def cancel(self, account: Account, pdu: CancelSm, log: Any) -> int:
        """Cancel and refund a message not yet forwarded (cancel_sm); the status.

        Without a message_id: every such message from the source to the destination
        given (``gateway.policy.cancel``). With one, the addresses given must be the
        message's."""
        log = log.bind(message_id=pdu.message_id)
        if not pdu.message_id:
            return await cancel_by_address(self, account, pdu, log)
        src = (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr)
        record = await self._own(account, pdu.message_id, src, log)
        if isinstance(record, Refusal):
            log.info("cancel.refused", status=f"0x{record.status:x}", reason=record.reason)
            return record.status
        if pdu.destination_addr and self.destination(account, pdu) != record.destination_addr:
            detail = {
                "address": pdu.destination_addr,
                "ton": pdu.dest_addr_ton,
                "npi": pdu.dest_addr_npi,
            }
            status = S.ESME_RINVDSTADR
            log.info(
                "cancel.refused", status=f"0x{status:x}", reason="destination_mismatch", **detail
            )
            return status
        if not self.may_withdraw(record):
            reason = self.not_withdrawn(record)
            log.info("cancel.refused", status=f"0x{S.ESME_RCANCELFAIL:x}", reason=reason)
            return S.ESME_RCANCELFAIL
        entry = await self.refund_withdrawn(record, log)
        if entry is None:
            return S.ESME_RCANCELFAIL
        log.info("message.cancelled", refunded=entry / 1000)
        return S.ESME_ROK

    def destination(self, account: Account, pdu: CancelSm) -> str | None:
        """cancel_sm's destination as the gateway stores it (None: no accepted form)."""
        return international_number(
            pdu.dest_addr_ton,
            pdu.dest_addr_npi,
            pdu.destination_addr,
            country=account.default_country,
            mode=self.submitter.destination_check,
        )

    def may_withdraw(self, record: MessageRecord) -> bool:
        """Take ``record``'s message back from this gateway's forwarder if the ledger
        says it is still unforwarded and ours, and the forwarder never handed it on."""
        return (
            record.state is MessageState.ACCEPTED
            and record.owner == self.gateway_id
            and self.forwarder.withdraw(record.message_id)
        )

    def not_withdrawn(self, record: MessageRecord) -> str:
        """Why a message could not be taken back (the log's ``reason``): handed to the
        upstream here (or past ACCEPTED), or held by another gateway's forwarder."""
        if record.state is MessageState.ACCEPTED and record.owner != self.gateway_id:
            return "held_elsewhere"
        return "forwarded"

    async def refund_withdrawn(self, record: MessageRecord, log: Any) -> int | None:
        """Refund a message this gateway withdrew and end it; the amount given back, or
        None when the ledger could not refund it (it is then forwarded after all)."""
        try:
            entry = await self._refund(record.message_id)
        except MessageNotAccepted:
            # Another gateway adopted it meanwhile (it took us for dead): it is the one
            # sending it now, so this one lets it go unsent and unrefunded.
            self.forwarder.cancelled(record.message_id)
            log.info("cancel.refused", status=f"0x{S.ESME_RCANCELFAIL:x}", reason="held_elsewhere")
            return None
        except LedgerError as e:
            # Not refunded: it goes out as it was.
            self.forwarder.restore(record.outbound(self.gateway_id))
            log.error("cancel.failed", status=f"0x{S.ESME_RCANCELFAIL:x}", error=repr(e))
            return None
        except BaseException:
            # A bug or a cancellation: never leave a paid message withdrawn for good.
            self.forwarder.restore(record.outbound(self.gateway_id))
            raise
        self.forwarder.cancelled(record.message_id)
        self.submitter.metrics.refunded(entry)
        return entry

    async def _refund(self, message_id: str) -> int:
        """Refund (idempotent per message), asking again while the outcome is unknown."""
        entry = await until_decided(
            lambda: self.store.refund(message_id, reason=CANCEL_REASON, holder=self.gateway_id)
        )
        return entry.amount

    async def replace(self, account: Account, pdu: ReplaceSm, log: Any) -> int:
        """Give a message not yet forwarded new content and times (replace_sm), repriced
        in one transaction; the status."""
        log = log.bind(message_id=pdu.message_id)
        src = (pdu.source_addr_ton, pdu.source_addr_npi, pdu.source_addr)
        record = await self._own(account, pdu.message_id, src, log)
        if isinstance(record, Refusal):
            log.info("replace.refused", status=f"0x{record.status:x}", reason=record.reason)
            return record.status
        new = self._replaced(record, pdu)
        if isinstance(new, Refusal):
            log.info("replace.refused", status=f"0x{new.status:x}", reason=new.reason, **new.detail)
            return new.status
        try:
            q = quote(new, self.submitter.tariff, max_parts=self.submitter.max_parts)
        except PricingError as e:
            log.info("replace.refused", status=f"0x{e.status:x}", reason=str(e))
            return e.status
        if not self.may_withdraw(record):
            reason = self.not_withdrawn(record)
            log.info("replace.refused", status=f"0x{S.ESME_RREPLACEFAIL:x}", reason=reason)
            return S.ESME_RREPLACEFAIL
        old = record.outbound(self.gateway_id)
        body = new.body()
        try:
            status = await self._reprice(
                record, body, q.segments, q.cost, new.registered_delivery, log
            )
        except BaseException:
            # A bug or a cancellation: never leave a paid message withdrawn for good. (A
            # reprice that did commit is then forwarded with its old body: the ledger
            # holds the new price, a refusal upstream refunds that.)
            self.forwarder.restore(old)
            raise
        if status != S.ESME_ROK:
            self.forwarder.restore(old)
            return status
        self.forwarder.restore(
            replace(
                old,
                pdu_body=body,
                cost=q.cost,
                segments=q.segments,
                registered_delivery=new.registered_delivery,
            )
        )
        log.info("message.replaced", cost=q.cost / 1000, old_cost=record.cost / 1000)
        return S.ESME_ROK

    def _replaced(self, record: MessageRecord, pdu: ReplaceSm) -> SubmitSm | Refusal:
        """The stored submit_sm with replace_sm's content, times and receipt request."""
        if pdu.registered_delivery & 0x03 == 0x03:
            detail: dict[str, object] = {"value": pdu.registered_delivery}
            return Refusal(S.ESME_RINVREGDLVFLG, "registered_delivery", detail)
        times = check_times(pdu.schedule_delivery_time, pdu.validity_period, self.submitter.clock())
        if isinstance(times, Refusal):
            return times
        body = record.pdu_body
        stored = decode(struct.pack(">IIII", 16 + len(body), CommandId.SUBMIT_SM, 0, 1) + body)
        assert isinstance(stored, SubmitSm)
        # The new short_message is the whole content: a payload it replaces goes.
        tlvs = tuple(t for t in stored.tlvs if t.tag != Tag.MESSAGE_PAYLOAD)
        return replace(
            stored,
            short_message=pdu.short_message,
            schedule_delivery_time=times[0],
            validity_period=times[1],
            registered_delivery=pdu.registered_delivery,
            sm_default_msg_id=pdu.sm_default_msg_id,
            tlvs=tlvs,
        )

    async def _reprice(
        self, record: MessageRecord, body: bytes, segments: int, cost: int, rd: int, log: Any
    ) -> int:
        key = uuid.uuid4().hex
        try:
            await until_decided(
                lambda: self.store.reprice(
                    record.message_id,
                    new_cost=cost,
                    pdu_body=body,
                    segments=segments,
                    registered_delivery=rd,
                    idempotency_key=key,
                )
            )
        except LedgerUnavailable as e:
            log.error("replace.failed", status="0x404", error=repr(e))
            return S.ESME_RLEDGERDOWN
        except InsufficientCredit:
            log.info("replace.refused", status=f"0x{S.ESME_RNOCREDIT:x}", reason="credit")
            return S.ESME_RNOCREDIT
        except PackagePaidMessage:
            # Its draws are in package messages, not credits: see docs/protocol.md.
            log.info("replace.refused", status="0x13", reason="package_paid")
            return S.ESME_RREPLACEFAIL
        except (MessageNotAccepted, AccountNotActive) as e:
            log.info("replace.refused", status="0x13", reason=type(e).__name__)
            return S.ESME_RREPLACEFAIL
        except LedgerError as e:
            log.error("replace.failed", status="0x404", error=repr(e))
            return S.ESME_RLEDGERDOWN
        return S.ESME_ROK
